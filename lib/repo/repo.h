/* repo: the repository's layout and its binding to one PostgreSQL cluster.
 *   <cluster>/cluster.info                  who the cluster is (system identifier, version, key)
 *   <cluster>/wal/<TTTTTTTTXXXXXXXX>/<file>  segments, .partial and .backup files of one timeline
 *                                           and "log" (at most 256 segments of 16 MiB per folder)
 *   <cluster>/wal/history/<TTTTTTTT>.history timeline history files
 * Every object is in the object format (lib/object), so each one is self-checking. */
#ifndef PITR_REPO_REPO_H
#define PITR_REPO_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "config/config.h"
#include "pg/control.h"
#include "pg/wal.h"
#include "storage/storage.h"

struct key;

struct cluster_info {
    uint64_t sysid;
    unsigned pg_version;
    char key_id[17]; /* hex key id of the encryption key, "" when unencrypted */
};

/* Opens the storage named by cfg->repo (a path, file:///path or s3://bucket/prefix). S3
 * credentials are loaded here, used and wiped. The caller frees the result with storage_free. */
struct storage *repo_open(const struct config *cfg, struct pitr_err *err);

/* What a command holds while it works on the repository. */
struct repo_session {
    struct storage *storage;
    struct key *key; /* the configured encryption key, NULL when there is none */
    char *cluster;   /* the cluster's name in the repository */
};

/* Loads the configured encryption key, opens the storage and decides the cluster as
 * repo_resolve_cluster does (ident may be NULL). On failure nothing stays open and *out is
 * untouched. The caller releases a session with repo_session_close. */
enum pitr_rc repo_session_open(const struct config *cfg, const struct pg_ident *ident,
                               struct repo_session *out, struct pitr_err *err) PITR_MUST_CHECK;
void repo_session_close(struct repo_session *s);

/* Writes the storage key of a WAL-archive file into out. */
enum pitr_rc repo_wal_key(const char *cluster, const char *name, const struct wal_file *f,
                          char *out, size_t size, struct pitr_err *err) PITR_MUST_CHECK;

/* Decides which cluster of the repository this process works on: cfg->cluster when set, else the
 * system identifier of the data directory (ident, may be NULL when there is none), else the
 * repository's only cluster. The caller frees *name_out. */
enum pitr_rc repo_resolve_cluster(const struct config *cfg, struct storage *s,
                                  const struct pg_ident *ident, char **name_out,
                                  struct pitr_err *err) PITR_MUST_CHECK;

/* Reads <cluster>/cluster.info; PITR_NOT_FOUND when the cluster has never archived. */
enum pitr_rc repo_cluster_read(struct storage *s, const char *cluster, struct cluster_info *out,
                               struct pitr_err *err) PITR_MUST_CHECK;

/* Makes sure <cluster> belongs to `mine`: records it on first use (a create that can never
 * overwrite a concurrent one), and otherwise refuses (PITR_CONFIG) a different system identifier,
 * version or encryption key. */
enum pitr_rc repo_cluster_bind(struct storage *s, const char *cluster,
                               const struct cluster_info *mine,
                               struct pitr_err *err) PITR_MUST_CHECK;

/* Reads a small object (at most max content bytes) written by repo_put_text into *out, which the
 * caller releases with buf_fini. PITR_NOT_FOUND when missing, PITR_CORRUPT when damaged. */
enum pitr_rc repo_get_text(struct storage *s, const char *key, size_t max, struct buf *out,
                           struct pitr_err *err) PITR_MUST_CHECK;
/* As repo_get_text, for an object that may be encrypted with k (NULL: not encrypted), such as
 * an archived history file. */
enum pitr_rc repo_get_object(struct storage *s, const char *key, const struct key *k, size_t max,
                             struct buf *out, struct pitr_err *err) PITR_MUST_CHECK;
/* Stores text as one object in the object format (uncompressed, unencrypted: metadata must be
 * readable without the key), refusing to replace an existing one when create_only. */
enum pitr_rc repo_put_text(struct storage *s, const char *key, const char *text, bool create_only,
                           struct pitr_err *err) PITR_MUST_CHECK;

/* Fills the hex key id of key (NULL: "") into out[17]. */
void repo_key_id_hex(const struct key *key, char out[17]);

#endif

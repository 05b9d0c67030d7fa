/* repo: the repository's layout and its binding to one PostgreSQL cluster.
 *   <cluster>/cluster.info                  who the cluster is (system identifier, version, key)
 *   <cluster>/wal/<TTTTTTTTXXXXXXXX>/<file>  segments, .partial and .backup files of one timeline
 *                                           and "log" (at most 256 segments of 16 MiB per folder)
 *   <cluster>/wal/history/<TTTTTTTT>.history timeline history files
 * Every object is in the object format (lib/object), so each one is self-checking. With an
 * encryption key, every object and record is encrypted and bound to its name and cluster, and
 * anything that is not is refused: the repository may be writable by more people than the
 * database, and nothing they write without the key may reach PostgreSQL or the disk. */
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

/* What a command holds while it works on the repository: everything needed to read and write
 * it authenticated. */
struct repo_session {
    struct storage *storage;
    struct key *key; /* the configured keys (current first, then old ones), NULL when none */
    char *cluster;   /* the cluster's name in the repository */
    /* the cluster's record, as read at open (has_info) or once repo_cluster_bind recorded it;
     * info.sysid binds every object of the cluster */
    struct cluster_info info;
    bool has_info;
    /* the record exists but was written without authentication (before records were): with a
     * key it is not trusted until repo_cluster_bind or `pitr-catalog upgrade` rewrites it */
    bool legacy_info;
    char legacy_key_id[17]; /* what such a record says of the key ("": unencrypted) */
};

/* Loads the configured encryption keys (encryption_key_file, encryption_old_key_files), opens
 * the storage, decides the cluster as repo_resolve_cluster does (ident may be NULL) and reads its
 * cluster.info when there is one. On failure nothing stays open and *out is untouched. The caller
 * releases a session with repo_session_close. */
enum pitr_rc repo_session_open(const struct config *cfg, const struct pg_ident *ident,
                               struct repo_session *out, struct pitr_err *err) PITR_MUST_CHECK;
void repo_session_close(struct repo_session *s);

/* Writes the storage key of a WAL-archive file into out. */
enum pitr_rc repo_wal_key(const char *cluster, const char *name, const struct wal_file *f,
                          char *out, size_t size, struct pitr_err *err) PITR_MUST_CHECK;

/* One WAL segment object as a listing of its folder shows it. */
struct repo_wal_object {
    uint64_t segno;
    uint64_t size; /* bytes stored */
    int64_t mtime; /* seconds since the epoch, 0 when the store does not say */
};

/* The segment objects of one WAL folder (one timeline, at most 256 segments of 16 MiB), sorted
 * by segno. */
struct repo_wal_folder {
    struct repo_wal_object *v; /* owned */
    size_t n;
};

/* Lists the WAL folder of timeline tli that holds segment segno (segments of seg_size bytes)
 * into *out, with one listing request: what a restore plan needs to know of each segment it
 * relies on (is it there, is it the size that was archived) without a request per segment. Other
 * files of the folder (.partial, .backup, temp files) are left out; a missing folder is an empty
 * one. The caller releases *out with repo_wal_folder_fini. */
enum pitr_rc repo_wal_folder_list(const struct repo_session *r, uint32_t tli, uint64_t segno,
                                  uint32_t seg_size, struct repo_wal_folder *out,
                                  struct pitr_err *err) PITR_MUST_CHECK;
/* Segment segno of f, or NULL when the folder does not hold it (borrowed from f). */
const struct repo_wal_object *repo_wal_folder_find(const struct repo_wal_folder *f, uint64_t segno);
void repo_wal_folder_fini(struct repo_wal_folder *f);

/* Decides which cluster of the repository this process works on: cfg->cluster when set, else the
 * system identifier of the data directory (ident, may be NULL when there is none), else the
 * repository's only cluster. The caller frees *name_out. */
enum pitr_rc repo_resolve_cluster(const struct config *cfg, struct storage *s,
                                  const struct pg_ident *ident, char **name_out,
                                  struct pitr_err *err) PITR_MUST_CHECK;

/* Makes sure the session's cluster belongs to `mine`: records it on first use (a create that can
 * never overwrite a concurrent one), and otherwise refuses (PITR_CONFIG) a different system
 * identifier, version or encryption key (a key of the ring is the same key). A record written
 * before records were authenticated is replaced by an authenticated one when every field matches
 * `mine`. Fills r->info on success. */
enum pitr_rc repo_cluster_bind(struct repo_session *r, const struct cluster_info *mine,
                               struct pitr_err *err) PITR_MUST_CHECK;
/* PITR_OK when the session's cluster has a record; otherwise PITR_CONFIG saying the repository
 * has no such cluster (a mistyped repo or cluster must never read as an empty one). */
enum pitr_rc repo_require_cluster(const struct repo_session *r,
                                  struct pitr_err *err) PITR_MUST_CHECK;

/* Reads an object of the session's cluster (at most max content bytes, under the session's keys
 * and bound to its system identifier) into *out, which the caller releases with buf_fini.
 * PITR_NOT_FOUND when missing, PITR_CORRUPT when damaged or not authentic. */
enum pitr_rc repo_get_text(const struct repo_session *r, const char *key, size_t max,
                           struct buf *out, struct pitr_err *err) PITR_MUST_CHECK;
/* The system identifier the object at key is bound to (0 for the cluster's record). */
uint64_t repo_binding_sysid(const struct repo_session *r, const char *key);
/* Stores text as one object of the session's cluster (uncompressed; encrypted and bound when
 * the session has a key), refusing to replace an existing one when create_only. */
enum pitr_rc repo_put_text(const struct repo_session *r, const char *key, const char *text,
                           bool create_only, struct pitr_err *err) PITR_MUST_CHECK;

/* Checks, from its first bytes only (one ranged read), that the object at key is there and, with
 * keys, that it is encrypted under one of them and bound to this name and cluster: what a plan
 * needs to know of each WAL segment without downloading it. PITR_NOT_FOUND when missing,
 * PITR_CORRUPT or PITR_CONFIG as the object reader would say. */
enum pitr_rc repo_check_object(const struct repo_session *r, const char *key,
                               struct pitr_err *err) PITR_MUST_CHECK;

/* `pitr-catalog upgrade`, with a key: rewrites the object at key of the session's cluster as a
 * format 2 object under the current key when it is not one already (an unencrypted record, one
 * of format 1, or one under an old key of the ring). An unencrypted record is trusted here
 * because the user runs the upgrade deliberately. *changed says whether it was rewritten;
 * PITR_NOT_FOUND when it is missing. */
enum pitr_rc repo_reseal_text(const struct repo_session *r, const char *key, size_t max,
                              bool *changed, struct pitr_err *err) PITR_MUST_CHECK;
/* The same for the cluster's record, which then names the current key; fills r->info. */
enum pitr_rc repo_cluster_reseal(struct repo_session *r, bool *changed,
                                 struct pitr_err *err) PITR_MUST_CHECK;

/* Fills the hex key id of key (NULL: "") into out[17]. */
void repo_key_id_hex(const struct key *key, char out[17]);

#endif

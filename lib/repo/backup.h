/* backup: where a base backup lives in the repository and its record.
 *   <cluster>/backup/<id>/backup.start        written first: who is taking it (host, pid, time)
 *   <cluster>/backup/<id>/base.tar            the main data directory (object format)
 *   <cluster>/backup/<id>/<oid>.tar           one per tablespace
 *   <cluster>/backup/<id>/backup_manifest     PostgreSQL's manifest, SHA-256 per file
 *   <cluster>/backup/<id>/backup.info         the record, written last: its presence is what
 *                                             makes the backup complete and restorable
 * Records are "key = value" text like the config file, so a DBA can read them. */
#ifndef PITR_REPO_BACKUP_H
#define PITR_REPO_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "crypto/sha256.h"

enum { BACKUP_ID_LEN = 24, BACKUP_RECORD_MAX = 1024 * 1024 };

struct backup_object {
    char name[64]; /* "base.tar", "16384.tar", "backup_manifest" */
    uint64_t raw_size;
    uint64_t stored_size;
    uint8_t sha256[SHA256_LEN]; /* of the content */
};

struct backup_tablespace {
    uint32_t oid;
    char *location; /* owned */
};

struct backup_record {
    char id[BACKUP_ID_LEN];
    char type[16];   /* daily, weekly, monthly, manual, pre-migration */
    char *label;     /* owned */
    char status[16]; /* "running" in backup.start, "complete" in backup.info */
    char host[256];
    int64_t pid;
    uint64_t sysid;
    unsigned pg_version_num; /* e.g. 150018 */
    uint32_t timeline;
    uint64_t start_lsn;
    uint64_t stop_lsn;
    int64_t start_time; /* seconds since the epoch, UTC */
    int64_t stop_time;
    uint32_t wal_seg_size;
    char compression[16];  /* lz4, zstd, zstd:N, none */
    char compressed_by[8]; /* server or client */
    char key_id[17];       /* "" when unencrypted */
    uint64_t raw_bytes;
    uint64_t stored_bytes;
    uint64_t duration_ms;
    struct backup_object *objects; /* owned */
    size_t n_objects;
    struct backup_tablespace *tablespaces; /* owned */
    size_t n_tablespaces;
};

/* Checks a backup type name. */
bool backup_type_valid(const char *type);

/* Writes the key of `file` inside backup id of cluster into out. */
enum pitr_rc backup_key(const char *cluster, const char *id, const char *file, char *out,
                        size_t size, struct pitr_err *err) PITR_MUST_CHECK;

/* Appends an object or tablespace to r (copying name and location). */
void backup_record_add_object(struct backup_record *r, const struct backup_object *o);
void backup_record_add_tablespace(struct backup_record *r, uint32_t oid, const char *location);

/* Renders r as text into out. */
enum pitr_rc backup_record_format(const struct backup_record *r, struct buf *out,
                                  struct pitr_err *err) PITR_MUST_CHECK;
/* Parses text (named `name` in errors) into *out; PITR_CORRUPT for anything malformed or
 * missing. The caller releases *out with backup_record_fini. */
enum pitr_rc backup_record_parse(const char *text, const char *name, struct backup_record *out,
                                 struct pitr_err *err) PITR_MUST_CHECK;
void backup_record_fini(struct backup_record *r);

struct repo_session;

/* Reads and parses <cluster>/backup/<id>/backup.info of the session's cluster (authenticated
 * with its keys): PITR_NOT_FOUND when the backup does not exist or never completed; PITR_CORRUPT
 * when the record is damaged, not authentic, or describes another backup or cluster. The caller
 * releases *out with backup_record_fini. */
enum pitr_rc backup_record_read(const struct repo_session *repo, const char *id,
                                struct backup_record *out, struct pitr_err *err) PITR_MUST_CHECK;

/* Every complete backup of the session's cluster, oldest first (ids sort by time). The caller
 * frees with backup_list_free. */
enum pitr_rc backup_list_complete(const struct repo_session *repo, struct backup_record **out,
                                  size_t *n, struct pitr_err *err) PITR_MUST_CHECK;
void backup_list_free(struct backup_record *list, size_t n);

/* Formats seconds since the epoch as "YYYY-MM-DD HH:MM:SS+00" into out[32]. */
void backup_time_format(int64_t t, char out[32]);

#endif

/* repl: a libpq connection to PostgreSQL, in physical replication mode for IDENTIFY_SYSTEM, SHOW
 * and BASE_BACKUP, or as an ordinary session for the odd SQL call (pg_switch_wal). libpq is
 * included here only. The BASE_BACKUP stream is handed to callbacks as it arrives, so nothing of
 * a backup is ever held whole. Both wire forms are spoken: one COPY stream with typed messages
 * (PostgreSQL 15+) and one COPY per tablespace plus one for the manifest (13 and 14). */
#ifndef PITR_PG_REPL_H
#define PITR_PG_REPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

struct repl_conn;

/* Connects with a libpq conninfo string (NULL or "": the PG* environment), as a physical
 * replication connection when `replication`. Errors name host, port and user, never the
 * password, and say what to do about the usual causes (authentication, a role without
 * REPLICATION, max_wal_senders exhausted, pg_hba.conf). The caller frees with repl_close. */
struct repl_conn *repl_connect(const char *conninfo, bool replication, struct pitr_err *err);
void repl_close(struct repl_conn *c);

/* The server's version number, e.g. 150004. */
int repl_server_version(const struct repl_conn *c);
/* "host=... port=... user=..." of the connection, for messages (borrowed until repl_close). */
const char *repl_describe(const struct repl_conn *c);

struct repl_system {
    uint64_t sysid;
    uint32_t tli;
    uint64_t xlogpos;
};

/* Runs IDENTIFY_SYSTEM (replication connections only). */
enum pitr_rc repl_identify_system(struct repl_conn *c, struct repl_system *out,
                                  struct pitr_err *err) PITR_MUST_CHECK;
/* Runs SHOW name and copies the value into out. */
enum pitr_rc repl_show(struct repl_conn *c, const char *name, char *out, size_t size,
                       struct pitr_err *err) PITR_MUST_CHECK;
/* Runs a query that returns exactly one row of ncols columns on an ordinary connection; values[i]
 * becomes a heap copy of column i (NULL for SQL NULL), which the caller frees. values is written
 * only on success. */
enum pitr_rc repl_query_row(struct repl_conn *c, const char *sql, char **values, int ncols,
                            struct pitr_err *err) PITR_MUST_CHECK;
/* Called by repl_query_rows for each row: values[i] is column i (NULL for SQL NULL), borrowed
 * for the call. A non-OK return stops the walk and is returned. */
typedef enum pitr_rc repl_row_fn(void *arg, const char *const *values, int ncols,
                                 struct pitr_err *err);
/* Runs a query on an ordinary connection that returns rows of at least ncols columns (at most
 * 16) and calls fn for each, in order. */
enum pitr_rc repl_query_rows(struct repl_conn *c, const char *sql, int ncols, repl_row_fn *fn,
                             void *arg, struct pitr_err *err) PITR_MUST_CHECK;
/* Runs one SQL statement on an ordinary connection, discarding any rows. */
enum pitr_rc repl_exec(struct repl_conn *c, const char *sql, struct pitr_err *err) PITR_MUST_CHECK;

enum repl_compression {
    REPL_COMPRESS_NONE = 0, /* the server sends plain tar */
    REPL_COMPRESS_LZ4,      /* one lz4 frame per archive (15+) */
    REPL_COMPRESS_ZSTD,     /* one zstd frame per archive (15+) */
};

struct repl_backup_opts {
    const char *label;
    bool fast_checkpoint;
    enum repl_compression compression;
    int compression_level; /* 0: the server's default */
    unsigned max_rate_kb;  /* the server's read rate limit in kB/s (32-1048576), 0: none */
};

/* Builds the BASE_BACKUP command for a server version into out: progress, a manifest with SHA-256
 * checksums, no WAL and no waiting for archiving (pitr waits for its own repository instead,
 * with a timeout). No tablespace_map: the tar then holds pg_tblspc/<oid> as symlinks, which a
 * restore points wherever the tablespace goes, while the manifest (which lists no symlinks)
 * still matches the restored files exactly, relocated or not. PITR_CONFIG for server compression
 * before 15. */
enum pitr_rc repl_base_backup_command(int server_version, const struct repl_backup_opts *opts,
                                      struct buf *out, struct pitr_err *err) PITR_MUST_CHECK;

struct repl_tablespace {
    uint32_t oid;    /* 0 for the main data directory */
    char *location;  /* "" for the main data directory */
    int64_t size_kb; /* the server's estimate, -1 when unknown */
};

struct repl_backup_start {
    uint64_t lsn;
    uint32_t tli;
    const struct repl_tablespace *tablespaces; /* borrowed for the callback */
    size_t n_tablespaces;
};

enum repl_stream_kind { REPL_STREAM_ARCHIVE, REPL_STREAM_MANIFEST };

/* What the server sends, in order: start, then for each archive (a tar file, compressed when
 * asked) and finally the manifest: begin, data..., end. A non-OK return aborts the backup (the
 * connection is closed, so the server ends backup mode) and is returned by repl_base_backup. */
struct repl_backup_handler {
    enum pitr_rc (*start)(void *arg, const struct repl_backup_start *start, struct pitr_err *err);
    /* name: "base.tar" (or with the compression's suffix) or "<oid>.tar"; location: the
     * tablespace's directory, "" for the main data directory and for the manifest */
    enum pitr_rc (*begin)(void *arg, enum repl_stream_kind kind, const char *name,
                          const char *location, struct pitr_err *err);
    enum pitr_rc (*data)(void *arg, const uint8_t *data, size_t len, struct pitr_err *err);
    enum pitr_rc (*end)(void *arg, struct pitr_err *err);
    /* bytes of the data directory read by the server so far (optional) */
    void (*progress)(void *arg, uint64_t done);
};

struct repl_backup_end {
    uint64_t lsn;
    uint32_t tli;
};

/* Runs BASE_BACKUP with opts and streams it to h (borrowed). */
enum pitr_rc repl_base_backup(struct repl_conn *c, const struct repl_backup_opts *opts,
                              const struct repl_backup_handler *h, void *arg,
                              struct repl_backup_end *out, struct pitr_err *err) PITR_MUST_CHECK;

/* One CopyData message of the 15+ BASE_BACKUP stream. Pure, for the protocol's unit tests. */
enum repl_msg_type {
    REPL_MSG_NEW_ARCHIVE = 'n', /* name, location */
    REPL_MSG_MANIFEST = 'm',
    REPL_MSG_DATA = 'd',     /* data, len */
    REPL_MSG_PROGRESS = 'p', /* progress */
};

struct repl_msg {
    enum repl_msg_type type;
    const char *name;     /* borrowed from the message */
    const char *location; /* borrowed from the message */
    const uint8_t *data;  /* borrowed from the message */
    size_t len;
    uint64_t progress;
};

/* Decodes msg[0..len); PITR_PROTOCOL (naming the problem) for anything malformed or unknown. */
enum pitr_rc repl_msg_parse(const uint8_t *msg, size_t len, struct repl_msg *out,
                            struct pitr_err *err) PITR_MUST_CHECK;

#endif

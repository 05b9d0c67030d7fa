/* config: one validated struct built once per process from the config file, then PITR_<KEY>
 * environment variables (which win). Code receives `const struct config *`; nothing else reads
 * the environment for settings. */
#ifndef PITR_CONFIG_CONFIG_H
#define PITR_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "base/log.h"

#define CONFIG_DEFAULT_PATH "/etc/pitr/pitr.conf"

/* A retention of "forever": the backups of that type never expire. */
static const uint64_t CONFIG_RETENTION_FOREVER = UINT64_MAX;

struct config {
    char *source;              /* the file that was read, or NULL when none was */
    char *repo;                /* "/path", "file:///path" or "s3://bucket/prefix" */
    bool repo_group_access;    /* a local repository may be shared through its directories' group */
    char *cluster;             /* NULL: derived from the system identifier */
    char *pgdata;              /* NULL: the working directory */
    char *compression;         /* "lz4", "zstd", "zstd:N" or "none" */
    char *encryption_key_file; /* NULL: no encryption */
    /* comma-separated key files of rotated-out keys: they read old objects, never write */
    char *encryption_old_key_files;
    char *s3_endpoint;
    bool s3_allow_http; /* accept an http:// s3_endpoint (refused otherwise) */
    char *s3_region;
    char *s3_uri_style; /* "path" or "virtual" */
    bool s3_verify_tls;
    char *s3_ca_file;
    char *s3_credentials_file;
    uint64_t s3_part_size;
    uint64_t s3_upload_concurrency; /* multipart parts sent at once, 1-32 */
    uint64_t s3_max_attempts;
    uint64_t s3_retry_max_time;  /* seconds */
    uint64_t s3_connect_timeout; /* seconds */
    uint64_t s3_low_speed_time;  /* seconds */
    uint64_t fetch_max_attempts; /* pitr-fetch attempts on errors other than "not found" */
    char *pg_conninfo;           /* libpq conninfo for pitr-basebackup; may hold a password */
    char *backup_compress_on;    /* "auto", "server" or "client" */
    uint64_t backup_wal_timeout; /* seconds pitr-basebackup waits for its WAL to be archived */
    char *notify_webhook_url;    /* NULL: no notifications; a secret (tokens): never logged */
    char *notify_on;             /* "failure" or "always" */
    enum log_level log_level;
    /* pitr-catalog expire: how long each type of backup is kept, in seconds after its stop time
     * (CONFIG_RETENTION_FOREVER: never expires), and how many complete backups always stay */
    uint64_t retention_daily;
    uint64_t retention_weekly;
    uint64_t retention_monthly;
    uint64_t retention_pre_migration;
    uint64_t retention_manual;
    uint64_t retention_min_full; /* >= 1 */
};

/* Finds the file (explicit path, else $PITR_CONFIG, else CONFIG_DEFAULT_PATH), parses it,
 * applies PITR_<KEY> overrides and validates. explicit_path may be NULL. A missing default file is
 * not an error (everything may come from the environment); a missing explicit one is. On success
 * *out holds owned strings: release with config_fini. Logs a warning (once per load, so once per
 * run) when the file is readable by other users and its pg_conninfo holds a password, and when an
 * S3 repository is reached over plain http because s3_allow_http is on. */
enum pitr_rc config_load(const char *explicit_path, struct config *out,
                         struct pitr_err *err) PITR_MUST_CHECK;
/* As config_load, but from a given file only (no environment); for tests and tools. */
enum pitr_rc config_load_file(const char *path, bool use_env, struct config *out,
                              struct pitr_err *err) PITR_MUST_CHECK;
void config_fini(struct config *cfg);

/* Parses "key = value" text. fn is called for every setting, with the 1-based line number; a
 * non-OK return stops parsing. Quoted values ('...', '' for a quote) and # comments are handled. */
typedef enum pitr_rc config_entry_fn(void *arg, const char *key, const char *value, int line,
                                     struct pitr_err *err);
enum pitr_rc config_parse_text(const char *text, const char *filename, config_entry_fn *fn,
                               void *arg, struct pitr_err *err) PITR_MUST_CHECK;

#endif

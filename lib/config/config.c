/* config: a table of known keys drives parsing, environment overrides and validation, so adding
 * a key is one table row; unknown keys are errors because a typo in a backup tool's config must
 * not silently fall back to a default. */
#include "config/config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "base/strutil.h"
#include "base/xalloc.h"
#include "object/object.h"

enum key_type { KEY_STRING, KEY_BOOL, KEY_UINT, KEY_SIZE, KEY_LOG_LEVEL, KEY_RETENTION };

struct key_def {
    const char *name;
    enum key_type type;
    size_t offset;
    const char *default_value; /* NULL: unset */
};

#define FIELD(f) offsetof(struct config, f)

static const struct key_def keys[] = {
    {"repo", KEY_STRING, FIELD(repo), NULL},
    {"repo_group_access", KEY_BOOL, FIELD(repo_group_access), "off"},
    {"cluster", KEY_STRING, FIELD(cluster), NULL},
    {"pgdata", KEY_STRING, FIELD(pgdata), NULL},
    {"compression", KEY_STRING, FIELD(compression), "lz4"},
    {"encryption_key_file", KEY_STRING, FIELD(encryption_key_file), NULL},
    {"encryption_old_key_files", KEY_STRING, FIELD(encryption_old_key_files), NULL},
    {"s3_endpoint", KEY_STRING, FIELD(s3_endpoint), NULL},
    {"s3_allow_http", KEY_BOOL, FIELD(s3_allow_http), "off"},
    {"s3_region", KEY_STRING, FIELD(s3_region), "us-east-1"},
    {"s3_uri_style", KEY_STRING, FIELD(s3_uri_style), NULL},
    {"s3_verify_tls", KEY_BOOL, FIELD(s3_verify_tls), "on"},
    {"s3_ca_file", KEY_STRING, FIELD(s3_ca_file), NULL},
    {"s3_credentials_file", KEY_STRING, FIELD(s3_credentials_file), NULL},
    {"s3_part_size", KEY_SIZE, FIELD(s3_part_size), "8MB"},
    {"s3_upload_concurrency", KEY_UINT, FIELD(s3_upload_concurrency), "4"},
    {"s3_max_attempts", KEY_UINT, FIELD(s3_max_attempts), "5"},
    {"s3_retry_max_time", KEY_UINT, FIELD(s3_retry_max_time), "60"},
    {"s3_connect_timeout", KEY_UINT, FIELD(s3_connect_timeout), "10"},
    {"s3_low_speed_time", KEY_UINT, FIELD(s3_low_speed_time), "30"},
    {"fetch_max_attempts", KEY_UINT, FIELD(fetch_max_attempts), "3"},
    {"pg_conninfo", KEY_STRING, FIELD(pg_conninfo), NULL},
    {"backup_compress_on", KEY_STRING, FIELD(backup_compress_on), "auto"},
    {"backup_wal_timeout", KEY_UINT, FIELD(backup_wal_timeout), "600"},
    {"notify_webhook_url", KEY_STRING, FIELD(notify_webhook_url), NULL},
    {"notify_on", KEY_STRING, FIELD(notify_on), "failure"},
    {"log_level", KEY_LOG_LEVEL, FIELD(log_level), "info"},
    /* the operations guide's retention table; manual backups are kept until removed by hand */
    {"retention_daily", KEY_RETENTION, FIELD(retention_daily), "30d"},
    {"retention_weekly", KEY_RETENTION, FIELD(retention_weekly), "90d"},
    {"retention_monthly", KEY_RETENTION, FIELD(retention_monthly), "365d"},
    {"retention_pre_migration", KEY_RETENTION, FIELD(retention_pre_migration), "7d"},
    {"retention_manual", KEY_RETENTION, FIELD(retention_manual), "forever"},
    {"retention_min_full", KEY_UINT, FIELD(retention_min_full), "2"},
};

static const struct key_def *find_key(const char *name)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(keys[i].name, name) == 0) {
            return &keys[i];
        }
    }
    return NULL;
}

/* A retention: "forever", or a whole number of days ("30d") or hours ("12h") as seconds. */
static enum pitr_rc parse_retention(const char *value, const char *what, uint64_t *out,
                                    struct pitr_err *err)
{
    size_t len = strlen(value);
    char digits[32];
    uint64_t n = 0;
    uint64_t unit;
    bool ok;
    struct pitr_err ignored;

    if (strcmp(value, "forever") == 0) {
        *out = CONFIG_RETENTION_FOREVER;
        return PITR_OK;
    }
    unit = len > 0 && value[len - 1] == 'd' ? 86400 : len > 0 && value[len - 1] == 'h' ? 3600 : 0;
    ok = unit != 0 && len >= 2 && len - 1 < sizeof(digits);
    if (ok) {
        memcpy(digits, value, len - 1);
        digits[len - 1] = '\0';
        /* a bound far beyond any retention keeps the product away from CONFIG_RETENTION_FOREVER */
        ok = str_parse_u64(digits, what, &n, &ignored) == PITR_OK && n <= 1000000;
    }
    if (!ok) {
        return err_set(err, PITR_CONFIG,
                       "invalid %s \"%s\": expected a number of days or hours (30d, 12h) or "
                       "forever",
                       what, value);
    }
    *out = n * unit;
    return PITR_OK;
}

/* Stores value into the field; the message names `where` (file:line or the variable). */
static enum pitr_rc set_value(struct config *cfg, const struct key_def *k, const char *value,
                              const char *where, struct pitr_err *err)
{
    void *field = (char *)cfg + k->offset;
    enum pitr_rc rc = PITR_OK;

    switch (k->type) {
    case KEY_STRING: {
        char **s = field;

        free(*s);
        *s = value[0] == '\0' ? NULL : xstrdup(value);
        break;
    }
    case KEY_BOOL:
        rc = str_parse_bool(value, k->name, field, err);
        break;
    case KEY_UINT:
        rc = str_parse_u64(value, k->name, field, err);
        break;
    case KEY_SIZE:
        rc = str_parse_size(value, k->name, field, err);
        break;
    case KEY_LOG_LEVEL:
        rc = log_level_parse(value, field, err);
        break;
    case KEY_RETENTION:
        rc = parse_retention(value, k->name, field, err);
        break;
    }
    if (rc != PITR_OK && where != NULL) {
        err_prefix(err, "%s", where);
    }
    return rc;
}

static enum pitr_rc parse_line(char *line, int lineno, const char *filename, config_entry_fn *fn,
                               void *arg, struct pitr_err *err)
{
    char *p = line;
    const char *key;
    char keybuf[64];
    size_t keylen;
    char value[4096];
    size_t vlen = 0;

    while (isspace((unsigned char)*p)) {
        p++;
    }
    if (*p == '\0' || *p == '#') {
        return PITR_OK;
    }
    key = p;
    while (isalnum((unsigned char)*p) || *p == '_') {
        p++;
    }
    keylen = (size_t)(p - key);
    if (keylen == 0 || keylen >= sizeof(keybuf)) {
        return err_set(err, PITR_CONFIG, "%s:%d: syntax error: expected \"key = value\"", filename,
                       lineno);
    }
    memcpy(keybuf, key, keylen);
    keybuf[keylen] = '\0';
    while (isspace((unsigned char)*p)) {
        p++;
    }
    if (*p != '=') {
        return err_set(err, PITR_CONFIG, "%s:%d: syntax error: expected \"=\" after \"%s\"",
                       filename, lineno, keybuf);
    }
    p++;
    while (isspace((unsigned char)*p)) {
        p++;
    }
    if (*p == '\'') {
        p++;
        for (;;) {
            if (*p == '\0') {
                return err_set(err, PITR_CONFIG, "%s:%d: unterminated quoted value", filename,
                               lineno);
            }
            if (*p == '\'' && p[1] == '\'') {
                p++;
            } else if (*p == '\'') {
                p++;
                break;
            }
            if (vlen + 1 >= sizeof(value)) {
                return err_set(err, PITR_CONFIG, "%s:%d: value too long", filename, lineno);
            }
            value[vlen++] = *p++;
        }
        while (isspace((unsigned char)*p)) {
            p++;
        }
        if (*p != '\0' && *p != '#') {
            return err_set(err, PITR_CONFIG, "%s:%d: syntax error after quoted value", filename,
                           lineno);
        }
    } else {
        while (*p != '\0' && *p != '#') {
            if (vlen + 1 >= sizeof(value)) {
                return err_set(err, PITR_CONFIG, "%s:%d: value too long", filename, lineno);
            }
            value[vlen++] = *p++;
        }
        while (vlen > 0 && isspace((unsigned char)value[vlen - 1])) {
            vlen--;
        }
    }
    value[vlen] = '\0';
    return fn(arg, keybuf, value, lineno, err);
}

enum pitr_rc config_parse_text(const char *text, const char *filename, config_entry_fn *fn,
                               void *arg, struct pitr_err *err)
{
    char *copy = xstrdup(text);
    char *line = copy;
    int lineno = 1;
    enum pitr_rc rc = PITR_OK;

    while (line != NULL && rc == PITR_OK) {
        char *nl = strchr(line, '\n');

        if (nl != NULL) {
            *nl = '\0';
        }
        rc = parse_line(line, lineno, filename, fn, arg, err);
        line = nl == NULL ? NULL : nl + 1;
        lineno++;
    }
    free(copy);
    return rc;
}

struct file_ctx {
    struct config *cfg;
    const char *filename;
};

static enum pitr_rc file_entry(void *arg, const char *key, const char *value, int line,
                               struct pitr_err *err)
{
    struct file_ctx *ctx = arg;
    const struct key_def *k = find_key(key);
    char where[600];

    snprintf(where, sizeof(where), "%s:%d", ctx->filename, line);
    if (k == NULL) {
        return err_set(err, PITR_CONFIG, "%s: unknown setting \"%s\"", where, key);
    }
    return set_value(ctx->cfg, k, value, where, err);
}

static enum pitr_rc apply_defaults(struct config *cfg, struct pitr_err *err)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (keys[i].default_value != NULL) {
            enum pitr_rc rc = set_value(cfg, &keys[i], keys[i].default_value, NULL, err);

            if (rc != PITR_OK) {
                return rc;
            }
        }
    }
    return PITR_OK;
}

static enum pitr_rc apply_env(struct config *cfg, struct pitr_err *err)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char var[64] = "PITR_";
        const char *value;
        size_t n = strlen(var);

        for (const char *c = keys[i].name; *c != '\0' && n + 1 < sizeof(var); c++) {
            var[n++] = (char)toupper((unsigned char)*c);
        }
        var[n] = '\0';
        value = getenv(var);
        if (value != NULL) {
            enum pitr_rc rc = set_value(cfg, &keys[i], value, var, err);

            if (rc != PITR_OK) {
                return rc;
            }
        }
    }
    return PITR_OK;
}

static enum pitr_rc validate(const struct config *cfg, struct pitr_err *err)
{
    enum object_compression comp;
    int level;
    const char *where = cfg->source ? cfg->source : "the environment";

    if (cfg->repo == NULL) {
        return err_set(err, PITR_CONFIG,
                       "no repository configured: set \"repo\" in %s or PITR_REPO", where);
    }
    if (cfg->s3_uri_style != NULL && strcmp(cfg->s3_uri_style, "path") != 0 &&
        strcmp(cfg->s3_uri_style, "virtual") != 0) {
        return err_set(err, PITR_CONFIG,
                       "%s: invalid s3_uri_style \"%s\": expected path or virtual", where,
                       cfg->s3_uri_style);
    }
    /* plain http carries the session token, and the WAL unless pitr encrypts it, in clear */
    if (cfg->s3_endpoint != NULL && str_has_prefix(cfg->s3_endpoint, "http://") &&
        !cfg->s3_allow_http) {
        return err_set(err, PITR_CONFIG,
                       "%s: s3_endpoint is plain http://, which would send the session token "
                       "and the WAL unencrypted: use https://, or set s3_allow_http = on to "
                       "accept that",
                       where);
    }
    if (cfg->compression == NULL || cfg->backup_compress_on == NULL) {
        return err_set(err, PITR_CONFIG, "%s: compression and backup_compress_on must not be empty",
                       where);
    }
    if (strcmp(cfg->backup_compress_on, "auto") != 0 &&
        strcmp(cfg->backup_compress_on, "server") != 0 &&
        strcmp(cfg->backup_compress_on, "client") != 0) {
        return err_set(err, PITR_CONFIG,
                       "%s: invalid backup_compress_on \"%s\": expected auto, server or client",
                       where, cfg->backup_compress_on);
    }
    if (object_compression_parse(cfg->compression, &comp, &level, err) != PITR_OK) {
        return err_prefix(err, "%s", where);
    }
    if (cfg->s3_part_size < 5u * 1024 * 1024 || cfg->s3_part_size > 5ull * 1024 * 1024 * 1024) {
        return err_set(err, PITR_CONFIG, "%s: s3_part_size must be between 5MB and 5GB", where);
    }
    if (cfg->s3_upload_concurrency < 1 || cfg->s3_upload_concurrency > 32) {
        return err_set(err, PITR_CONFIG, "%s: s3_upload_concurrency must be between 1 and 32",
                       where);
    }
    if (cfg->s3_max_attempts < 1 || cfg->fetch_max_attempts < 1) {
        return err_set(err, PITR_CONFIG, "%s: s3_max_attempts and fetch_max_attempts must be >= 1",
                       where);
    }
    if (cfg->retention_min_full < 1) {
        /* the newest complete backup is what every restore to now starts from */
        return err_set(err, PITR_CONFIG,
                       "%s: retention_min_full must be at least 1: the newest backup is never "
                       "expired",
                       where);
    }
    if (cfg->notify_on == NULL ||
        (strcmp(cfg->notify_on, "failure") != 0 && strcmp(cfg->notify_on, "always") != 0)) {
        return err_set(err, PITR_CONFIG, "%s: invalid notify_on \"%s\": expected failure or always",
                       where, cfg->notify_on ? cfg->notify_on : "");
    }
    /* the URL itself is never quoted in a message: webhooks carry their secret in it */
    if (cfg->notify_webhook_url != NULL && !str_has_prefix(cfg->notify_webhook_url, "https://") &&
        !str_has_prefix(cfg->notify_webhook_url, "http://")) {
        return err_set(err, PITR_CONFIG,
                       "%s: notify_webhook_url must start with https:// (or http://)", where);
    }
    if (cfg->cluster != NULL) {
        for (const char *c = cfg->cluster; *c != '\0'; c++) {
            if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.') {
                return err_set(err, PITR_CONFIG,
                               "%s: invalid cluster name \"%s\": use letters, digits, - _ .", where,
                               cfg->cluster);
            }
        }
        if (cfg->cluster[0] == '.') {
            return err_set(err, PITR_CONFIG, "%s: cluster name must not start with \".\"", where);
        }
    }
    return PITR_OK;
}

/* Whether a libpq conninfo holds a password: a "password" keyword ("password=x", "password = x",
 * "?password=x" in a URI) or a URI's "user:secret@". Kept simple: it only decides a warning. */
static bool conninfo_has_password(const char *conninfo)
{
    const char *uri = strstr(conninfo, "://");

    if (uri != NULL &&
        (str_has_prefix(conninfo, "postgresql://") || str_has_prefix(conninfo, "postgres://"))) {
        size_t authority = strcspn(uri + 3, "/?");
        const char *at = memchr(uri + 3, '@', authority);

        if (at != NULL && memchr(uri + 3, ':', (size_t)(at - (uri + 3))) != NULL) {
            return true;
        }
    }
    for (const char *p = strstr(conninfo, "password"); p != NULL; p = strstr(p + 1, "password")) {
        const char *q = p + strlen("password");

        while (isspace((unsigned char)*q)) {
            q++;
        }
        if (*q == '=' &&
            (p == conninfo || isspace((unsigned char)p[-1]) || p[-1] == '?' || p[-1] == '&')) {
            return true;
        }
    }
    return false;
}

/* A password in a file others can read is one they have; the password itself is never printed. */
static void warn_exposed_password(const char *path, const struct config *cfg)
{
    struct stat st;

    if (cfg->pg_conninfo != NULL && conninfo_has_password(cfg->pg_conninfo) &&
        stat(path, &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
        log_warn("configuration file \"%s\" is readable by other users (mode %04o) and its "
                 "pg_conninfo holds a password: run chmod 600 on it, or move the password to "
                 "~/.pgpass",
                 path, (unsigned)(st.st_mode & 07777));
    }
}

static enum pitr_rc load(const char *path, bool must_exist, bool use_env, struct config *out,
                         struct pitr_err *err)
{
    struct config cfg;
    struct buf text;
    enum pitr_rc rc = apply_defaults(&cfg, err);

    buf_init(&text, 1024 * 1024);
    if (rc == PITR_OK && path != NULL) {
        rc = fs_read_file(path, &text, err);
        if (rc == PITR_NOT_FOUND && !must_exist) {
            rc = PITR_OK;
        } else if (rc == PITR_NOT_FOUND) {
            rc = err_set(err, PITR_CONFIG,
                         "configuration file \"%s\" does not exist: create it or pass --config",
                         path);
        } else if (rc == PITR_OK) {
            struct file_ctx ctx = {&cfg, path};

            cfg.source = xstrdup(path);
            rc = config_parse_text(text.len ? (const char *)text.data : "", path, file_entry, &ctx,
                                   err);
            if (rc == PITR_OK) {
                warn_exposed_password(path,
                                      &cfg); /* the file's own value, before the environment */
            }
        }
    }
    if (rc == PITR_OK && use_env) {
        rc = apply_env(&cfg, err);
    }
    if (rc == PITR_OK) {
        rc = validate(&cfg, err);
    }
    if (rc == PITR_OK && cfg.s3_allow_http && cfg.s3_endpoint != NULL &&
        str_has_prefix(cfg.s3_endpoint, "http://") && str_has_prefix(cfg.repo, "s3://")) {
        log_warn("s3_endpoint is plain http:// (s3_allow_http = on): the session token and, "
                 "without encryption_key_file, the WAL cross the network unencrypted");
    }
    buf_fini(&text);
    if (rc != PITR_OK) {
        config_fini(&cfg);
        return rc;
    }
    *out = cfg;
    return PITR_OK;
}

enum pitr_rc config_load(const char *explicit_path, struct config *out, struct pitr_err *err)
{
    const char *env_path = getenv("PITR_CONFIG");

    if (explicit_path != NULL) {
        return load(explicit_path, true, true, out, err);
    }
    if (env_path != NULL && env_path[0] != '\0') {
        return load(env_path, true, true, out, err);
    }
    return load(CONFIG_DEFAULT_PATH, false, true, out, err);
}

enum pitr_rc config_load_file(const char *path, bool use_env, struct config *out,
                              struct pitr_err *err)
{
    return load(path, true, use_env, out, err);
}

void config_fini(struct config *cfg)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (keys[i].type == KEY_STRING) {
            char **s = (char **)((char *)cfg + keys[i].offset);

            free(*s);
            *s = NULL;
        }
    }
    free(cfg->source);
    cfg->source = NULL;
}

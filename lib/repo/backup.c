/* backup: the backup record as text. Every field a restore depends on is required when parsing,
 * so a damaged or truncated record is refused instead of half-read. */
#include "repo/backup.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/strutil.h"
#include "base/xalloc.h"
#include "config/config.h"
#include "pg/wal.h"
#include "repo/repo.h"
#include "storage/storage.h"

static const char *const types[] = {"daily", "weekly", "monthly", "manual", "pre-migration"};

bool backup_type_valid(const char *type)
{
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(type, types[i]) == 0) {
            return true;
        }
    }
    return false;
}

enum pitr_rc backup_key(const char *cluster, const char *id, const char *file, char *out,
                        size_t size, struct pitr_err *err)
{
    return str_format(out, size, err, "%s/backup/%s/%s", cluster, id, file);
}

void backup_record_add_object(struct backup_record *r, const struct backup_object *o)
{
    r->objects = xrealloc(r->objects, (r->n_objects + 1) * sizeof(*r->objects));
    r->objects[r->n_objects++] = *o;
}

void backup_record_add_tablespace(struct backup_record *r, uint32_t oid, const char *location)
{
    r->tablespaces = xrealloc(r->tablespaces, (r->n_tablespaces + 1) * sizeof(*r->tablespaces));
    r->tablespaces[r->n_tablespaces].oid = oid;
    r->tablespaces[r->n_tablespaces].location = xstrdup(location);
    r->n_tablespaces++;
}

void backup_time_format(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%d %H:%M:%S+00", &tm);
}

/* Appends 'text' with quotes doubled, as config_parse_text reads it back. */
static enum pitr_rc append_quoted(struct buf *out, const char *key, const char *text,
                                  struct pitr_err *err)
{
    enum pitr_rc rc = buf_printf(out, err, "%s = '", key);

    for (const char *p = text; rc == PITR_OK && *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20) {
            return err_set(err, PITR_INTERNAL, "%s contains a control character", key);
        }
        rc = *p == '\'' ? buf_append(out, "''", 2, err) : buf_append(out, p, 1, err);
    }
    return rc != PITR_OK ? rc : buf_append(out, "'\n", 2, err);
}

static enum pitr_rc format_lists(const struct backup_record *r, struct buf *out,
                                 struct pitr_err *err)
{
    enum pitr_rc rc = PITR_OK;

    for (size_t i = 0; rc == PITR_OK && i < r->n_objects; i++) {
        char hex[2 * SHA256_LEN + 1];
        const struct backup_object *o = &r->objects[i];

        str_hex_encode(o->sha256, SHA256_LEN, hex);
        rc = buf_printf(out, err, "object = '%s %" PRIu64 " %" PRIu64 " %s'\n", o->name,
                        o->raw_size, o->stored_size, hex);
    }
    for (size_t i = 0; rc == PITR_OK && i < r->n_tablespaces; i++) {
        char value[4200];

        rc = str_format(value, sizeof(value), err, "%u %s", r->tablespaces[i].oid,
                        r->tablespaces[i].location);
        if (rc == PITR_OK) {
            rc = append_quoted(out, "tablespace", value, err);
        }
    }
    return rc;
}

enum pitr_rc backup_record_format(const struct backup_record *r, struct buf *out,
                                  struct pitr_err *err)
{
    char start_lsn[18];
    char stop_lsn[18];
    char start_time[32];
    char stop_time[32];
    enum pitr_rc rc;

    wal_lsn_format(r->start_lsn, start_lsn);
    wal_lsn_format(r->stop_lsn, stop_lsn);
    backup_time_format(r->start_time, start_time);
    backup_time_format(r->stop_time, stop_time);
    rc = buf_printf(out, err,
                    "# pitr backup record\n"
                    "format = 1\nid = %s\ntype = %s\nstatus = %s\n",
                    r->id, r->type, r->status);
    if (rc == PITR_OK) {
        rc = append_quoted(out, "label", r->label ? r->label : "", err);
    }
    if (rc == PITR_OK) {
        rc = append_quoted(out, "host", r->host, err);
    }
    if (rc == PITR_OK) {
        rc = buf_printf(out, err,
                        "pid = %" PRId64 "\nsystem_identifier = %" PRIu64 "\npg_version_num = %u\n"
                        "timeline = %u\nstart_lsn = %s\nstop_lsn = %s\nstart_time = '%s'\n"
                        "start_epoch = %" PRId64 "\nstop_time = '%s'\nstop_epoch = %" PRId64 "\n"
                        "wal_segment_size = %u\ncompression = %s\ncompressed_by = %s\n"
                        "encryption_key_id = %s\nraw_bytes = %" PRIu64 "\nstored_bytes = %" PRIu64
                        "\n"
                        "duration_ms = %" PRIu64 "\n",
                        r->pid, r->sysid, r->pg_version_num, r->timeline, start_lsn, stop_lsn,
                        start_time, r->start_time, stop_time, r->stop_time, r->wal_seg_size,
                        r->compression, r->compressed_by, r->key_id[0] ? r->key_id : "none",
                        r->raw_bytes, r->stored_bytes, r->duration_ms);
    }
    return rc != PITR_OK ? rc : format_lists(r, out, err);
}

/* --- parsing ------------------------------------------------------------------------------- */

enum field_bit {
    F_FORMAT = 1 << 0,
    F_ID = 1 << 1,
    F_TYPE = 1 << 2,
    F_STATUS = 1 << 3,
    F_SYSID = 1 << 4,
    F_VERSION = 1 << 5,
    F_TLI = 1 << 6,
    F_START_LSN = 1 << 7,
    F_STOP_LSN = 1 << 8,
    F_START = 1 << 9,
    F_STOP = 1 << 10,
    F_SEG = 1 << 11,
    F_COMPRESSION = 1 << 12,
    F_KEY = 1 << 13,
    F_SIZES = 1 << 14,
    F_REQUIRED = (1 << 15) - 1,
};

struct parse_ctx {
    struct backup_record *r;
    unsigned seen;
    unsigned long long once; /* bit i: once_keys[i] was read */
};

/* Every key except the lists (object, tablespace) may appear once: with two values for one
 * field, which one would a restore trust? */
static const char *const once_keys[] = {
    "format",
    "id",
    "type",
    "status",
    "label",
    "host",
    "pid",
    "system_identifier",
    "pg_version_num",
    "timeline",
    "start_lsn",
    "stop_lsn",
    "start_time",
    "start_epoch",
    "stop_time",
    "stop_epoch",
    "wal_segment_size",
    "compression",
    "compressed_by",
    "encryption_key_id",
    "raw_bytes",
    "stored_bytes",
    "duration_ms",
};

static enum pitr_rc copy_field(char *dst, size_t size, const char *key, const char *value,
                               struct pitr_err *err)
{
    if (strlen(value) >= size) {
        return err_set(err, PITR_CORRUPT, "%s \"%s\" is too long", key, value);
    }
    memcpy(dst, value, strlen(value) + 1);
    return PITR_OK;
}

static enum pitr_rc parse_u32(const char *value, const char *key, uint32_t *out,
                              struct pitr_err *err)
{
    uint64_t v = 0;
    enum pitr_rc rc = str_parse_u64(value, key, &v, err);

    if (rc == PITR_OK && v > UINT32_MAX) {
        rc = err_set(err, PITR_CORRUPT, "%s %s is out of range", key, value);
    }
    if (rc == PITR_OK) {
        *out = (uint32_t)v;
    }
    return rc;
}

static enum pitr_rc parse_i64(const char *value, const char *key, int64_t *out,
                              struct pitr_err *err)
{
    uint64_t v = 0;
    bool neg = value[0] == '-';
    enum pitr_rc rc = str_parse_u64(value + (neg ? 1 : 0), key, &v, err);

    if (rc == PITR_OK && v > INT64_MAX) {
        rc = err_set(err, PITR_CORRUPT, "%s %s is out of range", key, value);
    }
    if (rc == PITR_OK) {
        *out = neg ? -(int64_t)v : (int64_t)v;
    }
    return rc;
}

static enum pitr_rc parse_object(struct backup_record *r, const char *value, struct pitr_err *err)
{
    struct backup_object o;
    char hex[2 * SHA256_LEN + 2];
    char raw[24];
    char stored[24];
    int used = 0;
    struct pitr_err ignored;

    memset(&o, 0, sizeof(o));
    /* sizes as words, parsed strictly: %llu would take "-1" as 2^64-1 and saturate on overflow */
    if (sscanf(value, "%63s %23s %23s %65s%n", o.name, raw, stored, hex, &used) != 4 ||
        value[used] != '\0' || str_parse_u64(raw, "size", &o.raw_size, &ignored) != PITR_OK ||
        str_parse_u64(stored, "size", &o.stored_size, &ignored) != PITR_OK ||
        strlen(hex) != 2 * SHA256_LEN || str_hex_decode(hex, o.sha256, SHA256_LEN) != PITR_OK) {
        return err_set(err, PITR_CORRUPT, "malformed object line \"%s\"", value);
    }
    backup_record_add_object(r, &o);
    return PITR_OK;
}

static enum pitr_rc parse_tablespace(struct backup_record *r, const char *value,
                                     struct pitr_err *err)
{
    const char *space = strchr(value, ' ');
    char oid_text[16];
    uint32_t oid = 0;

    if (space == NULL || space == value || (size_t)(space - value) >= sizeof(oid_text) ||
        space[1] != '/') {
        return err_set(err, PITR_CORRUPT, "malformed tablespace line \"%s\"", value);
    }
    memcpy(oid_text, value, (size_t)(space - value));
    oid_text[space - value] = '\0';
    if (parse_u32(oid_text, "tablespace oid", &oid, err) != PITR_OK || oid == 0) {
        return err_set(err, PITR_CORRUPT, "malformed tablespace line \"%s\"", value);
    }
    backup_record_add_tablespace(r, oid, space + 1);
    return PITR_OK;
}

/* Fields that are one number or one word. */
static enum pitr_rc parse_scalar(struct parse_ctx *ctx, const char *key, const char *value,
                                 struct pitr_err *err)
{
    struct backup_record *r = ctx->r;

    if (strcmp(key, "system_identifier") == 0) {
        ctx->seen |= F_SYSID;
        return str_parse_u64(value, key, &r->sysid, err);
    }
    if (strcmp(key, "pg_version_num") == 0) {
        ctx->seen |= F_VERSION;
        return parse_u32(value, key, &r->pg_version_num, err);
    }
    if (strcmp(key, "timeline") == 0) {
        ctx->seen |= F_TLI;
        return parse_u32(value, key, &r->timeline, err);
    }
    if (strcmp(key, "start_lsn") == 0) {
        ctx->seen |= F_START_LSN;
        return wal_lsn_parse(value, &r->start_lsn, err);
    }
    if (strcmp(key, "stop_lsn") == 0) {
        ctx->seen |= F_STOP_LSN;
        return wal_lsn_parse(value, &r->stop_lsn, err);
    }
    if (strcmp(key, "start_epoch") == 0) {
        ctx->seen |= F_START;
        return parse_i64(value, key, &r->start_time, err);
    }
    if (strcmp(key, "stop_epoch") == 0) {
        ctx->seen |= F_STOP;
        return parse_i64(value, key, &r->stop_time, err);
    }
    if (strcmp(key, "wal_segment_size") == 0) {
        ctx->seen |= F_SEG;
        return parse_u32(value, key, &r->wal_seg_size, err);
    }
    if (strcmp(key, "pid") == 0) {
        return parse_i64(value, key, &r->pid, err);
    }
    if (strcmp(key, "raw_bytes") == 0) {
        ctx->seen |= F_SIZES;
        return str_parse_u64(value, key, &r->raw_bytes, err);
    }
    if (strcmp(key, "stored_bytes") == 0) {
        return str_parse_u64(value, key, &r->stored_bytes, err);
    }
    if (strcmp(key, "duration_ms") == 0) {
        return str_parse_u64(value, key, &r->duration_ms, err);
    }
    return PITR_NOT_FOUND;
}

static enum pitr_rc parse_entry(void *arg, const char *key, const char *value, int line,
                                struct pitr_err *err)
{
    struct parse_ctx *ctx = arg;
    struct backup_record *r = ctx->r;
    enum pitr_rc rc;

    for (size_t i = 0; i < sizeof(once_keys) / sizeof(once_keys[0]); i++) {
        if (strcmp(key, once_keys[i]) == 0) {
            if (ctx->once & (1ull << i)) {
                return err_set(err, PITR_CORRUPT, "line %d: \"%s\" appears twice", line, key);
            }
            ctx->once |= 1ull << i;
        }
    }
    rc = parse_scalar(ctx, key, value, err);
    if (rc != PITR_NOT_FOUND) {
        return rc;
    }
    if (strcmp(key, "format") == 0) {
        ctx->seen |= F_FORMAT;
        return strcmp(value, "1") == 0
                   ? PITR_OK
                   : err_set(err, PITR_CORRUPT, "unknown record format %s: upgrade pitr", value);
    }
    if (strcmp(key, "id") == 0) {
        ctx->seen |= F_ID;
        return copy_field(r->id, sizeof(r->id), key, value, err);
    }
    if (strcmp(key, "type") == 0) {
        ctx->seen |= F_TYPE;
        rc = copy_field(r->type, sizeof(r->type), key, value, err);
        if (rc == PITR_OK && !backup_type_valid(value)) {
            rc = err_set(err, PITR_CORRUPT, "unknown backup type \"%s\"", value);
        }
        return rc;
    }
    if (strcmp(key, "status") == 0) {
        ctx->seen |= F_STATUS;
        return copy_field(r->status, sizeof(r->status), key, value, err);
    }
    if (strcmp(key, "label") == 0) {
        free(r->label);
        r->label = xstrdup(value);
        return PITR_OK;
    }
    if (strcmp(key, "host") == 0) {
        return copy_field(r->host, sizeof(r->host), key, value, err);
    }
    if (strcmp(key, "compression") == 0) {
        ctx->seen |= F_COMPRESSION;
        return copy_field(r->compression, sizeof(r->compression), key, value, err);
    }
    if (strcmp(key, "compressed_by") == 0) {
        return copy_field(r->compressed_by, sizeof(r->compressed_by), key, value, err);
    }
    if (strcmp(key, "encryption_key_id") == 0) {
        ctx->seen |= F_KEY;
        return copy_field(r->key_id, sizeof(r->key_id), key,
                          strcmp(value, "none") == 0 ? "" : value, err);
    }
    if (strcmp(key, "object") == 0) {
        return parse_object(r, value, err);
    }
    if (strcmp(key, "tablespace") == 0) {
        return parse_tablespace(r, value, err);
    }
    return PITR_OK; /* informational (start_time, stop_time) or from a newer minor release */
}

enum pitr_rc backup_record_parse(const char *text, const char *name, struct backup_record *out,
                                 struct pitr_err *err)
{
    struct backup_record r;
    struct parse_ctx ctx = {&r, 0, 0};
    enum pitr_rc rc;

    memset(&r, 0, sizeof(r));
    rc = config_parse_text(text, name, parse_entry, &ctx, err);
    if (rc != PITR_OK) {
        err->rc = PITR_CORRUPT;
        err_prefix(err, "backup record \"%s\"", name);
    } else if ((ctx.seen & F_REQUIRED) != F_REQUIRED) {
        rc = err_set(err, PITR_CORRUPT, "backup record \"%s\" is incomplete (fields 0x%x missing)",
                     name, F_REQUIRED & ~ctx.seen);
    }
    if (rc != PITR_OK) {
        backup_record_fini(&r);
        return PITR_CORRUPT;
    }
    *out = r;
    return PITR_OK;
}

void backup_record_fini(struct backup_record *r)
{
    for (size_t i = 0; i < r->n_tablespaces; i++) {
        free(r->tablespaces[i].location);
    }
    free(r->tablespaces);
    free(r->objects);
    free(r->label);
    memset(r, 0, sizeof(*r));
}

enum pitr_rc backup_record_read(const struct repo_session *repo, const char *id,
                                struct backup_record *out, struct pitr_err *err)
{
    char key[1024];
    struct buf text = {0};
    enum pitr_rc rc = backup_key(repo->cluster, id, "backup.info", key, sizeof(key), err);

    if (rc == PITR_OK) {
        rc = repo_get_text(repo, key, BACKUP_RECORD_MAX, &text, err);
    }
    if (rc == PITR_NOT_FOUND) {
        return err_set(err, PITR_NOT_FOUND, "backup %s does not exist or is not complete", id);
    }
    if (rc == PITR_OK) {
        rc = backup_record_parse((const char *)text.data, key, out, err);
    }
    buf_fini(&text);
    if (rc == PITR_OK && strcmp(out->status, "complete") != 0) {
        backup_record_fini(out);
        rc = err_set(err, PITR_CORRUPT, "%s does not say the backup is complete", key);
    } else if (rc == PITR_OK &&
               (strcmp(out->id, id) != 0 || (repo->has_info && out->sysid != repo->info.sysid))) {
        rc = err_set(err, PITR_CORRUPT,
                     "%s describes another backup (id %s, system identifier %" PRIu64 ")", key,
                     out->id, out->sysid);
        backup_record_fini(out);
    }
    return rc;
}

struct list_ctx {
    char **ids;
    size_t n;
};

static enum pitr_rc collect_id(void *arg, const char *key, const struct storage_info *info,
                               struct pitr_err *err)
{
    struct list_ctx *ctx = arg;
    const char *slash = strrchr(key, '/');

    (void)err;
    if (info->is_dir && slash != NULL) {
        ctx->ids = xrealloc(ctx->ids, (ctx->n + 1) * sizeof(*ctx->ids));
        ctx->ids[ctx->n++] = xstrdup(slash + 1);
    }
    return PITR_OK;
}

static int compare_ids(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

enum pitr_rc backup_list_complete(const struct repo_session *repo, struct backup_record **out,
                                  size_t *n, struct pitr_err *err)
{
    struct list_ctx ctx = {NULL, 0};
    struct backup_record *list = NULL;
    size_t count = 0;
    char dir[1024];
    enum pitr_rc rc = str_format(dir, sizeof(dir), err, "%s/backup", repo->cluster);

    if (rc == PITR_OK) {
        rc = storage_list(repo->storage, dir, STORAGE_LIST_CHILDREN, collect_id, &ctx, err);
    }
    if (rc == PITR_OK) {
        if (ctx.n > 0) { /* qsort(NULL, 0, ...) is undefined behaviour */
            qsort(ctx.ids, ctx.n, sizeof(*ctx.ids), compare_ids);
        }
        list = xcalloc(ctx.n + 1, sizeof(*list));
    }
    for (size_t i = 0; rc == PITR_OK && i < ctx.n; i++) {
        rc = backup_record_read(repo, ctx.ids[i], &list[count], err);
        if (rc == PITR_OK) {
            count++;
        } else if (rc == PITR_NOT_FOUND) {
            rc = PITR_OK; /* incomplete: being taken, or interrupted */
        }
    }
    for (size_t i = 0; i < ctx.n; i++) {
        free(ctx.ids[i]);
    }
    free(ctx.ids);
    if (rc != PITR_OK) {
        backup_list_free(list, count);
        return rc;
    }
    *out = list;
    *n = count;
    return PITR_OK;
}

void backup_list_free(struct backup_record *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        backup_record_fini(&list[i]);
    }
    free(list);
}

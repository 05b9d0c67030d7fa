/* repo: repository layout, opening the configured storage, and the cluster binding that stops
 * two different clusters from ever writing into one archive. */
#include "repo/repo.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/strutil.h"
#include "base/xalloc.h"
#include "config/credentials.h"
#include "crypto/key.h"
#include "object/object.h"

enum { CLUSTER_INFO_MAX = 64 * 1024 };

static struct storage *open_s3(const struct config *cfg, const char *spec, struct pitr_err *err)
{
    struct s3_credentials creds = {NULL, NULL, NULL};
    struct s3_params p;
    const char *slash = strchr(spec, '/');
    char *bucket = slash ? xstrndup(spec, (size_t)(slash - spec)) : xstrdup(spec);
    char *prefix = xstrdup(slash ? slash + 1 : "");
    struct storage *s = NULL;
    size_t n = strlen(prefix);

    while (n > 0 && prefix[n - 1] == '/') {
        prefix[--n] = '\0';
    }
    if (bucket[0] == '\0') {
        err_set(err, PITR_CONFIG, "invalid repo \"s3://%s\": expected s3://bucket/prefix", spec);
        goto done;
    }
    if (credentials_load(cfg, &creds, err) != PITR_OK) {
        goto done;
    }
    memset(&p, 0, sizeof(p));
    p.bucket = bucket;
    p.prefix = prefix;
    p.endpoint = cfg->s3_endpoint ? cfg->s3_endpoint : "s3.amazonaws.com";
    p.region = cfg->s3_region;
    /* AWS wants virtual-hosted names; self-hosted endpoints (MinIO, Ceph) mostly want paths. */
    p.virtual_host =
        cfg->s3_uri_style ? strcmp(cfg->s3_uri_style, "virtual") == 0 : cfg->s3_endpoint == NULL;
    p.verify_tls = cfg->s3_verify_tls;
    p.ca_file = cfg->s3_ca_file;
    p.access_key = creds.access_key;
    p.secret_key = creds.secret_key;
    p.session_token = creds.session_token;
    p.part_size = cfg->s3_part_size;
    p.upload_concurrency = (unsigned)cfg->s3_upload_concurrency;
    p.max_attempts = (unsigned)cfg->s3_max_attempts;
    p.max_retry_ms = (unsigned)(cfg->s3_retry_max_time * 1000);
    p.connect_timeout_ms = (unsigned)(cfg->s3_connect_timeout * 1000);
    p.low_speed_time_s = (unsigned)cfg->s3_low_speed_time;
    s = s3_storage_new(&p, err);
done:
    credentials_fini(&creds);
    free(bucket);
    free(prefix);
    return s;
}

static struct storage *open_posix(const struct config *cfg, const char *dir, struct pitr_err *err)
{
    struct posix_params p;

    memset(&p, 0, sizeof(p));
    p.dir = dir;
    p.group_access = cfg->repo_group_access;
    return posix_storage_new(&p, err);
}

struct storage *repo_open(const struct config *cfg, struct pitr_err *err)
{
    if (str_has_prefix(cfg->repo, "s3://")) {
        return open_s3(cfg, cfg->repo + 5, err);
    }
    if (str_has_prefix(cfg->repo, "file://")) {
        return open_posix(cfg, cfg->repo + 7, err);
    }
    if (strstr(cfg->repo, "://") != NULL) {
        err_set(err, PITR_CONFIG,
                "unsupported repo \"%s\": use an absolute path, file:///path or s3://bucket/prefix",
                cfg->repo);
        return NULL;
    }
    return open_posix(cfg, cfg->repo, err);
}

enum pitr_rc repo_wal_key(const char *cluster, const char *name, const struct wal_file *f,
                          char *out, size_t size, struct pitr_err *err)
{
    if (f->kind == WAL_FILE_HISTORY) {
        return str_format(out, size, err, "%s/wal/history/%s", cluster, name);
    }
    return str_format(out, size, err, "%s/wal/%.16s/%s", cluster, name, name);
}

struct only_ctx {
    char *found;
    int count;
    struct buf names;
};

static enum pitr_rc collect_cluster(void *arg, const char *key, const struct storage_info *info,
                                    struct pitr_err *err)
{
    struct only_ctx *ctx = arg;

    if (!info->is_dir) {
        return PITR_OK;
    }
    ctx->count++;
    if (ctx->found == NULL) {
        ctx->found = xstrdup(key);
    }
    return buf_printf(&ctx->names, err, "%s%s", ctx->names.len ? ", " : "", key);
}

static enum pitr_rc only_cluster(struct storage *s, char **name_out, struct pitr_err *err)
{
    struct only_ctx ctx = {NULL, 0, {0}};
    enum pitr_rc rc;

    buf_init(&ctx.names, 4096);
    rc = storage_list(s, "", STORAGE_LIST_CHILDREN, collect_cluster, &ctx, err);
    if (rc == PITR_OK && ctx.count == 0) {
        rc = err_set(err, PITR_NOT_FOUND,
                     "the repository holds no cluster yet: nothing has been archived");
    } else if (rc == PITR_OK && ctx.count > 1) {
        rc = err_set(err, PITR_CONFIG,
                     "the repository holds several clusters (%s): set \"cluster\" to choose one",
                     (const char *)ctx.names.data);
    }
    if (rc == PITR_OK) {
        *name_out = ctx.found;
        ctx.found = NULL;
    }
    free(ctx.found);
    buf_fini(&ctx.names);
    return rc;
}

enum pitr_rc repo_resolve_cluster(const struct config *cfg, struct storage *s,
                                  const struct pg_ident *ident, char **name_out,
                                  struct pitr_err *err)
{
    if (cfg->cluster != NULL) {
        *name_out = xstrdup(cfg->cluster);
        return PITR_OK;
    }
    if (ident != NULL) {
        *name_out = xasprintf("%" PRIu64, ident->sysid);
        return PITR_OK;
    }
    return only_cluster(s, name_out, err);
}

static char *info_key(const char *cluster)
{
    return xasprintf("%s/cluster.info", cluster);
}

struct info_ctx {
    struct cluster_info info;
    int seen;
};

static enum pitr_rc info_entry(void *arg, const char *key, const char *value, int line,
                               struct pitr_err *err)
{
    struct info_ctx *ctx = arg;
    uint64_t v;

    if (strcmp(key, "system_identifier") == 0) {
        ctx->seen |= 1;
        return str_parse_u64(value, "system_identifier", &ctx->info.sysid, err);
    }
    if (strcmp(key, "pg_version") == 0) {
        ctx->seen |= 2;
        if (str_parse_u64(value, "pg_version", &v, err) != PITR_OK) {
            return err->rc;
        }
        ctx->info.pg_version = (unsigned)v;
        return PITR_OK;
    }
    if (strcmp(key, "encryption_key_id") == 0) {
        ctx->seen |= 4;
        if (strcmp(value, "none") == 0) {
            ctx->info.key_id[0] = '\0';
            return PITR_OK;
        }
        return str_format(ctx->info.key_id, sizeof(ctx->info.key_id), err, "%s", value);
    }
    (void)line; /* other keys (format, created) are informational */
    return PITR_OK;
}

enum pitr_rc repo_get_text(struct storage *s, const char *key, size_t max, struct buf *out,
                           struct pitr_err *err)
{
    return repo_get_object(s, key, NULL, max, out, err);
}

enum pitr_rc repo_get_object(struct storage *s, const char *key, const struct key *k, size_t max,
                             struct buf *out, struct pitr_err *err)
{
    struct buf text;
    struct filter *sink;
    struct filter *reader;
    enum pitr_rc rc;

    buf_init(&text, max);
    sink = buf_sink_new(&text);
    reader = object_reader_new(sink, k, key);
    rc = storage_read(s, key, reader, err);
    filter_free(reader);
    filter_free(sink);
    if (rc != PITR_OK) {
        buf_fini(&text);
        return rc;
    }
    *out = text;
    return PITR_OK;
}

enum pitr_rc repo_put_text(struct storage *s, const char *key, const char *text, bool create_only,
                           struct pitr_err *err)
{
    struct write_opts wopts = {create_only, 0};
    struct object_opts opts = {OBJECT_COMPRESS_NONE, 0, NULL, false, false, false};
    struct object_writer *w = NULL;
    struct filter *sink = NULL;
    enum pitr_rc rc = storage_write_open(s, key, &wopts, &sink, err);

    if (rc == PITR_OK) {
        w = object_writer_new(sink, &opts, err);
        sink = NULL;
        rc = w == NULL ? err->rc : object_writer_write(w, (const uint8_t *)text, strlen(text), err);
    }
    if (rc == PITR_OK) {
        rc = object_writer_finish(w, NULL, err);
    }
    object_writer_free(w);
    filter_free(sink);
    return rc;
}

enum pitr_rc repo_cluster_read(struct storage *s, const char *cluster, struct cluster_info *out,
                               struct pitr_err *err)
{
    char *key = info_key(cluster);
    struct buf text = {0};
    struct info_ctx ctx;
    enum pitr_rc rc;

    memset(&ctx, 0, sizeof(ctx));
    rc = repo_get_text(s, key, CLUSTER_INFO_MAX, &text, err);
    if (rc == PITR_OK) {
        rc = config_parse_text(text.len ? (const char *)text.data : "", key, info_entry, &ctx, err);
        if (rc != PITR_OK) {
            err->rc = rc = PITR_CORRUPT;
        } else if (ctx.seen != 7) {
            rc = err_set(err, PITR_CORRUPT, "\"%s\" is incomplete", key);
        }
    }
    if (rc == PITR_OK) {
        *out = ctx.info;
    }
    buf_fini(&text);
    free(key);
    return rc;
}

static enum pitr_rc cluster_write(struct storage *s, const char *key,
                                  const struct cluster_info *mine, struct pitr_err *err)
{
    struct buf text;
    char created[32];
    time_t now = time(NULL);
    struct tm tm;
    enum pitr_rc rc;

    gmtime_r(&now, &tm);
    strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
    buf_init(&text, CLUSTER_INFO_MAX);
    rc =
        buf_printf(&text, err,
                   "# pitr cluster identity: every archive into this folder must match it\n"
                   "format = 1\nsystem_identifier = %" PRIu64 "\npg_version = %u\n"
                   "encryption_key_id = %s\ncreated = '%s'\n",
                   mine->sysid, mine->pg_version, mine->key_id[0] ? mine->key_id : "none", created);
    if (rc == PITR_OK) {
        /* create-only: a concurrent first archiver's record is never replaced */
        rc = repo_put_text(s, key, (const char *)text.data, true, err);
    }
    buf_fini(&text);
    return rc;
}

static enum pitr_rc compare(const char *cluster, const struct cluster_info *have,
                            const struct cluster_info *mine, struct pitr_err *err)
{
    if (have->sysid != mine->sysid) {
        return err_set(err, PITR_CONFIG,
                       "repository cluster \"%s\" belongs to the database system %" PRIu64
                       ", but this one is %" PRIu64
                       ": refusing to mix their WAL; set a different \"cluster\" name",
                       cluster, have->sysid, mine->sysid);
    }
    if (have->pg_version != mine->pg_version) {
        return err_set(err, PITR_CONFIG,
                       "repository cluster \"%s\" holds PostgreSQL %u, but this server is %u",
                       cluster, have->pg_version, mine->pg_version);
    }
    if (strcmp(have->key_id, mine->key_id) != 0) {
        return err_set(err, PITR_CONFIG,
                       "repository cluster \"%s\" is %s%s, but the configured key is %s%s: use the "
                       "same encryption_key_file for the whole cluster",
                       cluster, have->key_id[0] ? "encrypted with key id " : "unencrypted",
                       have->key_id, mine->key_id[0] ? "key id " : "none", mine->key_id);
    }
    return PITR_OK;
}

enum pitr_rc repo_cluster_bind(struct storage *s, const char *cluster,
                               const struct cluster_info *mine, struct pitr_err *err)
{
    char *key = info_key(cluster);
    struct cluster_info have;
    enum pitr_rc rc = repo_cluster_read(s, cluster, &have, err);

    if (rc == PITR_NOT_FOUND) {
        rc = cluster_write(s, key, mine, err);
        if (rc == PITR_EXISTS) {
            /* another archiver won the race: check against what it recorded */
            rc = repo_cluster_read(s, cluster, &have, err);
        } else if (rc == PITR_OK) {
            have = *mine;
        }
    }
    if (rc == PITR_OK) {
        rc = compare(cluster, &have, mine, err);
    }
    free(key);
    return rc;
}

void repo_key_id_hex(const struct key *key, char out[17])
{
    uint8_t id[8];

    if (key == NULL) {
        out[0] = '\0';
        return;
    }
    key_id(key, id);
    str_hex_encode(id, sizeof(id), out);
}

enum pitr_rc repo_session_open(const struct config *cfg, const struct pg_ident *ident,
                               struct repo_session *out, struct pitr_err *err)
{
    struct repo_session r = {NULL, NULL, NULL};
    enum pitr_rc rc = PITR_OK;

    if (cfg->encryption_key_file != NULL) {
        r.key = key_load_file(cfg->encryption_key_file, err);
        rc = r.key == NULL ? err->rc : PITR_OK;
    }
    if (rc == PITR_OK) {
        r.storage = repo_open(cfg, err);
        rc = r.storage == NULL ? err->rc : PITR_OK;
    }
    if (rc == PITR_OK) {
        rc = repo_resolve_cluster(cfg, r.storage, ident, &r.cluster, err);
    }
    if (rc != PITR_OK) {
        repo_session_close(&r);
        return rc;
    }
    *out = r;
    return PITR_OK;
}

void repo_session_close(struct repo_session *s)
{
    free(s->cluster);
    storage_free(s->storage);
    key_free(s->key);
    memset(s, 0, sizeof(*s));
}

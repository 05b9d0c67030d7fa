/* repo: repository layout, opening the configured storage, and the cluster binding that stops
 * two different clusters from ever writing into one archive. */
#include "repo/repo.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/log.h"
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

struct folder_ctx {
    struct repo_wal_folder *out;
    uint32_t tli;
    uint64_t first; /* the folder's first segment */
    uint64_t per_folder;
    uint32_t seg_size;
};

static enum pitr_rc collect_wal_object(void *arg, const char *key, const struct storage_info *info,
                                       struct pitr_err *err)
{
    struct folder_ctx *c = arg;
    const char *name = strrchr(key, '/');
    struct wal_file f;
    struct pitr_err ignored;
    uint64_t segno;

    (void)err;
    name = name ? name + 1 : key;
    if (info->is_dir || wal_parse_name(name, &f, &ignored) != PITR_OK ||
        f.kind != WAL_FILE_SEGMENT || f.tli != c->tli) {
        return PITR_OK;
    }
    segno = wal_segno(&f, c->seg_size);
    if (segno < c->first || segno - c->first >= c->per_folder) {
        return PITR_OK; /* a name that does not belong in this folder is not its segment */
    }
    c->out->v = xrealloc(c->out->v, (c->out->n + 1) * sizeof(*c->out->v));
    c->out->v[c->out->n++] = (struct repo_wal_object){segno, info->size, info->mtime};
    return PITR_OK;
}

static int compare_wal_object(const void *a, const void *b)
{
    uint64_t x = ((const struct repo_wal_object *)a)->segno;
    uint64_t y = ((const struct repo_wal_object *)b)->segno;

    return x < y ? -1 : x > y;
}

enum pitr_rc repo_wal_folder_list(const struct repo_session *r, uint32_t tli, uint64_t segno,
                                  uint32_t seg_size, struct repo_wal_folder *out,
                                  struct pitr_err *err)
{
    struct repo_wal_folder f = {NULL, 0};
    struct folder_ctx c = {&f, tli, 0, wal_segs_per_log(seg_size), seg_size};
    char name[25];
    char dir[1024];
    enum pitr_rc rc;

    c.first = segno - segno % c.per_folder;
    wal_segment_name(tli, segno, seg_size, name);
    rc = str_format(dir, sizeof(dir), err, "%s/wal/%.16s", r->cluster, name);
    if (rc == PITR_OK) {
        rc = storage_list(r->storage, dir, STORAGE_LIST_CHILDREN, collect_wal_object, &c, err);
    }
    if (rc == PITR_NOT_FOUND) {
        rc = PITR_OK;
    }
    if (rc != PITR_OK) {
        repo_wal_folder_fini(&f);
        return rc;
    }
    if (f.n > 1) {
        qsort(f.v, f.n, sizeof(*f.v), compare_wal_object);
    }
    *out = f;
    return PITR_OK;
}

const struct repo_wal_object *repo_wal_folder_find(const struct repo_wal_folder *f, uint64_t segno)
{
    struct repo_wal_object key = {segno, 0, 0};

    return f->n == 0 ? NULL : bsearch(&key, f->v, f->n, sizeof(*f->v), compare_wal_object);
}

void repo_wal_folder_fini(struct repo_wal_folder *f)
{
    free(f->v);
    memset(f, 0, sizeof(*f));
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

/* Reads one object into *out under keys k (NULL: none), bound to sysid; fills *sum (may be
 * NULL). */
static enum pitr_rc read_object(struct storage *s, const char *key, const struct key *k,
                                uint64_t sysid, size_t max, struct buf *out,
                                struct object_summary *sum, struct pitr_err *err)
{
    struct buf text;
    struct filter *sink;
    struct filter *reader;
    enum pitr_rc rc;

    buf_init(&text, max);
    sink = buf_sink_new(&text);
    reader = object_reader_new(sink, k, sysid, key);
    rc = storage_read(s, key, reader, err);
    if (rc == PITR_OK && sum != NULL) {
        object_reader_summary(reader, sum);
    }
    filter_free(reader);
    filter_free(sink);
    if (rc != PITR_OK) {
        buf_fini(&text);
        return rc;
    }
    *out = text;
    return PITR_OK;
}

static enum pitr_rc get_object(struct storage *s, const char *key, const struct key *k,
                               uint64_t sysid, size_t max, struct buf *out, struct pitr_err *err)
{
    return read_object(s, key, k, sysid, max, out, NULL, err);
}

/* Stores text as one object, encrypted with k's current key (NULL: none) and bound to sysid. */
static enum pitr_rc put_object(struct storage *s, const char *key, const struct key *k,
                               uint64_t sysid, const char *text, bool create_only,
                               struct pitr_err *err)
{
    struct write_opts wopts = {create_only, 0};
    struct object_opts opts = {
        .compression = OBJECT_COMPRESS_NONE, .key = k, .name = key, .sysid = sysid};
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

/* The system identifier objects at key are bound to: the cluster's, except for its record,
 * which is what tells a reader the identifier (bound to 0). */
static uint64_t binding_sysid(const struct repo_session *r, const char *key)
{
    size_t n = strlen(r->cluster);

    return strncmp(key, r->cluster, n) == 0 && strcmp(key + n, "/cluster.info") == 0
               ? 0
               : r->info.sysid;
}

enum pitr_rc repo_get_text(const struct repo_session *r, const char *key, size_t max,
                           struct buf *out, struct pitr_err *err)
{
    return get_object(r->storage, key, r->key, binding_sysid(r, key), max, out, err);
}

enum pitr_rc repo_put_text(const struct repo_session *r, const char *key, const char *text,
                           bool create_only, struct pitr_err *err)
{
    return put_object(r->storage, key, r->key, binding_sysid(r, key), text, create_only, err);
}

uint64_t repo_binding_sysid(const struct repo_session *r, const char *key)
{
    return binding_sysid(r, key);
}

/* Reads and parses a cluster record under keys k (NULL: none). The record is bound to system
 * identifier 0: it is what tells a reader the identifier. */
static enum pitr_rc cluster_read(struct storage *s, const char *cluster, const struct key *k,
                                 struct cluster_info *out, struct pitr_err *err)
{
    char *key = info_key(cluster);
    struct buf text = {0};
    struct info_ctx ctx;
    enum pitr_rc rc;

    memset(&ctx, 0, sizeof(ctx));
    rc = get_object(s, key, k, 0, CLUSTER_INFO_MAX, &text, err);
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

/* Reads the session's cluster record: authenticated, or with a key, noting a record written
 * before records were authenticated (legacy_info) instead of failing, so that archiving can
 * replace it and `pitr-catalog upgrade` can run. */
static enum pitr_rc session_read_info(struct repo_session *r, struct pitr_err *err)
{
    struct cluster_info legacy;
    struct pitr_err plain_err;
    enum pitr_rc rc = cluster_read(r->storage, r->cluster, r->key, &r->info, err);

    if (rc == PITR_OK) {
        r->has_info = true;
    } else if (rc == PITR_NOT_FOUND) {
        rc = PITR_OK;
    } else if (rc == PITR_CORRUPT && r->key != NULL &&
               cluster_read(r->storage, r->cluster, NULL, &legacy, &plain_err) == PITR_OK) {
        r->legacy_info = true;
        memcpy(r->legacy_key_id, legacy.key_id, sizeof(r->legacy_key_id));
        rc = PITR_OK;
    }
    return rc;
}

enum pitr_rc repo_require_cluster(const struct repo_session *r, struct pitr_err *err)
{
    if (r->legacy_info && r->legacy_key_id[0] == '\0') {
        return err_set(err, PITR_CONFIG,
                       "cluster \"%s\" of the repository is not encrypted, but "
                       "encryption_key_file is set: unset it for this repository, or archive "
                       "encrypted into another repository or cluster name",
                       r->cluster);
    }
    if (r->legacy_info) {
        return err_set(err, PITR_CONFIG,
                       "the record of cluster \"%s\" was written without authentication (by a "
                       "pitr before 2026-12): run \"pitr-catalog upgrade\" once, with the key, "
                       "to authenticate the repository's records",
                       r->cluster);
    }
    if (!r->has_info) {
        return err_set(err, PITR_CONFIG,
                       "the repository has no cluster \"%s\": check the repo and cluster settings",
                       r->cluster);
    }
    return PITR_OK;
}

static enum pitr_rc cluster_write(struct repo_session *r, const struct cluster_info *mine,
                                  bool create_only, struct pitr_err *err)
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
        char *key = info_key(r->cluster);

        /* create-only: a concurrent first archiver's record is never replaced */
        rc = put_object(r->storage, key, r->key, 0, (const char *)text.data, create_only, err);
        free(key);
    }
    buf_fini(&text);
    return rc;
}

/* Whether the ring holds the key whose hex id is hex. */
static bool ring_has_hex(const struct key *ring, const char *hex)
{
    char have[17];

    for (const struct key *k = ring; k != NULL; k = key_ring_next(k)) {
        repo_key_id_hex(k, have);
        if (strcmp(have, hex) == 0) {
            return true;
        }
    }
    return false;
}

/* Compares the recorded identity with this server's; a key of the ring (a rotated-out one the
 * cluster began with) is the same key. */
static enum pitr_rc compare(const char *cluster, const struct key *key_ring,
                            const struct cluster_info *have, const struct cluster_info *mine,
                            struct pitr_err *err)
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
    if (strcmp(have->key_id, mine->key_id) != 0 &&
        !(key_ring != NULL && have->key_id[0] != '\0' && ring_has_hex(key_ring, have->key_id))) {
        return err_set(err, PITR_CONFIG,
                       "repository cluster \"%s\" is %s%s, but the configured key is %s%s: use the "
                       "same encryption_key_file for the whole cluster",
                       cluster, have->key_id[0] ? "encrypted with key id " : "unencrypted",
                       have->key_id, mine->key_id[0] ? "key id " : "none", mine->key_id);
    }
    return PITR_OK;
}

/* A record written before records were authenticated is trusted only as far as this server can
 * check it: when every field matches, it is replaced by the same facts, authenticated. */
static enum pitr_rc upgrade_legacy_info(struct repo_session *r, const struct cluster_info *mine,
                                        struct pitr_err *err)
{
    struct cluster_info have;
    enum pitr_rc rc = cluster_read(r->storage, r->cluster, NULL, &have, err);

    if (rc == PITR_OK) {
        rc = compare(r->cluster, r->key, &have, mine, err);
    }
    if (rc == PITR_OK) {
        rc = cluster_write(r, mine, false, err);
    }
    if (rc == PITR_OK) {
        log_info("cluster \"%s\": its record is now authenticated with the key", r->cluster);
    }
    return rc;
}

enum pitr_rc repo_cluster_bind(struct repo_session *r, const struct cluster_info *mine,
                               struct pitr_err *err)
{
    struct cluster_info have = r->info;
    enum pitr_rc rc = PITR_OK;

    if (r->legacy_info) {
        rc = upgrade_legacy_info(r, mine, err);
        have = *mine;
    } else if (!r->has_info) {
        rc = cluster_write(r, mine, true, err);
        if (rc == PITR_EXISTS) {
            /* another archiver won the race: check against what it recorded */
            rc = cluster_read(r->storage, r->cluster, r->key, &have, err);
        } else if (rc == PITR_OK) {
            have = *mine;
        }
    }
    if (rc == PITR_OK) {
        rc = compare(r->cluster, r->key, &have, mine, err);
    }
    if (rc == PITR_OK) {
        r->info = have;
        r->has_info = true;
        r->legacy_info = false;
    }
    return rc;
}

enum pitr_rc repo_check_object(const struct repo_session *r, const char *key, struct pitr_err *err)
{
    struct buf prefix;
    struct filter *sink;
    enum pitr_rc rc;

    if (r->key == NULL) {
        return storage_stat(r->storage, key, &(struct storage_info){0, 0, false}, err);
    }
    buf_init(&prefix, OBJECT_PREFIX_MAX);
    sink = buf_sink_new(&prefix);
    rc = storage_read_range(r->storage, key, 0, OBJECT_PREFIX_MAX, sink, err);
    if (rc == PITR_OK) {
        rc = object_check_prefix(prefix.data, prefix.len, r->key, r->info.sysid, key, NULL, err);
    }
    filter_free(sink);
    buf_fini(&prefix);
    return rc;
}

/* Reads the object at key for resealing: under the keys, or failing that (an unencrypted record
 * the user now vouches for by running the upgrade) without them. *stale says whether it is not
 * already a format 2 object under the current key. */
static enum pitr_rc read_for_reseal(const struct repo_session *r, const char *key, uint64_t sysid,
                                    size_t max, struct buf *out, bool *stale, struct pitr_err *err)
{
    struct object_summary sum;
    struct pitr_err plain_err;
    uint8_t current[KEY_ID_LEN];
    enum pitr_rc rc = read_object(r->storage, key, r->key, sysid, max, out, &sum, err);

    if (rc == PITR_CORRUPT &&
        read_object(r->storage, key, NULL, 0, max, out, &sum, &plain_err) == PITR_OK) {
        rc = PITR_OK;
    }
    if (rc == PITR_OK) {
        key_id(r->key, current);
        *stale = sum.version < 2 || !sum.encrypted || memcmp(sum.key_id, current, KEY_ID_LEN) != 0;
    }
    return rc;
}

enum pitr_rc repo_reseal_text(const struct repo_session *r, const char *key, size_t max,
                              bool *changed, struct pitr_err *err)
{
    struct buf text = {0};
    bool stale = false;
    enum pitr_rc rc = read_for_reseal(r, key, r->info.sysid, max, &text, &stale, err);

    if (rc == PITR_OK && stale) {
        rc = buf_append(&text, "", 1, err); /* the text ends at its NUL */
        if (rc == PITR_OK) {
            rc = put_object(r->storage, key, r->key, r->info.sysid, (const char *)text.data, false,
                            err);
        }
    }
    if (rc == PITR_OK) {
        *changed = stale;
    }
    buf_fini(&text);
    return rc;
}

enum pitr_rc repo_cluster_reseal(struct repo_session *r, bool *changed, struct pitr_err *err)
{
    char *key = info_key(r->cluster);
    struct buf text = {0};
    struct info_ctx ctx;
    bool stale = false;
    enum pitr_rc rc = read_for_reseal(r, key, 0, CLUSTER_INFO_MAX, &text, &stale, err);

    memset(&ctx, 0, sizeof(ctx));
    if (rc == PITR_OK) {
        rc = config_parse_text(text.len ? (const char *)text.data : "", key, info_entry, &ctx, err);
        if (rc == PITR_OK && ctx.seen != 7) {
            rc = err_set(err, PITR_CORRUPT, "\"%s\" is incomplete", key);
        }
    }
    if (rc == PITR_OK && (ctx.info.key_id[0] == '\0' || !ring_has_hex(r->key, ctx.info.key_id))) {
        rc = err_set(err, PITR_CONFIG,
                     "cluster \"%s\" is %s%s, which is not a configured key: upgrade "
                     "authenticates an encrypted repository with its own key, it cannot encrypt "
                     "one",
                     r->cluster, ctx.info.key_id[0] ? "encrypted with key id " : "not encrypted",
                     ctx.info.key_id);
    }
    if (rc == PITR_OK) {
        char current[17];

        /* the record names the key the cluster is encrypted with: now the current one */
        repo_key_id_hex(r->key, current);
        stale = stale || strcmp(ctx.info.key_id, current) != 0;
        memcpy(ctx.info.key_id, current, sizeof(current));
        if (stale) {
            rc = cluster_write(r, &ctx.info, false, err);
        }
    }
    if (rc == PITR_OK) {
        r->info = ctx.info;
        r->has_info = true;
        r->legacy_info = false;
        *changed = stale;
    }
    buf_fini(&text);
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

/* Adds the keys of encryption_old_key_files (a comma-separated list) to the ring. */
static enum pitr_rc load_old_keys(const struct config *cfg, struct key *ring, struct pitr_err *err)
{
    char *list = xstrdup(cfg->encryption_old_key_files);
    enum pitr_rc rc = PITR_OK;
    char *p = list;

    if (ring == NULL) {
        rc = err_set(err, PITR_CONFIG,
                     "encryption_old_key_files is set without encryption_key_file: old keys only "
                     "read, and the current key is still needed to write");
    }
    while (rc == PITR_OK && p != NULL) {
        char *comma = strchr(p, ',');
        struct key *old;

        if (comma != NULL) {
            *comma = '\0';
        }
        p = str_trim(p);
        if (*p != '\0') {
            old = key_load_file(p, err);
            rc = old == NULL ? err->rc : key_ring_add(ring, old, err);
        }
        p = comma != NULL ? comma + 1 : NULL;
    }
    free(list);
    return rc;
}

enum pitr_rc repo_session_open(const struct config *cfg, const struct pg_ident *ident,
                               struct repo_session *out, struct pitr_err *err)
{
    struct repo_session r;
    enum pitr_rc rc = PITR_OK;

    memset(&r, 0, sizeof(r));
    if (cfg->encryption_key_file != NULL) {
        r.key = key_load_file(cfg->encryption_key_file, err);
        rc = r.key == NULL ? err->rc : PITR_OK;
    }
    if (rc == PITR_OK && cfg->encryption_old_key_files != NULL) {
        rc = load_old_keys(cfg, r.key, err);
    }
    if (rc == PITR_OK) {
        r.storage = repo_open(cfg, err);
        rc = r.storage == NULL ? err->rc : PITR_OK;
    }
    if (rc == PITR_OK) {
        rc = repo_resolve_cluster(cfg, r.storage, ident, &r.cluster, err);
    }
    if (rc == PITR_OK) {
        rc = session_read_info(&r, err);
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

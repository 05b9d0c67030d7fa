/* backup: BASE_BACKUP streamed archive by archive into object writers (one per tablespace tar
 * and one for the manifest), so at most a few buffers of the backup are ever in memory. The
 * record that makes a backup restorable is written last, create-only, after every object was
 * stored and checked and the WAL from start to stop LSN is in the repository. */
#include "backup.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/progress.h"
#include "base/strutil.h"
#include "base/xalloc.h"
#include "object/object.h"
#include "pg/repl.h"
#include "pg/wal.h"
#include "repo/backup.h"
#include "repo/repo.h"

enum { WAL_SWITCH_AFTER_MS = 3000, KEY_MAX = 1024 };

struct job {
    const struct config *cfg;
    const struct backup_options *opts;
    struct repo_session repo;
    struct repl_conn *conn;
    struct repl_system sys;
    struct backup_record rec;
    enum object_compression compression;
    int level;
    bool server_compress;
    bool started; /* backup.start is stored: failures must clean up */
    /* the object being received */
    struct object_writer *writer;
    struct backup_object current;
    char current_key[KEY_MAX];
    struct progress progress; /* bytes received of the server's estimate */
    double t0;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- progress ------------------------------------------------------------------------------ */

static void on_progress(void *arg, uint64_t done)
{
    struct job *j = arg;

    progress_update(&j->progress, done);
}

/* --- the objects --------------------------------------------------------------------------- */

/* "base.tar.lz4" -> "base.tar": the object header records the compression instead. */
static enum pitr_rc object_name(const char *archive, char out[64], struct pitr_err *err)
{
    static const char *const suffixes[] = {".lz4", ".zst", ".gz"};
    size_t n = strlen(archive);

    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        if (str_has_suffix(archive, suffixes[i])) {
            n -= strlen(suffixes[i]);
            break;
        }
    }
    if (n == 0 || n >= 64 || memchr(archive, '/', n) != NULL || archive[0] == '.') {
        return err_set(err, PITR_PROTOCOL, "the server sent an unexpected archive name \"%s\"",
                       archive);
    }
    memcpy(out, archive, n);
    out[n] = '\0';
    return PITR_OK;
}

static enum pitr_rc on_start(void *arg, const struct repl_backup_start *s, struct pitr_err *err)
{
    struct job *j = arg;
    char lsn[18];

    j->rec.start_lsn = s->lsn;
    j->rec.timeline = s->tli;
    for (size_t i = 0; i < s->n_tablespaces; i++) {
        const struct repl_tablespace *t = &s->tablespaces[i];

        if (t->oid != 0) {
            backup_record_add_tablespace(&j->rec, t->oid, t->location);
        }
        if (t->size_kb > 0) {
            j->progress.total += (uint64_t)t->size_kb * 1024;
        }
    }
    wal_lsn_format(s->lsn, lsn);
    log_info("backup started at %s on timeline %u (checkpoint done), %zu tablespace(s)", lsn,
             s->tli, s->n_tablespaces);
    (void)err;
    return PITR_OK;
}

static enum pitr_rc on_begin(void *arg, enum repl_stream_kind kind, const char *name,
                             const char *location, struct pitr_err *err)
{
    struct job *j = arg;
    bool manifest = kind == REPL_STREAM_MANIFEST;
    /* the manifest comes uncompressed whatever the server compresses; archives are big, so
     * they are written on a worker thread while this one receives */
    struct object_opts opts = {.compression = j->compression,
                               .level = j->level,
                               .key = j->repo.key,
                               .parallel = !manifest && !j->server_compress,
                               .precompressed = !manifest && j->server_compress,
                               .background = !manifest,
                               .name = j->current_key,
                               .sysid = j->sys.sysid};
    struct write_opts wopts = {true, 0};
    struct filter *sink = NULL;
    enum pitr_rc rc;

    (void)location;
    memset(&j->current, 0, sizeof(j->current));
    rc = object_name(name, j->current.name, err);
    if (rc == PITR_OK) {
        rc = backup_key(j->repo.cluster, j->rec.id, j->current.name, j->current_key,
                        sizeof(j->current_key), err);
    }
    if (rc == PITR_OK) {
        rc = storage_write_open(j->repo.storage, j->current_key, &wopts, &sink, err);
    }
    if (rc == PITR_OK) {
        j->writer = object_writer_new(sink, &opts, err);
        rc = j->writer == NULL ? err->rc : PITR_OK;
    }
    return rc;
}

static enum pitr_rc on_data(void *arg, const uint8_t *data, size_t len, struct pitr_err *err)
{
    struct job *j = arg;

    return object_writer_write(j->writer, data, len, err);
}

/* Verify what was stored: the repository must hold exactly the bytes the writer produced. */
static enum pitr_rc check_stored(struct job *j, struct pitr_err *err)
{
    struct storage_info info;
    enum pitr_rc rc = storage_stat(j->repo.storage, j->current_key, &info, err);

    if (rc == PITR_OK && info.size != j->current.stored_size) {
        rc = err_set(err, PITR_CORRUPT,
                     "\"%s\" holds %" PRIu64 " bytes after upload, %" PRIu64 " were written",
                     j->current_key, info.size, j->current.stored_size);
    }
    return rc;
}

static enum pitr_rc on_end(void *arg, struct pitr_err *err)
{
    struct job *j = arg;
    struct object_summary sum;
    enum pitr_rc rc = object_writer_finish(j->writer, &sum, err);

    object_writer_free(j->writer);
    j->writer = NULL;
    if (rc != PITR_OK) {
        return err_prefix(err, "could not store \"%s\"", j->current_key);
    }
    memcpy(j->current.sha256, sum.sha256, SHA256_LEN);
    j->current.raw_size = sum.raw_size;
    j->current.stored_size = sum.stored_size;
    rc = check_stored(j, err);
    if (rc == PITR_OK) {
        backup_record_add_object(&j->rec, &j->current);
        j->rec.raw_bytes += sum.raw_size;
        j->rec.stored_bytes += sum.stored_size;
        log_debug("stored \"%s\": %" PRIu64 " -> %" PRIu64 " bytes", j->current_key, sum.raw_size,
                  sum.stored_size);
    }
    return rc;
}

static const struct repl_backup_handler handler = {on_start, on_begin, on_data, on_end,
                                                   on_progress};

/* --- records ------------------------------------------------------------------------------- */

static enum pitr_rc put_record(struct job *j, const char *file, struct pitr_err *err)
{
    char key[KEY_MAX];
    struct buf text;
    enum pitr_rc rc = backup_key(j->repo.cluster, j->rec.id, file, key, sizeof(key), err);

    buf_init(&text, BACKUP_RECORD_MAX);
    if (rc == PITR_OK) {
        rc = backup_record_format(&j->rec, &text, err);
    }
    if (rc == PITR_OK) {
        /* create-only: a record is never replaced, and two backups never share an id */
        rc = repo_put_text(&j->repo, key, (const char *)text.data, true, err);
    }
    buf_fini(&text);
    return rc;
}

/* Claims a fresh id (the start time, "-N" appended within one second) by storing backup.start. */
static enum pitr_rc claim_id(struct job *j, struct pitr_err *err)
{
    time_t now = time(NULL);
    struct tm tm;
    char base[20];
    enum pitr_rc rc = PITR_EXISTS;

    gmtime_r(&now, &tm);
    strftime(base, sizeof(base), "%Y%m%dT%H%M%SZ", &tm);
    j->rec.start_time = (int64_t)now;
    for (int n = 1; n < 10 && rc == PITR_EXISTS; n++) {
        if (n == 1) {
            snprintf(j->rec.id, sizeof(j->rec.id), "%s", base);
        } else {
            snprintf(j->rec.id, sizeof(j->rec.id), "%s-%d", base, n);
        }
        rc = put_record(j, "backup.start", err);
    }
    if (rc == PITR_OK) {
        j->started = true;
    }
    return rc;
}

/* --- waiting for WAL ----------------------------------------------------------------------- */

static enum pitr_rc segment_archived(struct job *j, uint64_t segno, bool *out, struct pitr_err *err)
{
    char name[25];
    char key[KEY_MAX];
    struct wal_file f;
    struct storage_info info;
    enum pitr_rc rc;

    wal_segment_name(j->rec.timeline, segno, j->rec.wal_seg_size, name);
    rc = wal_parse_name(name, &f, err);
    if (rc == PITR_OK) {
        rc = repo_wal_key(j->repo.cluster, name, &f, key, sizeof(key), err);
    }
    if (rc == PITR_OK) {
        rc = storage_stat(j->repo.storage, key, &info, err);
    }
    if (rc == PITR_NOT_FOUND) {
        *out = false;
        return PITR_OK;
    }
    *out = rc == PITR_OK;
    return rc;
}

/* The server switched segments at backup stop, but on an idle or slow archiver the last one may
 * still be missing: ask once for a switch on an ordinary connection (which may lack the right;
 * then just keep waiting). */
static void request_switch(struct job *j)
{
    struct pitr_err err;
    struct repl_conn *sql = repl_connect(j->cfg->pg_conninfo, false, &err);

    if (sql != NULL && repl_exec(sql, "SELECT pg_switch_wal()", &err) == PITR_OK) {
        log_info("requested a WAL segment switch so the backup's last segment is archived");
    } else {
        log_warn("could not request a WAL segment switch (%s); still waiting", err.msg);
    }
    repl_close(sql);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static enum pitr_rc wait_for_wal(struct job *j, struct pitr_err *err)
{
    uint64_t first = wal_segno_of_lsn(j->rec.start_lsn, j->rec.wal_seg_size);
    /* the segment holding the last byte before the stop LSN, as PostgreSQL counts it */
    uint64_t last = wal_segno_of_lsn(j->rec.stop_lsn - 1, j->rec.wal_seg_size);
    uint64_t next = first;
    double start = now_s();
    bool switched = false;
    unsigned delay = 50;
    char first_name[25];
    char last_name[25];

    wal_segment_name(j->rec.timeline, first, j->rec.wal_seg_size, first_name);
    wal_segment_name(j->rec.timeline, last, j->rec.wal_seg_size, last_name);
    log_info("waiting for WAL %s to %s in the repository", first_name, last_name);
    while (next <= last) {
        bool have = false;
        enum pitr_rc rc = segment_archived(j, next, &have, err);

        if (rc != PITR_OK) {
            return rc;
        }
        if (have) {
            next++;
            continue;
        }
        if (now_s() - start > (double)j->cfg->backup_wal_timeout) {
            char missing[25];

            wal_segment_name(j->rec.timeline, next, j->rec.wal_seg_size, missing);
            return err_set(err, PITR_NETWORK,
                           "WAL segment %s (needed from %s to %s) did not reach the repository "
                           "within backup_wal_timeout = %" PRIu64
                           " s: check that archive_command is pitr-archive with this repository "
                           "and that archiving succeeds (pg_stat_archiver)",
                           missing, first_name, last_name, j->cfg->backup_wal_timeout);
        }
        if (!switched && (now_s() - start) * 1000 > WAL_SWITCH_AFTER_MS) {
            request_switch(j);
            switched = true;
        }
        sleep_ms(delay);
        delay = delay < 1000 ? delay * 2 : 1000;
    }
    return PITR_OK;
}

/* --- the run ------------------------------------------------------------------------------- */

static enum pitr_rc connect_server(struct job *j, struct pitr_err *err)
{
    char value[64];
    uint64_t seg_size = 0;
    int version;
    enum pitr_rc rc;

    j->conn = repl_connect(j->cfg->pg_conninfo, true, err);
    if (j->conn == NULL) {
        return err->rc;
    }
    rc = repl_identify_system(j->conn, &j->sys, err);
    if (rc == PITR_OK) {
        rc = repl_show(j->conn, "wal_segment_size", value, sizeof(value), err);
    }
    if (rc == PITR_OK) {
        rc = str_parse_size(value, "wal_segment_size", &seg_size, err);
    }
    if (rc == PITR_OK && !wal_seg_size_valid(seg_size)) {
        rc =
            err_set(err, PITR_PROTOCOL, "the server reports an invalid wal_segment_size %s", value);
    }
    if (rc != PITR_OK) {
        return rc;
    }
    version = repl_server_version(j->conn);
    j->rec.sysid = j->sys.sysid;
    j->rec.pg_version_num = (unsigned)version;
    j->rec.wal_seg_size = (uint32_t)seg_size;
    return PITR_OK;
}

static enum pitr_rc choose_compression(struct job *j, struct pitr_err *err)
{
    const char *on = j->cfg->backup_compress_on;
    enum pitr_rc rc =
        object_compression_parse(j->cfg->compression, &j->compression, &j->level, err);

    if (rc != PITR_OK) {
        return rc;
    }
    j->server_compress = j->compression != OBJECT_COMPRESS_NONE && strcmp(on, "client") != 0 &&
                         (strcmp(on, "server") == 0 || j->rec.pg_version_num >= 150000);
    snprintf(j->rec.compression, sizeof(j->rec.compression), "%s", j->cfg->compression);
    snprintf(j->rec.compressed_by, sizeof(j->rec.compressed_by), "%s",
             j->server_compress ? "server" : "client");
    return PITR_OK;
}

static enum pitr_rc bind_repository(struct job *j, struct pitr_err *err)
{
    struct pg_ident ident = {j->sys.sysid, j->rec.pg_version_num / 10000};
    struct cluster_info mine;
    enum pitr_rc rc;

    rc = repo_session_open(j->cfg, &ident, &j->repo, err);
    if (rc == PITR_OK) {
        mine.sysid = ident.sysid;
        mine.pg_version = ident.major_version;
        repo_key_id_hex(j->repo.key, mine.key_id);
        memcpy(j->rec.key_id, mine.key_id, sizeof(mine.key_id));
        /* refuses a cluster whose system identifier differs from the one recorded */
        rc = repo_cluster_bind(&j->repo, &mine, err);
    }
    return rc;
}

static void fill_identity(struct job *j)
{
    snprintf(j->rec.type, sizeof(j->rec.type), "%s", j->opts->type);
    j->rec.label =
        j->opts->label ? xstrdup(j->opts->label) : xasprintf("pitr %s backup", j->opts->type);
    snprintf(j->rec.status, sizeof(j->rec.status), "running");
    if (gethostname(j->rec.host, sizeof(j->rec.host) - 1) != 0) {
        snprintf(j->rec.host, sizeof(j->rec.host), "unknown");
    }
    j->rec.pid = (int64_t)getpid();
}

static enum pitr_rc stream_backup(struct job *j, struct pitr_err *err)
{
    struct repl_backup_opts ropts;
    struct repl_backup_end end;
    enum pitr_rc rc;

    memset(&ropts, 0, sizeof(ropts));
    ropts.label = j->rec.label;
    ropts.fast_checkpoint = j->opts->fast_checkpoint;
    ropts.compression = !j->server_compress                     ? REPL_COMPRESS_NONE
                        : j->compression == OBJECT_COMPRESS_LZ4 ? REPL_COMPRESS_LZ4
                                                                : REPL_COMPRESS_ZSTD;
    ropts.compression_level = j->level;
    ropts.max_rate_kb = j->opts->max_rate_kb;
    log_info("backup %s: %s checkpoint, %s compression on the %s%s", j->rec.id,
             j->opts->fast_checkpoint ? "fast" : "spread", j->rec.compression, j->rec.compressed_by,
             j->repo.key ? ", encrypted" : "");
    rc = repl_base_backup(j->conn, &ropts, &handler, j, &end, err);
    if (rc != PITR_OK) {
        return rc;
    }
    progress_end(&j->progress);
    if (end.tli != j->rec.timeline) {
        return err_set(err, PITR_PROTOCOL,
                       "the timeline changed from %u to %u during the backup (a promotion?): "
                       "take the backup again",
                       j->rec.timeline, end.tli);
    }
    j->rec.stop_lsn = end.lsn;
    /* when the backup became consistent (as near as the client can tell), not when its WAL
     * arrived: a restore may target any time after this, so the second is rounded up */
    {
        struct timespec now;

        clock_gettime(CLOCK_REALTIME, &now);
        j->rec.stop_time = (int64_t)now.tv_sec + (now.tv_nsec > 0);
    }
    return PITR_OK;
}

/* Best effort: an unfinished backup's objects go; if the repository refuses, the missing record
 * still keeps the backup from ever being used, and --cleanup removes it later. */
static void remove_partial(struct job *j)
{
    char key[KEY_MAX];
    struct pitr_err err;
    const char *files[] = {"backup.start", "backup_manifest", "base.tar"};
    bool ok = true;

    for (size_t i = 0; i < j->rec.n_objects; i++) {
        if (backup_key(j->repo.cluster, j->rec.id, j->rec.objects[i].name, key, sizeof(key),
                       &err) == PITR_OK &&
            storage_remove(j->repo.storage, key, &err) != PITR_OK) {
            ok = false;
        }
    }
    for (size_t i = 0; i < j->rec.n_tablespaces; i++) {
        char name[32];

        snprintf(name, sizeof(name), "%u.tar", j->rec.tablespaces[i].oid);
        if (backup_key(j->repo.cluster, j->rec.id, name, key, sizeof(key), &err) == PITR_OK &&
            storage_remove(j->repo.storage, key, &err) != PITR_OK) {
            ok = false;
        }
    }
    /* backup.start last: while it exists, --cleanup can still find the rest */
    for (size_t i = sizeof(files) / sizeof(files[0]); ok && i-- > 0;) {
        if (backup_key(j->repo.cluster, j->rec.id, files[i], key, sizeof(key), &err) == PITR_OK &&
            storage_remove(j->repo.storage, key, &err) != PITR_OK) {
            ok = false;
        }
    }
    if (ok) {
        log_info("removed the incomplete backup %s", j->rec.id);
    } else {
        log_warn("backup %s is left incomplete in the repository (%s): it is never used for a "
                 "restore, and pitr-basebackup --cleanup removes it",
                 j->rec.id, err.msg);
    }
}

static void summarize(const struct job *j, char *out, size_t size)
{
    char raw[16];
    char stored[16];
    double secs = (double)j->rec.duration_ms / 1000.0;

    str_human_bytes(j->rec.raw_bytes, raw);
    str_human_bytes(j->rec.stored_bytes, stored);
    snprintf(out, size, "backup %s complete: %s in %.1f s (%.1f MB/s), stored %s (%s on %s%s)",
             j->rec.id, raw, secs, secs > 0 ? (double)j->rec.raw_bytes / 1e6 / secs : 0.0, stored,
             j->rec.compression, j->rec.compressed_by, j->repo.key ? ", encrypted" : "");
}

static void job_fini(struct job *j)
{
    object_writer_free(j->writer);
    repl_close(j->conn);
    repo_session_close(&j->repo);
    backup_record_fini(&j->rec);
}

enum pitr_rc backup_run(const struct config *cfg, const struct backup_options *opts,
                        struct backup_report *report, struct pitr_err *err)
{
    struct job j;
    struct backup_report unused;
    enum pitr_rc rc;

    report = report != NULL ? report : &unused;
    memset(report, 0, sizeof(*report));
    memset(&j, 0, sizeof(j));
    j.cfg = cfg;
    j.opts = opts;
    j.t0 = now_s();
    progress_init(&j.progress, opts->progress, 0);
    fill_identity(&j);
    rc = connect_server(&j, err);
    if (rc == PITR_OK) {
        rc = choose_compression(&j, err);
    }
    if (rc == PITR_OK) {
        rc = bind_repository(&j, err);
    }
    if (j.repo.cluster != NULL) {
        snprintf(report->cluster, sizeof(report->cluster), "%s", j.repo.cluster);
    }
    if (rc == PITR_OK) {
        rc = claim_id(&j, err);
    }
    if (rc == PITR_OK) {
        rc = stream_backup(&j, err);
    }
    if (rc == PITR_OK) {
        rc = wait_for_wal(&j, err);
    }
    if (rc == PITR_OK) {
        j.rec.duration_ms = (uint64_t)((now_s() - j.t0) * 1000.0);
        snprintf(j.rec.status, sizeof(j.rec.status), "complete");
        /* the commit point: only now does the backup exist for restore and the catalog */
        rc = put_record(&j, "backup.info", err);
    }
    if (rc == PITR_OK) {
        summarize(&j, report->summary, sizeof(report->summary));
    }
    if (rc == PITR_OK && !opts->quiet) {
        printf("%s\n", report->summary);
    }
    if (rc != PITR_OK && j.started) {
        object_writer_free(j.writer); /* an unfinished object leaves nothing behind */
        j.writer = NULL;
        remove_partial(&j);
    }
    job_fini(&j);
    return rc;
}

/* --- cleanup ------------------------------------------------------------------------------- */

struct cleanup_ctx {
    struct repo_session repo;
    unsigned max_age_s;
    bool quiet;
    char host[256];
    unsigned removed;
};

static bool owner_gone(const struct cleanup_ctx *c, const struct backup_record *r)
{
    if (strcmp(r->host, c->host) == 0 && r->pid > 0) {
        return kill((pid_t)r->pid, 0) != 0 && errno == ESRCH;
    }
    return (int64_t)time(NULL) - r->start_time > (int64_t)c->max_age_s;
}

static enum pitr_rc remove_one(void *arg, const char *key, const struct storage_info *info,
                               struct pitr_err *err)
{
    struct cleanup_ctx *c = arg;

    (void)info;
    if (str_has_suffix(key, "/backup.start")) {
        return PITR_OK; /* last, so an interrupted cleanup can be re-run */
    }
    return storage_remove(c->repo.storage, key, err);
}

static enum pitr_rc cleanup_backup(struct cleanup_ctx *c, const char *dir, struct pitr_err *err)
{
    char key[KEY_MAX];
    struct buf text = {0};
    struct backup_record r;
    enum pitr_rc rc = str_format(key, sizeof(key), err, "%s/backup.info", dir);

    if (rc == PITR_OK) {
        struct storage_info info;

        rc = storage_stat(c->repo.storage, key, &info, err);
        if (rc == PITR_OK) {
            return PITR_OK; /* complete */
        }
    }
    if (rc != PITR_NOT_FOUND) {
        return rc;
    }
    rc = str_format(key, sizeof(key), err, "%s/backup.start", dir);
    if (rc == PITR_OK) {
        rc = repo_get_text(&c->repo, key, BACKUP_RECORD_MAX, &text, err);
    }
    if (rc == PITR_OK) {
        rc = backup_record_parse((const char *)text.data, key, &r, err);
        buf_fini(&text);
    }
    if (rc != PITR_OK) {
        return rc;
    }
    if (!owner_gone(c, &r)) {
        log_info("backup %s is incomplete but may still be running (%s pid %" PRId64 "): kept",
                 r.id, r.host, r.pid);
    } else {
        rc = storage_list(c->repo.storage, dir, STORAGE_LIST_RECURSIVE, remove_one, c, err);
        if (rc == PITR_OK) {
            rc = storage_remove(c->repo.storage, key, err);
        }
        if (rc == PITR_OK) {
            /* an empty directory left behind would make the next --cleanup fail to find its
             * backup.start */
            rc = storage_remove_dir(c->repo.storage, dir, err);
        }
        if (rc == PITR_OK) {
            c->removed++;
            if (!c->quiet) {
                printf("removed incomplete backup %s (started by %s pid %" PRId64 ")\n", r.id,
                       r.host, r.pid);
            }
        }
    }
    backup_record_fini(&r);
    return rc;
}

struct dir_list {
    char **dirs;
    size_t n;
};

static enum pitr_rc collect_dir(void *arg, const char *key, const struct storage_info *info,
                                struct pitr_err *err)
{
    struct dir_list *l = arg;

    (void)err;
    if (info->is_dir) {
        l->dirs = xrealloc(l->dirs, (l->n + 1) * sizeof(*l->dirs));
        l->dirs[l->n++] = xstrdup(key);
    }
    return PITR_OK;
}

enum pitr_rc backup_cleanup(const struct config *cfg, unsigned max_age_s, bool quiet,
                            struct pitr_err *err)
{
    struct cleanup_ctx c;
    struct dir_list l = {NULL, 0};
    char dir[KEY_MAX];
    enum pitr_rc rc;

    memset(&c, 0, sizeof(c));
    c.max_age_s = max_age_s;
    c.quiet = quiet;
    if (gethostname(c.host, sizeof(c.host) - 1) != 0) {
        c.host[0] = '\0';
    }
    rc = repo_session_open(cfg, NULL, &c.repo, err);
    if (rc != PITR_OK) {
        return rc;
    }
    rc = str_format(dir, sizeof(dir), err, "%s/backup", c.repo.cluster);
    if (rc == PITR_OK) {
        rc = storage_list(c.repo.storage, dir, STORAGE_LIST_CHILDREN, collect_dir, &l, err);
    }
    for (size_t i = 0; rc == PITR_OK && i < l.n; i++) {
        rc = cleanup_backup(&c, l.dirs[i], err);
    }
    if (rc == PITR_OK && !quiet && c.removed == 0) {
        printf("no incomplete backups to remove\n");
    }
    for (size_t i = 0; i < l.n; i++) {
        free(l.dirs[i]);
    }
    free(l.dirs);
    repo_session_close(&c.repo);
    return rc;
}

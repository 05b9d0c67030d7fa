/* verify: reads every object a restore of a backup would read, through the same checks (object
 * format, backup record, manifest, WAL page headers), without writing anything. A damaged or
 * missing object is reported and the run goes on, so one run names every problem; what says
 * nothing about the backup (network, key) stops it. */
#include "catalog.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strutil.h"
#include "base/xalloc.h"
#include "crypto/key.h"
#include "object/object.h"
#include "pg/manifest.h"
#include "pg/wal.h"
#include "pg/walscan.h"
#include "repo/backup.h"
#include "repo/repo.h"
#include "restore/extract.h"

enum {
    VERIFY_KEY_MAX = 1024,
    VERIFY_MANIFEST_MAX = 512 * 1024 * 1024, /* as pitr-restore */
    VERIFY_CHUNK = 1024 * 1024,
    VERIFY_DEPTH = 4,
};

/* One WAL segment to check, for the first backup that needs it. */
struct wal_need {
    uint32_t tli;
    uint64_t segno;
    uint32_t seg_size;
    bool read; /* read it through the checks, not only look for it */
    uint64_t sysid;
    char backup_id[BACKUP_ID_LEN];
};

struct verifier {
    const struct repo_session *repo;
    catalog_report_fn *report;
    void *arg;
    struct catalog_verify stats;
    struct wal_need *wal;
    size_t n_wal;
};

static void problem(struct verifier *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct verifier *v, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    v->report(v->arg, line);
    v->stats.problems++;
}

/* Counts an object read whole under the key it names (or as unencrypted, or as written before
 * objects were bound to their names), so the user learns when an old key can be retired. */
static void count_key(struct verifier *v, const struct filter *reader)
{
    struct object_summary sum;
    char hex[17] = "";
    struct catalog_verify *st = &v->stats;
    size_t i = 0;

    object_reader_summary(reader, &sum);
    st->unbound += sum.version < 2;
    if (sum.encrypted) {
        str_hex_encode(sum.key_id, KEY_ID_LEN, hex);
    }
    while (i < st->n_keys && strcmp(st->keys[i].key_id, hex) != 0) {
        i++;
    }
    if (i == st->n_keys && i < CATALOG_VERIFY_KEYS_MAX) {
        snprintf(st->keys[i].key_id, sizeof(st->keys[i].key_id), "%s", hex);
        st->n_keys++;
    }
    if (i < st->n_keys) {
        st->keys[i].objects++;
    }
}

/* Damage and absence are findings about the repository: reported, and verify goes on. Anything
 * else (network, I/O, the key) is returned and stops it. */
static enum pitr_rc finding(struct verifier *v, enum pitr_rc rc, const struct pitr_err *found,
                            struct pitr_err *err)
{
    if (rc == PITR_CORRUPT || rc == PITR_NOT_FOUND) {
        problem(v, "%s", found->msg);
        return PITR_OK;
    }
    return rc == PITR_OK ? PITR_OK : err_copy(err, found);
}

/* Streams one backup object through the object reader into sink and compares it with what the
 * backup record says. Errors go to *found (damage, absence) for finding() to sort. */
static enum pitr_rc read_object(struct verifier *v, const struct backup_record *b,
                                const struct backup_object *o, struct filter *sink,
                                struct pitr_err *found)
{
    char key[VERIFY_KEY_MAX];
    struct filter *reader = NULL;
    struct filter *counter = NULL;
    struct object_summary sum;
    uint64_t stored = 0;
    enum pitr_rc rc = backup_key(v->repo->cluster, b->id, o->name, key, sizeof(key), found);

    if (rc == PITR_OK) {
        reader = object_reader_new(sink, v->repo->key, v->repo->info.sysid, key);
        counter = filter_chain(size_filter_new(), reader);
        rc = storage_read(v->repo->storage, key, counter, found);
        stored = size_filter_bytes(counter);
        v->stats.objects++;
        v->stats.bytes += stored;
    }
    if (rc == PITR_NOT_FOUND) {
        rc = err_set(found, PITR_NOT_FOUND, "%s is missing from the repository", key);
    }
    if (rc == PITR_OK) {
        count_key(v, reader);
        object_reader_summary(reader, &sum);
        if (sum.raw_size != o->raw_size || memcmp(sum.sha256, o->sha256, SHA256_LEN) != 0) {
            rc = err_set(found, PITR_CORRUPT,
                         "%s is not the object backup.info records (size or SHA-256 differs)", key);
        } else if (stored != o->stored_size) {
            rc = err_set(found, PITR_CORRUPT,
                         "%s has %" PRIu64 " stored bytes, backup.info records %" PRIu64, key,
                         stored, o->stored_size);
        }
    }
    filter_free(counter);
    filter_free(reader);
    return rc;
}

/* Reads and parses the backup's manifest; *m stays NULL when it is missing or damaged (reported).
 */
static enum pitr_rc load_manifest(struct verifier *v, const struct backup_record *b,
                                  struct manifest **m, struct pitr_err *err)
{
    const struct backup_object *o = NULL;
    struct buf text;
    struct filter *sink;
    struct pitr_err found;
    enum pitr_rc rc;

    for (size_t i = 0; i < b->n_objects; i++) {
        if (strcmp(b->objects[i].name, "backup_manifest") == 0) {
            o = &b->objects[i];
        }
    }
    if (o == NULL) {
        problem(v, "backup %s records no backup_manifest: its files cannot be checked", b->id);
        return PITR_OK;
    }
    buf_init(&text, VERIFY_MANIFEST_MAX);
    sink = buf_sink_new(&text);
    rc = read_object(v, b, o, sink, &found);
    filter_free(sink);
    if (rc == PITR_OK) {
        rc = manifest_parse((const char *)text.data, text.len, m, &found);
        if (rc != PITR_OK) {
            err_prefix(&found, "backup %s: backup_manifest", b->id);
        }
    }
    buf_fini(&text);
    return finding(v, rc, &found, err);
}

/* The manifest path prefix of a tar object: "" for base.tar, "pg_tblspc/<oid>/" for <oid>.tar;
 * false for anything else. */
static bool archive_prefix(const char *name, char out[64])
{
    size_t len = strlen(name);
    char digits[64];
    uint64_t oid = 0;
    struct pitr_err ignored;

    if (strcmp(name, "base.tar") == 0) {
        out[0] = '\0';
        return true;
    }
    if (len <= 4 || len >= sizeof(digits) || strcmp(name + len - 4, ".tar") != 0) {
        return false;
    }
    snprintf(digits, sizeof(digits), "%.*s", (int)(len - 4), name);
    if (str_parse_u64(digits, "oid", &oid, &ignored) != PITR_OK || oid > UINT32_MAX) {
        return false;
    }
    snprintf(out, 64, "pg_tblspc/%" PRIu64 "/", oid);
    return true;
}

/* Reads one tar object and checks its files against the manifest (m may be NULL). *complete
 * becomes false when the archive could not be read to its end. */
static enum pitr_rc check_archive(struct verifier *v, const struct backup_record *b,
                                  const struct backup_object *o, const char *prefix,
                                  struct manifest *m, bool *complete, struct pitr_err *err)
{
    char key[VERIFY_KEY_MAX];
    struct extract *x;
    struct filter *handoff;
    struct pitr_err found;
    enum pitr_rc rc = backup_key(v->repo->cluster, b->id, o->name, key, sizeof(key), err);

    if (rc != PITR_OK) {
        return rc;
    }
    x = extract_check_new(key, prefix, m, v->report, v->arg);
    /* decryption, decompression and the object's checksum here; tar parsing and the per-file
     * checksums on a worker, as pitr-restore does: each side is about half the work */
    handoff = filter_chain(async_filter_new(VERIFY_CHUNK, VERIFY_DEPTH), extract_sink(x));
    rc = read_object(v, b, o, handoff, &found);
    filter_free(handoff); /* joins the worker: its reports are all made */
    v->stats.problems += extract_problems(x);
    extract_free(x);
    if (rc != PITR_OK) {
        *complete = false;
    }
    return finding(v, rc, &found, err);
}

static enum pitr_rc check_objects(struct verifier *v, const struct backup_record *b,
                                  struct pitr_err *err)
{
    struct manifest *m = NULL;
    bool complete = true;
    enum pitr_rc rc = load_manifest(v, b, &m, err);

    for (size_t i = 0; rc == PITR_OK && i < b->n_objects; i++) {
        const struct backup_object *o = &b->objects[i];
        char prefix[64];

        if (strcmp(o->name, "backup_manifest") == 0) {
            continue;
        }
        if (archive_prefix(o->name, prefix)) {
            rc = check_archive(v, b, o, prefix, m, &complete, err);
        } else {
            struct filter *sink = discard_sink_new();
            struct pitr_err found;
            enum pitr_rc got = read_object(v, b, o, sink, &found);

            filter_free(sink);
            rc = finding(v, got, &found, err);
        }
    }
    /* an archive that could not be read to its end was reported: its files are not named again */
    for (size_t i = 0; rc == PITR_OK && m != NULL && complete && i < manifest_count(m); i++) {
        const struct manifest_file *f = manifest_file_at(m, i);

        if (!f->seen) {
            problem(v, "backup %s: \"%s\" is in the backup manifest but in none of its archives",
                    b->id, f->path);
        }
    }
    manifest_free(m);
    return rc;
}

/* --- WAL ----------------------------------------------------------------------------------------
 */

static void need_range(struct verifier *v, const struct backup_record *b, uint32_t tli,
                       uint64_t first, uint64_t last, bool read)
{
    for (uint64_t segno = first; segno <= last; segno++) {
        struct wal_need *n;

        v->wal = xrealloc(v->wal, (v->n_wal + 1) * sizeof(*v->wal));
        n = &v->wal[v->n_wal++];
        n->tli = tli;
        n->segno = segno;
        n->seg_size = b->wal_seg_size;
        n->read = read;
        n->sysid = b->sysid;
        snprintf(n->backup_id, sizeof(n->backup_id), "%s", b->id);
    }
}

/* The WAL backup b needs: its own start..stop, read; then to the end of the window it continues
 * (and the windows of timelines that branch off it after b's stop), read when read_window. */
static void collect_wal(struct verifier *v, const struct backup_record *b,
                        const struct catalog_windows *w, bool catalog_ok, bool read_window)
{
    uint64_t start = wal_segno_of_lsn(b->start_lsn, b->wal_seg_size);
    uint64_t stop = wal_segno_of_lsn(b->stop_lsn - 1, b->wal_seg_size);
    const struct catalog_window *mine = NULL;

    need_range(v, b, b->timeline, start, stop, true);
    for (size_t i = 0; i < w->n; i++) {
        if (w->v[i].tli == b->timeline && w->v[i].first_segno <= stop &&
            stop <= w->v[i].last_segno) {
            mine = &w->v[i];
        }
    }
    if (mine == NULL) {
        char name[25];

        wal_segment_name(b->timeline, start, b->wal_seg_size, name);
        if (catalog_ok) {
            problem(v,
                    "backup %s has no recoverable window: the catalog lacks segments of its WAL "
                    "from %s on (run pitr-catalog check)",
                    b->id, name);
        }
        return;
    }
    if (mine->last_segno > stop) {
        need_range(v, b, b->timeline, stop + 1, mine->last_segno, read_window);
    }
    for (size_t i = 0; i < w->n; i++) {
        const struct catalog_window *x = &w->v[i];

        if (x->tli != b->timeline && strcmp(x->backup_id, mine->backup_id) == 0 &&
            x->first_segno >= stop) {
            need_range(v, b, x->tli, x->first_segno, x->last_segno, read_window);
        }
    }
}

static int compare_need(const void *a, const void *b)
{
    const struct wal_need *x = a;
    const struct wal_need *y = b;

    if (x->tli != y->tli) {
        return x->tli < y->tli ? -1 : 1;
    }
    if (x->segno != y->segno) {
        return x->segno < y->segno ? -1 : 1;
    }
    return (int)y->read - (int)x->read; /* the one to read first: it is the one kept */
}

/* Reads one segment through the object checks and walscan (its page headers and records). */
static enum pitr_rc read_segment(struct verifier *v, const struct wal_need *n, const char *key,
                                 const char *name, struct pitr_err *found)
{
    struct filter *scan = walscan_filter_new(name, found);
    struct pipeline *pl;
    struct filter *reader;
    struct filter *counter;
    enum pitr_rc rc;

    if (scan == NULL) {
        return found->rc;
    }
    pl = pipeline_new(discard_sink_new());
    pipeline_add(pl, scan);
    reader = object_reader_new(pipeline_head(pl), v->repo->key, v->repo->info.sysid, key);
    counter = filter_chain(size_filter_new(), reader);
    rc = storage_read(v->repo->storage, key, counter, found);
    if (rc == PITR_OK) {
        count_key(v, reader);
    }
    v->stats.objects++;
    v->stats.segments_read++;
    v->stats.bytes += size_filter_bytes(counter);
    if (rc == PITR_OK && walscan_filter_result(scan)->sysid != n->sysid) {
        rc = err_set(found, PITR_CORRUPT,
                     "WAL segment %s belongs to another cluster (system identifier %" PRIu64 ")",
                     key, walscan_filter_result(scan)->sysid);
    }
    filter_free(counter);
    filter_free(reader);
    pipeline_free(pl);
    return rc;
}

static enum pitr_rc check_segment(struct verifier *v, const struct wal_need *n,
                                  struct pitr_err *err)
{
    char name[25];
    char key[VERIFY_KEY_MAX];
    struct wal_file f;
    struct storage_info info;
    struct pitr_err found;
    enum pitr_rc rc;

    wal_segment_name(n->tli, n->segno, n->seg_size, name);
    rc = wal_parse_name(name, &f, err);
    if (rc == PITR_OK) {
        rc = repo_wal_key(v->repo->cluster, name, &f, key, sizeof(key), err);
    }
    if (rc != PITR_OK) {
        return rc;
    }
    rc = n->read ? read_segment(v, n, key, name, &found)
                 : storage_stat(v->repo->storage, key, &info, &found);
    if (rc == PITR_NOT_FOUND) {
        rc = err_set(&found, PITR_NOT_FOUND,
                     "WAL segment %s is missing from the repository (%s): backup %s cannot be "
                     "recovered past it",
                     name, key, n->backup_id);
    } else if (rc == PITR_OK) {
        v->stats.segments++;
    }
    return finding(v, rc, &found, err);
}

static enum pitr_rc check_wal(struct verifier *v, struct pitr_err *err)
{
    enum pitr_rc rc = PITR_OK;

    if (v->n_wal > 1) {
        qsort(v->wal, v->n_wal, sizeof(*v->wal), compare_need);
    }
    for (size_t i = 0; rc == PITR_OK && i < v->n_wal; i++) {
        if (i > 0 && v->wal[i].tli == v->wal[i - 1].tli && v->wal[i].segno == v->wal[i - 1].segno) {
            continue; /* needed by an older backup too: checked once */
        }
        rc = check_segment(v, &v->wal[i], err);
    }
    return rc;
}

enum pitr_rc catalog_verify_run(const struct repo_session *repo,
                                const struct backup_record *backups, size_t n_backups,
                                const char *id, bool read_window_wal, catalog_report_fn *report,
                                void *arg, struct catalog_verify *out, struct pitr_err *err)
{
    struct verifier v;
    struct catalog_windows w = {NULL, 0, NULL, 0, 0, NULL, 0, false};
    struct pitr_err found;
    enum pitr_rc rc = PITR_OK;
    bool any = false;
    bool catalog_ok = true;

    for (size_t i = 0; id != NULL && i < n_backups; i++) {
        any = any || strcmp(backups[i].id, id) == 0;
    }
    if (id != NULL && !any) {
        return err_set(err, PITR_NOT_FOUND, "backup %s does not exist or is not complete", id);
    }
    memset(&v, 0, sizeof(v));
    v.repo = repo;
    v.report = report;
    v.arg = arg;
    /* the catalog's windows: verify checks each segment in them itself, and reports each missing
     * one */
    rc = catalog_windows_compute(repo, backups, n_backups, false, &w, &found);
    if (rc == PITR_CORRUPT) {
        /* a damaged catalog: reported; each backup's own WAL is still checked */
        problem(&v, "%s", found.msg);
        catalog_ok = false;
        rc = PITR_OK;
    } else if (rc != PITR_OK) {
        err_copy(err, &found);
    }
    for (size_t i = 0; rc == PITR_OK && i < n_backups; i++) {
        if (id != NULL && strcmp(backups[i].id, id) != 0) {
            continue;
        }
        v.stats.backups++;
        rc = check_objects(&v, &backups[i], err);
        if (rc == PITR_OK) {
            collect_wal(&v, &backups[i], &w, catalog_ok, read_window_wal);
        }
    }
    if (rc == PITR_OK) {
        rc = check_wal(&v, err);
    }
    catalog_windows_fini(&w);
    free(v.wal);
    if (rc == PITR_OK) {
        *out = v.stats;
    }
    return rc;
}

/* rebuild and check: the WAL objects are the truth and the catalog an index of them, so both
 * start from a listing of the objects. Rebuild reads every segment through the same checks as
 * pitr-fetch (the object format and walscan), so it also proves the archive readable. */
#include "catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strutil.h"
#include "base/xalloc.h"
#include "object/object.h"
#include "pg/wal.h"
#include "pg/walscan.h"
#include "repo/repo.h"

enum { CAT_KEY_MAX = 1024 };

struct item {
    char name[32];
    int64_t mtime;
};

struct items {
    struct item *v;
    size_t n;
};

struct dirs {
    char **v;
    size_t n;
};

static enum pitr_rc collect_dir(void *arg, const char *key, const struct storage_info *info,
                                struct pitr_err *err)
{
    struct dirs *d = arg;

    (void)err;
    if (info->is_dir) {
        d->v = xrealloc(d->v, (d->n + 1) * sizeof(*d->v));
        d->v[d->n++] = xstrdup(key);
    }
    return PITR_OK;
}

/* Segment-named keys (WAL objects or catalog entries) directly below a folder. */
static enum pitr_rc collect_segment(void *arg, const char *key, const struct storage_info *info,
                                    struct pitr_err *err)
{
    struct items *it = arg;
    const char *name = strrchr(key, '/');
    struct wal_file f;
    struct pitr_err ignored;

    (void)err;
    name = name ? name + 1 : key;
    if (!info->is_dir && wal_parse_name(name, &f, &ignored) == PITR_OK &&
        f.kind == WAL_FILE_SEGMENT) {
        it->v = xrealloc(it->v, (it->n + 1) * sizeof(*it->v));
        snprintf(it->v[it->n].name, sizeof(it->v[it->n].name), "%s", name);
        it->v[it->n].mtime = info->mtime;
        it->n++;
    }
    return PITR_OK;
}

static int compare_items(const void *a, const void *b)
{
    return strcmp(((const struct item *)a)->name, ((const struct item *)b)->name);
}

static void dirs_fini(struct dirs *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i]);
    }
    free(d->v);
}

/* Every segment-named key in the folders below dir (one level of folders), sorted. */
static enum pitr_rc list_segments(struct storage *s, const char *dir, struct items *out,
                                  struct pitr_err *err)
{
    struct dirs d = {NULL, 0};
    struct items it = {NULL, 0};
    enum pitr_rc rc = storage_list(s, dir, STORAGE_LIST_CHILDREN, collect_dir, &d, err);

    if (rc == PITR_NOT_FOUND) {
        rc = PITR_OK;
    }
    for (size_t i = 0; rc == PITR_OK && i < d.n; i++) {
        if (strlen(strrchr(d.v[i], '/') ? strrchr(d.v[i], '/') + 1 : d.v[i]) == 16) {
            rc = storage_list(s, d.v[i], STORAGE_LIST_CHILDREN, collect_segment, &it, err);
        }
    }
    dirs_fini(&d);
    if (rc != PITR_OK) {
        free(it.v);
        return rc;
    }
    if (it.n > 1) {
        qsort(it.v, it.n, sizeof(*it.v), compare_items);
    }
    *out = it;
    return PITR_OK;
}

/* Parses every catalog file (merged folders and entries), reporting the damaged ones. */
static enum pitr_rc check_files(const struct repo_session *repo, const struct items *entries,
                                catalog_report_fn *report, void *arg, struct catalog_check *out,
                                struct pitr_err *err)
{
    struct dirs d = {NULL, 0};
    char dir[CAT_KEY_MAX];
    enum pitr_rc rc = str_format(dir, sizeof(dir), err, "%s/catalog/wal", repo->cluster);

    if (rc == PITR_OK) {
        rc = storage_list(repo->storage, dir, STORAGE_LIST_CHILDREN, collect_dir, &d, err);
    }
    if (rc == PITR_NOT_FOUND) {
        rc = PITR_OK;
    }
    /* the merged files sit next to the folders: "<folder>.cat" */
    for (size_t i = 0; rc == PITR_OK && i <= d.n + entries->n; i++) {
        char key[CAT_KEY_MAX];
        struct buf text;
        struct catalog_wal w = {NULL, 0, NULL, 0};
        struct pitr_err perr;
        enum pitr_rc got;

        if (i < d.n) {
            rc = str_format(key, sizeof(key), err, "%s.cat", d.v[i]);
        } else if (i > d.n) {
            const char *n = entries->v[i - d.n - 1].name;

            rc = str_format(key, sizeof(key), err, "%s/%.16s/%s", dir, n, n);
        } else {
            continue;
        }
        buf_init(&text, 64 * 1024 * 1024);
        got = rc == PITR_OK ? storage_get(repo->storage, key, &text, &perr) : rc;
        if (got == PITR_OK) {
            got = catalog_parse((const char *)text.data, text.len, key, repo, &w, &perr);
            if (got != PITR_OK) {
                out->damaged++;
                report(arg, perr.msg);
            }
        } else if (got != PITR_NOT_FOUND && rc == PITR_OK) {
            rc = err_copy(err, &perr);
        }
        catalog_wal_fini(&w);
        buf_fini(&text);
    }
    dirs_fini(&d);
    return rc;
}

/* With a key, each WAL object must be encrypted under it and bound to its own name: a valid
 * segment copied over another is reported (from its header alone: no download). */
static enum pitr_rc check_authentic(const struct repo_session *repo, const char *name,
                                    catalog_report_fn *report, void *arg, struct catalog_check *c,
                                    struct pitr_err *err)
{
    char key[CAT_KEY_MAX];
    struct wal_file f;
    struct pitr_err found;
    enum pitr_rc rc = wal_parse_name(name, &f, err);

    if (rc == PITR_OK) {
        rc = repo_wal_key(repo->cluster, name, &f, key, sizeof(key), err);
    }
    if (rc != PITR_OK) {
        return rc;
    }
    rc = repo_check_object(repo, key, &found);
    if (rc == PITR_CORRUPT || rc == PITR_CONFIG) {
        c->unauthentic++;
        report(arg, found.msg);
        rc = PITR_OK;
    } else if (rc == PITR_NOT_FOUND) {
        rc = PITR_OK; /* removed since the listing (expire) */
    } else if (rc != PITR_OK) {
        rc = err_copy(err, &found);
    }
    return rc;
}

enum pitr_rc catalog_check_run(const struct repo_session *repo, catalog_report_fn *report,
                               void *arg, struct catalog_check *out, struct pitr_err *err)
{
    struct items objects = {NULL, 0};
    struct items entries = {NULL, 0};
    struct catalog_check c;
    char wal_dir[CAT_KEY_MAX];
    char cat_dir[CAT_KEY_MAX];
    size_t i = 0;
    size_t j = 0;
    enum pitr_rc rc = str_format(wal_dir, sizeof(wal_dir), err, "%s/wal", repo->cluster);

    memset(&c, 0, sizeof(c));
    if (rc == PITR_OK) {
        rc = str_format(cat_dir, sizeof(cat_dir), err, "%s/catalog/wal", repo->cluster);
    }
    if (rc == PITR_OK) {
        rc = list_segments(repo->storage, wal_dir, &objects, err);
    }
    if (rc == PITR_OK) {
        rc = list_segments(repo->storage, cat_dir, &entries, err);
    }
    if (rc == PITR_OK) {
        rc = check_files(repo, &entries, report, arg, &c, err);
    }
    for (size_t k = 0; rc == PITR_OK && repo->key != NULL && k < objects.n; k++) {
        rc = check_authentic(repo, objects.v[k].name, report, arg, &c, err);
    }
    c.segments = objects.n;
    c.entries = entries.n;
    /* both lists are sorted: one merge pass finds what each lacks */
    while (rc == PITR_OK && (i < objects.n || j < entries.n)) {
        int cmp = i == objects.n   ? 1
                  : j == entries.n ? -1
                                   : strcmp(objects.v[i].name, entries.v[j].name);
        char line[256];

        if (cmp < 0) {
            snprintf(line, sizeof(line), "segment %s has no catalog entry", objects.v[i++].name);
            c.missing_entry++;
            report(arg, line);
        } else if (cmp > 0) {
            snprintf(line, sizeof(line), "catalog entry %s has no WAL object in the repository",
                     entries.v[j++].name);
            c.missing_object++;
            report(arg, line);
        } else {
            i++;
            j++;
        }
    }
    free(objects.v);
    free(entries.v);
    if (rc == PITR_OK) {
        *out = c;
    }
    return rc;
}

/* Reads one WAL object through the object checks and walscan; *stored receives the object's
 * size as read. */
static enum pitr_rc scan_object(const struct repo_session *repo, const char *key, const char *name,
                                struct walscan_result *out, uint64_t *stored, struct pitr_err *err)
{
    struct filter *scan = walscan_filter_new(name, err);
    struct pipeline *pl;
    struct filter *reader;
    enum pitr_rc rc;

    if (scan == NULL) {
        return err->rc;
    }
    pl = pipeline_new(discard_sink_new());
    pipeline_add(pl, scan);
    reader = object_reader_new(pipeline_head(pl), repo->key, repo->info.sysid, key);
    rc = storage_read(repo->storage, key, reader, err);
    if (rc == PITR_OK) {
        struct object_summary sum;

        object_reader_summary(reader, &sum);
        *out = *walscan_filter_result(scan);
        *stored = sum.stored_size;
    }
    filter_free(reader);
    pipeline_free(pl);
    return rc;
}

static enum pitr_rc rewrite_entry(const struct repo_session *repo, const struct item *it,
                                  struct pitr_err *err)
{
    char key[CAT_KEY_MAX];
    struct wal_file f;
    struct walscan_result r;
    struct catalog_seg seg;
    struct catalog_rp rps[WALSCAN_MAX_RESTORE_POINTS];
    struct buf text;
    struct write_opts opts = {false, 0};
    uint64_t stored = 0;
    size_t n_rps;
    enum pitr_rc rc = wal_parse_name(it->name, &f, err);

    if (rc == PITR_OK) {
        rc = repo_wal_key(repo->cluster, it->name, &f, key, sizeof(key), err);
    }
    if (rc == PITR_OK) {
        rc = scan_object(repo, key, it->name, &r, &stored, err);
    }
    if (rc != PITR_OK) {
        return rc;
    }
    n_rps =
        catalog_seg_from_scan(&r, f.tli, wal_segno(&f, r.seg_size), it->mtime * 1000000, &seg, rps);
    seg.stored_size = stored; /* the bytes just read and verified */
    buf_init(&text, 1024 * 1024);
    rc = catalog_entry_format(&seg, rps, n_rps, repo, &text, err);
    if (rc == PITR_OK) {
        rc = str_format(key, sizeof(key), err, "%s/catalog/wal/%.16s/%s", repo->cluster, it->name,
                        it->name);
    }
    if (rc == PITR_OK) {
        rc = storage_put(repo->storage, key, &opts, text.data, text.len, err);
    }
    buf_fini(&text);
    return rc;
}

static enum pitr_rc wal_present(const struct repo_session *repo, const char *name, bool *present,
                                struct pitr_err *err)
{
    char key[CAT_KEY_MAX];
    struct wal_file f;
    struct storage_info info;
    enum pitr_rc rc = wal_parse_name(name, &f, err);

    if (rc == PITR_OK) {
        rc = repo_wal_key(repo->cluster, name, &f, key, sizeof(key), err);
    }
    if (rc == PITR_OK) {
        rc = storage_stat(repo->storage, key, &info, err);
    }
    *present = rc == PITR_OK;
    return rc == PITR_NOT_FOUND ? PITR_OK : rc;
}

/* Removes entries whose WAL object is gone, and every merged file (rewritten afterwards). */
static enum pitr_rc remove_stale(const struct repo_session *repo, const struct items *objects,
                                 struct pitr_err *err)
{
    struct items entries = {NULL, 0};
    struct dirs d = {NULL, 0};
    char dir[CAT_KEY_MAX];
    enum pitr_rc rc = str_format(dir, sizeof(dir), err, "%s/catalog/wal", repo->cluster);

    if (rc == PITR_OK) {
        rc = list_segments(repo->storage, dir, &entries, err);
    }
    for (size_t i = 0; rc == PITR_OK && i < entries.n; i++) {
        char key[CAT_KEY_MAX];

        bool present = false;

        if (bsearch(&entries.v[i], objects->v, objects->n, sizeof(*objects->v), compare_items)) {
            continue;
        }
        /* archived since the listing: its entry is new, not stale */
        rc = wal_present(repo, entries.v[i].name, &present, err);
        if (rc != PITR_OK || present) {
            continue;
        }
        rc = str_format(key, sizeof(key), err, "%s/%.16s/%s", dir, entries.v[i].name,
                        entries.v[i].name);
        if (rc == PITR_OK) {
            rc = storage_remove(repo->storage, key, err);
        }
    }
    if (rc == PITR_OK) {
        rc = storage_list(repo->storage, dir, STORAGE_LIST_CHILDREN, collect_dir, &d, err);
        rc = rc == PITR_NOT_FOUND ? PITR_OK : rc;
    }
    for (size_t i = 0; rc == PITR_OK && i < d.n; i++) {
        char key[CAT_KEY_MAX];

        rc = str_format(key, sizeof(key), err, "%s.cat", d.v[i]);
        if (rc == PITR_OK) {
            rc = storage_remove(repo->storage, key, err);
        }
    }
    dirs_fini(&d);
    free(entries.v);
    return rc;
}

enum pitr_rc catalog_rebuild(const struct repo_session *repo, size_t *segments,
                             struct pitr_err *err)
{
    struct items objects = {NULL, 0};
    char wal_dir[CAT_KEY_MAX];
    enum pitr_rc rc = str_format(wal_dir, sizeof(wal_dir), err, "%s/wal", repo->cluster);

    if (rc == PITR_OK) {
        rc = list_segments(repo->storage, wal_dir, &objects, err);
    }
    for (size_t i = 0; rc == PITR_OK && i < objects.n; i++) {
        rc = rewrite_entry(repo, &objects.v[i], err);
        if (rc != PITR_OK) {
            err_prefix(err, "could not rebuild the entry of %s", objects.v[i].name);
        }
    }
    if (rc == PITR_OK) {
        rc = remove_stale(repo, &objects, err);
    }
    /* merge each folder that has entries (one per 16-character prefix) */
    for (size_t i = 0; rc == PITR_OK && i < objects.n; i++) {
        struct wal_file f;
        uint32_t seg_size = 0;
        struct catalog_wal w = {NULL, 0, NULL, 0};

        if (i > 0 && strncmp(objects.v[i].name, objects.v[i - 1].name, 16) == 0) {
            continue;
        }
        rc = wal_parse_name(objects.v[i].name, &f, err);
        /* the segment size is in each entry: read it back from the first one of the folder */
        if (rc == PITR_OK) {
            char key_text[CAT_KEY_MAX];
            struct buf text;

            buf_init(&text, 1024 * 1024);
            rc = str_format(key_text, sizeof(key_text), err, "%s/catalog/wal/%.16s/%s",
                            repo->cluster, objects.v[i].name, objects.v[i].name);
            if (rc == PITR_OK) {
                rc = storage_get(repo->storage, key_text, &text, err);
            }
            if (rc == PITR_OK) {
                rc = catalog_parse((const char *)text.data, text.len, key_text, repo, &w, err);
            }
            seg_size = rc == PITR_OK && w.n_segs > 0 ? w.segs[0].seg_size : 0;
            buf_fini(&text);
            catalog_wal_fini(&w);
        }
        if (rc == PITR_OK && seg_size != 0) {
            rc = catalog_merge_folder(repo, f.tli, wal_segno(&f, seg_size), seg_size, err);
        }
    }
    if (rc == PITR_OK) {
        *segments = objects.n;
    }
    free(objects.v);
    return rc;
}

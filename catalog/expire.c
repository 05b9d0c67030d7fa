/* expire: retention. Which backups go is a pure decision (catalog_expire_decide); the run removes
 * in an order that leaves the repository consistent at every step: a backup's record before its
 * objects, backups before WAL, the catalog before the WAL objects it indexes, and never a WAL
 * segment that a kept backup (or one being taken) needs. */
#include "catalog.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/strutil.h"
#include "base/xalloc.h"
#include "config/config.h"
#include "pg/wal.h"
#include "repo/backup.h"
#include "repo/repo.h"

enum { EXPIRE_KEY_MAX = 1024, EXPIRE_LINE_MAX = 1024 };

static uint64_t retention_of(const struct catalog_retention *p, const char *type)
{
    if (strcmp(type, "daily") == 0) {
        return p->daily;
    }
    if (strcmp(type, "weekly") == 0) {
        return p->weekly;
    }
    if (strcmp(type, "monthly") == 0) {
        return p->monthly;
    }
    if (strcmp(type, "pre-migration") == 0) {
        return p->pre_migration;
    }
    if (strcmp(type, "manual") == 0) {
        return p->manual;
    }
    return CONFIG_RETENTION_FOREVER; /* a type this version does not know is never expired */
}

size_t catalog_expire_decide(const struct backup_record *backups, size_t n,
                             const struct catalog_retention *p, int64_t now, bool *expire)
{
    uint64_t floor = p->min_full > 0 ? p->min_full : 1;
    size_t expired = 0;

    for (size_t i = 0; i < n; i++) {
        uint64_t keep = retention_of(p, backups[i].type);
        int64_t age = now - backups[i].stop_time;

        expire[i] = keep != CONFIG_RETENTION_FOREVER && age > 0 && (uint64_t)age > keep;
        expired += expire[i];
    }
    /* the count floor: the newest of the expiring backups stay until enough are left */
    while (expired > 0 && n - expired < floor) {
        size_t newest = n;

        for (size_t i = 0; i < n; i++) {
            if (expire[i] && (newest == n || backups[i].stop_time >= backups[newest].stop_time)) {
                newest = i;
            }
        }
        expire[newest] = false;
        expired--;
    }
    return expired;
}

/* --- what goes ---------------------------------------------------------------------------------
 */

struct victim {
    char *key; /* owned */
    uint64_t size;
    uint32_t tli; /* WAL files and catalog entries */
    uint64_t segno;
    enum wal_file_kind kind;
};

struct victims {
    struct victim *v;
    size_t n;
};

static void victims_add(struct victims *vs, const char *key, uint64_t size, uint32_t tli,
                        uint64_t segno, enum wal_file_kind kind)
{
    vs->v = xrealloc(vs->v, (vs->n + 1) * sizeof(*vs->v));
    vs->v[vs->n].key = xstrdup(key);
    vs->v[vs->n].size = size;
    vs->v[vs->n].tli = tli;
    vs->v[vs->n].segno = segno;
    vs->v[vs->n].kind = kind;
    vs->n++;
}

static void victims_fini(struct victims *vs)
{
    for (size_t i = 0; i < vs->n; i++) {
        free(vs->v[i].key);
    }
    free(vs->v);
    memset(vs, 0, sizeof(*vs));
}

static int compare_victims(const void *a, const void *b)
{
    const struct victim *x = a;
    const struct victim *y = b;

    if (x->tli != y->tli) {
        return x->tli < y->tli ? -1 : 1;
    }
    if (x->segno != y->segno) {
        return x->segno < y->segno ? -1 : 1;
    }
    return strcmp(x->key, y->key);
}

/* One backup directory to remove: a complete backup that expired, or what an interrupted expire
 * left (neither backup.info nor backup.start). */
struct doomed_backup {
    char id[BACKUP_ID_LEN];
    struct victims objects;
    uint64_t bytes;
};

static enum pitr_rc collect_object(void *arg, const char *key, const struct storage_info *info,
                                   struct pitr_err *err)
{
    struct doomed_backup *d = arg;

    (void)err;
    if (!info->is_dir) {
        victims_add(&d->objects, key, info->size, 0, 0, WAL_FILE_SEGMENT);
        d->bytes += info->size;
    }
    return PITR_OK;
}

struct names {
    char **v;
    size_t n;
};

static void names_fini(struct names *n)
{
    for (size_t i = 0; i < n->n; i++) {
        free(n->v[i]);
    }
    free(n->v);
    memset(n, 0, sizeof(*n));
}

/* The last component of each key listed (directories and objects alike). */
static enum pitr_rc collect_base(void *arg, const char *key, const struct storage_info *info,
                                 struct pitr_err *err)
{
    struct names *n = arg;
    const char *base = strrchr(key, '/');

    (void)info;
    (void)err;
    n->v = xrealloc(n->v, (n->n + 1) * sizeof(*n->v));
    n->v[n->n++] = xstrdup(base ? base + 1 : key);
    return PITR_OK;
}

/* Whoever wrote backup.start may still be taking the backup: on this host while its process
 * exists, on another host always (this one cannot tell). */
static bool owner_may_be_alive(const struct backup_record *r)
{
    char host[256] = "";

    if (gethostname(host, sizeof(host) - 1) != 0 || strcmp(r->host, host) != 0 || r->pid <= 0) {
        return true;
    }
    return !(kill((pid_t)r->pid, 0) != 0 && errno == ESRCH);
}

/* Where WAL removal stops: the kept backup that starts first; and whether a backup in progress
 * forbids any removal. */
struct wal_cut {
    bool any;       /* a kept backup exists */
    bool blocked;   /* a backup in progress began before the first kept one stopped */
    uint32_t tli;   /* segments of this timeline and earlier ones... */
    uint64_t segno; /* ...before this segment go */
    uint32_t seg_size;
    int64_t stop_time;  /* of that backup */
    int64_t live_start; /* earliest start of an incomplete backup whose owner may be alive */
    bool live;
};

static void cut_consider(struct wal_cut *c, const struct backup_record *b)
{
    uint64_t segno = wal_segno_of_lsn(b->start_lsn, b->wal_seg_size);

    if (!c->any || segno < c->segno || (segno == c->segno && b->timeline < c->tli)) {
        c->any = true;
        c->segno = segno;
        c->tli = b->timeline;
        c->seg_size = b->wal_seg_size;
        c->stop_time = b->stop_time;
    }
}

struct expire_state {
    const struct repo_session *repo;
    catalog_report_fn *report;
    void *arg;
    struct doomed_backup *doomed; /* expired complete backups, then leftovers */
    size_t n_doomed;
    struct wal_cut cut;
    struct victims wal;     /* WAL objects before the cut */
    struct victims entries; /* catalog entries before the cut */
    struct victims folders; /* WAL folders touched: tli and first segno of each */
};

static struct doomed_backup *add_doomed(struct expire_state *st, const char *id)
{
    st->doomed = xrealloc(st->doomed, (st->n_doomed + 1) * sizeof(*st->doomed));
    memset(&st->doomed[st->n_doomed], 0, sizeof(*st->doomed));
    snprintf(st->doomed[st->n_doomed].id, sizeof(st->doomed[st->n_doomed].id), "%s", id);
    return &st->doomed[st->n_doomed++];
}

static enum pitr_rc list_backup(struct expire_state *st, struct doomed_backup *d,
                                struct pitr_err *err)
{
    char dir[EXPIRE_KEY_MAX];
    enum pitr_rc rc = str_format(dir, sizeof(dir), err, "%s/backup/%s", st->repo->cluster, d->id);

    if (rc == PITR_OK) {
        rc = storage_list(st->repo->storage, dir, STORAGE_LIST_RECURSIVE, collect_object, d, err);
    }
    return rc == PITR_NOT_FOUND ? PITR_OK : rc;
}

static bool in_list(const struct backup_record *list, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].id, id) == 0) {
            return true;
        }
    }
    return false;
}

/* The backup directories that are not complete backups of the list: a backup completed since the
 * listing keeps its WAL; an incomplete one is reported and left to pitr-basebackup --cleanup (and
 * keeps the WAL while its owner may be alive); what an interrupted expire left is removed. */
static enum pitr_rc scan_other_backups(struct expire_state *st, const struct backup_record *list,
                                       size_t n, struct pitr_err *err)
{
    struct names ids = {NULL, 0};
    char dir[EXPIRE_KEY_MAX];
    enum pitr_rc rc = str_format(dir, sizeof(dir), err, "%s/backup", st->repo->cluster);

    if (rc == PITR_OK) {
        rc = storage_list(st->repo->storage, dir, STORAGE_LIST_CHILDREN, collect_base, &ids, err);
        rc = rc == PITR_NOT_FOUND ? PITR_OK : rc;
    }
    for (size_t i = 0; rc == PITR_OK && i < ids.n; i++) {
        struct backup_record r;
        struct buf text;
        char key[EXPIRE_KEY_MAX];
        char line[EXPIRE_LINE_MAX];

        if (in_list(list, n, ids.v[i]) || strlen(ids.v[i]) >= BACKUP_ID_LEN) {
            continue;
        }
        rc = backup_record_read(st->repo, ids.v[i], &r, err);
        if (rc == PITR_OK) {
            cut_consider(&st->cut, &r); /* completed since the listing */
            backup_record_fini(&r);
            continue;
        }
        if (rc != PITR_NOT_FOUND) {
            break;
        }
        rc = backup_key(st->repo->cluster, ids.v[i], "backup.start", key, sizeof(key), err);
        buf_init(&text, BACKUP_RECORD_MAX);
        if (rc == PITR_OK) {
            rc = repo_get_text(st->repo, key, BACKUP_RECORD_MAX, &text, err);
        }
        if (rc == PITR_OK) {
            rc = backup_record_parse((const char *)text.data, key, &r, err);
        }
        buf_fini(&text);
        if (rc == PITR_NOT_FOUND) {
            /* backup.start is always the first object of a backup and the last one removed:
             * without it (and without a record) this is what an interrupted expire left */
            rc = list_backup(st, add_doomed(st, ids.v[i]), err);
            continue;
        }
        if (rc == PITR_OK) {
            snprintf(line, sizeof(line),
                     "incomplete backup %s (%s pid %lld): left to pitr-basebackup --cleanup", r.id,
                     r.host, (long long)r.pid);
            if (owner_may_be_alive(&r) && (!st->cut.live || r.start_time < st->cut.live_start)) {
                st->cut.live = true;
                st->cut.live_start = r.start_time;
            }
            backup_record_fini(&r);
        } else if (rc == PITR_CORRUPT) {
            /* nobody can tell when it began: it keeps every WAL segment */
            snprintf(line, sizeof(line), "backup %s: %s: every WAL segment is kept", ids.v[i],
                     err->msg);
            st->cut.live = true;
            st->cut.live_start = 0;
            rc = PITR_OK;
        } else {
            break;
        }
        st->report(st->arg, line);
    }
    names_fini(&ids);
    return rc;
}

/* A 16-character folder name "TTTTTTTTLLLLLLLL" (of a WAL folder or a merged catalog file) on
 * the cut's timeline or an earlier one, at or before the cut's folder. */
static bool folder_in_cut(const struct wal_cut *c, const char *name, uint32_t *tli, uint64_t *log)
{
    uint64_t t;

    if (str_parse_hex_u64(name, 8, &t) != PITR_OK ||
        str_parse_hex_u64(name + 8, 8, log) != PITR_OK || t == 0 || t > c->tli) {
        return false;
    }
    *tli = (uint32_t)t;
    return *log <= c->segno / wal_segs_per_log(c->seg_size);
}

static void add_folder(struct expire_state *st, uint32_t tli, uint64_t log)
{
    uint64_t first = log * wal_segs_per_log(st->cut.seg_size);

    for (size_t i = 0; i < st->folders.n; i++) {
        if (st->folders.v[i].tli == tli && st->folders.v[i].segno == first) {
            return;
        }
    }
    victims_add(&st->folders, "", 0, tli, first, WAL_FILE_SEGMENT);
}

struct folder_scan {
    struct expire_state *st;
    struct victims *out;
    uint32_t tli;
    bool catalog; /* entries: segments only */
};

static enum pitr_rc collect_wal(void *arg, const char *key, const struct storage_info *info,
                                struct pitr_err *err)
{
    struct folder_scan *f = arg;
    const char *name = strrchr(key, '/') ? strrchr(key, '/') + 1 : key;
    struct wal_file wf;
    struct pitr_err ignored;
    uint64_t segno;

    (void)err;
    if (info->is_dir || wal_parse_name(name, &wf, &ignored) != PITR_OK ||
        wf.kind == WAL_FILE_HISTORY || wf.tli != f->tli ||
        (f->catalog && wf.kind != WAL_FILE_SEGMENT)) {
        return PITR_OK; /* not ours: left alone */
    }
    segno = wal_segno(&wf, f->st->cut.seg_size);
    if (segno < f->st->cut.segno) {
        victims_add(f->out, key, info->size, wf.tli, segno, wf.kind);
    }
    return PITR_OK;
}

/* Lists the WAL objects (catalog false) or catalog entries (true) before the cut. */
static enum pitr_rc scan_wal(struct expire_state *st, bool catalog, struct pitr_err *err)
{
    struct names folders = {NULL, 0};
    char dir[EXPIRE_KEY_MAX];
    enum pitr_rc rc =
        str_format(dir, sizeof(dir), err, catalog ? "%s/catalog/wal" : "%s/wal", st->repo->cluster);

    if (rc == PITR_OK) {
        rc = storage_list(st->repo->storage, dir, STORAGE_LIST_CHILDREN, collect_base, &folders,
                          err);
        rc = rc == PITR_NOT_FOUND ? PITR_OK : rc;
    }
    for (size_t i = 0; rc == PITR_OK && i < folders.n; i++) {
        const char *name = folders.v[i];
        size_t len = strlen(name);
        uint32_t tli = 0;
        uint64_t log = 0;
        char sub[EXPIRE_KEY_MAX];
        struct folder_scan f = {st, catalog ? &st->entries : &st->wal, 0, catalog};

        if (!(len == 16 || (catalog && len == 20 && strcmp(name + 16, ".cat") == 0)) ||
            !folder_in_cut(&st->cut, name, &tli, &log)) {
            continue;
        }
        add_folder(st, tli, log);
        if (len == 20) {
            continue; /* a merged file: rewritten with its folder */
        }
        f.tli = tli;
        rc = str_format(sub, sizeof(sub), err, "%s/%s", dir, name);
        if (rc == PITR_OK) {
            rc = storage_list(st->repo->storage, sub, STORAGE_LIST_CHILDREN, collect_wal, &f, err);
            rc = rc == PITR_NOT_FOUND ? PITR_OK : rc;
        }
    }
    names_fini(&folders);
    return rc;
}

/* --- reporting ------------------------------------------------------------------------------- */

static void report_backup(struct expire_state *st, const struct backup_record *b, int64_t now,
                          uint64_t bytes)
{
    char stop[32];
    char size[16];
    char line[EXPIRE_LINE_MAX];

    backup_time_format(b->stop_time, stop);
    str_human_bytes(bytes, size);
    snprintf(line, sizeof(line), "expire backup %s (%s, %.1f days old, stopped %s): %s", b->id,
             b->type, (double)(now - b->stop_time) / 86400.0, stop, size);
    st->report(st->arg, line);
}

/* One line per contiguous range of WAL files of one timeline (wal sorted). */
static void report_wal(struct expire_state *st, struct catalog_expire *out)
{
    size_t i = 0;

    while (i < st->wal.n) {
        size_t j = i;
        size_t segments = 0;
        uint64_t bytes = 0;
        char first[25];
        char last[25];
        char size[16];
        char line[EXPIRE_LINE_MAX];

        while (j + 1 < st->wal.n && st->wal.v[j + 1].tli == st->wal.v[i].tli &&
               st->wal.v[j + 1].segno <= st->wal.v[j].segno + 1) {
            j++;
        }
        for (size_t k = i; k <= j; k++) {
            segments += st->wal.v[k].kind == WAL_FILE_SEGMENT;
            bytes += st->wal.v[k].size;
        }
        wal_segment_name(st->wal.v[i].tli, st->wal.v[i].segno, st->cut.seg_size, first);
        wal_segment_name(st->wal.v[j].tli, st->wal.v[j].segno, st->cut.seg_size, last);
        str_human_bytes(bytes, size);
        snprintf(line, sizeof(line),
                 "expire WAL timeline %u: %s .. %s (%zu segments, %zu other "
                 "files): %s",
                 st->wal.v[i].tli, first, last, segments, j + 1 - i - segments, size);
        st->report(st->arg, line);
        out->segments += segments;
        out->wal_files += j + 1 - i - segments;
        out->bytes += bytes;
        i = j + 1;
    }
}

/* --- removal --------------------------------------------------------------------------------- */

/* backup.info first: from then on the backup is never listed nor restored; backup.start last, so
 * that an interruption leaves what a killed backup leaves, which --cleanup (or this, re-run)
 * removes. */
static enum pitr_rc remove_backup(struct expire_state *st, const struct doomed_backup *d,
                                  struct pitr_err *err)
{
    char key[EXPIRE_KEY_MAX];
    char dir[EXPIRE_KEY_MAX];
    enum pitr_rc rc = backup_key(st->repo->cluster, d->id, "backup.info", key, sizeof(key), err);

    if (rc == PITR_OK) {
        rc = storage_remove(st->repo->storage, key, err);
    }
    for (size_t i = 0; rc == PITR_OK && i < d->objects.n; i++) {
        if (!str_has_suffix(d->objects.v[i].key, "/backup.start")) {
            rc = storage_remove(st->repo->storage, d->objects.v[i].key, err);
        }
    }
    if (rc == PITR_OK) {
        rc = backup_key(st->repo->cluster, d->id, "backup.start", key, sizeof(key), err);
    }
    if (rc == PITR_OK) {
        rc = storage_remove(st->repo->storage, key, err);
    }
    if (rc == PITR_OK) {
        rc = str_format(dir, sizeof(dir), err, "%s/backup/%s", st->repo->cluster, d->id);
    }
    if (rc == PITR_OK) {
        rc = storage_remove_dir(st->repo->storage, dir, err);
    }
    if (rc != PITR_OK) {
        err_prefix(err, "could not remove backup %s", d->id);
    }
    return rc;
}

/* Removes the victims of one folder (tli, first segno) from vs. */
static enum pitr_rc remove_in_folder(struct expire_state *st, const struct victims *vs,
                                     uint32_t tli, uint64_t first, struct pitr_err *err)
{
    uint64_t per = wal_segs_per_log(st->cut.seg_size);
    enum pitr_rc rc = PITR_OK;

    for (size_t i = 0; rc == PITR_OK && i < vs->n; i++) {
        if (vs->v[i].tli == tli && vs->v[i].segno >= first && vs->v[i].segno < first + per) {
            rc = storage_remove(st->repo->storage, vs->v[i].key, err);
        }
    }
    return rc;
}

/* Per folder: the entries, then the merged file's lines, then the objects (the catalog never
 * names a segment that is gone; an interruption leaves objects without entries, which a re-run
 * removes), then the folders themselves when wholly before the cut. */
static enum pitr_rc remove_wal(struct expire_state *st, struct pitr_err *err)
{
    uint64_t per = wal_segs_per_log(st->cut.seg_size);
    enum pitr_rc rc = PITR_OK;

    for (size_t i = 0; rc == PITR_OK && i < st->folders.n; i++) {
        uint32_t tli = st->folders.v[i].tli;
        uint64_t first = st->folders.v[i].segno;
        char name[25];
        char dir[EXPIRE_KEY_MAX];

        wal_segment_name(tli, first, st->cut.seg_size, name);
        rc = remove_in_folder(st, &st->entries, tli, first, err);
        if (rc == PITR_OK) {
            rc = catalog_prune_folder(st->repo, tli, first, st->cut.segno, st->cut.seg_size, err);
        }
        if (rc == PITR_OK) {
            rc = remove_in_folder(st, &st->wal, tli, first, err);
        }
        if (rc == PITR_OK && first + per <= st->cut.segno) {
            rc = str_format(dir, sizeof(dir), err, "%s/catalog/wal/%.16s", st->repo->cluster, name);
            rc = rc == PITR_OK ? storage_remove_dir(st->repo->storage, dir, err) : rc;
            rc = rc == PITR_OK
                     ? str_format(dir, sizeof(dir), err, "%s/wal/%.16s", st->repo->cluster, name)
                     : rc;
            rc = rc == PITR_OK ? storage_remove_dir(st->repo->storage, dir, err) : rc;
        }
    }
    return rc;
}

static void state_fini(struct expire_state *st)
{
    for (size_t i = 0; i < st->n_doomed; i++) {
        victims_fini(&st->doomed[i].objects);
    }
    free(st->doomed);
    victims_fini(&st->wal);
    victims_fini(&st->entries);
    victims_fini(&st->folders);
}

enum pitr_rc catalog_expire_run(const struct repo_session *repo, const struct catalog_retention *p,
                                int64_t now, bool dry_run, catalog_report_fn *report, void *arg,
                                struct catalog_expire *out, struct pitr_err *err)
{
    struct expire_state st;
    struct catalog_expire res;
    struct backup_record *list = NULL;
    size_t n = 0;
    size_t n_expired = 0;
    bool *expire = NULL;
    enum pitr_rc rc = backup_list_complete(repo, &list, &n, err);

    memset(&st, 0, sizeof(st));
    memset(&res, 0, sizeof(res));
    st.repo = repo;
    st.report = report;
    st.arg = arg;
    if (rc == PITR_OK) {
        expire = xcalloc(n + 1, sizeof(*expire));
        n_expired = catalog_expire_decide(list, n, p, now, expire);
    }
    for (size_t i = 0; rc == PITR_OK && i < n; i++) {
        if (expire[i]) {
            rc = list_backup(&st, add_doomed(&st, list[i].id), err);
        } else {
            cut_consider(&st.cut, &list[i]);
        }
    }
    if (rc == PITR_OK) {
        rc = scan_other_backups(&st, list, n, err);
    }
    /* WAL only once some backup is kept (a repository without one keeps all its WAL), and never
     * while a backup that began before the first kept one stopped may still need it */
    st.cut.blocked = st.cut.any && st.cut.live && st.cut.live_start < st.cut.stop_time;
    if (rc == PITR_OK && st.cut.any && !st.cut.blocked) {
        rc = scan_wal(&st, false, err);
        rc = rc == PITR_OK ? scan_wal(&st, true, err) : rc;
    }
    if (rc == PITR_OK) {
        if (st.wal.n > 1) {
            qsort(st.wal.v, st.wal.n, sizeof(*st.wal.v), compare_victims);
        }
        if (st.folders.n > 1) {
            qsort(st.folders.v, st.folders.n, sizeof(*st.folders.v), compare_victims);
        }
        for (size_t i = 0, d = 0; i < n; i++) {
            if (expire[i]) {
                report_backup(&st, &list[i], now, st.doomed[d].bytes);
                res.bytes += st.doomed[d++].bytes;
            }
        }
        for (size_t d = n_expired; d < st.n_doomed; d++) {
            char size[16];
            char line[EXPIRE_LINE_MAX];

            str_human_bytes(st.doomed[d].bytes, size);
            snprintf(line, sizeof(line),
                     "remove the rest of backup %s (an interrupted expire removed its record): %s",
                     st.doomed[d].id, size);
            report(arg, line);
            res.bytes += st.doomed[d].bytes;
        }
        report_wal(&st, &res);
        res.backups = n_expired;
        res.kept = n - n_expired;
        res.leftovers = st.n_doomed - n_expired;
        res.wal_kept = st.cut.blocked;
        if (st.cut.any) {
            wal_segment_name(st.cut.tli, st.cut.segno, st.cut.seg_size, res.first_kept);
        }
    }
    /* the removals: backups first (each one's record first), then the WAL none of the kept
     * backups needs */
    for (size_t d = 0; rc == PITR_OK && !dry_run && d < st.n_doomed; d++) {
        rc = remove_backup(&st, &st.doomed[d], err);
    }
    if (rc == PITR_OK && !dry_run && st.folders.n > 0) {
        rc = remove_wal(&st, err);
    }
    if (rc == PITR_OK) {
        *out = res;
    }
    state_fini(&st);
    free(expire);
    backup_list_free(list, n);
    return rc;
}

/* windows: a window is a backup's consistency point followed by unbroken WAL; it ends at the last
 * transaction end in that WAL, because recovery to a time stops only at a commit or abort record
 * and PostgreSQL refuses to end recovery before reaching its target. A timeline that branched off
 * inside a window continues it. */
#include "catalog.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strutil.h"
#include "base/xalloc.h"
#include "pg/timeline.h"
#include "pg/wal.h"
#include "repo/backup.h"
#include "repo/repo.h"

enum { HISTORY_MAX = 1024 * 1024 };

enum catalog_gap catalog_seg_check(const struct catalog_seg *seg, const struct repo_wal_object *obj)
{
    if (obj == NULL) {
        return seg != NULL ? CATALOG_GAP_MISSING : CATALOG_GAP_UNCATALOGED;
    }
    if (seg != NULL && seg->stored_size != 0 && obj->size != seg->stored_size) {
        return CATALOG_GAP_SIZE;
    }
    return CATALOG_GAP_NONE;
}

void catalog_gap_text(enum catalog_gap why, uint64_t found, uint64_t recorded, char *out,
                      size_t size)
{
    switch (why) {
    case CATALOG_GAP_MISSING:
        snprintf(out, size, "is missing from the repository (the catalog lists it)");
        break;
    case CATALOG_GAP_SIZE:
        snprintf(out, size,
                 "is %" PRIu64 " bytes in the repository, not the %" PRIu64
                 " archived (truncated or replaced)",
                 found, recorded);
        break;
    default:
        snprintf(out, size, "is missing");
        break;
    }
}

const char *catalog_gap_code(enum catalog_gap why)
{
    static const char *const codes[] = {"", "not_in_catalog", "missing", "wrong_size"};

    return codes[why];
}

struct tli_list {
    uint32_t *v;
    size_t n;
};

static enum pitr_rc collect_tli(void *arg, const char *key, const struct storage_info *info,
                                struct pitr_err *err)
{
    struct tli_list *l = arg;
    const char *name = strrchr(key, '/');
    uint64_t tli;

    (void)info;
    (void)err;
    name = name ? name + 1 : key;
    if (strlen(name) < 16 || str_parse_hex_u64(name, 8, &tli) != PITR_OK || tli == 0) {
        return PITR_OK;
    }
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i] == tli) {
            return PITR_OK;
        }
    }
    l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
    l->v[l->n++] = (uint32_t)tli;
    return PITR_OK;
}

static int compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a;
    uint32_t y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

static enum pitr_rc read_parent(const struct repo_session *repo, uint32_t tli, uint32_t *parent,
                                uint64_t *switch_lsn, struct pitr_err *err)
{
    char key[1024];
    struct buf text;
    struct timeline_history h;
    enum pitr_rc rc =
        str_format(key, sizeof(key), err, "%s/wal/history/%08X.history", repo->cluster, tli);

    *parent = 0;
    if (rc != PITR_OK || tli == 1) {
        return rc;
    }
    buf_init(&text, HISTORY_MAX);
    rc = repo_get_text(repo, key, HISTORY_MAX, &text, err);
    if (rc == PITR_NOT_FOUND) {
        rc = PITR_OK; /* no history archived: the timeline's windows stand on their own backups */
    } else if (rc == PITR_OK) {
        rc = timeline_history_parse((const char *)text.data, tli, key, &h, err);
        if (rc == PITR_OK && h.n > 0) {
            *parent = h.entries[h.n - 1].tli;
            *switch_lsn = h.entries[h.n - 1].end_lsn;
        }
        if (rc == PITR_OK) {
            timeline_history_fini(&h);
        }
    }
    buf_fini(&text);
    return rc;
}

static void add_window(struct catalog_windows *out, const struct catalog_window *w)
{
    out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
    out->v[out->n++] = *w;
}

/* The LSN where backup `id` becomes consistent. */
static uint64_t backup_stop_lsn(const struct backup_record *backups, size_t n_backups,
                                const char *id)
{
    for (size_t i = 0; i < n_backups; i++) {
        if (strcmp(backups[i].id, id) == 0) {
            return backups[i].stop_lsn;
        }
    }
    return UINT64_MAX; /* windows only name backups of the list */
}

/* The start of the window of run [first, last] on tli: the earliest backup consistent inside it,
 * or the parent's window running into the branch point. A branch continues a window only when it
 * happened at or after the backup's consistency point, compared by LSN as pitr-restore's planner
 * does (a segment can hold both). *from_lsn receives where the window starts. Returns false when
 * nothing starts it. */
static bool window_start(const struct catalog_windows *out, const struct backup_record *backups,
                         size_t n_backups, uint32_t tli, uint64_t first, uint64_t last,
                         uint32_t parent, uint64_t switch_lsn, struct catalog_window *w,
                         uint64_t *from_lsn)
{
    uint64_t switch_segno = wal_segno_of_lsn(switch_lsn, out->seg_size);
    bool found = false;

    for (size_t i = 0; i < n_backups; i++) {
        const struct backup_record *b = &backups[i];
        uint64_t start = wal_segno_of_lsn(b->start_lsn, b->wal_seg_size);
        uint64_t stop = wal_segno_of_lsn(b->stop_lsn - 1, b->wal_seg_size);

        if (b->timeline == tli && start >= first && stop <= last &&
            (!found || b->stop_time * 1000000 < w->from_us)) {
            found = true;
            w->from_us = b->stop_time * 1000000;
            w->first_segno = stop;
            *from_lsn = b->stop_lsn;
            snprintf(w->backup_id, sizeof(w->backup_id), "%s", b->id);
        }
    }
    for (size_t i = 0; parent != 0 && i < out->n; i++) {
        const struct catalog_window *p = &out->v[i];

        if (p->tli == parent && switch_segno >= first && switch_segno <= last &&
            p->first_segno <= switch_segno && p->last_segno + 1 >= switch_segno &&
            backup_stop_lsn(backups, n_backups, p->backup_id) <= switch_lsn &&
            (!found || p->from_us < w->from_us)) {
            found = true;
            w->from_us = p->from_us;
            w->first_segno = switch_segno;
            *from_lsn = switch_lsn;
            snprintf(w->backup_id, sizeof(w->backup_id), "%s", p->backup_id);
        }
    }
    return found;
}

/* Adds the restore points of w's timeline from from_lsn to the end of its last segment: one
 * before the consistency point cannot end a recovery from the backup. */
static void add_rps(struct catalog_windows *out, const struct catalog_wal *cw,
                    const struct catalog_window *w, uint64_t from_lsn)
{
    for (size_t i = 0; i < cw->n_rps; i++) {
        const struct catalog_rp *rp = &cw->rps[i];
        uint64_t segno = wal_segno_of_lsn(rp->lsn, out->seg_size);

        if (rp->tli == w->tli && rp->lsn >= from_lsn && segno >= w->first_segno &&
            segno <= w->last_segno) {
            out->rps = xrealloc(out->rps, (out->n_rps + 1) * sizeof(*out->rps));
            out->rps[out->n_rps++] = *rp;
        }
    }
}

/* With verify: what the repository says of one segment the catalog lists. */
struct seg_state {
    enum catalog_gap why; /* CATALOG_GAP_NONE: there at the size recorded */
    uint64_t size;        /* the object's size, when it is there */
};

/* Lists each WAL folder cw has segments in, once, and fills state[i] for cw->segs[i]. */
static enum pitr_rc check_objects(const struct repo_session *repo, const struct catalog_wal *cw,
                                  uint32_t tli, uint32_t seg_size, struct seg_state *state,
                                  struct pitr_err *err)
{
    struct repo_wal_folder f = {NULL, 0};
    uint64_t per_folder = wal_segs_per_log(seg_size);
    uint64_t listed = UINT64_MAX;
    enum pitr_rc rc = PITR_OK;

    for (size_t i = 0; rc == PITR_OK && i < cw->n_segs; i++) {
        const struct repo_wal_object *obj;

        if (cw->segs[i].segno / per_folder != listed) {
            repo_wal_folder_fini(&f);
            rc = repo_wal_folder_list(repo, tli, cw->segs[i].segno, seg_size, &f, err);
            listed = cw->segs[i].segno / per_folder;
        }
        if (rc == PITR_OK) {
            obj = repo_wal_folder_find(&f, cw->segs[i].segno);
            state[i].why = catalog_seg_check(&cw->segs[i], obj);
            state[i].size = obj != NULL ? obj->size : 0;
        }
    }
    repo_wal_folder_fini(&f);
    return rc;
}

static bool usable(const struct seg_state *state, size_t i)
{
    return state == NULL || state[i].why == CATALOG_GAP_NONE;
}

/* Splits one timeline's segments into contiguous runs of usable segments (state: NULL when not
 * verified) and turns each that a backup or a parent window starts into a window. */
static void timeline_windows(struct catalog_windows *out, const struct catalog_wal *cw,
                             const struct seg_state *state, const struct backup_record *backups,
                             size_t n_backups, uint32_t tli, uint32_t parent, uint64_t switch_lsn)
{
    size_t i = 0;

    while (i < cw->n_segs) {
        size_t j = i;
        struct catalog_window w;
        uint64_t from_lsn = 0;

        if (!usable(state, i)) {
            i++;
            continue;
        }
        while (j + 1 < cw->n_segs && cw->segs[j + 1].segno == cw->segs[j].segno + 1 &&
               usable(state, j + 1)) {
            j++;
        }
        memset(&w, 0, sizeof(w));
        w.tli = tli;
        if (window_start(out, backups, n_backups, tli, cw->segs[i].segno, cw->segs[j].segno, parent,
                         switch_lsn, &w, &from_lsn)) {
            w.last_segno = cw->segs[j].segno;
            w.to_us = w.from_us;
            for (size_t k = i; k <= j; k++) {
                if (cw->segs[k].segno >= w.first_segno && cw->segs[k].xacts > 0 &&
                    cw->segs[k].last_xact_us > w.to_us) {
                    w.to_us = cw->segs[k].last_xact_us;
                }
            }
            if (j + 1 < cw->n_segs && cw->segs[j + 1].segno == cw->segs[j].segno + 1) {
                /* listed in the catalog, but not in the repository as archived */
                w.gap_segno = cw->segs[j + 1].segno;
                w.gap_reason = state[j + 1].why;
                w.gap_size = state[j + 1].size;
                w.gap_recorded = cw->segs[j + 1].stored_size;
            } else if (j + 1 < cw->n_segs) {
                w.gap_segno = cw->segs[j].segno + 1;
                w.gap_reason = CATALOG_GAP_UNCATALOGED;
            }
            add_window(out, &w);
            add_rps(out, cw, &w, from_lsn);
        }
        i = j + 1;
    }
}

/* Counts the stretches of segments a recovery cannot pass on one timeline from segment `from`
 * (its oldest backup's start, or where it branched off) to the last segment the catalog lists:
 * missing from the catalog, or (state) not in the repository as archived. */
static size_t count_gaps(const struct catalog_wal *cw, const struct seg_state *state, uint64_t from)
{
    size_t gaps = 0;
    uint64_t next = from; /* the first segment not accounted for yet */
    bool in_gap = false;

    for (size_t i = 0; i < cw->n_segs; i++) {
        if (cw->segs[i].segno < from) {
            continue;
        }
        if (cw->segs[i].segno > next && !in_gap) {
            gaps++; /* segments next .. segno - 1 are not in the catalog */
        }
        in_gap = cw->segs[i].segno > next || in_gap;
        if (usable(state, i)) {
            in_gap = false;
        } else if (!in_gap) {
            gaps++;
            in_gap = true;
        }
        next = cw->segs[i].segno + 1;
    }
    return gaps;
}

/* Where a timeline's WAL starts to matter: its oldest backup's start, or the segment where it
 * branched off its parent, whichever comes first (UINT64_MAX: neither, nothing can reach it). */
static uint64_t gaps_from(const struct backup_record *backups, size_t n_backups, uint32_t tli,
                          uint32_t parent, uint64_t switch_lsn, uint32_t seg_size)
{
    uint64_t from = parent != 0 ? wal_segno_of_lsn(switch_lsn, seg_size) : UINT64_MAX;

    for (size_t i = 0; i < n_backups; i++) {
        uint64_t start = wal_segno_of_lsn(backups[i].start_lsn, seg_size);

        if (backups[i].timeline == tli && start < from) {
            from = start;
        }
    }
    return from;
}

static enum pitr_rc timeline_compute(const struct repo_session *repo,
                                     const struct backup_record *backups, size_t n_backups,
                                     uint32_t tli, struct catalog_windows *res,
                                     struct pitr_err *err)
{
    struct catalog_wal cw = {NULL, 0, NULL, 0};
    struct seg_state *state = NULL;
    uint32_t parent = 0;
    uint64_t switch_lsn = 0;
    enum pitr_rc rc = read_parent(repo, tli, &parent, &switch_lsn, err);

    if (rc == PITR_OK) {
        rc = catalog_load_timeline(repo, tli, 0, res->seg_size, &cw, err);
    }
    if (rc == PITR_OK && res->verified && cw.n_segs > 0) {
        state = xcalloc(cw.n_segs, sizeof(*state));
        rc = check_objects(repo, &cw, tli, res->seg_size, state, err);
    }
    if (rc == PITR_OK) {
        uint64_t from = gaps_from(backups, n_backups, tli, parent, switch_lsn, res->seg_size);

        timeline_windows(res, &cw, state, backups, n_backups, tli, parent, switch_lsn);
        res->tlis = xrealloc(res->tlis, (res->n_tlis + 1) * sizeof(*res->tlis));
        res->tlis[res->n_tlis++] = (struct catalog_tli_gaps){tli, count_gaps(&cw, state, from)};
    }
    free(state);
    catalog_wal_fini(&cw);
    return rc;
}

enum pitr_rc catalog_windows_compute(const struct repo_session *repo,
                                     const struct backup_record *backups, size_t n_backups,
                                     bool verify, struct catalog_windows *out, struct pitr_err *err)
{
    struct catalog_windows res = {NULL, 0, NULL, 0, 0, NULL, 0, false};
    struct tli_list tlis = {NULL, 0};
    char dir[1024];
    enum pitr_rc rc = str_format(dir, sizeof(dir), err, "%s/catalog/wal", repo->cluster);

    res.verified = verify;
    if (n_backups == 0) {
        *out = res;
        return rc;
    }
    res.seg_size = backups[0].wal_seg_size;
    if (rc == PITR_OK) {
        rc = storage_list(repo->storage, dir, STORAGE_LIST_CHILDREN, collect_tli, &tlis, err);
    }
    if (rc == PITR_NOT_FOUND) {
        rc = PITR_OK;
    }
    if (rc == PITR_OK && tlis.n > 1) {
        qsort(tlis.v, tlis.n, sizeof(*tlis.v), compare_u32);
    }
    for (size_t t = 0; rc == PITR_OK && t < tlis.n; t++) {
        rc = timeline_compute(repo, backups, n_backups, tlis.v[t], &res, err);
    }
    free(tlis.v);
    if (rc != PITR_OK) {
        catalog_windows_fini(&res);
        return rc;
    }
    *out = res;
    return PITR_OK;
}

void catalog_windows_fini(struct catalog_windows *w)
{
    free(w->v);
    free(w->rps);
    free(w->tlis);
    memset(w, 0, sizeof(*w));
}

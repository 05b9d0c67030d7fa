/* plan: everything here only reads the repository. The WAL check walks segment by segment from
 * the backup's start along the timeline path by the catalog, so a hole anywhere is found before a
 * single file is written. The catalog is an index, not the truth: each WAL folder the walk enters
 * is listed once in the repository, and every segment must be there at the size the catalog
 * recorded (with a key, authenticated too); recovery then verifies every segment it fetches. */
#include "plan.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strutil.h"
#include "base/timestamp.h"
#include "base/xalloc.h"
#include "pg/wal.h"
#include "repo/repo.h"

enum { TLI_MAX_PROBE = 10000 };

/* With a key, a segment the plan relies on must be the one its name says: a valid object copied
 * over it (or one written without the key) would end recovery early, so the plan checks each
 * one's authenticated header (one small ranged read, no download) before promising anything.
 * PITR_NOT_FOUND when the object is gone although the catalog lists it. */
static enum pitr_rc wal_authentic(const struct repo_session *repo, uint32_t tli, uint64_t segno,
                                  uint32_t seg_size, struct pitr_err *err)
{
    char name[25];
    char key[1024];
    struct wal_file f;
    enum pitr_rc rc;

    wal_segment_name(tli, segno, seg_size, name);
    rc = wal_parse_name(name, &f, err);
    if (rc == PITR_OK) {
        rc = repo_wal_key(repo->cluster, name, &f, key, sizeof(key), err);
    }
    if (rc == PITR_OK) {
        rc = repo_check_object(repo, key, err);
    }
    if (rc != PITR_OK && rc != PITR_NOT_FOUND) {
        err_prefix(err, "WAL segment %s cannot be used", name);
    }
    return rc;
}

static enum pitr_rc history_key(const char *cluster, uint32_t tli, char *out, size_t size,
                                struct pitr_err *err)
{
    return str_format(out, size, err, "%s/wal/history/%08X.history", cluster, tli);
}

static enum pitr_rc read_history(const struct repo_session *repo, uint32_t tli,
                                 struct timeline_history *out, struct pitr_err *err)
{
    char key[1024];
    struct buf text = {0};
    enum pitr_rc rc = history_key(repo->cluster, tli, key, sizeof(key), err);

    if (rc == PITR_OK && tli == 1) {
        *out = (struct timeline_history){1, NULL, 0};
        return PITR_OK;
    }
    if (rc == PITR_OK) {
        rc = repo_get_text(repo, key, 1024 * 1024, &text, err);
    }
    if (rc == PITR_NOT_FOUND) {
        rc = err_set(err, PITR_CONFIG,
                     "timeline %u has no history file in the repository (%s): choose another "
                     "--timeline",
                     tli, key);
    }
    if (rc == PITR_OK) {
        rc = timeline_history_parse((const char *)text.data, tli, key, out, err);
    }
    buf_fini(&text);
    return rc;
}

/* PostgreSQL's "latest": the highest timeline whose history files follow on from `from` without
 * a break. */
static enum pitr_rc latest_timeline(const struct repo_session *repo, uint32_t from, uint32_t *out,
                                    struct pitr_err *err)
{
    uint32_t tli = from;

    for (int i = 0; i < TLI_MAX_PROBE; i++) {
        char key[1024];
        struct storage_info info;
        enum pitr_rc rc = history_key(repo->cluster, tli + 1, key, sizeof(key), err);

        if (rc == PITR_OK) {
            rc = storage_stat(repo->storage, key, &info, err);
        }
        if (rc == PITR_NOT_FOUND) {
            break;
        }
        if (rc != PITR_OK) {
            return rc;
        }
        tli++;
    }
    *out = tli;
    return PITR_OK;
}

static bool matches_target(const struct backup_record *b, const struct restore_options *o)
{
    switch (o->target) {
    case RESTORE_TO_TIME:
        return b->stop_time * 1000000 <= o->time_us;
    case RESTORE_TO_LSN:
        return b->stop_lsn <= o->lsn;
    default:
        return true;
    }
}

static void fmt_time(int64_t seconds, char out[TIMESTAMP_TEXT_LEN])
{
    timestamp_format(seconds * 1000000, out);
}

/* The timeline recovery targets for backup b. */
static enum pitr_rc target_timeline(const struct repo_session *repo, const struct backup_record *b,
                                    const struct restore_options *o, uint32_t *out,
                                    struct pitr_err *err)
{
    uint64_t n;

    if (o->timeline == NULL || strcmp(o->timeline, "latest") == 0) {
        return latest_timeline(repo, b->timeline, out, err);
    }
    if (strcmp(o->timeline, "current") == 0) {
        *out = b->timeline;
        return PITR_OK;
    }
    if (str_parse_u64(o->timeline, "--timeline", &n, err) != PITR_OK || n == 0 || n > UINT32_MAX) {
        return err_set(err, PITR_CONFIG,
                       "invalid --timeline \"%s\": use latest, current or a timeline number",
                       o->timeline);
    }
    *out = (uint32_t)n;
    return PITR_OK;
}

/* Picks the newest complete backup that reaches the target on its timeline path. */
static enum pitr_rc choose_backup(const struct repo_session *repo, const struct restore_options *o,
                                  struct backup_record *list, size_t n, struct restore_plan *p,
                                  struct pitr_err *err)
{
    enum pitr_rc rc = PITR_OK;
    bool any_time_match = false;

    for (size_t i = n; i-- > 0;) {
        struct backup_record *b = &list[i];
        struct timeline_history h;
        uint32_t tli = 0;

        if (o->backup_id != NULL ? strcmp(b->id, o->backup_id) != 0 : !matches_target(b, o)) {
            continue;
        }
        if (o->backup_id != NULL && !matches_target(b, o)) {
            char stop[TIMESTAMP_TEXT_LEN];

            fmt_time(b->stop_time, stop);
            return err_set(err, PITR_CONFIG,
                           "backup %s became consistent at %s, after the target: choose an older "
                           "backup or a later target",
                           b->id, stop);
        }
        any_time_match = true;
        rc = target_timeline(repo, b, o, &tli, err);
        if (rc == PITR_OK) {
            rc = read_history(repo, tli, &h, err);
        }
        if (rc != PITR_OK) {
            return rc;
        }
        if (timeline_history_end(&h, b->timeline) >= b->stop_lsn) {
            p->backup = *b;
            memset(b, 0, sizeof(*b)); /* moved into the plan */
            p->target_tli = tli;
            p->history = h;
            return PITR_OK;
        }
        timeline_history_fini(&h);
        if (o->backup_id != NULL) {
            return err_set(err, PITR_CONFIG,
                           "backup %s (timeline %u) is not on the history of timeline %u: choose "
                           "another --timeline or backup",
                           b->id, b->timeline, tli);
        }
    }
    if (o->backup_id != NULL) {
        return err_set(err, PITR_CONFIG,
                       "backup %s does not exist or is not complete: see pitr-catalog list",
                       o->backup_id);
    }
    if (o->target == RESTORE_TO_TIME && !any_time_match) {
        char t[TIMESTAMP_TEXT_LEN];
        char first[TIMESTAMP_TEXT_LEN];

        timestamp_format(o->time_us, t);
        fmt_time(list[0].stop_time, first);
        return err_set(err, PITR_CONFIG,
                       "%s is before the oldest backup became consistent: the earliest "
                       "recoverable time is %s (backup %s)",
                       t, first, list[0].id);
    }
    if (o->target == RESTORE_TO_LSN && !any_time_match) {
        char l[18];

        wal_lsn_format(list[0].stop_lsn, l);
        return err_set(err, PITR_CONFIG,
                       "the target LSN is before the oldest backup became consistent: the "
                       "earliest recoverable LSN is %s (backup %s)",
                       l, list[0].id);
    }
    return err_set(err, PITR_CONFIG,
                   "no complete backup lies on the path to the target timeline: check --timeline");
}

/* Notes where and why the walk stopped (obj and seg: the segment's object and catalog entry, or
 * NULL), and whether that is a gap rather than the end: the catalog lists the segment itself
 * (archived, then lost from the repository), or any segment after it, in the folder loaded or in
 * a later folder. */
static void note_gap(struct restore_plan *p, const struct catalog_wal *w,
                     const struct catalog_reader *r, uint32_t tli, uint64_t missing,
                     enum catalog_gap why, const struct catalog_seg *seg,
                     const struct repo_wal_object *obj)
{
    bool later = why != CATALOG_GAP_UNCATALOGED || catalog_reader_has_after(r, missing);

    p->missing = why;
    p->missing_tli = tli;
    p->missing_segno = missing;
    p->missing_size = obj != NULL ? obj->size : 0;
    p->missing_recorded = seg != NULL ? seg->stored_size : 0;
    for (size_t i = w->n_segs; !later && i-- > 0;) {
        later = w->segs[i].tli == tli && w->segs[i].segno > missing;
    }
    if (later) {
        p->gap = true;
        p->gap_tli = tli;
        p->gap_segno = missing;
    }
}

/* Whether recovery to the target ends inside segment (tli, segno), so later WAL does not matter:
 * a time target at the first transaction end after it, an LSN in its segment, a restore point
 * where it lies, an immediate target at the consistency point. */
static bool target_reached(const struct restore_plan *p, const struct restore_options *o,
                           const struct catalog_seg *seg, uint32_t tli, uint64_t segno)
{
    if (segno < p->stop_segno) {
        return false;
    }
    switch (o->target) {
    case RESTORE_TO_TIME:
        return seg != NULL && seg->xacts > 0 && seg->last_xact_us > o->time_us;
    case RESTORE_TO_LSN:
        return segno >= wal_segno_of_lsn(o->lsn, p->backup.wal_seg_size);
    case RESTORE_TO_IMMEDIATE:
        return true;
    case RESTORE_TO_NAME:
        for (size_t i = 0; i < p->n_rps; i++) {
            if (p->rps[i].tli == tli && strcmp(p->rps[i].name, o->value) == 0) {
                return true;
            }
        }
        return false;
    default:
        return false; /* latest, or an xid the catalog does not index: walk to the end */
    }
}

/* Takes one present segment into the plan's view of the end of the WAL. Segments come in
 * order, and w's restore points are sorted, so *next_rp (the first restore point not yet looked
 * at) only moves forward: the walk stays linear however many restore points there are. */
static void advance(struct restore_plan *p, uint32_t tli, uint64_t segno,
                    const struct catalog_seg *seg, const struct catalog_wal *w, size_t *next_rp,
                    int64_t mtime)
{
    uint32_t seg_size = p->backup.wal_seg_size;

    p->end_tli = tli;
    p->end_segno = segno;
    if (seg == NULL) {
        p->uncataloged++;
        p->end_archived_us = mtime * 1000000;
        return;
    }
    p->end_archived_us = seg->archived_us;
    if (seg->xacts > 0 && segno >= p->stop_segno) {
        p->has_xact = true;
        p->last_xact_us = seg->last_xact_us;
    }
    while (*next_rp < w->n_rps && (w->rps[*next_rp].tli < tli ||
                                   (w->rps[*next_rp].tli == tli &&
                                    wal_segno_of_lsn(w->rps[*next_rp].lsn, seg_size) < segno))) {
        (*next_rp)++;
    }
    for (; *next_rp < w->n_rps && w->rps[*next_rp].tli == tli &&
           wal_segno_of_lsn(w->rps[*next_rp].lsn, seg_size) == segno;
         (*next_rp)++) {
        if (w->rps[*next_rp].lsn >= p->backup.stop_lsn) {
            p->rps = xrealloc(p->rps, (p->n_rps + 1) * sizeof(*p->rps));
            p->rps[p->n_rps++] = w->rps[*next_rp];
        }
    }
}

/* Walks the WAL from the backup's start along the timeline path, folder by folder of the
 * catalog, to the segment where recovery reaches the target or to the first segment that cannot
 * be recovered through. Each folder entered is listed once in the repository (one request per 256
 * segments, no download): a segment counts only when its object is there at the size the catalog
 * recorded, whatever the catalog says, because a plan that trusts an object deleted or truncated
 * behind pitr's back ends in a recovery that stops short of its target after the restore has
 * already overwritten the destination. */
static enum pitr_rc walk_wal(const struct repo_session *repo, const struct restore_options *o,
                             struct restore_plan *p, struct pitr_err *err)
{
    const struct backup_record *b = &p->backup;
    uint32_t seg_size = b->wal_seg_size;
    uint64_t per_folder = wal_segs_per_log(seg_size);
    uint64_t cur = p->start_segno;
    size_t first = 0;
    enum pitr_rc rc = PITR_OK;
    bool stopped = false;

    p->authenticated = repo->key != NULL;
    while (first < p->history.n && p->history.entries[first].tli != b->timeline) {
        first++;
    }
    for (size_t i = first; rc == PITR_OK && !stopped && i <= p->history.n; i++) {
        uint32_t tli = i < p->history.n ? p->history.entries[i].tli : p->history.tli;
        uint64_t last = i < p->history.n
                            ? wal_segno_of_lsn(p->history.entries[i].end_lsn, seg_size) - 1
                            : UINT64_MAX;
        struct catalog_reader *r = NULL;
        struct catalog_wal w = {NULL, 0, NULL, 0};
        struct repo_wal_folder objects = {NULL, 0};
        uint64_t loaded = UINT64_MAX; /* the folder in w and objects */
        size_t next_rp = 0;

        rc = catalog_reader_open(repo, tli, cur, seg_size, &r, err);
        for (; rc == PITR_OK && !stopped && cur <= last; cur++) {
            const struct catalog_seg *seg = NULL;
            const struct repo_wal_object *obj = NULL;
            enum catalog_gap why = CATALOG_GAP_NONE;
            long at;

            if (cur / per_folder != loaded) {
                catalog_wal_fini(&w);
                repo_wal_folder_fini(&objects);
                rc = catalog_reader_load(r, cur, &w, err);
                if (rc == PITR_OK) {
                    rc = repo_wal_folder_list(repo, tli, cur, seg_size, &objects, err);
                }
                loaded = cur / per_folder;
                next_rp = 0;
            }
            if (rc != PITR_OK) {
                break;
            }
            at = catalog_find(&w, tli, cur);
            seg = at >= 0 ? &w.segs[at] : NULL;
            obj = repo_wal_folder_find(&objects, cur);
            why = catalog_seg_check(seg, obj);
            /* an object there but not authentic is an attack, not a gap: the whole plan fails */
            if (obj != NULL && repo->key != NULL) {
                rc = wal_authentic(repo, tli, cur, seg_size, err);
                if (rc == PITR_NOT_FOUND) { /* removed since the listing */
                    why = seg != NULL ? CATALOG_GAP_MISSING : CATALOG_GAP_UNCATALOGED;
                    obj = NULL;
                    rc = PITR_OK;
                }
            }
            if (rc == PITR_OK && why != CATALOG_GAP_NONE) {
                note_gap(p, &w, r, tli, cur, why, seg, obj);
                stopped = true;
            } else if (rc == PITR_OK) {
                p->listed++;
                p->sized += seg != NULL && seg->stored_size != 0;
                advance(p, tli, cur, seg, &w, &next_rp, obj->mtime);
                p->reached = target_reached(p, o, seg, tli, cur);
                stopped = p->reached;
            }
        }
        repo_wal_folder_fini(&objects);
        catalog_wal_fini(&w);
        catalog_reader_free(r);
    }
    if (rc == PITR_OK && (p->end_tli == 0 || p->end_segno < p->stop_segno)) {
        char name[25];
        char why[160] = "is not in the repository";

        if (p->missing != CATALOG_GAP_NONE) {
            wal_segment_name(p->missing_tli, p->missing_segno, seg_size, name);
        } else {
            wal_segment_name(p->end_tli ? p->end_tli : b->timeline,
                             p->end_tli ? p->end_segno + 1 : p->start_segno, seg_size, name);
        }
        if (p->missing == CATALOG_GAP_SIZE) {
            catalog_gap_text(p->missing, p->missing_size, p->missing_recorded, why, sizeof(why));
        }
        rc = err_set(err, PITR_CONFIG,
                     "backup %s cannot be restored: WAL segment %s, needed to make it consistent, "
                     "%s",
                     b->id, name, why);
    }
    return rc;
}

/* The latest time a recovery to a time can reach: the last commit or abort in the contiguous
 * WAL (PostgreSQL stops only at a transaction's end record, and refuses to end recovery short of
 * its target). Without catalog entries for some segments, their archive time stands in. */
static int64_t window_end_us(const struct restore_plan *p)
{
    int64_t end = p->has_xact ? p->last_xact_us : p->backup.stop_time * 1000000;

    if (p->uncataloged > 0 && p->end_archived_us > end) {
        end = p->end_archived_us;
    }
    return end;
}

/* Refuses targets beyond the archived WAL, naming the nearest recoverable time. */
static enum pitr_rc check_window(const struct restore_plan *p, const struct restore_options *o,
                                 struct pitr_err *err)
{
    char end[TIMESTAMP_TEXT_LEN];
    char gap[25] = "";
    char why[160] = "";
    char upto[256] = "";
    uint64_t end_lsn = (p->end_segno + 1) * (uint64_t)p->backup.wal_seg_size;

    if (p->reached) {
        return PITR_OK; /* the walk found where recovery stops */
    }
    timestamp_format(window_end_us(p), end);
    if (p->gap) {
        wal_segment_name(p->gap_tli, p->gap_segno, p->backup.wal_seg_size, gap);
        catalog_gap_text(p->missing, p->missing_size, p->missing_recorded, why, sizeof(why));
        if (p->missing == CATALOG_GAP_SIZE) {
            snprintf(upto, sizeof(upto), " up to segment %s, which %s", gap, why);
        } else {
            snprintf(upto, sizeof(upto), " up to the missing segment %s", gap);
        }
    }
    if (o->target == RESTORE_TO_TIME && o->time_us > window_end_us(p)) {
        char t[TIMESTAMP_TEXT_LEN];

        timestamp_format(o->time_us, t);
        if (p->gap) {
            return err_set(err, PITR_CONFIG,
                           "%s is not recoverable from backup %s: WAL segment %s %s, so "
                           "recovery cannot pass %s, the last commit before it; choose a time "
                           "before that or a backup taken after the gap",
                           t, p->backup.id, gap, why, end);
        }
        return err_set(err, PITR_CONFIG,
                       "%s is after the end of the archived WAL: the latest recoverable time is "
                       "%s, the last commit archived (use --to latest for everything archived)",
                       t, end);
    }
    if (o->target == RESTORE_TO_LSN && o->lsn > end_lsn) {
        char l[18];

        wal_lsn_format(end_lsn, l);
        return err_set(err, PITR_CONFIG,
                       "the target LSN is after the end of the archived WAL (%s%s%s%s): the "
                       "latest recoverable LSN is below %s",
                       p->gap ? "segment " : "", gap, p->gap ? " " : "", why, l);
    }
    if (o->target == RESTORE_TO_NAME && p->uncataloged == 0) {
        for (size_t i = 0; i < p->n_rps; i++) {
            if (strcmp(p->rps[i].name, o->value) == 0) {
                return PITR_OK;
            }
        }
        return err_set(err, PITR_CONFIG,
                       "restore point \"%s\" is not in the archived WAL after backup %s%s: see "
                       "pitr-catalog windows for the restore points there are",
                       o->value, p->backup.id, upto);
    }
    return PITR_OK;
}

enum pitr_rc restore_plan_build(const struct repo_session *repo, const struct restore_options *opts,
                                struct restore_plan *out, struct pitr_err *err)
{
    struct restore_plan p;
    struct backup_record *list = NULL;
    size_t n = 0;
    enum pitr_rc rc = backup_list_complete(repo, &list, &n, err);

    memset(&p, 0, sizeof(p));
    if (rc == PITR_OK && n == 0) {
        rc = err_set(err, PITR_NOT_FOUND,
                     "the repository has no complete backup of cluster \"%s\": take one with "
                     "pitr-basebackup",
                     repo->cluster);
    }
    if (rc == PITR_OK) {
        p.oldest_stop_time = list[0].stop_time;
        rc = choose_backup(repo, opts, list, n, &p, err);
    }
    backup_list_free(list, n);
    if (rc == PITR_OK) {
        p.start_segno = wal_segno_of_lsn(p.backup.start_lsn, p.backup.wal_seg_size);
        /* the end-of-backup record ends before stop_lsn, in the segment that holds stop_lsn - 1 */
        p.stop_segno = wal_segno_of_lsn(p.backup.stop_lsn - 1, p.backup.wal_seg_size);
        rc = walk_wal(repo, opts, &p, err);
    }
    if (rc == PITR_OK) {
        rc = check_window(&p, opts, err);
    }
    if (rc != PITR_OK) {
        restore_plan_fini(&p);
        return rc;
    }
    *out = p;
    return PITR_OK;
}

void restore_plan_fini(struct restore_plan *p)
{
    free(p->rps);
    backup_record_fini(&p->backup);
    timeline_history_fini(&p->history);
}

static void print_target(const struct restore_options *o)
{
    char t[TIMESTAMP_TEXT_LEN];
    char l[18];

    switch (o->target) {
    case RESTORE_TO_TIME:
        timestamp_format(o->time_us, t);
        printf("  target:       time %s (UTC)\n", t);
        break;
    case RESTORE_TO_LSN:
        wal_lsn_format(o->lsn, l);
        printf("  target:       LSN %s\n", l);
        break;
    case RESTORE_TO_XID:
        printf("  target:       transaction %s\n", o->value);
        break;
    case RESTORE_TO_NAME:
        printf("  target:       restore point \"%s\"\n", o->value);
        break;
    case RESTORE_TO_IMMEDIATE:
        printf("  target:       the backup's consistency point\n");
        break;
    case RESTORE_TO_LATEST:
        printf("  target:       latest (the end of the archived WAL)\n");
        break;
    }
}

/* What the plan checked of those segments in the repository, so the DBA knows what "archived"
 * rests on. */
static void print_checked(const struct restore_plan *p)
{
    if (p->sized == p->listed) {
        printf("  checked:      %zu segment(s) in the repository at the sizes archived%s\n",
               p->listed, p->authenticated ? ", authenticated" : "");
        return;
    }
    printf("  checked:      %zu segment(s) in the repository%s, %zu of them at the sizes archived "
           "(the catalog records no size for the others: pitr-catalog rebuild adds it)\n",
           p->listed, p->authenticated ? ", authenticated" : "", p->sized);
}

void restore_plan_print(const struct restore_plan *p, const struct restore_options *o)
{
    const struct backup_record *b = &p->backup;
    char start[TIMESTAMP_TEXT_LEN];
    char stop[TIMESTAMP_TEXT_LEN];
    char end[TIMESTAMP_TEXT_LEN];
    char raw[16];
    char stored[16];
    char lsn[18];
    char first_seg[25];
    char last_seg[25];

    fmt_time(b->start_time, start);
    fmt_time(b->stop_time, stop);
    timestamp_format(window_end_us(p), end);
    str_human_bytes(b->raw_bytes, raw);
    str_human_bytes(b->stored_bytes, stored);
    wal_lsn_format(b->stop_lsn, lsn);
    wal_segment_name(b->timeline, p->start_segno, b->wal_seg_size, first_seg);
    wal_segment_name(p->end_tli, p->end_segno, b->wal_seg_size, last_seg);
    printf("Restore plan\n");
    print_target(o);
    printf("  backup:       %s (%s%s%s), %s, %s stored\n", b->id, b->type,
           b->label && b->label[0] ? ", " : "", b->label ? b->label : "", raw, stored);
    printf("  taken:        %s .. %s, timeline %u\n", start, stop, b->timeline);
    printf("  consistent:   at LSN %s\n", lsn);
    printf("  timeline:     recovery ends on timeline %u (--timeline %s)\n", p->target_tli,
           o->timeline ? o->timeline : "latest");
    if (p->reached) {
        printf("  WAL needed:   %s .. %s, all archived: recovery reaches the target in the last "
               "one\n",
               first_seg, last_seg);
        print_checked(p);
        return;
    }
    printf("  WAL archived: %s .. %s, contiguous\n", first_seg, last_seg);
    print_checked(p);
    if (p->gap) {
        char gap[25];
        char why[160];

        wal_segment_name(p->gap_tli, p->gap_segno, b->wal_seg_size, gap);
        catalog_gap_text(p->missing, p->missing_size, p->missing_recorded, why, sizeof(why));
        printf("  gap:          %s %s: recovery cannot go further\n", gap, why);
    }
    printf("  window:       %s .. %s%s: the target is inside it\n", stop, end,
           p->uncataloged > 0 ? " (approximate: some segments have no catalog entry; run "
                                "pitr-catalog rebuild)"
                              : "");
}

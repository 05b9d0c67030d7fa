/* plan: decides, before anything is written, which base backup reaches the target and whether
 * the WAL from that backup to the target is all in the repository, following timeline history
 * the way PostgreSQL's recovery will. */
#ifndef PITR_RESTORE_PLAN_H
#define PITR_RESTORE_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "catalog/catalog.h"
#include "pg/timeline.h"
#include "repo/backup.h"
#include "restore.h"
#include "storage/storage.h"

struct restore_plan {
    struct backup_record backup;     /* the chosen backup (owned) */
    uint32_t target_tli;             /* the timeline recovery ends on */
    struct timeline_history history; /* of target_tli (owned) */
    /* the WAL: every segment from the backup's start to (end_tli, end_segno) is archived */
    uint64_t start_segno;
    uint64_t stop_segno; /* the backup is consistent once this segment is replayed */
    uint32_t end_tli;
    uint64_t end_segno;
    int64_t end_archived_us; /* when the last of those segments was archived */
    bool has_xact;           /* a commit or abort after the backup's consistency point */
    int64_t last_xact_us;    /* the last of them: the end of the window for time targets */
    size_t uncataloged;      /* segments found in storage but not in the catalog */
    struct catalog_rp *rps;  /* restore points after the consistency point (owned) */
    size_t n_rps;
    /* recovery reaches the target in (end_tli, end_segno): later WAL was not looked at */
    bool reached;
    /* segments walked and found in a listing of the repository; of them, checked by size too
     * (the others' catalog entries were written before pitr recorded sizes, or are missing) */
    size_t listed;
    size_t sized;
    bool authenticated; /* and each one's header authenticated under the key */
    /* where the walk stopped short of the target (CATALOG_GAP_NONE: it did not) and why; for
     * CATALOG_GAP_SIZE, the object's size and the size the catalog recorded */
    enum catalog_gap missing;
    uint32_t missing_tli;
    uint64_t missing_segno;
    uint64_t missing_size;
    uint64_t missing_recorded;
    /* that segment is a gap rather than the end of the WAL: later WAL exists beyond it, or the
     * catalog lists it (it was archived, and the repository lost it) */
    bool gap;
    uint32_t gap_tli;
    uint64_t gap_segno;
    /* the oldest complete backup's consistency time (for messages) */
    int64_t oldest_stop_time;
};

/* Builds the plan for opts in the repository's cluster (history files decrypted with k, which
 * may be NULL). PITR_CONFIG (the message names the nearest
 * recoverable times) when no backup and WAL reach the target; PITR_NOT_FOUND when the repository
 * has no complete backup. The caller releases *out with restore_plan_fini. */
struct key;

enum pitr_rc restore_plan_build(const struct repo_session *repo, const struct restore_options *opts,
                                struct restore_plan *out, struct pitr_err *err) PITR_MUST_CHECK;
void restore_plan_fini(struct restore_plan *p);

/* Prints the plan for a DBA (stdout). */
void restore_plan_print(const struct restore_plan *p, const struct restore_options *opts);

#endif

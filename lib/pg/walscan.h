/* walscan: reads one WAL segment (PostgreSQL 13 to 16) as it streams past, in pieces of any size,
 * and reports when the transactions in it committed and aborted and which restore points it
 * holds. Every record is checked (page headers, prev-links, CRC-32C) the way PostgreSQL reads
 * WAL; memory stays fixed: a record header, the head of its block headers and of its main data. */
#ifndef PITR_PG_WALSCAN_H
#define PITR_PG_WALSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "stream/filter.h"

enum {
    WALSCAN_MAX_RESTORE_POINTS = 8, /* kept per segment; more are counted, not kept */
    WALSCAN_RP_NAME_LEN = 64,       /* PostgreSQL's MAXFNAMELEN, NUL included */
};

struct walscan_restore_point {
    char name[WALSCAN_RP_NAME_LEN]; /* NUL-terminated, as given to pg_create_restore_point() */
    int64_t time;                   /* Unix time in microseconds */
    uint64_t lsn;                   /* where the record starts (what pg_waldump prints) */
    uint64_t end_lsn;               /* where it ends: what pg_create_restore_point() returned */
};

/* What one segment holds. Times are Unix microseconds; "first" and "last" are in WAL order (the
 * order recovery meets them), which may differ from the smallest and largest by a little, because
 * a commit's time is taken just before its record is inserted. A record is reported by the
 * segment it starts and ends in: one that crosses into the next segment cannot be verified and is
 * reported by neither. */
struct walscan_result {
    unsigned pg_version; /* 13..16, from the page magic */
    uint32_t tli;        /* xlp_tli of the first page */
    uint64_t sysid;      /* the cluster's system identifier */
    uint32_t seg_size;
    uint64_t start_lsn; /* the segment's first byte */

    /* True when valid WAL fills the segment: records up to its end (the last one may continue
     * into the next segment), or up to an XLOG_SWITCH record, after which the segment is zeros.
     * False when the valid WAL stops early (CRC mismatch, zeroed or foreign pages): a segment
     * that was still being written, or damage. Not an error: what was read is still reported. */
    bool well_formed;
    bool switched;        /* valid WAL ended with an XLOG_SWITCH record */
    char end_reason[160]; /* why the valid WAL ended, for messages */
    uint64_t records;     /* complete, verified records */
    uint64_t end_lsn;     /* end of the last of them (MAXALIGNed, as PostgreSQL's EndRecPtr);
                             0 when none ends in this segment */

    uint64_t commits; /* COMMIT and COMMIT_PREPARED records */
    int64_t first_commit;
    int64_t last_commit; /* first/last_commit: valid when commits > 0 */
    uint64_t aborts;     /* ABORT and ABORT_PREPARED records */
    int64_t first_abort;
    int64_t last_abort; /* first/last_abort: valid when aborts > 0 */

    unsigned restore_points;         /* entries used in restore_point[], in WAL order */
    uint64_t restore_points_dropped; /* restore points beyond WALSCAN_MAX_RESTORE_POINTS */
    struct walscan_restore_point restore_point[WALSCAN_MAX_RESTORE_POINTS];
};

struct walscan;

/* A scanner for the segment named `name` (as archive_command's %f: a segment, or a .partial
 * one); the name fixes the first page's address and the highest timeline allowed. PITR_CONFIG
 * (returns NULL, fills err) when name is not a WAL segment name. The caller frees it. */
struct walscan *walscan_new(const char *name, struct pitr_err *err);

/* Scans the next len bytes of the segment (data borrowed for the call). PITR_CORRUPT when the
 * input is not this WAL segment at all: the first page's header is not a PostgreSQL 13-16 long
 * header, its segment or page size is invalid, its address or timeline does not match the name,
 * or more than the segment size is fed. Errors are sticky. Damage after a valid first page is not
 * an error (see well_formed). */
enum pitr_rc walscan_feed(struct walscan *ws, const uint8_t *data, size_t len,
                          struct pitr_err *err) PITR_MUST_CHECK;

/* Ends the scan and writes the result to out. PITR_CORRUPT when fewer bytes than the segment size
 * (or none) were fed, or a feed failed. */
enum pitr_rc walscan_finish(struct walscan *ws, struct walscan_result *out,
                            struct pitr_err *err) PITR_MUST_CHECK;

/* NULL is fine. */
void walscan_free(struct walscan *ws);

/* The same scanner as a pipeline stage for the segment `name` (NULL and PITR_CONFIG as
 * walscan_new): it scans what passes and forwards it unchanged, so it can be the sink of a tee's
 * side pipeline or an observer in the main one. Its errors are those of walscan_feed and
 * walscan_finish, so a stage placed in the archive pipeline fails the archive of a file that is
 * not the named WAL segment. Owned by the caller or a pipeline. */
struct filter *walscan_filter_new(const char *name, struct pitr_err *err);
/* The result; valid once the stage has finished successfully. */
const struct walscan_result *walscan_filter_result(const struct filter *f);

#endif

/* catalog: what the repository can recover, as flat text files stored in the repository itself.
 *
 *   <cluster>/catalog/wal/<TTTTTTTTXXXXXXXX>/<segment>   one entry per archived segment, written
 *                                                       create-only by pitr-archive after the
 *                                                       segment itself is stored
 *   <cluster>/catalog/wal/<TTTTTTTTXXXXXXXX>.cat        the entries of one WAL folder merged into
 *                                                       one file (written whole, atomically)
 *
 * Every file is plain text: a "pitr-catalog 1" header, then one line per fact, each ending in
 * " ~" and 16 hex digits of the SHA-256 of the line before it, so a damaged line is detected on
 * its own and the rest still reads:
 *
 *   seg 000000010000000000000003 size=16777216 archived=2026-01-08T14:30:00.000000Z xacts=12
 *       first=2026-01-08T14:25:01.123456Z last=2026-01-08T14:29:59.654321Z ~0123456789abcdef
 *   rp 000000010000000000000003 lsn=0/3000100 time=2026-01-08T14:27:00.000000Z name=before_drop
 * ~...
 *
 * Nothing is ever removed from an entry's folder by a merge, and a merge writes the union of what
 * it read, so concurrent writers can only make a .cat file lag behind the entries, never lose
 * one: readers always add the entries a folder's .cat file does not have. The catalog is derived
 * data: `pitr-catalog rebuild` recreates it from the WAL objects. */
#ifndef PITR_CATALOG_CATALOG_H
#define PITR_CATALOG_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "storage/storage.h"

enum { CATALOG_RP_NAME_MAX = 64, CATALOG_TIME_LEN = 48 };

/* One archived segment. */
struct catalog_seg {
    uint32_t tli;
    uint64_t segno;
    uint32_t seg_size;
    int64_t archived_us;   /* when pitr-archive stored it */
    uint32_t xacts;        /* commit and abort records in it: each can end a recovery to a time */
    int64_t first_xact_us; /* valid when xacts > 0 */
    int64_t last_xact_us;
};

/* A restore point (pg_create_restore_point) found in a segment. */
struct catalog_rp {
    uint32_t tli;
    uint64_t lsn;
    int64_t time_us;
    char name[CATALOG_RP_NAME_MAX];
};

/* The parsed content of catalog files, sorted by (tli, segno) without duplicates. */
struct catalog_wal {
    struct catalog_seg *segs; /* owned */
    size_t n_segs;
    struct catalog_rp *rps; /* owned */
    size_t n_rps;
};

/* Renders one segment's entry (with its restore points) as catalog text into out. */
enum pitr_rc catalog_entry_format(const struct catalog_seg *seg, const struct catalog_rp *rps,
                                  size_t n_rps, struct buf *out,
                                  struct pitr_err *err) PITR_MUST_CHECK;

/* Parses catalog text (named `name` in errors) and adds its facts to w. PITR_CORRUPT naming the
 * file and line for a bad header, a malformed line or a line whose checksum does not match. */
enum pitr_rc catalog_parse(const char *text, size_t len, const char *name, struct catalog_wal *w,
                           struct pitr_err *err) PITR_MUST_CHECK;

/* Sorts w by (tli, segno) and drops duplicate segments and restore points (which of two
 * entries for one segment stays is unspecified: both describe the same bytes). */
void catalog_wal_normalize(struct catalog_wal *w);
void catalog_wal_fini(struct catalog_wal *w);

/* Stores the entry of one segment, create-only: an entry already there is left as it is (the
 * segment was archived before, and the first scan stands). */
enum pitr_rc catalog_record_segment(struct storage *s, const char *cluster,
                                    const struct catalog_seg *seg, const struct catalog_rp *rps,
                                    size_t n_rps, struct pitr_err *err) PITR_MUST_CHECK;

/* Merges the entries of the WAL folder that holds (tli, segno) into its .cat file. */
enum pitr_rc catalog_merge_folder(struct storage *s, const char *cluster, uint32_t tli,
                                  uint64_t segno, uint32_t seg_size,
                                  struct pitr_err *err) PITR_MUST_CHECK;

/* Loads what the catalog knows of timeline tli from the folder holding from_segno onwards
 * (from_segno 0: everything). The caller releases *out with catalog_wal_fini. */
enum pitr_rc catalog_load_timeline(struct storage *s, const char *cluster, uint32_t tli,
                                   uint64_t from_segno, uint32_t seg_size, struct catalog_wal *out,
                                   struct pitr_err *err) PITR_MUST_CHECK;

/* Index of (tli, segno) in a normalized w, or -1. */
long catalog_find(const struct catalog_wal *w, uint32_t tli, uint64_t segno);

/* Formats µs since the epoch as "YYYY-MM-DDTHH:MM:SS.ffffffZ" into out. */
void catalog_time_format(int64_t us, char out[CATALOG_TIME_LEN]);

#endif

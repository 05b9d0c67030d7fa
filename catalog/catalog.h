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
 * its own and the rest still reads; with an encryption key, in " ~h" and 32 hex digits of an
 * HMAC-SHA256 of the cluster's system identifier and the line, under a subkey of the key, so
 * nobody without the key can add or change a fact:
 *
 *   seg 000000010000000000000003 size=16777216 archived=2026-01-08T14:30:00.000000Z xacts=12
 *       first=2026-01-08T14:25:01.123456Z last=2026-01-08T14:29:59.654321Z stored=2123456
 *       ~0123456789abcdef
 *   rp 000000010000000000000003 lsn=0/3000100 time=2026-01-08T14:27:00.000000Z name=before_drop
 * ~...
 *
 * Nothing is ever removed from an entry's folder by a merge, and a merge writes the union of what
 * it read, so concurrent writers can only make a .cat file lag behind the entries, never lose
 * one: readers always add the entries a folder's .cat file does not have. The catalog is derived
 * data: `pitr-catalog rebuild` recreates it from the WAL objects.
 *
 * `stored` is the size of the WAL object in the repository (compressed, encrypted), so a listing
 * of a WAL folder shows whether each object is still the one archived; entries written before
 * pitr recorded it lack the field, and for them only the object's existence can be checked. */
#ifndef PITR_CATALOG_CATALOG_H
#define PITR_CATALOG_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "repo/repo.h"
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
    uint64_t stored_size; /* bytes of the WAL object in the repository; 0: not recorded */
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
                                  size_t n_rps, const struct repo_session *repo, struct buf *out,
                                  struct pitr_err *err) PITR_MUST_CHECK;

/* Parses catalog text (named `name` in errors) and adds its facts to w, checking each line's
 * MAC under the session's keys (repo NULL or without keys: its checksum). PITR_CORRUPT naming the
 * file and line for a bad header, a malformed line, a line whose checksum or MAC does not match
 * or, with keys, a line without a MAC; PITR_CONFIG for a MAC without keys. */
enum pitr_rc catalog_parse(const char *text, size_t len, const char *name,
                           const struct repo_session *repo, struct catalog_wal *w,
                           struct pitr_err *err) PITR_MUST_CHECK;

/* Sorts w by (tli, segno) and drops duplicate segments and restore points (of two entries for
 * one segment, one that records the stored size stays; otherwise which one is unspecified: both
 * describe the same bytes). */
void catalog_wal_normalize(struct catalog_wal *w);
void catalog_wal_fini(struct catalog_wal *w);

struct walscan_result;

/* Turns what walscan found in segment (tli, segno) into its entry and restore points (rps holds
 * WALSCAN_MAX_RESTORE_POINTS); returns the number of restore points. */
size_t catalog_seg_from_scan(const struct walscan_result *r, uint32_t tli, uint64_t segno,
                             int64_t archived_us, struct catalog_seg *seg, struct catalog_rp *rps);

/* Stores the entry of one segment, create-only: an entry already there is left as it is (the
 * segment was archived before, and the first scan stands). */
enum pitr_rc catalog_record_segment(const struct repo_session *repo, const struct catalog_seg *seg,
                                    const struct catalog_rp *rps, size_t n_rps,
                                    struct pitr_err *err) PITR_MUST_CHECK;

/* Merges the entries of the WAL folder that holds (tli, segno) into its .cat file. */
enum pitr_rc catalog_merge_folder(const struct repo_session *repo, uint32_t tli, uint64_t segno,
                                  uint32_t seg_size, struct pitr_err *err) PITR_MUST_CHECK;

/* Rewrites the merged file of the WAL folder that holds (tli, segno) without the segments before
 * before_segno and their restore points, and removes it when nothing is left (a missing file is
 * fine). For expire, once those segments' entries are gone: a merge never drops anything. */
enum pitr_rc catalog_prune_folder(const struct repo_session *repo, uint32_t tli, uint64_t segno,
                                  uint64_t before_segno, uint32_t seg_size,
                                  struct pitr_err *err) PITR_MUST_CHECK;

/* Loads what the catalog knows of timeline tli from the folder holding from_segno onwards
 * (from_segno 0: everything). The caller releases *out with catalog_wal_fini. */
enum pitr_rc catalog_load_timeline(const struct repo_session *repo, uint32_t tli,
                                   uint64_t from_segno, uint32_t seg_size, struct catalog_wal *out,
                                   struct pitr_err *err) PITR_MUST_CHECK;

/* The folders of one timeline, listed once and then loaded one at a time, so that a reader that
 * stops early (a restore plan reaching its target) reads only what it walks through. */
struct catalog_reader;

/* Lists the folders of tli from the one holding from_segno on. The caller frees *out with
 * catalog_reader_free. */
enum pitr_rc catalog_reader_open(const struct repo_session *repo, uint32_t tli, uint64_t from_segno,
                                 uint32_t seg_size, struct catalog_reader **out,
                                 struct pitr_err *err) PITR_MUST_CHECK;
/* Loads the folder holding segno into *out (normalized; empty when the catalog has no such
 * folder). The caller releases *out with catalog_wal_fini. */
enum pitr_rc catalog_reader_load(struct catalog_reader *r, uint64_t segno, struct catalog_wal *out,
                                 struct pitr_err *err) PITR_MUST_CHECK;
/* Whether the catalog has a folder of this timeline after the one holding segno. */
bool catalog_reader_has_after(const struct catalog_reader *r, uint64_t segno);
void catalog_reader_free(struct catalog_reader *r);

/* Index of (tli, segno) in a normalized w, or -1. */
long catalog_find(const struct catalog_wal *w, uint32_t tli, uint64_t segno);

/* Formats µs since the epoch as "YYYY-MM-DDTHH:MM:SS.ffffffZ" into out. */
void catalog_time_format(int64_t us, char out[CATALOG_TIME_LEN]);

/* --- recoverable windows -------------------------------------------------------------------- */

struct backup_record;

/* Why the contiguous WAL stops at a segment. */
enum catalog_gap {
    CATALOG_GAP_NONE = 0,
    CATALOG_GAP_UNCATALOGED, /* neither the catalog nor (when looked at) the repository has it */
    CATALOG_GAP_MISSING,     /* the catalog lists it, but its object is not in the repository */
    CATALOG_GAP_SIZE,        /* its object is not the size archived: truncated or replaced */
};

/* What keeps a segment from being recovered through, from its catalog entry (NULL: none) and its
 * object as a listing of its folder shows it (NULL: not there). The object is the truth, and its
 * size must be the one the catalog recorded; an entry that recorded none (written by an older
 * pitr) can only show that the object exists. */
enum catalog_gap catalog_seg_check(const struct catalog_seg *seg,
                                   const struct repo_wal_object *obj);

/* Describes, after the segment's name, why a segment stops the WAL ("is missing", "is 10 bytes in
 * the repository, not the 20 archived (truncated or replaced)"), with the object's size found and
 * the size recorded. */
void catalog_gap_text(enum catalog_gap why, uint64_t found, uint64_t recorded, char *out,
                      size_t size);
/* The reason as one word for JSON: "not_in_catalog", "missing", "wrong_size" (NONE: ""). */
const char *catalog_gap_code(enum catalog_gap why);

/* One stretch of time a restore can reach: from a backup's consistency point (or the branch point
 * of its timeline) to the last transaction end in the contiguous WAL after it. */
struct catalog_window {
    uint32_t tli;
    int64_t from_us;
    int64_t to_us;
    char backup_id[32]; /* the backup it starts from ("" when inherited at a timeline switch) */
    uint64_t first_segno;
    uint64_t last_segno;
    /* the segment after last_segno when the window ends at a gap, else 0: missing with later WAL
     * archived, or (verified) not in the repository at the size the catalog recorded */
    uint64_t gap_segno;
    enum catalog_gap gap_reason;
    uint64_t gap_size;     /* CATALOG_GAP_SIZE: the object's size in the repository */
    uint64_t gap_recorded; /* and the size the catalog recorded */
};

/* The gaps of one timeline's WAL after its oldest backup started (or after it branched off): each
 * one stops a recovery, whether or not a window runs into it. */
struct catalog_tli_gaps {
    uint32_t tli;
    size_t gaps;
};

struct catalog_windows {
    struct catalog_window *v; /* owned; sorted by timeline, then time */
    size_t n;
    struct catalog_rp *rps; /* every restore point inside a window (owned) */
    size_t n_rps;
    uint32_t seg_size;
    struct catalog_tli_gaps *tlis; /* every timeline with WAL in the catalog, in order (owned) */
    size_t n_tlis;
    bool verified; /* the WAL objects were listed in the repository */
};

struct key;

/* Computes the windows from the complete backups (oldest first) and the catalog of every
 * timeline the repository has WAL for (history files decrypted with the session's keys). With
 * verify, the catalog is checked against the repository too, with one listing per WAL folder:
 * a segment the catalog lists whose object is missing, or not the size recorded, is a gap (made
 * outside pitr: a deleted or truncated object). The caller frees with catalog_windows_fini. */
enum pitr_rc catalog_windows_compute(const struct repo_session *repo,
                                     const struct backup_record *backups, size_t n_backups,
                                     bool verify, struct catalog_windows *out,
                                     struct pitr_err *err) PITR_MUST_CHECK;
void catalog_windows_fini(struct catalog_windows *w);

/* --- derived data: rebuild and check ---------------------------------------------------------- */

struct catalog_check {
    size_t segments;       /* WAL segment objects seen */
    size_t entries;        /* catalog entries seen */
    size_t missing_entry;  /* objects without an entry */
    size_t missing_object; /* entries without an object */
    size_t damaged;        /* catalog files that do not parse */
    size_t unauthentic;    /* with a key: WAL objects not under it or not bound to their name */
};

/* Calls report(arg, line) for each difference between the catalog and the WAL objects of the
 * cluster, and fills *out. */
typedef void catalog_report_fn(void *arg, const char *line);
enum pitr_rc catalog_check_run(const struct repo_session *repo, catalog_report_fn *report,
                               void *arg, struct catalog_check *out,
                               struct pitr_err *err) PITR_MUST_CHECK;

/* Rescans every WAL segment object (decrypting with key, which may be NULL) and rewrites every
 * entry and merged folder from what it holds; the archive time becomes the object's time.
 * *segments receives the number of segments scanned. */
enum pitr_rc catalog_rebuild(const struct repo_session *repo, size_t *segments,
                             struct pitr_err *err) PITR_MUST_CHECK;

/* --- verify: every byte a restore would need, read and checked -------------------------------- */

enum { CATALOG_VERIFY_KEYS_MAX = 8 };

struct catalog_verify {
    size_t backups;
    size_t objects;       /* objects read through the object checks (backup objects and WAL) */
    uint64_t bytes;       /* stored bytes read */
    size_t segments_read; /* WAL segments read (a subset of segments) */
    size_t segments;      /* WAL segments checked present */
    size_t problems;      /* lines reported */
    /* objects read whole, per key they are encrypted with ("" for unencrypted ones) */
    struct {
        char key_id[17];
        size_t objects;
    } keys[CATALOG_VERIFY_KEYS_MAX];
    size_t n_keys;
    size_t unbound; /* objects of format 1: not bound to their names (pitr-catalog upgrade) */
};

/* Verifies backup `id` of the complete backups (oldest first; NULL id: every one of them): reads
 * each of its objects through the object reader (decrypting with key, which may be NULL) and
 * compares it with the backup record (size, stored size, SHA-256); checks every file of its tar
 * archives against the backup_manifest (size, SHA-256; nothing is written) and that every file of
 * the manifest was in them; then checks that every WAL segment from the backup's start to the end
 * of its recoverable window (and the windows of timelines branching off it later) is in the
 * repository, reading each one of the backup's start..stop range through the object reader and
 * the WAL page checks, and each one of the window too when read_window_wal. Memory stays bounded:
 * everything is streamed.
 *
 * Each problem (damage, a missing object or segment) is passed to report(arg, line), naming the
 * object, and counted in out->problems; the run goes on. Failures that say nothing about the
 * backup (network, I/O, a missing or wrong key: PITR_CONFIG) stop it and are returned.
 * PITR_NOT_FOUND when id is not one of backups. */
enum pitr_rc catalog_verify_run(const struct repo_session *repo,
                                const struct backup_record *backups, size_t n_backups,
                                const char *id, bool read_window_wal, catalog_report_fn *report,
                                void *arg, struct catalog_verify *out,
                                struct pitr_err *err) PITR_MUST_CHECK;

/* The most recently archived segment the catalog knows of (every timeline); *found false when the
 * catalog is empty. */
enum pitr_rc catalog_last_archived(const struct repo_session *repo, struct catalog_seg *out,
                                   bool *found, struct pitr_err *err) PITR_MUST_CHECK;

/* --- expire: retention of backups and the WAL they need ------------------------------------- */

/* How long backups are kept: seconds after its stop time per type (CONFIG_RETENTION_FOREVER:
 * never), and the newest min_full complete backups always stay. */
struct catalog_retention {
    uint64_t daily;
    uint64_t weekly;
    uint64_t monthly;
    uint64_t pre_migration;
    uint64_t manual;
    uint64_t min_full;
};

/* Decides which of n complete backups expire at `now` (seconds since the epoch): a backup expires
 * when its stop time is more than its type's retention before now (an unknown type never
 * expires), except that the newest of those stay as long as fewer than max(min_full, 1) complete
 * backups would be left, so the only backup never goes. Sets expire[i] for each (n entries) and
 * returns how many. Pure: no I/O. */
size_t catalog_expire_decide(const struct backup_record *backups, size_t n,
                             const struct catalog_retention *p, int64_t now, bool *expire);

struct catalog_expire {
    size_t backups;      /* complete backups expired */
    size_t kept;         /* complete backups kept */
    size_t leftovers;    /* directories of interrupted expires removed */
    size_t segments;     /* WAL segments removed */
    size_t wal_files;    /* other WAL files removed (.backup, .partial) */
    uint64_t bytes;      /* stored bytes of everything removed */
    bool wal_kept;       /* WAL removal was skipped (a backup in progress might need it) */
    char first_kept[25]; /* the first segment kept on the oldest kept backup's timeline, or "" */
};

/* Applies the retention p at `now` to the cluster: every complete backup catalog_expire_decide
 * picks goes (backup.info first, so it is never listed or restored half-removed; backup.start
 * last, so pitr-basebackup --cleanup can finish an interrupted removal), then the WAL no kept
 * backup needs: segments, .partial and .backup files before the start segment of the kept backup
 * that starts first, on its timeline and earlier ones, with their catalog entries and merged
 * catalog lines (catalog first, so the catalog never names a removed object). History files and
 * later timelines are never touched; incomplete backups are left to pitr-basebackup --cleanup,
 * and one whose owner may be alive and that began before the oldest kept backup stopped keeps
 * every WAL segment. Each backup and each WAL range is passed to report(arg, line); with dry_run
 * nothing is changed. Re-running after an interruption finishes the job. */
enum pitr_rc catalog_expire_run(const struct repo_session *repo, const struct catalog_retention *p,
                                int64_t now, bool dry_run, catalog_report_fn *report, void *arg,
                                struct catalog_expire *out, struct pitr_err *err) PITR_MUST_CHECK;

#endif

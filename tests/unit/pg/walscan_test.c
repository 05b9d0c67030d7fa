/* Tests for lib/pg/walscan.c on segments built here, byte for byte as PostgreSQL lays them out:
 * page headers, records split across pages and inside their header, continuation from the
 * previous segment, CRC damage, zeroed tails, foreign input; every result is checked fed whole,
 * byte by byte and in odd pieces. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/crc32c.h"
#include "pg/wal.h"
#include "pg/walscan.h"
#include "stream/filter.h"

enum { SEG = 1 << 20, PAGE = 8192, SEGNO = 5 };

static const int64_t PG_EPOCH = INT64_C(946684800000000);
static const int64_t T0 = INT64_C(1700000000123456); /* Unix microseconds */

/* --- a segment builder ------------------------------------------------------------------------ */

struct wb {
    uint8_t *seg;
    uint32_t seg_size;
    uint32_t page_size;
    uint16_t magic;
    uint32_t tli;
    uint64_t start; /* LSN of the first byte */
    size_t pos;
    uint64_t prev;
    char name[25];
};

static void put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, sizeof(v));
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof(v));
}

static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, sizeof(v));
}

static void wb_init(struct wb *b, uint16_t magic, uint32_t page_size)
{
    b->seg = calloc(1, SEG);
    b->seg_size = SEG;
    b->page_size = page_size;
    b->magic = magic;
    b->tli = 1;
    b->start = (uint64_t)SEGNO * SEG;
    b->pos = 0;
    b->prev = b->start - 0x100; /* some record in the previous segment */
    wal_segment_name(b->tli, SEGNO, SEG, b->name);
}

static void wb_fini(struct wb *b)
{
    free(b->seg);
}

static void page_header(struct wb *b, bool cont, uint32_t rem)
{
    uint8_t *h = b->seg + b->pos;
    bool first = b->pos == 0;

    ck_assert_uint_lt(b->pos, b->seg_size);
    put16(h, b->magic);
    put16(h + 2, (uint16_t)((cont ? 0x0001 : 0) | (first ? 0x0002 : 0)));
    put32(h + 4, b->tli);
    put64(h + 8, b->start + b->pos);
    put32(h + 16, rem);
    if (first) {
        put64(h + 24, UINT64_C(7312345678901234567));
        put32(h + 32, b->seg_size);
        put32(h + 36, b->page_size);
    }
    b->pos += first ? 40 : 24;
}

/* Writes len bytes of one record (cont: the tail of one begun before) from the current position,
 * with a page header wherever a page starts; stops at the end of the segment. */
static void emit(struct wb *b, const uint8_t *rec, size_t len, bool cont)
{
    size_t done = 0;

    while (done < len && b->pos < b->seg_size) {
        size_t room;
        size_t n;

        if (b->pos % b->page_size == 0) {
            bool more = cont || done > 0;

            page_header(b, more, more ? (uint32_t)(len - done) : 0);
        }
        room = b->page_size - b->pos % b->page_size;
        n = len - done < room ? len - done : room;
        memcpy(b->seg + b->pos, rec + done, n);
        b->pos += n;
        done += n;
    }
    b->pos = (b->pos + 7) & ~(size_t)7;
}

/* Appends a record with body (block headers, data and main data) and a valid CRC; returns its
 * LSN. */
static uint64_t wb_record(struct wb *b, uint8_t rmid, uint8_t info, const uint8_t *body,
                          size_t blen)
{
    uint8_t *rec = malloc(24 + blen);
    uint64_t lsn;
    uint32_t crc;

    if (b->pos % b->page_size == 0) {
        page_header(b, false, 0);
    }
    lsn = b->start + b->pos;
    memset(rec, 0, 24);
    put32(rec, (uint32_t)(24 + blen));
    put32(rec + 4, 1000);
    put64(rec + 8, b->prev);
    rec[16] = info;
    rec[17] = rmid;
    if (blen > 0) {
        memcpy(rec + 24, body, blen);
    }
    crc = crc32c_update(CRC32C_INIT, blen > 0 ? body : rec, blen);
    put32(rec + 20, crc32c_update(crc, rec, 20) ^ CRC32C_XOROUT);
    emit(b, rec, 24 + blen, false);
    free(rec);
    b->prev = lsn;
    return lsn;
}

/* A body of main data only (short or long data header). */
static size_t main_body(uint8_t *out, const uint8_t *main, size_t mlen)
{
    size_t off = 0;

    if (mlen <= 255) {
        out[off++] = 255;
        out[off++] = (uint8_t)mlen;
    } else {
        out[off++] = 254;
        put32(out + off, (uint32_t)mlen);
        off += 4;
    }
    memcpy(out + off, main, mlen);
    return off + mlen;
}

enum { RM_XLOG = 0, RM_XACT = 1, RM_HEAP = 10 };

/* A transaction record (COMMIT 0x00, ABORT 0x20, COMMIT_PREPARED 0x30, ABORT_PREPARED 0x40)
 * with xact_time and `extra` more bytes of main data. */
static uint64_t wb_xact(struct wb *b, uint8_t info, int64_t unix_usec, size_t extra)
{
    size_t mlen = 12 + extra;
    uint8_t *main = calloc(1, mlen);
    uint8_t *body = malloc(mlen + 5);
    uint64_t lsn;

    put64(main, (uint64_t)(unix_usec - PG_EPOCH));
    for (size_t i = 12; i < mlen; i++) {
        main[i] = (uint8_t)i;
    }
    lsn = wb_record(b, RM_XACT, info, body, main_body(body, main, mlen));
    free(main);
    free(body);
    return lsn;
}

static uint64_t wb_restore_point(struct wb *b, const char *name, int64_t unix_usec)
{
    uint8_t main[72] = {0};
    uint8_t body[80];

    put64(main, (uint64_t)(unix_usec - PG_EPOCH));
    snprintf((char *)main + 8, 64, "%s", name);
    return wb_record(b, RM_XLOG, 0x70, body, main_body(body, main, sizeof(main)));
}

static uint64_t wb_switch(struct wb *b)
{
    return wb_record(b, RM_XLOG, 0x40, NULL, 0);
}

/* A heap-like record of exactly tot_len bytes (>= 32, a multiple of 8 keeps what follows
 * where the caller planned). */
static void wb_filler(struct wb *b, size_t tot_len)
{
    size_t blen = tot_len - 24;
    uint8_t *body = calloc(1, blen);
    size_t hdr = blen - 2 <= 255 ? 2 : 5;

    ck_assert(tot_len >= 32);
    main_body(body, body + hdr, blen - hdr); /* zeros as main data */
    wb_record(b, RM_HEAP, 0, body, blen);
    free(body);
}

/* Fillers until the next record starts `before` bytes ahead of a page's end (before <= PAGE-32,
 * a multiple of 8). */
static void wb_move_to(struct wb *b, size_t before)
{
    for (;;) {
        size_t start = b->pos % b->page_size != 0 ? b->pos : b->pos + (b->pos == 0 ? 40 : 24);
        size_t left = b->page_size - start % b->page_size;
        size_t len;

        if (left == before) {
            return;
        }
        if (left >= before + 32) {
            wb_filler(b, left - before < 4000 ? left - before : 4000);
            continue;
        }
        /* Run over the page header to land there on the next page (or the one after). */
        len = left + (b->page_size - before) - 24;
        if (len < 32) {
            len += b->page_size - 24;
        }
        wb_filler(b, len);
    }
}

/* Fills the remaining pages with valid, otherwise empty page headers (a segment still being
 * written: its tail is zeroed space). */
static void wb_empty_pages(struct wb *b)
{
    b->pos = (b->pos + b->page_size - 1) / b->page_size * b->page_size;
    while (b->pos < b->seg_size) {
        page_header(b, false, 0);
        b->pos = (b->pos + b->page_size - 1) / b->page_size * b->page_size;
    }
}

/* --- scanning helpers ------------------------------------------------------------------------- */

static enum pitr_rc scan(const char *name, const uint8_t *data, size_t len, size_t chunk,
                         struct walscan_result *out, struct pitr_err *err)
{
    struct walscan *ws = walscan_new(name, err);
    enum pitr_rc rc = PITR_OK;

    ck_assert_ptr_nonnull(ws);
    for (size_t off = 0; rc == PITR_OK && off < len; off += chunk) {
        rc = walscan_feed(ws, data + off, len - off < chunk ? len - off : chunk, err);
    }
    if (rc == PITR_OK) {
        rc = walscan_finish(ws, out, err);
    }
    walscan_free(ws);
    return rc;
}

static void assert_same(const struct walscan_result *a, const struct walscan_result *b)
{
    ck_assert_uint_eq(a->pg_version, b->pg_version);
    ck_assert_uint_eq(a->tli, b->tli);
    ck_assert_uint_eq(a->sysid, b->sysid);
    ck_assert_uint_eq(a->seg_size, b->seg_size);
    ck_assert_uint_eq(a->start_lsn, b->start_lsn);
    ck_assert_int_eq(a->well_formed, b->well_formed);
    ck_assert_int_eq(a->switched, b->switched);
    ck_assert_str_eq(a->end_reason, b->end_reason);
    ck_assert_uint_eq(a->records, b->records);
    ck_assert_uint_eq(a->end_lsn, b->end_lsn);
    ck_assert_uint_eq(a->commits, b->commits);
    ck_assert_uint_eq(a->aborts, b->aborts);
    if (a->commits > 0) {
        ck_assert_int_eq(a->first_commit, b->first_commit);
        ck_assert_int_eq(a->last_commit, b->last_commit);
    }
    if (a->aborts > 0) {
        ck_assert_int_eq(a->first_abort, b->first_abort);
        ck_assert_int_eq(a->last_abort, b->last_abort);
    }
    ck_assert_uint_eq(a->restore_points, b->restore_points);
    ck_assert_uint_eq(a->restore_points_dropped, b->restore_points_dropped);
    for (unsigned i = 0; i < a->restore_points; i++) {
        ck_assert_str_eq(a->restore_point[i].name, b->restore_point[i].name);
        ck_assert_int_eq(a->restore_point[i].time, b->restore_point[i].time);
        ck_assert_uint_eq(a->restore_point[i].lsn, b->restore_point[i].lsn);
        ck_assert_uint_eq(a->restore_point[i].end_lsn, b->restore_point[i].end_lsn);
    }
}

/* Scans the built segment whole, then in every other piece size, which must agree. */
static void scan_all_ways(const struct wb *b, struct walscan_result *out)
{
    static const size_t chunks[] = {1, 7, 24, 41, 4093, PAGE, PAGE + 1, 65536};
    struct pitr_err err;

    ck_assert_int_eq(scan(b->name, b->seg, b->seg_size, b->seg_size, out, &err), PITR_OK);
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        struct walscan_result r;

        ck_assert_int_eq(scan(b->name, b->seg, b->seg_size, chunks[i], &r, &err), PITR_OK);
        assert_same(out, &r);
    }
}

static uint64_t end_of(const struct wb *b)
{
    return b->start + b->pos;
}

static void assert_reason(const struct walscan_result *r, const char *what, uint64_t lsn)
{
    char at[18];
    char want[200];

    wal_lsn_format(lsn, at);
    snprintf(want, sizeof(want), "%s at %s", what, at);
    ck_assert_str_eq(r->end_reason, want);
}

/* --- tests ------------------------------------------------------------------------------------ */

START_TEST(test_walscan_records_of_interest)
{
    struct wb b;
    struct walscan_result r;
    uint64_t rp_lsn;
    uint64_t rp_end;
    uint64_t sw;

    wb_init(&b, 0xD110, PAGE);
    wb_filler(&b, 64);
    wb_xact(&b, 0x00, T0, 0);             /* COMMIT */
    wb_xact(&b, 0x80 | 0x20, T0 + 1, 20); /* ABORT, XLOG_XACT_HAS_INFO set */
    wb_filler(&b, 200);
    wb_xact(&b, 0x10, T0 + 2, 0); /* PREPARE: neither */
    rp_lsn = wb_restore_point(&b, "before_drop", T0 + 3);
    rp_end = end_of(&b);
    wb_xact(&b, 0x30, T0 + 4, 8); /* COMMIT_PREPARED */
    wb_xact(&b, 0x40, T0 + 5, 0); /* ABORT_PREPARED */
    wb_xact(&b, 0x50, T0 + 6, 0); /* ASSIGNMENT: neither */
    wb_xact(&b, 0x00, T0 - 7, 0); /* a commit stamped earlier than the last: WAL order counts */
    sw = wb_switch(&b);
    scan_all_ways(&b, &r);

    ck_assert_uint_eq(r.pg_version, 15);
    ck_assert_uint_eq(r.tli, 1);
    ck_assert_uint_eq(r.sysid, UINT64_C(7312345678901234567));
    ck_assert_uint_eq(r.seg_size, SEG);
    ck_assert_uint_eq(r.start_lsn, b.start);
    ck_assert(r.well_formed);
    ck_assert(r.switched);
    ck_assert_uint_eq(r.records, 11);
    ck_assert_uint_eq(r.end_lsn, sw + 24);
    ck_assert_uint_eq(r.commits, 3);
    ck_assert_int_eq(r.first_commit, T0);
    ck_assert_int_eq(r.last_commit, T0 - 7);
    ck_assert_uint_eq(r.aborts, 2);
    ck_assert_int_eq(r.first_abort, T0 + 1);
    ck_assert_int_eq(r.last_abort, T0 + 5);
    ck_assert_uint_eq(r.restore_points, 1);
    ck_assert_uint_eq(r.restore_points_dropped, 0);
    ck_assert_str_eq(r.restore_point[0].name, "before_drop");
    ck_assert_int_eq(r.restore_point[0].time, T0 + 3);
    ck_assert_uint_eq(r.restore_point[0].lsn, rp_lsn);
    ck_assert_uint_eq(r.restore_point[0].end_lsn, rp_end);
    assert_reason(&r, "XLOG_SWITCH", sw);
    wb_fini(&b);
}
END_TEST

START_TEST(test_walscan_continued_from_previous_segment)
{
    struct wb b;
    struct walscan_result r;
    uint8_t tail[20000];

    /* The first 20000 bytes finish a record begun in the segment before: two page headers with
     * XLP_FIRST_IS_CONTRECORD and a shrinking xlp_rem_len; its bytes are never parsed. */
    memset(tail, 0xA5, sizeof(tail));
    wb_init(&b, 0xD113, PAGE);
    emit(&b, tail, sizeof(tail), true);
    wb_xact(&b, 0x00, T0, 0);
    wb_switch(&b);
    scan_all_ways(&b, &r);
    ck_assert_uint_eq(r.pg_version, 16);
    ck_assert(r.well_formed);
    ck_assert_uint_eq(r.records, 2);
    ck_assert_uint_eq(r.commits, 1);
    ck_assert_int_eq(r.first_commit, T0);
    wb_fini(&b);

    /* A record longer than the whole segment: nothing starts here, and that is fine. */
    wb_init(&b, 0xD110, PAGE);
    {
        uint8_t *huge = calloc(1, 2 * SEG);

        emit(&b, huge, 2 * SEG, true);
        free(huge);
    }
    scan_all_ways(&b, &r);
    ck_assert(r.well_formed);
    ck_assert_uint_eq(r.records, 0);
    ck_assert_uint_eq(r.end_lsn, 0);
    ck_assert_str_eq(r.end_reason, "end of segment inside a record");
    wb_fini(&b);
}
END_TEST

/* Where the record of interest starts, in bytes before a page's end (0: at a page's start). */
static const size_t split_at[] = {
    0,         /* right after a page header */
    8,         /* header split 8/16 by a page header */
    16,        /* header split 16/8 */
    24,        /* header ends on the page, body starts on the next */
    32,        /* data header on this page, xact_time split 6/2 */
    40,        /* xact_time wholly on this page, the rest on the next */
    PAGE - 64, /* wholly on one page */
};

START_TEST(test_walscan_split_records)
{
    struct wb b;
    struct walscan_result r;
    uint64_t lsn;

    wb_init(&b, 0xD10D, PAGE);
    wb_filler(&b, 128);
    if (split_at[_i] != 0) {
        wb_move_to(&b, split_at[_i]);
    } else {
        wb_move_to(&b, 64);
        wb_filler(&b, 64);
    }
    lsn = wb_xact(&b, 0x00, T0, 0);
    ck_assert_uint_eq((lsn - b.start) % PAGE, split_at[_i] == 0 ? 24 : PAGE - split_at[_i]);
    wb_restore_point(&b, "x", T0 + 1);
    /* A commit record of 20 kB (a transaction with many subtransactions) spans three pages. */
    wb_xact(&b, 0x00, T0 + 2, 20000);
    wb_move_to(&b, split_at[_i] != 0 ? split_at[_i] : 64);
    wb_restore_point(&b, "split", T0 + 3);
    wb_xact(&b, 0x20, T0 + 4, 0);
    wb_switch(&b);
    scan_all_ways(&b, &r);
    ck_assert(r.well_formed);
    ck_assert_uint_eq(r.commits, 2);
    ck_assert_int_eq(r.first_commit, T0);
    ck_assert_int_eq(r.last_commit, T0 + 2);
    ck_assert_uint_eq(r.aborts, 1);
    ck_assert_int_eq(r.first_abort, T0 + 4);
    ck_assert_uint_eq(r.restore_points, 2);
    ck_assert_str_eq(r.restore_point[1].name, "split");
    ck_assert_int_eq(r.restore_point[1].time, T0 + 3);
    wb_fini(&b);
}
END_TEST

START_TEST(test_walscan_record_ends_at_page_end)
{
    struct wb b;
    struct walscan_result r;
    uint64_t lsn;

    wb_init(&b, 0xD110, PAGE);
    wb_move_to(&b, 136);
    lsn = wb_restore_point(&b, "edge", T0); /* 24 + 2 + 72 = 98 bytes, padded to 104 */
    wb_filler(&b, 32);                      /* ends exactly at the page's end */
    ck_assert_uint_eq(b.pos % PAGE, 0);
    wb_xact(&b, 0x00, T0 + 1, 0);
    wb_switch(&b);
    scan_all_ways(&b, &r);
    ck_assert_uint_eq(r.restore_point[0].lsn, lsn);
    ck_assert_uint_eq(r.restore_point[0].end_lsn, lsn + 104);
    ck_assert_uint_eq(r.commits, 1);
    wb_fini(&b);
}
END_TEST

START_TEST(test_walscan_last_record_continues)
{
    struct wb b;
    struct walscan_result r;
    uint64_t commit;

    wb_init(&b, 0xD110, PAGE);
    commit = wb_xact(&b, 0x00, T0, 0);
    while (b.pos < SEG - 3 * PAGE) {
        wb_filler(&b, 4000);
    }
    wb_xact(&b, 0x00, T0 + 1, 4 * PAGE); /* runs into the next segment: not verifiable */
    ck_assert_uint_eq(b.pos, SEG);
    scan_all_ways(&b, &r);
    ck_assert(r.well_formed);
    ck_assert(!r.switched);
    ck_assert_uint_eq(r.commits, 1);
    ck_assert_int_eq(r.last_commit, T0);
    ck_assert_uint_gt(r.end_lsn, commit);
    ck_assert_str_eq(r.end_reason, "end of segment inside a record");
    wb_fini(&b);
}
END_TEST

START_TEST(test_walscan_crc_failure_stops)
{
    struct wb b;
    struct walscan_result r;
    uint64_t bad;

    wb_init(&b, 0xD110, PAGE);
    wb_xact(&b, 0x00, T0, 0);
    wb_move_to(&b, 16);
    bad = wb_xact(&b, 0x00, T0 + 1, 100); /* its header split across pages */
    wb_xact(&b, 0x00, T0 + 2, 0);
    wb_switch(&b);
    b.seg[bad - b.start + 8 + 24 + 40] ^= 0x01; /* a body byte on the next page */
    scan_all_ways(&b, &r);
    ck_assert(!r.well_formed);
    ck_assert(!r.switched);
    ck_assert_uint_eq(r.commits, 1);
    ck_assert_int_eq(r.last_commit, T0);
    ck_assert_uint_eq(r.end_lsn, bad);
    assert_reason(&r, "incorrect record checksum", bad);
    wb_fini(&b);
}
END_TEST

START_TEST(test_walscan_zero_tail)
{
    struct wb b;
    struct walscan_result r;
    uint64_t end;

    /* A segment still being written: empty pages with headers, zeroed space. */
    wb_init(&b, 0xD110, PAGE);
    wb_xact(&b, 0x00, T0, 0);
    end = end_of(&b);
    wb_empty_pages(&b);
    scan_all_ways(&b, &r);
    ck_assert(!r.well_formed);
    ck_assert_uint_eq(r.records, 1);
    ck_assert_uint_eq(r.end_lsn, end);
    assert_reason(&r, "zeroed space", end);
    wb_fini(&b);

    /* Valid WAL up to a page's end, then zero pages. */
    wb_init(&b, 0xD110, PAGE);
    wb_xact(&b, 0x00, T0, 0);
    wb_move_to(&b, 64);
    wb_filler(&b, 64);
    scan_all_ways(&b, &r);
    ck_assert(!r.well_formed);
    ck_assert_uint_eq(r.commits, 1);
    assert_reason(&r, "zeroed page", b.start + PAGE);
    wb_fini(&b);

    /* After XLOG_SWITCH the zeros are expected. */
    wb_init(&b, 0xD110, PAGE);
    wb_switch(&b);
    scan_all_ways(&b, &r);
    ck_assert(r.well_formed);
    ck_assert_uint_eq(r.records, 1);
    ck_assert_uint_eq(r.end_lsn, b.start + 40 + 24);
    wb_fini(&b);
}
END_TEST

START_TEST(test_walscan_damage_ends_valid_wal)
{
    struct wb b;
    struct walscan_result r;
    uint64_t second;

    /* A wrong prev-link (as in a recycled segment's old records). */
    wb_init(&b, 0xD110, PAGE);
    wb_xact(&b, 0x00, T0, 0);
    second = wb_xact(&b, 0x00, T0 + 1, 0);
    wb_switch(&b);
    b.prev = 0;
    put64(b.seg + (second - b.start) + 8, 0x1234);
    scan_all_ways(&b, &r);
    ck_assert(!r.well_formed);
    ck_assert_uint_eq(r.commits, 1);
    assert_reason(&r, "record linking back to 0/1234, not 0/500028,", second);
    wb_fini(&b);

    /* A page from elsewhere in the middle of a record. */
    wb_init(&b, 0xD110, PAGE);
    wb_xact(&b, 0x00, T0, 0);
    wb_xact(&b, 0x00, T0 + 1, 3 * PAGE);
    wb_switch(&b);
    put64(b.seg + 2 * PAGE + 8, 0x777000);
    scan_all_ways(&b, &r);
    ck_assert(!r.well_formed);
    ck_assert_uint_eq(r.commits, 1);
    assert_reason(&r, "invalid page header", b.start + 2 * PAGE);
    wb_fini(&b);

    /* A page that does not say it continues the record. */
    wb_init(&b, 0xD110, PAGE);
    wb_xact(&b, 0x00, T0, 3 * PAGE);
    wb_switch(&b);
    put16(b.seg + PAGE + 2, 0);
    scan_all_ways(&b, &r);
    ck_assert_uint_eq(r.commits, 0);
    assert_reason(&r, "page without the rest of the record before it", b.start + PAGE);
    wb_fini(&b);

    /* A page that says it continues a record where a new one starts. */
    wb_init(&b, 0xD110, PAGE);
    wb_move_to(&b, 32);
    wb_filler(&b, 32);
    wb_xact(&b, 0x00, T0, 0);
    put16(b.seg + PAGE + 2, 0x0001);
    scan_all_ways(&b, &r);
    assert_reason(&r, "continuation where a new record should start", b.start + PAGE);
    wb_fini(&b);

    /* A timeline going back. */
    wb_init(&b, 0xD110, PAGE);
    wb_xact(&b, 0x00, T0, 3 * PAGE);
    put32(b.seg + PAGE + 4, 0);
    scan_all_ways(&b, &r);
    assert_reason(&r, "out-of-sequence timeline 0 in page header", b.start + PAGE);
    wb_fini(&b);

    /* The tail of the previous segment's record, with a wrong xlp_rem_len on its second page. */
    wb_init(&b, 0xD110, PAGE);
    {
        uint8_t tail[10000] = {0};

        emit(&b, tail, sizeof(tail), true);
    }
    wb_xact(&b, 0x00, T0, 0);
    put32(b.seg + PAGE + 16, 1);
    scan_all_ways(&b, &r);
    ck_assert_uint_eq(r.commits, 0);
    assert_reason(&r, "page without the rest of the record before it", b.start + PAGE);
    wb_fini(&b);
}
END_TEST

/* A header area longer than any valid record's is not followed past PREFIX_CAP (1024) bytes:
 * 3 origin ids (3 bytes each), then toplevel xids (5 bytes each), the 203rd ending at 1024. */
START_TEST(test_walscan_endless_headers)
{
    struct wb b;
    struct walscan_result r;
    uint8_t body[1204] = {0};

    for (size_t i = 0; i < 9; i += 3) {
        body[i] = 253;
    }
    for (size_t i = 9; i < sizeof(body); i += 5) {
        body[i] = 252;
    }
    wb_init(&b, 0xD110, PAGE);
    wb_record(&b, RM_XACT, 0x00, body, sizeof(body));
    scan_all_ways(&b, &r);
    ck_assert_uint_eq(r.records, 0);
    assert_reason(&r, "invalid block references in record", b.start + 40);
    wb_fini(&b);
}
END_TEST

/* A record whose end was lost in a crash: after recovery the server wrote on at the next page,
 * flagged XLP_FIRST_IS_OVERWRITE_CONTRECORD (an XLOG_OVERWRITE_CONTRECORD record first). */
START_TEST(test_walscan_overwritten_contrecord)
{
    struct wb b;
    struct walscan_result r;
    uint64_t aborted;
    uint64_t before;
    size_t page_at;

    wb_init(&b, 0xD110, PAGE);
    wb_xact(&b, 0x00, T0, 0);
    wb_move_to(&b, 200);
    before = b.prev; /* the last complete record: what the new one links back to */
    aborted = wb_xact(&b, 0x00, T0 + 1, 1000); /* its last 800-odd bytes were never written */
    page_at = (size_t)(aborted - b.start) + 200;
    ck_assert_uint_eq(page_at % PAGE, 0);
    b.pos = page_at;
    memset(b.seg + b.pos, 0, SEG - b.pos);
    page_header(&b, false, 0);
    put16(b.seg + page_at + 2, 0x0008);
    b.prev = before;
    wb_record(&b, RM_XLOG, 0xD0, (const uint8_t *)"\xff\x10overwritten-lsn+time", 18);
    wb_xact(&b, 0x00, T0 + 2, 0);
    wb_switch(&b);
    scan_all_ways(&b, &r);
    ck_assert_msg(r.well_formed, "%s", r.end_reason);
    ck_assert(r.switched);
    ck_assert_uint_eq(r.commits, 2);
    ck_assert_int_eq(r.first_commit, T0);
    ck_assert_int_eq(r.last_commit, T0 + 2);
    wb_fini(&b);
}
END_TEST

/* Record lengths below a header's size, whole on a page or split by one. */
START_TEST(test_walscan_short_record_length)
{
    struct wb b;
    struct walscan_result r;
    uint64_t lsn;

    wb_init(&b, 0xD110, PAGE);
    wb_xact(&b, 0x00, T0, 0);
    lsn = wb_xact(&b, 0x00, T0 + 1, 0);
    put32(b.seg + (lsn - b.start), 16);
    scan_all_ways(&b, &r);
    ck_assert_uint_eq(r.commits, 1);
    assert_reason(&r, "invalid record length 16", lsn);
    wb_fini(&b);

    wb_init(&b, 0xD110, PAGE);
    wb_move_to(&b, 8);
    lsn = wb_xact(&b, 0x00, T0, 0);
    put32(b.seg + (lsn - b.start), 8);
    scan_all_ways(&b, &r);
    ck_assert_uint_eq(r.commits, 0);
    assert_reason(&r, "invalid record length 8", lsn);
    wb_fini(&b);
}
END_TEST

/* Bodies of commit records (valid CRC) whose block references do not add up. */
static const struct {
    uint8_t body[16];
    size_t len;
} bad_bodies[] = {
    {{0}, 0},                         /* no main data at all */
    {{255}, 1},                       /* short data header without its length */
    {{254, 8, 0}, 3},                 /* long one, cut */
    {{253}, 1},                       /* origin without its id */
    {{100, 0, 0, 0}, 4},              /* no such block id */
    {{0, 0x20}, 2},                   /* block header cut */
    {{0, 0x20, 0, 0, 0, 0, 0, 0}, 8}, /* has-data flag without data */
    {{0, 0x80, 8, 0, 1, 2, 3, 4}, 8}, /* data without the has-data flag */
    {{0, 0x90, 0, 0, 1}, 5},          /* image header cut */
    {{0, 0x80}, 2},                   /* cut before the block number */
    {{0, 0x80, 0, 0, 1, 2}, 6},       /* block number cut */
    {{0, 0xA0, 50, 0}, 16},           /* 50 bytes of block data announced, 12 there */
    {{255, 4, 1, 2, 3, 4}, 6},        /* main data shorter than xact_time */
    {{0, 0x80, 0, 0, 0, 0, 0, 0}, 8}, /* ends after the block: no room for main data */
};

START_TEST(test_walscan_bad_block_references)
{
    struct wb b;
    struct walscan_result r;

    wb_init(&b, 0xD110, PAGE);
    wb_record(&b, RM_XLOG, 0x10, NULL, 0); /* an XLOG record of no interest: fine */
    wb_record(&b, RM_XACT, 0x00, bad_bodies[_i].body, bad_bodies[_i].len);
    scan_all_ways(&b, &r);
    ck_assert_uint_eq(r.records, 1);
    ck_assert_uint_eq(r.commits, 0);
    assert_reason(&r, "invalid block references in record", b.start + 40 + 24);
    wb_fini(&b);
}
END_TEST

/* A commit record with a block reference ahead of its main data, in the layouts that differ by
 * version: a compressed image with a hole carries 2 more header bytes, and bit 0x02 means
 * "compressed" before 15 but "apply" from 15. */
static const struct {
    uint16_t magic;
    uint8_t image_info;
    bool extra; /* XLogRecordBlockCompressHeader present */
    bool same_rel;
} block_cases[] = {
    {0xD106, 0x03, true, false},  /* 13: hole + compressed */
    {0xD10D, 0x05, false, true},  /* 14: hole + apply */
    {0xD110, 0x03, false, false}, /* 15: hole + apply */
    {0xD110, 0x05, true, true},   /* 15: hole + pglz */
    {0xD113, 0x09, true, false},  /* 16: hole + lz4 */
    {0xD113, 0x10, false, false}, /* 16: zstd, no hole */
};

START_TEST(test_walscan_block_references)
{
    struct wb b;
    struct walscan_result r;
    uint8_t body[400] = {0};
    size_t n = 0;

    body[n++] = 253; /* origin */
    n += 2;
    body[n++] = 0; /* block 0 */
    body[n++] = 0x10 | 0x20 | (block_cases[_i].same_rel ? 0x80 : 0);
    put16(body + n, 30); /* data length */
    n += 2;
    put16(body + n, 100); /* image length */
    n += 2;
    n += 2; /* hole offset */
    body[n++] = block_cases[_i].image_info;
    if (block_cases[_i].extra) {
        n += 2;
    }
    n += block_cases[_i].same_rel ? 0 : 12;
    n += 4;
    body[n++] = 252; /* toplevel xid */
    n += 4;
    body[n++] = 255;
    body[n++] = 12;
    n += 100 + 30; /* image, data */
    put64(body + n, (uint64_t)(T0 - PG_EPOCH));
    n += 12;
    wb_init(&b, block_cases[_i].magic, PAGE);
    wb_record(&b, RM_XACT, 0x00, body, n);
    wb_switch(&b);
    scan_all_ways(&b, &r);
    ck_assert(r.well_formed);
    ck_assert_uint_eq(r.commits, 1);
    ck_assert_int_eq(r.first_commit, T0);
    wb_fini(&b);
}
END_TEST

START_TEST(test_walscan_restore_point_overflow)
{
    struct wb b;
    struct walscan_result r;
    char name[64];
    uint8_t main[72];
    uint8_t body[80];

    wb_init(&b, 0xD110, 1024); /* small pages are valid too */
    for (int i = 0; i < WALSCAN_MAX_RESTORE_POINTS + 3; i++) {
        snprintf(name, sizeof(name), "rp%d", i);
        wb_restore_point(&b, name, T0 + i);
    }
    wb_switch(&b);
    scan_all_ways(&b, &r);
    ck_assert_uint_eq(r.restore_points, WALSCAN_MAX_RESTORE_POINTS);
    ck_assert_uint_eq(r.restore_points_dropped, 3);
    ck_assert_str_eq(r.restore_point[7].name, "rp7");
    ck_assert_int_eq(r.restore_point[7].time, T0 + 7);
    wb_fini(&b);

    /* A name of 64 bytes without its NUL (PostgreSQL never writes one): cut to 63. */
    put64(main, (uint64_t)(T0 - PG_EPOCH));
    memset(main + 8, 'n', 64);
    wb_init(&b, 0xD110, PAGE);
    wb_record(&b, RM_XLOG, 0x70, body, main_body(body, main, sizeof(main)));
    scan_all_ways(&b, &r);
    ck_assert_uint_eq(r.restore_points, 1);
    ck_assert_uint_eq(strlen(r.restore_point[0].name), 63);
    wb_fini(&b);
}
END_TEST

static enum pitr_rc scan_whole(const struct wb *b, const char *name, size_t len,
                               struct pitr_err *err)
{
    struct walscan_result r;

    return scan(name, b->seg, len, 4096, &r, err);
}

START_TEST(test_walscan_not_a_segment)
{
    struct wb b;
    struct pitr_err err;
    uint8_t *twice;

    wb_init(&b, 0xD110, PAGE);
    wb_switch(&b);

    ck_assert_int_eq(scan_whole(&b, "000000010000000000000004", SEG, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "\"000000010000000000000004\" is not the segment its name says: it "
                              "starts at 0/500000, not 0/400000");
    ck_assert_int_eq(scan_whole(&b, b.name, SEG - 1, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "\"000000010000000000000005\" is 1048575 bytes, its page header "
                              "says 1048576");
    ck_assert_int_eq(scan_whole(&b, b.name, 30, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg,
                     "\"000000010000000000000005\" is shorter than a WAL page header (30 bytes)");
    twice = calloc(1, 2 * SEG);
    memcpy(twice, b.seg, SEG);
    {
        struct walscan_result r;

        ck_assert_int_eq(scan(b.name, twice, 2 * SEG, 65536, &r, &err), PITR_CORRUPT);
        ck_assert_str_eq(err.msg,
                         "\"000000010000000000000005\" is longer than its segment size 1048576");
    }
    free(twice);
    ck_assert_int_eq(scan_whole(&b, "000000010000000000000005.partial", SEG, &err), PITR_OK);

    put32(b.seg + 4, 2); /* timeline 2 in a timeline 1 segment */
    ck_assert_int_eq(scan_whole(&b, b.name, SEG, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg,
                     "\"000000010000000000000005\" has timeline 2 in its first page header");
    ck_assert_int_eq(scan_whole(&b, "000000020000000000000005", SEG, &err), PITR_OK);
    put32(b.seg + 4, 1);

    put32(b.seg + 32, 3u << 20);
    ck_assert_int_eq(scan_whole(&b, b.name, SEG, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "\"000000010000000000000005\" has an invalid segment size 3145728");
    put32(b.seg + 32, SEG);
    put32(b.seg + 36, 512);
    ck_assert_int_eq(scan_whole(&b, b.name, SEG, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "\"000000010000000000000005\" has an invalid WAL page size 512");
    put32(b.seg + 36, PAGE);
    ck_assert_int_eq(scan_whole(&b, "0000000100000000000010FF", SEG, &err), PITR_CORRUPT);
    ck_assert_str_eq(
        err.msg, "\"0000000100000000000010FF\" is not a segment name for 1048576-byte segments");

    put16(b.seg + 2, 0x0000);
    ck_assert_int_eq(scan_whole(&b, b.name, SEG, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "\"000000010000000000000005\" does not start with a long page "
                              "header (flags 0x0000)");
    put16(b.seg + 2, 0x0002);

    put16(b.seg, 0xD116); /* PostgreSQL 17 */
    ck_assert_int_eq(scan_whole(&b, b.name, SEG, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "\"000000010000000000000005\" is not a WAL segment of PostgreSQL 13 "
                              "to 16: page magic 0xD116");
    memset(b.seg, 0, SEG);
    ck_assert_int_eq(scan_whole(&b, b.name, SEG, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "\"000000010000000000000005\" is not a WAL segment of PostgreSQL 13 "
                              "to 16: page magic 0x0000");
    wb_fini(&b);
}
END_TEST

START_TEST(test_walscan_errors_are_sticky)
{
    uint8_t zeros[64] = {0};
    struct walscan *ws;
    struct walscan_result r;
    struct pitr_err err;

    ws = walscan_new("000000010000000000000005", &err);
    ck_assert_int_eq(walscan_feed(ws, zeros, sizeof(zeros), &err), PITR_CORRUPT);
    ck_assert_int_eq(walscan_feed(ws, zeros, sizeof(zeros), &err), PITR_CORRUPT);
    ck_assert_int_eq(walscan_finish(ws, &r, &err), PITR_CORRUPT);
    ck_assert_ptr_nonnull(strstr(err.msg, "page magic 0x0000"));
    walscan_free(ws);
    walscan_free(NULL);
}
END_TEST

START_TEST(test_walscan_new_names)
{
    struct pitr_err err;

    ck_assert_ptr_null(walscan_new("00000001.history", &err));
    ck_assert_int_eq(err.rc, PITR_CONFIG);
    ck_assert_str_eq(err.msg, "\"00000001.history\" is not a WAL segment");
    ck_assert_ptr_null(walscan_new("000000010000000000000005.00000028.backup", &err));
    ck_assert_int_eq(err.rc, PITR_CONFIG);
    ck_assert_ptr_null(walscan_new("pg_wal", &err));
    ck_assert_int_eq(err.rc, PITR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "is not a WAL file name"));
    ck_assert_ptr_null(walscan_filter_new("pg_wal", &err));
    ck_assert_int_eq(err.rc, PITR_CONFIG);
}
END_TEST

START_TEST(test_walscan_filter)
{
    struct wb b;
    struct walscan_result direct;
    struct pitr_err err;
    struct buf out;
    struct pipeline *p;
    struct filter *scanner;

    wb_init(&b, 0xD110, PAGE);
    wb_xact(&b, 0x00, T0, 0);
    wb_restore_point(&b, "f", T0 + 1);
    wb_switch(&b);
    ck_assert_int_eq(scan(b.name, b.seg, SEG, SEG, &direct, &err), PITR_OK);

    /* As an observer: the bytes pass unchanged. */
    buf_init(&out, 2 * SEG);
    p = pipeline_new(buf_sink_new(&out));
    scanner = walscan_filter_new(b.name, &err);
    ck_assert_ptr_nonnull(scanner);
    pipeline_add(p, scanner);
    for (size_t off = 0; off < SEG; off += 10000) {
        ck_assert_int_eq(
            pipeline_write(p, b.seg + off, SEG - off < 10000 ? SEG - off : 10000, &err), PITR_OK);
    }
    ck_assert_int_eq(pipeline_finish(p, &err), PITR_OK);
    assert_same(walscan_filter_result(scanner), &direct);
    ck_assert_uint_eq(out.len, SEG);
    ck_assert_mem_eq(out.data, b.seg, SEG);
    pipeline_free(p);
    buf_fini(&out);

    /* As the sink of a tee's side pipeline; its error fails the pipeline. */
    scanner = walscan_filter_new("000000010000000000000006", &err);
    p = pipeline_new(discard_sink_new());
    pipeline_add(p, tee_filter_new(pipeline_new(scanner)));
    ck_assert_int_eq(pipeline_write(p, b.seg, SEG, &err), PITR_CORRUPT);
    ck_assert_ptr_nonnull(strstr(err.msg, "is not the segment its name says"));
    pipeline_free(p);
    wb_fini(&b);
}
END_TEST

Suite *walscan_suite(void)
{
    Suite *s = suite_create("walscan");
    TCase *tc = tcase_create("walscan");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_walscan_records_of_interest);
    tcase_add_test(tc, test_walscan_continued_from_previous_segment);
    tcase_add_loop_test(tc, test_walscan_split_records, 0, sizeof(split_at) / sizeof(split_at[0]));
    tcase_add_test(tc, test_walscan_record_ends_at_page_end);
    tcase_add_test(tc, test_walscan_last_record_continues);
    tcase_add_test(tc, test_walscan_crc_failure_stops);
    tcase_add_test(tc, test_walscan_zero_tail);
    tcase_add_test(tc, test_walscan_damage_ends_valid_wal);
    tcase_add_test(tc, test_walscan_overwritten_contrecord);
    tcase_add_test(tc, test_walscan_short_record_length);
    tcase_add_test(tc, test_walscan_endless_headers);
    tcase_add_loop_test(tc, test_walscan_bad_block_references, 0,
                        sizeof(bad_bodies) / sizeof(bad_bodies[0]));
    tcase_add_loop_test(tc, test_walscan_block_references, 0,
                        sizeof(block_cases) / sizeof(block_cases[0]));
    tcase_add_test(tc, test_walscan_restore_point_overflow);
    tcase_add_test(tc, test_walscan_not_a_segment);
    tcase_add_test(tc, test_walscan_errors_are_sticky);
    tcase_add_test(tc, test_walscan_new_names);
    tcase_add_test(tc, test_walscan_filter);
    suite_add_tcase(s, tc);
    return s;
}

/* walscan: a state machine fed a WAL segment's bytes in order. Bytes are taken in runs (the rest of
 * a page header, or what is left of a state on the current page), so the hot path is one CRC
 * call per page or record. Invariant: whatever the record size, nothing is kept beyond the page
 * header, the record header, the first PREFIX_CAP bytes after it and MAIN_CAP bytes of main data.
 * The format follows PostgreSQL's xlog_internal.h, xlogrecord.h and xlogreader.c (13 to 16). */
#include "pg/walscan.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "pg/crc32c.h"
#include "pg/wal.h"
#include "pg/wal_bytes.h"
#include "stream/filter_int.h"

/* Page header (XLogPageHeaderData): magic u16 @0, info u16 @2, tli u32 @4, pageaddr u64 @8,
 * rem_len u32 @16, padding to 24. The long header on a segment's first page adds sysid u64 @24,
 * seg_size u32 @32 and the page size u32 @36. */
enum {
    SHORT_PHD = 24,
    LONG_PHD = 40,
    XLP_FIRST_IS_CONTRECORD = 0x0001,
    XLP_LONG_HEADER = 0x0002,
    XLP_FIRST_IS_OVERWRITE_CONTRECORD = 0x0008,
    XLP_ALL_FLAGS = 0x000F,
    MIN_PAGE_SIZE = 1024, /* PostgreSQL's --with-wal-blocksize allows 1 to 64 kB */
    MAX_PAGE_SIZE = 65536,
};

/* Record header (XLogRecord): tot_len u32 @0, xid u32 @4, prev u64 @8, info u8 @16, rmid u8 @17,
 * padding, crc u32 @20. The CRC covers the bytes after the header, then its first 20 bytes.
 * Records start MAXALIGNed (8 bytes) and may be split anywhere by page headers. */
enum { REC_HDR = 24, REC_CRC_OFF = 20, WAL_ALIGN = 8 };

/* The records we read (rmgrlist.h, xlog.h / pg_control.h, xact.h). */
enum {
    RM_XLOG_ID = 0,
    RM_XACT_ID = 1,
    XLR_RMGR_INFO_MASK = 0xF0,
    XLOG_SWITCH = 0x40,
    XLOG_RESTORE_POINT = 0x70,
    XLOG_XACT_OPMASK = 0x70,
    XLOG_XACT_COMMIT = 0x00,
    XLOG_XACT_ABORT = 0x20,
    XLOG_XACT_COMMIT_PREPARED = 0x30,
    XLOG_XACT_ABORT_PREPARED = 0x40,
};

/* What follows the record header: block references, then the main data's length, then block
 * data, then the main data, which is always last. */
enum {
    XLR_MAX_BLOCK_ID = 32,
    XLR_BLOCK_ID_DATA_SHORT = 255,   /* u8 length follows */
    XLR_BLOCK_ID_DATA_LONG = 254,    /* u32 length follows */
    XLR_BLOCK_ID_ORIGIN = 253,       /* u16 origin id follows */
    XLR_BLOCK_ID_TOPLEVEL_XID = 252, /* u32 xid follows */
    BKPBLOCK_HAS_IMAGE = 0x10,
    BKPBLOCK_HAS_DATA = 0x20,
    BKPBLOCK_SAME_REL = 0x80,
    BKPIMAGE_HAS_HOLE = 0x01,
    BKPIMAGE_IS_COMPRESSED_13 = 0x02,  /* 13 and 14 */
    BKPIMAGE_ANY_COMPRESSED_15 = 0x1C, /* 15+: pglz 0x04, lz4 0x08, zstd 0x10 */
    RELFILENODE_LEN = 12,
    /* The longest possible header area: 33 block references of 27 bytes (4 + image 5 + hole 2
     * + relation 12 + block 4), origin 3, toplevel xid 5, long data header 5 = 904 bytes. */
    PREFIX_CAP = 1024,
};

/* Main data we read: xl_xact_commit/xl_xact_abort start with TimestampTz xact_time;
 * xl_restore_point is TimestampTz rp_time then char rp_name[64]. */
enum { XACT_MAIN_NEED = 8, RESTORE_POINT_MAIN_NEED = 8 + WALSCAN_RP_NAME_LEN, MAIN_CAP = 72 };

/* TimestampTz counts microseconds from 2000-01-01 00:00 UTC. */
static const int64_t PG_EPOCH_UNIX_USEC = INT64_C(946684800) * 1000000;

enum state {
    ST_SKIP,     /* the rest of a record begun in the previous segment */
    ST_PAD,      /* alignment after a record */
    ST_REC_HDR,  /* collecting a record header */
    ST_REC_BODY, /* the bytes after it */
    ST_DONE,     /* valid WAL ended: the rest is only counted */
};

enum interest { WANT_NONE, WANT_COMMIT, WANT_ABORT, WANT_RESTORE_POINT, WANT_SWITCH };

struct walscan {
    char name[64];
    uint32_t name_tli;
    uint32_t name_log;
    uint32_t name_seg;
    struct pitr_err failed; /* sticky */
    struct walscan_result res;

    /* page layout, known once the first page header is read */
    bool started;
    uint16_t magic;
    bool v15; /* block image flags changed in 15 */
    uint32_t page_size;
    uint32_t last_tli;
    uint64_t pos;      /* bytes of the segment consumed */
    uint64_t page_end; /* where the current page ends */
    uint8_t phdr[LONG_PHD];
    size_t phdr_len; /* size of the current page's header */
    size_t phdr_have;

    enum state st;
    uint64_t left; /* ST_SKIP and ST_PAD: bytes still to skip */
    bool have_prev;
    uint64_t prev_start; /* LSN of the last valid record, for the next one's prev-link */

    /* the current record */
    uint64_t rec_start;
    uint8_t rec[REC_HDR];
    size_t rec_have;
    uint32_t tot_len;
    uint64_t body_len;
    uint64_t body_have;
    uint32_t crc;
    enum interest interest;
    size_t need; /* main data bytes interest needs */
    bool bad;    /* a record of interest whose headers do not parse */
    size_t prefix_want;
    uint8_t prefix[PREFIX_CAP];
    bool window;       /* main_off/main_want are known */
    uint64_t main_off; /* offset of the main data after the record header */
    size_t main_want;
    uint8_t main[MAIN_CAP];
};

/* --- helpers ---------------------------------------------------------------------------------- */

static uint64_t align_up(uint64_t v)
{
    return (v + WAL_ALIGN - 1) & ~(uint64_t)(WAL_ALIGN - 1);
}

static unsigned version_of_magic(uint16_t magic)
{
    switch (magic) {
    case 0xD106:
        return 13;
    case 0xD10D:
        return 14;
    case 0xD110:
        return 15;
    case 0xD113:
        return 16;
    default:
        return 0;
    }
}

static uint64_t lsn_at(const struct walscan *ws, uint64_t pos)
{
    return ws->res.start_lsn + pos;
}

/* Ends the valid WAL; the reason reads "<fmt...> at <lsn>". The rest of the segment is only
 * counted. */
static void stop(struct walscan *ws, uint64_t lsn, const char *fmt, ...) PITR_PRINTF(3, 4);

static void stop(struct walscan *ws, uint64_t lsn, const char *fmt, ...)
{
    char *reason = ws->res.end_reason;
    size_t size = sizeof(ws->res.end_reason);
    char at[18];
    size_t used;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, size, fmt, ap);
    va_end(ap);
    wal_lsn_format(lsn, at);
    used = strlen(reason);
    snprintf(reason + used, size - used, " at %s", at);
    ws->st = ST_DONE;
}

/* --- page headers ----------------------------------------------------------------------------- */

/* The first page: anything wrong here means the input is not the named segment. */
static enum pitr_rc first_page(struct walscan *ws, struct pitr_err *err)
{
    const uint8_t *h = ws->phdr;
    uint16_t info = wal_get16(h + 2);
    uint32_t tli = wal_get32(h + 4);
    uint64_t pageaddr = wal_get64(h + 8);
    uint32_t seg_size = wal_get32(h + 32);
    uint32_t page_size = wal_get32(h + 36);
    uint64_t want;

    ws->magic = wal_get16(h);
    ws->res.pg_version = version_of_magic(ws->magic);
    if (ws->res.pg_version == 0) {
        return err_set(err, PITR_CORRUPT,
                       "\"%s\" is not a WAL segment of PostgreSQL 13 to 16: page magic 0x%04X",
                       ws->name, (unsigned)ws->magic);
    }
    if ((info & XLP_LONG_HEADER) == 0 || (info & ~XLP_ALL_FLAGS) != 0) {
        return err_set(err, PITR_CORRUPT,
                       "\"%s\" does not start with a long page header (flags 0x%04X)", ws->name,
                       (unsigned)info);
    }
    if (!wal_seg_size_valid(seg_size)) {
        return err_set(err, PITR_CORRUPT, "\"%s\" has an invalid segment size %" PRIu32, ws->name,
                       seg_size);
    }
    if (page_size < MIN_PAGE_SIZE || page_size > MAX_PAGE_SIZE ||
        (page_size & (page_size - 1)) != 0) {
        return err_set(err, PITR_CORRUPT, "\"%s\" has an invalid WAL page size %" PRIu32, ws->name,
                       page_size);
    }
    if (ws->name_seg >= wal_segs_per_log(seg_size)) {
        return err_set(err, PITR_CORRUPT,
                       "\"%s\" is not a segment name for %" PRIu32 "-byte segments", ws->name,
                       seg_size);
    }
    want = ((uint64_t)ws->name_log << 32) + (uint64_t)ws->name_seg * seg_size;
    if (pageaddr != want) {
        char got_s[18];
        char want_s[18];

        wal_lsn_format(pageaddr, got_s);
        wal_lsn_format(want, want_s);
        return err_set(err, PITR_CORRUPT,
                       "\"%s\" is not the segment its name says: it starts at %s, not %s", ws->name,
                       got_s, want_s);
    }
    /* A new timeline's first segment is a copy of the old one's up to the switch, old
     * timeline in its page headers included; a higher one than the name's is foreign. */
    if (tli == 0 || tli > ws->name_tli) {
        return err_set(err, PITR_CORRUPT,
                       "\"%s\" has timeline %" PRIu32 " in its first page header", ws->name, tli);
    }
    ws->started = true;
    ws->v15 = ws->res.pg_version >= 15;
    ws->page_size = page_size;
    ws->page_end = page_size;
    ws->last_tli = tli;
    ws->res.tli = tli;
    ws->res.sysid = wal_get64(h + 24);
    ws->res.seg_size = seg_size;
    ws->res.start_lsn = want;
    if ((info & XLP_FIRST_IS_CONTRECORD) != 0) {
        /* The segment opens with the tail of a record begun in the previous one. */
        ws->st = ST_SKIP;
        ws->left = wal_get32(h + 16);
    } else {
        ws->st = ST_REC_HDR;
        ws->rec_have = 0;
    }
    return PITR_OK;
}

/* Bytes of the current record seen so far. */
static uint64_t record_got(const struct walscan *ws)
{
    return ws->st == ST_REC_BODY ? REC_HDR + ws->body_have : ws->rec_have;
}

/* A later page: as PostgreSQL's reader, a header that does not fit ends the valid WAL. */
static void next_page(struct walscan *ws)
{
    const uint8_t *h = ws->phdr;
    uint16_t magic = wal_get16(h);
    uint16_t info = wal_get16(h + 2);
    uint32_t tli = wal_get32(h + 4);
    uint64_t pageaddr = wal_get64(h + 8);
    uint32_t rem_len = wal_get32(h + 16);
    uint64_t page_lsn = lsn_at(ws, ws->pos - SHORT_PHD);
    bool cont = (info & XLP_FIRST_IS_CONTRECORD) != 0;

    if (magic != ws->magic || (info & ~XLP_ALL_FLAGS) != 0 || (info & XLP_LONG_HEADER) != 0 ||
        pageaddr != page_lsn) {
        if (magic == 0 && info == 0 && pageaddr == 0) {
            stop(ws, page_lsn, "zeroed page");
        } else {
            stop(ws, page_lsn, "invalid page header");
        }
        return;
    }
    if (tli < ws->last_tli || tli > ws->name_tli) {
        stop(ws, page_lsn, "out-of-sequence timeline %" PRIu32 " in page header", tli);
        return;
    }
    ws->last_tli = tli;
    switch (ws->st) {
    case ST_SKIP:
        if (!cont || rem_len != ws->left) {
            stop(ws, page_lsn, "page without the rest of the record before it");
        }
        break;
    case ST_REC_HDR:
    case ST_REC_BODY:
        if (ws->st == ST_REC_HDR && ws->rec_have == 0) {
            if (cont) {
                stop(ws, page_lsn, "continuation where a new record should start");
            }
            break;
        }
        /* Records start 8-aligned and pages end 8-aligned, so tot_len (the first 4 bytes) is
         * always on the first page. */
        if (ws->st == ST_REC_HDR) {
            ws->tot_len = wal_get32(ws->rec);
        }
        if (ws->tot_len < REC_HDR) {
            stop(ws, ws->rec_start, "invalid record length %" PRIu32, ws->tot_len);
        } else if (!cont && (info & XLP_FIRST_IS_OVERWRITE_CONTRECORD) != 0) {
            /* The rest of this record was never written (a crash), and the server, once
             * recovered, went on here: as PostgreSQL's reader, drop it and read on. */
            ws->st = ST_REC_HDR;
            ws->rec_have = 0;
        } else if (!cont || rem_len == 0 || rem_len != ws->tot_len - record_got(ws)) {
            stop(ws, page_lsn, "page without the rest of the record before it");
        }
        break;
    case ST_PAD: /* padding never crosses a page (pages end 8-aligned) */
    case ST_DONE:
        break;
    }
}

/* --- records ---------------------------------------------------------------------------------- */

/* Finds the main data of the current record from its header area (in prefix): sets main_off and
 * main_want, or bad when the headers do not parse (the record is then the end of valid WAL, as
 * DecodeXLogRecord would refuse it). */
static void find_main_data(struct walscan *ws)
{
    const uint8_t *p = ws->prefix;
    size_t have = ws->prefix_want;
    uint64_t total = ws->body_len;
    uint64_t datatotal = 0;
    uint64_t main_len = 0;
    size_t off = 0;

    ws->bad = true;
    while (total - off > datatotal) {
        uint8_t id;

        if (off + 1 > have) {
            return;
        }
        id = p[off++];
        if (id == XLR_BLOCK_ID_DATA_SHORT || id == XLR_BLOCK_ID_DATA_LONG) {
            size_t w = id == XLR_BLOCK_ID_DATA_SHORT ? 1 : 4;

            if (off + w > have) {
                return;
            }
            main_len = w == 1 ? p[off] : wal_get32(p + off);
            off += w;
            datatotal += main_len;
            break; /* the main data header is always the last one */
        }
        if (id == XLR_BLOCK_ID_ORIGIN || id == XLR_BLOCK_ID_TOPLEVEL_XID) {
            off += id == XLR_BLOCK_ID_ORIGIN ? 2 : 4;
            if (off > have) {
                return;
            }
            continue;
        }
        if (id > XLR_MAX_BLOCK_ID || off + 3 > have) {
            return;
        }
        uint8_t flags = p[off];
        uint16_t data_len = wal_get16(p + off + 1);

        off += 3;
        if (((flags & BKPBLOCK_HAS_DATA) != 0) != (data_len != 0)) {
            return;
        }
        datatotal += data_len;
        if ((flags & BKPBLOCK_HAS_IMAGE) != 0) {
            if (off + 5 > have) {
                return;
            }
            uint16_t image_len = wal_get16(p + off);
            uint8_t image_info = p[off + 4];
            bool compressed = (image_info & (ws->v15 ? BKPIMAGE_ANY_COMPRESSED_15
                                                     : BKPIMAGE_IS_COMPRESSED_13)) != 0;

            off += 5;
            if ((image_info & BKPIMAGE_HAS_HOLE) != 0 && compressed) {
                off += 2;
            }
            datatotal += image_len;
        }
        if ((flags & BKPBLOCK_SAME_REL) == 0) {
            off += RELFILENODE_LEN;
        }
        off += 4; /* block number */
        if (off > have) {
            return;
        }
    }
    if (off > total || total - off != datatotal || main_len < ws->need) {
        return;
    }
    ws->bad = false;
    ws->window = true;
    ws->main_off = total - main_len;
    ws->main_want = ws->need;
}

/* Copies what of p[0..n) (record body offsets off..off+n) falls in the main data window. */
static void copy_window(struct walscan *ws, const uint8_t *p, uint64_t off, size_t n)
{
    uint64_t lo = off > ws->main_off ? off : ws->main_off;
    uint64_t end = off + n;
    uint64_t wend = ws->main_off + ws->main_want;
    uint64_t hi = end < wend ? end : wend;

    if (lo < hi) {
        memcpy(ws->main + (lo - ws->main_off), p + (lo - off), (size_t)(hi - lo));
    }
}

/* Keeps the bytes a record of interest needs as its body streams past. */
static void capture(struct walscan *ws, const uint8_t *p, size_t n)
{
    uint64_t off = ws->body_have;

    if (off < ws->prefix_want) {
        size_t c = ws->prefix_want - (size_t)off < n ? ws->prefix_want - (size_t)off : n;

        memcpy(ws->prefix + off, p, c);
        p += c;
        n -= c;
        off += c;
        if (off == ws->prefix_want) {
            find_main_data(ws);
            if (ws->window) {
                copy_window(ws, ws->prefix, 0, ws->prefix_want);
            }
        }
    }
    if (ws->window && n > 0) {
        copy_window(ws, p, off, n);
    }
}

static enum interest interest_of(uint8_t rmid, uint8_t info)
{
    if (rmid == RM_XACT_ID) {
        switch (info & XLOG_XACT_OPMASK) {
        case XLOG_XACT_COMMIT:
        case XLOG_XACT_COMMIT_PREPARED:
            return WANT_COMMIT;
        case XLOG_XACT_ABORT:
        case XLOG_XACT_ABORT_PREPARED:
            return WANT_ABORT;
        default:
            return WANT_NONE;
        }
    }
    if (rmid == RM_XLOG_ID) {
        switch (info & XLR_RMGR_INFO_MASK) {
        case XLOG_RESTORE_POINT:
            return WANT_RESTORE_POINT;
        case XLOG_SWITCH:
            return WANT_SWITCH;
        default:
            return WANT_NONE;
        }
    }
    return WANT_NONE;
}

static void begin_record(struct walscan *ws);
static void end_record(struct walscan *ws);

/* After a record (or the tail of one from the previous segment): pad to the next 8-byte
 * boundary, where the next record starts. */
static void after_record(struct walscan *ws)
{
    ws->left = align_up(ws->pos) - ws->pos;
    ws->st = ws->left > 0 ? ST_PAD : ST_REC_HDR;
    ws->rec_have = 0;
}

/* The record header is complete: check it as PostgreSQL's ValidXLogRecordHeader does. */
static void begin_record(struct walscan *ws)
{
    uint64_t prev = wal_get64(ws->rec + 8);

    ws->tot_len = wal_get32(ws->rec);
    if (ws->tot_len < REC_HDR) {
        if (ws->tot_len == 0) {
            stop(ws, ws->rec_start, "zeroed space");
        } else {
            stop(ws, ws->rec_start, "invalid record length %" PRIu32, ws->tot_len);
        }
        return;
    }
    if (ws->have_prev && prev != ws->prev_start) {
        char got[18];
        char want[18];

        wal_lsn_format(prev, got);
        wal_lsn_format(ws->prev_start, want);
        stop(ws, ws->rec_start, "record linking back to %s, not %s,", got, want);
        return;
    }
    ws->body_len = ws->tot_len - REC_HDR;
    ws->body_have = 0;
    ws->crc = CRC32C_INIT;
    ws->interest = interest_of(ws->rec[17], ws->rec[16]);
    ws->need = ws->interest == WANT_COMMIT || ws->interest == WANT_ABORT ? XACT_MAIN_NEED
               : ws->interest == WANT_RESTORE_POINT                      ? RESTORE_POINT_MAIN_NEED
                                                                         : 0;
    ws->bad = false;
    ws->window = false;
    ws->prefix_want = 0;
    if (ws->need > 0) {
        ws->prefix_want = ws->body_len < PREFIX_CAP ? (size_t)ws->body_len : PREFIX_CAP;
        if (ws->prefix_want == 0) {
            ws->bad = true;
        }
    }
    ws->st = ST_REC_BODY;
    if (ws->body_len == 0) {
        end_record(ws);
    }
}

static int64_t unix_usec(const uint8_t *p)
{
    return (int64_t)wal_get64(p) + PG_EPOCH_UNIX_USEC;
}

static void add_restore_point(struct walscan *ws, uint64_t end_lsn)
{
    struct walscan_result *r = &ws->res;
    struct walscan_restore_point *rp;

    if (r->restore_points == WALSCAN_MAX_RESTORE_POINTS) {
        r->restore_points_dropped++;
        return;
    }
    rp = &r->restore_point[r->restore_points++];
    rp->time = unix_usec(ws->main);
    memcpy(rp->name, ws->main + 8, WALSCAN_RP_NAME_LEN);
    rp->name[WALSCAN_RP_NAME_LEN - 1] = '\0';
    rp->lsn = ws->rec_start;
    rp->end_lsn = end_lsn;
}

/* The record's last byte was consumed (ws->pos is just past it). */
static void end_record(struct walscan *ws)
{
    struct walscan_result *r = &ws->res;
    uint32_t crc = crc32c_update(ws->crc, ws->rec, REC_CRC_OFF) ^ CRC32C_XOROUT;
    uint64_t end_lsn = lsn_at(ws, align_up(ws->pos));

    if (crc != wal_get32(ws->rec + REC_CRC_OFF)) {
        stop(ws, ws->rec_start, "incorrect record checksum");
        return;
    }
    if (ws->bad) {
        stop(ws, ws->rec_start, "invalid block references in record");
        return;
    }
    r->records++;
    r->end_lsn = end_lsn;
    ws->have_prev = true;
    ws->prev_start = ws->rec_start;
    switch (ws->interest) {
    case WANT_COMMIT:
        r->last_commit = unix_usec(ws->main);
        if (r->commits++ == 0) {
            r->first_commit = r->last_commit;
        }
        break;
    case WANT_ABORT:
        r->last_abort = unix_usec(ws->main);
        if (r->aborts++ == 0) {
            r->first_abort = r->last_abort;
        }
        break;
    case WANT_RESTORE_POINT:
        add_restore_point(ws, end_lsn);
        break;
    case WANT_SWITCH:
        /* The server zeroes the rest of the segment and goes on in the next one. */
        r->switched = true;
        stop(ws, ws->rec_start, "XLOG_SWITCH");
        return;
    case WANT_NONE:
        break;
    }
    after_record(ws);
}

/* Consumes up to n bytes (all on the current page, after its header) in the current state;
 * returns how many. */
static size_t step(struct walscan *ws, const uint8_t *p, size_t n)
{
    size_t k;

    switch (ws->st) {
    case ST_SKIP:
    case ST_PAD:
        k = ws->left < n ? (size_t)ws->left : n;
        ws->left -= k;
        ws->pos += k;
        if (ws->left == 0) {
            after_record(ws);
        }
        return k;
    case ST_REC_HDR:
        if (ws->rec_have == 0) {
            ws->rec_start = lsn_at(ws, ws->pos);
        }
        k = REC_HDR - ws->rec_have < n ? REC_HDR - ws->rec_have : n;
        memcpy(ws->rec + ws->rec_have, p, k);
        ws->rec_have += k;
        ws->pos += k;
        if (ws->rec_have == REC_HDR) {
            begin_record(ws);
        }
        return k;
    case ST_REC_BODY:
        k = ws->body_len - ws->body_have < n ? (size_t)(ws->body_len - ws->body_have) : n;
        ws->crc = crc32c_update(ws->crc, p, k);
        if (ws->need > 0) {
            capture(ws, p, k);
        }
        ws->body_have += k;
        ws->pos += k;
        if (ws->body_have == ws->body_len) {
            end_record(ws);
        }
        return k;
    case ST_DONE:
        break;
    }
    ws->pos += n;
    return n;
}

/* --- API -------------------------------------------------------------------------------------- */

struct walscan *walscan_new(const char *name, struct pitr_err *err)
{
    struct wal_file f;
    struct walscan *ws;

    if (wal_parse_name(name, &f, err) != PITR_OK) {
        return NULL;
    }
    if (f.kind != WAL_FILE_SEGMENT && f.kind != WAL_FILE_PARTIAL) {
        err_set(err, PITR_CONFIG, "\"%s\" is not a WAL segment", name);
        return NULL;
    }
    ws = xcalloc(1, sizeof(*ws));
    snprintf(ws->name, sizeof(ws->name), "%s", name); /* wal_parse_name bounds the length */
    ws->name_tli = f.tli;
    ws->name_log = f.log;
    ws->name_seg = f.seg;
    ws->phdr_len = LONG_PHD;
    err_clear(&ws->failed);
    return ws;
}

static enum pitr_rc feed(struct walscan *ws, const uint8_t *data, size_t len, struct pitr_err *err)
{
    while (len > 0) {
        size_t n;

        if (ws->phdr_have < ws->phdr_len) {
            n = ws->phdr_len - ws->phdr_have < len ? ws->phdr_len - ws->phdr_have : len;
            memcpy(ws->phdr + ws->phdr_have, data, n);
            ws->phdr_have += n;
            ws->pos += n;
            data += n;
            len -= n;
            if (ws->phdr_have < ws->phdr_len) {
                break;
            }
            if (!ws->started) {
                enum pitr_rc rc = first_page(ws, err);

                if (rc != PITR_OK) {
                    return rc;
                }
            } else if (ws->st != ST_DONE) {
                next_page(ws);
            }
            continue;
        }
        if (ws->pos == ws->res.seg_size) {
            return err_set(err, PITR_CORRUPT, "\"%s\" is longer than its segment size %" PRIu32,
                           ws->name, ws->res.seg_size);
        }
        if (ws->pos == ws->page_end) {
            ws->page_end += ws->page_size;
            ws->phdr_len = SHORT_PHD;
            ws->phdr_have = 0;
            if (ws->st == ST_DONE) {
                ws->phdr_have = SHORT_PHD; /* nothing left to check: count the page whole */
            }
            continue;
        }
        n = ws->page_end - ws->pos < len ? (size_t)(ws->page_end - ws->pos) : len;
        n = step(ws, data, n);
        data += n;
        len -= n;
    }
    return PITR_OK;
}

enum pitr_rc walscan_feed(struct walscan *ws, const uint8_t *data, size_t len, struct pitr_err *err)
{
    enum pitr_rc rc;

    if (ws->failed.rc != PITR_OK) {
        return err_copy(err, &ws->failed);
    }
    rc = feed(ws, data, len, err);
    if (rc != PITR_OK) {
        err_copy(&ws->failed, err);
    }
    return rc;
}

enum pitr_rc walscan_finish(struct walscan *ws, struct walscan_result *out, struct pitr_err *err)
{
    struct walscan_result *r = &ws->res;

    if (ws->failed.rc != PITR_OK) {
        return err_copy(err, &ws->failed);
    }
    if (!ws->started) {
        return err_set(err, PITR_CORRUPT,
                       "\"%s\" is shorter than a WAL page header (%" PRIu64 " bytes)", ws->name,
                       ws->pos);
    }
    if (ws->pos != r->seg_size) {
        return err_set(err, PITR_CORRUPT,
                       "\"%s\" is %" PRIu64 " bytes, its page header says %" PRIu32, ws->name,
                       ws->pos, r->seg_size);
    }
    if (ws->st != ST_DONE) {
        snprintf(r->end_reason, sizeof(r->end_reason), "%s",
                 ws->st == ST_REC_HDR && ws->rec_have == 0 ? "end of segment"
                                                           : "end of segment inside a record");
    }
    r->well_formed = r->switched || ws->st != ST_DONE;
    *out = *r;
    return PITR_OK;
}

void walscan_free(struct walscan *ws)
{
    free(ws);
}

/* --- pipeline stage --------------------------------------------------------------------------- */

struct walscan_filter {
    struct filter base;
    struct walscan *ws;
    struct walscan_result result;
};

static enum pitr_rc walscan_filter_write(struct filter *f, const uint8_t *data, size_t len,
                                         struct pitr_err *err)
{
    struct walscan_filter *s = (struct walscan_filter *)f;
    enum pitr_rc rc = walscan_feed(s->ws, data, len, err);

    return rc != PITR_OK ? rc : filter_emit(f, data, len, err);
}

static enum pitr_rc walscan_filter_finish(struct filter *f, struct pitr_err *err)
{
    struct walscan_filter *s = (struct walscan_filter *)f;
    enum pitr_rc rc = walscan_finish(s->ws, &s->result, err);

    return rc != PITR_OK ? rc : filter_finish_next(f, err);
}

static void walscan_filter_free(struct filter *f)
{
    struct walscan_filter *s = (struct walscan_filter *)f;

    walscan_free(s->ws);
    free(s);
}

static const struct filter_ops walscan_filter_ops = {"walscan", walscan_filter_write,
                                                     walscan_filter_finish, walscan_filter_free};

struct filter *walscan_filter_new(const char *name, struct pitr_err *err)
{
    struct walscan *ws = walscan_new(name, err);
    struct walscan_filter *s;

    if (ws == NULL) {
        return NULL;
    }
    s = xcalloc(1, sizeof(*s));
    filter_init(&s->base, &walscan_filter_ops);
    s->ws = ws;
    return &s->base;
}

const struct walscan_result *walscan_filter_result(const struct filter *f)
{
    return &((const struct walscan_filter *)f)->result;
}

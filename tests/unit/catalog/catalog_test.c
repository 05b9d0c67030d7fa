/* Tests for catalog/catalog.c and catalog/windows.c: entries survive format -> parse whatever the
 * restore point names hold; every damaged file is PITR_CORRUPT naming the file and line; on the
 * in-memory repository, entries are create-only, merges write the union of what they read (so
 * concurrent writers never lose an entry), loads read entry files only for incomplete folders,
 * and windows start at backups or branch points and end at the last transaction before a gap. */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/strutil.h"
#include "catalog/catalog.h"
#include "crypto/key.h"
#include "crypto/sha256.h"
#include "pg/wal.h"
#include "pg/walscan.h"
#include "repo/backup.h"
#include "repo/repo.h"
#include "storage/storage.h"
#include "storage/storage_int.h"

enum { SEG16 = 16u << 20 };

static const int64_t T0 = 1767882600LL * 1000000; /* 2026-01-08 14:30:00 UTC */

static struct catalog_seg seg_of(uint32_t tli, uint64_t segno, uint32_t xacts)
{
    struct catalog_seg g;

    memset(&g, 0, sizeof(g));
    g.tli = tli;
    g.segno = segno;
    g.seg_size = SEG16;
    g.archived_us = T0 + (int64_t)segno * 60000000 + 30000000;
    g.xacts = xacts;
    if (xacts > 0) {
        g.first_xact_us = T0 + (int64_t)segno * 60000000 + 1;
        g.last_xact_us = T0 + (int64_t)segno * 60000000 + 59999999;
    }
    return g;
}

static struct catalog_rp rp_of(uint32_t tli, uint64_t lsn, const char *name)
{
    struct catalog_rp r;

    memset(&r, 0, sizeof(r));
    r.tli = tli;
    r.lsn = lsn;
    r.time_us = T0 + (int64_t)(lsn / SEG16) * 60000000 + 7;
    snprintf(r.name, sizeof(r.name), "%s", name);
    return r;
}

/* Formats an entry as the session repo writes it (NULL: plain checksums). */
static void format_entry_as(const struct repo_session *repo, const struct catalog_seg *g,
                            const struct catalog_rp *rps, size_t n, struct buf *out)
{
    struct pitr_err err;

    buf_init(out, 1 << 20);
    ck_assert_msg(catalog_entry_format(g, rps, n, repo, out, &err) == PITR_OK, "%s", err.msg);
}

static void format_entry(const struct catalog_seg *g, const struct catalog_rp *rps, size_t n,
                         struct buf *out)
{
    format_entry_as(NULL, g, rps, n, out);
}

/* --- keys: what a session with an encryption key signs and checks lines with ------------------ */

#define CAT_SYSID UINT64_C(7312345678901234567)

enum ring { RING_NONE, RING_A, RING_B, RING_B_A }; /* RING_B_A: key b, then key a as an old key */

static struct key *key_of(const char *secret)
{
    struct pitr_err err;
    struct key *k = key_from_secret((const uint8_t *)secret, strlen(secret), &err);

    ck_assert_msg(k != NULL, "%s", err.msg);
    return k;
}

static struct key *ring_new(enum ring which)
{
    struct pitr_err err;
    struct key *k;

    switch (which) {
    case RING_A:
        return key_of("0123456789abcdef0123456789abcdef-key-a");
    case RING_B:
        return key_of("0123456789abcdef0123456789abcdef-key-b");
    case RING_B_A:
        k = key_of("0123456789abcdef0123456789abcdef-key-b");
        ck_assert_int_eq(key_ring_add(k, key_of("0123456789abcdef0123456789abcdef-key-a"), &err),
                         PITR_OK);
        return k;
    case RING_NONE:
        break;
    }
    return NULL;
}

/* A session of cluster "c" over s (may be NULL) with the keys of ring (owned: free with
 * key_free(repo.key)) and the system identifier sysid. */
static struct repo_session session_of(struct storage *s, enum ring ring, uint64_t sysid)
{
    struct repo_session repo;

    memset(&repo, 0, sizeof(repo));
    repo.storage = s;
    repo.cluster = (char *)"c";
    repo.key = ring_new(ring);
    repo.info.sysid = sysid;
    repo.has_info = true;
    return repo;
}

static void parse_ok(const struct buf *text, struct catalog_wal *w)
{
    struct pitr_err err;

    ck_assert_msg(catalog_parse((const char *)text->data, text->len, "e", NULL, w, &err) == PITR_OK,
                  "%s", err.msg);
}

static void assert_seg_eq(const struct catalog_seg *a, const struct catalog_seg *b)
{
    ck_assert_uint_eq(a->tli, b->tli);
    ck_assert_uint_eq(a->segno, b->segno);
    ck_assert_uint_eq(a->seg_size, b->seg_size);
    ck_assert_int_eq(a->archived_us, b->archived_us);
    ck_assert_uint_eq(a->xacts, b->xacts);
    ck_assert_int_eq(a->first_xact_us, b->first_xact_us);
    ck_assert_int_eq(a->last_xact_us, b->last_xact_us);
    ck_assert_uint_eq(a->stored_size, b->stored_size);
}

/* One line "<content> ~<checksum>\n", signed as the catalog signs lines. */
static void append_signed(struct buf *out, const char *content)
{
    uint8_t digest[SHA256_LEN];
    char sum[17];
    struct pitr_err err;

    sha256_buffer((const uint8_t *)content, strlen(content), digest);
    str_hex_encode(digest, 8, sum);
    ck_assert_int_eq(buf_printf(out, &err, "%s ~%s\n", content, sum), PITR_OK);
}

/* --- catalog_entry_format -> catalog_parse ----------------------------------------------- */

static const char *const rp_names[] = {
    "before_drop",
    "",
    "with spaces  and\ttab",
    "100% sure",
    "%41 is not A",
    "tilde~in~name ~0123456789abcdef",
    "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x90\x98",
    "name=lsn=0/1 time=x",
    "\x01\x7f\xff",
    /* 63 bytes: the longest name PostgreSQL accepts */
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_",
    /* 63 bytes that all need escaping: the longest line */
    "%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%",
};

START_TEST(test_catalog_entry_round_trip_names)
{
    struct catalog_seg g = seg_of(3, 0x1FF, 12);
    struct catalog_rp rps[2];
    struct catalog_wal w = {NULL, 0, NULL, 0};
    struct buf text;

    rps[0] = rp_of(3, 0x1FF * (uint64_t)SEG16 + 0x100, rp_names[_i]);
    rps[1] = rp_of(3, 0x1FF * (uint64_t)SEG16 + 0x200, "second");
    ck_assert_uint_eq(strlen(rps[0].name), strlen(rp_names[_i])); /* not cut */
    format_entry(&g, rps, 2, &text);
    ck_assert_int_eq(strncmp((char *)text.data, "pitr-catalog 1\n", 15), 0);
    /* nothing in a name can end a field, a line or fake the checksum */
    ck_assert_ptr_null(memchr(text.data, '\0', text.len));
    parse_ok(&text, &w);
    ck_assert_uint_eq(w.n_segs, 1);
    assert_seg_eq(&w.segs[0], &g);
    ck_assert_uint_eq(w.n_rps, 2);
    ck_assert_uint_eq(w.rps[0].tli, 3);
    ck_assert_uint_eq(w.rps[0].lsn, rps[0].lsn);
    ck_assert_int_eq(w.rps[0].time_us, rps[0].time_us);
    ck_assert_str_eq(w.rps[0].name, rp_names[_i]);
    ck_assert_str_eq(w.rps[1].name, "second");
    catalog_wal_fini(&w);
    buf_fini(&text);
}
END_TEST

START_TEST(test_catalog_entry_round_trip_no_xacts)
{
    struct catalog_seg g = seg_of(1, 5, 0);
    struct catalog_wal w = {NULL, 0, NULL, 0};
    struct buf text;

    format_entry(&g, NULL, 0, &text);
    ck_assert_ptr_nonnull(strstr((char *)text.data,
                                 "seg 000000010000000000000005 size=16777216 "
                                 "archived=2026-01-08T14:35:30.000000Z xacts=0 ~"));
    ck_assert_ptr_null(strstr((char *)text.data, "first="));
    parse_ok(&text, &w);
    ck_assert_uint_eq(w.n_segs, 1);
    assert_seg_eq(&w.segs[0], &g);
    ck_assert_uint_eq(w.n_rps, 0);
    catalog_wal_fini(&w);
    buf_fini(&text);
}
END_TEST

/* Other segment sizes, the epoch, the last segment of the last timeline. (Times before 1970
 * are not stored: timestamp_parse refuses them, and no archive is that old.) */
START_TEST(test_catalog_entry_round_trip_edges)
{
    struct catalog_seg g = seg_of(0xFFFFFFFF, 7, 1);
    struct catalog_wal w = {NULL, 0, NULL, 0};
    struct buf text;

    g.seg_size = 1u << 30;
    g.segno = 0xFFFFFFFFull * 4 + 3;
    g.archived_us = 0;
    g.xacts = UINT32_MAX;
    g.first_xact_us = 1;
    g.last_xact_us = 1;
    format_entry(&g, NULL, 0, &text);
    parse_ok(&text, &w);
    ck_assert_uint_eq(w.n_segs, 1);
    assert_seg_eq(&w.segs[0], &g);
    catalog_wal_fini(&w);
    buf_fini(&text);
}
END_TEST

/* The stored size is written last, only when known, and read back exactly; a line without it
 * (written before pitr recorded it) reads as 0, "not recorded". */
static const struct {
    uint64_t stored;
    uint32_t xacts;
    const char *tail; /* how the line ends, before its checksum */
} stored_cases[] = {
    {0, 0, " xacts=0 ~"},
    {0, 3, " last=2026-01-08T14:35:59.999999Z ~"},
    {1, 0, " xacts=0 stored=1 ~"},
    {2123456, 3, " last=2026-01-08T14:35:59.999999Z stored=2123456 ~"},
    {UINT64_MAX, 1, " stored=18446744073709551615 ~"},
};

START_TEST(test_catalog_entry_round_trip_stored)
{
    struct catalog_seg g = seg_of(1, 5, stored_cases[_i].xacts);
    struct catalog_wal w = {NULL, 0, NULL, 0};
    struct buf text;

    g.stored_size = stored_cases[_i].stored;
    format_entry(&g, NULL, 0, &text);
    ck_assert_msg(strstr((char *)text.data, stored_cases[_i].tail) != NULL, "%s",
                  (char *)text.data);
    ck_assert_int_eq(strstr((char *)text.data, "stored=") != NULL, stored_cases[_i].stored > 0);
    parse_ok(&text, &w);
    ck_assert_uint_eq(w.n_segs, 1);
    assert_seg_eq(&w.segs[0], &g);
    catalog_wal_fini(&w);
    buf_fini(&text);
}
END_TEST

/* Parsing adds to what w holds: many files into one catalog. */
START_TEST(test_catalog_parse_accumulates)
{
    struct catalog_wal w = {NULL, 0, NULL, 0};

    for (uint64_t segno = 10; segno > 0; segno--) {
        struct catalog_seg g = seg_of(1, segno, (uint32_t)segno % 3);
        struct catalog_rp r = rp_of(1, segno * SEG16 + 8, "rp");
        struct buf text;

        format_entry(&g, &r, segno % 2, &text);
        parse_ok(&text, &w);
        buf_fini(&text);
    }
    ck_assert_uint_eq(w.n_segs, 10);
    ck_assert_uint_eq(w.n_rps, 5);
    ck_assert_uint_eq(w.segs[0].segno, 10);
    catalog_wal_fini(&w);
}
END_TEST

/* --- damaged files ------------------------------------------------------------------------- */

/* header, seg line, rp line, seg line; signed as repo signs them (NULL: plain checksums) */
static void damaged_base(const struct repo_session *repo, struct buf *text)
{
    struct catalog_seg g = seg_of(1, 3, 12);
    struct catalog_seg h = seg_of(1, 4, 0);
    struct catalog_rp r = rp_of(1, 3 * (uint64_t)SEG16 + 0x100, "a b%c~d");
    struct buf more;
    struct pitr_err err;

    format_entry_as(repo, &g, &r, 1, text);
    format_entry_as(repo, &h, NULL, 0, &more);
    ck_assert_int_eq(buf_append(text, more.data + 15, more.len - 15, &err), PITR_OK);
    buf_fini(&more);
}

static int line_of(const struct buf *text, size_t pos)
{
    int line = 1;

    for (size_t i = 0; i < pos; i++) {
        line += text->data[i] == '\n';
    }
    return line;
}

/* Asserts that text, parsed by the session repo (NULL: no keys), is damaged at line. */
static void assert_damaged_as(const struct repo_session *repo, const char *text, size_t len,
                              int line)
{
    struct catalog_wal w = {NULL, 0, NULL, 0};
    struct pitr_err err;
    char want[256];

    if (line == 1) {
        snprintf(want, sizeof(want),
                 "f.cat is not a pitr catalog file (no \"pitr-catalog 1\" header)");
    } else {
        snprintf(want, sizeof(want),
                 "f.cat line %d is damaged (malformed or its checksum does not match): run "
                 "pitr-catalog rebuild",
                 line);
    }
    ck_assert_int_eq(catalog_parse(text, len, "f.cat", repo, &w, &err), PITR_CORRUPT);
    ck_assert_int_eq(err.rc, PITR_CORRUPT);
    ck_assert_str_eq(err.msg, want);
    catalog_wal_fini(&w);
}

static void assert_damaged(const char *text, size_t len, int line)
{
    assert_damaged_as(NULL, text, len, line);
}

/* Every byte of every line, flipped one bit at a time; _i 0: lines with checksums, 1: with MACs. */
START_TEST(test_catalog_parse_flipped_byte)
{
    struct repo_session repo = session_of(NULL, _i ? RING_A : RING_NONE, CAT_SYSID);
    struct buf text;

    damaged_base(&repo, &text);
    for (size_t pos = 0; pos < text.len; pos++) {
        for (int bit = 0; bit < 8; bit++) {
            uint8_t was = text.data[pos];
            int line = line_of(&text, pos);

            /* a new line break or NUL cuts the line short, a lost one joins it to the next:
             * either way the line the byte is in is the one reported */
            text.data[pos] = (uint8_t)(was ^ (1u << bit));
            assert_damaged_as(&repo, (char *)text.data, text.len, line);
            text.data[pos] = was;
        }
    }
    buf_fini(&text);
    key_free(repo.key);
}
END_TEST

/* Cut at every length: unless the cut falls just after a line, the last line is damaged. _i 0:
 * lines with checksums, 1: with MACs. */
START_TEST(test_catalog_parse_truncated)
{
    struct repo_session repo = session_of(NULL, _i ? RING_A : RING_NONE, CAT_SYSID);
    struct buf text;

    damaged_base(&repo, &text);
    for (size_t len = 0; len < text.len; len++) {
        if (len > 0 && text.data[len - 1] == '\n' && len >= 15) {
            struct catalog_wal w = {NULL, 0, NULL, 0};
            struct pitr_err err;

            ck_assert_int_eq(catalog_parse((char *)text.data, len, "f.cat", &repo, &w, &err),
                             PITR_OK);
            catalog_wal_fini(&w);
            continue;
        }
        assert_damaged_as(&repo, (char *)text.data, len, len < 15 ? 1 : line_of(&text, len));
    }
    buf_fini(&text);
    key_free(repo.key);
}
END_TEST

/* Lines with a correct checksum but content the catalog never writes. */
static const struct {
    const char *line;
    const char *why;
} malformed[] = {
    {"seg 000000010000000000000003 size=16777216 archived=2026-01-08T14:30:00.000000Z xacts=0 ~"
     "0123456789abcdef",
     "wrong checksum"},
    {"", "empty line"},
    {"seg", "kind only"},
    {"wal 000000010000000000000003 size=16777216 archived=2026-01-08T14:30:00.000000Z xacts=0",
     "unknown kind"},
    {"Seg 000000010000000000000003 size=16777216 archived=2026-01-08T14:30:00.000000Z xacts=0",
     "kind in capitals"},
    {"seg 00000001000000000000003 size=16777216 archived=2026-01-08T14:30:00.000000Z xacts=0",
     "segment name too short"},
    {"seg 00000001000000000000000G size=16777216 archived=2026-01-08T14:30:00.000000Z xacts=0",
     "segment name not hex"},
    {"seg 00000001.history size=16777216 archived=2026-01-08T14:30:00.000000Z xacts=0",
     "a history file"},
    {"seg 000000010000000000000003.partial size=16777216 archived=2026-01-08T14:30:00.000000Z "
     "xacts=0",
     "a partial segment"},
    {"seg 000000000000000000000003 size=16777216 archived=2026-01-08T14:30:00.000000Z xacts=0",
     "timeline 0"},
    {"seg 000000010000000000000003 size=16777215 archived=2026-01-08T14:30:00.000000Z xacts=0",
     "size not a power of two"},
    {"seg 000000010000000000000003 size=0 archived=2026-01-08T14:30:00.000000Z xacts=0", "size 0"},
    {"seg 000000010000000000000003 size=16MB archived=2026-01-08T14:30:00.000000Z xacts=0",
     "size with a unit"},
    {"seg 000000010000000000000003 size=-16777216 archived=2026-01-08T14:30:00.000000Z xacts=0",
     "negative size"},
    {"seg 000000010000000000000003 size=4294967296 archived=2026-01-08T14:30:00.000000Z xacts=0",
     "size over 32 bits"},
    {"seg 000000010000000000000003 archived=2026-01-08T14:30:00.000000Z xacts=0", "no size"},
    {"seg 000000010000000000000003 size=16777216 xacts=0", "no archive time"},
    {"seg 000000010000000000000003 size=16777216 archived=yesterday xacts=0", "bad archive time"},
    {"seg 000000010000000000000003 size=16777216 archived=2026-01-08T14:30:00.000000Z", "no xacts"},
    {"seg 000000010000000000000003 size=16777216 archived=2026-01-08T14:30:00.000000Z xacts=x",
     "bad xacts"},
    {"seg 000000010000000000000003 size=16777216 archived=2026-01-08T14:30:00.000000Z xacts=2",
     "xacts without first and last"},
    {"seg 000000010000000000000003 size=16777216 archived=2026-01-08T14:30:00.000000Z xacts=2 "
     "first=2026-01-08T14:30:00.000000Z",
     "no last"},
    {"seg 000000010000000000000003 size=16777216 archived=2026-01-08T14:30:00.000000Z xacts=2 "
     "first=2026-01-08T14:30:00.000001Z last=2026-01-08T14:30:00.000000Z",
     "first after last"},
    {"seg 000000010000000000000003 size=16777216 archived=2026-01-08T14:30:00.000000Z xacts=2 "
     "first=2026-01-08T14:30:00.000000Z last=soon",
     "bad last"},
    {"rp 000000010000000000000003 time=2026-01-08T14:30:00.000000Z name=x", "rp without lsn"},
    {"rp 000000010000000000000003 lsn=3000100 time=2026-01-08T14:30:00.000000Z name=x",
     "rp with a bad lsn"},
    {"rp 000000010000000000000003 lsn=0/3000100 name=x", "rp without time"},
    {"rp 000000010000000000000003 lsn=0/3000100 time=2026-01-08T14:30:00.000000Z",
     "rp without name"},
    {"rp 000000010000000000000003 lsn=0/3000100 time=2026-01-08T14:30:00.000000Z name=a%",
     "escape cut at the end"},
    {"rp 000000010000000000000003 lsn=0/3000100 time=2026-01-08T14:30:00.000000Z name=a%4",
     "escape of one digit"},
    {"rp 000000010000000000000003 lsn=0/3000100 time=2026-01-08T14:30:00.000000Z name=a%G1b",
     "escape not hex"},
    {"rp 000000010000000000000003 lsn=0/3000100 time=2026-01-08T14:30:00.000000Z name=a%00b",
     "escaped NUL"},
    {"rp 000000010000000000000003 lsn=0/3000100 time=2026-01-08T14:30:00.000000Z name=a%+1b",
     "escape with a sign"},
    {"rp 000000010000000000000003 lsn=0/3000100 time=2026-01-08T14:30:00.000000Z "
     "name=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_X",
     "name of 64 bytes"},
    {"rp 000000010000000000000003 lsn=0/3000100 time=2026-01-08T14:30:00.000000Z "
     "name=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_%25",
     "name of 64 bytes once unescaped"},
    {"rp 00000001.history lsn=0/3000100 time=2026-01-08T14:30:00.000000Z name=x",
     "rp of a history file"},
    {"seg 000000010000000000000003 size=16777216 archived=2026-01-08T14:30:00.000000Z xacts=0 "
     "stored=0",
     "stored size 0 (never written: an object has a header)"},
    {"seg 000000010000000000000003 size=16777216 archived=2026-01-08T14:30:00.000000Z xacts=0 "
     "stored=",
     "empty stored size"},
    {"seg 000000010000000000000003 size=16777216 archived=2026-01-08T14:30:00.000000Z xacts=0 "
     "stored=-5",
     "negative stored size"},
    {"seg 000000010000000000000003 size=16777216 archived=2026-01-08T14:30:00.000000Z xacts=0 "
     "stored=2MB",
     "stored size with a unit"},
    {"seg 000000010000000000000003 size=16777216 archived=2026-01-08T14:30:00.000000Z xacts=0 "
     "stored=18446744073709551616",
     "stored size over 64 bits"},
};

START_TEST(test_catalog_parse_malformed_line)
{
    struct buf text;
    const char *line = malformed[_i].line;
    struct pitr_err err;

    buf_init(&text, 1 << 20);
    ck_assert_int_eq(buf_printf(&text, &err, "pitr-catalog 1\n"), PITR_OK);
    append_signed(&text,
                  "seg 000000010000000000000002 size=16777216 archived=2026-01-08T14:30:00.000000Z "
                  "xacts=0");
    if (strstr(line, " ~") != NULL) {
        ck_assert_int_eq(buf_printf(&text, &err, "%s\n", line), PITR_OK); /* signed wrongly */
    } else {
        append_signed(&text, line);
    }
    append_signed(&text,
                  "seg 000000010000000000000004 size=16777216 archived=2026-01-08T14:30:00.000000Z "
                  "xacts=0");
    assert_damaged((char *)text.data, text.len, 3);
    buf_fini(&text);
}
END_TEST

/* The lines the table above breaks, written correctly, do parse: the table tests what it says. */
START_TEST(test_catalog_parse_hand_written)
{
    struct buf text;
    struct catalog_wal w = {NULL, 0, NULL, 0};
    struct pitr_err err;

    buf_init(&text, 1 << 20);
    ck_assert_int_eq(buf_printf(&text, &err, "pitr-catalog 1\n"), PITR_OK);
    append_signed(&text,
                  "seg 000000010000000000000003 size=16777216 archived=2026-01-08T14:30:00.000000Z "
                  "xacts=2 stored=77 first=2026-01-08T14:30:00.000000Z "
                  "last=2026-01-08T14:30:00.000000Z future=field");
    append_signed(&text, "rp 000000010000000000000003 lsn=0/3000100 "
                         "time=2026-01-08T14:30:00.000000Z name=a%25%7eb%e9");
    parse_ok(&text, &w);
    ck_assert_uint_eq(w.n_segs, 1);
    ck_assert_uint_eq(w.segs[0].xacts, 2);
    ck_assert_int_eq(w.segs[0].first_xact_us, T0);
    ck_assert_uint_eq(w.segs[0].stored_size, 77); /* fields are found wherever they are */
    ck_assert_uint_eq(w.n_rps, 1);
    ck_assert_str_eq(w.rps[0].name, "a%~b\xe9");
    catalog_wal_fini(&w);
    buf_fini(&text);
}
END_TEST

START_TEST(test_catalog_parse_header)
{
    static const char *const texts[] = {
        "",
        "pitr-catalog 1",
        "pitr-catalog 2\n",
        "pitr-catalog  1\n",
        "PITR-CATALOG 1\n",
        "seg 000000010000000000000003 size=16777216 ~0123456789abcdef\n",
    };
    struct catalog_wal w = {NULL, 0, NULL, 0};
    struct pitr_err err;

    for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
        assert_damaged(texts[i], strlen(texts[i]), 1);
    }
    /* a header alone is an empty catalog */
    ck_assert_int_eq(catalog_parse("pitr-catalog 1\n", 15, "f.cat", NULL, &w, &err), PITR_OK);
    ck_assert_uint_eq(w.n_segs, 0);
    /* len bounds the text: what follows it is not read */
    ck_assert_int_eq(catalog_parse("pitr-catalog 1\ngarbage", 15, "f.cat", NULL, &w, &err),
                     PITR_OK);
    catalog_wal_fini(&w);
}
END_TEST

/* --- lines with MACs ------------------------------------------------------------------------- */

enum line_verdict { LINES_OK, LINES_DAMAGED, LINES_UNAUTHENTICATED, LINES_NEED_KEY };

static const struct {
    const char *what;
    enum ring writer; /* RING_NONE: plain checksums */
    uint64_t writer_sysid;
    enum ring reader;
    bool reader_repo; /* false: parsed with repo NULL */
    enum line_verdict verdict;
} keyed[] = {
    {"the same key", RING_A, CAT_SYSID, RING_A, true, LINES_OK},
    {"an old key of the ring", RING_A, CAT_SYSID, RING_B_A, true, LINES_OK},
    {"the ring's current key", RING_B_A, CAT_SYSID, RING_B_A, true, LINES_OK},
    {"the ring's current key signs", RING_B_A, CAT_SYSID, RING_B, true, LINES_OK},
    {"another key", RING_A, CAT_SYSID, RING_B, true, LINES_DAMAGED},
    {"the old key of the ring never signs", RING_B_A, CAT_SYSID, RING_A, true, LINES_DAMAGED},
    {"another cluster", RING_A, CAT_SYSID + 1, RING_A, true, LINES_DAMAGED},
    {"another cluster, old key", RING_A, 0, RING_B_A, true, LINES_DAMAGED},
    {"plain lines, with a key", RING_NONE, CAT_SYSID, RING_A, true, LINES_UNAUTHENTICATED},
    {"plain lines, with a ring", RING_NONE, CAT_SYSID, RING_B_A, true, LINES_UNAUTHENTICATED},
    {"MAC lines, session without a key", RING_A, CAT_SYSID, RING_NONE, true, LINES_NEED_KEY},
    {"MAC lines, no session", RING_A, CAT_SYSID, RING_NONE, false, LINES_NEED_KEY},
    {"plain lines, no key", RING_NONE, CAT_SYSID, RING_NONE, true, LINES_OK},
};

/* The message for verdict v of line `line` of f.cat (LINES_OK: ""). */
static void verdict_msg(enum line_verdict v, int line, char *out, size_t size)
{
    out[0] = '\0';
    if (v == LINES_DAMAGED) {
        snprintf(out, size,
                 "f.cat line %d is damaged (malformed or its checksum does not match): run "
                 "pitr-catalog rebuild",
                 line);
    } else if (v == LINES_UNAUTHENTICATED) {
        snprintf(out, size,
                 "f.cat line %d is not authenticated with the key (written without it, by someone "
                 "else or by a pitr before 2026-12): run pitr-catalog upgrade",
                 line);
    } else if (v == LINES_NEED_KEY) {
        snprintf(out, size,
                 "f.cat line %d is authenticated with an encryption key: set encryption_key_file",
                 line);
    }
}

static enum pitr_rc verdict_rc(enum line_verdict v)
{
    return v == LINES_OK ? PITR_OK : (v == LINES_NEED_KEY ? PITR_CONFIG : PITR_CORRUPT);
}

/* Whether every line after the header ends in " ~h" and 32 hex digits (mac) or " ~" and 16. */
static bool lines_signed(const struct buf *text, bool mac)
{
    const char *p = (const char *)text->data + 15;
    const char *end = (const char *)text->data + text->len;
    size_t hex = mac ? 32 : 16;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *sig;

        if (nl == NULL || (size_t)(nl - p) < hex + 3) {
            return false;
        }
        sig = nl - hex - (mac ? 3 : 2);
        if (strncmp(sig, mac ? " ~h" : " ~", mac ? 3 : 2) != 0 ||
            strspn(sig + (mac ? 3 : 2), "0123456789abcdef") != hex) {
            return false;
        }
        p = nl + 1;
    }
    return true;
}

/* With a key, lines carry an HMAC bound to the cluster instead of a checksum: they parse under
 * any key of the ring, and nowhere else; plain lines are refused under a key, MACs without one. */
START_TEST(test_catalog_parse_keyed)
{
    struct repo_session writer = session_of(NULL, keyed[_i].writer, keyed[_i].writer_sysid);
    struct repo_session reader = session_of(NULL, keyed[_i].reader, CAT_SYSID);
    struct catalog_seg g = seg_of(2, 0x42, 3);
    struct catalog_rp rps[2];
    struct catalog_wal w = {NULL, 0, NULL, 0};
    struct buf text;
    struct pitr_err err;
    char want[512];

    memset(&err, 0, sizeof(err));
    rps[0] = rp_of(2, 0x42 * (uint64_t)SEG16 + 0x100, "one ~h0123");
    rps[1] = rp_of(2, 0x42 * (uint64_t)SEG16 + 0x200, "two");
    format_entry_as(keyed[_i].writer == RING_NONE ? NULL : &writer, &g, rps, 2, &text);
    ck_assert_msg(lines_signed(&text, keyed[_i].writer != RING_NONE), "%.*s", (int)text.len,
                  text.data);
    verdict_msg(keyed[_i].verdict, 2, want, sizeof(want));
    ck_assert_msg(catalog_parse((const char *)text.data, text.len, "f.cat",
                                keyed[_i].reader_repo ? &reader : NULL, &w,
                                &err) == verdict_rc(keyed[_i].verdict),
                  "%s: %s", keyed[_i].what, err.msg);
    if (keyed[_i].verdict == LINES_OK) {
        ck_assert_uint_eq(w.n_segs, 1);
        assert_seg_eq(&w.segs[0], &g);
        ck_assert_uint_eq(w.n_rps, 2);
        ck_assert_str_eq(w.rps[0].name, "one ~h0123");
        ck_assert_str_eq(w.rps[1].name, "two");
    } else {
        ck_assert_int_eq(err.rc, verdict_rc(keyed[_i].verdict));
        ck_assert_str_eq(err.msg, want);
    }
    catalog_wal_fini(&w);
    buf_fini(&text);
    key_free(writer.key);
    key_free(reader.key);
}
END_TEST

/* Appends the lines (not the header) of seg's entry as repo writes it to text. */
static void append_entry_lines(const struct repo_session *repo, uint64_t segno, struct buf *text)
{
    struct catalog_seg g = seg_of(1, segno, 1);
    struct buf entry;
    struct pitr_err err;

    format_entry_as(repo, &g, NULL, 0, &entry);
    ck_assert_int_eq(buf_append(text, entry.data + 15, entry.len - 15, &err), PITR_OK);
    buf_fini(&entry);
}

/* A file mixing lines: the first one that does not pass is the one reported. */
START_TEST(test_catalog_parse_keyed_mixed)
{
    struct repo_session a = session_of(NULL, RING_A, CAT_SYSID);
    struct repo_session other = session_of(NULL, RING_A, CAT_SYSID + 1);
    struct repo_session plain = session_of(NULL, RING_NONE, CAT_SYSID);
    struct catalog_wal w = {NULL, 0, NULL, 0};
    struct buf text;
    struct pitr_err err;
    char want[512];

    /* MACs, then a plain line (planted): read with the key */
    buf_init(&text, 1 << 20);
    ck_assert_int_eq(buf_printf(&text, &err, "pitr-catalog 1\n"), PITR_OK);
    append_entry_lines(&a, 1, &text);
    append_entry_lines(&a, 2, &text);
    append_entry_lines(NULL, 3, &text);
    ck_assert_int_eq(catalog_parse((char *)text.data, text.len, "f.cat", &a, &w, &err),
                     PITR_CORRUPT);
    verdict_msg(LINES_UNAUTHENTICATED, 4, want, sizeof(want));
    ck_assert_str_eq(err.msg, want);
    catalog_wal_fini(&w);
    buf_fini(&text);

    /* a line MACed for another cluster among this cluster's */
    buf_init(&text, 1 << 20);
    ck_assert_int_eq(buf_printf(&text, &err, "pitr-catalog 1\n"), PITR_OK);
    append_entry_lines(&a, 1, &text);
    append_entry_lines(&other, 2, &text);
    append_entry_lines(&a, 3, &text);
    ck_assert_int_eq(catalog_parse((char *)text.data, text.len, "f.cat", &a, &w, &err),
                     PITR_CORRUPT);
    verdict_msg(LINES_DAMAGED, 3, want, sizeof(want));
    ck_assert_str_eq(err.msg, want);
    catalog_wal_fini(&w);
    /* the same file is all MACs: without a key, the first line says which setting is missing */
    ck_assert_int_eq(catalog_parse((char *)text.data, text.len, "f.cat", &plain, &w, &err),
                     PITR_CONFIG);
    verdict_msg(LINES_NEED_KEY, 2, want, sizeof(want));
    ck_assert_str_eq(err.msg, want);
    catalog_wal_fini(&w);
    buf_fini(&text);

    /* plain lines, then a MAC: read without a key */
    buf_init(&text, 1 << 20);
    ck_assert_int_eq(buf_printf(&text, &err, "pitr-catalog 1\n"), PITR_OK);
    append_entry_lines(NULL, 1, &text);
    append_entry_lines(&a, 2, &text);
    ck_assert_int_eq(catalog_parse((char *)text.data, text.len, "f.cat", NULL, &w, &err),
                     PITR_CONFIG);
    verdict_msg(LINES_NEED_KEY, 3, want, sizeof(want));
    ck_assert_str_eq(err.msg, want);
    catalog_wal_fini(&w);
    buf_fini(&text);
    key_free(a.key);
    key_free(other.key);
}
END_TEST

/* --- catalog_wal_normalize, catalog_find ------------------------------------------------ */

START_TEST(test_catalog_wal_normalize)
{
    static const struct {
        uint32_t tli;
        uint64_t segno;
    } in[] = {{2, 5}, {1, 9}, {1, 3}, {2, 1}, {1, 3}, {1, 0x100000000ull}, {2, 5}, {1, 4}};
    struct catalog_wal w = {NULL, 0, NULL, 0};

    w.segs = calloc(8, sizeof(*w.segs));
    w.rps = calloc(5, sizeof(*w.rps));
    for (size_t i = 0; i < 8; i++) {
        w.segs[w.n_segs++] = seg_of(in[i].tli, in[i].segno, 1);
    }
    w.rps[w.n_rps++] = rp_of(2, 0x500, "b");
    w.rps[w.n_rps++] = rp_of(1, 0x900, "a");
    w.rps[w.n_rps++] = rp_of(2, 0x500, "a");
    w.rps[w.n_rps++] = rp_of(1, 0x900, "a");
    w.rps[w.n_rps++] = rp_of(1, 0x100, "z");
    catalog_wal_normalize(&w);
    ck_assert_uint_eq(w.n_segs, 6);
    ck_assert_uint_eq(w.segs[0].tli, 1);
    ck_assert_uint_eq(w.segs[0].segno, 3);
    ck_assert_uint_eq(w.segs[1].segno, 4);
    ck_assert_uint_eq(w.segs[2].segno, 9);
    ck_assert_uint_eq(w.segs[3].segno, 0x100000000ull);
    ck_assert_uint_eq(w.segs[4].tli, 2);
    ck_assert_uint_eq(w.segs[4].segno, 1);
    ck_assert_uint_eq(w.segs[5].segno, 5);
    ck_assert_uint_eq(w.n_rps, 4);
    ck_assert_str_eq(w.rps[0].name, "z");
    ck_assert_str_eq(w.rps[1].name, "a");
    ck_assert_uint_eq(w.rps[2].tli, 2);
    ck_assert_str_eq(w.rps[2].name, "a");
    ck_assert_str_eq(w.rps[3].name, "b");

    ck_assert_int_eq(catalog_find(&w, 1, 3), 0);
    ck_assert_int_eq(catalog_find(&w, 1, 9), 2);
    ck_assert_int_eq(catalog_find(&w, 1, 0x100000000ull), 3);
    ck_assert_int_eq(catalog_find(&w, 2, 1), 4);
    ck_assert_int_eq(catalog_find(&w, 2, 5), 5);
    ck_assert_int_eq(catalog_find(&w, 1, 5), -1);
    ck_assert_int_eq(catalog_find(&w, 2, 9), -1);
    ck_assert_int_eq(catalog_find(&w, 3, 1), -1);
    ck_assert_int_eq(catalog_find(&w, 0, 3), -1);

    /* normalizing again changes nothing; an empty catalog stays empty */
    catalog_wal_normalize(&w);
    ck_assert_uint_eq(w.n_segs, 6);
    ck_assert_uint_eq(w.n_rps, 4);
    catalog_wal_fini(&w);
    ck_assert_ptr_null(w.segs);
    catalog_wal_normalize(&w);
    ck_assert_int_eq(catalog_find(&w, 1, 3), -1);
}
END_TEST

/* Of two entries for one segment, the one that records the stored size stays, in either order:
 * it is what lets a listing check the object. */
START_TEST(test_catalog_wal_normalize_keeps_stored)
{
    struct catalog_wal w = {NULL, 0, NULL, 0};

    w.segs = calloc(5, sizeof(*w.segs));
    w.segs[w.n_segs++] = seg_of(1, 3, 1);
    w.segs[w.n_segs++] = seg_of(1, 3, 1);
    w.segs[w.n_segs - 1].stored_size = 333;
    w.segs[w.n_segs++] = seg_of(1, 4, 1);
    w.segs[w.n_segs - 1].stored_size = 444;
    w.segs[w.n_segs++] = seg_of(1, 4, 1);
    w.segs[w.n_segs++] = seg_of(1, 5, 1);
    catalog_wal_normalize(&w);
    ck_assert_uint_eq(w.n_segs, 3);
    ck_assert_uint_eq(w.segs[0].stored_size, 333);
    ck_assert_uint_eq(w.segs[1].stored_size, 444);
    ck_assert_uint_eq(w.segs[2].stored_size, 0);
    catalog_wal_fini(&w);
}
END_TEST

/* catalog_find over every size up to 40, finding each present and no absent segment. */
START_TEST(test_catalog_find_sizes)
{
    for (size_t n = 0; n <= 40; n++) {
        struct catalog_wal w = {NULL, 0, NULL, 0};

        w.segs = calloc(n + 1, sizeof(*w.segs));
        for (size_t i = 0; i < n; i++) {
            w.segs[w.n_segs++] = seg_of(1, 2 * i + 1, 0);
        }
        for (uint64_t segno = 0; segno <= 2 * n + 1; segno++) {
            long want = segno % 2 && segno / 2 < n ? (long)(segno / 2) : -1;

            ck_assert_int_eq(catalog_find(&w, 1, segno), want);
        }
        catalog_wal_fini(&w);
    }
}
END_TEST

/* --- catalog_time_format, catalog_seg_from_scan ------------------------------------------ */

START_TEST(test_catalog_time_format)
{
    char out[CATALOG_TIME_LEN];

    catalog_time_format(T0 + 123456, out);
    ck_assert_str_eq(out, "2026-01-08T14:30:00.123456Z");
    catalog_time_format(0, out);
    ck_assert_str_eq(out, "1970-01-01T00:00:00.000000Z");
    catalog_time_format(-1, out);
    ck_assert_str_eq(out, "1969-12-31T23:59:59.999999Z");
    catalog_time_format(-1000000, out);
    ck_assert_str_eq(out, "1969-12-31T23:59:59.000000Z");
}
END_TEST

START_TEST(test_catalog_seg_from_scan)
{
    struct walscan_result r;
    struct catalog_seg g;
    struct catalog_rp rps[WALSCAN_MAX_RESTORE_POINTS];

    memset(&r, 0, sizeof(r));
    r.seg_size = SEG16;
    ck_assert_uint_eq(catalog_seg_from_scan(&r, 2, 7, T0, &g, rps), 0);
    ck_assert_uint_eq(g.tli, 2);
    ck_assert_uint_eq(g.segno, 7);
    ck_assert_uint_eq(g.seg_size, SEG16);
    ck_assert_int_eq(g.archived_us, T0);
    ck_assert_uint_eq(g.xacts, 0);

    r.commits = 3;
    r.first_commit = 100;
    r.last_commit = 300;
    (void)catalog_seg_from_scan(&r, 2, 7, T0, &g, rps);
    ck_assert_uint_eq(g.xacts, 3);
    ck_assert_int_eq(g.first_xact_us, 100);
    ck_assert_int_eq(g.last_xact_us, 300);

    r.aborts = 2;
    r.first_abort = 50;
    r.last_abort = 200;
    (void)catalog_seg_from_scan(&r, 2, 7, T0, &g, rps);
    ck_assert_uint_eq(g.xacts, 5);
    ck_assert_int_eq(g.first_xact_us, 50);
    ck_assert_int_eq(g.last_xact_us, 300);
    r.first_abort = 150;
    r.last_abort = 400;
    (void)catalog_seg_from_scan(&r, 2, 7, T0, &g, rps);
    ck_assert_int_eq(g.first_xact_us, 100);
    ck_assert_int_eq(g.last_xact_us, 400);

    r.commits = 0;
    r.restore_points = 2;
    r.restore_point[0].lsn = 0x7000100;
    r.restore_point[0].time = 120;
    snprintf(r.restore_point[0].name, sizeof(r.restore_point[0].name), "one");
    r.restore_point[1].lsn = 0x7000200;
    snprintf(r.restore_point[1].name, sizeof(r.restore_point[1].name), "two");
    ck_assert_uint_eq(catalog_seg_from_scan(&r, 2, 7, T0, &g, rps), 2);
    ck_assert_uint_eq(g.xacts, 2);
    ck_assert_int_eq(g.first_xact_us, 150);
    ck_assert_int_eq(g.last_xact_us, 400);
    ck_assert_uint_eq(rps[0].tli, 2);
    ck_assert_uint_eq(rps[0].lsn, 0x7000100);
    ck_assert_int_eq(rps[0].time_us, 120);
    ck_assert_str_eq(rps[0].name, "one");
    ck_assert_str_eq(rps[1].name, "two");
}
END_TEST

/* --- in the repository ---------------------------------------------------------------------- */

/* A storage that counts the operations it passes on to the in-memory one. */
struct counting {
    struct storage base;
    struct storage *inner;
    int lists;
    int reads;
    int entry_reads; /* reads of entries (not of .cat files) */
};

static enum pitr_rc c_stat(struct storage *s, const char *key, struct storage_info *out,
                           struct pitr_err *err)
{
    return storage_stat(((struct counting *)s)->inner, key, out, err);
}

static enum pitr_rc c_read(struct storage *s, const char *key, struct filter *sink,
                           struct pitr_err *err)
{
    struct counting *c = (struct counting *)s;

    c->reads++;
    c->entry_reads += !str_has_suffix(key, ".cat");
    return storage_read(c->inner, key, sink, err);
}

static enum pitr_rc c_read_range(struct storage *s, const char *key, uint64_t offset, uint64_t len,
                                 struct filter *sink, struct pitr_err *err)
{
    struct counting *c = (struct counting *)s;

    c->reads++;
    c->entry_reads += !str_has_suffix(key, ".cat");
    return storage_read_range(c->inner, key, offset, len, sink, err);
}

static enum pitr_rc c_write_open(struct storage *s, const char *key, const struct write_opts *opts,
                                 struct filter **sink_out, struct pitr_err *err)
{
    return storage_write_open(((struct counting *)s)->inner, key, opts, sink_out, err);
}

static enum pitr_rc c_list(struct storage *s, const char *dir, enum storage_list_flags flags,
                           storage_list_fn *fn, void *arg, struct pitr_err *err)
{
    struct counting *c = (struct counting *)s;

    c->lists++;
    return storage_list(c->inner, dir, flags, fn, arg, err);
}

static enum pitr_rc c_remove(struct storage *s, const char *key, struct pitr_err *err)
{
    return storage_remove(((struct counting *)s)->inner, key, err);
}

static void c_free(struct storage *s)
{
    storage_free(((struct counting *)s)->inner);
    free(s);
}

static const struct storage_ops counting_ops = {
    .name = "counting",
    .stat = c_stat,
    .read = c_read,
    .read_range = c_read_range,
    .write_open = c_write_open,
    .list = c_list,
    .remove = c_remove,
    .free = c_free,
};

static struct counting *counting_new(void)
{
    struct counting *c = calloc(1, sizeof(*c));

    c->base.ops = &counting_ops;
    c->inner = mem_storage_new();
    return c;
}

static void record(struct storage *s, uint32_t tli, uint64_t segno, uint32_t xacts)
{
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    struct catalog_seg g = seg_of(tli, segno, xacts);
    struct pitr_err err;

    ck_assert_msg(catalog_record_segment(&repo, &g, NULL, 0, &err) == PITR_OK, "%s", err.msg);
}

static void record_rp(struct storage *s, uint32_t tli, uint64_t segno, uint64_t lsn,
                      const char *name)
{
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    struct catalog_seg g = seg_of(tli, segno, 1);
    struct catalog_rp r = rp_of(tli, lsn, name);
    struct pitr_err err;

    ck_assert_msg(catalog_record_segment(&repo, &g, &r, 1, &err) == PITR_OK, "%s", err.msg);
}

static void merge(struct storage *s, uint32_t tli, uint64_t segno)
{
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    struct pitr_err err;

    ck_assert_msg(catalog_merge_folder(&repo, tli, segno, SEG16, &err) == PITR_OK, "%s", err.msg);
}

static void load(struct storage *s, uint32_t tli, uint64_t from, struct catalog_wal *w)
{
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    struct pitr_err err;

    ck_assert_msg(catalog_load_timeline(&repo, tli, from, SEG16, w, &err) == PITR_OK, "%s",
                  err.msg);
}

/* The segment numbers of w as "1,2,3" (tli prefixed when not 1). */
static const char *segnos(const struct catalog_wal *w)
{
    static char out[8192];
    size_t o = 0;

    out[0] = '\0';
    for (size_t i = 0; i < w->n_segs && o < sizeof(out) - 32; i++) {
        o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s%" PRIX64, i ? "," : "",
                              w->segs[i].tli == 1 ? "" : (w->segs[i].tli == 2 ? "2:" : "?:"),
                              w->segs[i].segno);
    }
    return out;
}

/* Reads the merged file of folder (tli 1, log) by itself. */
static const char *merged(struct storage *s, const char *folder, struct catalog_wal *w)
{
    char key[128];
    struct buf text;
    struct pitr_err err;

    snprintf(key, sizeof(key), "c/catalog/wal/%s.cat", folder);
    buf_init(&text, 1 << 24);
    ck_assert_msg(storage_get(s, key, &text, &err) == PITR_OK, "%s", err.msg);
    parse_ok(&text, w);
    buf_fini(&text);
    catalog_wal_normalize(w);
    return segnos(w);
}

START_TEST(test_catalog_record_segment_create_only)
{
    struct storage *s = mem_storage_new();
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    struct catalog_seg g = seg_of(1, 3, 5);
    struct catalog_seg other = seg_of(1, 3, 9);
    struct catalog_wal w = {NULL, 0, NULL, 0};
    struct buf text;
    struct pitr_err err;

    ck_assert_int_eq(catalog_record_segment(&repo, &g, NULL, 0, &err), PITR_OK);
    ck_assert_int_eq(catalog_record_segment(&repo, &other, NULL, 0, &err), PITR_OK);
    buf_init(&text, 1 << 20);
    ck_assert_int_eq(
        storage_get(s, "c/catalog/wal/0000000100000000/000000010000000000000003", &text, &err),
        PITR_OK);
    parse_ok(&text, &w);
    ck_assert_uint_eq(w.n_segs, 1);
    ck_assert_uint_eq(w.segs[0].xacts, 5); /* the first scan stands */
    catalog_wal_fini(&w);
    buf_fini(&text);
    storage_free(s);
}
END_TEST

START_TEST(test_catalog_merge_folder_union)
{
    struct storage *s = mem_storage_new();
    struct catalog_wal w = {NULL, 0, NULL, 0};
    struct catalog_wal all = {NULL, 0, NULL, 0};

    record(s, 1, 0xFF, 1);
    record(s, 1, 3, 0);
    record_rp(s, 1, 5, 5 * (uint64_t)SEG16 + 0x28, "in five");
    record(s, 1, 0x100, 1); /* the next folder */
    record(s, 2, 4, 1);     /* another timeline, same log */
    merge(s, 1, 3);
    ck_assert_str_eq(merged(s, "0000000100000000", &w), "3,5,FF");
    ck_assert_uint_eq(w.n_rps, 1);
    ck_assert_str_eq(w.rps[0].name, "in five");
    catalog_wal_fini(&w);

    /* the merged file holds the entries exactly as they were written */
    load(s, 1, 0, &all);
    ck_assert_str_eq(segnos(&all), "3,5,FF,100");
    for (size_t i = 0; i < 3; i++) {
        struct catalog_seg g = seg_of(1, all.segs[i].segno, all.segs[i].segno == 3 ? 0 : 1);

        assert_seg_eq(&all.segs[i], &g);
    }
    catalog_wal_fini(&all);

    /* merging again, or with nothing new, writes the same union */
    merge(s, 1, 0xFF);
    ck_assert_str_eq(merged(s, "0000000100000000", &w), "3,5,FF");
    catalog_wal_fini(&w);
    storage_free(s);
}
END_TEST

/* An entry written after a merge (pitr-archive racing the merger) is still found by loads and
 * taken into the next merge. */
START_TEST(test_catalog_merge_then_new_entry)
{
    struct storage *s = mem_storage_new();
    struct catalog_wal w = {NULL, 0, NULL, 0};

    record(s, 1, 1, 1);
    record(s, 1, 2, 1);
    merge(s, 1, 1);
    record(s, 1, 3, 1);
    load(s, 1, 0, &w);
    ck_assert_str_eq(segnos(&w), "1,2,3");
    catalog_wal_fini(&w);
    ck_assert_str_eq(merged(s, "0000000100000000", &w), "1,2");
    catalog_wal_fini(&w);
    merge(s, 1, 3);
    ck_assert_str_eq(merged(s, "0000000100000000", &w), "1,2,3");
    catalog_wal_fini(&w);
    storage_free(s);
}
END_TEST

/* Two mergers race: the slower one replaces the .cat with the older view it read. Nothing is
 * lost: loads still add the entries the .cat lacks, and the next merge restores the union. */
START_TEST(test_catalog_merge_over_stale_cat)
{
    struct storage *s = mem_storage_new();
    struct catalog_wal w = {NULL, 0, NULL, 0};
    struct buf stale;
    struct catalog_seg g = seg_of(1, 1, 1);
    struct pitr_err err;

    record(s, 1, 1, 1);
    format_entry(&g, NULL, 0, &stale); /* what the slow merger saw: segment 1 only */
    record(s, 1, 2, 1);
    record(s, 1, 3, 1);
    merge(s, 1, 1);
    ck_assert_int_eq(
        storage_put(s, "c/catalog/wal/0000000100000000.cat", NULL, stale.data, stale.len, &err),
        PITR_OK);
    record(s, 1, 4, 1);
    load(s, 1, 0, &w);
    ck_assert_str_eq(segnos(&w), "1,2,3,4");
    catalog_wal_fini(&w);
    merge(s, 1, 4);
    ck_assert_str_eq(merged(s, "0000000100000000", &w), "1,2,3,4");
    catalog_wal_fini(&w);

    /* a .cat that knows a segment whose entry is gone (written by rebuild) keeps it too */
    g = seg_of(1, 9, 1);
    buf_fini(&stale);
    format_entry(&g, NULL, 0, &stale);
    ck_assert_int_eq(
        storage_put(s, "c/catalog/wal/0000000100000000.cat", NULL, stale.data, stale.len, &err),
        PITR_OK);
    merge(s, 1, 4);
    ck_assert_str_eq(merged(s, "0000000100000000", &w), "1,2,3,4,9");
    catalog_wal_fini(&w);
    buf_fini(&stale);
    storage_free(s);
}
END_TEST

/* The stored size survives every rewrite of the catalog: an entry's merge into its folder's file
 * and expire's pruning of it. */
START_TEST(test_catalog_merge_keeps_stored)
{
    struct storage *s = mem_storage_new();
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    struct catalog_wal w = {NULL, 0, NULL, 0};
    struct pitr_err err;

    for (uint64_t segno = 1; segno <= 4; segno++) {
        struct catalog_seg g = seg_of(1, segno, 1);

        g.stored_size = segno == 2 ? 0 : 1000 + segno; /* 2: an entry of an older pitr */
        ck_assert_int_eq(catalog_record_segment(&repo, &g, NULL, 0, &err), PITR_OK);
    }
    merge(s, 1, 1);
    ck_assert_str_eq(merged(s, "0000000100000000", &w), "1,2,3,4");
    ck_assert_uint_eq(w.segs[0].stored_size, 1001);
    ck_assert_uint_eq(w.segs[1].stored_size, 0);
    ck_assert_uint_eq(w.segs[3].stored_size, 1004);
    catalog_wal_fini(&w);
    ck_assert_msg(catalog_prune_folder(&repo, 1, 1, 3, SEG16, &err) == PITR_OK, "%s", err.msg);
    ck_assert_str_eq(merged(s, "0000000100000000", &w), "3,4");
    ck_assert_uint_eq(w.segs[0].stored_size, 1003);
    ck_assert_uint_eq(w.segs[1].stored_size, 1004);
    catalog_wal_fini(&w);
    storage_free(s);
}
END_TEST

START_TEST(test_catalog_load_timeline_from_segno)
{
    struct storage *s = mem_storage_new();
    struct catalog_wal w = {NULL, 0, NULL, 0};

    for (uint64_t log = 0; log < 4; log++) {
        record(s, 1, log * 256 + 10, 1);
        record(s, 1, log * 256 + 20, 1);
        record(s, 2, log * 256 + 15, 1);
        if (log % 2 == 0) {
            merge(s, 1, log * 256);
        }
    }
    record(s, 1, 0x1000, 1); /* a folder far away: log 16 */
    record(s, 3, 0x1000, 1);
    load(s, 1, 0, &w);
    ck_assert_str_eq(segnos(&w), "A,14,10A,114,20A,214,30A,314,1000");
    catalog_wal_fini(&w);
    /* from a segment on: its whole folder and every later one */
    load(s, 1, 0x20B, &w);
    ck_assert_str_eq(segnos(&w), "20A,214,30A,314,1000");
    catalog_wal_fini(&w);
    load(s, 1, 0x3FF, &w);
    ck_assert_str_eq(segnos(&w), "30A,314,1000");
    catalog_wal_fini(&w);
    load(s, 1, 0x1001, &w);
    ck_assert_str_eq(segnos(&w), "1000");
    catalog_wal_fini(&w);
    load(s, 1, 0x1100, &w);
    ck_assert_str_eq(segnos(&w), "");
    catalog_wal_fini(&w);
    load(s, 2, 0, &w);
    ck_assert_str_eq(segnos(&w), "2:F,2:10F,2:20F,2:30F");
    catalog_wal_fini(&w);
    load(s, 4, 0, &w);
    ck_assert_uint_eq(w.n_segs, 0);
    catalog_wal_fini(&w);
    storage_free(s);

    /* a repository with no catalog at all */
    s = mem_storage_new();
    load(s, 1, 0, &w);
    ck_assert_uint_eq(w.n_segs, 0);
    catalog_wal_fini(&w);
    storage_free(s);
}
END_TEST

/* A complete .cat (every segment of its folder) is all a load reads of that folder. */
START_TEST(test_catalog_load_timeline_reads_entries_only_when_incomplete)
{
    struct counting *c = counting_new();
    struct storage *s = &c->base;
    struct catalog_wal w = {NULL, 0, NULL, 0};
    struct pitr_err err;

    for (uint64_t segno = 0; segno < 256; segno++) {
        record(s, 1, segno, 1);
    }
    record(s, 1, 256, 1);
    record(s, 1, 257, 1);
    merge(s, 1, 0);
    merge(s, 1, 256);
    record(s, 1, 258, 1); /* after the merge: only in its entry */

    c->lists = c->reads = c->entry_reads = 0;
    load(s, 1, 0, &w);
    ck_assert_uint_eq(w.n_segs, 259);
    ck_assert_uint_eq(w.segs[258].segno, 258);
    ck_assert_int_eq(c->reads, 3);       /* two .cat files, one new entry */
    ck_assert_int_eq(c->entry_reads, 1); /* entries already merged are not read again */
    ck_assert_int_eq(c->lists, 2);       /* the folders, and the incomplete folder's entries */
    catalog_wal_fini(&w);

    /* without .cat files every entry is read */
    ck_assert_int_eq(storage_remove(s, "c/catalog/wal/0000000100000000.cat", &err), PITR_OK);
    ck_assert_int_eq(storage_remove(s, "c/catalog/wal/0000000100000001.cat", &err), PITR_OK);
    c->lists = c->reads = c->entry_reads = 0;
    load(s, 1, 0, &w);
    ck_assert_uint_eq(w.n_segs, 259);
    ck_assert_int_eq(c->entry_reads, 259);
    ck_assert_int_eq(c->lists, 3);
    catalog_wal_fini(&w);
    storage_free(s);
}
END_TEST

START_TEST(test_catalog_load_timeline_damaged)
{
    struct storage *s = mem_storage_new();
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    struct catalog_wal w = {NULL, 0, NULL, 0};
    struct pitr_err err;
    static const char bad[] = "pitr-catalog 1\nseg 000000010000000000000003 ~0123456789abcdef\n";

    record(s, 1, 1, 1);
    ck_assert_int_eq(storage_put(s, "c/catalog/wal/0000000100000000.cat", NULL,
                                 (const uint8_t *)bad, strlen(bad), &err),
                     PITR_OK);
    memset(&w, 0x5a, sizeof(w));
    ck_assert_int_eq(catalog_load_timeline(&repo, 1, 0, SEG16, &w, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "c/catalog/wal/0000000100000000.cat line 2 is damaged (malformed "
                              "or its checksum does not match): run pitr-catalog rebuild");
    ck_assert_uint_eq(w.n_segs, 0x5a5a5a5a5a5a5a5aull); /* untouched */
    ck_assert_int_eq(catalog_merge_folder(&repo, 1, 1, SEG16, &err), PITR_CORRUPT);
    /* a damaged entry, too */
    ck_assert_int_eq(storage_remove(s, "c/catalog/wal/0000000100000000.cat", &err), PITR_OK);
    ck_assert_int_eq(storage_put(s, "c/catalog/wal/0000000100000000/000000010000000000000002", NULL,
                                 (const uint8_t *)"pitr-catalog 1\nx", 16, &err),
                     PITR_OK);
    ck_assert_int_eq(catalog_load_timeline(&repo, 1, 0, SEG16, &w, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "c/catalog/wal/0000000100000000/000000010000000000000002 line 2 is "
                              "damaged (malformed or its checksum does not match): run "
                              "pitr-catalog rebuild");
    /* temp files and other names in a folder are not entries */
    ck_assert_int_eq(
        storage_remove(s, "c/catalog/wal/0000000100000000/000000010000000000000002", &err),
        PITR_OK);
    ck_assert_int_eq(storage_put(s, "c/catalog/wal/0000000100000000/000000010000000000000002.tmp",
                                 NULL, (const uint8_t *)"x", 1, &err),
                     PITR_OK);
    ck_assert_int_eq(storage_put(s, "c/catalog/wal/0000000100000000.cat.tmp", NULL,
                                 (const uint8_t *)"x", 1, &err),
                     PITR_OK);
    ck_assert_int_eq(storage_put(s, "c/catalog/wal/README", NULL, (const uint8_t *)"x", 1, &err),
                     PITR_OK);
    memset(&w, 0, sizeof(w));
    load(s, 1, 0, &w);
    ck_assert_str_eq(segnos(&w), "1");
    catalog_wal_fini(&w);
    storage_free(s);
}
END_TEST

/* Entries and merged files written with a key carry MACs: the same keys load them; a session
 * without the key, with another key or of another cluster does not, and neither does a plain
 * merged file planted among them. */
START_TEST(test_catalog_load_timeline_keyed)
{
    struct storage *s = mem_storage_new();
    struct repo_session a = session_of(s, RING_A, CAT_SYSID);
    struct repo_session rotated = session_of(s, RING_B_A, CAT_SYSID);
    struct repo_session b = session_of(s, RING_B, CAT_SYSID);
    struct repo_session other = session_of(s, RING_A, CAT_SYSID + 1);
    struct repo_session plain = session_of(s, RING_NONE, CAT_SYSID);
    struct catalog_wal w = {NULL, 0, NULL, 0};
    struct buf text;
    struct pitr_err err;

    for (uint64_t segno = 1; segno <= 3; segno++) {
        struct catalog_seg g = seg_of(1, segno, 1);

        ck_assert_msg(catalog_record_segment(&a, &g, NULL, 0, &err) == PITR_OK, "%s", err.msg);
    }
    ck_assert_msg(catalog_merge_folder(&a, 1, 1, SEG16, &err) == PITR_OK, "%s", err.msg);
    {
        struct catalog_seg g = seg_of(1, 4, 1);

        ck_assert_int_eq(catalog_record_segment(&a, &g, NULL, 0, &err), PITR_OK);
    }
    buf_init(&text, 1 << 20);
    ck_assert_int_eq(storage_get(s, "c/catalog/wal/0000000100000000.cat", &text, &err), PITR_OK);
    ck_assert(lines_signed(&text, true));
    buf_fini(&text);

    ck_assert_msg(catalog_load_timeline(&a, 1, 0, SEG16, &w, &err) == PITR_OK, "%s", err.msg);
    ck_assert_str_eq(segnos(&w), "1,2,3,4");
    catalog_wal_fini(&w);
    /* after a rotation, the old key still reads, and the merge re-signs with the current key */
    ck_assert_msg(catalog_load_timeline(&rotated, 1, 0, SEG16, &w, &err) == PITR_OK, "%s", err.msg);
    ck_assert_str_eq(segnos(&w), "1,2,3,4");
    catalog_wal_fini(&w);
    ck_assert_msg(catalog_merge_folder(&rotated, 1, 4, SEG16, &err) == PITR_OK, "%s", err.msg);
    buf_init(&text, 1 << 20);
    ck_assert_int_eq(storage_get(s, "c/catalog/wal/0000000100000000.cat", &text, &err), PITR_OK);
    ck_assert_int_eq(catalog_parse((char *)text.data, text.len, "f.cat", &b, &w, &err), PITR_OK);
    ck_assert_str_eq(segnos(&w), "1,2,3,4");
    catalog_wal_fini(&w);
    buf_fini(&text);

    ck_assert_int_eq(catalog_load_timeline(&plain, 1, 0, SEG16, &w, &err), PITR_CONFIG);
    ck_assert_str_eq(err.msg, "c/catalog/wal/0000000100000000.cat line 2 is authenticated with an "
                              "encryption key: set encryption_key_file");
    ck_assert_int_eq(catalog_load_timeline(&other, 1, 0, SEG16, &w, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "c/catalog/wal/0000000100000000.cat line 2 is damaged (malformed or "
                              "its checksum does not match): run pitr-catalog rebuild");

    /* a plain merged file planted by someone without the key */
    ck_assert_int_eq(catalog_merge_folder(&plain, 1, 1, SEG16, &err), PITR_CONFIG);
    {
        struct catalog_seg g = seg_of(1, 9, 1);

        format_entry(&g, NULL, 0, &text);
    }
    ck_assert_int_eq(
        storage_put(s, "c/catalog/wal/0000000100000000.cat", NULL, text.data, text.len, &err),
        PITR_OK);
    buf_fini(&text);
    ck_assert_int_eq(catalog_load_timeline(&a, 1, 0, SEG16, &w, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "c/catalog/wal/0000000100000000.cat line 2 is not authenticated with "
                              "the key (written without it, by someone else or by a pitr before "
                              "2026-12): run pitr-catalog upgrade");
    key_free(a.key);
    key_free(rotated.key);
    key_free(b.key);
    key_free(other.key);
    storage_free(s);
}
END_TEST

/* --- catalog_windows_compute --------------------------------------------------------------- */

static struct backup_record backup_of(const char *id, uint32_t tli, uint64_t start_lsn,
                                      uint64_t stop_lsn)
{
    struct backup_record b;

    memset(&b, 0, sizeof(b));
    snprintf(b.id, sizeof(b.id), "%s", id);
    memcpy(b.status, "complete", 9);
    b.timeline = tli;
    b.start_lsn = start_lsn;
    b.stop_lsn = stop_lsn;
    b.wal_seg_size = SEG16;
    /* consistent one second into the segment that holds stop_lsn - 1 (see seg_of) */
    b.start_time = (T0 + (int64_t)(start_lsn / SEG16) * 60000000) / 1000000;
    b.stop_time = (T0 + (int64_t)((stop_lsn - 1) / SEG16) * 60000000) / 1000000 + 1;
    return b;
}

static void put_history(struct storage *s, uint32_t tli, const char *text)
{
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    char key[64];
    struct pitr_err err;

    snprintf(key, sizeof(key), "c/wal/history/%08X.history", tli);
    ck_assert_msg(repo_put_text(&repo, key, text, true, &err) == PITR_OK, "%s", err.msg);
}

static void windows(struct storage *s, const struct backup_record *b, size_t n,
                    struct catalog_windows *out)
{
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    struct pitr_err err;

    ck_assert_msg(catalog_windows_compute(&repo, b, n, false, out, &err) == PITR_OK, "%s", err.msg);
    ck_assert(!out->verified);
}

/* The windows with the catalog checked against a listing of the WAL objects. */
static void windows_verified(struct storage *s, const struct backup_record *b, size_t n,
                             struct catalog_windows *out)
{
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    struct pitr_err err;

    ck_assert_msg(catalog_windows_compute(&repo, b, n, true, out, &err) == PITR_OK, "%s", err.msg);
    ck_assert(out->verified);
}

/* The gaps the windows counted on timeline tli (-1: the timeline is not there). */
static long gaps_of(const struct catalog_windows *ws, uint32_t tli)
{
    for (size_t i = 0; i < ws->n_tlis; i++) {
        if (ws->tlis[i].tli == tli) {
            return (long)ws->tlis[i].gaps;
        }
    }
    return -1;
}

static void assert_window(const struct catalog_windows *ws, size_t i, uint32_t tli, int64_t from,
                          int64_t to, const char *backup, uint64_t first, uint64_t last,
                          uint64_t gap)
{
    const struct catalog_window *w = &ws->v[i];

    ck_assert_uint_lt(i, ws->n);
    ck_assert_uint_eq(w->tli, tli);
    ck_assert_int_eq(w->from_us, from);
    ck_assert_int_eq(w->to_us, to);
    ck_assert_str_eq(w->backup_id, backup);
    ck_assert_uint_eq(w->first_segno, first);
    ck_assert_uint_eq(w->last_segno, last);
    ck_assert_uint_eq(w->gap_segno, gap);
}

/* the last transaction in segment segno (seg_of) */
static int64_t last_xact(uint64_t segno)
{
    return T0 + (int64_t)segno * 60000000 + 59999999;
}

START_TEST(test_catalog_windows_one)
{
    struct storage *s = mem_storage_new();
    struct backup_record b = backup_of("B1", 1, 2 * (uint64_t)SEG16 + 0x28, 3 * (uint64_t)SEG16);
    struct catalog_windows ws;

    for (uint64_t segno = 1; segno <= 10; segno++) {
        record(s, 1, segno, segno == 9 || segno == 10 ? 0 : 1); /* idle at the end */
    }
    merge(s, 1, 1);
    record(s, 1, 11, 0);
    windows(s, &b, 1, &ws);
    ck_assert_uint_eq(ws.n, 1);
    ck_assert_uint_eq(ws.seg_size, SEG16);
    assert_window(&ws, 0, 1, b.stop_time * 1000000, last_xact(8), "B1", 2, 11, 0);
    ck_assert_uint_eq(ws.n_rps, 0);
    catalog_windows_fini(&ws);
    ck_assert_ptr_null(ws.v);

    /* no backups: no windows; no catalog: no windows */
    windows(s, &b, 0, &ws);
    ck_assert_uint_eq(ws.n, 0);
    catalog_windows_fini(&ws);
    storage_free(s);
    s = mem_storage_new();
    windows(s, &b, 1, &ws);
    ck_assert_uint_eq(ws.n, 0);
    catalog_windows_fini(&ws);
    storage_free(s);
}
END_TEST

/* A backup whose WAL has no commit after it: the window is the consistency point alone. */
START_TEST(test_catalog_windows_no_xact_after_backup)
{
    struct storage *s = mem_storage_new();
    struct backup_record b = backup_of("B1", 1, 2 * (uint64_t)SEG16 + 0x28, 3 * (uint64_t)SEG16);
    struct catalog_windows ws;

    record(s, 1, 1, 1);
    record(s, 1, 2, 0);
    record(s, 1, 3, 0);
    windows(s, &b, 1, &ws);
    assert_window(&ws, 0, 1, b.stop_time * 1000000, b.stop_time * 1000000, "B1", 2, 3, 0);
    catalog_windows_fini(&ws);
    storage_free(s);
}
END_TEST

/* A backup whose own WAL is incomplete starts nothing. */
START_TEST(test_catalog_windows_backup_wal_missing)
{
    struct storage *s = mem_storage_new();
    struct backup_record b = backup_of("B1", 1, 2 * (uint64_t)SEG16 + 0x28, 4 * (uint64_t)SEG16);
    struct catalog_windows ws;

    record(s, 1, 2, 1);
    record(s, 1, 4, 1);
    record(s, 1, 5, 1);
    windows(s, &b, 1, &ws);
    ck_assert_uint_eq(ws.n, 0);
    catalog_windows_fini(&ws);
    storage_free(s);
}
END_TEST

/* A gap ends a window at the last transaction before it; a later backup starts a new one; WAL
 * no backup starts is no window. */
START_TEST(test_catalog_windows_gap)
{
    struct storage *s = mem_storage_new();
    struct backup_record b[3] = {
        backup_of("B1", 1, 2 * (uint64_t)SEG16 + 0x28, 3 * (uint64_t)SEG16 + 0x100),
        backup_of("B1b", 1, 5 * (uint64_t)SEG16 + 0x28, 6 * (uint64_t)SEG16 + 0x100),
        backup_of("B2", 1, 0x13 * (uint64_t)SEG16 + 0x28, 0x14 * (uint64_t)SEG16 + 0x100),
    };
    struct catalog_windows ws;

    for (uint64_t segno = 1; segno <= 0x30; segno++) {
        if (segno != 0x11 && segno != 0x20 && segno != 0x21) {
            record(s, 1, segno, segno == 0x10 ? 0 : 1);
        }
    }
    windows(s, b, 3, &ws);
    ck_assert_uint_eq(ws.n, 2);
    /* the earliest backup of a run starts its window; B1b is inside it */
    assert_window(&ws, 0, 1, b[0].stop_time * 1000000, last_xact(0xF), "B1", 3, 0x10, 0x11);
    assert_window(&ws, 1, 1, b[2].stop_time * 1000000, last_xact(0x1F), "B2", 0x14, 0x1F, 0x20);
    ck_assert_int_eq(ws.v[0].gap_reason, CATALOG_GAP_UNCATALOGED);
    ck_assert_int_eq(ws.v[1].gap_reason, CATALOG_GAP_UNCATALOGED);
    ck_assert_int_eq(gaps_of(&ws, 1), 2); /* 0x11, and 0x20..0x21 */
    ck_assert_uint_eq(ws.n_tlis, 1);
    catalog_windows_fini(&ws);
    storage_free(s);
}
END_TEST

/* Timeline 2 branched off inside timeline 1's window: it continues that window. Timeline 3
 * branched off where timeline 1 has no window (before the backup): it has none. */
START_TEST(test_catalog_windows_timeline_branch)
{
    struct storage *s = mem_storage_new();
    struct backup_record b = backup_of("B1", 1, 2 * (uint64_t)SEG16 + 0x28, 3 * (uint64_t)SEG16);
    struct catalog_windows ws;

    for (uint64_t segno = 1; segno <= 10; segno++) {
        record(s, 1, segno, 1);
    }
    put_history(s, 2, "1\t0/6000100\tbefore 2026-01-08 14:36:00+00\n");
    for (uint64_t segno = 6; segno <= 8; segno++) {
        record(s, 2, segno, segno < 8 ? 1 : 0);
    }
    put_history(s, 3, "1\t0/2000100\tno recovery target specified\n");
    record(s, 3, 2, 1);
    record(s, 3, 3, 1);
    windows(s, &b, 1, &ws);
    ck_assert_uint_eq(ws.n, 2);
    assert_window(&ws, 0, 1, b.stop_time * 1000000, last_xact(10), "B1", 2, 10, 0);
    assert_window(&ws, 1, 2, b.stop_time * 1000000, last_xact(7), "B1", 6, 8, 0);
    catalog_windows_fini(&ws);

    /* timeline 4 from timeline 2, inside the window timeline 2 inherited */
    put_history(s, 4, "1\t0/6000100\tx\n2\t0/7000200\ty\n");
    record(s, 4, 7, 1);
    windows(s, &b, 1, &ws);
    ck_assert_uint_eq(ws.n, 3);
    assert_window(&ws, 2, 4, b.stop_time * 1000000, last_xact(7), "B1", 7, 7, 0);
    catalog_windows_fini(&ws);
    storage_free(s);
}
END_TEST

/* A timeline without a history file stands on its own backups; a damaged history file fails. */
START_TEST(test_catalog_windows_timeline_without_history)
{
    struct storage *s = mem_storage_new();
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    struct backup_record b[2] = {
        backup_of("B1", 1, 2 * (uint64_t)SEG16 + 0x28, 3 * (uint64_t)SEG16),
        backup_of("B2", 2, 7 * (uint64_t)SEG16 + 0x28, 8 * (uint64_t)SEG16),
    };
    struct catalog_windows ws;
    struct pitr_err err;

    for (uint64_t segno = 1; segno <= 10; segno++) {
        record(s, 1, segno, 1);
        record(s, 2, segno + 5, 1);
    }
    windows(s, b, 2, &ws);
    ck_assert_uint_eq(ws.n, 2);
    assert_window(&ws, 1, 2, b[1].stop_time * 1000000, last_xact(15), "B2", 7, 15, 0);
    catalog_windows_fini(&ws);
    put_history(s, 2, "1\tnot-an-lsn\n");
    ck_assert_int_eq(catalog_windows_compute(&repo, b, 2, false, &ws, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "c/wal/history/00000002.history line 1: invalid LSN \"not-an-lsn\"");
    storage_free(s);
}
END_TEST

/* Restore points inside a window are listed; before the backup is consistent, in WAL no backup
 * reaches, or on a timeline without a window, they are not. */
START_TEST(test_catalog_windows_restore_points)
{
    struct storage *s = mem_storage_new();
    struct backup_record b = backup_of("B1", 1, 2 * (uint64_t)SEG16 + 0x28, 3 * (uint64_t)SEG16);
    struct catalog_windows ws;

    for (uint64_t segno = 1; segno <= 10; segno++) {
        if (segno == 1) {
            record_rp(s, 1, segno, segno * SEG16 + 0x100, "before the backup");
        } else if (segno == 5) {
            record_rp(s, 1, segno, segno * SEG16 + 0x100, "inside");
        } else if (segno == 10) {
            record_rp(s, 1, segno, segno * SEG16 + 0xFFFF00, "at the end");
        } else if (segno != 7) {
            record(s, 1, segno, 1);
        }
    }
    record_rp(s, 1, 0x20, 0x20 * (uint64_t)SEG16 + 0x100, "after the gap");
    record_rp(s, 3, 0x20, 0x20 * (uint64_t)SEG16 + 0x100, "no window on this timeline");
    windows(s, &b, 1, &ws);
    ck_assert_uint_eq(ws.n, 1);
    assert_window(&ws, 0, 1, b.stop_time * 1000000, last_xact(6), "B1", 2, 6, 7);
    ck_assert_uint_eq(ws.n_rps, 1);
    ck_assert_str_eq(ws.rps[0].name, "inside");
    ck_assert_uint_eq(ws.rps[0].tli, 1);
    ck_assert_uint_eq(ws.rps[0].lsn, 5 * (uint64_t)SEG16 + 0x100);
    catalog_windows_fini(&ws);
    storage_free(s);
}
END_TEST

/* A restore point in the segment where the backup becomes consistent, but before that point,
 * cannot be reached from the backup (PostgreSQL refuses to stop before consistency, and
 * pitr-restore refuses it): it is not in the window. One after it is. */
START_TEST(test_catalog_windows_restore_point_in_stop_segment)
{
    struct storage *s = mem_storage_new();
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    struct backup_record b = backup_of("B1", 1, 2 * (uint64_t)SEG16 + 0x28, 0x2800000);
    struct catalog_windows ws;
    struct catalog_seg g = seg_of(1, 2, 1);
    struct catalog_rp r[2];
    struct pitr_err err;

    r[0] = rp_of(1, 0x2000100, "before consistency");
    r[1] = rp_of(1, 0x2900000, "after consistency");
    record(s, 1, 1, 1);
    ck_assert_int_eq(catalog_record_segment(&repo, &g, r, 2, &err), PITR_OK);
    record(s, 1, 3, 1);
    windows(s, &b, 1, &ws);
    assert_window(&ws, 0, 1, b.stop_time * 1000000, last_xact(3), "B1", 2, 3, 0);
    ck_assert_uint_eq(ws.n_rps, 1);
    ck_assert_str_eq(ws.rps[0].name, "after consistency");
    catalog_windows_fini(&ws);
    storage_free(s);
}
END_TEST

/* A promotion in the very segment where the backup became consistent: a timeline that branched
 * after the consistency point continues the window (pitr-restore accepts that backup for it); one
 * that branched before it does not. */
START_TEST(test_catalog_windows_branch_in_stop_segment)
{
    struct storage *s = mem_storage_new();
    struct backup_record b = backup_of("B1", 1, 5 * (uint64_t)SEG16 + 0x28, 0x6000080);
    struct catalog_windows ws;

    for (uint64_t segno = 1; segno <= 10; segno++) {
        record(s, 1, segno, 1);
    }
    put_history(s, 2, "1\t0/6000100\tafter the backup\n");
    put_history(s, 3, "1\t0/6000040\tbefore the backup was consistent\n");
    put_history(s, 4, "1\t0/6000080\tright at it\n");
    for (uint32_t tli = 2; tli <= 4; tli++) {
        record(s, tli, 6, 1);
        record(s, tli, 7, 1);
    }
    windows(s, &b, 1, &ws);
    ck_assert_uint_eq(ws.n, 3);
    assert_window(&ws, 0, 1, b.stop_time * 1000000, last_xact(10), "B1", 6, 10, 0);
    assert_window(&ws, 1, 2, b.stop_time * 1000000, last_xact(7), "B1", 6, 7, 0);
    assert_window(&ws, 2, 4, b.stop_time * 1000000, last_xact(7), "B1", 6, 7, 0);
    catalog_windows_fini(&ws);
    storage_free(s);
}
END_TEST

/* --- catalog_windows_compute with verify: the repository, not the catalog, decides --------------
 */

static void wal_key_of(uint32_t tli, uint64_t segno, char *key, size_t size)
{
    char name[25];

    wal_segment_name(tli, segno, SEG16, name);
    snprintf(key, size, "c/wal/%.16s/%s", name, name);
}

/* Stores segment segno's WAL object (of len bytes) and its entry, which records the object's size
 * when sized (an entry of an older pitr does not). */
static void archive(struct storage *s, uint64_t segno, size_t len, bool sized)
{
    static const uint8_t bytes[256];
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    struct catalog_seg g = seg_of(1, segno, 1);
    char key[128];
    struct pitr_err err;

    wal_key_of(1, segno, key, sizeof(key));
    ck_assert_int_eq(storage_put(s, key, NULL, bytes, len, &err), PITR_OK);
    g.stored_size = sized ? len : 0;
    ck_assert_int_eq(catalog_record_segment(&repo, &g, NULL, 0, &err), PITR_OK);
}

static void tamper(struct storage *s, uint64_t segno, size_t len) /* 0: remove */
{
    static const uint8_t bytes[256];
    char key[128];
    struct pitr_err err;

    wal_key_of(1, segno, key, sizeof(key));
    ck_assert_int_eq(storage_remove(s, key, &err), PITR_OK);
    if (len > 0) {
        ck_assert_int_eq(storage_put(s, key, NULL, bytes, len, &err), PITR_OK);
    }
}

/* A hole made outside pitr: the catalog alone sees one window without a gap; verified, each
 * object deleted or of another size than archived is a gap, the window ends at the last commit
 * before the first one, and every gap after the backup is counted. */
START_TEST(test_catalog_windows_verify)
{
    struct counting *c = counting_new();
    struct storage *s = &c->base;
    struct backup_record b = backup_of("B1", 1, 2 * (uint64_t)SEG16 + 0x28, 3 * (uint64_t)SEG16);
    struct catalog_windows ws;
    int lists;

    for (uint64_t segno = 1; segno <= 0x110; segno++) { /* two WAL folders */
        archive(s, segno, 100 + segno % 100, true);
    }
    merge(s, 1, 1);
    windows_verified(s, &b, 1, &ws);
    assert_window(&ws, 0, 1, b.stop_time * 1000000, last_xact(0x110), "B1", 2, 0x110, 0);
    ck_assert_int_eq(gaps_of(&ws, 1), 0);
    catalog_windows_fini(&ws);

    tamper(s, 0x20, 0);                /* deleted */
    tamper(s, 0x21, 0);                /* and the next one: one gap */
    tamper(s, 0x40, 17);               /* truncated */
    tamper(s, 0x110, 0);               /* the last one the catalog lists */
    tamper(s, 0x50, 100 + 0x50 % 100); /* replaced by one of the same size: not seen */
    c->lists = 0;
    windows(s, &b, 1, &ws);
    lists = c->lists;
    ck_assert_uint_eq(ws.n, 1);
    assert_window(&ws, 0, 1, b.stop_time * 1000000, last_xact(0x110), "B1", 2, 0x110, 0);
    ck_assert_int_eq(gaps_of(&ws, 1), 0);
    catalog_windows_fini(&ws);

    c->lists = 0;
    windows_verified(s, &b, 1, &ws);
    ck_assert_int_eq(c->lists, lists + 2); /* one listing per WAL folder */
    ck_assert_uint_eq(ws.n, 1);            /* no backup starts the WAL after the gap */
    assert_window(&ws, 0, 1, b.stop_time * 1000000, last_xact(0x1F), "B1", 2, 0x1F, 0x20);
    ck_assert_int_eq(ws.v[0].gap_reason, CATALOG_GAP_MISSING);
    ck_assert_int_eq(gaps_of(&ws, 1), 3);
    catalog_windows_fini(&ws);

    /* a later backup starts a window that ends at the truncated object */
    {
        struct backup_record two[2] = {
            b, backup_of("B2", 1, 0x30 * (uint64_t)SEG16 + 0x28, 0x31 * (uint64_t)SEG16)};

        windows_verified(s, two, 2, &ws);
        ck_assert_uint_eq(ws.n, 2);
        assert_window(&ws, 1, 1, two[1].stop_time * 1000000, last_xact(0x3F), "B2", 0x30, 0x3F,
                      0x40);
        ck_assert_int_eq(ws.v[1].gap_reason, CATALOG_GAP_SIZE);
        ck_assert_uint_eq(ws.v[1].gap_size, 17);
        ck_assert_uint_eq(ws.v[1].gap_recorded, 100 + 0x40 % 100);
        ck_assert_int_eq(gaps_of(&ws, 1), 3);
        catalog_windows_fini(&ws);
    }
    storage_free(s);
}
END_TEST

/* Entries that record no size (an older pitr's) show only whether the object exists; a backup
 * whose own WAL is gone starts no window, and the gap still counts. */
START_TEST(test_catalog_windows_verify_unsized)
{
    struct storage *s = mem_storage_new();
    struct backup_record b = backup_of("B1", 1, 2 * (uint64_t)SEG16 + 0x28, 3 * (uint64_t)SEG16);
    struct catalog_windows ws;

    for (uint64_t segno = 1; segno <= 8; segno++) {
        archive(s, segno, 100, false);
    }
    tamper(s, 5, 10);
    windows_verified(s, &b, 1, &ws);
    assert_window(&ws, 0, 1, b.stop_time * 1000000, last_xact(8), "B1", 2, 8, 0);
    catalog_windows_fini(&ws);
    tamper(s, 2, 0);
    windows_verified(s, &b, 1, &ws);
    ck_assert_uint_eq(ws.n, 0);
    ck_assert_int_eq(gaps_of(&ws, 1), 1);
    catalog_windows_fini(&ws);
    /* a gap before the oldest backup started does not matter to any restore */
    archive(s, 2, 100, false);
    tamper(s, 1, 0);
    windows_verified(s, &b, 1, &ws);
    ck_assert_uint_eq(ws.n, 1);
    ck_assert_int_eq(gaps_of(&ws, 1), 0);
    catalog_windows_fini(&ws);
    storage_free(s);
}
END_TEST

Suite *catalog_suite(void)
{
    Suite *s = suite_create("catalog");
    TCase *tc_format = tcase_create("format_parse");
    TCase *tc_norm = tcase_create("normalize_find");
    TCase *tc_repo = tcase_create("repository");
    TCase *tc_win = tcase_create("windows");

    tcase_add_loop_test(tc_format, test_catalog_entry_round_trip_names, 0,
                        sizeof(rp_names) / sizeof(rp_names[0]));
    tcase_add_test(tc_format, test_catalog_entry_round_trip_no_xacts);
    tcase_add_loop_test(tc_format, test_catalog_entry_round_trip_stored, 0,
                        sizeof(stored_cases) / sizeof(stored_cases[0]));
    tcase_add_test(tc_format, test_catalog_entry_round_trip_edges);
    tcase_add_test(tc_format, test_catalog_parse_accumulates);
    tcase_add_loop_test(tc_format, test_catalog_parse_flipped_byte, 0, 2);
    tcase_add_loop_test(tc_format, test_catalog_parse_truncated, 0, 2);
    tcase_add_loop_test(tc_format, test_catalog_parse_malformed_line, 0,
                        sizeof(malformed) / sizeof(malformed[0]));
    tcase_add_test(tc_format, test_catalog_parse_hand_written);
    tcase_add_test(tc_format, test_catalog_parse_header);
    tcase_add_loop_test(tc_format, test_catalog_parse_keyed, 0, sizeof(keyed) / sizeof(keyed[0]));
    tcase_add_test(tc_format, test_catalog_parse_keyed_mixed);
    tcase_add_test(tc_format, test_catalog_time_format);
    tcase_add_test(tc_format, test_catalog_seg_from_scan);
    suite_add_tcase(s, tc_format);

    tcase_add_test(tc_norm, test_catalog_wal_normalize);
    tcase_add_test(tc_norm, test_catalog_wal_normalize_keeps_stored);
    tcase_add_test(tc_norm, test_catalog_find_sizes);
    suite_add_tcase(s, tc_norm);

    tcase_add_test(tc_repo, test_catalog_record_segment_create_only);
    tcase_add_test(tc_repo, test_catalog_merge_folder_union);
    tcase_add_test(tc_repo, test_catalog_merge_then_new_entry);
    tcase_add_test(tc_repo, test_catalog_merge_over_stale_cat);
    tcase_add_test(tc_repo, test_catalog_merge_keeps_stored);
    tcase_add_test(tc_repo, test_catalog_load_timeline_from_segno);
    tcase_add_test(tc_repo, test_catalog_load_timeline_reads_entries_only_when_incomplete);
    tcase_add_test(tc_repo, test_catalog_load_timeline_damaged);
    tcase_add_test(tc_repo, test_catalog_load_timeline_keyed);
    suite_add_tcase(s, tc_repo);

    tcase_add_test(tc_win, test_catalog_windows_one);
    tcase_add_test(tc_win, test_catalog_windows_no_xact_after_backup);
    tcase_add_test(tc_win, test_catalog_windows_backup_wal_missing);
    tcase_add_test(tc_win, test_catalog_windows_gap);
    tcase_add_test(tc_win, test_catalog_windows_timeline_branch);
    tcase_add_test(tc_win, test_catalog_windows_timeline_without_history);
    tcase_add_test(tc_win, test_catalog_windows_restore_points);
    tcase_add_test(tc_win, test_catalog_windows_restore_point_in_stop_segment);
    tcase_add_test(tc_win, test_catalog_windows_branch_in_stop_segment);
    tcase_add_test(tc_win, test_catalog_windows_verify);
    tcase_add_test(tc_win, test_catalog_windows_verify_unsized);
    suite_add_tcase(s, tc_win);
    return s;
}

/* Tests for lib/pg/wal.c: file-name classification, segment arithmetic, LSNs, page headers. */
#include <check.h>
#include <string.h>

#include "pg/wal.h"

static const struct {
    const char *name;
    enum pitr_rc rc;
    enum wal_file_kind kind;
    uint32_t tli;
    uint32_t log;
    uint32_t seg;
} names[] = {
    {"000000010000000000000003", PITR_OK, WAL_FILE_SEGMENT, 1, 0, 3},
    {"0000000A00000001000000FF", PITR_OK, WAL_FILE_SEGMENT, 10, 1, 255},
    {"000000010000000000000003.partial", PITR_OK, WAL_FILE_PARTIAL, 1, 0, 3},
    {"000000010000000000000002.00000028.backup", PITR_OK, WAL_FILE_BACKUP, 1, 0, 2},
    {"00000002.history", PITR_OK, WAL_FILE_HISTORY, 2, 0, 0},
    {"0000000100000000000000030", PITR_CONFIG, 0, 0, 0, 0},
    {"00000001000000000000000", PITR_CONFIG, 0, 0, 0, 0},
    {"00000001000000000000000g", PITR_CONFIG, 0, 0, 0, 0},
    {"000000010000000000000003.bak", PITR_CONFIG, 0, 0, 0, 0},
    {"000000010000000000000002.0000002.backup", PITR_CONFIG, 0, 0, 0, 0},
    {"000000000000000000000003", PITR_CONFIG, 0, 0, 0, 0},
    {"0000000x.history", PITR_CONFIG, 0, 0, 0, 0},
    {"../../etc/passwd", PITR_CONFIG, 0, 0, 0, 0},
    {"", PITR_CONFIG, 0, 0, 0, 0},
};

START_TEST(test_wal_parse_name_table)
{
    struct wal_file f;
    struct pitr_err err;
    enum pitr_rc rc = wal_parse_name(names[_i].name, &f, &err);

    ck_assert_int_eq(rc, names[_i].rc);
    if (rc == PITR_OK) {
        ck_assert_int_eq(f.kind, names[_i].kind);
        ck_assert_uint_eq(f.tli, names[_i].tli);
        ck_assert_uint_eq(f.log, names[_i].log);
        ck_assert_uint_eq(f.seg, names[_i].seg);
    } else {
        ck_assert_ptr_nonnull(strstr(err.msg, "is not a WAL file name"));
    }
}
END_TEST

START_TEST(test_wal_segment_name_round_trip)
{
    static const uint32_t sizes[] = {1u << 20, 16u << 20, 1u << 30};
    char name[25];
    struct wal_file f;
    struct pitr_err err;

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint64_t per = wal_segs_per_log(sizes[i]);
        uint64_t segnos[] = {1, per - 1, per, per + 1, 12345 * per + 7};

        for (size_t j = 0; j < sizeof(segnos) / sizeof(segnos[0]); j++) {
            wal_segment_name(3, segnos[j], sizes[i], name);
            ck_assert_int_eq(wal_parse_name(name, &f, &err), PITR_OK);
            ck_assert_uint_eq(f.tli, 3);
            ck_assert_uint_eq(wal_segno(&f, sizes[i]), segnos[j]);
        }
    }
    wal_segment_name(1, 0x1FF, 16u << 20, name);
    ck_assert_str_eq(name, "0000000100000001000000FF");
    ck_assert_uint_eq(wal_segno_of_lsn(UINT64_C(0x1FF000028), 16u << 20), 0x1FF);
}
END_TEST

START_TEST(test_wal_seg_size_valid)
{
    ck_assert(wal_seg_size_valid(1u << 20));
    ck_assert(wal_seg_size_valid(16u << 20));
    ck_assert(wal_seg_size_valid(1u << 30));
    ck_assert(!wal_seg_size_valid(512u << 10));
    ck_assert(!wal_seg_size_valid(3u << 20));
    ck_assert(!wal_seg_size_valid(2ull << 30));
    ck_assert(!wal_seg_size_valid(0));
}
END_TEST

START_TEST(test_wal_lsn)
{
    uint64_t lsn;
    char text[18];
    struct pitr_err err;

    ck_assert_int_eq(wal_lsn_parse("0/16B3748", &lsn, &err), PITR_OK);
    ck_assert_uint_eq(lsn, 0x16B3748);
    ck_assert_int_eq(wal_lsn_parse("1F/FFFFFFFF", &lsn, &err), PITR_OK);
    ck_assert_uint_eq(lsn, UINT64_C(0x1FFFFFFFFF));
    wal_lsn_format(lsn, text);
    ck_assert_str_eq(text, "1F/FFFFFFFF");
    ck_assert_int_eq(wal_lsn_parse("16B3748", &lsn, &err), PITR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "invalid LSN \"16B3748\""));
    ck_assert_int_eq(wal_lsn_parse("0/", &lsn, &err), PITR_CONFIG);
    ck_assert_int_eq(wal_lsn_parse("/1", &lsn, &err), PITR_CONFIG);
    ck_assert_int_eq(wal_lsn_parse("0/1G", &lsn, &err), PITR_CONFIG);
    ck_assert_int_eq(wal_lsn_parse("123456789/0", &lsn, &err), PITR_CONFIG);
}
END_TEST

static void put(uint8_t *p, const void *v, size_t n)
{
    memcpy(p, v, n);
}

START_TEST(test_wal_long_header_parse)
{
    uint8_t page[64] = {0};
    uint16_t magic = 0xD110;
    uint16_t info = 0x0002;
    uint32_t tli = 1;
    uint64_t addr = 3u << 24;
    uint64_t sysid = UINT64_C(7312345678901234567);
    uint32_t seg = 16u << 20;
    uint32_t blck = 8192;
    struct wal_long_header h;
    struct pitr_err err;

    put(page, &magic, 2);
    put(page + 2, &info, 2);
    put(page + 4, &tli, 4);
    put(page + 8, &addr, 8);
    put(page + 24, &sysid, 8);
    put(page + 32, &seg, 4);
    put(page + 36, &blck, 4);
    ck_assert_int_eq(wal_long_header_parse(page, sizeof(page), &h, &err), PITR_OK);
    ck_assert_uint_eq(h.sysid, sysid);
    ck_assert_uint_eq(h.seg_size, seg);
    ck_assert_uint_eq(h.pageaddr, addr);
    ck_assert_uint_eq(h.block_size, 8192);
    ck_assert_int_eq(wal_long_header_parse(page, 20, &h, &err), PITR_CORRUPT);
    info = 0;
    put(page + 2, &info, 2);
    ck_assert_int_eq(wal_long_header_parse(page, sizeof(page), &h, &err), PITR_CORRUPT);
    ck_assert_ptr_nonnull(strstr(err.msg, "long page header"));
}
END_TEST

Suite *wal_suite(void)
{
    Suite *s = suite_create("wal");
    TCase *tc = tcase_create("wal");

    tcase_add_loop_test(tc, test_wal_parse_name_table, 0, sizeof(names) / sizeof(names[0]));
    tcase_add_test(tc, test_wal_segment_name_round_trip);
    tcase_add_test(tc, test_wal_seg_size_valid);
    tcase_add_test(tc, test_wal_lsn);
    tcase_add_test(tc, test_wal_long_header_parse);
    suite_add_tcase(s, tc);
    return s;
}

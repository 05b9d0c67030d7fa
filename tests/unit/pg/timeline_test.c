/* Tests for lib/pg/timeline.c: history files as PostgreSQL writes them parse into the ancestry of
 * a timeline; anything else (garbage, bad numbers, timelines or LSNs that do not increase) is
 * PITR_CORRUPT naming the file and line, because a restore decides from it which WAL to replay. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "pg/timeline.h"

/* --- what PostgreSQL writes ---------------------------------------------------------------- */

START_TEST(test_timeline_history_parse_postgres)
{
    /* 00000003.history after two promotions, byte for byte as writeTimeLineHistory() leaves it */
    static const char text[] = "1\t0/3000000\tno recovery target specified\n"
                               "\n"
                               "2\t0/5000A28\tbefore 2026-01-08 14:27:00.000000+00\n";
    struct timeline_history h;
    struct pitr_err err;

    ck_assert_msg(timeline_history_parse(text, 3, "00000003.history", &h, &err) == PITR_OK, "%s",
                  err.msg);
    ck_assert_uint_eq(h.tli, 3);
    ck_assert_uint_eq(h.n, 2);
    ck_assert_uint_eq(h.entries[0].tli, 1);
    ck_assert_uint_eq(h.entries[0].end_lsn, 0x3000000);
    ck_assert_uint_eq(h.entries[1].tli, 2);
    ck_assert_uint_eq(h.entries[1].end_lsn, 0x5000A28);
    ck_assert_uint_eq(timeline_history_end(&h, 1), 0x3000000);
    ck_assert_uint_eq(timeline_history_end(&h, 2), 0x5000A28);
    ck_assert_uint_eq(timeline_history_end(&h, 3), UINT64_MAX);
    ck_assert_uint_eq(timeline_history_end(&h, 4), 0);
    timeline_history_fini(&h);
    ck_assert_ptr_null(h.entries);
    ck_assert_uint_eq(h.n, 0);
}
END_TEST

/* Comments, blank lines, spaces instead of tabs, CRLF, no reason and no final newline. */
START_TEST(test_timeline_history_parse_lenient_layout)
{
    static const char text[] = "# written by hand\n"
                               "   \n"
                               "  1   1/2000000  \r\n"
                               "\t# another comment\n"
                               "4 A/B reason with  spaces";
    struct timeline_history h;
    struct pitr_err err;

    ck_assert_msg(timeline_history_parse(text, 7, "00000007.history", &h, &err) == PITR_OK, "%s",
                  err.msg);
    ck_assert_uint_eq(h.n, 2);
    ck_assert_uint_eq(h.entries[0].tli, 1);
    ck_assert_uint_eq(h.entries[0].end_lsn, 0x102000000ull);
    ck_assert_uint_eq(h.entries[1].tli, 4);
    ck_assert_uint_eq(h.entries[1].end_lsn, 0xA0000000Bull);
    ck_assert_uint_eq(timeline_history_end(&h, 2), 0); /* skipped: not an ancestor */
    timeline_history_fini(&h);
}
END_TEST

/* Timeline 1 has no history file, but an empty text for it is fine: it has no ancestors. */
START_TEST(test_timeline_history_parse_timeline_one)
{
    struct timeline_history h;
    struct pitr_err err;

    ck_assert_int_eq(timeline_history_parse("", 1, "00000001.history", &h, &err), PITR_OK);
    ck_assert_uint_eq(h.n, 0);
    ck_assert_uint_eq(timeline_history_end(&h, 1), UINT64_MAX);
    ck_assert_uint_eq(timeline_history_end(&h, 2), 0);
    timeline_history_fini(&h);
}
END_TEST

/* --- refused ----------------------------------------------------------------------------- */

static const struct {
    const char *text;
    uint32_t tli;
    const char *msg;
} bad[] = {
    {"garbage\n", 2, "h line 1: expected a timeline and an LSN"},
    {"1\t0/3000000\n\nnonsense here\n", 3, "h line 3: invalid timeline \"nonsense\""},
    {"0\t0/3000000\n", 2, "h line 1: invalid timeline \"0\""},
    {"-1\t0/3000000\n", 2, "h line 1: invalid timeline \"-1\""},
    {"4294967296\t0/3000000\n", 2, "h line 1: invalid timeline \"4294967296\""},
    {"1\t3000000\treason\n", 2, "h line 1: invalid LSN \"3000000\""},
    {"1\t0/XYZ\n", 2, "h line 1: invalid LSN \"0/XYZ\""},
    {"1\t\n", 2, "h line 1: expected a timeline and an LSN"},
    {"1\t1/2/3\n", 2, "h line 1: invalid LSN \"1/2/3\""},
    /* timelines must increase, stay below the file's own, and LSNs must not go back */
    {"2\t0/3000000\n", 2, "h line 1: timelines and LSNs must increase below 2"},
    {"5\t0/3000000\n", 2, "h line 1: timelines and LSNs must increase below 2"},
    {"1\t0/3000000\n1\t0/4000000\n", 3, "h line 2: timelines and LSNs must increase below 3"},
    {"2\t0/3000000\n1\t0/4000000\n", 3, "h line 2: timelines and LSNs must increase below 3"},
    {"1\t0/5000000\n2\t0/4000000\n", 3, "h line 2: timelines and LSNs must increase below 3"},
    /* a timeline above 1 branched off something */
    {"", 2, "h names no parent timeline"},
    {"# only a comment\n\n", 2, "h names no parent timeline"},
};

START_TEST(test_timeline_history_parse_bad)
{
    struct timeline_history h;
    struct pitr_err err;

    memset(&h, 0x5a, sizeof(h));
    ck_assert_int_eq(timeline_history_parse(bad[_i].text, bad[_i].tli, "h", &h, &err),
                     PITR_CORRUPT);
    ck_assert_int_eq(err.rc, PITR_CORRUPT);
    ck_assert_str_eq(err.msg, bad[_i].msg);
    ck_assert_uint_eq(h.tli, 0x5a5a5a5a); /* untouched on failure */
}
END_TEST

Suite *timeline_suite(void)
{
    Suite *s = suite_create("timeline");
    TCase *tc = tcase_create("timeline_history_parse");

    tcase_add_test(tc, test_timeline_history_parse_postgres);
    tcase_add_test(tc, test_timeline_history_parse_lenient_layout);
    tcase_add_test(tc, test_timeline_history_parse_timeline_one);
    tcase_add_loop_test(tc, test_timeline_history_parse_bad, 0, sizeof(bad) / sizeof(bad[0]));
    suite_add_tcase(s, tc);
    return s;
}

/* Tests for lib/base/timestamp.c: every accepted form gives the exact moment (zones, separators,
 * fractions, leap years, month ends), formatting is read back unchanged, and junk is refused with
 * the message naming the text. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "base/timestamp.h"

static const int64_t S = 1000000; /* microseconds per second */

static const struct {
    const char *text;
    int64_t us;
} good[] = {
    {"2026-01-08 14:30:00+00", 1767882600 * S},
    {"2026-01-08T14:30:00+00", 1767882600 * S},
    {"2026-01-08 14:30:00Z", 1767882600 * S},
    {"2026-01-08T14:30:00Z", 1767882600 * S},
    {"2026-01-08 14:30:00 UTC", 1767882600 * S},
    {"2026-01-08 14:30:00UTC", 1767882600 * S},
    {"2026-01-08 14:30:00 GMT", 1767882600 * S},
    {"2026-01-08 14:30:00", 1767882600 * S}, /* no zone: UTC */
    {"2026-01-08 14:30", 1767882600 * S},
    {"2026-01-08 14:30Z", 1767882600 * S},
    {"2026-01-08 14:30:00+0000", 1767882600 * S},
    {"2026-01-08 14:30:00-00:00", 1767882600 * S},
    {"2026-01-08 20:00:00+05:30", 1767882600 * S},
    {"2026-01-08 20:00:00+0530", 1767882600 * S},
    {"2026-01-08 06:30:00-0800", 1767882600 * S},
    {"2026-01-08 06:30:00-08", 1767882600 * S},
    {"2026-01-08 06:30:00 -08:00", 1767882600 * S},
    {"2026-01-09 05:30:00+15", 1767882600 * S},
    {"2026-01-08 14:30:00.5+00", 1767882600 * S + 500000},
    {"2026-01-08 14:30:00.000001", 1767882600 * S + 1},
    {"2026-01-08 14:30:00.123456Z", 1767882600 * S + 123456},
    {"2026-01-08 14:30:00.1234569Z", 1767882600 * S + 123456}, /* beyond microseconds: cut */
    {"2026-01-08 20:00:00.25+05:30", 1767882600 * S + 250000},
    {"2024-02-29 23:59:59", 1709251199 * S}, /* leap year */
    {"2000-02-29 00:00:00", 951782400 * S},  /* divisible by 400: leap */
    {"2100-02-28 12:00:00", 4107499200 * S},
    {"2026-12-31 23:59:59", 1798761599 * S},
    {"2026-04-30 00:00:00", 1777507200 * S},
    {"1970-01-01 00:00:00", 0},
    {"1970-01-01 00:00:00+01", -3600 * S},
};

START_TEST(test_timestamp_parse_good)
{
    int64_t us = 42;
    struct pitr_err err;

    ck_assert_msg(timestamp_parse(good[_i].text, &us, &err) == PITR_OK, "%s: %s", good[_i].text,
                  err.msg);
    ck_assert_msg(us == good[_i].us, "%s: %lld != %lld", good[_i].text, (long long)us,
                  (long long)good[_i].us);
}
END_TEST

static const char *const bad[] = {
    "",
    " ",
    "now",
    "2026-01-08",
    "2026-01-08 ",
    "2026-01-08 14",
    "2026-01-08 14:",
    "2026-01-08 14:3",
    "2026-01-08 14:30:",
    "2026-01-08 14:30:0",
    "2026-01-08 14:30:00.",
    "2026-01-08 14:30.5",
    "2026-1-08 14:30:00",
    "26-01-08 14:30:00",
    "2026/01/08 14:30:00",
    "2026-01-08_14:30:00",
    "2026-00-08 14:30:00",
    "2026-13-01 00:00:00",
    "2026-01-00 00:00:00",
    "2026-01-32 00:00:00",
    "2026-02-29 00:00:00", /* not a leap year */
    "2100-02-29 00:00:00", /* divisible by 100, not 400 */
    "2026-04-31 00:00:00",
    "2026-06-31 00:00:00",
    "2026-09-31 00:00:00",
    "2026-11-31 00:00:00",
    "2026-01-08 24:00:00",
    "2026-01-08 23:60:00",
    "2026-01-08 23:59:60",
    "1969-12-31 23:59:59",
    "2026-01-08 14:30:00 junk",
    "2026-01-08 14:30:00+00 junk",
    "2026-01-08 14:30:00Zx",
    "2026-01-08 14:30:00ZZ",
    "2026-01-08 14:30:00 utc",
    "2026-01-08 14:30:00z",
    "2026-01-08 14:30:00 PST",
    "2026-01-08 14:30:00+5",
    "2026-01-08 14:30:00+5:30",
    "2026-01-08 14:30:00+05:3",
    "2026-01-08 14:30:00+05:",
    "2026-01-08 14:30:00+05:60",
    "2026-01-08 14:30:00+16",
    "2026-01-08 14:30:00+053",
    "2026-01-08 14:30:00+05:30:00",
    "2026-01-08 14:30:00+05:3030",
    "2026-01-08 14:30:00+053030",
    "2026-01-08 14:30:00+",
    "2026-01-08 14:30:00-",
    "2026-01-08 14:30:00.5.5",
    "2026-01-08 14:30:00.-5",
    "+2026-01-08 14:30:00",
    " 2026-01-08 14:30:00",
    "2026-01-08T14:30:00\n",
};

START_TEST(test_timestamp_parse_bad)
{
    int64_t us = 42;
    struct pitr_err err;
    char want[300];

    ck_assert_msg(timestamp_parse(bad[_i], &us, &err) == PITR_CONFIG, "\"%s\" accepted", bad[_i]);
    ck_assert_int_eq(us, 42);
    snprintf(want, sizeof(want),
             "invalid timestamp \"%s\": expected YYYY-MM-DD HH:MM[:SS[.ffffff]][+HH[:MM]|Z] (UTC "
             "when no zone is given)",
             bad[_i]);
    ck_assert_str_eq(err.msg, want);
}
END_TEST

static const struct {
    int64_t us;
    const char *text;
} formatted[] = {
    {1767882600 * S, "2026-01-08 14:30:00+00"},
    {1767882600 * S + 500000, "2026-01-08 14:30:00.500000+00"},
    {1767882600 * S + 1, "2026-01-08 14:30:00.000001+00"},
    {1709251199 * S + 999999, "2024-02-29 23:59:59.999999+00"},
    {0, "1970-01-01 00:00:00+00"},
    {-1, "1969-12-31 23:59:59.999999+00"},
    {-3600 * S, "1969-12-31 23:00:00+00"},
};

START_TEST(test_timestamp_format)
{
    char out[TIMESTAMP_TEXT_LEN];
    int64_t back = 0;
    struct pitr_err err;

    timestamp_format(formatted[_i].us, out);
    ck_assert_str_eq(out, formatted[_i].text);
    if (formatted[_i].us >= 0) {
        ck_assert_int_eq(timestamp_parse(out, &back, &err), PITR_OK);
        ck_assert_int_eq(back, formatted[_i].us);
    }
}
END_TEST

/* Every day of 2024 and 2026 at 23:59:59.999999 formats and parses back to the same moment. */
START_TEST(test_timestamp_round_trip_every_day)
{
    static const int64_t starts[] = {1704067200, 1767225600}; /* 2024-01-01, 2026-01-01 */

    for (int y = 0; y < 2; y++) {
        for (int day = 0; day < 366 - y; day++) {
            int64_t us = (starts[y] + (int64_t)day * 86400 + 86399) * S + 999999;
            char out[TIMESTAMP_TEXT_LEN];
            int64_t back = 0;
            struct pitr_err err;

            timestamp_format(us, out);
            ck_assert_msg(timestamp_parse(out, &back, &err) == PITR_OK, "%s", err.msg);
            ck_assert_int_eq(back, us);
        }
    }
}
END_TEST

Suite *timestamp_suite(void)
{
    Suite *s = suite_create("timestamp");
    TCase *tc_parse = tcase_create("timestamp_parse");
    TCase *tc_format = tcase_create("timestamp_format");

    tcase_add_loop_test(tc_parse, test_timestamp_parse_good, 0, sizeof(good) / sizeof(good[0]));
    tcase_add_loop_test(tc_parse, test_timestamp_parse_bad, 0, sizeof(bad) / sizeof(bad[0]));
    suite_add_tcase(s, tc_parse);
    tcase_add_loop_test(tc_format, test_timestamp_format, 0,
                        sizeof(formatted) / sizeof(formatted[0]));
    tcase_add_test(tc_format, test_timestamp_round_trip_every_day);
    suite_add_tcase(s, tc_format);
    return s;
}

/* Tests for the pure parts of lib/pg/repl.c: the exact BASE_BACKUP command for PostgreSQL 15+ and
 * for 13/14, with the options pitr sets and the ones it refuses, and the decoding of each CopyData
 * message kind of the 15+ stream, including truncated and unknown messages. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "pg/repl.h"

#define MODERN_TAIL "MANIFEST 'yes', MANIFEST_CHECKSUMS 'SHA256', TARGET 'client'"
#define LEGACY_TAIL "NOWAIT MANIFEST 'yes' MANIFEST_CHECKSUMS 'SHA256'"

static const struct {
    int version;
    struct repl_backup_opts opts;
    const char *command;
} commands[] = {
    {150000,
     {"pitr manual backup", true, REPL_COMPRESS_NONE, 0, 0},
     "BASE_BACKUP (LABEL 'pitr manual backup', PROGRESS, CHECKPOINT 'fast', WAIT "
     "false, " MODERN_TAIL ")"},
    {150018,
     {"nightly", false, REPL_COMPRESS_NONE, 0, 0},
     "BASE_BACKUP (LABEL 'nightly', PROGRESS, CHECKPOINT 'spread', WAIT false, " MODERN_TAIL ")"},
    {170002,
     {"it's Bob's", false, REPL_COMPRESS_NONE, 0, 0},
     "BASE_BACKUP (LABEL 'it''s Bob''s', PROGRESS, CHECKPOINT 'spread', WAIT false, " MODERN_TAIL
     ")"},
    {160000,
     {"''", true, REPL_COMPRESS_NONE, 0, 0},
     "BASE_BACKUP (LABEL '''''', PROGRESS, CHECKPOINT 'fast', WAIT false, " MODERN_TAIL ")"},
    {150000,
     {"a\\b \"c\" ; DROP", true, REPL_COMPRESS_NONE, 0, 0},
     "BASE_BACKUP (LABEL 'a\\b \"c\" ; DROP', PROGRESS, CHECKPOINT 'fast', WAIT false, " MODERN_TAIL
     ")"},
    {150000,
     {"", true, REPL_COMPRESS_NONE, 0, 32},
     "BASE_BACKUP (LABEL '', PROGRESS, CHECKPOINT 'fast', WAIT false, " MODERN_TAIL
     ", MAX_RATE 32)"},
    {150000,
     {"x", false, REPL_COMPRESS_LZ4, 0, 1048576},
     "BASE_BACKUP (LABEL 'x', PROGRESS, CHECKPOINT 'spread', WAIT false, " MODERN_TAIL
     ", MAX_RATE 1048576, COMPRESSION 'lz4')"},
    {150000,
     {"x", true, REPL_COMPRESS_LZ4, 1, 0},
     "BASE_BACKUP (LABEL 'x', PROGRESS, CHECKPOINT 'fast', WAIT false, " MODERN_TAIL
     ", COMPRESSION 'lz4', COMPRESSION_DETAIL 'level=1')"},
    {150000,
     {"x", true, REPL_COMPRESS_ZSTD, 0, 0},
     "BASE_BACKUP (LABEL 'x', PROGRESS, CHECKPOINT 'fast', WAIT false, " MODERN_TAIL
     ", COMPRESSION 'zstd')"},
    {160004,
     {"x", true, REPL_COMPRESS_ZSTD, 19, 500},
     "BASE_BACKUP (LABEL 'x', PROGRESS, CHECKPOINT 'fast', WAIT false, " MODERN_TAIL
     ", MAX_RATE 500, COMPRESSION 'zstd', COMPRESSION_DETAIL 'level=19')"},
    {150000,
     {"x", true, REPL_COMPRESS_NONE, 5, 0}, /* a level without compression is not sent */
     "BASE_BACKUP (LABEL 'x', PROGRESS, CHECKPOINT 'fast', WAIT false, " MODERN_TAIL ")"},
    /* 13 and 14: the legacy grammar, FAST only when asked, NOWAIT */
    {140000,
     {"pitr daily backup", true, REPL_COMPRESS_NONE, 0, 0},
     "BASE_BACKUP LABEL 'pitr daily backup' PROGRESS FAST " LEGACY_TAIL},
    {149999,
     {"it's", false, REPL_COMPRESS_NONE, 0, 0},
     "BASE_BACKUP LABEL 'it''s' PROGRESS " LEGACY_TAIL},
    {130000,
     {"x", false, REPL_COMPRESS_NONE, 0, 1024},
     "BASE_BACKUP LABEL 'x' PROGRESS " LEGACY_TAIL " MAX_RATE 1024"},
    {130011,
     {"x", true, REPL_COMPRESS_NONE, 3, 32},
     "BASE_BACKUP LABEL 'x' PROGRESS FAST " LEGACY_TAIL " MAX_RATE 32"},
};

START_TEST(test_repl_base_backup_command)
{
    struct buf out;
    struct pitr_err err;

    buf_init(&out, 4096);
    ck_assert_msg(repl_base_backup_command(commands[_i].version, &commands[_i].opts, &out, &err) ==
                      PITR_OK,
                  "%s", err.msg);
    ck_assert_str_eq((char *)out.data, commands[_i].command);
    buf_fini(&out);
}
END_TEST

static const struct {
    int version;
    struct repl_backup_opts opts;
    const char *msg;
} refused[] = {
    {120000,
     {"x", true, REPL_COMPRESS_NONE, 0, 0},
     "PostgreSQL 12 is not supported: pitr-basebackup needs 13 or later"},
    {90600,
     {"x", true, REPL_COMPRESS_NONE, 0, 0},
     "PostgreSQL 9 is not supported: pitr-basebackup needs 13 or later"},
    {140000,
     {"x", true, REPL_COMPRESS_LZ4, 0, 0},
     "server-side compression needs PostgreSQL 15 or later: set backup_compress_on = client"},
    {130000,
     {"x", true, REPL_COMPRESS_ZSTD, 3, 0},
     "server-side compression needs PostgreSQL 15 or later: set backup_compress_on = client"},
    {150000,
     {"x", true, REPL_COMPRESS_NONE, 0, 31},
     "the maximum rate must be between 32 kB/s and 1 GB/s"},
    {150000,
     {"x", true, REPL_COMPRESS_NONE, 0, 1048577},
     "the maximum rate must be between 32 kB/s and 1 GB/s"},
    {140000,
     {"x", true, REPL_COMPRESS_NONE, 0, 1},
     "the maximum rate must be between 32 kB/s and 1 GB/s"},
    {150000,
     {"two\nlines", true, REPL_COMPRESS_NONE, 0, 0},
     "the backup label must not contain control characters"},
    {140000,
     {"tab\there", true, REPL_COMPRESS_NONE, 0, 0},
     "the backup label must not contain control characters"},
    {150000,
     {"\x1b[31mred", true, REPL_COMPRESS_NONE, 0, 0},
     "the backup label must not contain control characters"},
};

START_TEST(test_repl_base_backup_command_refused)
{
    struct buf out;
    struct pitr_err err;

    buf_init(&out, 4096);
    ck_assert_int_eq(repl_base_backup_command(refused[_i].version, &refused[_i].opts, &out, &err),
                     PITR_CONFIG);
    ck_assert_str_eq(err.msg, refused[_i].msg);
    buf_fini(&out);
}
END_TEST

/* --- repl_msg_parse ------------------------------------------------------------------------- */

static enum pitr_rc parse(const void *msg, size_t len, struct repl_msg *m, struct pitr_err *err)
{
    return repl_msg_parse(msg, len, m, err);
}

START_TEST(test_repl_msg_parse_new_archive)
{
    static const char base[] = "nbase.tar\0";
    static const char tblspc[] = "n16384.tar\0/srv/tblspc one";
    struct repl_msg m;
    struct pitr_err err;

    ck_assert_int_eq(parse(base, sizeof(base), &m, &err), PITR_OK); /* both NULs */
    ck_assert_int_eq(m.type, REPL_MSG_NEW_ARCHIVE);
    ck_assert_str_eq(m.name, "base.tar");
    ck_assert_str_eq(m.location, "");
    ck_assert_ptr_eq(m.name, base + 1); /* borrowed from the message */

    ck_assert_int_eq(parse(tblspc, sizeof(tblspc), &m, &err), PITR_OK);
    ck_assert_str_eq(m.name, "16384.tar");
    ck_assert_str_eq(m.location, "/srv/tblspc one");
    ck_assert_ptr_eq(m.location, tblspc + 11);
}
END_TEST

START_TEST(test_repl_msg_parse_manifest_data_progress)
{
    static const uint8_t progress[] = {'p', 1, 2, 3, 4, 5, 6, 7, 8};
    static const uint8_t progress_max[] = {'p', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t data[] = {'d', 0, 1, 2, 0xff};
    struct repl_msg m;
    struct pitr_err err;

    ck_assert_int_eq(parse("m", 1, &m, &err), PITR_OK);
    ck_assert_int_eq(m.type, REPL_MSG_MANIFEST);

    ck_assert_int_eq(parse(data, sizeof(data), &m, &err), PITR_OK);
    ck_assert_int_eq(m.type, REPL_MSG_DATA);
    ck_assert_uint_eq(m.len, 4);
    ck_assert_ptr_eq(m.data, data + 1);

    ck_assert_int_eq(parse("d", 1, &m, &err), PITR_OK); /* empty data is allowed */
    ck_assert_int_eq(m.type, REPL_MSG_DATA);
    ck_assert_uint_eq(m.len, 0);

    ck_assert_int_eq(parse(progress, sizeof(progress), &m, &err), PITR_OK);
    ck_assert_int_eq(m.type, REPL_MSG_PROGRESS);
    ck_assert_uint_eq(m.progress, 0x0102030405060708ull); /* network byte order */
    ck_assert_int_eq(parse(progress_max, sizeof(progress_max), &m, &err), PITR_OK);
    ck_assert_uint_eq(m.progress, UINT64_MAX);
}
END_TEST

static const struct {
    const char *msg;
    size_t len;
    const char *error;
} bad_msgs[] = {
    {"", 0, "empty message in the base backup stream"},
    {"n", 1, "malformed new-archive message in the base backup stream"},
    {"nbase.tar", 9, "malformed new-archive message in the base backup stream"},
    {"nbase.tar\0", 10, "malformed new-archive message in the base backup stream"},
    {"nbase.tar\0/srv", 14, "malformed new-archive message in the base backup stream"},
    {"n\0\0", 3, "malformed new-archive message in the base backup stream"},
    {"nbase.tar\0\0x", 12, "malformed new-archive message in the base backup stream"},
    {"nbase.tar\0/a\0\0", 14, "malformed new-archive message in the base backup stream"},
    {"mx", 2, "malformed manifest message in the base backup stream"},
    {"p", 1, "malformed progress message in the base backup stream"},
    {"p\1\2\3\4\5\6\7", 8, "malformed progress message in the base backup stream"},
    {"p\1\2\3\4\5\6\7\10\11", 10, "malformed progress message in the base backup stream"},
    {"x", 1, "unknown message type 0x78 in the base backup stream"},
    {"D", 1, "unknown message type 0x44 in the base backup stream"},
    {"\0", 1, "unknown message type 0x00 in the base backup stream"},
    {"\xff\x01", 2, "unknown message type 0xff in the base backup stream"},
};

START_TEST(test_repl_msg_parse_bad)
{
    struct repl_msg m;
    struct pitr_err err;

    memset(&m, 0x5a, sizeof(m));
    ck_assert_int_eq(parse(bad_msgs[_i].msg, bad_msgs[_i].len, &m, &err), PITR_PROTOCOL);
    ck_assert_str_eq(err.msg, bad_msgs[_i].error);
    ck_assert_int_eq(((uint8_t *)&m)[0], 0x5a); /* untouched on failure */
}
END_TEST

Suite *repl_suite(void)
{
    Suite *s = suite_create("repl");
    TCase *tc_cmd = tcase_create("repl_base_backup_command");
    TCase *tc_msg = tcase_create("repl_msg_parse");

    tcase_add_loop_test(tc_cmd, test_repl_base_backup_command, 0,
                        sizeof(commands) / sizeof(commands[0]));
    tcase_add_loop_test(tc_cmd, test_repl_base_backup_command_refused, 0,
                        sizeof(refused) / sizeof(refused[0]));
    suite_add_tcase(s, tc_cmd);
    tcase_add_test(tc_msg, test_repl_msg_parse_new_archive);
    tcase_add_test(tc_msg, test_repl_msg_parse_manifest_data_progress);
    tcase_add_loop_test(tc_msg, test_repl_msg_parse_bad, 0, sizeof(bad_msgs) / sizeof(bad_msgs[0]));
    suite_add_tcase(s, tc_msg);
    return s;
}

/* Tests for catalog/expire.c: the decision (age per type, forever, the count floor keeping the
 * newest, never the only backup) on records with faked stop times; and a run on the in-memory
 * repository: a dry run changes nothing, a run removes exactly the expired backups and the WAL
 * (objects, .backup files, catalog entries and merged lines) before the first kept backup's
 * start on its timeline and earlier ones, keeps later timelines and history files, leaves
 * incomplete backups alone, finishes what an interrupted run left, and the catalog check passes. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "catalog/catalog.h"
#include "config/config.h"
#include "pg/wal.h"
#include "repo/backup.h"
#include "repo/repo.h"
#include "storage/storage.h"

enum { SEG16 = 16u << 20, DAY = 86400 };

static const int64_t NOW = 1767882600; /* 2026-01-08 14:30:00 UTC */

static const struct catalog_retention policy = {30 * DAY, 90 * DAY,   365 * DAY,
                                                7 * DAY,  UINT64_MAX, 2};

static struct backup_record rec(const char *id, const char *type, int64_t age_days, uint32_t tli,
                                uint64_t start_segno)
{
    struct backup_record r;

    memset(&r, 0, sizeof(r));
    snprintf(r.id, sizeof(r.id), "%s", id);
    snprintf(r.type, sizeof(r.type), "%s", type);
    snprintf(r.status, sizeof(r.status), "complete");
    snprintf(r.host, sizeof(r.host), "db1");
    snprintf(r.compression, sizeof(r.compression), "lz4");
    snprintf(r.compressed_by, sizeof(r.compressed_by), "server");
    r.pid = 1;
    r.sysid = 42;
    r.pg_version_num = 150000;
    r.timeline = tli;
    r.start_lsn = start_segno * SEG16 + 0x28;
    r.stop_lsn = (start_segno + 1) * SEG16 + 0x100;
    r.stop_time = NOW - age_days * DAY;
    r.start_time = r.stop_time - 60;
    r.wal_seg_size = SEG16;
    return r;
}

/* --- the decision ------------------------------------------------------------------------------
 */

static const struct {
    const char *what;
    const char *types; /* one letter per backup, oldest first: d w m p u(manual) x(unknown) */
    int64_t ages[6];   /* days */
    uint64_t min_full;
    const char *expected; /* one letter per backup: e expires, k kept */
} decide[] = {
    {"each type against its own retention", "dwmpu", {400, 100, 200, 8, 500}, 1, "eekek"},
    {"exactly the retention is not older than it", "dp", {30, 7}, 1, "kk"},
    {"a day more is", "dpd", {31, 8, 0}, 1, "eek"},
    {"the floor keeps the newest of the expiring", "ddddd", {90, 80, 70, 60, 50}, 2, "eeekk"},
    {"the floor counts kept ones too", "dddu", {90, 80, 70, 900}, 2, "eekk"},
    {"manual is forever", "uu", {9000, 9000}, 1, "kk"},
    {"an unknown type is never expired", "xd", {9000, 90}, 1, "ke"},
    {"never the only backup", "d", {400}, 1, "k"},
    {"not even with a floor of 0", "dd", {400, 300}, 0, "ek"},
    {"a floor above the count keeps all", "dd", {400, 300}, 5, "kk"},
    {"a stop time in the future is not old", "d", {-3}, 0, "k"},
};

START_TEST(test_catalog_expire_decide)
{
    struct backup_record b[6];
    bool expire[6];
    struct catalog_retention p = policy;
    size_t n = strlen(decide[_i].types);
    size_t want = 0;

    memset(b, 0, sizeof(b));
    p.min_full = decide[_i].min_full;
    for (size_t i = 0; i < n; i++) {
        static const char *const names[] = {"daily",         "weekly", "monthly",
                                            "pre-migration", "manual", "hourly"};
        const char *letters = "dwmpux";
        char id[32];

        snprintf(id, sizeof(id), "2025010%uT000000Z", (unsigned)(i % 10));
        b[i] = rec(id, names[strchr(letters, decide[_i].types[i]) - letters], decide[_i].ages[i], 1,
                   2 + i);
        want += decide[_i].expected[i] == 'e';
    }
    ck_assert_uint_eq(catalog_expire_decide(b, n, &p, NOW, expire), want);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(expire[i] == (decide[_i].expected[i] == 'e'), "%s: backup %zu",
                      decide[_i].what, i);
    }
}
END_TEST

START_TEST(test_catalog_expire_decide_floor_by_stop_time)
{
    /* the newest is the one that stopped last, whatever the list order */
    struct backup_record b[3] = {rec("a", "daily", 50, 1, 2), rec("b", "daily", 40, 1, 3),
                                 rec("c", "daily", 45, 1, 4)};
    bool expire[3];
    struct catalog_retention p = policy;

    p.min_full = 1;
    ck_assert_uint_eq(catalog_expire_decide(b, 3, &p, NOW, expire), 2);
    ck_assert(expire[0] && !expire[1] && expire[2]);
    ck_assert_uint_eq(catalog_expire_decide(b, 0, &p, NOW, expire), 0);
}
END_TEST

/* --- a run on the in-memory repository -------------------------------------------------------- */

static void put_backup(struct storage *s, const struct backup_record *r, bool complete)
{
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    struct pitr_err err;
    struct buf text;
    char key[256];

    buf_init(&text, 1 << 20);
    ck_assert_int_eq(backup_record_format(r, &text, &err), PITR_OK);
    ck_assert_int_eq(backup_key("c", r->id, "backup.start", key, sizeof(key), &err), PITR_OK);
    ck_assert_int_eq(repo_put_text(&repo, key, (const char *)text.data, true, &err), PITR_OK);
    ck_assert_int_eq(backup_key("c", r->id, "base.tar", key, sizeof(key), &err), PITR_OK);
    ck_assert_int_eq(storage_put(s, key, NULL, (const uint8_t *)"tar!", 4, &err), PITR_OK);
    if (complete) {
        ck_assert_int_eq(backup_key("c", r->id, "backup.info", key, sizeof(key), &err), PITR_OK);
        ck_assert_int_eq(repo_put_text(&repo, key, (const char *)text.data, true, &err), PITR_OK);
    }
    buf_fini(&text);
}

/* A WAL segment object (its content is never read by expire) and its catalog entry. */
static void put_segment(struct storage *s, uint32_t tli, uint64_t segno)
{
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    struct pitr_err err;
    struct catalog_seg g;
    char name[25];
    char key[256];

    wal_segment_name(tli, segno, SEG16, name);
    snprintf(key, sizeof(key), "c/wal/%.16s/%s", name, name);
    ck_assert_int_eq(storage_put(s, key, NULL, (const uint8_t *)"walwalwal", 9, &err), PITR_OK);
    memset(&g, 0, sizeof(g));
    g.tli = tli;
    g.segno = segno;
    g.seg_size = SEG16;
    g.archived_us = (NOW - 100 * DAY) * 1000000 + (int64_t)segno;
    ck_assert_int_eq(catalog_record_segment(&repo, &g, NULL, 0, &err), PITR_OK);
}

static enum pitr_rc collect(void *arg, const char *key, const struct storage_info *info,
                            struct pitr_err *err)
{
    (void)info;
    return buf_printf(arg, err, "%s\n", key);
}

static int compare_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every key of the repository, sorted, one a line. */
static char *listing(struct storage *s)
{
    struct buf b;
    struct buf out;
    struct pitr_err err;
    char **lines = NULL;
    size_t n = 0;
    char *result;

    buf_init(&b, 1 << 20);
    buf_init(&out, 1 << 20);
    ck_assert_int_eq(storage_list(s, "", STORAGE_LIST_RECURSIVE, collect, &b, &err), PITR_OK);
    for (size_t i = 0, start = 0; i < b.len; i++) {
        if (b.data[i] == '\n') {
            lines = realloc(lines, (n + 1) * sizeof(*lines));
            lines[n++] = strndup((const char *)b.data + start, i - start);
            start = i + 1;
        }
    }
    qsort(lines, n, sizeof(*lines), compare_str);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(buf_printf(&out, &err, "%s\n", lines[i]), PITR_OK);
        free(lines[i]);
    }
    ck_assert_int_eq(buf_append(&out, "", 1, &err), PITR_OK);
    result = strdup((const char *)out.data);
    free(lines);
    buf_fini(&b);
    buf_fini(&out);
    return result;
}

static bool has(const char *list, const char *key)
{
    char line[300];

    snprintf(line, sizeof(line), "%s\n", key);
    return strstr(list, line) != NULL;
}

static void add_line(void *arg, const char *line)
{
    struct pitr_err err;

    ck_assert_int_eq(buf_printf(arg, &err, "%s\n", line), PITR_OK);
}

static void check_catalog(struct storage *s)
{
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    struct catalog_check c;
    struct buf lines;
    struct pitr_err err;

    buf_init(&lines, 1 << 20);
    ck_assert_int_eq(catalog_check_run(&repo, add_line, &lines, &c, &err), PITR_OK);
    ck_assert_msg(c.missing_entry + c.missing_object + c.damaged == 0, "%.*s", (int)lines.len,
                  lines.data);
    buf_fini(&lines);
}

/* Backups: 20 and 10 days old daily ones (kept), a 40-day daily and a 100-day weekly (expire),
 * a 10-day one on timeline 2, an incomplete one; WAL on timeline 1 segments 1-0x10F (two
 * folders), .backup files, and timeline 2 segments 0x108-0x10C with its history file. The first
 * kept backup starts in 0x105 on timeline 1. */
static struct storage *scenario(void)
{
    struct storage *s = mem_storage_new();
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    struct pitr_err err;
    struct backup_record b[5] = {rec("20250930T000000Z", "weekly", 100, 1, 2),
                                 rec("20251129T000000Z", "daily", 40, 1, 0x40),
                                 rec("20251219T000000Z", "daily", 20, 1, 0x105),
                                 rec("20251229T000000Z", "daily", 10, 2, 0x10A),
                                 rec("20260108T000000Z", "daily", 0, 2, 0x10B)};

    for (int i = 0; i < 4; i++) {
        put_backup(s, &b[i], true);
    }
    snprintf(b[4].host, sizeof(b[4].host), "elsewhere"); /* its owner may be alive */
    b[4].start_time = NOW;
    put_backup(s, &b[4], false);
    for (uint64_t g = 1; g <= 0x10F; g++) {
        put_segment(s, 1, g);
    }
    for (uint64_t g = 0x108; g <= 0x10C; g++) {
        put_segment(s, 2, g);
    }
    ck_assert_int_eq(catalog_merge_folder(&repo, 1, 0, SEG16, &err), PITR_OK);
    ck_assert_int_eq(catalog_merge_folder(&repo, 1, 0x100, SEG16, &err), PITR_OK);
    ck_assert_int_eq(storage_put(s,
                                 "c/wal/0000000100000000/000000010000000000000040.00000028.backup",
                                 NULL, (const uint8_t *)"b", 1, &err),
                     PITR_OK);
    ck_assert_int_eq(storage_put(s,
                                 "c/wal/0000000100000001/000000010000000100000005.00000028.backup",
                                 NULL, (const uint8_t *)"b", 1, &err),
                     PITR_OK);
    ck_assert_int_eq(
        storage_put(s, "c/wal/history/00000002.history", NULL, (const uint8_t *)"h", 1, &err),
        PITR_OK);
    return s;
}

START_TEST(test_catalog_expire_run_dry_run_changes_nothing)
{
    struct storage *s = scenario();
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    struct catalog_expire r;
    struct pitr_err err;
    struct buf lines;
    char *before = listing(s);
    char *after;

    buf_init(&lines, 1 << 20);
    ck_assert_int_eq(catalog_expire_run(&repo, &policy, NOW, true, add_line, &lines, &r, &err),
                     PITR_OK);
    after = listing(s);
    ck_assert_str_eq(after, before);
    ck_assert_uint_eq(r.backups, 2);
    ck_assert_uint_eq(r.kept, 2);
    ck_assert_uint_eq(r.segments, 0x104);
    ck_assert_uint_eq(r.wal_files, 1);
    ck_assert_str_eq(r.first_kept, "000000010000000100000005");
    ck_assert_msg(strstr((char *)lines.data, "expire backup 20250930T000000Z (weekly, 100.0 days "
                                             "old, stopped 2025-09-30 14:30:00+00): ") != NULL,
                  "%s", lines.data);
    ck_assert_msg(strstr((char *)lines.data,
                         "expire WAL timeline 1: 000000010000000000000001 .. "
                         "000000010000000100000004 (260 segments, 1 other files): ") != NULL,
                  "%s", lines.data);
    ck_assert_msg(strstr((char *)lines.data,
                         "incomplete backup 20260108T000000Z (elsewhere pid 1): "
                         "left to pitr-basebackup --cleanup") != NULL,
                  "%s", lines.data);
    free(before);
    free(after);
    buf_fini(&lines);
    storage_free(s);
}
END_TEST

START_TEST(test_catalog_expire_run_removes)
{
    struct storage *s = scenario();
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    struct catalog_expire r;
    struct pitr_err err;
    struct buf lines;
    struct catalog_wal w = {NULL, 0, NULL, 0};
    char *after;

    buf_init(&lines, 1 << 20);
    ck_assert_int_eq(catalog_expire_run(&repo, &policy, NOW, false, add_line, &lines, &r, &err),
                     PITR_OK);
    after = listing(s);
    ck_assert(!has(after, "c/backup/20250930T000000Z/backup.start"));
    ck_assert(!has(after, "c/backup/20250930T000000Z/base.tar"));
    ck_assert(!has(after, "c/backup/20251129T000000Z/backup.info"));
    ck_assert(has(after, "c/backup/20251219T000000Z/backup.info"));
    ck_assert(has(after, "c/backup/20260108T000000Z/backup.start")); /* incomplete: left */
    ck_assert(!has(after, "c/wal/0000000100000000/000000010000000000000001"));
    ck_assert(!has(after, "c/wal/0000000100000000/000000010000000000000040.00000028.backup"));
    ck_assert(!has(after, "c/wal/0000000100000001/000000010000000100000004"));
    ck_assert(!has(after, "c/catalog/wal/0000000100000001/000000010000000100000004"));
    ck_assert(!has(after, "c/catalog/wal/0000000100000000.cat"));
    ck_assert(has(after, "c/wal/0000000100000001/000000010000000100000005"));
    ck_assert(has(after, "c/wal/0000000100000001/000000010000000100000005.00000028.backup"));
    ck_assert(has(after, "c/wal/0000000200000001/000000020000000100000008")); /* later timeline */
    ck_assert(has(after, "c/wal/history/00000002.history"));
    check_catalog(s);
    /* the merged file of the cut's folder lost exactly the segments before the cut */
    ck_assert_int_eq(catalog_load_timeline(&repo, 1, 0, SEG16, &w, &err), PITR_OK);
    ck_assert_uint_eq(w.n_segs, 0x10F - 0x105 + 1);
    ck_assert_uint_eq(w.segs[0].segno, 0x105);
    catalog_wal_fini(&w);
    /* again: nothing more goes */
    ck_assert_int_eq(catalog_expire_run(&repo, &policy, NOW, false, add_line, &lines, &r, &err),
                     PITR_OK);
    ck_assert_uint_eq(r.backups + r.leftovers + r.segments + r.wal_files, 0);
    free(after);
    buf_fini(&lines);
    storage_free(s);
}
END_TEST

START_TEST(test_catalog_expire_run_interrupted)
{
    struct storage *s = scenario();
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    struct catalog_expire r;
    struct pitr_err err;
    struct buf lines;
    char *after;

    /* as if an expire stopped after removing a backup's record and start, and after removing a
     * folder's entries but not its segments */
    ck_assert_int_eq(storage_remove(s, "c/backup/20251129T000000Z/backup.info", &err), PITR_OK);
    ck_assert_int_eq(storage_remove(s, "c/backup/20251129T000000Z/backup.start", &err), PITR_OK);
    ck_assert_int_eq(
        storage_remove(s, "c/catalog/wal/0000000100000000/000000010000000000000003", &err),
        PITR_OK);
    buf_init(&lines, 1 << 20);
    ck_assert_int_eq(catalog_expire_run(&repo, &policy, NOW, false, add_line, &lines, &r, &err),
                     PITR_OK);
    ck_assert_uint_eq(r.backups, 1);
    ck_assert_uint_eq(r.leftovers, 1);
    ck_assert_msg(strstr((char *)lines.data, "remove the rest of backup 20251129T000000Z") != NULL,
                  "%s", lines.data);
    after = listing(s);
    ck_assert(!has(after, "c/backup/20251129T000000Z/base.tar"));
    ck_assert(!has(after, "c/wal/0000000100000000/000000010000000000000003"));
    check_catalog(s);
    free(after);
    buf_fini(&lines);
    storage_free(s);
}
END_TEST

START_TEST(test_catalog_expire_run_backup_in_progress_keeps_wal)
{
    struct storage *s = scenario();
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    struct backup_record b = rec("20251218T000000Z", "daily", 21, 1, 0x100);
    struct catalog_expire r;
    struct pitr_err err;
    struct buf lines;

    /* began before the first kept backup stopped, on another host: it may need any segment */
    snprintf(b.host, sizeof(b.host), "elsewhere");
    put_backup(s, &b, false);
    buf_init(&lines, 1 << 20);
    ck_assert_int_eq(catalog_expire_run(&repo, &policy, NOW, false, add_line, &lines, &r, &err),
                     PITR_OK);
    ck_assert_uint_eq(r.backups, 2);
    ck_assert(r.wal_kept);
    ck_assert_uint_eq(r.segments, 0);
    buf_fini(&lines);
    storage_free(s);
}
END_TEST

START_TEST(test_catalog_expire_run_empty)
{
    struct storage *s = mem_storage_new();
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    struct catalog_expire r;
    struct pitr_err err;
    struct buf lines;

    put_segment(s, 1, 1);
    buf_init(&lines, 1 << 20);
    ck_assert_int_eq(catalog_expire_run(&repo, &policy, NOW, false, add_line, &lines, &r, &err),
                     PITR_OK);
    ck_assert_uint_eq(r.segments, 0); /* no backup: every segment stays */
    ck_assert_str_eq(r.first_kept, "");
    buf_fini(&lines);
    storage_free(s);
}
END_TEST

Suite *expire_suite(void)
{
    Suite *s = suite_create("expire");
    TCase *tc_decide = tcase_create("catalog_expire_decide");
    TCase *tc_run = tcase_create("catalog_expire_run");

    tcase_add_loop_test(tc_decide, test_catalog_expire_decide, 0,
                        sizeof(decide) / sizeof(decide[0]));
    tcase_add_test(tc_decide, test_catalog_expire_decide_floor_by_stop_time);
    suite_add_tcase(s, tc_decide);
    tcase_add_test(tc_run, test_catalog_expire_run_dry_run_changes_nothing);
    tcase_add_test(tc_run, test_catalog_expire_run_removes);
    tcase_add_test(tc_run, test_catalog_expire_run_interrupted);
    tcase_add_test(tc_run, test_catalog_expire_run_backup_in_progress_keeps_wal);
    tcase_add_test(tc_run, test_catalog_expire_run_empty);
    suite_add_tcase(s, tc_run);
    return s;
}

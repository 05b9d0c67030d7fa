/* Tests for pitr_restore/plan.c on the in-memory repository: the walk from the backup collects
 * exactly the restore points after its consistency point up to the first missing segment, in
 * order, whether the segments around them have catalog entries or only WAL objects; the window
 * ends at the last commit before the gap. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "catalog/catalog.h"
#include "pg/wal.h"
#include "plan.h"
#include "repo/backup.h"
#include "repo/repo.h"
#include "storage/storage.h"

enum { SEG16 = 16u << 20 };

static const int64_t T0 = 1767882600LL; /* 2026-01-08 14:30:00 UTC */

static void put_backup(struct storage *s, uint64_t start_lsn, uint64_t stop_lsn)
{
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    struct backup_record r;
    struct buf text;
    struct pitr_err err;

    memset(&r, 0, sizeof(r));
    memcpy(r.id, "20260108T143000Z", 17);
    memcpy(r.type, "daily", 6);
    memcpy(r.status, "complete", 9);
    memcpy(r.compression, "none", 5);
    r.timeline = 1;
    r.start_lsn = start_lsn;
    r.stop_lsn = stop_lsn;
    r.start_time = T0;
    r.stop_time = T0 + 1;
    r.wal_seg_size = SEG16;
    r.pg_version_num = 150018;
    buf_init(&text, BACKUP_RECORD_MAX);
    ck_assert_int_eq(backup_record_format(&r, &text, &err), PITR_OK);
    ck_assert_msg(repo_put_text(&repo, "c/backup/20260108T143000Z/backup.info",
                                (const char *)text.data, true, &err) == PITR_OK,
                  "%s", err.msg);
    buf_fini(&text);
}

static void put_wal(struct storage *s, uint64_t segno)
{
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    char name[25];
    char key[256];
    struct wal_file f;
    struct pitr_err err;

    wal_segment_name(1, segno, SEG16, name);
    ck_assert_int_eq(wal_parse_name(name, &f, &err), PITR_OK);
    ck_assert_int_eq(repo_wal_key("c", name, &f, key, sizeof(key), &err), PITR_OK);
    ck_assert_int_eq(repo_put_text(&repo, key, "wal", true, &err), PITR_OK);
}

/* An entry for segno, with restore points at the given offsets into it. */
static void put_entry(struct storage *s, uint64_t segno, const uint64_t *offsets,
                      const char *const *names, size_t n)
{
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    struct catalog_seg g;
    struct catalog_rp rps[4];
    struct pitr_err err;

    memset(&g, 0, sizeof(g));
    g.tli = 1;
    g.segno = segno;
    g.seg_size = SEG16;
    g.archived_us = (T0 + (int64_t)segno * 60) * 1000000;
    g.xacts = 1;
    g.first_xact_us = g.archived_us - 30000000;
    g.last_xact_us = g.archived_us - 1;
    memset(rps, 0, sizeof(rps));
    for (size_t i = 0; i < n; i++) {
        rps[i].tli = 1;
        rps[i].lsn = segno * SEG16 + offsets[i];
        rps[i].time_us = g.archived_us - 20000000;
        snprintf(rps[i].name, sizeof(rps[i].name), "%s", names[i]);
    }
    ck_assert_int_eq(catalog_record_segment(&repo, &g, rps, n, &err), PITR_OK);
}

static enum pitr_rc plan_to(struct storage *s, enum restore_target target, struct restore_plan *p,
                            struct pitr_err *err)
{
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    struct restore_options o;

    memset(&o, 0, sizeof(o));
    o.target = target;
    return restore_plan_build(&repo, &o, p, err);
}

static enum pitr_rc plan_to_name(struct storage *s, const char *name, struct restore_plan *p,
                                 struct pitr_err *err)
{
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    struct restore_options o;

    memset(&o, 0, sizeof(o));
    o.target = RESTORE_TO_NAME;
    o.value = name;
    return restore_plan_build(&repo, &o, p, err);
}

/* Backup consistent at 0/3800000; entries for 2..5, 7..9 and 0x20 (after a gap), with a WAL
 * object but no entry for 6 (archived before the catalog existed). */
static struct storage *repository(void)
{
    struct storage *s = mem_storage_new();
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    static const uint64_t in3[] = {0x100, 0x900000};
    static const char *const names3[] = {"before consistency", "after consistency"};
    static const uint64_t in5[] = {0x10, 0x20, 0x30};
    static const char *const names5[] = {"five a", "five b", "five c"};
    static const uint64_t in8[] = {0xFFFF00};
    static const char *const names8[] = {"eight"};
    static const char *const after_gap[] = {"after the gap"};
    struct pitr_err err;

    put_backup(s, 2 * (uint64_t)SEG16 + 0x28, 0x3800000);
    for (uint64_t segno = 2; segno <= 9; segno++) {
        put_wal(s, segno);
    }
    put_wal(s, 0x20);
    put_entry(s, 2, in3, names3, 2); /* a restore point before the backup started */
    put_entry(s, 3, in3, names3, 2);
    put_entry(s, 4, NULL, NULL, 0);
    put_entry(s, 5, in5, names5, 3);
    put_entry(s, 7, NULL, NULL, 0);
    put_entry(s, 8, in8, names8, 1);
    put_entry(s, 9, NULL, NULL, 0);
    put_entry(s, 0x20, in8, after_gap, 1);
    ck_assert_int_eq(catalog_merge_folder(&repo, 1, 2, SEG16, &err), PITR_OK);
    return s;
}

START_TEST(test_restore_plan_restore_points)
{
    struct storage *s = repository();
    struct restore_plan p;
    struct pitr_err err;

    ck_assert_msg(plan_to_name(s, "eight", &p, &err) == PITR_OK, "%s", err.msg);
    ck_assert_uint_eq(p.start_segno, 2);
    ck_assert_uint_eq(p.stop_segno, 3);
    /* the walk stops where recovery reaches the restore point: later WAL is not read */
    ck_assert(p.reached);
    ck_assert_uint_eq(p.end_segno, 8);
    ck_assert(!p.gap);
    ck_assert_uint_eq(p.uncataloged, 1);
    ck_assert_uint_eq(p.n_rps, 5);
    ck_assert_str_eq(p.rps[0].name, "after consistency");
    ck_assert_str_eq(p.rps[1].name, "five a");
    ck_assert_str_eq(p.rps[2].name, "five b");
    ck_assert_str_eq(p.rps[3].name, "five c");
    ck_assert_str_eq(p.rps[4].name, "eight");
    ck_assert_uint_eq(p.rps[4].lsn, 8 * (uint64_t)SEG16 + 0xFFFF00);
    restore_plan_fini(&p);
    storage_free(s);
}
END_TEST

/* Restore points that cannot end a recovery from the backup are refused by name. The plan is
 * approximate while a segment lacks its entry, so names are only checked on a complete one. */
START_TEST(test_restore_plan_restore_point_refused)
{
    static const char *const names[] = {"before consistency", "after the gap"};
    struct storage *s = repository();
    struct restore_plan p;
    struct pitr_err err;
    ck_assert_int_eq(plan_to_name(s, "no such point", &p, &err), PITR_OK); /* entry of 6 lacks */
    restore_plan_fini(&p);
    put_entry(s, 6, NULL, NULL, 0);
    for (size_t i = 0; i < 2; i++) {
        char want[512];

        snprintf(want, sizeof(want),
                 "restore point \"%s\" is not in the archived WAL after backup 20260108T143000Z "
                 "up to the missing segment 00000001000000000000000A: see pitr-catalog windows "
                 "for the restore points there are",
                 names[i]);
        ck_assert_int_eq(plan_to_name(s, names[i], &p, &err), PITR_CONFIG);
        ck_assert_str_eq(err.msg, want);
    }
    ck_assert_msg(plan_to_name(s, "five b", &p, &err) == PITR_OK, "%s", err.msg);
    ck_assert_uint_eq(p.uncataloged, 0);
    ck_assert(p.reached);
    ck_assert_uint_eq(p.end_segno, 5);
    ck_assert_uint_eq(p.n_rps, 4); /* up to the end of the segment holding "five b" */
    restore_plan_fini(&p);
    /* to the end: the walk goes on to the first missing segment and sees the gap after it */
    ck_assert_int_eq(plan_to(s, RESTORE_TO_LATEST, &p, &err), PITR_OK);
    ck_assert(!p.reached);
    ck_assert_uint_eq(p.end_segno, 9);
    ck_assert(p.gap);
    ck_assert_uint_eq(p.gap_segno, 10);
    ck_assert_uint_eq(p.n_rps, 5);
    restore_plan_fini(&p);
    storage_free(s);
}
END_TEST

Suite *plan_suite(void)
{
    Suite *s = suite_create("plan");
    TCase *tc = tcase_create("restore_plan_build");

    tcase_add_test(tc, test_restore_plan_restore_points);
    tcase_add_test(tc, test_restore_plan_restore_point_refused);
    suite_add_tcase(s, tc);
    return s;
}

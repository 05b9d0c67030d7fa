/* Tests for pitr_restore/plan.c on the in-memory repository: the walk from the backup collects
 * exactly the restore points after its consistency point up to the first missing segment, in
 * order, whether the segments around them have catalog entries or only WAL objects; the window
 * ends at the last commit before the gap. The repository, not the catalog, decides: a WAL object
 * the catalog lists but the repository lost, or of another size than the one archived, is a gap
 * named in the refusal, found with one listing per WAL folder. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/strutil.h"
#include "base/timestamp.h"
#include "catalog/catalog.h"
#include "crypto/key.h"
#include "pg/wal.h"
#include "plan.h"
#include "repo/backup.h"
#include "repo/repo.h"
#include "storage/storage.h"
#include "storage/storage_int.h"

enum { SEG16 = 16u << 20 };

static const int64_t T0 = 1767882600LL; /* 2026-01-08 14:30:00 UTC */
static const uint64_t SYSID = 7312345678901234567ull;

/* The key of the repositories a test builds (NULL: unencrypted), and their session. */
static struct key *test_key;

static struct repo_session session(struct storage *s)
{
    struct repo_session repo;

    memset(&repo, 0, sizeof(repo));
    repo.storage = s;
    repo.cluster = (char *)"c";
    repo.key = test_key;
    repo.info.sysid = SYSID;
    repo.has_info = true;
    return repo;
}

static void put_backup(struct storage *s, uint64_t start_lsn, uint64_t stop_lsn)
{
    struct repo_session repo = session(s);
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
    r.sysid = SYSID;
    buf_init(&text, BACKUP_RECORD_MAX);
    ck_assert_int_eq(backup_record_format(&r, &text, &err), PITR_OK);
    ck_assert_msg(repo_put_text(&repo, "c/backup/20260108T143000Z/backup.info",
                                (const char *)text.data, true, &err) == PITR_OK,
                  "%s", err.msg);
    buf_fini(&text);
}

static void put_wal(struct storage *s, uint64_t segno)
{
    struct repo_session repo = session(s);
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
    struct repo_session repo = session(s);
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

static void wal_key(uint64_t segno, char *key, size_t size)
{
    char name[25];

    wal_segment_name(1, segno, SEG16, name);
    snprintf(key, size, "c/wal/%.16s/%s", name, name);
}

/* An entry for segno (a commit in it, no restore point) that records its object's stored size,
 * as pitr-archive writes them. */
static void put_entry_sized(struct storage *s, uint64_t segno)
{
    struct repo_session repo = session(s);
    struct catalog_seg g;
    struct storage_info info;
    char key[256];
    struct pitr_err err;

    wal_key(segno, key, sizeof(key));
    ck_assert_int_eq(storage_stat(s, key, &info, &err), PITR_OK);
    memset(&g, 0, sizeof(g));
    g.tli = 1;
    g.segno = segno;
    g.seg_size = SEG16;
    g.archived_us = (T0 + (int64_t)segno * 60) * 1000000;
    g.xacts = 1;
    g.first_xact_us = g.archived_us - 30000000;
    g.last_xact_us = g.archived_us - 1;
    g.stored_size = info.size;
    ck_assert_int_eq(catalog_record_segment(&repo, &g, NULL, 0, &err), PITR_OK);
}

/* What someone with write access to the bucket does behind pitr's back: removes segno's object,
 * or replaces it with one of another size. */
static void remove_wal(struct storage *s, uint64_t segno)
{
    char key[256];
    struct pitr_err err;

    wal_key(segno, key, sizeof(key));
    ck_assert_int_eq(storage_remove(s, key, &err), PITR_OK);
}

static uint64_t replace_wal(struct storage *s, uint64_t segno)
{
    struct repo_session repo = session(s);
    struct storage_info info;
    char key[256];
    struct pitr_err err;

    remove_wal(s, segno);
    wal_key(segno, key, sizeof(key));
    ck_assert_int_eq(repo_put_text(&repo, key, "a longer segment", true, &err), PITR_OK);
    ck_assert_int_eq(storage_stat(s, key, &info, &err), PITR_OK);
    return info.size;
}

/* Backup consistent at 0/3800000; WAL objects 2..9 with entries that record their sizes. */
static struct storage *sized_repository(void)
{
    struct storage *s = mem_storage_new();

    put_backup(s, 2 * (uint64_t)SEG16 + 0x28, 0x3800000);
    for (uint64_t segno = 2; segno <= 9; segno++) {
        put_wal(s, segno);
        put_entry_sized(s, segno);
    }
    return s;
}

static uint64_t stored_size_of(struct storage *s, uint64_t segno)
{
    struct storage_info info;
    char key[256];
    struct pitr_err err;

    wal_key(segno, key, sizeof(key));
    ck_assert_int_eq(storage_stat(s, key, &info, &err), PITR_OK);
    return info.size;
}

static enum pitr_rc plan_to(struct storage *s, enum restore_target target, struct restore_plan *p,
                            struct pitr_err *err)
{
    struct repo_session repo = session(s);
    struct restore_options o;

    memset(&o, 0, sizeof(o));
    o.target = target;
    return restore_plan_build(&repo, &o, p, err);
}

static enum pitr_rc plan_to_time(struct storage *s, int64_t us, struct restore_plan *p,
                                 struct pitr_err *err)
{
    struct repo_session repo = session(s);
    struct restore_options o;

    memset(&o, 0, sizeof(o));
    o.target = RESTORE_TO_TIME;
    o.time_us = us;
    return restore_plan_build(&repo, &o, p, err);
}

static enum pitr_rc plan_to_name(struct storage *s, const char *name, struct restore_plan *p,
                                 struct pitr_err *err)
{
    struct repo_session repo = session(s);
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
    struct repo_session repo = session(s);
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

/* The last commit in segment segno, as put_entry and put_entry_sized record it. */
static int64_t last_commit(uint64_t segno)
{
    return (T0 + (int64_t)segno * 60) * 1000000 - 1;
}

/* The refusal of a time target past the segment gap, naming it and the last reachable time. */
static void expect_refused_at(struct storage *s, uint64_t gap, const char *why)
{
    struct restore_plan p;
    struct pitr_err err;
    char target[TIMESTAMP_TEXT_LEN];
    char end[TIMESTAMP_TEXT_LEN];
    char name[25];
    char want[512];

    timestamp_format(last_commit(9), target);
    timestamp_format(last_commit(gap - 1), end);
    wal_segment_name(1, gap, SEG16, name);
    snprintf(want, sizeof(want),
             "%s is not recoverable from backup 20260108T143000Z: WAL segment %s %s, so recovery "
             "cannot pass %s, the last commit before it; choose a time before that or a backup "
             "taken after the gap",
             target, name, why, end);
    ck_assert_int_eq(plan_to_time(s, last_commit(9), &p, &err), PITR_CONFIG);
    ck_assert_str_eq(err.msg, want);
}

/* A WAL object the catalog lists, deleted from the repository: a target past it is refused naming
 * it and the last commit before it; targets before it still plan; "latest" stops before it and
 * the plan shows it as a gap. */
START_TEST(test_restore_plan_object_missing)
{
    struct storage *s = sized_repository();
    struct restore_plan p;
    struct pitr_err err;

    ck_assert_msg(plan_to_time(s, last_commit(9) - 1, &p, &err) == PITR_OK, "%s", err.msg);
    ck_assert(p.reached);
    ck_assert_uint_eq(p.listed, 8);
    ck_assert_uint_eq(p.sized, 8);
    restore_plan_fini(&p);
    remove_wal(s, 6);
    expect_refused_at(s, 6, "is missing from the repository (the catalog lists it)");
    ck_assert_msg(plan_to_time(s, last_commit(5) - 1, &p, &err) == PITR_OK, "%s", err.msg);
    ck_assert(p.reached);
    ck_assert_uint_eq(p.end_segno, 5);
    restore_plan_fini(&p);
    ck_assert_msg(plan_to(s, RESTORE_TO_LATEST, &p, &err) == PITR_OK, "%s", err.msg);
    ck_assert(!p.reached);
    ck_assert_uint_eq(p.end_segno, 5);
    ck_assert(p.gap);
    ck_assert_uint_eq(p.gap_segno, 6);
    ck_assert_int_eq(p.missing, CATALOG_GAP_MISSING);
    restore_plan_fini(&p);
    /* the last segment the catalog lists is a gap too: it was archived, and the repository lost it
     */
    remove_wal(s, 9);
    remove_wal(s, 6);
    put_wal(s, 6);
    ck_assert_msg(plan_to(s, RESTORE_TO_LATEST, &p, &err) == PITR_OK, "%s", err.msg);
    ck_assert_uint_eq(p.end_segno, 8);
    ck_assert(p.gap);
    ck_assert_uint_eq(p.gap_segno, 9);
    restore_plan_fini(&p);
    expect_refused_at(s, 9, "is missing from the repository (the catalog lists it)");
    storage_free(s);
}
END_TEST

/* An object truncated or replaced by one of another size is refused as such; the segments before
 * it still plan. */
START_TEST(test_restore_plan_object_wrong_size)
{
    struct storage *s = sized_repository();
    uint64_t archived = stored_size_of(s, 7);
    uint64_t now = replace_wal(s, 7);
    struct restore_plan p;
    struct pitr_err err;
    char why[160];

    ck_assert_uint_ne(now, archived);
    snprintf(why, sizeof(why),
             "is %llu bytes in the repository, not the %llu archived (truncated or replaced)",
             (unsigned long long)now, (unsigned long long)archived);
    expect_refused_at(s, 7, why);
    ck_assert_msg(plan_to(s, RESTORE_TO_LATEST, &p, &err) == PITR_OK, "%s", err.msg);
    ck_assert_uint_eq(p.end_segno, 6);
    ck_assert(p.gap);
    ck_assert_int_eq(p.missing, CATALOG_GAP_SIZE);
    ck_assert_uint_eq(p.missing_size, now);
    ck_assert_uint_eq(p.missing_recorded, archived);
    restore_plan_fini(&p);
    storage_free(s);
}
END_TEST

/* Entries written before pitr recorded sizes can only show that the object exists: a replaced
 * object passes, a removed one does not, and the plan says how many it checked by size. */
START_TEST(test_restore_plan_object_unsized)
{
    struct storage *s = repository(); /* entries without sizes; 6 has none at all */
    struct restore_plan p;
    struct pitr_err err;

    put_entry_sized(s, 6);
    replace_wal(s, 5);
    ck_assert_msg(plan_to(s, RESTORE_TO_LATEST, &p, &err) == PITR_OK, "%s", err.msg);
    ck_assert_uint_eq(p.end_segno, 9);
    ck_assert_uint_eq(p.listed, 8);
    ck_assert_uint_eq(p.sized, 1);
    ck_assert_int_eq(p.missing, CATALOG_GAP_UNCATALOGED);
    ck_assert_uint_eq(p.gap_segno, 10);
    restore_plan_fini(&p);
    remove_wal(s, 8);
    ck_assert_msg(plan_to(s, RESTORE_TO_LATEST, &p, &err) == PITR_OK, "%s", err.msg);
    ck_assert_uint_eq(p.end_segno, 7);
    ck_assert_uint_eq(p.gap_segno, 8);
    ck_assert_int_eq(p.missing, CATALOG_GAP_MISSING);
    restore_plan_fini(&p);
    storage_free(s);
}
END_TEST

/* The segments that make the backup consistent: missing or of the wrong size, the backup cannot
 * be restored at all. */
START_TEST(test_restore_plan_object_needed_for_consistency)
{
    struct storage *s = sized_repository();
    uint64_t archived = stored_size_of(s, 3);
    struct restore_plan p;
    struct pitr_err err;
    char want[512];
    uint64_t now;

    remove_wal(s, 3);
    ck_assert_int_eq(plan_to(s, RESTORE_TO_LATEST, &p, &err), PITR_CONFIG);
    ck_assert_str_eq(err.msg, "backup 20260108T143000Z cannot be restored: WAL segment "
                              "000000010000000000000003, needed to make it consistent, is not in "
                              "the repository");
    now = replace_wal(s, 3);
    snprintf(want, sizeof(want),
             "backup 20260108T143000Z cannot be restored: WAL segment 000000010000000000000003, "
             "needed to make it consistent, is %llu bytes in the repository, not the %llu "
             "archived (truncated or replaced)",
             (unsigned long long)now, (unsigned long long)archived);
    ck_assert_int_eq(plan_to(s, RESTORE_TO_IMMEDIATE, &p, &err), PITR_CONFIG);
    ck_assert_str_eq(err.msg, want);
    storage_free(s);
}
END_TEST

/* With a key, an object there but not authentic fails the plan, whatever its size: a valid
 * segment copied over another is an attack to report, not a gap to restore around; one that is
 * authentic but truncated is a gap. */
START_TEST(test_restore_plan_object_keyed)
{
    static const char secret[] = "0123456789abcdef0123456789abcdef-plan-key";
    struct pitr_err err;
    struct storage *s;
    struct restore_plan p;
    struct buf obj;
    char key6[256];
    char key7[256];

    test_key = key_from_secret((const uint8_t *)secret, strlen(secret), &err);
    ck_assert_ptr_nonnull(test_key);
    s = sized_repository();
    ck_assert_msg(plan_to(s, RESTORE_TO_LATEST, &p, &err) == PITR_OK, "%s", err.msg);
    ck_assert(p.authenticated);
    ck_assert_uint_eq(p.end_segno, 9);
    restore_plan_fini(&p);

    /* segment 6's object in 7's place (another size: the content names 7 in 6's object) */
    wal_key(6, key6, sizeof(key6));
    wal_key(7, key7, sizeof(key7));
    buf_init(&obj, 1 << 20);
    ck_assert_int_eq(storage_get(s, key6, &obj, &err), PITR_OK);
    ck_assert_int_eq(buf_append(&obj, (const uint8_t *)"x", 1, &err), PITR_OK);
    remove_wal(s, 7);
    ck_assert_int_eq(storage_put(s, key7, NULL, obj.data, obj.len, &err), PITR_OK);
    ck_assert_int_eq(plan_to(s, RESTORE_TO_LATEST, &p, &err), PITR_CORRUPT);
    ck_assert_msg(strncmp(err.msg, "WAL segment 000000010000000000000007 cannot be used: ", 53) ==
                      0,
                  "%s", err.msg);

    /* the object's own first bytes, cut short: authentic, but not what was archived */
    remove_wal(s, 7);
    put_wal(s, 7);
    buf_fini(&obj);
    buf_init(&obj, 1 << 20);
    ck_assert_int_eq(storage_get(s, key7, &obj, &err), PITR_OK);
    remove_wal(s, 7);
    ck_assert_int_eq(storage_put(s, key7, NULL, obj.data, obj.len - 1, &err), PITR_OK);
    ck_assert_msg(plan_to(s, RESTORE_TO_LATEST, &p, &err) == PITR_OK, "%s", err.msg);
    ck_assert_uint_eq(p.end_segno, 6);
    ck_assert_int_eq(p.missing, CATALOG_GAP_SIZE);
    ck_assert_uint_eq(p.missing_size, obj.len - 1);
    restore_plan_fini(&p);
    buf_fini(&obj);
    storage_free(s);
    key_free(test_key);
    test_key = NULL;
}
END_TEST

/* A storage that counts what the plan asks of the WAL folders, passing everything on to the
 * in-memory one. */
struct counting {
    struct storage base;
    struct storage *inner;
    int wal_lists; /* listings of a WAL folder */
    int wal_other; /* stats and reads of WAL objects */
};

static bool is_wal_key(const char *key)
{
    return str_has_prefix(key, "c/wal/") && !str_has_prefix(key, "c/wal/history");
}

static enum pitr_rc c_stat(struct storage *s, const char *key, struct storage_info *out,
                           struct pitr_err *err)
{
    struct counting *c = (struct counting *)s;

    c->wal_other += is_wal_key(key);
    return storage_stat(c->inner, key, out, err);
}

static enum pitr_rc c_read(struct storage *s, const char *key, struct filter *sink,
                           struct pitr_err *err)
{
    struct counting *c = (struct counting *)s;

    c->wal_other += is_wal_key(key);
    return storage_read(c->inner, key, sink, err);
}

static enum pitr_rc c_read_range(struct storage *s, const char *key, uint64_t offset, uint64_t len,
                                 struct filter *sink, struct pitr_err *err)
{
    struct counting *c = (struct counting *)s;

    c->wal_other += is_wal_key(key);
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

    c->wal_lists += is_wal_key(dir);
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

/* Each WAL folder the walk enters is listed once, and no object is looked at one by one: 300
 * segments over two folders cost two requests. */
START_TEST(test_restore_plan_lists_each_folder_once)
{
    struct counting *c = calloc(1, sizeof(*c));
    struct storage *s;
    struct restore_plan p;
    struct pitr_err err;

    c->base.ops = &counting_ops;
    c->inner = mem_storage_new();
    s = &c->base;
    put_backup(s, 2 * (uint64_t)SEG16 + 0x28, 0x3800000);
    for (uint64_t segno = 2; segno < 302; segno++) {
        put_wal(s, segno);
        put_entry_sized(s, segno);
    }
    c->wal_lists = 0;
    c->wal_other = 0;
    ck_assert_msg(plan_to(s, RESTORE_TO_LATEST, &p, &err) == PITR_OK, "%s", err.msg);
    ck_assert_uint_eq(p.end_segno, 301);
    ck_assert_uint_eq(p.listed, 300);
    ck_assert_uint_eq(p.sized, 300);
    ck_assert_int_eq(c->wal_lists, 2);
    ck_assert_int_eq(c->wal_other, 0);
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
    tcase_add_test(tc, test_restore_plan_object_missing);
    tcase_add_test(tc, test_restore_plan_object_wrong_size);
    tcase_add_test(tc, test_restore_plan_object_unsized);
    tcase_add_test(tc, test_restore_plan_object_needed_for_consistency);
    tcase_add_test(tc, test_restore_plan_object_keyed);
    tcase_add_test(tc, test_restore_plan_lists_each_folder_once);
    suite_add_tcase(s, tc);
    return s;
}

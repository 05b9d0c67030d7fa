/* Tests for lib/repo/repo.c on the in-memory repository: a WAL folder's listing holds exactly the
 * segments that belong in it, sorted, with their stored sizes; everything else in the folder is
 * left out, and a missing folder is an empty one. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "repo/repo.h"
#include "storage/storage.h"

enum { SEG16 = 16u << 20, SEG1 = 1u << 20 };

static void put(struct storage *s, const char *key, size_t len)
{
    static const uint8_t bytes[64];
    struct pitr_err err;

    ck_assert_msg(storage_put(s, key, NULL, bytes, len, &err) == PITR_OK, "%s", err.msg);
}

START_TEST(test_repo_wal_folder_list_segments_only)
{
    struct storage *s = mem_storage_new();
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    struct repo_wal_folder f = {NULL, 0};
    struct pitr_err err;

    put(s, "c/wal/0000000100000002/0000000100000002000000FF", 40);
    put(s, "c/wal/0000000100000002/000000010000000200000003", 33);
    put(s, "c/wal/0000000100000002/000000010000000200000000", 32);
    put(s, "c/wal/0000000100000002/000000010000000200000004.partial", 34);
    put(s, "c/wal/0000000100000002/000000010000000200000004.00000028.backup", 35);
    put(s, "c/wal/0000000100000002/000000020000000200000005", 36); /* another timeline */
    put(s, "c/wal/0000000100000002/000000010000000300000006", 37); /* another folder's */
    put(s, "c/wal/0000000100000002/00000001000000020000000", 38);  /* not a segment name */
    put(s, "c/wal/0000000100000002/sub/000000010000000200000007", 39);
    put(s, "c/wal/0000000100000003/000000010000000300000001", 41);
    ck_assert_msg(repo_wal_folder_list(&repo, 1, 2 * 256 + 9, SEG16, &f, &err) == PITR_OK, "%s",
                  err.msg);
    ck_assert_uint_eq(f.n, 3);
    ck_assert_uint_eq(f.v[0].segno, 2 * 256 + 0);
    ck_assert_uint_eq(f.v[0].size, 32);
    ck_assert_uint_eq(f.v[1].segno, 2 * 256 + 3);
    ck_assert_uint_eq(f.v[1].size, 33);
    ck_assert_uint_eq(f.v[2].segno, 2 * 256 + 0xFF);
    ck_assert_uint_eq(f.v[2].size, 40);
    ck_assert_ptr_eq(repo_wal_folder_find(&f, 2 * 256 + 3), &f.v[1]);
    ck_assert_ptr_null(repo_wal_folder_find(&f, 2 * 256 + 4));
    ck_assert_ptr_null(repo_wal_folder_find(&f, 3 * 256 + 1));
    repo_wal_folder_fini(&f);
    ck_assert_ptr_null(f.v);

    /* a folder nobody archived into; another timeline's */
    ck_assert_int_eq(repo_wal_folder_list(&repo, 1, 7 * 256, SEG16, &f, &err), PITR_OK);
    ck_assert_uint_eq(f.n, 0);
    ck_assert_ptr_null(repo_wal_folder_find(&f, 7 * 256));
    repo_wal_folder_fini(&f);
    ck_assert_int_eq(repo_wal_folder_list(&repo, 2, 2 * 256, SEG16, &f, &err), PITR_OK);
    ck_assert_uint_eq(f.n, 0);
    repo_wal_folder_fini(&f);
    storage_free(s);
}
END_TEST

/* With 1 MiB segments a folder holds 4096 of them, named up to 00000FFF. */
START_TEST(test_repo_wal_folder_list_small_segments)
{
    struct storage *s = mem_storage_new();
    struct repo_session repo = {.storage = s, .cluster = (char *)"c"};
    struct repo_wal_folder f = {NULL, 0};
    struct pitr_err err;

    put(s, "c/wal/0000000100000001/000000010000000100000FFF", 32);
    put(s, "c/wal/0000000100000001/000000010000000100000000", 32);
    ck_assert_int_eq(repo_wal_folder_list(&repo, 1, 4096 + 17, SEG1, &f, &err), PITR_OK);
    ck_assert_uint_eq(f.n, 2);
    ck_assert_uint_eq(f.v[0].segno, 4096);
    ck_assert_uint_eq(f.v[1].segno, 2 * 4096 - 1);
    repo_wal_folder_fini(&f);
    storage_free(s);
}
END_TEST

Suite *repo_suite(void)
{
    Suite *s = suite_create("repo");
    TCase *tc = tcase_create("repo_wal_folder_list");

    tcase_add_test(tc, test_repo_wal_folder_list_segments_only);
    tcase_add_test(tc, test_repo_wal_folder_list_small_segments);
    suite_add_tcase(s, tc);
    return s;
}

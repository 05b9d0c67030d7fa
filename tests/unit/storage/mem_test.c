/* Tests for lib/storage/mem.c: the fake must keep the contract the real drivers keep
 * (invisible until finished, create-only, not-found, listings), or tests built on it lie. */
#include <check.h>
#include <string.h>

#include "base/buf.h"
#include "storage/storage.h"

static enum pitr_rc collect(void *arg, const char *key, const struct storage_info *info,
                            struct pitr_err *err)
{
    return buf_printf(arg, err, "%s%s;", key, info->is_dir ? "/" : "");
}

START_TEST(test_mem_storage_contract)
{
    struct storage *s = mem_storage_new();
    struct write_opts create_only = {true, 0};
    struct filter *sink = NULL;
    struct storage_info info;
    struct pitr_err err;
    struct buf b;

    buf_init(&b, 4096);
    ck_assert_int_eq(storage_write_open(s, "c/wal/b", NULL, &sink, &err), PITR_OK);
    ck_assert_int_eq(filter_write(sink, (const uint8_t *)"xyz", 3, &err), PITR_OK);
    ck_assert_int_eq(storage_stat(s, "c/wal/b", &info, &err), PITR_NOT_FOUND);
    ck_assert_int_eq(filter_finish(sink, &err), PITR_OK);
    filter_free(sink);
    ck_assert_int_eq(storage_stat(s, "c/wal/b", &info, &err), PITR_OK);
    ck_assert_uint_eq(info.size, 3);
    ck_assert_int_eq(storage_put(s, "c/wal/a", &create_only, (const uint8_t *)"1", 1, &err),
                     PITR_OK);
    ck_assert_int_eq(storage_put(s, "c/wal/a", &create_only, (const uint8_t *)"2", 1, &err),
                     PITR_EXISTS);
    ck_assert_int_eq(storage_put(s, "c/info", NULL, (const uint8_t *)"i", 1, &err), PITR_OK);
    ck_assert_int_eq(storage_put(s, "d/info", NULL, (const uint8_t *)"i", 1, &err), PITR_OK);
    ck_assert_int_eq(storage_get(s, "c/wal/a", &b, &err), PITR_OK);
    ck_assert_str_eq((char *)b.data, "1");
    buf_reset(&b);
    ck_assert_int_eq(storage_list(s, "", STORAGE_LIST_CHILDREN, collect, &b, &err), PITR_OK);
    ck_assert_str_eq((char *)b.data, "c/;d/;");
    buf_reset(&b);
    ck_assert_int_eq(storage_list(s, "c", STORAGE_LIST_CHILDREN, collect, &b, &err), PITR_OK);
    ck_assert_str_eq((char *)b.data, "c/info;c/wal/;");
    buf_reset(&b);
    ck_assert_int_eq(storage_list(s, "c/", STORAGE_LIST_RECURSIVE, collect, &b, &err), PITR_OK);
    ck_assert_str_eq((char *)b.data, "c/info;c/wal/a;c/wal/b;");
    ck_assert_int_eq(storage_remove(s, "c/wal/a", &err), PITR_OK);
    ck_assert_int_eq(storage_remove(s, "c/wal/a", &err), PITR_OK);
    ck_assert_int_eq(storage_remove_dir(s, "c/wal", &err), PITR_OK); /* no directories: a no-op */
    ck_assert_int_eq(storage_get(s, "c/wal/a", &b, &err), PITR_NOT_FOUND);
    buf_fini(&b);
    storage_free(s);
}
END_TEST

Suite *mem_suite(void)
{
    Suite *s = suite_create("mem");
    TCase *tc = tcase_create("mem");

    tcase_add_test(tc, test_mem_storage_contract);
    suite_add_tcase(s, tc);
    return s;
}

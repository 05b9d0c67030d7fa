/* Tests for lib/storage/mem.c: the fake must keep the contract the real drivers keep
 * (invisible until finished, create-only, not-found, listings), or tests built on it lie. */
#include <check.h>
#include <stdint.h>
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

/* Ranges of the 26-byte object "abc" (the alphabet) and of the empty object "empty": the same
 * contract the posix driver's tests check. */
static const struct range_case {
    const char *key;
    uint64_t offset;
    uint64_t len;
    const char *expect;
} range_cases[] = {
    {"abc", 0, 5, "abcde"},                            /* start */
    {"abc", 10, 4, "klmn"},                            /* middle */
    {"abc", 20, 6, "uvwxyz"},                          /* ends exactly at the end */
    {"abc", 0, 26, "abcdefghijklmnopqrstuvwxyz"},      /* the whole object */
    {"abc", 23, 10, "xyz"},                            /* runs past the end: what exists */
    {"abc", 26, 1, ""},                                /* starts at the end: nothing */
    {"abc", 1000, 64, ""},                             /* starts past the end: nothing */
    {"abc", 0, 0, ""},                                 /* zero length */
    {"abc", 13, 0, ""},                                /* zero length in the middle */
    {"abc", 3, UINT64_MAX, "defghijklmnopqrstuvwxyz"}, /* offset + len past UINT64_MAX */
    {"abc", UINT64_MAX, UINT64_MAX, ""},
    {"empty", 0, 64, ""},
    {"empty", 0, 0, ""},
};

START_TEST(test_storage_read_range_cases)
{
    const struct range_case *c = &range_cases[_i];
    struct storage *s = mem_storage_new();
    struct pitr_err err;
    struct filter *sink;
    struct buf b;

    ck_assert_int_eq(
        storage_put(s, "abc", NULL, (const uint8_t *)"abcdefghijklmnopqrstuvwxyz", 26, &err),
        PITR_OK);
    ck_assert_int_eq(storage_put(s, "empty", NULL, (const uint8_t *)"", 0, &err), PITR_OK);
    buf_init(&b, 1024);
    sink = buf_sink_new(&b);
    ck_assert_int_eq(storage_read_range(s, c->key, c->offset, c->len, sink, &err), PITR_OK);
    ck_assert_uint_eq(b.len, strlen(c->expect));
    if (b.len > 0) { /* an empty buf has no data at all */
        ck_assert_mem_eq(b.data, c->expect, b.len);
    }
    /* finished: a second finish is refused */
    ck_assert_int_eq(filter_finish(sink, &err), PITR_INTERNAL);
    filter_free(sink);
    buf_fini(&b);
    storage_free(s);
}
END_TEST

START_TEST(test_storage_read_range_not_found)
{
    struct storage *s = mem_storage_new();
    struct pitr_err err;
    struct filter *sink;
    struct buf b;

    buf_init(&b, 2);
    sink = buf_sink_new(&b);
    ck_assert_int_eq(storage_read_range(s, "c/wal/x", 0, 64, sink, &err), PITR_NOT_FOUND);
    ck_assert_str_eq(err.msg, "\"c/wal/x\" does not exist");
    ck_assert_int_eq(storage_read_range(s, "c/wal/x", 0, 0, sink, &err), PITR_NOT_FOUND);
    /* the sink is untouched: nothing written, not finished */
    ck_assert_uint_eq(b.len, 0);
    ck_assert_int_eq(filter_finish(sink, &err), PITR_OK);
    filter_free(sink);
    /* a sink's failure is returned as it is */
    ck_assert_int_eq(storage_put(s, "k", NULL, (const uint8_t *)"abcdef", 6, &err), PITR_OK);
    sink = buf_sink_new(&b);
    ck_assert_int_ne(storage_read_range(s, "k", 1, 4, sink, &err), PITR_OK);
    ck_assert_uint_eq(b.len, 0);
    filter_free(sink);
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
    tc = tcase_create("read_range");
    tcase_add_loop_test(tc, test_storage_read_range_cases, 0,
                        sizeof(range_cases) / sizeof(range_cases[0]));
    tcase_add_test(tc, test_storage_read_range_not_found);
    suite_add_tcase(s, tc);
    return s;
}

/* Tests for lib/stream: stage ordering, sinks, sticky errors. */
#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stream/filter.h"
#include "stream/filter_int.h"

/* A stage that upper-cases letters and fails on '!' (to test sticky errors). */
struct upper {
    struct filter base;
};

static enum pitr_rc upper_write(struct filter *f, const uint8_t *data, size_t len,
                                struct pitr_err *err)
{
    uint8_t out[64];
    size_t used = 0;

    for (size_t i = 0; i < len; i++) {
        if (data[i] == '!') {
            return err_set(err, PITR_CORRUPT, "bang at %zu", i);
        }
        out[used++] = (uint8_t)(data[i] >= 'a' && data[i] <= 'z' ? data[i] - 32 : data[i]);
        if (used == sizeof(out)) {
            enum pitr_rc rc = filter_flush_buffer(f, out, &used, err);

            if (rc != PITR_OK) {
                return rc;
            }
        }
    }
    return filter_flush_buffer(f, out, &used, err);
}

static enum pitr_rc upper_finish(struct filter *f, struct pitr_err *err)
{
    return filter_finish_next(f, err);
}

static void upper_free(struct filter *f)
{
    free(f);
}

static const struct filter_ops upper_ops = {"upper", upper_write, upper_finish, upper_free};

static struct filter *upper_new(void)
{
    struct upper *u = calloc(1, sizeof(*u));

    filter_init(&u->base, &upper_ops);
    return &u->base;
}

START_TEST(test_pipeline_order_and_size)
{
    struct buf out;
    struct pitr_err err;
    struct pipeline *p;
    struct filter *before;
    struct filter *after;

    buf_init(&out, 1024);
    p = pipeline_new(buf_sink_new(&out));
    before = size_filter_new();
    pipeline_add(p, before);
    pipeline_add(p, upper_new());
    after = size_filter_new();
    pipeline_add(p, after);
    for (int i = 0; i < 100; i++) {
        ck_assert_int_eq(pipeline_write(p, (const uint8_t *)"abc", 3, &err), PITR_OK);
    }
    ck_assert_int_eq(pipeline_finish(p, &err), PITR_OK);
    ck_assert_uint_eq(out.len, 300);
    ck_assert_mem_eq(out.data, "ABCABC", 6);
    ck_assert_uint_eq(size_filter_bytes(before), 300);
    ck_assert_uint_eq(size_filter_bytes(after), 300);
    ck_assert_int_eq(pipeline_finish(p, &err), PITR_INTERNAL);
    pipeline_free(p);
    buf_fini(&out);
}
END_TEST

START_TEST(test_filter_write_sticky_error)
{
    struct buf out;
    struct pitr_err err;
    struct pipeline *p;

    buf_init(&out, 1024);
    p = pipeline_new(buf_sink_new(&out));
    pipeline_add(p, upper_new());
    ck_assert_int_eq(pipeline_write(p, (const uint8_t *)"ok!", 3, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "bang at 2");
    err.msg[0] = '\0';
    ck_assert_int_eq(pipeline_write(p, (const uint8_t *)"fine", 4, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "bang at 2");
    ck_assert_int_eq(pipeline_finish(p, &err), PITR_CORRUPT);
    pipeline_free(p);
    buf_fini(&out);
}
END_TEST

START_TEST(test_buf_sink_cap)
{
    struct buf out;
    struct pitr_err err;
    struct filter *sink;

    buf_init(&out, 4);
    sink = buf_sink_new(&out);
    ck_assert_int_eq(filter_write(sink, (const uint8_t *)"abcd", 4, &err), PITR_OK);
    ck_assert_int_eq(filter_write(sink, (const uint8_t *)"e", 1, &err), PITR_INTERNAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "limit of 4 bytes"));
    filter_free(sink);
    buf_fini(&out);
}
END_TEST

START_TEST(test_fd_sink_full_disk)
{
    struct pitr_err err;
    int fd = open("/dev/full", O_WRONLY);
    struct filter *sink;

    ck_assert_int_ge(fd, 0);
    sink = fd_sink_new(fd, "/dev/full");
    ck_assert_int_eq(filter_write(sink, (const uint8_t *)"x", 1, &err), PITR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "could not write \"/dev/full\" (disk full"));
    filter_free(sink);
    close(fd);
}
END_TEST

Suite *pipeline_suite(void)
{
    Suite *s = suite_create("pipeline");
    TCase *tc = tcase_create("pipeline");

    tcase_add_test(tc, test_pipeline_order_and_size);
    tcase_add_test(tc, test_filter_write_sticky_error);
    tcase_add_test(tc, test_buf_sink_cap);
    tcase_add_test(tc, test_fd_sink_full_disk);
    suite_add_tcase(s, tc);
    return s;
}

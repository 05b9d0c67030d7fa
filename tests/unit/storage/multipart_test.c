/* Tests for lib/storage/multipart.c: parts recorded in any order (as concurrent uploads finish)
 * must be completed in part-number order with the ETag S3 computes for them, and never while a
 * part is missing. Expected ETags were computed independently (Python hashlib). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "crypto/digest.h"
#include "storage/multipart.h"

static const char *const part_data[] = {"part one", "part two", "part three"};

static const char three_parts_body[] =
    "<CompleteMultipartUpload>"
    "<Part><PartNumber>1</PartNumber><ETag>\"3303e12af474ca11d85ed2966a932992\"</ETag></Part>"
    "<Part><PartNumber>2</PartNumber><ETag>\"3ea4e15b91a17dc76052c56cfcdf67a2\"</ETag></Part>"
    "<Part><PartNumber>3</PartNumber><ETag>\"3a2d06a813d5a386c320118357b2625b\"</ETag></Part>"
    "</CompleteMultipartUpload>";

static void record(struct multipart *m, unsigned number)
{
    struct md5 *ctx = md5_new();
    uint8_t md5[MD5_LEN];

    md5_update(ctx, (const uint8_t *)part_data[number - 1], strlen(part_data[number - 1]));
    md5_final(ctx, md5);
    md5_free(ctx);
    multipart_done(m, number, md5);
}

/* every order in which three concurrent parts can finish */
static const unsigned finish_orders[][3] = {{1, 2, 3}, {1, 3, 2}, {2, 1, 3},
                                            {2, 3, 1}, {3, 1, 2}, {3, 2, 1}};

START_TEST(test_multipart_complete_body_any_finish_order)
{
    struct multipart *m = multipart_new();
    char etag[MULTIPART_ETAG_LEN];
    struct pitr_err err;
    struct buf body;

    buf_init(&body, 4096);
    ck_assert_uint_eq(multipart_next(m), 1);
    ck_assert_uint_eq(multipart_next(m), 2);
    ck_assert_uint_eq(multipart_next(m), 3);
    ck_assert_uint_eq(multipart_pending(m), 3);
    for (int i = 0; i < 3; i++) {
        record(m, finish_orders[_i][i]);
    }
    ck_assert_uint_eq(multipart_pending(m), 0);
    ck_assert_uint_eq(multipart_count(m), 3);
    ck_assert_int_eq(multipart_complete_body(m, &body, etag, &err), PITR_OK);
    ck_assert_str_eq((const char *)body.data, three_parts_body);
    ck_assert_str_eq(etag, "9c46b2a5c836d5b6fff429d90cae24cf-3");
    buf_fini(&body);
    multipart_free(m);
}
END_TEST

START_TEST(test_multipart_complete_body_one_part)
{
    struct multipart *m = multipart_new();
    char etag[MULTIPART_ETAG_LEN];
    struct pitr_err err;
    struct buf body;

    buf_init(&body, 4096);
    record(m, multipart_next(m));
    ck_assert_int_eq(multipart_complete_body(m, &body, etag, &err), PITR_OK);
    ck_assert_str_eq(etag, "a675974b8fb9bfea1d5007ce26896811-1");
    buf_fini(&body);
    multipart_free(m);
}
END_TEST

START_TEST(test_multipart_complete_body_refuses_missing_part)
{
    struct multipart *m = multipart_new();
    char etag[MULTIPART_ETAG_LEN] = "untouched";
    struct pitr_err err;
    struct buf body;

    buf_init(&body, 4096);
    ck_assert_int_eq(multipart_complete_body(m, &body, etag, &err), PITR_INTERNAL);
    ck_assert_str_eq(err.msg, "could not complete a multipart upload without parts");
    multipart_next(m);
    multipart_next(m);
    multipart_next(m);
    record(m, 3);
    record(m, 1);
    ck_assert_int_eq(multipart_complete_body(m, &body, etag, &err), PITR_INTERNAL);
    ck_assert_str_eq(err.msg, "could not complete a multipart upload: 1 of 3 parts not stored");
    ck_assert_str_eq(etag, "untouched");
    ck_assert_uint_eq(body.len, 0);
    buf_fini(&body);
    multipart_free(m);
}
END_TEST

START_TEST(test_multipart_complete_body_many_parts)
{
    struct multipart *m = multipart_new();
    char etag[MULTIPART_ETAG_LEN];
    uint8_t md5[MD5_LEN] = {0};
    struct pitr_err err;
    struct buf body;
    char tag[64];

    /* past the ledger's first growth, up to S3's limit of 10000 parts, finished back to front */
    buf_init(&body, 1024 * 1024);
    for (unsigned i = 1; i <= 10000; i++) {
        ck_assert_uint_eq(multipart_next(m), i);
    }
    for (unsigned i = 10000; i >= 1; i--) {
        md5[0] = (uint8_t)i;
        md5[1] = (uint8_t)(i >> 8);
        multipart_done(m, i, md5);
    }
    ck_assert_int_eq(multipart_complete_body(m, &body, etag, &err), PITR_OK);
    ck_assert_ptr_nonnull(strstr(etag, "-10000"));
    ck_assert_uint_eq(strlen(etag), 2 * MD5_LEN + 6);
    snprintf(tag, sizeof(tag), "<PartNumber>%u</PartNumber><ETag>\"%02x%02x", 10000u,
             (unsigned)(10000 & 0xff), (unsigned)(10000 >> 8));
    ck_assert_ptr_nonnull(strstr((const char *)body.data, tag));
    ck_assert_ptr_nonnull(
        strstr((const char *)body.data, "<PartNumber>9999</PartNumber><ETag>\"0f27"));
    ck_assert(strstr((const char *)body.data, "<PartNumber>9999<") <
              strstr((const char *)body.data, "<PartNumber>10000<"));
    buf_fini(&body);
    multipart_free(m);
}
END_TEST

START_TEST(test_multipart_complete_body_cap)
{
    struct multipart *m = multipart_new();
    char etag[MULTIPART_ETAG_LEN] = "untouched";
    struct pitr_err err;
    struct buf body;

    buf_init(&body, 100);
    record(m, multipart_next(m));
    ck_assert_int_eq(multipart_complete_body(m, &body, etag, &err), PITR_INTERNAL);
    ck_assert_str_eq(err.msg, "buffer limit of 100 bytes exceeded");
    ck_assert_str_eq(etag, "untouched");
    buf_fini(&body);
    multipart_free(m);
}
END_TEST

Suite *multipart_suite(void)
{
    Suite *s = suite_create("multipart");
    TCase *complete = tcase_create("multipart_complete_body");

    tcase_add_loop_test(complete, test_multipart_complete_body_any_finish_order, 0,
                        sizeof(finish_orders) / sizeof(finish_orders[0]));
    tcase_add_test(complete, test_multipart_complete_body_one_part);
    tcase_add_test(complete, test_multipart_complete_body_refuses_missing_part);
    tcase_add_test(complete, test_multipart_complete_body_many_parts);
    tcase_add_test(complete, test_multipart_complete_body_cap);
    suite_add_tcase(s, complete);
    return s;
}

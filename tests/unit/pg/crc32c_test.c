/* Tests for lib/pg/crc32c.c: published check values, and the fast path equal to the portable one
 * over every length and alignment, in one piece or continued. */
#include <check.h>
#include <string.h>

#include "pg/crc32c.h"
#include "support/testutil.h"

/* A bit-at-a-time reference, independent of both implementations under test. */
static uint32_t reference(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;

    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) {
            crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }
    }
    return crc ^ 0xFFFFFFFFu;
}

START_TEST(test_crc32c_check_values)
{
    uint8_t zeros[32] = {0};
    uint8_t ones[32];
    uint8_t inc[32];

    memset(ones, 0xFF, sizeof(ones));
    for (int i = 0; i < 32; i++) {
        inc[i] = (uint8_t)i;
    }
    /* "123456789" is the usual check value; the 32-byte ones are RFC 3720's (iSCSI) B.4. */
    ck_assert_uint_eq(crc32c((const uint8_t *)"123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(crc32c(zeros, sizeof(zeros)), 0x8A9136AAu);
    ck_assert_uint_eq(crc32c(ones, sizeof(ones)), 0x62A8AB43u);
    ck_assert_uint_eq(crc32c(inc, sizeof(inc)), 0x46DD794Eu);
    ck_assert_uint_eq(crc32c(NULL, 0), 0);
}
END_TEST

START_TEST(test_crc32c_paths_agree)
{
    uint8_t data[300];

    testutil_fill(data, sizeof(data), 7);
    for (size_t start = 0; start < 16; start++) {
        for (size_t len = 0; start + len <= sizeof(data); len += 1 + len / 8) {
            const uint8_t *p = data + start;
            uint32_t want = reference(p, len);
            uint32_t split = crc32c_update(CRC32C_INIT, p, len / 3);

            split = crc32c_update(split, p + len / 3, len - len / 3);
            ck_assert_uint_eq(crc32c(p, len), want);
            ck_assert_uint_eq(crc32c_update_portable(CRC32C_INIT, p, len) ^ CRC32C_XOROUT, want);
            ck_assert_uint_eq(split ^ CRC32C_XOROUT, want);
        }
    }
}
END_TEST

Suite *crc32c_suite(void)
{
    Suite *s = suite_create("crc32c");
    TCase *tc = tcase_create("crc32c");

    tcase_add_test(tc, test_crc32c_check_values);
    tcase_add_test(tc, test_crc32c_paths_agree);
    suite_add_tcase(s, tc);
    return s;
}

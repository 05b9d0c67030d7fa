/* Tests for lib/crypto: SHA-256 against the FIPS 180 vectors, key files, key derivation. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/strutil.h"
#include "crypto/key.h"
#include "crypto/sha256.h"
#include "support/testutil.h"

static void sha_hex(const uint8_t *data, size_t len, size_t chunk, char out[65])
{
    struct filter *f = sha256_filter_new();
    uint8_t digest[32];
    struct pitr_err err;

    for (size_t off = 0; off < len; off += chunk) {
        ck_assert_int_eq(filter_write(f, data + off, len - off < chunk ? len - off : chunk, &err),
                         PITR_OK);
    }
    ck_assert_int_eq(filter_finish(f, &err), PITR_OK);
    sha256_filter_digest(f, digest);
    str_hex_encode(digest, 32, out);
    filter_free(f);
}

START_TEST(test_sha256_filter_vectors)
{
    char hex[65];
    uint8_t *million = malloc(1000000);
    uint8_t digest[32];

    sha_hex((const uint8_t *)"", 0, 1, hex);
    ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha_hex((const uint8_t *)"abc", 3, 1, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    memset(million, 'a', 1000000);
    sha_hex(million, 1000000, 4099, hex);
    ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    sha256_buffer((const uint8_t *)"abc", 3, digest);
    str_hex_encode(digest, 32, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    free(million);
}
END_TEST

static const char *key_path(const char *name, const char *content, mode_t mode)
{
    static char path[512];

    snprintf(path, sizeof(path), "%s/%s", testutil_tmpdir(), name);
    testutil_write_file(path, content, strlen(content));
    chmod(path, mode);
    return path;
}

START_TEST(test_key_load_file)
{
    struct pitr_err err;
    struct key *a;
    struct key *b;
    uint8_t ida[8];
    uint8_t idb[8];
    const char *secret = "Vq3r8mXl0o2p9sT4uW6yZ1aB3cD5eF7gH9jK0lM2nP4qR6sT\n";

    a = key_load_file(key_path("k1", secret, 0600), &err);
    ck_assert_msg(a != NULL, "%s", err.msg);
    /* the same secret without the newline is the same key */
    b = key_load_file(key_path("k2", "Vq3r8mXl0o2p9sT4uW6yZ1aB3cD5eF7gH9jK0lM2nP4qR6sT", 0400),
                      &err);
    ck_assert_ptr_nonnull(b);
    key_id(a, ida);
    key_id(b, idb);
    ck_assert_mem_eq(ida, idb, 8);
    key_free(b);
    b = key_load_file(key_path("k3", "another secret that is long enough, 40 b", 0600), &err);
    ck_assert_ptr_nonnull(b);
    key_id(b, idb);
    ck_assert(memcmp(ida, idb, 8) != 0);
    key_free(b);
    key_free(a);

    ck_assert_ptr_null(key_load_file(key_path("open", secret, 0644), &err));
    ck_assert_int_eq(err.rc, PITR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "is accessible by other users: run chmod 600 on it"));
    ck_assert_ptr_null(key_load_file(key_path("short", "too short\n", 0600), &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "must hold at least 32 bytes"));
    ck_assert_ptr_null(strstr(err.msg, "too short"));
    ck_assert_ptr_null(key_load_file("/nonexistent/key", &err));
    ck_assert_ptr_nonnull(
        strstr(err.msg, "could not open encryption_key_file \"/nonexistent/key\""));
}
END_TEST

START_TEST(test_key_derive_object)
{
    struct pitr_err err;
    const uint8_t secret[] = "0123456789abcdef0123456789abcdef";
    struct key *k = key_from_secret(secret, 32, &err);
    uint8_t s1[16] = {1};
    uint8_t s2[16] = {2};
    uint8_t k1[32];
    uint8_t k1b[32];
    uint8_t k2[32];
    uint8_t r1[16];
    uint8_t r2[16];

    key_derive_object(k, s1, k1);
    key_derive_object(k, s1, k1b);
    key_derive_object(k, s2, k2);
    ck_assert_mem_eq(k1, k1b, 32);
    ck_assert(memcmp(k1, k2, 32) != 0);
    ck_assert_int_eq(key_random(r1, 16, &err), PITR_OK);
    ck_assert_int_eq(key_random(r2, 16, &err), PITR_OK);
    ck_assert(memcmp(r1, r2, 16) != 0);
    key_free(k);
}
END_TEST

Suite *crypto_suite(void)
{
    Suite *s = suite_create("crypto");
    TCase *tc = tcase_create("crypto");

    tcase_add_checked_fixture(tc, testutil_tmpdir_setup, testutil_tmpdir_teardown);
    tcase_add_test(tc, test_sha256_filter_vectors);
    tcase_add_test(tc, test_key_load_file);
    tcase_add_test(tc, test_key_derive_object);
    suite_add_tcase(s, tc);
    return s;
}

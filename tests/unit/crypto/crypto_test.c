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
    b = key_load_file(
        key_path("k3", "010e1b2835424f5c697683909daab7c4d1deebf805121f2c394653606d7a8794", 0600),
        &err);
    ck_assert_msg(b != NULL, "%s", err.msg);
    key_id(b, idb);
    ck_assert(memcmp(ida, idb, 8) != 0);
    key_free(b);
    key_free(a);

    ck_assert_ptr_null(key_load_file(key_path("open", secret, 0644), &err));
    ck_assert_int_eq(err.rc, PITR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "is accessible by other users: run chmod 600 on it"));
    ck_assert_ptr_null(key_load_file(key_path("short", "tooshort\n", 0600), &err));
    ck_assert_int_eq(err.rc, PITR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "fewer than 32 bytes of key material"));
    ck_assert_ptr_null(strstr(err.msg, "tooshort"));
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
    /* subkeys by purpose: the same purpose and salt give the same key, anything else another */
    key_derive(k, NULL, 0, "pitr catalog line v1", k1);
    key_derive(k, NULL, 0, "pitr catalog line v1", k1b);
    ck_assert_mem_eq(k1, k1b, 32);
    key_derive(k, NULL, 0, "pitr catalog line v2", k2);
    ck_assert(memcmp(k1, k2, 32) != 0);
    key_derive(k, s1, sizeof(s1), "pitr catalog line v1", k2);
    ck_assert(memcmp(k1, k2, 32) != 0);
    key_derive_object(k, s1, k1);
    key_derive(k, s1, sizeof(s1), "pitr object binding v2", k2);
    ck_assert(memcmp(k1, k2, 32) != 0);
    ck_assert_int_eq(key_random(r1, 16, &err), PITR_OK);
    ck_assert_int_eq(key_random(r2, 16, &err), PITR_OK);
    ck_assert(memcmp(r1, r2, 16) != 0);
    key_free(k);
}
END_TEST

/* A key file's bytes (len of them) and whether key_load_file accepts them. */
enum material { MATERIAL_OK, MATERIAL_SHORT, MATERIAL_PASSPHRASE };

static const struct {
    const char *what;
    const char *content;
    size_t len; /* 0: strlen(content) */
    enum material want;
} materials[] = {
    {"base64 of 48 bytes (openssl rand -base64 48)",
     "BzxxptsQRXqv5BlOg7jtIleMwfYrYJXK/zRpntMIPXKn3BFGe7DlGk+Eue4jWI3C\n", 0, MATERIAL_OK},
    {"base64 of 64 bytes on two lines",
     "AyA9WneUsc7rCCVCX3yZttPwDSpHZIGeu9j1Ei9MaYajwN36FzRRbouoxeL/HDlW\n"
     "c5CtyucEIT5beJWyz+wJJg==\n",
     0, MATERIAL_OK},
    {"base64 of 32 bytes, padded", "BS5XgKnS+yRNdp/I8RpDbJW+5xA5You03QYvWIGq0/w=\n", 0,
     MATERIAL_OK},
    {"base64 of 24 bytes", "BS5XgKnS+yRNdp/I8RpDbJW+5xA5You0\n", 0, MATERIAL_SHORT},
    {"64 hex digits (openssl rand -hex 32)",
     "010e1b2835424f5c697683909daab7c4d1deebf805121f2c394653606d7a8794\n", 0, MATERIAL_OK},
    {"64 hex digits in capitals, no newline",
     "010E1B2835424F5C697683909DAAB7C4D1DEEBF805121F2C394653606D7A8794", 0, MATERIAL_OK},
    {"62 hex digits", "010e1b2835424f5c697683909daab7c4d1deebf805121f2c394653606d7a87\n", 0,
     MATERIAL_SHORT},
    {"a 40-character passphrase with spaces", "my dog Rex was born in 2019, I love him!", 0,
     MATERIAL_PASSPHRASE},
    {"a long passphrase with punctuation",
     "Tr0ub4dor&3 is not a good password, and neither is this one: it is typed.\n", 0,
     MATERIAL_PASSPHRASE},
    {"an empty file", "", 0, MATERIAL_SHORT},
    {"a newline alone", "\n", 0, MATERIAL_SHORT},
    {"20 random bytes",
     "\x8f\x02\xd1\x7a\x00\xee\x13\x9c\x41\xb5\x06\xfa\x38\x7d\xc2\x01\x99\x5e"
     "\xa4\x10",
     20, MATERIAL_SHORT},
    {"32 random bytes",
     "\x8f\x02\xd1\x7a\x00\xee\x13\x9c\x41\xb5\x06\xfa\x38\x7d\xc2\x01\x99\x5e"
     "\xa4\x10\x6b\xcc\x27\x83\xf0\x1d\x55\xe9\x02\xb7\x4a\x91",
     32, MATERIAL_OK},
};

/* Key material: base64 and hex text count decoded, binary as it is, a typed passphrase never. */
START_TEST(test_key_load_file_material)
{
    char path[512];
    char want[1024];
    size_t len = materials[_i].len ? materials[_i].len : strlen(materials[_i].content);
    struct pitr_err err;
    struct key *k;

    snprintf(path, sizeof(path), "%s/key", testutil_tmpdir());
    testutil_write_file(path, materials[_i].content, len);
    chmod(path, 0600);
    k = key_load_file(path, &err);
    if (materials[_i].want == MATERIAL_OK) {
        ck_assert_msg(k != NULL, "%s: %s", materials[_i].what, err.msg);
        key_free(k);
        return;
    }
    ck_assert_msg(k == NULL, "%s was accepted", materials[_i].what);
    snprintf(want, sizeof(want),
             "encryption_key_file \"%s\" %s: make a random key with \"openssl rand -base64 48 > "
             "FILE\" (and keep a copy of it elsewhere)",
             path,
             materials[_i].want == MATERIAL_SHORT ? "holds fewer than 32 bytes of key material"
                                                  : "looks like a typed passphrase, not a key");
    ck_assert_int_eq(err.rc, PITR_CONFIG);
    ck_assert_str_eq(err.msg, want);
}
END_TEST

/* The content of a key file is the key as it is: hex and base64 are not decoded first, so files
 * written before the material rules keep their key (and their key id). */
START_TEST(test_key_load_file_same_key_as_secret)
{
    static const char hex[] = "010e1b2835424f5c697683909daab7c4d1deebf805121f2c394653606d7a8794";
    struct pitr_err err;
    struct key *file = key_load_file(key_path("k",
                                              "010e1b2835424f5c697683909daab7c4d1deebf805121f"
                                              "2c394653606d7a8794\n",
                                              0600),
                                     &err);
    struct key *secret = key_from_secret((const uint8_t *)hex, strlen(hex), &err);
    uint8_t a[KEY_ID_LEN];
    uint8_t b[KEY_ID_LEN];

    ck_assert_ptr_nonnull(file);
    ck_assert_ptr_nonnull(secret);
    key_id(file, a);
    key_id(secret, b);
    ck_assert_mem_eq(a, b, KEY_ID_LEN);
    key_free(file);
    key_free(secret);
}
END_TEST

static struct key *key_of(const char *secret)
{
    struct pitr_err err;
    struct key *k = key_from_secret((const uint8_t *)secret, strlen(secret), &err);

    ck_assert_msg(k != NULL, "%s", err.msg);
    return k;
}

/* A ring is the current key and then the old ones, in the order they were added; each is found
 * by its id; a key already in the ring is refused (and freed: the ring took it). */
START_TEST(test_key_ring_add_find)
{
    struct key *ring = key_of("0123456789abcdef0123456789abcdef-current");
    const struct key *old1;
    const struct key *old2;
    uint8_t ids[3][KEY_ID_LEN];
    uint8_t unknown[KEY_ID_LEN] = {0};
    char hex[2 * KEY_ID_LEN + 1];
    char want[256];
    struct pitr_err err;

    ck_assert_ptr_null(key_ring_next(ring));
    ck_assert_int_eq(key_ring_add(ring, key_of("0123456789abcdef0123456789abcdef-old-1"), &err),
                     PITR_OK);
    ck_assert_int_eq(key_ring_add(ring, key_of("0123456789abcdef0123456789abcdef-old-2"), &err),
                     PITR_OK);
    old1 = key_ring_next(ring);
    ck_assert_ptr_nonnull(old1);
    old2 = key_ring_next(old1);
    ck_assert_ptr_nonnull(old2);
    ck_assert_ptr_null(key_ring_next(old2));
    key_id(ring, ids[0]);
    key_id(old1, ids[1]);
    key_id(old2, ids[2]);
    ck_assert(memcmp(ids[0], ids[1], KEY_ID_LEN) != 0);
    ck_assert(memcmp(ids[1], ids[2], KEY_ID_LEN) != 0);
    ck_assert_ptr_eq(key_ring_find(ring, ids[0]), ring);
    ck_assert_ptr_eq(key_ring_find(ring, ids[1]), old1);
    ck_assert_ptr_eq(key_ring_find(ring, ids[2]), old2);
    ck_assert_ptr_null(key_ring_find(ring, unknown));
    ck_assert_ptr_null(key_ring_find(old1, ids[0])); /* a ring is searched from where it starts */

    /* the same key twice, as the current key or as an old one */
    str_hex_encode(ids[0], KEY_ID_LEN, hex);
    snprintf(want, sizeof(want),
             "the key with id %s is configured twice (encryption_key_file and "
             "encryption_old_key_files): list each key once",
             hex);
    ck_assert_int_eq(key_ring_add(ring, key_of("0123456789abcdef0123456789abcdef-current"), &err),
                     PITR_CONFIG);
    ck_assert_str_eq(err.msg, want);
    str_hex_encode(ids[2], KEY_ID_LEN, hex);
    ck_assert_int_eq(key_ring_add(ring, key_of("0123456789abcdef0123456789abcdef-old-2"), &err),
                     PITR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, hex));
    ck_assert_ptr_null(key_ring_next(old2)); /* nothing was added */
    key_free(ring);
}
END_TEST

Suite *crypto_suite(void)
{
    Suite *s = suite_create("crypto");
    TCase *tc = tcase_create("crypto");
    TCase *tc_material = tcase_create("key_load_file_material");
    TCase *tc_ring = tcase_create("key_ring");

    tcase_add_checked_fixture(tc, testutil_tmpdir_setup, testutil_tmpdir_teardown);
    tcase_add_test(tc, test_sha256_filter_vectors);
    tcase_add_test(tc, test_key_load_file);
    tcase_add_test(tc, test_key_derive_object);
    suite_add_tcase(s, tc);

    tcase_add_checked_fixture(tc_material, testutil_tmpdir_setup, testutil_tmpdir_teardown);
    tcase_add_loop_test(tc_material, test_key_load_file_material, 0,
                        (int)(sizeof(materials) / sizeof(materials[0])));
    tcase_add_test(tc_material, test_key_load_file_same_key_as_secret);
    suite_add_tcase(s, tc_material);
    tcase_add_test(tc_ring, test_key_ring_add_find);
    suite_add_tcase(s, tc_ring);
    return s;
}

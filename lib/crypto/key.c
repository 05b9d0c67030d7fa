/* key: HKDF-SHA256 (OpenSSL EVP_KDF) turns any long secret into a master key; objects get their
 * own subkeys from a random salt stored in their header. */
#include "crypto/key.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/xalloc.h"

enum { KEY_FILE_MAX = 4096 };

struct key {
    uint8_t master[KEY_LEN];
    uint8_t id[KEY_ID_LEN];
};

static void hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
                 const char *info, uint8_t *out, size_t out_len)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[5];
    int ok;

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
    params[4] = OSSL_PARAM_construct_end();
    ok = ctx != NULL && EVP_KDF_derive(ctx, out, out_len, params) == 1;
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    if (!ok) {
        fprintf(stderr, "pitr: OpenSSL HKDF failed\n"); /* only a broken OpenSSL gets here */
        abort();
    }
}

struct key *key_from_secret(const uint8_t *secret, size_t len, struct pitr_err *err)
{
    static const uint8_t salt[] = "pitr";
    struct key *k;

    if (len < KEY_MIN_SECRET) {
        err_set(err, PITR_CONFIG, "encryption key must hold at least %d bytes of secret",
                KEY_MIN_SECRET);
        return NULL;
    }
    k = xcalloc(1, sizeof(*k));
    hkdf(secret, len, salt, 4, "pitr master key v1", k->master, KEY_LEN);
    hkdf(secret, len, salt, 4, "pitr key id v1", k->id, KEY_ID_LEN);
    return k;
}

struct key *key_load_file(const char *path, struct pitr_err *err)
{
    uint8_t secret[KEY_FILE_MAX + 1];
    size_t len = 0;
    struct stat st;
    struct key *k = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        err_sys(err, PITR_CONFIG, "could not open encryption_key_file \"%s\"", path);
        return NULL;
    }
    if (fstat(fd, &st) != 0) {
        err_sys(err, PITR_CONFIG, "could not stat encryption_key_file \"%s\"", path);
    } else if ((st.st_mode & 077) != 0) {
        err_set(err, PITR_CONFIG,
                "encryption_key_file \"%s\" is accessible by other users: run chmod 600 on it",
                path);
    } else if (fs_read_full(fd, secret, sizeof(secret), &len, path, err) != PITR_OK) {
        err->rc = PITR_CONFIG;
    } else if (len > KEY_FILE_MAX) {
        err_set(err, PITR_CONFIG, "encryption_key_file \"%s\" is larger than %d bytes", path,
                KEY_FILE_MAX);
    } else {
        while (len > 0 && (secret[len - 1] == '\n' || secret[len - 1] == '\r')) {
            len--;
        }
        k = key_from_secret(secret, len, err);
        if (k == NULL) {
            err_prefix(err, "encryption_key_file \"%s\"", path);
        }
    }
    explicit_bzero(secret, sizeof(secret));
    close(fd);
    return k;
}

void key_id(const struct key *k, uint8_t out[KEY_ID_LEN])
{
    memcpy(out, k->id, KEY_ID_LEN);
}

void key_derive_object(const struct key *k, const uint8_t salt[KEY_SALT_LEN], uint8_t out[KEY_LEN])
{
    hkdf(k->master, KEY_LEN, salt, KEY_SALT_LEN, "pitr object v1", out, KEY_LEN);
}

enum pitr_rc key_random(uint8_t *out, size_t len, struct pitr_err *err)
{
    if (RAND_bytes(out, (int)len) != 1) {
        return err_set(err, PITR_INTERNAL, "could not get random bytes from OpenSSL");
    }
    return PITR_OK;
}

void key_free(struct key *k)
{
    if (k != NULL) {
        explicit_bzero(k, sizeof(*k));
        free(k);
    }
}

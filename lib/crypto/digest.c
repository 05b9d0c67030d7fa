/* digest: thin wrappers so that OpenSSL stays inside lib/crypto. */
#include "crypto/digest.h"

#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/xalloc.h"

static void must(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "pitr: OpenSSL %s failed\n", what); /* a broken OpenSSL, not input */
        abort();
    }
}

void hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
                 uint8_t out[HMAC_SHA256_LEN])
{
    unsigned int n = 0;

    /* OpenSSL's HMAC() reads key and data before writing out, so out may alias key */
    must(HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n) != NULL && n == HMAC_SHA256_LEN,
         "HMAC-SHA256");
}

bool digest_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

struct md5 {
    EVP_MD_CTX *ctx;
};

struct md5 *md5_new(void)
{
    struct md5 *m = xmalloc(sizeof(*m));

    m->ctx = EVP_MD_CTX_new();
    must(m->ctx != NULL && EVP_DigestInit_ex(m->ctx, EVP_md5(), NULL), "MD5 init");
    return m;
}

void md5_update(struct md5 *m, const uint8_t *data, size_t len)
{
    must(EVP_DigestUpdate(m->ctx, data, len), "MD5 update");
}

void md5_final(struct md5 *m, uint8_t out[MD5_LEN])
{
    unsigned int n = 0;

    must(EVP_DigestFinal_ex(m->ctx, out, &n) && n == MD5_LEN, "MD5 final");
    must(EVP_DigestInit_ex(m->ctx, EVP_md5(), NULL), "MD5 init");
}

void md5_free(struct md5 *m)
{
    if (m != NULL) {
        EVP_MD_CTX_free(m->ctx);
        free(m);
    }
}

void base64_encode(const uint8_t *data, size_t len, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
}

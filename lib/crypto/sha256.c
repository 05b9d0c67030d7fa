/* sha256: EVP digest as a pass-through stage. */
#include "crypto/sha256.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "stream/filter_int.h"

struct sha256_filter {
    struct filter base;
    EVP_MD_CTX *ctx;
    uint8_t digest[SHA256_LEN];
};

static void must(int ok, const char *what)
{
    if (!ok) {
        /* EVP digest calls fail only when OpenSSL itself is broken: a programmer error. */
        fprintf(stderr, "pitr: OpenSSL %s failed\n", what);
        abort();
    }
}

static enum pitr_rc sha_write(struct filter *f, const uint8_t *data, size_t len,
                              struct pitr_err *err)
{
    struct sha256_filter *s = (struct sha256_filter *)f;

    must(EVP_DigestUpdate(s->ctx, data, len), "SHA-256 update");
    return filter_emit(f, data, len, err);
}

static enum pitr_rc sha_finish(struct filter *f, struct pitr_err *err)
{
    struct sha256_filter *s = (struct sha256_filter *)f;
    unsigned int n = 0;

    must(EVP_DigestFinal_ex(s->ctx, s->digest, &n) && n == SHA256_LEN, "SHA-256 final");
    return filter_finish_next(f, err);
}

static void sha_free(struct filter *f)
{
    struct sha256_filter *s = (struct sha256_filter *)f;

    EVP_MD_CTX_free(s->ctx);
    free(s);
}

static const struct filter_ops sha_ops = {"sha256", sha_write, sha_finish, sha_free};

struct filter *sha256_filter_new(void)
{
    struct sha256_filter *s = xcalloc(1, sizeof(*s));

    filter_init(&s->base, &sha_ops);
    s->ctx = EVP_MD_CTX_new();
    must(s->ctx != NULL && EVP_DigestInit_ex(s->ctx, EVP_sha256(), NULL), "SHA-256 init");
    return &s->base;
}

void sha256_filter_digest(const struct filter *f, uint8_t out[SHA256_LEN])
{
    memcpy(out, ((const struct sha256_filter *)f)->digest, SHA256_LEN);
}

void sha256_buffer(const uint8_t *data, size_t len, uint8_t out[SHA256_LEN])
{
    unsigned int n = 0;

    must(EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) && n == SHA256_LEN, "SHA-256");
}

/* aead: both directions hold back one chunk, because only finish tells which chunk is the last
 * one, and the last one is sealed differently (the flag in its nonce). */
#include "crypto/aead.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "stream/filter_int.h"

enum { NONCE_LEN = 12, SEALED_CHUNK = AEAD_CHUNK + AEAD_TAG_LEN };

struct aead {
    struct filter base;
    bool encrypt;
    EVP_CIPHER_CTX *ctx;
    uint8_t key[KEY_LEN];
    uint8_t aad[AEAD_MAX_AAD];
    size_t aad_len;
    uint64_t counter;
    uint8_t *in; /* pending input: plaintext (encrypt) or sealed chunk (decrypt) */
    size_t in_len;
    uint8_t *out; /* one sealed or opened chunk */
    char *name;
};

static void make_nonce(uint64_t counter, bool last, uint8_t nonce[NONCE_LEN])
{
    memset(nonce, 0, NONCE_LEN);
    for (int i = 0; i < 8; i++) {
        nonce[10 - i] = (uint8_t)(counter >> (8 * i));
    }
    nonce[11] = last ? 1 : 0;
}

static void must(int ok)
{
    if (!ok) {
        fprintf(stderr, "pitr: OpenSSL AES-256-GCM call failed\n");
        abort();
    }
}

static enum pitr_rc seal(struct aead *a, bool last, struct pitr_err *err)
{
    uint8_t nonce[NONCE_LEN];
    int n = 0;
    int fin = 0;

    make_nonce(a->counter++, last, nonce);
    must(EVP_EncryptInit_ex(a->ctx, NULL, NULL, a->key, nonce));
    must(EVP_EncryptUpdate(a->ctx, NULL, &n, a->aad, (int)a->aad_len));
    must(EVP_EncryptUpdate(a->ctx, a->out, &n, a->in, (int)a->in_len));
    must(EVP_EncryptFinal_ex(a->ctx, a->out + n, &fin));
    must(EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_GCM_GET_TAG, AEAD_TAG_LEN, a->out + a->in_len));
    n = (int)a->in_len;
    a->in_len = 0;
    return filter_emit(&a->base, a->out, (size_t)n + AEAD_TAG_LEN, err);
}

static enum pitr_rc open_chunk(struct aead *a, bool last, struct pitr_err *err)
{
    uint8_t nonce[NONCE_LEN];
    size_t plain_len;
    int n = 0;
    int fin = 0;

    if (a->in_len < AEAD_TAG_LEN) {
        return err_set(err, PITR_CORRUPT, "object \"%s\" is corrupt: encrypted data is truncated",
                       a->name);
    }
    plain_len = a->in_len - AEAD_TAG_LEN;
    make_nonce(a->counter++, last, nonce);
    must(EVP_DecryptInit_ex(a->ctx, NULL, NULL, a->key, nonce));
    must(EVP_DecryptUpdate(a->ctx, NULL, &n, a->aad, (int)a->aad_len));
    must(EVP_DecryptUpdate(a->ctx, a->out, &n, a->in, (int)plain_len));
    must(EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_GCM_SET_TAG, AEAD_TAG_LEN, a->in + plain_len));
    if (EVP_DecryptFinal_ex(a->ctx, a->out + n, &fin) != 1) {
        return err_set(err, PITR_CORRUPT,
                       "object \"%s\" is corrupt: authentication of encrypted chunk %llu failed "
                       "(tampered, truncated or damaged)",
                       a->name, (unsigned long long)(a->counter - 1));
    }
    a->in_len = 0;
    return filter_emit(&a->base, a->out, plain_len, err);
}

static enum pitr_rc aead_write(struct filter *f, const uint8_t *data, size_t len,
                               struct pitr_err *err)
{
    struct aead *a = (struct aead *)f;
    size_t cap = a->encrypt ? AEAD_CHUNK : SEALED_CHUNK;

    while (len > 0) {
        size_t take;
        enum pitr_rc rc;

        if (a->in_len == cap) {
            /* more data follows, so the buffered chunk is not the last one */
            rc = a->encrypt ? seal(a, false, err) : open_chunk(a, false, err);
            if (rc != PITR_OK) {
                return rc;
            }
        }
        take = cap - a->in_len < len ? cap - a->in_len : len;
        memcpy(a->in + a->in_len, data, take);
        a->in_len += take;
        data += take;
        len -= take;
    }
    return PITR_OK;
}

static enum pitr_rc aead_finish(struct filter *f, struct pitr_err *err)
{
    struct aead *a = (struct aead *)f;
    enum pitr_rc rc = a->encrypt ? seal(a, true, err) : open_chunk(a, true, err);

    return rc != PITR_OK ? rc : filter_finish_next(f, err);
}

static void aead_free(struct filter *f)
{
    struct aead *a = (struct aead *)f;

    EVP_CIPHER_CTX_free(a->ctx);
    explicit_bzero(a->key, sizeof(a->key));
    if (a->in != NULL) {
        explicit_bzero(a->in, SEALED_CHUNK);
    }
    free(a->in);
    free(a->out);
    free(a->name);
    free(a);
}

static const struct filter_ops encrypt_ops = {"aes-256-gcm-encrypt", aead_write, aead_finish,
                                              aead_free};
static const struct filter_ops decrypt_ops = {"aes-256-gcm-decrypt", aead_write, aead_finish,
                                              aead_free};

static struct filter *aead_new(bool encrypt, const uint8_t key[KEY_LEN], const uint8_t *aad,
                               size_t aad_len, const char *name)
{
    struct aead *a = xcalloc(1, sizeof(*a));

    if (aad_len > AEAD_MAX_AAD) {
        fprintf(stderr, "pitr: AAD of %zu bytes is too long\n", aad_len); /* programmer error */
        abort();
    }
    filter_init(&a->base, encrypt ? &encrypt_ops : &decrypt_ops);
    a->encrypt = encrypt;
    memcpy(a->key, key, KEY_LEN);
    memcpy(a->aad, aad, aad_len);
    a->aad_len = aad_len;
    a->in = xmalloc(SEALED_CHUNK);
    a->out = xmalloc(SEALED_CHUNK);
    a->name = xstrdup(name);
    a->ctx = EVP_CIPHER_CTX_new();
    must(a->ctx != NULL);
    if (encrypt) {
        must(EVP_EncryptInit_ex(a->ctx, EVP_aes_256_gcm(), NULL, NULL, NULL));
    } else {
        must(EVP_DecryptInit_ex(a->ctx, EVP_aes_256_gcm(), NULL, NULL, NULL));
    }
    must(EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL));
    return &a->base;
}

struct filter *aead_encrypt_filter_new(const uint8_t key[KEY_LEN], const uint8_t *aad,
                                       size_t aad_len)
{
    return aead_new(true, key, aad, aad_len, "");
}

struct filter *aead_decrypt_filter_new(const uint8_t key[KEY_LEN], const uint8_t *aad,
                                       size_t aad_len, const char *name)
{
    return aead_new(false, key, aad, aad_len, name);
}

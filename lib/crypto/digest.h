/* digest: HMAC-SHA256 (SigV4 signing keys), incremental MD5 (S3 Content-MD5 and ETag checks) and
 * base64, through OpenSSL EVP so that OpenSSL stays inside lib/crypto. SHA-256 itself lives in
 * crypto/sha256.h (sha256_buffer, and the pipeline observer). These cannot fail on valid input;
 * a broken OpenSSL aborts with a message. */
#ifndef PITR_CRYPTO_DIGEST_H
#define PITR_CRYPTO_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { HMAC_SHA256_LEN = 32, MD5_LEN = 16 };

/* out = HMAC-SHA256(key, data); out may alias key (SigV4 chains keys that way). */
void hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
                 uint8_t out[HMAC_SHA256_LEN]);

/* Whether a and b (len bytes each) are equal, in time independent of where they differ: for
 * comparing authentication tags. */
bool digest_equal(const uint8_t *a, const uint8_t *b, size_t len);

/* An MD5 context; the caller frees it with md5_free (NULL is fine). */
struct md5;
struct md5 *md5_new(void);
void md5_update(struct md5 *m, const uint8_t *data, size_t len);
/* Writes the digest and resets m for the next message. */
void md5_final(struct md5 *m, uint8_t out[MD5_LEN]);
void md5_free(struct md5 *m);

/* Writes base64 of len bytes and a NUL to out, which holds 4 * ceil(len / 3) + 1 bytes. */
void base64_encode(const uint8_t *data, size_t len, char *out);

#endif

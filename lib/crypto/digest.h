/* digest: one-shot HMAC-SHA256 and incremental MD5 (Content-MD5 for S3) through OpenSSL EVP. */
#ifndef PITR_CRYPTO_DIGEST_H
#define PITR_CRYPTO_DIGEST_H

#include <stddef.h>
#include <stdint.h>

enum { HMAC_SHA256_LEN = 32, MD5_LEN = 16 };

void hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
                 uint8_t out[HMAC_SHA256_LEN]);

struct md5;
struct md5 *md5_new(void);
void md5_update(struct md5 *m, const uint8_t *data, size_t len);
/* Writes the digest and resets m for the next message. */
void md5_final(struct md5 *m, uint8_t out[MD5_LEN]);
void md5_free(struct md5 *m);

/* Base64 of len bytes into out (which holds 4*ceil(len/3)+1 bytes). */
void base64_encode(const uint8_t *data, size_t len, char *out);

#endif

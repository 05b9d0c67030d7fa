/* sha256: a pipeline observer computing SHA-256 of what passes through (OpenSSL EVP, so SHA-NI
 * is used where the CPU has it). */
#ifndef PITR_CRYPTO_SHA256_H
#define PITR_CRYPTO_SHA256_H

#include <stdint.h>

#include "stream/filter.h"

enum { SHA256_LEN = 32 };

/* A new observer stage, owned by the caller or a pipeline. */
struct filter *sha256_filter_new(void);
/* The same stage hashing on a worker thread while the stages after it process the same bytes on
 * the caller's thread; write still returns only once the chunk is hashed, so callers may reuse
 * their buffer as usual. Pays off for large streams (a WAL segment) on a machine with 2+ cores. */
struct filter *sha256_filter_new_parallel(void);
/* The digest; valid once the stage has finished. */
void sha256_filter_digest(const struct filter *f, uint8_t out[SHA256_LEN]);
/* One-shot digest of a buffer. */
void sha256_buffer(const uint8_t *data, size_t len, uint8_t out[SHA256_LEN]);

#endif

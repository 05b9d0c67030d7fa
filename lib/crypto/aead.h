/* aead: AES-256-GCM in 64 KiB chunks, each sealed with its own tag; the nonce is the chunk counter
 * and a "last chunk" flag, so reordering, dropping, truncating (even at a chunk boundary) or
 * appending are all detected while streaming. Every chunk also authenticates the caller's AAD
 * (the object header). */
#ifndef PITR_CRYPTO_AEAD_H
#define PITR_CRYPTO_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/key.h"
#include "stream/filter.h"

enum { AEAD_CHUNK = 64 * 1024, AEAD_TAG_LEN = 16, AEAD_MAX_AAD = 64 };

/* Stages that encrypt / decrypt with the 32-byte key; key and aad are copied. `name` (copied)
 * names the object in errors. */
struct filter *aead_encrypt_filter_new(const uint8_t key[KEY_LEN], const uint8_t *aad,
                                       size_t aad_len);
struct filter *aead_decrypt_filter_new(const uint8_t key[KEY_LEN], const uint8_t *aad,
                                       size_t aad_len, const char *name);

#endif

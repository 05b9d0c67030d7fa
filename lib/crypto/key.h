/* key: the encryption key, loaded from encryption_key_file. The file's content is never kept or
 * printed: a master key and a key id are derived from it with HKDF-SHA256 and the rest wiped. */
#ifndef PITR_CRYPTO_KEY_H
#define PITR_CRYPTO_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum { KEY_LEN = 32, KEY_ID_LEN = 8, KEY_SALT_LEN = 16, KEY_MIN_SECRET = 32 };

struct key;

/* Loads a key file: it must be mode 0600 or stricter and hold at least KEY_MIN_SECRET bytes
 * (a trailing newline is ignored). The caller frees the result with key_free. NULL and err on
 * failure (PITR_CONFIG). */
struct key *key_load_file(const char *path, struct pitr_err *err);
/* Builds a key from secret bytes directly (tests, tools). */
struct key *key_from_secret(const uint8_t *secret, size_t len, struct pitr_err *err);
/* The 8-byte id stored in every encrypted object's header: it tells a wrong key from damage. */
void key_id(const struct key *k, uint8_t out[KEY_ID_LEN]);
/* Derives the per-object key for the given salt, so no (key, nonce) pair repeats across objects. */
void key_derive_object(const struct key *k, const uint8_t salt[KEY_SALT_LEN], uint8_t out[KEY_LEN]);
/* Fills out with cryptographically random bytes. */
enum pitr_rc key_random(uint8_t *out, size_t len, struct pitr_err *err) PITR_MUST_CHECK;
/* Wipes and frees (NULL is fine). */
void key_free(struct key *k);

#endif

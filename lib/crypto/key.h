/* key: the encryption keys, loaded from encryption_key_file (the current key, which writes) and
 * encryption_old_key_files (rotated-out keys, which only read). A struct key is the head of that
 * ring: readers pick the key named by an object's key id. A file's content is never kept or
 * printed: a master key and a key id are derived from it with HKDF-SHA256 and the rest wiped. */
#ifndef PITR_CRYPTO_KEY_H
#define PITR_CRYPTO_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum { KEY_LEN = 32, KEY_ID_LEN = 8, KEY_SALT_LEN = 16, KEY_MIN_SECRET = 32 };

struct key;

/* Loads a key file: it must be mode 0600 or stricter and hold at least KEY_MIN_SECRET bytes of key
 * material: base64 or hex text is counted decoded, other text (a typed passphrase) is refused,
 * binary counts as it is. The key is derived from the file's bytes as they are (a trailing
 * newline ignored), so files written by earlier versions keep their key. The caller frees the
 * result with key_free. NULL and err on failure (PITR_CONFIG). */
struct key *key_load_file(const char *path, struct pitr_err *err);
/* Appends old (ownership taken) to ring as a key that reads but never writes; PITR_CONFIG when
 * its id is already in the ring (the same key twice). */
enum pitr_rc key_ring_add(struct key *ring, struct key *old, struct pitr_err *err) PITR_MUST_CHECK;
/* The key of the ring whose id is `id`, or NULL. */
const struct key *key_ring_find(const struct key *ring, const uint8_t id[KEY_ID_LEN]);
/* The next (older) key of the ring after k, or NULL: for walking every key. */
const struct key *key_ring_next(const struct key *k);
/* Builds a key from secret bytes directly (tests, tools). */
struct key *key_from_secret(const uint8_t *secret, size_t len, struct pitr_err *err);
/* The 8-byte id stored in every encrypted object's header: it tells a wrong key from damage. */
void key_id(const struct key *k, uint8_t out[KEY_ID_LEN]);
/* Derives the per-object key for the given salt, so no (key, nonce) pair repeats across objects. */
void key_derive_object(const struct key *k, const uint8_t salt[KEY_SALT_LEN], uint8_t out[KEY_LEN]);
/* Derives a subkey for one purpose (info names it, e.g. "pitr catalog lines v1"), optionally for
 * one salt (NULL, 0: none). Different purposes give unrelated keys. */
void key_derive(const struct key *k, const uint8_t *salt, size_t salt_len, const char *info,
                uint8_t out[KEY_LEN]);
/* Fills out with cryptographically random bytes. */
enum pitr_rc key_random(uint8_t *out, size_t len, struct pitr_err *err) PITR_MUST_CHECK;
/* Wipes and frees the whole ring (NULL is fine). */
void key_free(struct key *k);

#endif

/* key: HKDF-SHA256 (OpenSSL EVP_KDF) turns any long secret into a master key; objects get their
 * own subkeys from a random salt stored in their header. */
#include "crypto/key.h"

#include <errno.h>
#include <stdbool.h>
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
#include "base/strutil.h"
#include "base/xalloc.h"

enum { KEY_FILE_MAX = 4096 };

struct key {
    uint8_t master[KEY_LEN];
    uint8_t id[KEY_ID_LEN];
    struct key *older; /* the next key of the ring (owned) */
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

/* Only line breaks: openssl writes base64 in lines, and spaces are what passphrases have. */
static bool is_space(uint8_t c)
{
    return c == '\n' || c == '\r';
}

static bool is_base64(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

static bool is_hex(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Bytes of key material in a key file's content: hex and base64 text (what `openssl rand`
 * writes) count decoded, binary as it is; -1 for other text, which is a typed passphrase: its
 * length says nothing of how hard it is to guess, and every object header's key id would let
 * anyone test guesses offline. */
static long key_material(const uint8_t *s, size_t len)
{
    size_t chars = 0;
    size_t hex = 0;
    size_t b64 = 0;
    size_t pad = 0;
    bool binary = false;

    for (size_t i = 0; i < len; i++) {
        if (is_space(s[i])) {
            continue;
        }
        chars++;
        binary = binary || s[i] < 0x20 || s[i] >= 0x7f;
        hex += is_hex(s[i]) && pad == 0;
        b64 += is_base64(s[i]) && pad == 0;
        pad += s[i] == '=';
    }
    if (binary) {
        return (long)len;
    }
    if (pad == 0 && hex == chars) {
        return (long)(hex / 2);
    }
    if (pad <= 2 && b64 + pad == chars && chars % 4 == 0) {
        return (long)(b64 * 6 / 8);
    }
    return -1;
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
        long material;

        while (len > 0 && (secret[len - 1] == '\n' || secret[len - 1] == '\r')) {
            len--;
        }
        material = key_material(secret, len);
        if (material < KEY_MIN_SECRET) {
            err_set(err, PITR_CONFIG,
                    "encryption_key_file \"%s\" %s: make a random key with \"openssl rand "
                    "-base64 48 > FILE\" (and keep a copy of it elsewhere)",
                    path,
                    material < 0 ? "looks like a typed passphrase, not a key"
                                 : "holds fewer than 32 bytes of key material");
        } else {
            k = key_from_secret(secret, len, err);
        }
        if (k == NULL && material >= KEY_MIN_SECRET) {
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

void key_derive(const struct key *k, const uint8_t *salt, size_t salt_len, const char *info,
                uint8_t out[KEY_LEN])
{
    /* OpenSSL's HKDF refuses a NULL salt even of length 0: an empty one is the same salt */
    hkdf(k->master, KEY_LEN, salt != NULL ? salt : (const uint8_t *)"", salt_len, info, out,
         KEY_LEN);
}

enum pitr_rc key_ring_add(struct key *ring, struct key *old, struct pitr_err *err)
{
    char hex[2 * KEY_ID_LEN + 1];

    if (key_ring_find(ring, old->id) != NULL) {
        str_hex_encode(old->id, KEY_ID_LEN, hex);
        key_free(old);
        return err_set(err, PITR_CONFIG,
                       "the key with id %s is configured twice (encryption_key_file and "
                       "encryption_old_key_files): list each key once",
                       hex);
    }
    while (ring->older != NULL) {
        ring = ring->older;
    }
    ring->older = old;
    return PITR_OK;
}

const struct key *key_ring_find(const struct key *ring, const uint8_t id[KEY_ID_LEN])
{
    for (const struct key *k = ring; k != NULL; k = k->older) {
        if (memcmp(k->id, id, KEY_ID_LEN) == 0) {
            return k;
        }
    }
    return NULL;
}

const struct key *key_ring_next(const struct key *k)
{
    return k->older;
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
    while (k != NULL) {
        struct key *older = k->older;

        explicit_bzero(k, sizeof(*k));
        free(k);
        k = older;
    }
}

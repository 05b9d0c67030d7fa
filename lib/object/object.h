/* object: the format of every object pitr stores, and the pipelines that write and read it.
 *
 *   object  = header (32 bytes, plain) [|| binding (32 bytes, encrypted objects)] || body
 *   header  = "PITR" | version (2) | compression | encryption | 0 | key id (8) | salt (16)
 *   binding = HMAC-SHA256 under a subkey of the object's salt of
 *             header || system identifier (u64, big-endian) || the object's repository key
 *   body    = inner, or AES-256-GCM chunks of inner (lib/crypto/aead.h) with header || binding
 *             as AAD
 *   inner   = compressed content || trailer
 *   trailer = content length (u64, big-endian) | SHA-256 of the content (32) | "PEND"
 *
 * The binding ties an encrypted object to the name it was written under and to its cluster: the
 * same bytes under another name, or in another cluster's folder, fail before any content is read,
 * and the first 64 bytes alone prove what an object is (object_check_prefix). Whether an object
 * must be encrypted is decided by the reader's configuration, never by the object's own header:
 * with a key, an unencrypted object is refused as unauthenticated.
 *
 * Version 1 (before the binding) is still read: unencrypted, or encrypted with the header alone as
 * AAD (authentic, but not bound to its name; WAL segments are checked by their page headers and
 * backup objects by their record's SHA-256). Writers always write version 2.
 *
 * The reader checks every part: magic, version, algorithms, key id, binding, authentication, one
 * complete compressed frame, and finally length and SHA-256 against the trailer. */
#ifndef PITR_OBJECT_OBJECT_H
#define PITR_OBJECT_OBJECT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/key.h"
#include "crypto/sha256.h"
#include "stream/filter.h"

enum object_compression {
    OBJECT_COMPRESS_NONE = 0,
    OBJECT_COMPRESS_LZ4 = 1,
    OBJECT_COMPRESS_ZSTD = 2,
};

enum { OBJECT_HEADER_LEN = 32, OBJECT_BINDING_LEN = 32, OBJECT_TRAILER_LEN = 44 };
/* Bytes that identify an object: its header and, when encrypted, its binding. */
enum { OBJECT_PREFIX_MAX = OBJECT_HEADER_LEN + OBJECT_BINDING_LEN };

struct object_opts {
    enum object_compression compression;
    int level;             /* 0: the codec's default */
    const struct key *key; /* NULL: not encrypted; the ring's current key writes; borrowed */
    bool parallel;         /* hash on a second thread: for large objects */
    /* The input is already one complete frame of `compression` (the server compressed it): it
     * is stored as it comes, and decompressed on a worker thread only to hash the content. */
    bool precompressed;
    /* Run the writer's stages on a worker thread, so the caller can produce meanwhile. */
    bool background;
    /* What an encrypted object is bound to: the repository key it is stored under (borrowed;
     * required with a key) and the system identifier of its cluster (0 for the repository's
     * cluster records, which are read before the identifier is known). */
    const char *name;
    uint64_t sysid;
};

struct object_summary {
    uint8_t sha256[SHA256_LEN]; /* of the content */
    uint64_t raw_size;          /* content bytes */
    uint64_t stored_size;       /* object bytes */
    unsigned version;           /* format version (reader only) */
    bool encrypted;             /* reader only */
    uint8_t key_id[KEY_ID_LEN]; /* the key it is encrypted with (reader only, when encrypted) */
};

struct object_writer;

/* A writer whose output goes to sink (ownership taken, even on failure). */
struct object_writer *object_writer_new(struct filter *sink, const struct object_opts *opts,
                                        struct pitr_err *err);
enum pitr_rc object_writer_write(struct object_writer *w, const uint8_t *data, size_t len,
                                 struct pitr_err *err) PITR_MUST_CHECK;
/* Completes the object and finishes the sink (which, for a storage writer, commits it); fills
 * *out (may be NULL) on success. */
enum pitr_rc object_writer_finish(struct object_writer *w, struct object_summary *out,
                                  struct pitr_err *err) PITR_MUST_CHECK;
/* Frees the writer and its sink (an unfinished storage writer leaves nothing behind). */
void object_writer_free(struct object_writer *w);

/* A stage to feed stored bytes into (e.g. the sink of storage_read): it writes the verified
 * content to out (borrowed) and finishes out only after every check passed. key is the ring of
 * configured keys (NULL: none, and then an encrypted object is an error; with keys, an
 * unencrypted one is); name (copied) is the object's repository key, which an encrypted object
 * must be bound to together with sysid, and names it in every error. Errors: PITR_CORRUPT for
 * damage of any kind, an unencrypted object under a key, or a binding to another name or cluster;
 * PITR_CONFIG for a missing key or a key that is not configured. */
struct filter *object_reader_new(struct filter *out, const struct key *key, uint64_t sysid,
                                 const char *name);
/* Valid after the reader finished successfully. */
void object_reader_summary(const struct filter *reader, struct object_summary *out);

/* Checks what an object's first bytes (prefix, len of them: at least OBJECT_PREFIX_MAX unless the
 * object is shorter) say it is, as the reader would before any content: the same errors, without
 * reading the body. Fills *out's version, encrypted and key_id (may be NULL). */
enum pitr_rc object_check_prefix(const uint8_t *prefix, size_t len, const struct key *key,
                                 uint64_t sysid, const char *name, struct object_summary *out,
                                 struct pitr_err *err) PITR_MUST_CHECK;

/* Parses "none", "lz4", "zstd" or "zstd:N" (N from 1 to 19). */
enum pitr_rc object_compression_parse(const char *s, enum object_compression *out, int *level,
                                      struct pitr_err *err) PITR_MUST_CHECK;

#endif

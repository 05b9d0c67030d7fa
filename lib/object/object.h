/* object: the format of every object pitr stores, and the pipelines that write and read it.
 *
 *   object  = header (32 bytes, plain) || body
 *   header  = "PITR" | version (1) | compression | encryption | 0 | key id (8) | salt (16)
 *   body    = inner, or AES-256-GCM chunks of inner (lib/crypto/aead.h) with the header as AAD
 *   inner   = compressed content || trailer
 *   trailer = content length (u64, big-endian) | SHA-256 of the content (32) | "PEND"
 *
 * The reader checks every part: magic, version, algorithms, key id, authentication, one complete
 * compressed frame, and finally length and SHA-256 against the trailer. */
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

enum { OBJECT_HEADER_LEN = 32, OBJECT_TRAILER_LEN = 44 };

struct object_opts {
    enum object_compression compression;
    int level;             /* 0: the codec's default */
    const struct key *key; /* NULL: not encrypted; borrowed for the writer's life */
    bool parallel;         /* hash on a second thread: for large objects */
    /* The input is already one complete frame of `compression` (the server compressed it): it
     * is stored as it comes, and decompressed on a worker thread only to hash the content. */
    bool precompressed;
    /* Run the writer's stages on a worker thread, so the caller can produce meanwhile. */
    bool background;
};

struct object_summary {
    uint8_t sha256[SHA256_LEN]; /* of the content */
    uint64_t raw_size;          /* content bytes */
    uint64_t stored_size;       /* object bytes */
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
 * content to out (borrowed) and finishes out only after every check passed. key may be NULL;
 * name (copied) names the object in every error. Errors: PITR_CORRUPT for damage of any kind,
 * PITR_CONFIG for a missing or different encryption key. */
struct filter *object_reader_new(struct filter *out, const struct key *key, const char *name);
/* Valid after the reader finished successfully. */
void object_reader_summary(const struct filter *reader, struct object_summary *out);

/* Parses "none", "lz4", "zstd" or "zstd:N" (N from 1 to 19). */
enum pitr_rc object_compression_parse(const char *s, enum object_compression *out, int *level,
                                      struct pitr_err *err) PITR_MUST_CHECK;

#endif

/* manifest: PostgreSQL's backup_manifest (format version 1 and 2), parsed so that a restore can
 * check every file it writes against the size and checksum the server recorded. */
#ifndef PITR_PG_MANIFEST_H
#define PITR_PG_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/sha256.h"

struct manifest;

struct manifest_file {
    char *path; /* relative to the data directory, '/'-separated */
    uint64_t size;
    bool has_sha256; /* false when the manifest used another checksum algorithm (size only) */
    uint8_t sha256[SHA256_LEN];
    bool seen; /* for the caller: set once the file was restored */
};

/* Parses text[0..len) and checks its Manifest-Checksum. PITR_CORRUPT (naming the line) for
 * anything malformed or a checksum mismatch. The caller frees *out with manifest_free. */
enum pitr_rc manifest_parse(const char *text, size_t len, struct manifest **out,
                            struct pitr_err *err) PITR_MUST_CHECK;
void manifest_free(struct manifest *m);

/* The entry for path, or NULL. Borrowed until manifest_free. */
struct manifest_file *manifest_find(struct manifest *m, const char *path);
size_t manifest_count(const struct manifest *m);
/* Entry i (0 <= i < manifest_count), in manifest order. */
struct manifest_file *manifest_file_at(struct manifest *m, size_t i);

#endif

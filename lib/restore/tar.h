/* tar: a streaming reader of the ustar archives PostgreSQL sends for a base backup, as a sink
 * stage that hands each entry to callbacks. Only what PostgreSQL writes is accepted (regular
 * files, directories, symlinks; octal or base-256 sizes); anything else, a bad header checksum
 * or a missing end-of-archive is PITR_CORRUPT, so a truncated archive never passes. */
#ifndef PITR_RESTORE_TAR_H
#define PITR_RESTORE_TAR_H

#include <stdint.h>

#include "base/err.h"
#include "stream/filter.h"

enum tar_type { TAR_FILE, TAR_DIR, TAR_SYMLINK };

struct tar_entry {
    enum tar_type type;
    const char *name;     /* without a leading "./" or trailing "/" (borrowed for the callback) */
    const char *linkname; /* symlinks only */
    uint64_t size;        /* files only */
    unsigned mode;        /* permission bits */
};

struct tar_handler {
    enum pitr_rc (*begin)(void *arg, const struct tar_entry *e, struct pitr_err *err);
    /* file content, in pieces (never called for directories and symlinks) */
    enum pitr_rc (*data)(void *arg, const uint8_t *data, size_t len, struct pitr_err *err);
    enum pitr_rc (*end)(void *arg, struct pitr_err *err);
};

/* A sink that parses a tar stream into h's callbacks (h and arg borrowed); `what` (copied) names
 * the archive in errors. */
struct filter *tar_reader_new(const struct tar_handler *h, void *arg, const char *what);

#endif

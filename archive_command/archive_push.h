/* archive_push: stores one file that PostgreSQL hands to archive_command. */
#ifndef PITR_ARCHIVE_PUSH_H
#define PITR_ARCHIVE_PUSH_H

#include "base/err.h"
#include "config/config.h"

/* Archives the file at wal_path (relative paths are relative to the working directory, which
 * PostgreSQL sets to the data directory) under the name wal_name. Returns PITR_OK only when the
 * object is durably stored and verified, or was already stored with identical content. */
enum pitr_rc archive_push(const struct config *cfg, const char *wal_path, const char *wal_name,
                          struct pitr_err *err) PITR_MUST_CHECK;

#endif

/* archive_get: restores one archived file for PostgreSQL's restore_command. */
#ifndef PITR_ARCHIVE_GET_H
#define PITR_ARCHIVE_GET_H

#include "base/err.h"
#include "config/config.h"

/* Fetches wal_name into dest_path (through a temp file and rename, so PostgreSQL never sees a
 * partial file). PITR_NOT_FOUND only when the repository is reachable, the cluster is known and
 * the file is simply not there: that is how recovery learns the archive has ended. */
enum pitr_rc archive_get(const struct config *cfg, const char *wal_name, const char *dest_path,
                         struct pitr_err *err) PITR_MUST_CHECK;

#endif

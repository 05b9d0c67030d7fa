/* drill: the monthly restore test as one command. Restores a backup into a temporary directory,
 * starts it beside everything else (its own port and socket directory, never archiving), waits
 * for recovery to end, reads every user table and runs the DBA's check queries, then stops it,
 * removes the directory and records the result in the repository (<cluster>/drill/last). */
#ifndef PITR_RESTORE_DRILL_H
#define PITR_RESTORE_DRILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "config/config.h"
#include "repo/backup.h"
#include "restore.h"

struct drill_options {
    const char *drill_dir; /* where the temporary directory is made; NULL: $TMPDIR, else /tmp */
    const char *check_sql; /* a file of queries that must each succeed; NULL: none */
    const char *check_db;  /* the database they run in; NULL: postgres */
    bool keep;             /* leave the directory (the server is stopped all the same) */
};

/* What the drill found, filled in as it goes (also when it fails). */
struct drill_result {
    bool passed;
    char cluster[128]; /* "" when the repository could not be opened */
    char backup_id[BACKUP_ID_LEN];
    double restore_s;
    double recovery_s;
    double checks_s;
    size_t databases;
    size_t tables;
    uint64_t rows;
    size_t queries;     /* --check-sql statements run */
    size_t failed;      /* tables and queries that failed */
    char summary[1024]; /* one line: what a notification says */
};

/* Runs the drill. ropts holds the target (and quiet, progress, pg_bin); its target_dir, start,
 * port, tablespace_root and extra_settings are set here. PITR_OK only if every check passed and
 * the result was recorded; otherwise err says what failed first (each failed check is printed
 * as it happens). The temporary directory is removed in every case unless dopts->keep. */
enum pitr_rc drill_run(const struct config *cfg, const struct restore_options *ropts,
                       const struct drill_options *dopts, struct drill_result *out,
                       struct pitr_err *err) PITR_MUST_CHECK;

#endif

/* restore: brings a base backup from the repository into a data directory, checked file by file
 * against its manifest, and configures PostgreSQL to recover from pitr's WAL archive up to the
 * chosen target. */
#ifndef PITR_RESTORE_RESTORE_H
#define PITR_RESTORE_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "config/config.h"

enum restore_target {
    RESTORE_TO_LATEST, /* the end of the archive */
    RESTORE_TO_TIME,
    RESTORE_TO_LSN,
    RESTORE_TO_XID,
    RESTORE_TO_NAME,
    RESTORE_TO_IMMEDIATE, /* the backup's consistency point */
};

struct tablespace_move {
    const char *from; /* the tablespace's original location */
    const char *to;
};

struct restore_options {
    const char *target_dir;
    const char *backup_id; /* NULL: chosen from the target */
    enum restore_target target;
    int64_t time_us;      /* RESTORE_TO_TIME */
    uint64_t lsn;         /* RESTORE_TO_LSN */
    const char *value;    /* RESTORE_TO_XID / RESTORE_TO_NAME: as given */
    const char *timeline; /* "latest", "current" or a number */
    const char *action;   /* "promote", "pause" or "shutdown" */
    const struct tablespace_move *moves;
    size_t n_moves;
    bool force;
    bool dry_run;
    bool start;         /* start the server and follow recovery to the target */
    unsigned port;      /* 0: the port of the restored configuration */
    const char *pg_bin; /* NULL: /usr/lib/postgresql/<major>/bin */
    bool quiet;
    bool progress;           /* bytes read / total, rate, ETA on stderr */
    const char *config_path; /* for the restore_command line; absolute */
};

/* Plans (printing the plan unless quiet), then restores unless dry_run, then with start runs the
 * server until recovery ends and checks the point reached against the target. */
enum pitr_rc restore_run(const struct config *cfg, const struct restore_options *opts,
                         struct pitr_err *err) PITR_MUST_CHECK;

#endif

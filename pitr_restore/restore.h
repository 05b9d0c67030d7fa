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
#include "repo/backup.h"
#include "start.h"

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
    bool no_archive;    /* the restored server gets archive_mode = off */
    const char *pg_bin; /* NULL: /usr/lib/postgresql/<major>/bin */
    bool quiet;
    bool progress;           /* bytes read / total, rate, ETA on stderr */
    const char *config_path; /* for the restore_command line; absolute */
    /* a drill: every tablespace is restored into <tablespace_root>/<oid> instead of its own
     * location (NULL: moves apply), and extra_settings (lines, NULL: none) are appended to
     * postgresql.auto.conf after the recovery settings, so they win */
    const char *tablespace_root;
    const char *extra_settings;
};

/* What a run got to, for a caller that reports on it (pitr-restore --drill). Filled in as the
 * run goes, also when it fails. */
struct restore_report {
    char backup_id[BACKUP_ID_LEN]; /* "" until planned */
    char pg_bin[256];              /* with start: the PostgreSQL programs used */
    double restore_s;              /* reading and writing the files */
    double recovery_s;             /* with start: from pg_ctl start to the end of recovery */
    bool started;                  /* pg_ctl start was run: a server may be running */
    bool recovered;                /* recovery ended at the target; reached is valid */
    struct start_result reached;
};

/* Plans (printing the plan unless quiet), then restores unless dry_run, then with start runs the
 * server until recovery ends and checks the point reached against the target. report may be
 * NULL. With start the server is left running, also after a failure once report->started. */
enum pitr_rc restore_run(const struct config *cfg, const struct restore_options *opts,
                         struct restore_report *report, struct pitr_err *err) PITR_MUST_CHECK;

#endif

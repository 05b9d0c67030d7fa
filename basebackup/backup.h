/* backup: one base backup, from the replication connection into the repository, and the
 * removal of backups that were interrupted. */
#ifndef PITR_BASEBACKUP_BACKUP_H
#define PITR_BASEBACKUP_BACKUP_H

#include <stdbool.h>

#include "base/err.h"
#include "config/config.h"

struct backup_options {
    const char *type;  /* daily, weekly, monthly, manual, pre-migration */
    const char *label; /* NULL: "pitr <type> backup" */
    bool fast_checkpoint;
    unsigned max_rate_kb; /* limit on the server's reading, kB/s; 0: none */
    bool progress;        /* a progress line on stderr */
    bool quiet;           /* nothing on stdout on success */
};

/* What a run tells a notification, filled in as it goes (also when it fails). */
struct backup_report {
    char cluster[128]; /* "" until the repository's cluster is known */
    char summary[512]; /* on success: the summary line (printed unless quiet) */
};

/* Takes a base backup as cfg and opts say. On success the backup is complete (its record
 * written last, after every object was stored and checked and its WAL archived) and a summary
 * line is printed on stdout unless quiet. On failure what was stored is removed when the
 * repository allows, and is otherwise left without a record: never listed as restorable.
 * report may be NULL. */
enum pitr_rc backup_run(const struct config *cfg, const struct backup_options *opts,
                        struct backup_report *report, struct pitr_err *err) PITR_MUST_CHECK;

/* Removes backups left incomplete by a process that no longer runs (same host, pid gone) or that
 * started more than max_age_s seconds ago; prints what it removed unless quiet. */
enum pitr_rc backup_cleanup(const struct config *cfg, unsigned max_age_s, bool quiet,
                            struct pitr_err *err) PITR_MUST_CHECK;

#endif

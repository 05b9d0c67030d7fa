/* start: runs a restored data directory with pg_ctl and follows its archive recovery until it
 * promotes (or pauses) at the target, reporting the point it actually reached; and stops it. */
#ifndef PITR_RESTORE_START_H
#define PITR_RESTORE_START_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

struct start_result {
    bool promoted;        /* else paused at the target */
    bool has_xact_time;   /* false when recovery replayed no transaction */
    int64_t last_xact_us; /* the last replayed commit or abort (µs since the epoch, UTC) */
    uint64_t replay_lsn;  /* the end of the last replayed record */
    uint32_t tli;         /* the timeline the server now writes (0 when paused) */
};

/* Starts the server in pgdata with pg_bin/pg_ctl (its log in log_path) and waits, showing replay
 * progress unless quiet, until recovery ends. PITR_IO when pg_ctl cannot run; PITR_PROTOCOL when
 * the server stops during recovery (the message quotes its last FATAL line). */
enum pitr_rc start_and_follow(const char *pgdata, const char *pg_bin, const char *log_path,
                              bool quiet, struct start_result *out,
                              struct pitr_err *err) PITR_MUST_CHECK;

/* Stops the server in pgdata with pg_ctl stop -m fast, and -m immediate if that fails. PITR_IO
 * when pg_ctl cannot run; PITR_PROTOCOL when the server could not be stopped. */
enum pitr_rc start_stop_server(const char *pgdata, const char *pg_bin,
                               struct pitr_err *err) PITR_MUST_CHECK;

#endif

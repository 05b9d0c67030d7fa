/* progress: "done / total (pct), rate, ETA" on stderr, redrawn at most twice a second, like
 * pg_basebackup -P; silent when disabled (not a terminal, or --quiet). */
#ifndef PITR_BASE_PROGRESS_H
#define PITR_BASE_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct progress {
    bool enabled;
    uint64_t total; /* 0: unknown */
    uint64_t done;
    double t0;
    double last_shown;
    bool shown;
};

void progress_init(struct progress *p, bool enabled, uint64_t total);
/* Records that `done` bytes are done, and redraws when due. */
void progress_update(struct progress *p, uint64_t done);
/* Draws the final state and ends the line (only if anything was drawn). */
void progress_end(struct progress *p);

#endif

/* timeline: PostgreSQL timeline history files ("00000003.history"), which say where each earlier
 * timeline of a cluster ended. A restore follows them to know which timeline each WAL segment on
 * its way to the target must come from. */
#ifndef PITR_PG_TIMELINE_H
#define PITR_PG_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct timeline_switch {
    uint32_t tli;     /* an ancestor timeline */
    uint64_t end_lsn; /* where the next timeline branched off it */
};

/* The ancestry of one timeline, oldest first: entries[i].tli ran up to entries[i].end_lsn. */
struct timeline_history {
    uint32_t tli;
    struct timeline_switch *entries; /* owned */
    size_t n;
};

/* Parses the text of tli's history file (named `name` in errors). Lines are "parentTLI
 * <tab> X/Y <tab> reason"; blank and # lines are skipped. PITR_CORRUPT naming the line for anything
 * else, or when timelines do not increase or reach tli. The caller frees with
 * timeline_history_fini. */
enum pitr_rc timeline_history_parse(const char *text, uint32_t tli, const char *name,
                                    struct timeline_history *out,
                                    struct pitr_err *err) PITR_MUST_CHECK;
void timeline_history_fini(struct timeline_history *h);

/* The LSN where `tli` ends on the way to h->tli: UINT64_MAX when tli is h->tli itself, 0 when
 * tli is not in h's ancestry. */
uint64_t timeline_history_end(const struct timeline_history *h, uint32_t tli);

#endif

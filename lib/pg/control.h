/* control: what pitr needs from a data directory: the system identifier in global/pg_control,
 * the major version in PG_VERSION, and whether recovery runs as a standby. */
#ifndef PITR_PG_CONTROL_H
#define PITR_PG_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

struct pg_ident {
    uint64_t sysid;
    unsigned major_version; /* 15 for PostgreSQL 15 */
};

/* Reads pgdata's identity. PITR_NOT_FOUND when pgdata is not a data directory (no
 * global/pg_control); PITR_CORRUPT when pg_control is unreadable. */
enum pitr_rc pg_ident_read(const char *pgdata, struct pg_ident *out,
                           struct pitr_err *err) PITR_MUST_CHECK;

/* True when pgdata holds standby.signal (recovery that retries and can stream). */
bool pg_is_standby(const char *pgdata);

#endif

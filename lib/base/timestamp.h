/* timestamp: moments as microseconds since the Unix epoch (UTC), parsed from the ISO 8601 and
 * PostgreSQL timestamptz forms a DBA types, and formatted the way PostgreSQL reads them back. */
#ifndef PITR_BASE_TIMESTAMP_H
#define PITR_BASE_TIMESTAMP_H

#include <stdint.h>

#include "base/err.h"

enum { TIMESTAMP_TEXT_LEN = 40 };

/* Parses "YYYY-MM-DD[ T]HH:MM[:SS[.ffffff]][zone]" where zone is Z, UTC, +HH, +HHMM or +HH:MM
 * (or -); without a zone the time is UTC. PITR_CONFIG naming the text when it is not one. */
enum pitr_rc timestamp_parse(const char *text, int64_t *out_us,
                             struct pitr_err *err) PITR_MUST_CHECK;
/* "YYYY-MM-DD HH:MM:SS.ffffff+00" (the fraction only when non-zero) into out. */
void timestamp_format(int64_t us, char out[TIMESTAMP_TEXT_LEN]);

#endif

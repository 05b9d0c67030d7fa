/* log: one line per event on stderr, which PostgreSQL collects for archive and restore commands.
 * Never pass secrets to these functions. */
#ifndef PITR_BASE_LOG_H
#define PITR_BASE_LOG_H

#include "err.h"

enum log_level {
    LOG_LEVEL_ERROR = 0,
    LOG_LEVEL_WARN,
    LOG_LEVEL_INFO,
    LOG_LEVEL_DEBUG,
};

/* progname is borrowed for the life of the process (a string literal in main). */
void log_init(const char *progname, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
enum pitr_rc log_level_parse(const char *s, enum log_level *out,
                             struct pitr_err *err) PITR_MUST_CHECK;

void log_error(const char *fmt, ...) PITR_PRINTF(1, 2);
void log_warn(const char *fmt, ...) PITR_PRINTF(1, 2);
void log_info(const char *fmt, ...) PITR_PRINTF(1, 2);
void log_debug(const char *fmt, ...) PITR_PRINTF(1, 2);

#endif

/* log: formats "<time> <prog>[pid] LEVEL: message" as a single write so concurrent archivers'
 * lines never interleave mid-line. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "pitr";
static enum log_level log_threshold = LOG_LEVEL_INFO;

static const char *const level_names[] = {"ERROR", "WARNING", "INFO", "DEBUG"};

void log_init(const char *progname, enum log_level level)
{
    log_prog = progname;
    log_threshold = level;
}

void log_set_level(enum log_level level)
{
    log_threshold = level;
}

enum log_level log_get_level(void)
{
    return log_threshold;
}

enum pitr_rc log_level_parse(const char *s, enum log_level *out, struct pitr_err *err)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *out = (enum log_level)i;
            return PITR_OK;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = LOG_LEVEL_WARN;
        return PITR_OK;
    }
    return err_set(err, PITR_CONFIG,
                   "invalid log_level \"%s\": expected error, warn, info or debug", s);
}

static void emit(enum log_level level, const char *fmt, va_list ap)
{
    char line[2048];
    struct timeval tv;
    struct tm tm;
    size_t n;
    int w;

    if (level > log_threshold) {
        return;
    }
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S", &tm);
    w = snprintf(line + n, sizeof(line) - n, ".%03d UTC %s[%d] %s: ", (int)(tv.tv_usec / 1000),
                 log_prog, (int)getpid(), level_names[level]);
    if (w > 0) {
        n += (size_t)w;
    }
    if (n < sizeof(line)) {
        w = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
        n = w < 0 ? n : (n + (size_t)w >= sizeof(line) - 1 ? sizeof(line) - 2 : n + (size_t)w);
    }
    for (size_t i = 0; i < n; i++) {
        if (line[i] == '\n' || line[i] == '\r') {
            line[i] = ' '; /* one event, one line: PostgreSQL's log parsers expect it */
        }
    }
    line[n++] = '\n';
    (void)!write(STDERR_FILENO, line, n);
}

#define LOG_FN(name, level)                                                                        \
    void name(const char *fmt, ...)                                                                \
    {                                                                                              \
        va_list ap;                                                                                \
        va_start(ap, fmt);                                                                         \
        emit(level, fmt, ap);                                                                      \
        va_end(ap);                                                                                \
    }

LOG_FN(log_error, LOG_LEVEL_ERROR)
LOG_FN(log_warn, LOG_LEVEL_WARN)
LOG_FN(log_info, LOG_LEVEL_INFO)
LOG_FN(log_debug, LOG_LEVEL_DEBUG)

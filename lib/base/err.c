/* err: formatting of the one error message a failure carries up to main. */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum pitr_rc err_set(struct pitr_err *err, enum pitr_rc rc, const char *fmt, ...)
{
    va_list ap;

    err->rc = rc;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return rc;
}

enum pitr_rc err_sys(struct pitr_err *err, enum pitr_rc rc, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    size_t used;

    err->rc = rc;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    used = strlen(err->msg);
    snprintf(err->msg + used, sizeof(err->msg) - used, ": %s", strerror(saved));
    return rc;
}

enum pitr_rc err_prefix(struct pitr_err *err, const char *fmt, ...)
{
    char old[sizeof(err->msg)];
    va_list ap;
    size_t used;

    memcpy(old, err->msg, sizeof(old));
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    used = strlen(err->msg);
    snprintf(err->msg + used, sizeof(err->msg) - used, ": %s", old);
    return err->rc;
}

enum pitr_rc err_copy(struct pitr_err *dst, const struct pitr_err *src)
{
    if (dst != src) {
        memcpy(dst, src, sizeof(*dst));
    }
    return dst->rc;
}

void err_clear(struct pitr_err *err)
{
    err->rc = PITR_OK;
    err->msg[0] = '\0';
}

const char *pitr_rc_name(enum pitr_rc rc)
{
    switch (rc) {
    case PITR_OK:
        return "ok";
    case PITR_NOT_FOUND:
        return "not found";
    case PITR_EXISTS:
        return "exists";
    case PITR_IO:
        return "i/o error";
    case PITR_CORRUPT:
        return "corrupt";
    case PITR_CONFIG:
        return "configuration error";
    case PITR_PROTOCOL:
        return "protocol error";
    case PITR_NETWORK:
        return "network error";
    case PITR_INTERNAL:
        return "internal error";
    }
    return "unknown error";
}

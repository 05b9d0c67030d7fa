/* Error values shared by every module: a status code plus one human message, set once where the
 * failure happens and only ever prefixed with context on the way up. */
#ifndef PITR_BASE_ERR_H
#define PITR_BASE_ERR_H

#define PITR_MUST_CHECK __attribute__((warn_unused_result))
#define PITR_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

enum pitr_rc {
    PITR_OK = 0,
    PITR_NOT_FOUND, /* the object or file does not exist: restore_command relies on this */
    PITR_EXISTS,    /* refused to overwrite */
    PITR_IO,        /* local file system or device */
    PITR_CORRUPT,   /* checksum, format or authentication failure */
    PITR_CONFIG,    /* bad configuration, arguments, or key */
    PITR_PROTOCOL,  /* a server answered something unexpected */
    PITR_NETWORK,   /* could not reach a server, or it failed after retries */
    PITR_INTERNAL,
};

struct pitr_err {
    enum pitr_rc rc;
    char msg[512];
};

/* Sets err to rc and the formatted message; returns rc so callers can `return err_set(...)`. */
enum pitr_rc err_set(struct pitr_err *err, enum pitr_rc rc, const char *fmt, ...) PITR_PRINTF(3, 4);

/* As err_set, with ": <strerror(errno)>" appended (errno is read before anything else runs). */
enum pitr_rc err_sys(struct pitr_err *err, enum pitr_rc rc, const char *fmt, ...) PITR_PRINTF(3, 4);

/* Prepends "<context>: " to the message already in err; returns err->rc unchanged. */
enum pitr_rc err_prefix(struct pitr_err *err, const char *fmt, ...) PITR_PRINTF(2, 3);

/* Copies src into dst (used where one error is re-reported from a sticky state). */
enum pitr_rc err_copy(struct pitr_err *dst, const struct pitr_err *src);

void err_clear(struct pitr_err *err);

/* Short stable name of a status, e.g. "not found". */
const char *pitr_rc_name(enum pitr_rc rc);

#endif

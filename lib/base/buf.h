/* buf: a growable byte buffer with a hard size cap, so that no input can make us hold more in
 * memory than the caller planned for. */
#ifndef PITR_BASE_BUF_H
#define PITR_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct buf {
    uint8_t *data; /* always NUL-terminated past len, so text can be read as a C string */
    size_t len;
    size_t cap;
    size_t max; /* appends that would pass this fail with PITR_INTERNAL */
};

void buf_init(struct buf *b, size_t max);
void buf_fini(struct buf *b);
void buf_reset(struct buf *b);

/* Appends len bytes; fails without changing b when the cap would be passed. */
enum pitr_rc buf_append(struct buf *b, const void *data, size_t len,
                        struct pitr_err *err) PITR_MUST_CHECK;
enum pitr_rc buf_printf(struct buf *b, struct pitr_err *err, const char *fmt, ...)
    PITR_PRINTF(3, 4) PITR_MUST_CHECK;

/* Hands the storage to the caller (who frees it) and leaves b empty. */
uint8_t *buf_take(struct buf *b, size_t *len_out);

#endif

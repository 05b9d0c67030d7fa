/* buf: capped growable bytes; the cap turns a hostile or runaway input into an error. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void buf_fini(struct buf *b)
{
    free(b->data);
    buf_init(b, b->max);
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data != NULL) {
        b->data[0] = '\0';
    }
}

static enum pitr_rc reserve(struct buf *b, size_t extra, struct pitr_err *err)
{
    size_t need;
    size_t cap;

    if (extra > b->max || b->len > b->max - extra) {
        return err_set(err, PITR_INTERNAL, "buffer limit of %zu bytes exceeded", b->max);
    }
    need = b->len + extra + 1;
    if (need <= b->cap) {
        return PITR_OK;
    }
    cap = b->cap == 0 ? 256 : b->cap;
    while (cap < need) {
        cap *= 2;
    }
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
    return PITR_OK;
}

enum pitr_rc buf_append(struct buf *b, const void *data, size_t len, struct pitr_err *err)
{
    enum pitr_rc rc = reserve(b, len, err);

    if (rc != PITR_OK) {
        return rc;
    }
    if (len > 0) {
        memcpy(b->data + b->len, data, len);
    }
    b->len += len;
    b->data[b->len] = '\0';
    return PITR_OK;
}

enum pitr_rc buf_printf(struct buf *b, struct pitr_err *err, const char *fmt, ...)
{
    va_list ap;
    int n;
    enum pitr_rc rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return err_set(err, PITR_INTERNAL, "invalid format \"%s\"", fmt);
    }
    rc = reserve(b, (size_t)n, err);
    if (rc != PITR_OK) {
        return rc;
    }
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return PITR_OK;
}

uint8_t *buf_take(struct buf *b, size_t *len_out)
{
    uint8_t *data = b->data;

    if (data == NULL) {
        data = xcalloc(1, 1);
    }
    *len_out = b->len;
    buf_init(b, b->max);
    return data;
}

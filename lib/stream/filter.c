/* filter: the sticky-error wrappers around stage ops, and the basic sinks and observers. */
#include "stream/filter.h"

#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "base/xalloc.h"
#include "stream/filter_int.h"

void filter_init(struct filter *f, const struct filter_ops *ops)
{
    f->ops = ops;
    f->next = NULL;
    err_clear(&f->failed);
    f->finished = 0;
}

enum pitr_rc filter_write(struct filter *f, const uint8_t *data, size_t len, struct pitr_err *err)
{
    enum pitr_rc rc;

    if (f->failed.rc != PITR_OK) {
        return err_copy(err, &f->failed);
    }
    if (f->finished) {
        return err_set(err, PITR_INTERNAL, "write to finished %s stage", f->ops->name);
    }
    if (len == 0) {
        return PITR_OK;
    }
    rc = f->ops->write(f, data, len, err);
    if (rc != PITR_OK) {
        err_copy(&f->failed, err);
    }
    return rc;
}

enum pitr_rc filter_finish(struct filter *f, struct pitr_err *err)
{
    enum pitr_rc rc;

    if (f->failed.rc != PITR_OK) {
        return err_copy(err, &f->failed);
    }
    if (f->finished) {
        return err_set(err, PITR_INTERNAL, "%s stage finished twice", f->ops->name);
    }
    f->finished = 1;
    rc = f->ops->finish(f, err);
    if (rc != PITR_OK) {
        err_copy(&f->failed, err);
    }
    return rc;
}

void filter_free(struct filter *f)
{
    if (f != NULL) {
        f->ops->free(f);
    }
}

struct filter *filter_chain(struct filter *stage, struct filter *next)
{
    stage->next = next;
    return stage;
}

enum pitr_rc filter_emit(struct filter *f, const uint8_t *data, size_t len, struct pitr_err *err)
{
    if (f->next == NULL) {
        return PITR_OK;
    }
    return filter_write(f->next, data, len, err);
}

enum pitr_rc filter_finish_next(struct filter *f, struct pitr_err *err)
{
    if (f->next == NULL) {
        return PITR_OK;
    }
    return filter_finish(f->next, err);
}

enum pitr_rc filter_flush_buffer(struct filter *f, const uint8_t *out, size_t *used,
                                 struct pitr_err *err)
{
    enum pitr_rc rc = filter_emit(f, out, *used, err);

    *used = 0;
    return rc;
}

/* fd sink */

struct fd_sink {
    struct filter base;
    int fd;
    char *what;
};

static enum pitr_rc fd_sink_write(struct filter *f, const uint8_t *data, size_t len,
                                  struct pitr_err *err)
{
    struct fd_sink *s = (struct fd_sink *)f;

    return fs_write_all(s->fd, data, len, s->what, err);
}

static enum pitr_rc fd_sink_finish(struct filter *f, struct pitr_err *err)
{
    return filter_finish_next(f, err);
}

static void fd_sink_free(struct filter *f)
{
    struct fd_sink *s = (struct fd_sink *)f;

    free(s->what);
    free(s);
}

static const struct filter_ops fd_sink_ops = {"fd", fd_sink_write, fd_sink_finish, fd_sink_free};

struct filter *fd_sink_new(int fd, const char *what)
{
    struct fd_sink *s = xcalloc(1, sizeof(*s));

    filter_init(&s->base, &fd_sink_ops);
    s->fd = fd;
    s->what = xstrdup(what);
    return &s->base;
}

/* buffer sink */

struct buf_sink {
    struct filter base;
    struct buf *out;
};

static enum pitr_rc buf_sink_write(struct filter *f, const uint8_t *data, size_t len,
                                   struct pitr_err *err)
{
    return buf_append(((struct buf_sink *)f)->out, data, len, err);
}

static void plain_free(struct filter *f)
{
    free(f);
}

static const struct filter_ops buf_sink_ops = {"buffer", buf_sink_write, fd_sink_finish,
                                               plain_free};

struct filter *buf_sink_new(struct buf *out)
{
    struct buf_sink *s = xcalloc(1, sizeof(*s));

    filter_init(&s->base, &buf_sink_ops);
    s->out = out;
    return &s->base;
}

/* discard sink */

static enum pitr_rc discard_write(struct filter *f, const uint8_t *data, size_t len,
                                  struct pitr_err *err)
{
    (void)f;
    (void)data;
    (void)len;
    (void)err;
    return PITR_OK;
}

static const struct filter_ops discard_ops = {"discard", discard_write, fd_sink_finish, plain_free};

struct filter *discard_sink_new(void)
{
    struct filter *f = xcalloc(1, sizeof(*f));

    filter_init(f, &discard_ops);
    return f;
}

/* size observer */

struct size_filter {
    struct filter base;
    uint64_t bytes;
    size_notify_fn *notify;
    void *arg;
};

static enum pitr_rc size_write(struct filter *f, const uint8_t *data, size_t len,
                               struct pitr_err *err)
{
    struct size_filter *s = (struct size_filter *)f;

    s->bytes += len;
    if (s->notify != NULL) {
        s->notify(s->arg, s->bytes);
    }
    return filter_emit(f, data, len, err);
}

static const struct filter_ops size_ops = {"size", size_write, fd_sink_finish, plain_free};

struct filter *size_filter_new(void)
{
    struct size_filter *s = xcalloc(1, sizeof(*s));

    filter_init(&s->base, &size_ops);
    return &s->base;
}

struct filter *size_filter_new_notify(size_notify_fn *notify, void *arg)
{
    struct size_filter *s = (struct size_filter *)size_filter_new();

    s->notify = notify;
    s->arg = arg;
    return &s->base;
}

uint64_t size_filter_bytes(const struct filter *f)
{
    return ((const struct size_filter *)f)->bytes;
}

/* filter_int: what a stage implements. Stages embed struct filter as their first member. */
#ifndef PITR_STREAM_FILTER_INT_H
#define PITR_STREAM_FILTER_INT_H

#include "stream/filter.h"

struct filter_ops {
    const char *name;
    /* Transform and forward with filter_emit(); called only while no error is stored. */
    enum pitr_rc (*write)(struct filter *f, const uint8_t *data, size_t len, struct pitr_err *err);
    /* Flush own state with filter_emit(), then return filter_finish_next(f, err). */
    enum pitr_rc (*finish)(struct filter *f, struct pitr_err *err);
    /* Release this stage's resources and the struct itself. */
    void (*free)(struct filter *f);
};

struct filter {
    const struct filter_ops *ops;
    struct filter *next;
    struct pitr_err failed; /* sticky: rc != PITR_OK once any call failed */
    int finished;
};

/* Initialises the embedded base of a new stage. */
void filter_init(struct filter *f, const struct filter_ops *ops);
/* Forwards bytes to f->next. */
enum pitr_rc filter_emit(struct filter *f, const uint8_t *data, size_t len,
                         struct pitr_err *err) PITR_MUST_CHECK;
/* Finishes f->next (or succeeds when f is the last stage). */
enum pitr_rc filter_finish_next(struct filter *f, struct pitr_err *err) PITR_MUST_CHECK;

/* The shared flush loop for stages with one fixed output buffer: codecs fill out[0..*used), and
 * call this when it is full or at the end; it forwards and resets *used. */
enum pitr_rc filter_flush_buffer(struct filter *f, const uint8_t *out, size_t *used,
                                 struct pitr_err *err) PITR_MUST_CHECK;

#endif

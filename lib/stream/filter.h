/* filter: one stage of a push pipeline. Data is written into a stage, which transforms it and
 * writes the result to the next stage; the last stage is a sink. Errors are sticky: once a stage
 * fails, every later call on it returns the same error. */
#ifndef PITR_STREAM_FILTER_H
#define PITR_STREAM_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

struct filter;

/* Pushes len bytes into f. */
enum pitr_rc filter_write(struct filter *f, const uint8_t *data, size_t len,
                          struct pitr_err *err) PITR_MUST_CHECK;
/* Flushes f, then finishes the stages after it. Call once, after the last write. */
enum pitr_rc filter_finish(struct filter *f, struct pitr_err *err) PITR_MUST_CHECK;
/* Frees this stage only (NULL is fine). Pipelines free their stages themselves. */
void filter_free(struct filter *f);
/* Sends what stage emits to next (borrowed: freed by its owner, after stage), for a stage put in
 * front of a sink that another object owns. Returns stage. */
struct filter *filter_chain(struct filter *stage, struct filter *next);

/* Sinks. Each returns a new stage the caller (or a pipeline) owns. */

/* Writes to fd (borrowed, not closed); `what` (copied) names the file in errors. */
struct filter *fd_sink_new(int fd, const char *what);
/* Appends to out (borrowed; out->max bounds it). */
struct filter *buf_sink_new(struct buf *out);
/* Drops everything. */
struct filter *discard_sink_new(void);

/* An observer that counts bytes and passes them on. */
struct filter *size_filter_new(void);
uint64_t size_filter_bytes(const struct filter *f);
/* The same counter, calling notify(arg, bytes so far) after each write (for progress). */
typedef void size_notify_fn(void *arg, uint64_t bytes);
struct filter *size_filter_new_notify(size_notify_fn *notify, void *arg);

/* A pipeline owns a chain of stages that ends in a sink. */
struct pipeline;

/* A stage that hands what is written to a worker thread, which runs the stages after it, so the
 * caller can produce the next bytes meanwhile. Data is copied into `depth` (>= 3) buffers of
 * `chunk` bytes: the memory bound. Falls back to running inline if no thread can be started. */
struct filter *async_filter_new(size_t chunk, unsigned depth);
/* A stage that writes everything to side (ownership taken; finished before the stages after
 * the tee) as well as passing it on: for a second view of the same bytes. */
struct filter *tee_filter_new(struct pipeline *side);

/* Takes ownership of sink. */
struct pipeline *pipeline_new(struct filter *sink);
/* Appends a stage just before the sink (so stages are added in data-flow order); takes
 * ownership. */
void pipeline_add(struct pipeline *p, struct filter *stage);
/* The first stage: where data goes in. */
struct filter *pipeline_head(struct pipeline *p);
enum pitr_rc pipeline_write(struct pipeline *p, const uint8_t *data, size_t len,
                            struct pitr_err *err) PITR_MUST_CHECK;
enum pitr_rc pipeline_finish(struct pipeline *p, struct pitr_err *err) PITR_MUST_CHECK;
/* Frees every stage (NULL is fine). */
void pipeline_free(struct pipeline *p);

#endif

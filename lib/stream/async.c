/* async: a stage that runs everything after it on a worker thread. Writes are copied into a
 * small ring of fixed buffers, so the producer (a network reader) keeps receiving while the
 * worker compresses, hashes, encrypts and stores; memory stays at depth x chunk bytes. The first
 * downstream error is sticky and returned by the producer's next write or finish. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "stream/filter.h"
#include "stream/filter_int.h"

struct slot {
    uint8_t *data;
    size_t len;
};

struct async_filter {
    struct filter base;
    size_t chunk;
    unsigned depth;
    struct slot *slots;
    unsigned head;   /* next slot the producer fills */
    unsigned tail;   /* next slot the worker drains */
    unsigned queued; /* slots filled and not yet drained (the one being filled not counted) */
    bool working;    /* the worker is writing a slot downstream */
    bool quit;
    bool started;
    struct pitr_err failed; /* the worker's first error */
    pthread_t worker;
    pthread_mutex_t lock;
    pthread_cond_t cond;
};

static void *worker_main(void *arg)
{
    struct async_filter *a = arg;

    pthread_mutex_lock(&a->lock);
    for (;;) {
        struct slot *s;
        struct pitr_err err;
        enum pitr_rc rc = PITR_OK;
        bool skip;

        while (a->queued == 0 && !a->quit) {
            pthread_cond_wait(&a->cond, &a->lock);
        }
        if (a->queued == 0) {
            break;
        }
        s = &a->slots[a->tail];
        a->working = true;
        skip = a->failed.rc != PITR_OK; /* after a failure, drain without storing */
        pthread_mutex_unlock(&a->lock);
        if (!skip) {
            rc = filter_emit(&a->base, s->data, s->len, &err);
        }
        pthread_mutex_lock(&a->lock);
        if (rc != PITR_OK && a->failed.rc == PITR_OK) {
            err_copy(&a->failed, &err);
        }
        s->len = 0;
        a->tail = (a->tail + 1) % a->depth;
        a->queued--;
        a->working = false;
        pthread_cond_broadcast(&a->cond);
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

/* Waits until the worker has drained all but `keep` slots; returns its error, if any. Called with
 * the lock held. */
static enum pitr_rc wait_drained(struct async_filter *a, unsigned keep, struct pitr_err *err)
{
    while ((a->queued > keep || (keep == 0 && a->working)) && a->failed.rc == PITR_OK) {
        pthread_cond_wait(&a->cond, &a->lock);
    }
    return a->failed.rc != PITR_OK ? err_copy(err, &a->failed) : PITR_OK;
}

static enum pitr_rc async_write(struct filter *f, const uint8_t *data, size_t len,
                                struct pitr_err *err)
{
    struct async_filter *a = (struct async_filter *)f;
    enum pitr_rc rc = PITR_OK;

    if (!a->started) {
        return filter_emit(f, data, len, err); /* no thread could be had: run inline */
    }
    pthread_mutex_lock(&a->lock);
    while (len > 0 && rc == PITR_OK) {
        struct slot *s = &a->slots[a->head];
        size_t n = a->chunk - s->len < len ? a->chunk - s->len : len;

        /* the slot being filled is never one the worker reads: queued < depth */
        memcpy(s->data + s->len, data, n);
        s->len += n;
        data += n;
        len -= n;
        if (s->len == a->chunk) {
            rc = wait_drained(a, a->depth - 2, err);
            if (rc == PITR_OK) {
                a->head = (a->head + 1) % a->depth;
                a->queued++;
                pthread_cond_broadcast(&a->cond);
            }
        }
    }
    if (rc == PITR_OK && a->failed.rc != PITR_OK) {
        rc = err_copy(err, &a->failed);
    }
    pthread_mutex_unlock(&a->lock);
    return rc;
}

static enum pitr_rc async_finish(struct filter *f, struct pitr_err *err)
{
    struct async_filter *a = (struct async_filter *)f;
    enum pitr_rc rc = PITR_OK;

    if (a->started) {
        pthread_mutex_lock(&a->lock);
        if (a->slots[a->head].len > 0) {
            rc = wait_drained(a, a->depth - 2, err);
            if (rc == PITR_OK) {
                a->head = (a->head + 1) % a->depth;
                a->queued++;
                pthread_cond_broadcast(&a->cond);
            }
        }
        if (rc == PITR_OK) {
            rc = wait_drained(a, 0, err);
        }
        pthread_mutex_unlock(&a->lock);
    }
    /* the worker is idle now: finishing the stages after us on this thread is safe */
    return rc != PITR_OK ? rc : filter_finish_next(f, err);
}

static void async_free(struct filter *f)
{
    struct async_filter *a = (struct async_filter *)f;

    if (a->started) {
        pthread_mutex_lock(&a->lock);
        a->quit = true;
        /* an abandoned stream: drop what is queued rather than store part of it */
        if (a->failed.rc == PITR_OK) {
            err_set(&a->failed, PITR_INTERNAL, "stream abandoned");
        }
        pthread_cond_broadcast(&a->cond);
        pthread_mutex_unlock(&a->lock);
        pthread_join(a->worker, NULL);
    }
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->cond);
    for (unsigned i = 0; i < a->depth; i++) {
        free(a->slots[i].data);
    }
    free(a->slots);
    free(a);
}

static const struct filter_ops async_ops = {"async", async_write, async_finish, async_free};

struct filter *async_filter_new(size_t chunk, unsigned depth)
{
    struct async_filter *a = xcalloc(1, sizeof(*a));

    filter_init(&a->base, &async_ops);
    a->chunk = chunk;
    a->depth = depth < 3 ? 3 : depth;
    a->slots = xcalloc(a->depth, sizeof(*a->slots));
    for (unsigned i = 0; i < a->depth; i++) {
        a->slots[i].data = xmalloc(chunk);
    }
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->cond, NULL);
    a->started = pthread_create(&a->worker, NULL, worker_main, a) == 0;
    return &a->base;
}

/* --- tee ------------------------------------------------------------------------------------ */

struct tee_filter {
    struct filter base;
    struct pipeline *side;
};

static enum pitr_rc tee_write(struct filter *f, const uint8_t *data, size_t len,
                              struct pitr_err *err)
{
    struct tee_filter *t = (struct tee_filter *)f;
    enum pitr_rc rc = pipeline_write(t->side, data, len, err);

    return rc != PITR_OK ? rc : filter_emit(f, data, len, err);
}

static enum pitr_rc tee_finish(struct filter *f, struct pitr_err *err)
{
    struct tee_filter *t = (struct tee_filter *)f;
    enum pitr_rc rc = pipeline_finish(t->side, err);

    return rc != PITR_OK ? rc : filter_finish_next(f, err);
}

static void tee_free(struct filter *f)
{
    struct tee_filter *t = (struct tee_filter *)f;

    pipeline_free(t->side);
    free(t);
}

static const struct filter_ops tee_ops = {"tee", tee_write, tee_finish, tee_free};

struct filter *tee_filter_new(struct pipeline *side)
{
    struct tee_filter *t = xcalloc(1, sizeof(*t));

    filter_init(&t->base, &tee_ops);
    t->side = side;
    return &t->base;
}

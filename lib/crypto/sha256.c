/* sha256: EVP digest as a pass-through stage. */
#include "crypto/sha256.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "stream/filter_int.h"

struct sha256_filter {
    struct filter base;
    EVP_MD_CTX *ctx;
    uint8_t digest[SHA256_LEN];
    /* parallel mode: a worker hashes each chunk while the caller's thread runs the stages
     * downstream (compression, encryption, I/O) on the same chunk */
    bool parallel;
    pthread_t worker;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    const uint8_t *job;
    size_t job_len;
    bool busy;
    bool quit;
};

static void must(int ok, const char *what)
{
    if (!ok) {
        /* EVP digest calls fail only when OpenSSL itself is broken: a programmer error. */
        fprintf(stderr, "pitr: OpenSSL %s failed\n", what);
        abort();
    }
}

static void *worker_main(void *arg)
{
    struct sha256_filter *s = arg;

    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->busy && !s->quit) {
            pthread_cond_wait(&s->cond, &s->lock);
        }
        if (s->quit) {
            break;
        }
        pthread_mutex_unlock(&s->lock);
        must(EVP_DigestUpdate(s->ctx, s->job, s->job_len), "SHA-256 update");
        pthread_mutex_lock(&s->lock);
        s->busy = false;
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static enum pitr_rc sha_write(struct filter *f, const uint8_t *data, size_t len,
                              struct pitr_err *err)
{
    struct sha256_filter *s = (struct sha256_filter *)f;
    enum pitr_rc rc;

    if (!s->parallel) {
        must(EVP_DigestUpdate(s->ctx, data, len), "SHA-256 update");
        return filter_emit(f, data, len, err);
    }
    pthread_mutex_lock(&s->lock);
    s->job = data;
    s->job_len = len;
    s->busy = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    rc = filter_emit(f, data, len, err);
    /* the caller's buffer is only ours until we return: wait for the hash of it */
    pthread_mutex_lock(&s->lock);
    while (s->busy) {
        pthread_cond_wait(&s->cond, &s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static enum pitr_rc sha_finish(struct filter *f, struct pitr_err *err)
{
    struct sha256_filter *s = (struct sha256_filter *)f;
    unsigned int n = 0;

    must(EVP_DigestFinal_ex(s->ctx, s->digest, &n) && n == SHA256_LEN, "SHA-256 final");
    return filter_finish_next(f, err);
}

static void sha_free(struct filter *f)
{
    struct sha256_filter *s = (struct sha256_filter *)f;

    if (s->parallel) {
        pthread_mutex_lock(&s->lock);
        s->quit = true;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->worker, NULL);
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->cond);
    }
    EVP_MD_CTX_free(s->ctx);
    free(s);
}

static const struct filter_ops sha_ops = {"sha256", sha_write, sha_finish, sha_free};

struct filter *sha256_filter_new(void)
{
    struct sha256_filter *s = xcalloc(1, sizeof(*s));

    filter_init(&s->base, &sha_ops);
    s->ctx = EVP_MD_CTX_new();
    must(s->ctx != NULL && EVP_DigestInit_ex(s->ctx, EVP_sha256(), NULL), "SHA-256 init");
    return &s->base;
}

struct filter *sha256_filter_new_parallel(void)
{
    struct sha256_filter *s = (struct sha256_filter *)sha256_filter_new();

    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    if (pthread_create(&s->worker, NULL, worker_main, s) == 0) {
        s->parallel = true;
    } else {
        pthread_mutex_destroy(&s->lock); /* no thread to be had: hash inline, just slower */
        pthread_cond_destroy(&s->cond);
    }
    return &s->base;
}

void sha256_filter_digest(const struct filter *f, uint8_t out[SHA256_LEN])
{
    memcpy(out, ((const struct sha256_filter *)f)->digest, SHA256_LEN);
}

/* sha256_buffer is called once per catalog line (a million times to plan a restore over a
 * million segments): EVP_sha256() makes OpenSSL 3 look the algorithm up, under a lock, on every
 * call, which cost twice the hashing itself. It is fetched once per process instead. */
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_sha256;

static void fetch_md(void)
{
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void sha256_buffer(const uint8_t *data, size_t len, uint8_t out[SHA256_LEN])
{
    unsigned int n = 0;

    pthread_once(&md_once, fetch_md);
    must(md_sha256 != NULL && EVP_Digest(data, len, out, &n, md_sha256, NULL) && n == SHA256_LEN,
         "SHA-256");
}

/* zstd: ZSTD_compressStream2 / ZSTD_decompressStream with the library's recommended buffer
 * sizes; the decompressor accepts one complete frame and nothing after it. */
#include "compress/zstd.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <zstd.h>

#include "base/xalloc.h"
#include "stream/filter_int.h"

struct zstdc {
    struct filter base;
    ZSTD_CCtx *ctx;
    uint8_t *out;
    size_t out_cap;
};

static enum pitr_rc compress(struct zstdc *c, const uint8_t *data, size_t len,
                             ZSTD_EndDirective mode, struct pitr_err *err)
{
    ZSTD_inBuffer in = {data, len, 0};

    for (;;) {
        ZSTD_outBuffer out = {c->out, c->out_cap, 0};
        size_t left = ZSTD_compressStream2(c->ctx, &out, &in, mode);
        enum pitr_rc rc;

        if (ZSTD_isError(left)) {
            return err_set(err, PITR_INTERNAL, "zstd compression failed: %s",
                           ZSTD_getErrorName(left));
        }
        rc = filter_emit(&c->base, c->out, out.pos, err);
        if (rc != PITR_OK) {
            return rc;
        }
        if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size) {
            return PITR_OK;
        }
    }
}

static enum pitr_rc zstdc_write(struct filter *f, const uint8_t *data, size_t len,
                                struct pitr_err *err)
{
    return compress((struct zstdc *)f, data, len, ZSTD_e_continue, err);
}

static enum pitr_rc zstdc_finish(struct filter *f, struct pitr_err *err)
{
    enum pitr_rc rc = compress((struct zstdc *)f, NULL, 0, ZSTD_e_end, err);

    return rc != PITR_OK ? rc : filter_finish_next(f, err);
}

static void zstdc_free(struct filter *f)
{
    struct zstdc *c = (struct zstdc *)f;

    ZSTD_freeCCtx(c->ctx);
    free(c->out);
    free(c);
}

static const struct filter_ops zstdc_ops = {"zstd-compress", zstdc_write, zstdc_finish, zstdc_free};

struct filter *zstd_compress_filter_new(int level)
{
    struct zstdc *c = xcalloc(1, sizeof(*c));

    filter_init(&c->base, &zstdc_ops);
    c->ctx = ZSTD_createCCtx();
    if (c->ctx == NULL) {
        fprintf(stderr, "pitr: could not create a zstd context\n");
        abort();
    }
    ZSTD_CCtx_setParameter(c->ctx, ZSTD_c_compressionLevel,
                           level == 0 ? ZSTD_DEFAULT_LEVEL : level);
    c->out_cap = ZSTD_CStreamOutSize();
    c->out = xmalloc(c->out_cap);
    return &c->base;
}

struct zstdd {
    struct filter base;
    ZSTD_DCtx *ctx;
    uint8_t *out;
    size_t out_cap;
    bool frame_done;
    char *name;
};

static enum pitr_rc zstdd_write(struct filter *f, const uint8_t *data, size_t len,
                                struct pitr_err *err)
{
    struct zstdd *d = (struct zstdd *)f;
    ZSTD_inBuffer in = {data, len, 0};

    while (in.pos < in.size) {
        ZSTD_outBuffer out = {d->out, d->out_cap, 0};
        size_t ret;
        enum pitr_rc rc;

        if (d->frame_done) {
            return err_set(err, PITR_CORRUPT,
                           "object \"%s\" is corrupt: data follows the end of the zstd frame",
                           d->name);
        }
        ret = ZSTD_decompressStream(d->ctx, &out, &in);
        if (ZSTD_isError(ret)) {
            return err_set(err, PITR_CORRUPT, "object \"%s\" is corrupt: zstd: %s", d->name,
                           ZSTD_getErrorName(ret));
        }
        if (ret == 0) {
            d->frame_done = true;
        }
        rc = filter_emit(f, d->out, out.pos, err);
        if (rc != PITR_OK) {
            return rc;
        }
        /* a full output buffer may hide more output for the same input: drain it */
        while (!d->frame_done && out.pos == out.size) {
            ZSTD_inBuffer none = {NULL, 0, 0};

            out.pos = 0;
            ret = ZSTD_decompressStream(d->ctx, &out, &none);
            if (ZSTD_isError(ret)) {
                return err_set(err, PITR_CORRUPT, "object \"%s\" is corrupt: zstd: %s", d->name,
                               ZSTD_getErrorName(ret));
            }
            d->frame_done = ret == 0;
            rc = filter_emit(f, d->out, out.pos, err);
            if (rc != PITR_OK) {
                return rc;
            }
        }
    }
    return PITR_OK;
}

static enum pitr_rc zstdd_finish(struct filter *f, struct pitr_err *err)
{
    struct zstdd *d = (struct zstdd *)f;

    if (!d->frame_done) {
        return err_set(err, PITR_CORRUPT, "object \"%s\" is corrupt: the zstd frame is truncated",
                       d->name);
    }
    return filter_finish_next(f, err);
}

static void zstdd_free(struct filter *f)
{
    struct zstdd *d = (struct zstdd *)f;

    ZSTD_freeDCtx(d->ctx);
    free(d->out);
    free(d->name);
    free(d);
}

static const struct filter_ops zstdd_ops = {"zstd-decompress", zstdd_write, zstdd_finish,
                                            zstdd_free};

struct filter *zstd_decompress_filter_new(const char *name)
{
    struct zstdd *d = xcalloc(1, sizeof(*d));

    filter_init(&d->base, &zstdd_ops);
    d->ctx = ZSTD_createDCtx();
    if (d->ctx == NULL) {
        fprintf(stderr, "pitr: could not create a zstd context\n");
        abort();
    }
    d->out_cap = ZSTD_DStreamOutSize();
    d->out = xmalloc(d->out_cap);
    d->name = xstrdup(name);
    return &d->base;
}

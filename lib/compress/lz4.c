/* lz4: the compressor feeds 64 KiB blocks (linked, for ratio) so its output buffer stays small;
 * the decompressor insists on one complete frame and nothing after it. */
#include "compress/lz4.h"

#include <lz4frame.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "stream/filter_int.h"

enum { LZ4_IN_STEP = 64 * 1024, LZ4_OUT_SIZE = 256 * 1024 };

struct lz4c {
    struct filter base;
    LZ4F_cctx *ctx;
    LZ4F_preferences_t prefs;
    uint8_t *out;
    size_t out_cap;
    size_t used;
    bool begun;
};

static enum pitr_rc lz4_error(struct pitr_err *err, size_t code, const char *what)
{
    return err_set(err, PITR_INTERNAL, "lz4 %s failed: %s", what, LZ4F_getErrorName(code));
}

static enum pitr_rc begin(struct lz4c *c, struct pitr_err *err)
{
    size_t n = LZ4F_compressBegin(c->ctx, c->out, c->out_cap, &c->prefs);

    if (LZ4F_isError(n)) {
        return lz4_error(err, n, "compressBegin");
    }
    c->used = n;
    c->begun = true;
    return PITR_OK;
}

static enum pitr_rc lz4c_write(struct filter *f, const uint8_t *data, size_t len,
                               struct pitr_err *err)
{
    struct lz4c *c = (struct lz4c *)f;
    enum pitr_rc rc = c->begun ? PITR_OK : begin(c, err);

    while (rc == PITR_OK && len > 0) {
        size_t step = len < LZ4_IN_STEP ? len : LZ4_IN_STEP;
        size_t n;

        if (c->out_cap - c->used < LZ4F_compressBound(step, &c->prefs)) {
            rc = filter_flush_buffer(f, c->out, &c->used, err);
            if (rc != PITR_OK) {
                break;
            }
        }
        n = LZ4F_compressUpdate(c->ctx, c->out + c->used, c->out_cap - c->used, data, step, NULL);
        if (LZ4F_isError(n)) {
            return lz4_error(err, n, "compressUpdate");
        }
        c->used += n;
        data += step;
        len -= step;
    }
    return rc;
}

static enum pitr_rc lz4c_finish(struct filter *f, struct pitr_err *err)
{
    struct lz4c *c = (struct lz4c *)f;
    enum pitr_rc rc = c->begun ? PITR_OK : begin(c, err);
    size_t n;

    if (rc == PITR_OK && c->out_cap - c->used < LZ4F_compressBound(0, &c->prefs)) {
        rc = filter_flush_buffer(f, c->out, &c->used, err);
    }
    if (rc != PITR_OK) {
        return rc;
    }
    n = LZ4F_compressEnd(c->ctx, c->out + c->used, c->out_cap - c->used, NULL);
    if (LZ4F_isError(n)) {
        return lz4_error(err, n, "compressEnd");
    }
    c->used += n;
    rc = filter_flush_buffer(f, c->out, &c->used, err);
    return rc != PITR_OK ? rc : filter_finish_next(f, err);
}

static void lz4c_free(struct filter *f)
{
    struct lz4c *c = (struct lz4c *)f;

    LZ4F_freeCompressionContext(c->ctx);
    free(c->out);
    free(c);
}

static const struct filter_ops lz4c_ops = {"lz4-compress", lz4c_write, lz4c_finish, lz4c_free};

struct filter *lz4_compress_filter_new(int level)
{
    struct lz4c *c = xcalloc(1, sizeof(*c));

    filter_init(&c->base, &lz4c_ops);
    if (LZ4F_isError(LZ4F_createCompressionContext(&c->ctx, LZ4F_VERSION))) {
        fprintf(stderr, "pitr: could not create an lz4 context\n");
        abort();
    }
    c->prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    c->prefs.frameInfo.blockMode = LZ4F_blockLinked;
    c->prefs.compressionLevel = level;
    c->out_cap = LZ4_OUT_SIZE;
    c->out = xmalloc(c->out_cap);
    return &c->base;
}

struct lz4d {
    struct filter base;
    LZ4F_dctx *ctx;
    uint8_t *out;
    bool frame_done;
    char *name;
};

static enum pitr_rc lz4d_write(struct filter *f, const uint8_t *data, size_t len,
                               struct pitr_err *err)
{
    struct lz4d *d = (struct lz4d *)f;

    while (len > 0) {
        size_t in = len;
        size_t out = LZ4_OUT_SIZE;
        size_t hint;
        enum pitr_rc rc;

        if (d->frame_done) {
            return err_set(err, PITR_CORRUPT,
                           "object \"%s\" is corrupt: data follows the end of the lz4 frame",
                           d->name);
        }
        hint = LZ4F_decompress(d->ctx, d->out, &out, data, &in, NULL);
        if (LZ4F_isError(hint)) {
            return err_set(err, PITR_CORRUPT, "object \"%s\" is corrupt: lz4: %s", d->name,
                           LZ4F_getErrorName(hint));
        }
        data += in;
        len -= in;
        if (hint == 0) {
            d->frame_done = true;
        }
        if (out > 0) {
            rc = filter_emit(f, d->out, out, err);
            if (rc != PITR_OK) {
                return rc;
            }
        }
    }
    return PITR_OK;
}

static enum pitr_rc lz4d_finish(struct filter *f, struct pitr_err *err)
{
    struct lz4d *d = (struct lz4d *)f;

    if (!d->frame_done) {
        return err_set(err, PITR_CORRUPT, "object \"%s\" is corrupt: the lz4 frame is truncated",
                       d->name);
    }
    return filter_finish_next(f, err);
}

static void lz4d_free(struct filter *f)
{
    struct lz4d *d = (struct lz4d *)f;

    LZ4F_freeDecompressionContext(d->ctx);
    free(d->out);
    free(d->name);
    free(d);
}

static const struct filter_ops lz4d_ops = {"lz4-decompress", lz4d_write, lz4d_finish, lz4d_free};

struct filter *lz4_decompress_filter_new(const char *name)
{
    struct lz4d *d = xcalloc(1, sizeof(*d));

    filter_init(&d->base, &lz4d_ops);
    if (LZ4F_isError(LZ4F_createDecompressionContext(&d->ctx, LZ4F_VERSION))) {
        fprintf(stderr, "pitr: could not create an lz4 context\n");
        abort();
    }
    d->out = xmalloc(LZ4_OUT_SIZE);
    d->name = xstrdup(name);
    return &d->base;
}

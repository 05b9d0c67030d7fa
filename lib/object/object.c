/* object: builds the write pipeline (sha256 -> size -> compress -> trailer -> encrypt -> header
 * -> size -> sink) and, once a reader has seen the header, the read chain
 * ([decrypt] -> trailer-strip -> [decompress] -> sha256 -> size -> verify -> out). */
#include "object/object.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strutil.h"
#include "base/xalloc.h"
#include "compress/lz4.h"
#include "compress/zstd.h"
#include "crypto/aead.h"
#include "crypto/digest.h"
#include "stream/filter_int.h"

enum { FORMAT_V1 = 1, FORMAT_VERSION = 2, ENCRYPT_NONE = 0, ENCRYPT_AES_256_GCM = 1 };

static const uint8_t header_magic[4] = {'P', 'I', 'T', 'R'};
static const uint8_t trailer_magic[4] = {'P', 'E', 'N', 'D'};

enum pitr_rc object_compression_parse(const char *s, enum object_compression *out, int *level,
                                      struct pitr_err *err)
{
    uint64_t n = 0;

    if (strcmp(s, "none") == 0 || strcmp(s, "lz4") == 0 || strcmp(s, "zstd") == 0) {
        *out = s[0] == 'n' ? OBJECT_COMPRESS_NONE
                           : (s[0] == 'l' ? OBJECT_COMPRESS_LZ4 : OBJECT_COMPRESS_ZSTD);
        *level = 0;
        return PITR_OK;
    }
    if (str_has_prefix(s, "zstd:") && str_parse_u64(s + 5, "zstd level", &n, err) == PITR_OK &&
        n >= 1 && n <= 19) {
        *out = OBJECT_COMPRESS_ZSTD;
        *level = (int)n;
        return PITR_OK;
    }
    return err_set(err, PITR_CONFIG,
                   "invalid compression \"%s\": expected lz4, zstd, zstd:N (1-19) or none", s);
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (56 - 8 * i));
    }
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

static void plain_free(struct filter *f)
{
    free(f);
}

static enum pitr_rc pass_write(struct filter *f, const uint8_t *data, size_t len,
                               struct pitr_err *err)
{
    return filter_emit(f, data, len, err);
}

/* --- writer stages ------------------------------------------------------------------------- */

/* Emits the header (and binding) before the first byte of the body. */
struct header_stage {
    struct filter base;
    uint8_t header[OBJECT_PREFIX_MAX];
    size_t len;
    bool sent;
};

static enum pitr_rc header_send(struct header_stage *h, struct pitr_err *err)
{
    if (h->sent) {
        return PITR_OK;
    }
    h->sent = true;
    return filter_emit(&h->base, h->header, h->len, err);
}

static enum pitr_rc header_write(struct filter *f, const uint8_t *data, size_t len,
                                 struct pitr_err *err)
{
    enum pitr_rc rc = header_send((struct header_stage *)f, err);

    return rc != PITR_OK ? rc : filter_emit(f, data, len, err);
}

static enum pitr_rc header_finish(struct filter *f, struct pitr_err *err)
{
    enum pitr_rc rc = header_send((struct header_stage *)f, err);

    return rc != PITR_OK ? rc : filter_finish_next(f, err);
}

static const struct filter_ops header_ops = {"object-header", header_write, header_finish,
                                             plain_free};

/* Appends the trailer once the content's digest and size are known (their stages finish first,
 * being upstream). */
struct trailer_stage {
    struct filter base;
    const struct filter *sha; /* borrowed: stages of the same pipeline */
    const struct filter *size;
};

static enum pitr_rc trailer_finish(struct filter *f, struct pitr_err *err)
{
    struct trailer_stage *t = (struct trailer_stage *)f;
    uint8_t trailer[OBJECT_TRAILER_LEN];
    enum pitr_rc rc;

    put_be64(trailer, size_filter_bytes(t->size));
    sha256_filter_digest(t->sha, trailer + 8);
    memcpy(trailer + 40, trailer_magic, 4);
    rc = filter_emit(f, trailer, sizeof(trailer), err);
    return rc != PITR_OK ? rc : filter_finish_next(f, err);
}

static const struct filter_ops trailer_ops = {"object-trailer", pass_write, trailer_finish,
                                              plain_free};

/* The binding of an encrypted object: see object.h. */
static void binding_compute(const struct key *k, const uint8_t header[OBJECT_HEADER_LEN],
                            uint64_t sysid, const char *name, uint8_t out[OBJECT_BINDING_LEN])
{
    size_t name_len = strlen(name);
    size_t len = OBJECT_HEADER_LEN + 8 + name_len;
    uint8_t *msg = xmalloc(len);
    uint8_t bkey[KEY_LEN];

    memcpy(msg, header, OBJECT_HEADER_LEN);
    put_be64(msg + OBJECT_HEADER_LEN, sysid);
    memcpy(msg + OBJECT_HEADER_LEN + 8, name, name_len);
    key_derive(k, header + 16, KEY_SALT_LEN, "pitr object binding v2", bkey);
    hmac_sha256(bkey, sizeof(bkey), msg, len, out);
    explicit_bzero(bkey, sizeof(bkey));
    free(msg);
}

struct object_writer {
    struct pipeline *pipeline;
    struct filter *sha;
    struct filter *raw_size;
    struct filter *stored_size;
};

static struct filter *compressor_new(const struct object_opts *opts)
{
    switch (opts->compression) {
    case OBJECT_COMPRESS_LZ4:
        return lz4_compress_filter_new(opts->level);
    case OBJECT_COMPRESS_ZSTD:
        return zstd_compress_filter_new(opts->level);
    case OBJECT_COMPRESS_NONE:
        break;
    }
    return NULL;
}

static struct filter *decompressor_new(enum object_compression c, const char *name)
{
    switch (c) {
    case OBJECT_COMPRESS_LZ4:
        return lz4_decompress_filter_new(name);
    case OBJECT_COMPRESS_ZSTD:
        return zstd_decompress_filter_new(name);
    case OBJECT_COMPRESS_NONE:
        break;
    }
    return NULL;
}

/* Each chunk handed to a worker costs a few thread wake-ups (the async ring, then the SHA-256
 * thread): 1 MiB chunks cut pitr-basebackup's CPU by about 8% against 256 KiB when pitr
 * compresses (bench/RESULTS.md), for 4 MiB of ring instead of 2 MiB. */
enum { ASYNC_CHUNK = 1024 * 1024, ASYNC_DEPTH = 4 };

/* The stages that see the content: hash and count it, then compress it, or for precompressed
 * input pass the frame on while a side branch decompresses, hashes and counts it. */
static void add_content_stages(struct object_writer *w, const struct object_opts *opts)
{
    struct filter *comp;
    struct pipeline *side;
    struct filter *decomp;

    w->sha = opts->parallel ? sha256_filter_new_parallel() : sha256_filter_new();
    w->raw_size = size_filter_new();
    decomp = opts->precompressed ? decompressor_new(opts->compression, "compressed input") : NULL;
    if (decomp == NULL) {
        pipeline_add(w->pipeline, w->sha);
        pipeline_add(w->pipeline, w->raw_size);
        comp = compressor_new(opts);
        if (comp != NULL) {
            pipeline_add(w->pipeline, comp);
        }
        return;
    }
    /* the side branch: a damaged frame fails the write, as the reader would later */
    side = pipeline_new(discard_sink_new());
    pipeline_add(side, async_filter_new(ASYNC_CHUNK, ASYNC_DEPTH));
    pipeline_add(side, decomp);
    pipeline_add(side, w->sha);
    pipeline_add(side, w->raw_size);
    pipeline_add(w->pipeline, tee_filter_new(side));
}

struct object_writer *object_writer_new(struct filter *sink, const struct object_opts *opts,
                                        struct pitr_err *err)
{
    struct object_writer *w = xcalloc(1, sizeof(*w));
    struct header_stage *h = xcalloc(1, sizeof(*h));
    struct trailer_stage *t = xcalloc(1, sizeof(*t));

    filter_init(&h->base, &header_ops);
    filter_init(&t->base, &trailer_ops);
    memcpy(h->header, header_magic, 4);
    h->header[4] = FORMAT_VERSION;
    h->header[5] = (uint8_t)opts->compression;
    h->header[6] = opts->key ? ENCRYPT_AES_256_GCM : ENCRYPT_NONE;
    h->len = OBJECT_HEADER_LEN;
    w->pipeline = pipeline_new(sink);
    w->stored_size = size_filter_new();
    if (opts->background) {
        pipeline_add(w->pipeline, async_filter_new(ASYNC_CHUNK, ASYNC_DEPTH));
    }
    add_content_stages(w, opts);
    t->sha = w->sha;
    t->size = w->raw_size;
    pipeline_add(w->pipeline, &t->base);
    if (opts->key != NULL) {
        uint8_t object_key[KEY_LEN];

        key_id(opts->key, h->header + 8);
        if (key_random(h->header + 16, KEY_SALT_LEN, err) != PITR_OK) {
            filter_free(&h->base);
            object_writer_free(w);
            return NULL;
        }
        /* no name would bind the object to nothing: a programmer's mistake, not input */
        assert(opts->name != NULL);
        binding_compute(opts->key, h->header, opts->sysid, opts->name,
                        h->header + OBJECT_HEADER_LEN);
        h->len = OBJECT_PREFIX_MAX;
        key_derive_object(opts->key, h->header + 16, object_key);
        pipeline_add(w->pipeline, aead_encrypt_filter_new(object_key, h->header, h->len));
        explicit_bzero(object_key, sizeof(object_key));
    }
    pipeline_add(w->pipeline, &h->base);
    pipeline_add(w->pipeline, w->stored_size);
    return w;
}

enum pitr_rc object_writer_write(struct object_writer *w, const uint8_t *data, size_t len,
                                 struct pitr_err *err)
{
    return pipeline_write(w->pipeline, data, len, err);
}

enum pitr_rc object_writer_finish(struct object_writer *w, struct object_summary *out,
                                  struct pitr_err *err)
{
    enum pitr_rc rc = pipeline_finish(w->pipeline, err);

    if (rc == PITR_OK && out != NULL) {
        memset(out, 0, sizeof(*out));
        sha256_filter_digest(w->sha, out->sha256);
        out->raw_size = size_filter_bytes(w->raw_size);
        out->stored_size = size_filter_bytes(w->stored_size);
    }
    return rc;
}

void object_writer_free(struct object_writer *w)
{
    if (w != NULL) {
        pipeline_free(w->pipeline);
        free(w);
    }
}

/* --- reader stages ------------------------------------------------------------------------- */

/* Holds back the last OBJECT_TRAILER_LEN bytes: they are the trailer, not compressed data. */
struct strip_stage {
    struct filter base;
    uint8_t tail[OBJECT_TRAILER_LEN];
    size_t tail_len;
};

static enum pitr_rc strip_write(struct filter *f, const uint8_t *data, size_t len,
                                struct pitr_err *err)
{
    struct strip_stage *s = (struct strip_stage *)f;
    size_t total = s->tail_len + len;
    size_t emit;
    size_t from_tail;
    enum pitr_rc rc;

    if (total <= OBJECT_TRAILER_LEN) {
        memcpy(s->tail + s->tail_len, data, len);
        s->tail_len = total;
        return PITR_OK;
    }
    emit = total - OBJECT_TRAILER_LEN;
    from_tail = emit < s->tail_len ? emit : s->tail_len;
    rc = filter_emit(f, s->tail, from_tail, err);
    if (rc != PITR_OK) {
        return rc;
    }
    memmove(s->tail, s->tail + from_tail, s->tail_len - from_tail);
    s->tail_len -= from_tail;
    rc = filter_emit(f, data, emit - from_tail, err);
    if (rc != PITR_OK) {
        return rc;
    }
    data += emit - from_tail;
    len -= emit - from_tail;
    memcpy(s->tail + s->tail_len, data, len);
    s->tail_len += len;
    return PITR_OK;
}

static enum pitr_rc finish_next_only(struct filter *f, struct pitr_err *err)
{
    return filter_finish_next(f, err);
}

static const struct filter_ops strip_ops = {"object-trailer-strip", strip_write, finish_next_only,
                                            plain_free};

/* Compares length and digest with the trailer before letting the output be finished. */
struct verify_stage {
    struct filter base;
    const struct strip_stage *strip;
    const struct filter *sha;
    const struct filter *size;
    const char *name; /* borrowed from the reader */
};

static enum pitr_rc verify_finish(struct filter *f, struct pitr_err *err)
{
    struct verify_stage *v = (struct verify_stage *)f;
    uint8_t digest[SHA256_LEN];

    if (v->strip->tail_len != OBJECT_TRAILER_LEN ||
        memcmp(v->strip->tail + 40, trailer_magic, 4) != 0) {
        return err_set(err, PITR_CORRUPT, "object \"%s\" is corrupt: its trailer is missing",
                       v->name);
    }
    if (get_be64(v->strip->tail) != size_filter_bytes(v->size)) {
        return err_set(err, PITR_CORRUPT,
                       "object \"%s\" is corrupt: %llu bytes decoded, %llu recorded", v->name,
                       (unsigned long long)size_filter_bytes(v->size),
                       (unsigned long long)get_be64(v->strip->tail));
    }
    sha256_filter_digest(v->sha, digest);
    if (memcmp(digest, v->strip->tail + 8, SHA256_LEN) != 0) {
        return err_set(err, PITR_CORRUPT, "object \"%s\" is corrupt: SHA-256 checksum mismatch",
                       v->name);
    }
    return filter_finish_next(f, err);
}

static const struct filter_ops verify_ops = {"object-verify", pass_write, verify_finish,
                                             plain_free};

enum { READ_STAGES_MAX = 6 };

/* What an object's first bytes say, once checked (prefix_check). */
struct prefix {
    size_t need; /* prefix bytes: the header, and the binding when there is one */
    unsigned version;
    bool encrypted;
    enum object_compression compression;
    const struct key *key; /* the ring's key that encrypted it */
};

/* Checks the header in p[0..32), then, when len covers the whole prefix, the binding. Returns
 * PITR_OK with out->need > len when more bytes are needed first. */
static enum pitr_rc prefix_check(const uint8_t *p, size_t len, const struct key *ring,
                                 uint64_t sysid, const char *name, struct prefix *out,
                                 struct pitr_err *err)
{
    uint8_t binding[OBJECT_BINDING_LEN];
    char have[2 * KEY_ID_LEN + 1];

    memset(out, 0, sizeof(*out));
    out->need = OBJECT_HEADER_LEN;
    if (len < OBJECT_HEADER_LEN) {
        return PITR_OK;
    }
    if (memcmp(p, header_magic, 4) != 0) {
        return err_set(err, PITR_CORRUPT, "object \"%s\" is corrupt: not a pitr object (bad magic)",
                       name);
    }
    if (p[4] != FORMAT_V1 && p[4] != FORMAT_VERSION) {
        return err_set(err, PITR_CORRUPT,
                       "object \"%s\" has format version %u, which this pitr does not know: "
                       "upgrade pitr",
                       name, p[4]);
    }
    if (p[5] > OBJECT_COMPRESS_ZSTD || p[6] > ENCRYPT_AES_256_GCM || p[7] != 0) {
        return err_set(err, PITR_CORRUPT, "object \"%s\" is corrupt: unknown algorithm in header",
                       name);
    }
    out->version = p[4];
    out->compression = (enum object_compression)p[5];
    out->encrypted = p[6] == ENCRYPT_AES_256_GCM;
    if (!out->encrypted) {
        /* key id and salt are unused and must be zero: the header is not authenticated here */
        for (size_t i = 8; i < OBJECT_HEADER_LEN; i++) {
            if (p[i] != 0) {
                return err_set(err, PITR_CORRUPT, "object \"%s\" is corrupt: damaged header", name);
            }
        }
        if (ring != NULL) {
            /* data-loss guard: the configuration decides whether to decrypt, never the object;
             * anyone who can write to the repository can write an unencrypted object */
            return err_set(err, PITR_CORRUPT,
                           "object \"%s\" is not encrypted, but an encryption key is configured: "
                           "refusing it as unauthenticated (it was not written with this key)",
                           name);
        }
        return PITR_OK;
    }
    str_hex_encode(p + 8, KEY_ID_LEN, have);
    if (ring == NULL) {
        return err_set(err, PITR_CONFIG,
                       "object \"%s\" is encrypted (key id %s): set encryption_key_file", name,
                       have);
    }
    out->key = key_ring_find(ring, p + 8);
    if (out->key == NULL) {
        return err_set(err, PITR_CONFIG,
                       "object \"%s\" was encrypted with a different key (key id %s): check "
                       "encryption_key_file and encryption_old_key_files",
                       name, have);
    }
    if (out->version == FORMAT_V1) {
        return PITR_OK;
    }
    out->need = OBJECT_PREFIX_MAX;
    if (len < OBJECT_PREFIX_MAX) {
        return PITR_OK;
    }
    binding_compute(out->key, p, sysid, name, binding);
    if (!digest_equal(binding, p + OBJECT_HEADER_LEN, OBJECT_BINDING_LEN)) {
        /* data-loss guard: a valid object copied under another name (segment 2 as segment 3)
         * would be replayed as the wrong WAL */
        return err_set(err, PITR_CORRUPT,
                       "object \"%s\" failed authentication: it was written under another name "
                       "or for another cluster, or it is damaged",
                       name);
    }
    return PITR_OK;
}

enum pitr_rc object_check_prefix(const uint8_t *prefix, size_t len, const struct key *key,
                                 uint64_t sysid, const char *name, struct object_summary *out,
                                 struct pitr_err *err)
{
    struct prefix info;
    enum pitr_rc rc = prefix_check(prefix, len, key, sysid, name, &info, err);

    if (rc == PITR_OK && info.need > len) {
        rc = err_set(err, PITR_CORRUPT, "object \"%s\" is corrupt: shorter than its header", name);
    }
    if (rc == PITR_OK && out != NULL) {
        out->version = info.version;
        out->encrypted = info.encrypted;
        if (info.encrypted) {
            memcpy(out->key_id, prefix + 8, KEY_ID_LEN);
        }
    }
    return rc;
}

struct object_reader {
    struct filter base;
    struct filter *out;
    const struct key *key;
    uint64_t sysid;
    char *name;
    uint8_t header[OBJECT_PREFIX_MAX];
    size_t header_len;
    struct prefix prefix;
    struct filter *stages[READ_STAGES_MAX]; /* owned, in data-flow order */
    size_t nstages;
    struct filter *sha;
    struct filter *raw_size;
    uint64_t stored;
};

static void chain(struct object_reader *r, struct filter *stage)
{
    if (r->nstages > 0) {
        r->stages[r->nstages - 1]->next = stage;
    }
    r->stages[r->nstages++] = stage;
}

/* Builds the read chain for a checked prefix. */
static void build_chain(struct object_reader *r)
{
    struct strip_stage *strip;
    struct verify_stage *verify;

    if (r->prefix.encrypted) {
        uint8_t object_key[KEY_LEN];

        key_derive_object(r->prefix.key, r->header + 16, object_key);
        chain(r, aead_decrypt_filter_new(object_key, r->header, r->prefix.need, r->name));
        explicit_bzero(object_key, sizeof(object_key));
    }
    strip = xcalloc(1, sizeof(*strip));
    filter_init(&strip->base, &strip_ops);
    chain(r, &strip->base);
    if (r->prefix.compression == OBJECT_COMPRESS_LZ4) {
        chain(r, lz4_decompress_filter_new(r->name));
    } else if (r->prefix.compression == OBJECT_COMPRESS_ZSTD) {
        chain(r, zstd_decompress_filter_new(r->name));
    }
    r->sha = sha256_filter_new();
    r->raw_size = size_filter_new();
    chain(r, r->sha);
    chain(r, r->raw_size);
    verify = xcalloc(1, sizeof(*verify));
    filter_init(&verify->base, &verify_ops);
    verify->strip = strip;
    verify->sha = r->sha;
    verify->size = r->raw_size;
    verify->name = r->name;
    chain(r, &verify->base);
    verify->base.next = r->out;
}

static enum pitr_rc reader_write(struct filter *f, const uint8_t *data, size_t len,
                                 struct pitr_err *err)
{
    struct object_reader *r = (struct object_reader *)f;

    r->stored += len;
    while (r->nstages == 0 && len > 0) {
        size_t need = r->prefix.need > 0 ? r->prefix.need : OBJECT_HEADER_LEN;
        size_t take = need - r->header_len;
        enum pitr_rc rc;

        take = take < len ? take : len;
        memcpy(r->header + r->header_len, data, take);
        r->header_len += take;
        data += take;
        len -= take;
        if (r->header_len < need) {
            return PITR_OK;
        }
        rc = prefix_check(r->header, r->header_len, r->key, r->sysid, r->name, &r->prefix, err);
        if (rc != PITR_OK) {
            return rc;
        }
        if (r->prefix.need <= r->header_len) {
            build_chain(r);
        }
    }
    return len == 0 ? PITR_OK : filter_write(r->stages[0], data, len, err);
}

static enum pitr_rc reader_finish(struct filter *f, struct pitr_err *err)
{
    struct object_reader *r = (struct object_reader *)f;

    if (r->nstages == 0) {
        return err_set(err, PITR_CORRUPT, "object \"%s\" is corrupt: shorter than its header",
                       r->name);
    }
    /* finishing the chain finishes out, but only after the verify stage passed */
    return filter_finish(r->stages[0], err);
}

static void reader_free(struct filter *f)
{
    struct object_reader *r = (struct object_reader *)f;

    for (size_t i = 0; i < r->nstages; i++) {
        filter_free(r->stages[i]);
    }
    free(r->name);
    free(r);
}

static const struct filter_ops reader_ops = {"object-reader", reader_write, reader_finish,
                                             reader_free};

struct filter *object_reader_new(struct filter *out, const struct key *key, uint64_t sysid,
                                 const char *name)
{
    struct object_reader *r = xcalloc(1, sizeof(*r));

    filter_init(&r->base, &reader_ops);
    r->out = out;
    r->key = key;
    r->sysid = sysid;
    r->name = xstrdup(name);
    return &r->base;
}

void object_reader_summary(const struct filter *reader, struct object_summary *out)
{
    const struct object_reader *r = (const struct object_reader *)reader;

    memset(out, 0, sizeof(*out));
    sha256_filter_digest(r->sha, out->sha256);
    out->raw_size = size_filter_bytes(r->raw_size);
    out->stored_size = r->stored;
    out->version = r->prefix.version;
    out->encrypted = r->prefix.encrypted;
    if (r->prefix.encrypted) {
        memcpy(out->key_id, r->header + 8, KEY_ID_LEN);
    }
}

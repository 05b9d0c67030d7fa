/* Tests for lib/object (and through it every codec and crypto stage): round trips in every
 * combination and input chunking, and damage of every kind, which must be PITR_CORRUPT (or
 * PITR_CONFIG for key problems), never a crash and never a pass. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/strutil.h"
#include "compress/lz4.h"
#include "compress/zstd.h"
#include "crypto/aead.h"
#include "crypto/key.h"
#include "object/object.h"
#include "support/testutil.h"

static const uint8_t secret_a[] = "0123456789abcdef0123456789abcdef-key-a";
static const uint8_t secret_b[] = "0123456789abcdef0123456789abcdef-key-b";

/* What the test objects are bound to: their repository key and their cluster. */
#define TEST_NAME "test/obj"
#define TEST_SYSID UINT64_C(7312345678901234567)

/* The errors of an object that is not what the reader's configuration expects. */
#define MSG_BINDING_FMT                                                                            \
    "object \"%s\" failed authentication: it was written under another name or for another "       \
    "cluster, or it is damaged"
#define MSG_PLAIN                                                                                  \
    "object \"" TEST_NAME "\" is not encrypted, but an encryption key is configured: refusing it " \
    "as unauthenticated (it was not written with this key)"
#define MSG_NO_KEY_FMT "object \"%s\" is encrypted (key id %s): set encryption_key_file"
#define MSG_SHORT "object \"" TEST_NAME "\" is corrupt: shorter than its header"

struct combo {
    enum object_compression comp;
    int level;
    int encrypted;
    bool parallel;
};

static const struct combo combos[] = {
    {OBJECT_COMPRESS_NONE, 0, 0, false}, {OBJECT_COMPRESS_LZ4, 0, 0, false},
    {OBJECT_COMPRESS_ZSTD, 0, 0, false}, {OBJECT_COMPRESS_ZSTD, 19, 0, false},
    {OBJECT_COMPRESS_NONE, 0, 1, false}, {OBJECT_COMPRESS_LZ4, 0, 1, false},
    {OBJECT_COMPRESS_ZSTD, 1, 1, false}, {OBJECT_COMPRESS_LZ4, 0, 0, true},
    {OBJECT_COMPRESS_LZ4, 0, 1, true},
};

/* Sizes around every internal buffer boundary: AES chunk 64 KiB, lz4 step, trailer 44. */
static const size_t sizes[] = {
    0, 1, 43, 44, 45, 4096, 65535, 65536, 65537, 131072 + 17, (1u << 20) + 3};
static const size_t chunks[] = {1, 7, 4096, 65536, 1u << 20};

static struct key *key_a(void)
{
    struct pitr_err err;
    struct key *k = key_from_secret(secret_a, sizeof(secret_a) - 1, &err);

    ck_assert_ptr_nonnull(k);
    return k;
}

static void encode(const struct combo *c, const struct key *k, const uint8_t *data, size_t len,
                   size_t chunk, struct buf *out, struct object_summary *sum)
{
    struct object_opts opts = {.compression = c->comp,
                               .level = c->level,
                               .key = c->encrypted ? k : NULL,
                               .parallel = c->parallel,
                               .name = TEST_NAME,
                               .sysid = TEST_SYSID};
    struct pitr_err err;
    struct object_writer *w = object_writer_new(buf_sink_new(out), &opts, &err);

    ck_assert_ptr_nonnull(w);
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;

        ck_assert_int_eq(object_writer_write(w, data + off, n, &err), PITR_OK);
    }
    ck_assert_int_eq(object_writer_finish(w, sum, &err), PITR_OK);
    object_writer_free(w);
}

/* Decodes stored[0..len) as the object `name` of cluster `sysid` in pieces of `chunk`; returns
 * the rc and fills plain and err. */
static enum pitr_rc decode_as(const struct key *k, uint64_t sysid, const char *name,
                              const uint8_t *stored, size_t len, size_t chunk, struct buf *plain,
                              struct pitr_err *err, struct object_summary *sum)
{
    struct filter *sink = buf_sink_new(plain);
    struct filter *reader = object_reader_new(sink, k, sysid, name);
    enum pitr_rc rc = PITR_OK;

    for (size_t off = 0; off < len && rc == PITR_OK; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;

        rc = filter_write(reader, stored + off, n, err);
    }
    if (rc == PITR_OK) {
        rc = filter_finish(reader, err);
    }
    if (rc == PITR_OK && sum != NULL) {
        object_reader_summary(reader, sum);
    }
    filter_free(reader);
    filter_free(sink);
    return rc;
}

/* The reader's key for an object of combo c: the key exactly when the object is encrypted (with a
 * key, an unencrypted object is refused: test_object_reader_key_ring). */
static const struct key *reader_key(const struct combo *c, const struct key *k)
{
    return c->encrypted ? k : NULL;
}

/* Decodes stored[0..len) under the name and cluster it was written for. */
static enum pitr_rc decode(const struct key *k, const uint8_t *stored, size_t len, size_t chunk,
                           struct buf *plain, struct pitr_err *err, struct object_summary *sum)
{
    return decode_as(k, TEST_SYSID, TEST_NAME, stored, len, chunk, plain, err, sum);
}

START_TEST(test_object_round_trip)
{
    const struct combo *c = &combos[_i];
    struct key *k = key_a();
    uint8_t *data = malloc(sizes[sizeof(sizes) / sizeof(sizes[0]) - 1]);

    testutil_fill(data, sizes[sizeof(sizes) / sizeof(sizes[0]) - 1], 7);
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        for (size_t ch = 0; ch < sizeof(chunks) / sizeof(chunks[0]); ch++) {
            struct buf stored;
            struct buf plain;
            struct object_summary wsum;
            struct object_summary rsum;
            struct pitr_err err;

            if (chunks[ch] < 4096 && sizes[s] > 70000) {
                continue; /* byte-at-a-time over a megabyte adds time, not coverage */
            }
            buf_init(&stored, 8u << 20);
            buf_init(&plain, 8u << 20);
            encode(c, k, data, sizes[s], chunks[ch], &stored, &wsum);
            ck_assert_uint_eq(wsum.raw_size, sizes[s]);
            ck_assert_uint_eq(wsum.stored_size, stored.len);
            ck_assert_int_eq(
                decode(reader_key(c, k), stored.data, stored.len, chunks[ch], &plain, &err, &rsum),
                PITR_OK);
            ck_assert_uint_eq(plain.len, sizes[s]);
            ck_assert(sizes[s] == 0 || memcmp(plain.data, data, sizes[s]) == 0);
            ck_assert_mem_eq(rsum.sha256, wsum.sha256, 32);
            ck_assert_uint_eq(rsum.stored_size, stored.len);
            buf_fini(&stored);
            buf_fini(&plain);
        }
    }
    free(data);
    key_free(k);
}
END_TEST

/* Damage must never produce wrong content: a flip is either refused or (where a codec field does
 * not change the output, such as a zstd window hint) decodes to exactly the original bytes, which
 * the SHA-256 then proves. Every truncation is refused. */
START_TEST(test_object_reader_detects_damage)
{
    const struct combo *c = &combos[_i];
    struct key *k = key_a();
    uint8_t data[3000];
    struct buf stored;
    struct object_summary sum;

    testutil_fill(data, sizeof(data), 3);
    buf_init(&stored, 1u << 20);
    encode(c, k, data, sizeof(data), sizeof(data), &stored, &sum);
    /* every byte of the header, the trailer and the first and last chunks; a stride between */
    for (size_t pos = 0; pos < stored.len; pos += (pos < 200 || pos + 200 > stored.len) ? 1 : 37) {
        struct buf plain;
        struct pitr_err err;
        enum pitr_rc rc;

        buf_init(&plain, 1u << 20);
        stored.data[pos] ^= 0x5a;
        rc = decode(reader_key(c, k), stored.data, stored.len, 512, &plain, &err, NULL);
        stored.data[pos] ^= 0x5a;
        if (rc == PITR_OK) {
            ck_assert_msg(pos >= OBJECT_HEADER_LEN && c->comp != OBJECT_COMPRESS_NONE,
                          "flip at %zu of %zu was not detected", pos, stored.len);
            ck_assert_uint_eq(plain.len, sizeof(data));
            ck_assert_mem_eq(plain.data, data, sizeof(data));
        } else {
            /* a flipped key-id byte reads as "a different key": also a refusal */
            ck_assert_msg(rc == PITR_CORRUPT ||
                              (c->encrypted && pos >= 8 && pos < 16 && rc == PITR_CONFIG),
                          "flip at %zu of %zu: rc %d", pos, stored.len, rc);
            ck_assert_ptr_nonnull(strstr(err.msg, "test/obj"));
        }
        buf_fini(&plain);
    }
    for (size_t cut = 0; cut < stored.len; cut += (cut < 100 || cut + 100 > stored.len) ? 1 : 53) {
        struct buf plain;
        struct pitr_err err;

        buf_init(&plain, 1u << 20);
        ck_assert_int_eq(decode(reader_key(c, k), stored.data, cut, 100, &plain, &err, NULL),
                         PITR_CORRUPT);
        buf_fini(&plain);
    }
    buf_fini(&stored);
    key_free(k);
}
END_TEST

START_TEST(test_object_reader_trailing_garbage)
{
    const struct combo *c = &combos[_i];
    struct key *k = key_a();
    uint8_t data[1000];
    struct buf stored;
    struct buf plain;
    struct object_summary sum;
    struct pitr_err err;

    testutil_fill(data, sizeof(data), 5);
    buf_init(&stored, 1u << 20);
    buf_init(&plain, 1u << 20);
    encode(c, k, data, sizeof(data), sizeof(data), &stored, &sum);
    ck_assert_int_eq(buf_append(&stored, "xyz", 3, &err), PITR_OK);
    ck_assert_int_eq(decode(reader_key(c, k), stored.data, stored.len, 4096, &plain, &err, NULL),
                     PITR_CORRUPT);
    buf_fini(&stored);
    buf_fini(&plain);
    key_free(k);
}
END_TEST

/* Truncation exactly at an encrypted chunk boundary: only the "last chunk" flag can tell. */
START_TEST(test_object_reader_truncated_at_chunk_boundary)
{
    struct key *k = key_a();
    struct combo c = {OBJECT_COMPRESS_NONE, 0, 1, false};
    size_t len = 3 * 65536 + 100;
    uint8_t *data = malloc(len);
    struct buf stored;
    struct buf plain;
    struct object_summary sum;
    struct pitr_err err;
    size_t boundary = OBJECT_PREFIX_MAX + 2 * (65536 + 16); /* header, binding, two chunks */

    testutil_fill(data, len, 9);
    buf_init(&stored, 4u << 20);
    buf_init(&plain, 4u << 20);
    encode(&c, k, data, len, len, &stored, &sum);
    ck_assert_int_eq(decode(k, stored.data, boundary, 65536, &plain, &err, NULL), PITR_CORRUPT);
    ck_assert_ptr_nonnull(strstr(err.msg, "authentication of encrypted chunk 1 failed"));
    buf_fini(&stored);
    buf_fini(&plain);
    free(data);
    key_free(k);
}
END_TEST

START_TEST(test_object_reader_key_errors)
{
    struct key *a = key_a();
    struct pitr_err err;
    struct key *b = key_from_secret(secret_b, sizeof(secret_b) - 1, &err);
    struct combo c = {OBJECT_COMPRESS_LZ4, 0, 1, false};
    struct combo plain_combo = {OBJECT_COMPRESS_LZ4, 0, 0, false};
    uint8_t data[100] = {1, 2, 3};
    struct buf stored;
    struct buf plain;
    struct object_summary sum;

    buf_init(&stored, 1u << 20);
    buf_init(&plain, 1u << 20);
    encode(&c, a, data, sizeof(data), sizeof(data), &stored, &sum);
    ck_assert_int_eq(decode(NULL, stored.data, stored.len, 64, &plain, &err, NULL), PITR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "object \"test/obj\" is encrypted (key id "));
    ck_assert_ptr_nonnull(strstr(err.msg, "): set encryption_key_file"));
    ck_assert_int_eq(decode(b, stored.data, stored.len, 64, &plain, &err, NULL), PITR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "was encrypted with a different key (key id "));
    ck_assert_uint_eq(plain.len, 0);
    /* an unencrypted object reads without a key; with one it is refused as unauthenticated */
    buf_reset(&stored);
    encode(&plain_combo, a, data, sizeof(data), sizeof(data), &stored, &sum);
    ck_assert_int_eq(decode(NULL, stored.data, stored.len, 64, &plain, &err, NULL), PITR_OK);
    ck_assert_uint_eq(plain.len, sizeof(data));
    buf_reset(&plain);
    ck_assert_int_eq(decode(b, stored.data, stored.len, 64, &plain, &err, NULL), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, MSG_PLAIN);
    ck_assert_uint_eq(plain.len, 0);
    buf_fini(&stored);
    buf_fini(&plain);
    key_free(a);
    key_free(b);
}
END_TEST

START_TEST(test_object_reader_bad_header)
{
    uint8_t bad[64] = "NOPE";
    struct buf plain;
    struct pitr_err err;

    buf_init(&plain, 1024);
    ck_assert_int_eq(decode(NULL, bad, sizeof(bad), 64, &plain, &err, NULL), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "object \"test/obj\" is corrupt: not a pitr object (bad magic)");
    memcpy(bad, "PITR\x09", 5);
    ck_assert_int_eq(decode(NULL, bad, sizeof(bad), 64, &plain, &err, NULL), PITR_CORRUPT);
    ck_assert_ptr_nonnull(strstr(err.msg, "format version 9"));
    ck_assert_int_eq(decode(NULL, bad, 10, 64, &plain, &err, NULL), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "object \"test/obj\" is corrupt: shorter than its header");
    buf_fini(&plain);
}
END_TEST

static const struct {
    const char *text;
    enum pitr_rc rc;
    enum object_compression comp;
    int level;
} comp_names[] = {
    {"none", PITR_OK, OBJECT_COMPRESS_NONE, 0},
    {"lz4", PITR_OK, OBJECT_COMPRESS_LZ4, 0},
    {"zstd", PITR_OK, OBJECT_COMPRESS_ZSTD, 0},
    {"zstd:1", PITR_OK, OBJECT_COMPRESS_ZSTD, 1},
    {"zstd:19", PITR_OK, OBJECT_COMPRESS_ZSTD, 19},
    {"zstd:0", PITR_CONFIG, 0, 0},
    {"zstd:20", PITR_CONFIG, 0, 0},
    {"zstd:", PITR_CONFIG, 0, 0},
    {"gzip", PITR_CONFIG, 0, 0},
    {"LZ4", PITR_CONFIG, 0, 0},
};

START_TEST(test_object_compression_parse)
{
    enum object_compression comp;
    int level = -1;
    struct pitr_err err;

    ck_assert_int_eq(object_compression_parse(comp_names[_i].text, &comp, &level, &err),
                     comp_names[_i].rc);
    if (comp_names[_i].rc == PITR_OK) {
        ck_assert_int_eq(comp, comp_names[_i].comp);
        ck_assert_int_eq(level, comp_names[_i].level);
    } else {
        ck_assert_ptr_nonnull(strstr(err.msg, "expected lz4, zstd, zstd:N (1-19) or none"));
    }
}
END_TEST

/* --- precompressed input: the server's frame is stored as is -----------------------------------
 */

static void compress_frame(enum object_compression comp, const uint8_t *data, size_t len,
                           struct buf *frame)
{
    struct pitr_err err;
    struct pipeline *p = pipeline_new(buf_sink_new(frame));

    pipeline_add(p, comp == OBJECT_COMPRESS_LZ4 ? lz4_compress_filter_new(0)
                                                : zstd_compress_filter_new(0));
    ck_assert_int_eq(pipeline_write(p, data, len, &err), PITR_OK);
    ck_assert_int_eq(pipeline_finish(p, &err), PITR_OK);
    pipeline_free(p);
}

/* Writes frame as precompressed input in pieces of chunk; returns the first failure. */
static enum pitr_rc encode_precompressed(enum object_compression comp, const struct key *k,
                                         const uint8_t *frame, size_t len, size_t chunk,
                                         struct buf *out, struct object_summary *sum,
                                         struct pitr_err *err)
{
    struct object_opts opts = {.compression = comp,
                               .key = k,
                               .precompressed = true,
                               .name = TEST_NAME,
                               .sysid = TEST_SYSID};
    struct object_writer *w = object_writer_new(buf_sink_new(out), &opts, err);
    enum pitr_rc rc = PITR_OK;

    ck_assert_ptr_nonnull(w);
    for (size_t off = 0; off < len && rc == PITR_OK; off += chunk) {
        rc = object_writer_write(w, frame + off, len - off < chunk ? len - off : chunk, err);
    }
    if (rc == PITR_OK) {
        rc = object_writer_finish(w, sum, err);
    }
    object_writer_free(w);
    return rc;
}

static const size_t pre_sizes[] = {0, 1, 4096, 65537, (1u << 20) + 3};

/* _i: bit 0 zstd (else lz4), bit 1 encrypted. */
START_TEST(test_object_precompressed_round_trip)
{
    enum object_compression comp = (_i & 1) ? OBJECT_COMPRESS_ZSTD : OBJECT_COMPRESS_LZ4;
    struct key *k = (_i & 2) ? key_a() : NULL;
    size_t max = pre_sizes[sizeof(pre_sizes) / sizeof(pre_sizes[0]) - 1];
    uint8_t *data = malloc(max);

    testutil_fill(data, max, 11);
    for (size_t s = 0; s < sizeof(pre_sizes) / sizeof(pre_sizes[0]); s++) {
        static const size_t pre_chunks[] = {7, 4096, 1u << 20};

        for (size_t ch = 0; ch < sizeof(pre_chunks) / sizeof(pre_chunks[0]); ch++) {
            struct buf frame;
            struct buf stored;
            struct buf plain;
            struct object_summary wsum;
            struct object_summary rsum;
            uint8_t want[SHA256_LEN];
            struct pitr_err err;

            if (pre_chunks[ch] < 4096 && pre_sizes[s] > 70000) {
                continue;
            }
            buf_init(&frame, 8u << 20);
            buf_init(&stored, 8u << 20);
            buf_init(&plain, 8u << 20);
            compress_frame(comp, data, pre_sizes[s], &frame);
            ck_assert_msg(encode_precompressed(comp, k, frame.data, frame.len, pre_chunks[ch],
                                               &stored, &wsum, &err) == PITR_OK,
                          "%s", err.msg);
            /* the summary is of the content, not of the frame */
            sha256_buffer(data, pre_sizes[s], want);
            ck_assert_uint_eq(wsum.raw_size, pre_sizes[s]);
            ck_assert_mem_eq(wsum.sha256, want, SHA256_LEN);
            ck_assert_uint_eq(wsum.stored_size, stored.len);
            ck_assert_uint_eq(stored.data[5], (uint8_t)comp); /* header: compression */
            if (k == NULL) {
                /* the frame is stored byte for byte, then the trailer */
                ck_assert_uint_eq(stored.len, OBJECT_HEADER_LEN + frame.len + OBJECT_TRAILER_LEN);
                ck_assert_mem_eq(stored.data + OBJECT_HEADER_LEN, frame.data, frame.len);
            }
            ck_assert_msg(decode(k, stored.data, stored.len, 65536, &plain, &err, &rsum) == PITR_OK,
                          "%s", err.msg);
            ck_assert_uint_eq(plain.len, pre_sizes[s]);
            if (pre_sizes[s] > 0) {
                ck_assert_mem_eq(plain.data, data, pre_sizes[s]);
            }
            ck_assert_uint_eq(rsum.raw_size, pre_sizes[s]);
            ck_assert_mem_eq(rsum.sha256, want, SHA256_LEN);
            buf_fini(&frame);
            buf_fini(&stored);
            buf_fini(&plain);
        }
    }
    free(data);
    key_free(k);
}
END_TEST

/* A damaged frame from the server fails the write (as the reader would fail later): _i picks
 * the codec (bit 0) and the damage (bits 1-2: byte flipped, truncated, trailing garbage, not a
 * frame at all). */
START_TEST(test_object_precompressed_damaged_frame)
{
    enum object_compression comp = (_i & 1) ? OBJECT_COMPRESS_ZSTD : OBJECT_COMPRESS_LZ4;
    int damage = _i >> 1;
    size_t len = 200000;
    uint8_t *data = malloc(len);
    struct buf frame;
    struct buf stored;
    struct pitr_err err;
    struct object_summary sum;
    enum pitr_rc rc;

    testutil_fill(data, len, 5);
    buf_init(&frame, 8u << 20);
    buf_init(&stored, 8u << 20);
    compress_frame(comp, data, len, &frame);
    if (damage == 0) {
        frame.data[frame.len / 2] ^= 0x5a;
    } else if (damage == 1) {
        frame.len -= 5;
    } else if (damage == 2) {
        ck_assert_int_eq(buf_append(&frame, "junk", 4, &err), PITR_OK);
    } else {
        memcpy(frame.data, "not a frame at all", 18);
    }
    rc = encode_precompressed(comp, NULL, frame.data, frame.len, 4096, &stored, &sum, &err);
    if (damage == 0 && rc == PITR_OK) {
        uint8_t want[SHA256_LEN];

        /* the frames carry no checksum, so a changed literal may decode: it must then show in
         * the recorded SHA-256, which is of what the frame decodes to */
        sha256_buffer(data, len, want);
        ck_assert(memcmp(sum.sha256, want, SHA256_LEN) != 0);
    } else {
        ck_assert_int_eq(rc, PITR_CORRUPT);
        ck_assert_msg(strstr(err.msg, "compressed input") != NULL, "%s", err.msg);
    }
    buf_fini(&frame);
    buf_fini(&stored);
    free(data);
}
END_TEST

/* --- binding to (name, cluster), key rings, format 1 ------------------------------------------ */

/* Chunk sizes around the header (32) and the header with its binding (64). */
static const size_t prefix_chunks[] = {1, 7, 31, 32, 33, 63, 64, 65, 4096};

static struct key *key_b(void)
{
    struct pitr_err err;
    struct key *k = key_from_secret(secret_b, sizeof(secret_b) - 1, &err);

    ck_assert_ptr_nonnull(k);
    return k;
}

/* Keys a test writes with or reads with; RING_B_A is key b with key a as an old key. */
enum ring { RING_NONE, RING_A, RING_B, RING_B_A };

static struct key *ring_new(enum ring which)
{
    struct pitr_err err;
    struct key *k;

    switch (which) {
    case RING_A:
        return key_a();
    case RING_B:
        return key_b();
    case RING_B_A:
        k = key_b();
        ck_assert_msg(key_ring_add(k, key_a(), &err) == PITR_OK, "%s", err.msg);
        return k;
    case RING_NONE:
        break;
    }
    return NULL;
}

/* Asserts that object_check_prefix on the first bytes of stored (OBJECT_PREFIX_MAX, or fewer
 * when the object is shorter) gives rc, and then the same message as the reader (want_msg). */
static void assert_prefix_verdict(const struct key *k, uint64_t sysid, const char *name,
                                  const struct buf *stored, enum pitr_rc rc, const char *want_msg,
                                  struct object_summary *sum)
{
    struct pitr_err err;
    size_t len = stored->len < OBJECT_PREFIX_MAX ? stored->len : OBJECT_PREFIX_MAX;

    memset(sum, 0x5a, sizeof(*sum));
    ck_assert_int_eq(object_check_prefix(stored->data, len, k, sysid, name, sum, &err), rc);
    if (rc != PITR_OK) {
        ck_assert_int_eq(err.rc, rc);
        ck_assert_str_eq(err.msg, want_msg);
    }
}

static const struct {
    const char *name; /* read under */
    uint64_t sysid;   /* read for */
    enum pitr_rc rc;
} bindings[] = {
    {TEST_NAME, TEST_SYSID, PITR_OK},
    {"test/obk", TEST_SYSID, PITR_CORRUPT},       /* a neighbour: segment 2 as segment 3 */
    {"test/ob", TEST_SYSID, PITR_CORRUPT},        /* a prefix of the name */
    {"test/obj/", TEST_SYSID, PITR_CORRUPT},      /* the name and more */
    {"other/test/obj", TEST_SYSID, PITR_CORRUPT}, /* another cluster's folder */
    {TEST_NAME, TEST_SYSID + 1, PITR_CORRUPT},    /* another cluster */
    {TEST_NAME, TEST_SYSID ^ (UINT64_C(1) << 63), PITR_CORRUPT},
    {TEST_NAME, 0, PITR_CORRUPT}, /* as a cluster record */
    {"test/obk", TEST_SYSID + 1, PITR_CORRUPT},
};

/* An encrypted object reads only under the name and for the cluster it was written for, in every
 * chunking; elsewhere it fails before any content is let out, and its first bytes say so alone. */
START_TEST(test_object_reader_binding)
{
    struct key *k = key_a();
    struct combo c = {OBJECT_COMPRESS_LZ4, 0, 1, false};
    uint8_t data[5000];
    struct buf stored;
    struct object_summary sum;
    char want[256] = "";

    testutil_fill(data, sizeof(data), 13);
    buf_init(&stored, 1u << 20);
    encode(&c, k, data, sizeof(data), sizeof(data), &stored, &sum);
    if (bindings[_i].rc != PITR_OK) {
        snprintf(want, sizeof(want), MSG_BINDING_FMT, bindings[_i].name);
    }
    for (size_t ch = 0; ch < sizeof(prefix_chunks) / sizeof(prefix_chunks[0]); ch++) {
        struct buf plain;
        struct pitr_err err;
        enum pitr_rc rc;

        buf_init(&plain, 1u << 20);
        rc = decode_as(k, bindings[_i].sysid, bindings[_i].name, stored.data, stored.len,
                       prefix_chunks[ch], &plain, &err, &sum);
        ck_assert_int_eq(rc, bindings[_i].rc);
        if (rc == PITR_OK) {
            ck_assert_uint_eq(plain.len, sizeof(data));
            ck_assert_mem_eq(plain.data, data, sizeof(data));
            ck_assert_uint_eq(sum.version, 2);
            ck_assert(sum.encrypted);
        } else {
            ck_assert_str_eq(err.msg, want);
            ck_assert_uint_eq(plain.len, 0);
        }
        buf_fini(&plain);
    }
    assert_prefix_verdict(k, bindings[_i].sysid, bindings[_i].name, &stored, bindings[_i].rc, want,
                          &sum);
    if (bindings[_i].rc == PITR_OK) {
        uint8_t id[KEY_ID_LEN];

        key_id(k, id);
        ck_assert_uint_eq(sum.version, 2);
        ck_assert(sum.encrypted);
        ck_assert_mem_eq(sum.key_id, id, KEY_ID_LEN);
    }
    buf_fini(&stored);
    key_free(k);
}
END_TEST

enum ring_msg { MSG_OK, MSG_ENCRYPTED, MSG_OTHER_KEY, MSG_UNENCRYPTED };

static const struct {
    enum ring writer; /* RING_NONE: unencrypted; else the ring's current key writes */
    enum ring reader;
    enum pitr_rc rc;
    enum ring_msg msg;
} rings[] = {
    {RING_A, RING_A, PITR_OK, MSG_OK},
    {RING_A, RING_B_A, PITR_OK, MSG_OK}, /* under a rotated-out key of the ring */
    {RING_B_A, RING_B_A, PITR_OK, MSG_OK},
    {RING_B_A, RING_B, PITR_OK, MSG_OK}, /* the old keys never write */
    {RING_A, RING_NONE, PITR_CONFIG, MSG_ENCRYPTED},
    {RING_A, RING_B, PITR_CONFIG, MSG_OTHER_KEY},
    {RING_B, RING_A, PITR_CONFIG, MSG_OTHER_KEY},
    {RING_NONE, RING_NONE, PITR_OK, MSG_OK},
    {RING_NONE, RING_A, PITR_CORRUPT, MSG_UNENCRYPTED},
    {RING_NONE, RING_B_A, PITR_CORRUPT, MSG_UNENCRYPTED},
};

/* The reader's keys decide: an object under any key of the ring reads and its summary names that
 * key; one under a key outside the ring is a configuration error naming the key it needs; an
 * unencrypted one is refused when keys are configured. object_check_prefix agrees. */
START_TEST(test_object_reader_key_ring)
{
    struct key *writer = ring_new(rings[_i].writer);
    struct key *reader = ring_new(rings[_i].reader);
    struct combo c = {OBJECT_COMPRESS_ZSTD, 0, writer != NULL, false};
    uint8_t data[3000];
    uint8_t id[KEY_ID_LEN] = {0};
    char hex[2 * KEY_ID_LEN + 1];
    char want[512] = "";
    struct buf stored;
    struct buf plain;
    struct object_summary sum;
    struct pitr_err err;

    testutil_fill(data, sizeof(data), 17);
    buf_init(&stored, 1u << 20);
    buf_init(&plain, 1u << 20);
    encode(&c, writer, data, sizeof(data), sizeof(data), &stored, &sum);
    if (writer != NULL) {
        key_id(writer, id);
    }
    str_hex_encode(id, KEY_ID_LEN, hex);
    if (rings[_i].msg == MSG_ENCRYPTED) {
        snprintf(want, sizeof(want), MSG_NO_KEY_FMT, TEST_NAME, hex);
    } else if (rings[_i].msg == MSG_OTHER_KEY) {
        snprintf(want, sizeof(want),
                 "object \"%s\" was encrypted with a different key (key id %s): check "
                 "encryption_key_file and encryption_old_key_files",
                 TEST_NAME, hex);
    } else if (rings[_i].msg == MSG_UNENCRYPTED) {
        snprintf(want, sizeof(want), "%s", MSG_PLAIN);
    }
    ck_assert_int_eq(decode(reader, stored.data, stored.len, 4096, &plain, &err, &sum),
                     rings[_i].rc);
    if (rings[_i].rc == PITR_OK) {
        ck_assert_uint_eq(plain.len, sizeof(data));
        ck_assert_mem_eq(plain.data, data, sizeof(data));
        ck_assert_uint_eq(sum.version, 2);
        ck_assert_int_eq(sum.encrypted, writer != NULL);
        ck_assert_mem_eq(sum.key_id, id, KEY_ID_LEN);
    } else {
        ck_assert_int_eq(err.rc, rings[_i].rc);
        ck_assert_str_eq(err.msg, want);
        ck_assert_uint_eq(plain.len, 0);
    }
    assert_prefix_verdict(reader, TEST_SYSID, TEST_NAME, &stored, rings[_i].rc, want, &sum);
    if (rings[_i].rc == PITR_OK) {
        ck_assert_uint_eq(sum.version, 2);
        ck_assert_int_eq(sum.encrypted, writer != NULL);
        if (writer != NULL) {
            ck_assert_mem_eq(sum.key_id, id, KEY_ID_LEN);
        }
    }
    buf_fini(&stored);
    buf_fini(&plain);
    key_free(writer);
    key_free(reader);
}
END_TEST

/* object_check_prefix needs the whole prefix: the header, and for an encrypted object of format 2
 * its binding. */
START_TEST(test_object_check_prefix_short)
{
    struct key *k = key_a();
    struct combo enc = {OBJECT_COMPRESS_NONE, 0, 1, false};
    struct combo plain_combo = {OBJECT_COMPRESS_NONE, 0, 0, false};
    uint8_t data[10] = {1};
    struct buf stored;
    struct object_summary sum;
    struct pitr_err err;

    buf_init(&stored, 1u << 20);
    encode(&enc, k, data, sizeof(data), sizeof(data), &stored, &sum);
    for (size_t len = 0; len < OBJECT_PREFIX_MAX; len++) {
        ck_assert_int_eq(
            object_check_prefix(stored.data, len, k, TEST_SYSID, TEST_NAME, NULL, &err),
            PITR_CORRUPT);
        ck_assert_str_eq(err.msg, MSG_SHORT);
    }
    ck_assert_int_eq(
        object_check_prefix(stored.data, OBJECT_PREFIX_MAX, k, TEST_SYSID, TEST_NAME, NULL, &err),
        PITR_OK);
    buf_reset(&stored);
    encode(&plain_combo, NULL, data, sizeof(data), sizeof(data), &stored, &sum);
    for (size_t len = 0; len < OBJECT_HEADER_LEN; len++) {
        ck_assert_int_eq(
            object_check_prefix(stored.data, len, NULL, TEST_SYSID, TEST_NAME, NULL, &err),
            PITR_CORRUPT);
        ck_assert_str_eq(err.msg, MSG_SHORT);
    }
    /* unencrypted: the header is the whole prefix */
    ck_assert_int_eq(object_check_prefix(stored.data, OBJECT_HEADER_LEN, NULL, TEST_SYSID,
                                         TEST_NAME, &sum, &err),
                     PITR_OK);
    ck_assert_uint_eq(sum.version, 2);
    ck_assert(!sum.encrypted);
    ck_assert_int_eq(
        object_check_prefix((const uint8_t *)"NOPE", 4, NULL, 0, TEST_NAME, NULL, &err),
        PITR_CORRUPT);
    ck_assert_str_eq(err.msg, MSG_SHORT);
    memcpy(stored.data, "NOPE", 4);
    ck_assert_int_eq(
        object_check_prefix(stored.data, stored.len, NULL, TEST_SYSID, TEST_NAME, NULL, &err),
        PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "object \"" TEST_NAME "\" is corrupt: not a pitr object (bad magic)");
    buf_fini(&stored);
    key_free(k);
}
END_TEST

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (56 - 8 * i));
    }
}

/* Builds an encrypted object of format 1 by hand: header (version 1) || AES-256-GCM chunks of
 * (content || trailer) with the header alone as AAD, as pitr wrote before objects were bound. */
static void encode_v1_encrypted(const struct key *k, const uint8_t *data, size_t len,
                                struct buf *out)
{
    uint8_t header[OBJECT_HEADER_LEN] = {'P', 'I', 'T', 'R', 1, OBJECT_COMPRESS_NONE, 1, 0};
    uint8_t trailer[OBJECT_TRAILER_LEN];
    uint8_t object_key[KEY_LEN];
    struct pitr_err err;
    struct pipeline *p;

    key_id(k, header + 8);
    ck_assert_int_eq(key_random(header + 16, KEY_SALT_LEN, &err), PITR_OK);
    key_derive_object(k, header + 16, object_key);
    put_be64(trailer, len);
    sha256_buffer(data, len, trailer + 8);
    memcpy(trailer + 40, "PEND", 4);
    ck_assert_int_eq(buf_append(out, header, sizeof(header), &err), PITR_OK);
    p = pipeline_new(buf_sink_new(out));
    pipeline_add(p, aead_encrypt_filter_new(object_key, header, sizeof(header)));
    ck_assert_int_eq(pipeline_write(p, data, len, &err), PITR_OK);
    ck_assert_int_eq(pipeline_write(p, trailer, sizeof(trailer), &err), PITR_OK);
    ck_assert_int_eq(pipeline_finish(p, &err), PITR_OK);
    pipeline_free(p);
}

/* Objects of format 1 (before the binding) still read: unencrypted ones without a key (with a key
 * they are unauthenticated), encrypted ones under any name, being authentic but not bound. A
 * format 2 object relabelled as format 1 to shed its binding does not read. */
START_TEST(test_object_reader_format_1)
{
    struct key *a = key_a();
    struct key *ring = ring_new(RING_B_A);
    struct key *b = key_b();
    struct combo plain_combo = {OBJECT_COMPRESS_LZ4, 0, 0, false};
    struct combo enc = {OBJECT_COMPRESS_NONE, 0, 1, false};
    size_t len = 65536 + 1000; /* two encrypted chunks */
    uint8_t *data = malloc(len);
    uint8_t ida[KEY_ID_LEN];
    struct buf stored;
    struct buf plain;
    struct object_summary sum;
    struct pitr_err err;

    testutil_fill(data, len, 19);
    key_id(a, ida);
    buf_init(&stored, 1u << 20);
    buf_init(&plain, 1u << 20);

    /* unencrypted: a format 2 object with its version byte set to 1 is exactly a format 1 one */
    encode(&plain_combo, NULL, data, len, len, &stored, &sum);
    ck_assert_uint_eq(stored.data[4], 2);
    stored.data[4] = 1;
    for (size_t ch = 0; ch < sizeof(prefix_chunks) / sizeof(prefix_chunks[0]); ch++) {
        buf_reset(&plain);
        ck_assert_msg(
            decode(NULL, stored.data, stored.len, prefix_chunks[ch], &plain, &err, &sum) == PITR_OK,
            "%s", err.msg);
        ck_assert_uint_eq(plain.len, len);
        ck_assert_mem_eq(plain.data, data, len);
        ck_assert_uint_eq(sum.version, 1);
        ck_assert(!sum.encrypted);
    }
    assert_prefix_verdict(NULL, TEST_SYSID, TEST_NAME, &stored, PITR_OK, NULL, &sum);
    ck_assert_uint_eq(sum.version, 1);
    ck_assert(!sum.encrypted);
    buf_reset(&plain);
    ck_assert_int_eq(decode(a, stored.data, stored.len, 4096, &plain, &err, NULL), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, MSG_PLAIN);
    assert_prefix_verdict(a, TEST_SYSID, TEST_NAME, &stored, PITR_CORRUPT, MSG_PLAIN, &sum);

    /* encrypted: read under any name and cluster, with the key or a ring holding it */
    buf_reset(&stored);
    encode_v1_encrypted(a, data, len, &stored);
    for (size_t ch = 0; ch < sizeof(prefix_chunks) / sizeof(prefix_chunks[0]); ch++) {
        buf_reset(&plain);
        ck_assert_msg(decode_as(ch % 2 ? a : ring, ch, ch % 3 ? TEST_NAME : "elsewhere",
                                stored.data, stored.len, prefix_chunks[ch], &plain, &err,
                                &sum) == PITR_OK,
                      "%s", err.msg);
        ck_assert_uint_eq(plain.len, len);
        ck_assert_mem_eq(plain.data, data, len);
        ck_assert_uint_eq(sum.version, 1);
        ck_assert(sum.encrypted);
        ck_assert_mem_eq(sum.key_id, ida, KEY_ID_LEN);
    }
    /* the header alone is its prefix */
    ck_assert_int_eq(
        object_check_prefix(stored.data, OBJECT_HEADER_LEN, ring, 0, "elsewhere", &sum, &err),
        PITR_OK);
    ck_assert_uint_eq(sum.version, 1);
    ck_assert(sum.encrypted);
    ck_assert_mem_eq(sum.key_id, ida, KEY_ID_LEN);
    buf_reset(&plain);
    ck_assert_int_eq(decode(NULL, stored.data, stored.len, 4096, &plain, &err, NULL), PITR_CONFIG);
    {
        char hexa[2 * KEY_ID_LEN + 1];
        char want[512];

        str_hex_encode(ida, KEY_ID_LEN, hexa);
        snprintf(want, sizeof(want), MSG_NO_KEY_FMT, TEST_NAME, hexa);
        ck_assert_str_eq(err.msg, want);
    }
    ck_assert_int_eq(decode(b, stored.data, stored.len, 4096, &plain, &err, NULL), PITR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "was encrypted with a different key"));
    /* relabelled as format 2, it lacks a binding */
    stored.data[4] = 2;
    ck_assert_int_eq(decode(a, stored.data, stored.len, 4096, &plain, &err, NULL), PITR_CORRUPT);
    ck_assert_str_eq(err.msg,
                     "object \"" TEST_NAME "\" failed authentication: it was written under "
                     "another name or for another cluster, or it is damaged");
    ck_assert_uint_eq(plain.len, 0);

    /* a format 2 object relabelled as format 1: its binding is not AAD-free body */
    buf_reset(&stored);
    encode(&enc, a, data, len, len, &stored, &sum);
    stored.data[4] = 1;
    ck_assert_int_eq(decode(a, stored.data, stored.len, 4096, &plain, &err, NULL), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "object \"" TEST_NAME "\" is corrupt: authentication of encrypted "
                              "chunk 0 failed (tampered, truncated or damaged)");
    ck_assert_uint_eq(plain.len, 0);
    buf_fini(&stored);
    buf_fini(&plain);
    free(data);
    key_free(a);
    key_free(b);
    key_free(ring);
}
END_TEST

Suite *object_suite(void)
{
    Suite *s = suite_create("object");
    TCase *tc = tcase_create("object");
    TCase *tc_bind = tcase_create("binding");
    TCase *tc_ring = tcase_create("key_ring");
    TCase *tc_v1 = tcase_create("format_1");
    size_t ncombos = sizeof(combos) / sizeof(combos[0]);

    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_object_round_trip, 0, (int)ncombos);
    tcase_add_loop_test(tc, test_object_reader_detects_damage, 0, (int)ncombos);
    tcase_add_loop_test(tc, test_object_reader_trailing_garbage, 0, (int)ncombos);
    tcase_add_test(tc, test_object_reader_truncated_at_chunk_boundary);
    tcase_add_test(tc, test_object_reader_key_errors);
    tcase_add_test(tc, test_object_reader_bad_header);
    tcase_add_loop_test(tc, test_object_precompressed_round_trip, 0, 4);
    tcase_add_loop_test(tc, test_object_precompressed_damaged_frame, 0, 8);
    tcase_add_loop_test(tc, test_object_compression_parse, 0,
                        (int)(sizeof(comp_names) / sizeof(comp_names[0])));
    suite_add_tcase(s, tc);

    tcase_add_loop_test(tc_bind, test_object_reader_binding, 0,
                        (int)(sizeof(bindings) / sizeof(bindings[0])));
    tcase_add_test(tc_bind, test_object_check_prefix_short);
    suite_add_tcase(s, tc_bind);
    tcase_add_loop_test(tc_ring, test_object_reader_key_ring, 0,
                        (int)(sizeof(rings) / sizeof(rings[0])));
    suite_add_tcase(s, tc_ring);
    tcase_add_test(tc_v1, test_object_reader_format_1);
    suite_add_tcase(s, tc_v1);
    return s;
}

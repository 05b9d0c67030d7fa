/* Tests for lib/object (and through it every codec and crypto stage): round trips in every
 * combination and input chunking, and damage of every kind, which must be PITR_CORRUPT (or
 * PITR_CONFIG for key problems), never a crash and never a pass. */
#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "compress/lz4.h"
#include "compress/zstd.h"
#include "crypto/key.h"
#include "object/object.h"
#include "support/testutil.h"

static const uint8_t secret_a[] = "0123456789abcdef0123456789abcdef-key-a";
static const uint8_t secret_b[] = "0123456789abcdef0123456789abcdef-key-b";

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
    struct object_opts opts = {c->comp,     c->level, c->encrypted ? k : NULL,
                               c->parallel, false,    false};
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

/* Decodes stored[0..len) in pieces of `chunk`; returns the rc and fills plain and err. */
static enum pitr_rc decode(const struct key *k, const uint8_t *stored, size_t len, size_t chunk,
                           struct buf *plain, struct pitr_err *err, struct object_summary *sum)
{
    struct filter *sink = buf_sink_new(plain);
    struct filter *reader = object_reader_new(sink, k, "test/obj");
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
            ck_assert_int_eq(decode(k, stored.data, stored.len, chunks[ch], &plain, &err, &rsum),
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
        rc = decode(k, stored.data, stored.len, 512, &plain, &err, NULL);
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
        ck_assert_int_eq(decode(k, stored.data, cut, 100, &plain, &err, NULL), PITR_CORRUPT);
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
    ck_assert_int_eq(decode(k, stored.data, stored.len, 4096, &plain, &err, NULL), PITR_CORRUPT);
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
    size_t boundary = OBJECT_HEADER_LEN + 2 * (65536 + 16);

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
    ck_assert_str_eq(err.msg, "object \"test/obj\" is encrypted: set encryption_key_file");
    ck_assert_int_eq(decode(b, stored.data, stored.len, 64, &plain, &err, NULL), PITR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "was encrypted with a different key (key id "));
    ck_assert_uint_eq(plain.len, 0);
    /* an unencrypted object reads fine whether or not a key is configured */
    buf_reset(&stored);
    encode(&plain_combo, a, data, sizeof(data), sizeof(data), &stored, &sum);
    ck_assert_int_eq(decode(b, stored.data, stored.len, 64, &plain, &err, NULL), PITR_OK);
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
    struct object_opts opts = {comp, 0, k, false, true, false};
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

Suite *object_suite(void)
{
    Suite *s = suite_create("object");
    TCase *tc = tcase_create("object");
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
    return s;
}

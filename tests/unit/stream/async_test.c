/* Tests for lib/stream/async.c: the async stage delivers every byte intact and in order whatever
 * the sizes (smaller than, equal to and larger than its ring), finish flushes, and a downstream
 * failure comes back to the producer with the same message, after which nothing more reaches the
 * failed stage and nothing hangs; the tee gives both branches the same bytes, finishes the side
 * first, and fails when either branch fails. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "stream/filter.h"
#include "stream/filter_int.h"
#include "support/testutil.h"

/* A sink that records what it gets, and fails on demand. */
struct probe {
    struct filter base;
    struct buf *out;
    uint64_t fail_after; /* fail the write that would pass this many bytes (UINT64_MAX: never) */
    bool fail_finish;
    int finishes;
    bool failed;
    int *clock; /* shared counter: finish order */
    int finished_at;
};

static enum pitr_rc probe_write(struct filter *f, const uint8_t *data, size_t len,
                                struct pitr_err *err)
{
    struct probe *p = (struct probe *)f;

    if (p->out->len + len > p->fail_after) {
        p->failed = true;
        return err_set(err, PITR_IO, "probe failed after %llu bytes",
                       (unsigned long long)p->fail_after);
    }
    return buf_append(p->out, data, len, err);
}

static enum pitr_rc probe_finish(struct filter *f, struct pitr_err *err)
{
    struct probe *p = (struct probe *)f;

    p->finishes++;
    p->finished_at = p->clock ? ++*p->clock : 0;
    if (p->fail_finish) {
        return err_set(err, PITR_IO, "probe failed to finish");
    }
    return filter_finish_next(f, err);
}

static void probe_free(struct filter *f)
{
    (void)f; /* owned by the test, freed with it: the pipeline frees the probe's wrapper only */
}

static const struct filter_ops probe_ops = {"probe", probe_write, probe_finish, probe_free};

static void probe_init(struct probe *p, struct buf *out)
{
    memset(p, 0, sizeof(*p));
    filter_init(&p->base, &probe_ops);
    p->out = out;
    p->fail_after = UINT64_MAX;
}

/* Writes data in pieces of `piece`; returns the first failure of write or finish. */
static enum pitr_rc push(struct pipeline *pl, const uint8_t *data, size_t len, size_t piece,
                         struct pitr_err *err)
{
    enum pitr_rc rc = PITR_OK;

    for (size_t off = 0; off < len && rc == PITR_OK; off += piece) {
        rc = pipeline_write(pl, data + off, len - off < piece ? len - off : piece, err);
    }
    return rc != PITR_OK ? rc : pipeline_finish(pl, err);
}

enum { CHUNK = 4096, DEPTH = 3, RING = CHUNK * DEPTH };

static const size_t sizes[] = {0,        1,    CHUNK - 1, CHUNK,          CHUNK + 1,
                               RING - 1, RING, RING + 1,  5 * RING + 123, (1u << 20) + 3};
static const size_t pieces[] = {1, 7, CHUNK, CHUNK + 1, 3 * RING, 1u << 21};
enum { NSIZES = sizeof(sizes) / sizeof(sizes[0]), NPIECES = sizeof(pieces) / sizeof(pieces[0]) };

START_TEST(test_async_filter_intact)
{
    size_t max = sizes[NSIZES - 1];
    uint8_t *data = malloc(max);

    testutil_fill(data, max, 17);
    for (int s = 0; s < NSIZES; s++) {
        struct buf out;
        struct probe p;
        struct pipeline *pl;
        struct pitr_err err;
        size_t piece = pieces[_i];

        if (piece < 16 && sizes[s] > 100000) {
            continue; /* a lock round trip per byte over a megabyte adds time, not coverage */
        }
        buf_init(&out, 4u << 20);
        probe_init(&p, &out);
        pl = pipeline_new(&p.base);
        pipeline_add(pl, async_filter_new(CHUNK, DEPTH));
        ck_assert_msg(push(pl, data, sizes[s], piece, &err) == PITR_OK, "%s", err.msg);
        ck_assert_uint_eq(out.len, sizes[s]);
        if (sizes[s] > 0) {
            ck_assert_mem_eq(out.data, data, sizes[s]);
        }
        ck_assert_int_eq(p.finishes, 1);
        pipeline_free(pl);
        buf_fini(&out);
    }
    free(data);
}
END_TEST

/* depth below 3 is raised to 3; a one-byte chunk still works. */
START_TEST(test_async_filter_small_ring)
{
    uint8_t data[5000];
    struct buf out;
    struct probe p;
    struct pipeline *pl;
    struct pitr_err err;

    testutil_fill(data, sizeof(data), 3);
    buf_init(&out, 1 << 20);
    probe_init(&p, &out);
    pl = pipeline_new(&p.base);
    pipeline_add(pl, async_filter_new(1, 1));
    ck_assert_msg(push(pl, data, sizeof(data), 333, &err) == PITR_OK, "%s", err.msg);
    ck_assert_uint_eq(out.len, sizeof(data));
    ck_assert_mem_eq(out.data, data, sizeof(data));
    pipeline_free(pl);
    buf_fini(&out);
}
END_TEST

/* A failing downstream write: the producer gets its error (at a write or at finish), every later
 * call returns the same error, and what arrived before is the right prefix. */
START_TEST(test_async_filter_downstream_error)
{
    static const uint64_t fail_points[] = {0, 1, CHUNK, RING + 5, 200000};
    size_t len = 1u << 20;
    uint8_t *data = malloc(len);
    struct buf out;
    struct probe p;
    struct pipeline *pl;
    struct pitr_err err;
    struct pitr_err again;
    char want[64];

    testutil_fill(data, len, 23);
    buf_init(&out, 4u << 20);
    probe_init(&p, &out);
    p.fail_after = fail_points[_i];
    pl = pipeline_new(&p.base);
    pipeline_add(pl, async_filter_new(CHUNK, DEPTH));
    ck_assert_int_eq(push(pl, data, len, CHUNK + 7, &err), PITR_IO);
    snprintf(want, sizeof(want), "probe failed after %llu bytes",
             (unsigned long long)fail_points[_i]);
    ck_assert_str_eq(err.msg, want);
    ck_assert_int_eq(pipeline_write(pl, data, 10, &again), PITR_IO);
    ck_assert_str_eq(again.msg, want);
    ck_assert_int_eq(pipeline_finish(pl, &again), PITR_IO);
    ck_assert_str_eq(again.msg, want);
    ck_assert(p.failed);
    ck_assert_uint_le(out.len, fail_points[_i]);
    if (out.len > 0) {
        ck_assert_mem_eq(out.data, data, out.len); /* what did arrive is the right prefix */
    }
    pipeline_free(pl);
    buf_fini(&out);
    free(data);
}
END_TEST

START_TEST(test_async_filter_finish_error)
{
    uint8_t data[10000];
    struct buf out;
    struct probe p;
    struct pipeline *pl;
    struct pitr_err err;

    testutil_fill(data, sizeof(data), 1);
    buf_init(&out, 1 << 20);
    probe_init(&p, &out);
    p.fail_finish = true;
    pl = pipeline_new(&p.base);
    pipeline_add(pl, async_filter_new(CHUNK, DEPTH));
    ck_assert_int_eq(push(pl, data, sizeof(data), 999, &err), PITR_IO);
    ck_assert_str_eq(err.msg, "probe failed to finish");
    ck_assert_uint_eq(out.len, sizeof(data)); /* everything was flushed before finishing */
    pipeline_free(pl);
    buf_fini(&out);
}
END_TEST

/* Freed without finish, with slots queued: no hang, nothing finished, no leak (LSan). */
START_TEST(test_async_filter_abandoned)
{
    size_t len = 100000;
    uint8_t *data = malloc(len);
    struct buf out;
    struct probe p;
    struct pipeline *pl;
    struct pitr_err err;

    testutil_fill(data, len, 2);
    buf_init(&out, 1 << 20);
    probe_init(&p, &out);
    pl = pipeline_new(&p.base);
    pipeline_add(pl, async_filter_new(CHUNK, DEPTH));
    ck_assert_int_eq(pipeline_write(pl, data, len, &err), PITR_OK);
    pipeline_free(pl);
    ck_assert_int_eq(p.finishes, 0);
    ck_assert_uint_le(out.len, len);
    if (out.len > 0) {
        ck_assert_mem_eq(out.data, data, out.len);
    }
    buf_fini(&out);
    free(data);
}
END_TEST

/* --- tee ------------------------------------------------------------------------------------ */

struct tee_rig {
    struct buf main_out;
    struct buf side_out;
    struct probe main_probe;
    struct probe side_probe;
    int clock;
    struct pipeline *pl;
};

/* main: [async?] -> tee(side: [async?] -> side probe) -> main probe */
static void tee_rig_init(struct tee_rig *r, bool async_main, bool async_side)
{
    struct pipeline *side;

    memset(r, 0, sizeof(*r));
    buf_init(&r->main_out, 4u << 20);
    buf_init(&r->side_out, 4u << 20);
    probe_init(&r->main_probe, &r->main_out);
    probe_init(&r->side_probe, &r->side_out);
    r->main_probe.clock = &r->clock;
    r->side_probe.clock = &r->clock;
    side = pipeline_new(&r->side_probe.base);
    if (async_side) {
        pipeline_add(side, async_filter_new(CHUNK, DEPTH));
    }
    r->pl = pipeline_new(&r->main_probe.base);
    if (async_main) {
        pipeline_add(r->pl, async_filter_new(CHUNK, DEPTH));
    }
    pipeline_add(r->pl, tee_filter_new(side));
}

static void tee_rig_fini(struct tee_rig *r)
{
    pipeline_free(r->pl);
    buf_fini(&r->main_out);
    buf_fini(&r->side_out);
}

/* _i: bit 0 async before the tee, bit 1 async in the side branch. */
START_TEST(test_tee_filter_intact)
{
    size_t len = (1u << 20) + 77;
    uint8_t *data = malloc(len);

    testutil_fill(data, len, 31);
    for (int s = 0; s < 3; s++) {
        static const size_t tee_sizes[] = {0, 5000, (1u << 20) + 77};
        struct tee_rig r;
        struct pitr_err err;

        tee_rig_init(&r, _i & 1, _i & 2);
        ck_assert_msg(push(r.pl, data, tee_sizes[s], 10000, &err) == PITR_OK, "%s", err.msg);
        ck_assert_uint_eq(r.main_out.len, tee_sizes[s]);
        ck_assert_uint_eq(r.side_out.len, tee_sizes[s]);
        if (tee_sizes[s] > 0) {
            ck_assert_mem_eq(r.main_out.data, data, tee_sizes[s]);
            ck_assert_mem_eq(r.side_out.data, data, tee_sizes[s]);
        }
        ck_assert_int_eq(r.side_probe.finishes, 1);
        ck_assert_int_eq(r.main_probe.finishes, 1);
        ck_assert_int_lt(r.side_probe.finished_at, r.main_probe.finished_at); /* side first */
        tee_rig_fini(&r);
    }
    free(data);
}
END_TEST

/* _i: bits 0-1 as above; bit 2: the main branch fails (else the side); bit 3: at finish. */
START_TEST(test_tee_filter_error)
{
    size_t len = 300000;
    uint8_t *data = malloc(len);
    struct tee_rig r;
    struct probe *bad;
    struct probe *good;
    struct pitr_err err;
    struct pitr_err again;
    bool at_finish = _i & 8;
    const char *want = at_finish ? "probe failed to finish" : "probe failed after 50000 bytes";

    testutil_fill(data, len, 41);
    tee_rig_init(&r, _i & 1, _i & 2);
    bad = (_i & 4) ? &r.main_probe : &r.side_probe;
    good = (_i & 4) ? &r.side_probe : &r.main_probe;
    if (at_finish) {
        bad->fail_finish = true;
    } else {
        bad->fail_after = 50000;
    }
    ck_assert_int_eq(push(r.pl, data, len, 7000, &err), PITR_IO);
    ck_assert_str_eq(err.msg, want);
    ck_assert_int_eq(pipeline_write(r.pl, data, 1, &again), PITR_IO);
    ck_assert_str_eq(again.msg, want);
    ck_assert_int_eq(good->finishes, at_finish && bad == &r.main_probe ? 1 : 0);
    if (r.main_out.len > 0) {
        ck_assert_mem_eq(r.main_out.data, data, r.main_out.len);
    }
    if (r.side_out.len > 0) {
        ck_assert_mem_eq(r.side_out.data, data, r.side_out.len);
    }
    tee_rig_fini(&r);
    free(data);
}
END_TEST

Suite *async_suite(void)
{
    Suite *s = suite_create("async");
    TCase *tc_async = tcase_create("async_filter");
    TCase *tc_tee = tcase_create("tee_filter");

    tcase_set_timeout(tc_async, 60); /* a hang is a failure */
    tcase_add_loop_test(tc_async, test_async_filter_intact, 0, NPIECES);
    tcase_add_test(tc_async, test_async_filter_small_ring);
    tcase_add_loop_test(tc_async, test_async_filter_downstream_error, 0, 5);
    tcase_add_test(tc_async, test_async_filter_finish_error);
    tcase_add_test(tc_async, test_async_filter_abandoned);
    suite_add_tcase(s, tc_async);
    tcase_set_timeout(tc_tee, 60);
    tcase_add_loop_test(tc_tee, test_tee_filter_intact, 0, 4);
    tcase_add_loop_test(tc_tee, test_tee_filter_error, 0, 16);
    suite_add_tcase(s, tc_tee);
    return s;
}

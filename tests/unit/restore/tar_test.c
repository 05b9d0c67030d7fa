/* Tests for lib/restore/tar.c: archives from GNU tar and built by hand reach the callbacks intact
 * whatever the write sizes; truncation anywhere, bad checksums, missing end blocks, non-zero
 * padding, entry types PostgreSQL never writes and names that could leave the target directory
 * are PITR_CORRUPT; base-256 sizes are read; a callback's error stops the stream. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "restore/tar.h"
#include "support/testutil.h"

enum { MAX_ENTRIES = 16 };

struct rec_entry {
    enum tar_type type;
    char name[300];
    char link[128];
    uint64_t size;
    unsigned mode;
    struct buf data;
    int ended;
};

struct recorder {
    struct rec_entry e[MAX_ENTRIES];
    int n;
    int in_entry;         /* between begin and end */
    int fail_begin_index; /* the entry whose begin fails with PITR_IO, or -1 */
};

static enum pitr_rc rec_begin(void *arg, const struct tar_entry *e, struct pitr_err *err)
{
    struct recorder *r = arg;
    struct rec_entry *x;

    ck_assert(!r->in_entry);
    ck_assert_int_lt(r->n, MAX_ENTRIES);
    if (r->n == r->fail_begin_index) {
        return err_set(err, PITR_IO, "begin of \"%s\" failed", e->name);
    }
    x = &r->e[r->n++];
    x->type = e->type;
    ck_assert_uint_lt(strlen(e->name), sizeof(x->name));
    memcpy(x->name, e->name, strlen(e->name) + 1);
    if (e->type == TAR_SYMLINK) {
        ck_assert_ptr_nonnull(e->linkname);
        memcpy(x->link, e->linkname, strlen(e->linkname) + 1);
    }
    x->size = e->size;
    x->mode = e->mode;
    buf_init(&x->data, 1 << 24);
    r->in_entry = 1;
    return PITR_OK;
}

static enum pitr_rc rec_data(void *arg, const uint8_t *data, size_t len, struct pitr_err *err)
{
    struct recorder *r = arg;

    ck_assert(r->in_entry);
    ck_assert_uint_gt(len, 0);
    ck_assert_int_eq(r->e[r->n - 1].type, TAR_FILE);
    return buf_append(&r->e[r->n - 1].data, data, len, err);
}

static enum pitr_rc rec_end(void *arg, struct pitr_err *err)
{
    struct recorder *r = arg;

    (void)err;
    ck_assert(r->in_entry);
    r->in_entry = 0;
    r->e[r->n - 1].ended = 1;
    return PITR_OK;
}

static const struct tar_handler rec_handler = {rec_begin, rec_data, rec_end};

static void rec_init(struct recorder *r)
{
    memset(r, 0, sizeof(*r));
    r->fail_begin_index = -1;
}

static void rec_fini(struct recorder *r)
{
    for (int i = 0; i < r->n; i++) {
        buf_fini(&r->e[i].data);
    }
}

/* Feeds data[0..len) in pieces of chunk bytes, then finishes; returns the first failure. */
static enum pitr_rc feed(const uint8_t *data, size_t len, size_t chunk, struct recorder *r,
                         struct pitr_err *err)
{
    struct filter *t = tar_reader_new(&rec_handler, r, "base.tar");
    enum pitr_rc rc = PITR_OK;

    for (size_t off = 0; off < len && rc == PITR_OK; off += chunk) {
        rc = filter_write(t, data + off, len - off < chunk ? len - off : chunk, err);
    }
    if (rc == PITR_OK) {
        rc = filter_finish(t, err);
    }
    filter_free(t);
    return rc;
}

static void assert_entry(const struct recorder *r, int i, enum tar_type type, const char *name,
                         unsigned mode, const void *data, size_t len)
{
    const struct rec_entry *x = &r->e[i];

    ck_assert_int_lt(i, r->n);
    ck_assert_int_eq(x->type, type);
    ck_assert_str_eq(x->name, name);
    ck_assert_uint_eq(x->mode, mode);
    ck_assert_uint_eq(x->size, len);
    ck_assert_uint_eq(x->data.len, len);
    if (len > 0) {
        ck_assert_mem_eq(x->data.data, data, len);
    }
    ck_assert(x->ended);
}

static const size_t chunks[] = {1, 7, 511, 512, 513, 4096, 1 << 20};
enum { NCHUNKS = sizeof(chunks) / sizeof(chunks[0]) };

/* --- the GNU tar fixture ------------------------------------------------------------------- */

START_TEST(test_tar_reader_gnu_fixture)
{
    const char *dir = getenv("PITR_TEST_DATA");
    char path[1024];
    struct buf tar;
    struct recorder r;
    struct pitr_err err;
    uint8_t control[1000];
    char long_dir[100];
    char long_name[200];

    ck_assert_ptr_nonnull(dir);
    snprintf(path, sizeof(path), "%s/tar/pg15_base.tar", dir);
    buf_init(&tar, 1 << 20);
    ck_assert_msg(fs_read_file(path, &tar, &err) == PITR_OK, "%s", err.msg);
    ck_assert_uint_eq(tar.len, 10240); /* zero record padding after the end blocks */
    for (size_t i = 0; i < sizeof(control); i++) {
        control[i] = (uint8_t)((i * 7 + 3) % 251);
    }
    memcpy(long_dir, "base/16384/", 11);
    memset(long_dir + 11, 'd', 60);
    long_dir[71] = '\0';
    snprintf(long_name, sizeof(long_name), "%s/", long_dir);
    memset(long_name + 72, 'f', 90);
    long_name[162] = '\0';

    rec_init(&r);
    ck_assert_msg(feed(tar.data, tar.len, chunks[_i], &r, &err) == PITR_OK, "%s", err.msg);
    ck_assert_int_eq(r.n, 10);
    assert_entry(&r, 0, TAR_FILE, "PG_VERSION", 0600, "15\n", 3);
    assert_entry(&r, 1, TAR_DIR, "base", 0700, NULL, 0);
    assert_entry(&r, 2, TAR_DIR, "base/16384", 0700, NULL, 0);
    assert_entry(&r, 3, TAR_DIR, long_dir, 0755, NULL, 0);
    assert_entry(&r, 4, TAR_FILE, long_name, 0644, "long name\n", 10);
    assert_entry(&r, 5, TAR_FILE, "base/16384/empty", 0644, NULL, 0);
    assert_entry(&r, 6, TAR_DIR, "global", 0700, NULL, 0);
    assert_entry(&r, 7, TAR_FILE, "global/pg_control", 0600, control, sizeof(control));
    assert_entry(&r, 8, TAR_DIR, "pg_tblspc", 0700, NULL, 0);
    assert_entry(&r, 9, TAR_SYMLINK, "pg_tblspc/16384", 0777, NULL, 0);
    ck_assert_str_eq(r.e[9].link, "/srv/tblspc");
    rec_fini(&r);
    buf_fini(&tar);
}
END_TEST

/* --- archives built here -------------------------------------------------------------------- */

static const size_t file_sizes[] = {0, 1, 511, 512, 513, 1024, 5000};
enum { NSIZES = sizeof(file_sizes) / sizeof(file_sizes[0]) };

/* Every file size in a row, so each padding length follows each data length. */
static void build_sizes(struct buf *tar, uint8_t *data)
{
    buf_init(tar, 1 << 20);
    testutil_fill(data, 5000, 3);
    testutil_tar_entry(tar, '5', "./base/", 0750, NULL, 0, NULL);
    for (int i = 0; i < NSIZES; i++) {
        char name[32];

        snprintf(name, sizeof(name), "./base/f%zu", file_sizes[i]);
        testutil_tar_entry(tar, i % 2 ? '\0' : '0', name, 0640, data, file_sizes[i], NULL);
    }
    testutil_tar_end(tar);
}

START_TEST(test_tar_reader_sizes_and_chunks)
{
    struct buf tar;
    struct recorder r;
    struct pitr_err err;
    uint8_t data[5000];

    build_sizes(&tar, data);
    rec_init(&r);
    ck_assert_msg(feed(tar.data, tar.len, chunks[_i], &r, &err) == PITR_OK, "%s", err.msg);
    ck_assert_int_eq(r.n, 1 + NSIZES);
    assert_entry(&r, 0, TAR_DIR, "base", 0750, NULL, 0);
    for (int i = 0; i < NSIZES; i++) {
        char name[32];

        snprintf(name, sizeof(name), "base/f%zu", file_sizes[i]);
        assert_entry(&r, 1 + i, TAR_FILE, name, 0640, data, file_sizes[i]);
    }
    rec_fini(&r);
    buf_fini(&tar);
}
END_TEST

/* Cut anywhere before the second end block: never a pass. */
START_TEST(test_tar_reader_truncated_anywhere)
{
    struct buf tar;
    struct pitr_err err;
    uint8_t data[5000];

    build_sizes(&tar, data);
    for (size_t cut = 0; cut < tar.len; cut += (cut < 2048 ? 1 : 61)) {
        struct recorder r;

        rec_init(&r);
        ck_assert_int_eq(feed(tar.data, cut, 512, &r, &err), PITR_CORRUPT);
        ck_assert_ptr_eq(strstr(err.msg, "archive \"base.tar\" is damaged at offset "), err.msg);
        ck_assert_ptr_nonnull(strstr(err.msg, ": the archive is truncated (no end-of-archive "
                                              "blocks)"));
        rec_fini(&r);
    }
    buf_fini(&tar);
}
END_TEST

START_TEST(test_tar_reader_end_blocks)
{
    struct buf tar;
    struct recorder r;
    struct pitr_err err;
    static const uint8_t zeros[2048];

    buf_init(&tar, 1 << 16);
    testutil_tar_entry(&tar, '0', "a", 0600, "abc", 3, NULL);
    /* one zero block only */
    ck_assert_int_eq(buf_append(&tar, zeros, 512, &err), PITR_OK);
    rec_init(&r);
    ck_assert_int_eq(feed(tar.data, tar.len, 512, &r, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "archive \"base.tar\" is damaged at offset 1536: the archive is "
                              "truncated (no end-of-archive blocks)");
    ck_assert_int_eq(r.n, 1);
    rec_fini(&r);

    /* a header after a single zero block */
    buf_reset(&tar);
    testutil_tar_entry(&tar, '0', "a", 0600, "abc", 3, NULL);
    ck_assert_int_eq(buf_append(&tar, zeros, 512, &err), PITR_OK);
    testutil_tar_entry(&tar, '0', "b", 0600, "abc", 3, NULL);
    testutil_tar_end(&tar);
    rec_init(&r);
    ck_assert_int_eq(feed(tar.data, tar.len, 100, &r, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg,
                     "archive \"base.tar\" is damaged at offset 1536: data after a zero block");
    rec_fini(&r);

    /* zero padding after the end is fine, anything else is not */
    buf_reset(&tar);
    testutil_tar_entry(&tar, '0', "a", 0600, "abc", 3, NULL);
    testutil_tar_end(&tar);
    ck_assert_int_eq(buf_append(&tar, zeros, sizeof(zeros), &err), PITR_OK);
    rec_init(&r);
    ck_assert_msg(feed(tar.data, tar.len, 700, &r, &err) == PITR_OK, "%s", err.msg);
    rec_fini(&r);
    tar.data[tar.len - 1] = 1;
    rec_init(&r);
    ck_assert_int_eq(feed(tar.data, tar.len, 700, &r, &err), PITR_CORRUPT);
    ck_assert_ptr_nonnull(strstr(err.msg, ": data after the end of the archive"));
    rec_fini(&r);
    buf_fini(&tar);
}
END_TEST

START_TEST(test_tar_reader_bad_checksum)
{
    struct buf tar;
    struct recorder r;
    struct pitr_err err;

    buf_init(&tar, 1 << 16);
    testutil_tar_entry(&tar, '0', "a", 0600, "abc", 3, NULL);
    testutil_tar_entry(&tar, '0', "b", 0600, "xyz", 3, NULL);
    testutil_tar_end(&tar);
    tar.data[1024 + 1] ^= 0x20; /* the second header's name: "b" -> "b " */
    rec_init(&r);
    ck_assert_int_eq(feed(tar.data, tar.len, 4096, &r, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg,
                     "archive \"base.tar\" is damaged at offset 1024: header checksum mismatch");
    ck_assert_int_eq(r.n, 1); /* the first entry came through, the second never began */

    /* a checksum field that is not a number */
    buf_reset(&tar);
    testutil_tar_entry(&tar, '0', "a", 0600, "abc", 3, NULL);
    testutil_tar_end(&tar);
    memcpy(tar.data + 148, "zzzzzz\0 ", 8);
    rec_fini(&r);
    rec_init(&r);
    ck_assert_int_eq(feed(tar.data, tar.len, 4096, &r, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg,
                     "archive \"base.tar\" is damaged at offset 0: header checksum mismatch");
    ck_assert_int_eq(r.n, 0);
    rec_fini(&r);
    buf_fini(&tar);
}
END_TEST

START_TEST(test_tar_reader_nonzero_padding)
{
    struct buf tar;
    struct recorder r;
    struct pitr_err err;

    buf_init(&tar, 1 << 16);
    testutil_tar_entry(&tar, '0', "a", 0600, "abc", 3, NULL);
    testutil_tar_end(&tar);
    tar.data[512 + 100] = 'x';
    rec_init(&r);
    ck_assert_int_eq(feed(tar.data, tar.len, 1, &r, &err), PITR_CORRUPT);
    ck_assert_str_eq(
        err.msg, "archive \"base.tar\" is damaged at offset 612: non-zero padding after a file");
    rec_fini(&r);
    buf_fini(&tar);
}
END_TEST

/* Entry types PostgreSQL never writes, each refused before its begin callback. */
static const char bad_types[] = {'1', '3', '4', '6', '7', 'L', 'K', 'x', 'g', 'S', 'V', 'A'};

START_TEST(test_tar_reader_unsupported_type)
{
    struct buf tar;
    struct recorder r;
    struct pitr_err err;

    buf_init(&tar, 1 << 16);
    testutil_tar_entry(&tar, '0', "a", 0600, "abc", 3, NULL);
    testutil_tar_entry(&tar, bad_types[_i], "b", 0600, NULL, 0, "a");
    testutil_tar_end(&tar);
    rec_init(&r);
    ck_assert_int_eq(feed(tar.data, tar.len, 512, &r, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "archive \"base.tar\" is damaged at offset 1024: unsupported entry "
                              "type (PostgreSQL writes files, directories and symlinks only)");
    ck_assert_int_eq(r.n, 1);
    rec_fini(&r);
    buf_fini(&tar);
}
END_TEST

START_TEST(test_tar_reader_symlink_without_target)
{
    struct buf tar;
    struct recorder r;
    struct pitr_err err;

    buf_init(&tar, 1 << 16);
    testutil_tar_entry(&tar, '2', "pg_tblspc/16384", 0777, NULL, 0, NULL);
    testutil_tar_end(&tar);
    rec_init(&r);
    ck_assert_int_eq(feed(tar.data, tar.len, 512, &r, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg,
                     "archive \"base.tar\" is damaged at offset 0: symlink without a target");
    ck_assert_int_eq(r.n, 0);
    rec_fini(&r);
    buf_fini(&tar);
}
END_TEST

/* Names that could leave the target directory, or are not names at all. */
static const char *const bad_names[] = {
    "../etc/passwd", "a/../../b", "a/..", "..", "/etc/passwd", "//etc/passwd", "./../x",
    "a//b",          "a/./b",     ".",    "./", "/",           "././",         "a/.",
};

START_TEST(test_tar_reader_bad_name)
{
    struct buf tar;
    struct recorder r;
    struct pitr_err err;

    buf_init(&tar, 1 << 16);
    testutil_tar_entry(&tar, '0', bad_names[_i], 0600, "abc", 3, NULL);
    testutil_tar_end(&tar);
    rec_init(&r);
    ck_assert_int_eq(feed(tar.data, tar.len, 512, &r, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "archive \"base.tar\" is damaged at offset 0: malformed header "
                              "(name, mode or size)");
    ck_assert_int_eq(r.n, 0);
    rec_fini(&r);
    buf_fini(&tar);
}
END_TEST

/* ".." hidden in the ustar prefix field, which is joined in front of the name. */
START_TEST(test_tar_reader_bad_prefix)
{
    struct buf tar;
    struct recorder r;
    struct pitr_err err;

    buf_init(&tar, 1 << 16);
    testutil_tar_entry(&tar, '0', "passwd", 0600, "abc", 3, NULL);
    testutil_tar_end(&tar);
    memcpy(tar.data + 345, "../etc", 6);
    testutil_tar_checksum(tar.data);
    rec_init(&r);
    ck_assert_int_eq(feed(tar.data, tar.len, 512, &r, &err), PITR_CORRUPT);
    ck_assert_ptr_nonnull(strstr(err.msg, "malformed header (name, mode or size)"));
    rec_fini(&r);

    /* an absolute prefix */
    memset(tar.data + 345, 0, 155);
    memcpy(tar.data + 345, "/etc", 4);
    testutil_tar_checksum(tar.data);
    rec_init(&r);
    ck_assert_int_eq(feed(tar.data, tar.len, 512, &r, &err), PITR_CORRUPT);
    ck_assert_ptr_nonnull(strstr(err.msg, "malformed header (name, mode or size)"));
    ck_assert_int_eq(r.n, 0);
    rec_fini(&r);

    /* a good prefix is joined with a slash */
    memset(tar.data + 345, 0, 155);
    memcpy(tar.data + 345, "./global", 8);
    testutil_tar_checksum(tar.data);
    rec_init(&r);
    ck_assert_msg(feed(tar.data, tar.len, 512, &r, &err) == PITR_OK, "%s", err.msg);
    assert_entry(&r, 0, TAR_FILE, "global/passwd", 0600, "abc", 3);
    rec_fini(&r);
    buf_fini(&tar);
}
END_TEST

/* Number fields: octal with spaces or NULs, malformed, and GNU base-256. */
struct number_case {
    int field_off;
    int field_len;
    const char *bytes; /* written over the field, field_len bytes */
    enum pitr_rc rc;
    uint64_t size; /* expected size for PITR_OK */
};

static const struct number_case number_cases[] = {
    {124, 12, "00000000003\0", PITR_OK, 3},
    {124, 12, "         3 \0", PITR_OK, 3},
    {124, 12, "3\0\0\0\0\0\0\0\0\0\0\0", PITR_OK, 3},
    {124, 12, "00000000008\0", PITR_CORRUPT, 0},
    {124, 12, "0000000000x\0", PITR_CORRUPT, 0},
    {124, 12, "        \0\0\0\0", PITR_CORRUPT, 0},
    {124, 12, "\0\0\0\0\0\0\0\0\0\0\0\0", PITR_CORRUPT, 0},
    {124, 12, "-0000000003\0", PITR_CORRUPT, 0},
    {124, 12, "0000 0000 3\0", PITR_CORRUPT, 0},
    /* base-256: 0x80 then big-endian */
    {124, 12, "\x80\0\0\0\0\0\0\0\0\0\0\x03", PITR_OK, 3},
    {124, 12, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfd", PITR_CORRUPT, 0},
    {124, 12, "\x81\0\0\0\0\0\0\0\0\0\0\x03", PITR_CORRUPT, 0},
    {124, 12, "\x80\0\0\x01\0\0\0\0\0\0\0\x03", PITR_CORRUPT, 0}, /* past 64 bits */
    {100, 8, "0000644\0", PITR_OK, 3},
    {100, 8, "0000694\0", PITR_CORRUPT, 0},
    {100, 8, "\0\0\0\0\0\0\0\0", PITR_CORRUPT, 0},
};

START_TEST(test_tar_reader_number_fields)
{
    const struct number_case *c = &number_cases[_i];
    struct buf tar;
    struct recorder r;
    struct pitr_err err;

    buf_init(&tar, 1 << 16);
    testutil_tar_entry(&tar, '0', "a", 0600, "abc", 3, NULL);
    testutil_tar_end(&tar);
    memcpy(tar.data + c->field_off, c->bytes, (size_t)c->field_len);
    testutil_tar_checksum(tar.data);
    rec_init(&r);
    ck_assert_int_eq(feed(tar.data, tar.len, 512, &r, &err), c->rc);
    if (c->rc == PITR_OK) {
        ck_assert_int_eq(r.n, 1);
        ck_assert_uint_eq(r.e[0].size, c->size);
        ck_assert_mem_eq(r.e[0].data.data, "abc", 3);
    } else {
        ck_assert_str_eq(err.msg, "archive \"base.tar\" is damaged at offset 0: malformed header "
                                  "(name, mode or size)");
        ck_assert_int_eq(r.n, 0);
    }
    rec_fini(&r);
    buf_fini(&tar);
}
END_TEST

/* A base-256 size larger than any octal field holds (8 GiB + 1) is reported as such; the data is
 * then missing, which is truncation. */
START_TEST(test_tar_reader_base256_large)
{
    struct buf tar;
    struct recorder r;
    struct pitr_err err;
    struct filter *t;

    buf_init(&tar, 1 << 16);
    testutil_tar_entry(&tar, '0', "big", 0600, NULL, 0, NULL);
    memcpy(tar.data + 124, "\x80\0\0\0\0\0\0\x02\0\0\0\x01", 12);
    testutil_tar_checksum(tar.data);
    rec_init(&r);
    t = tar_reader_new(&rec_handler, &r, "base.tar");
    ck_assert_int_eq(filter_write(t, tar.data, 512, &err), PITR_OK);
    ck_assert_int_eq(r.n, 1);
    ck_assert_uint_eq(r.e[0].size, (8ull << 30) + 1);
    ck_assert(!r.e[0].ended);
    ck_assert_int_eq(filter_write(t, (const uint8_t *)"xy", 2, &err), PITR_OK);
    ck_assert_uint_eq(r.e[0].data.len, 2);
    ck_assert_int_eq(filter_finish(t, &err), PITR_CORRUPT);
    ck_assert_ptr_nonnull(strstr(err.msg, "the archive is truncated"));
    filter_free(t);
    rec_fini(&r);
    buf_fini(&tar);
}
END_TEST

/* A callback's error is returned as is, stops the stream and sticks. */
START_TEST(test_tar_reader_callback_error)
{
    struct buf tar;
    struct recorder r;
    struct pitr_err err;
    struct filter *t;

    buf_init(&tar, 1 << 16);
    testutil_tar_entry(&tar, '0', "a", 0600, "abc", 3, NULL);
    testutil_tar_entry(&tar, '0', "b", 0600, "abc", 3, NULL);
    testutil_tar_entry(&tar, '0', "c", 0600, "abc", 3, NULL);
    testutil_tar_end(&tar);
    rec_init(&r);
    r.fail_begin_index = 1;
    t = tar_reader_new(&rec_handler, &r, "base.tar");
    ck_assert_int_eq(filter_write(t, tar.data, tar.len, &err), PITR_IO);
    ck_assert_str_eq(err.msg, "begin of \"b\" failed");
    ck_assert_int_eq(r.n, 1);
    ck_assert_int_eq(filter_write(t, tar.data, 1, &err), PITR_IO);
    ck_assert_int_eq(filter_finish(t, &err), PITR_IO);
    ck_assert_str_eq(err.msg, "begin of \"b\" failed");
    ck_assert_int_eq(r.n, 1);
    filter_free(t);
    rec_fini(&r);
    buf_fini(&tar);
}
END_TEST

/* Directory and symlink sizes are not data: nothing follows their header. */
START_TEST(test_tar_reader_dir_and_symlink)
{
    struct buf tar;
    struct recorder r;
    struct pitr_err err;

    buf_init(&tar, 1 << 16);
    testutil_tar_entry(&tar, '5', "pg_wal/", 0700, NULL, 0, NULL);
    testutil_tar_entry(&tar, '2', "pg_tblspc/16385", 0777, NULL, 0, "/mnt/space");
    testutil_tar_entry(&tar, '0', "pg_wal/archive_status/x", 0600, "z", 1, NULL);
    testutil_tar_end(&tar);
    rec_init(&r);
    ck_assert_msg(feed(tar.data, tar.len, 13, &r, &err) == PITR_OK, "%s", err.msg);
    ck_assert_int_eq(r.n, 3);
    assert_entry(&r, 0, TAR_DIR, "pg_wal", 0700, NULL, 0);
    assert_entry(&r, 1, TAR_SYMLINK, "pg_tblspc/16385", 0777, NULL, 0);
    ck_assert_str_eq(r.e[1].link, "/mnt/space");
    assert_entry(&r, 2, TAR_FILE, "pg_wal/archive_status/x", 0600, "z", 1);
    rec_fini(&r);
    buf_fini(&tar);
}
END_TEST

Suite *tar_suite(void)
{
    Suite *s = suite_create("tar");
    TCase *tc = tcase_create("tar_reader");

    tcase_add_loop_test(tc, test_tar_reader_gnu_fixture, 0, NCHUNKS);
    tcase_add_loop_test(tc, test_tar_reader_sizes_and_chunks, 0, NCHUNKS);
    tcase_add_test(tc, test_tar_reader_truncated_anywhere);
    tcase_add_test(tc, test_tar_reader_end_blocks);
    tcase_add_test(tc, test_tar_reader_bad_checksum);
    tcase_add_test(tc, test_tar_reader_nonzero_padding);
    tcase_add_loop_test(tc, test_tar_reader_unsupported_type, 0, (int)sizeof(bad_types));
    tcase_add_test(tc, test_tar_reader_symlink_without_target);
    tcase_add_loop_test(tc, test_tar_reader_bad_name, 0,
                        (int)(sizeof(bad_names) / sizeof(bad_names[0])));
    tcase_add_test(tc, test_tar_reader_bad_prefix);
    tcase_add_loop_test(tc, test_tar_reader_number_fields, 0,
                        (int)(sizeof(number_cases) / sizeof(number_cases[0])));
    tcase_add_test(tc, test_tar_reader_base256_large);
    tcase_add_test(tc, test_tar_reader_callback_error);
    tcase_add_test(tc, test_tar_reader_dir_and_symlink);
    suite_add_tcase(s, tc);
    return s;
}

/* testutil: per-test temp directories and deterministic test data. */
#include "support/testutil.h"

#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"

static char tmpdir[256];

const char *testutil_tmpdir(void)
{
    return tmpdir;
}

void testutil_tmpdir_setup(void)
{
    const char *base = getenv("TMPDIR");

    snprintf(tmpdir, sizeof(tmpdir), "%s/pitr-unit-XXXXXX", base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void testutil_tmpdir_teardown(void)
{
    if (tmpdir[0] != '\0') {
        nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        tmpdir[0] = '\0';
    }
}

void testutil_fill(uint8_t *data, size_t len, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;

    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        /* every other 64-byte run is constant so codecs have something to find */
        data[i] = ((i / 64) % 2 == 0) ? (uint8_t)x : (uint8_t)(i / 64);
    }
}

void testutil_write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    ck_assert_int_eq(close(fd), 0);
}

void testutil_tar_checksum(uint8_t *h)
{
    unsigned sum = 0;

    memset(h + 148, ' ', 8);
    for (int i = 0; i < 512; i++) {
        sum += h[i];
    }
    snprintf((char *)h + 148, 8, "%06o", sum);
    h[155] = ' ';
}

void testutil_tar_entry(struct buf *out, char type, const char *name, unsigned mode,
                        const void *data, size_t len, const char *linkname)
{
    uint8_t h[512];
    static const uint8_t zeros[512];
    struct pitr_err err;
    size_t n = strlen(name);

    memset(h, 0, sizeof(h));
    if (n > 100) {
        const char *slash = strchr(name + n - 101, '/');

        ck_assert_ptr_nonnull(slash);
        ck_assert_uint_le((size_t)(slash - name), 155);
        memcpy(h + 345, name, (size_t)(slash - name));
        memcpy(h, slash + 1, strlen(slash + 1));
    } else {
        memcpy(h, name, n);
    }
    snprintf((char *)h + 100, 8, "%07o", mode);
    snprintf((char *)h + 108, 8, "%07o", 0u);
    snprintf((char *)h + 116, 8, "%07o", 0u);
    snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)len);
    snprintf((char *)h + 136, 12, "%011o", 0u);
    h[156] = (uint8_t)type;
    if (linkname != NULL) {
        ck_assert_uint_le(strlen(linkname), 100);
        memcpy(h + 157, linkname, strlen(linkname));
    }
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    testutil_tar_checksum(h);
    ck_assert_int_eq(buf_append(out, h, sizeof(h), &err), PITR_OK);
    if (len > 0) {
        ck_assert_int_eq(buf_append(out, data, len, &err), PITR_OK);
        ck_assert_int_eq(buf_append(out, zeros, (512 - len % 512) % 512, &err), PITR_OK);
    }
}

void testutil_tar_end(struct buf *out)
{
    static const uint8_t zeros[1024];
    struct pitr_err err;

    ck_assert_int_eq(buf_append(out, zeros, sizeof(zeros), &err), PITR_OK);
}

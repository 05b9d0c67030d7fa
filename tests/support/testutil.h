/* testutil: fixtures shared by unit tests (a fresh temp directory per test, byte patterns). */
#ifndef PITR_TESTS_TESTUTIL_H
#define PITR_TESTS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* The current test's temp directory (made by testutil_tmpdir_setup, removed by _teardown). */
const char *testutil_tmpdir(void);
void testutil_tmpdir_setup(void);
void testutil_tmpdir_teardown(void);

/* Fills data with a deterministic, moderately compressible pattern derived from seed. */
void testutil_fill(uint8_t *data, size_t len, uint32_t seed);
/* Writes len bytes to path (aborting the test on failure). */
void testutil_write_file(const char *path, const void *data, size_t len);

/* Appends one ustar header (and for type '0' the data, padded to 512 bytes) to out; names over
 * 100 bytes are split at a '/' into the prefix field. mode is octal permission bits. */
struct buf;
void testutil_tar_entry(struct buf *out, char type, const char *name, unsigned mode,
                        const void *data, size_t len, const char *linkname);
/* Appends the two zero blocks that end an archive. */
void testutil_tar_end(struct buf *out);
/* Recomputes the checksum of the header at h (after a test changed it). */
void testutil_tar_checksum(uint8_t *h);

#endif

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

#endif

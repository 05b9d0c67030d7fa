/* zstd: Zstandard streaming compression stages. */
#ifndef PITR_COMPRESS_ZSTD_H
#define PITR_COMPRESS_ZSTD_H

#include "stream/filter.h"

enum { ZSTD_DEFAULT_LEVEL = 3 };

/* level 1-19 (0: ZSTD_DEFAULT_LEVEL). */
struct filter *zstd_compress_filter_new(int level);
/* Decompresses exactly one frame; truncation, garbage or trailing bytes are PITR_CORRUPT naming
 * `name` (copied). */
struct filter *zstd_decompress_filter_new(const char *name);

#endif

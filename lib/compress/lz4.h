/* lz4: LZ4 frame compression stages (lz4frame API). Frames carry no content checksum: the object
 * format hashes the plain text with SHA-256 anyway. */
#ifndef PITR_COMPRESS_LZ4_H
#define PITR_COMPRESS_LZ4_H

#include "stream/filter.h"

/* level 0 or 1: fast; 3-12: LZ4 HC. */
struct filter *lz4_compress_filter_new(int level);
/* Decompresses exactly one frame; truncation, garbage or trailing bytes are PITR_CORRUPT naming
 * `name` (copied). */
struct filter *lz4_decompress_filter_new(const char *name);

#endif

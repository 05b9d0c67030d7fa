/* wal: PostgreSQL WAL file names, timelines, segment numbers and LSNs, and the checks on a
 * segment's first page header. Pure functions: no I/O. */
#ifndef PITR_PG_WAL_H
#define PITR_PG_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum wal_file_kind {
    WAL_FILE_SEGMENT, /* 000000010000000000000003 */
    WAL_FILE_PARTIAL, /* 000000010000000000000003.partial */
    WAL_FILE_BACKUP,  /* 000000010000000000000003.00000028.backup */
    WAL_FILE_HISTORY, /* 00000002.history */
};

struct wal_file {
    enum wal_file_kind kind;
    uint32_t tli;
    uint32_t log; /* the middle 8 hex digits (unused for history files) */
    uint32_t seg; /* the last 8 hex digits (unused for history files) */
};

enum { WAL_NAME_LEN = 24, WAL_MIN_SEG_SIZE = 1024 * 1024, WAL_MAX_SEG_SIZE = 1024 * 1024 * 1024 };

/* Classifies a file name as PostgreSQL hands it to archive_command / restore_command.
 * PITR_CONFIG (with a message naming it) when it is not a WAL, history, partial or backup file. */
enum pitr_rc wal_parse_name(const char *name, struct wal_file *out,
                            struct pitr_err *err) PITR_MUST_CHECK;

/* True when size is a valid wal_segment_size (a power of two from 1 MiB to 1 GiB). */
bool wal_seg_size_valid(uint64_t size);
/* Segments per "log" (the middle part of a name): 2^32 / seg_size. */
uint64_t wal_segs_per_log(uint32_t seg_size);
/* Segment number of a parsed segment name. */
uint64_t wal_segno(const struct wal_file *f, uint32_t seg_size);
/* Segment number that holds lsn. */
uint64_t wal_segno_of_lsn(uint64_t lsn, uint32_t seg_size);
/* Writes the 24-character segment name (+NUL) for (tli, segno) into out[25]. */
void wal_segment_name(uint32_t tli, uint64_t segno, uint32_t seg_size, char out[25]);

/* Parses "X/Y" (PostgreSQL's LSN text form). */
enum pitr_rc wal_lsn_parse(const char *s, uint64_t *out, struct pitr_err *err) PITR_MUST_CHECK;
/* Formats an LSN as "X/Y" into out[18]. */
void wal_lsn_format(uint64_t lsn, char out[18]);

/* What the long header on a segment's first page says (XLogLongPageHeaderData). */
struct wal_long_header {
    uint16_t magic;
    uint32_t tli;
    uint64_t pageaddr;
    uint64_t sysid;
    uint32_t seg_size;
    uint32_t block_size;
};
enum { WAL_LONG_HEADER_LEN = 40 };

/* Decodes the first WAL_LONG_HEADER_LEN bytes of a segment; PITR_CORRUPT when the page does not
 * carry a long header. */
enum pitr_rc wal_long_header_parse(const uint8_t *page, size_t len, struct wal_long_header *out,
                                   struct pitr_err *err) PITR_MUST_CHECK;

#endif

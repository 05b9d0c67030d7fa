/* wal: name and LSN arithmetic follows PostgreSQL's xlog_internal.h (XLogFileName,
 * XLogFromFileName); the long page header layout is fixed across supported versions (13+). */
#include "pg/wal.h"

#include <stdio.h>
#include <string.h>

#include "base/strutil.h"
#include "pg/wal_bytes.h"

/* The page header flag that says a long header follows (XLP_LONG_HEADER). */
enum { XLP_LONG_HEADER = 0x0002 };

static bool is_hex_upper(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}

static uint32_t hex32(const char *s)
{
    uint64_t v = 0;

    (void)!str_parse_hex_u64(s, 8, &v); /* callers checked the digits */
    return (uint32_t)v;
}

enum pitr_rc wal_parse_name(const char *name, struct wal_file *out, struct pitr_err *err)
{
    size_t n = strlen(name);
    struct wal_file f = {0};

    if (n == 16 && is_hex_upper(name, 8) && strcmp(name + 8, ".history") == 0) {
        f.kind = WAL_FILE_HISTORY;
        f.tli = hex32(name);
    } else if (n >= WAL_NAME_LEN && is_hex_upper(name, WAL_NAME_LEN)) {
        const char *rest = name + WAL_NAME_LEN;

        f.tli = hex32(name);
        f.log = hex32(name + 8);
        f.seg = hex32(name + 16);
        if (*rest == '\0') {
            f.kind = WAL_FILE_SEGMENT;
        } else if (strcmp(rest, ".partial") == 0) {
            f.kind = WAL_FILE_PARTIAL;
        } else if (strlen(rest) == 16 && rest[0] == '.' && is_hex_upper(rest + 1, 8) &&
                   strcmp(rest + 9, ".backup") == 0) {
            f.kind = WAL_FILE_BACKUP;
        } else {
            return err_set(err, PITR_CONFIG, "\"%s\" is not a WAL file name", name);
        }
    } else {
        return err_set(err, PITR_CONFIG, "\"%s\" is not a WAL file name", name);
    }
    if (f.tli == 0) {
        return err_set(err, PITR_CONFIG, "\"%s\" is not a WAL file name: timeline 0", name);
    }
    *out = f;
    return PITR_OK;
}

bool wal_seg_size_valid(uint64_t size)
{
    return size >= WAL_MIN_SEG_SIZE && size <= WAL_MAX_SEG_SIZE && (size & (size - 1)) == 0;
}

uint64_t wal_segs_per_log(uint32_t seg_size)
{
    return UINT64_C(0x100000000) / seg_size;
}

uint64_t wal_segno(const struct wal_file *f, uint32_t seg_size)
{
    return (uint64_t)f->log * wal_segs_per_log(seg_size) + f->seg;
}

uint64_t wal_segno_of_lsn(uint64_t lsn, uint32_t seg_size)
{
    return lsn / seg_size;
}

void wal_segment_name(uint32_t tli, uint64_t segno, uint32_t seg_size, char out[25])
{
    uint64_t per = wal_segs_per_log(seg_size);

    snprintf(out, 25, "%08X%08X%08X", (unsigned)tli, (unsigned)(segno / per),
             (unsigned)(segno % per));
}

enum pitr_rc wal_lsn_parse(const char *s, uint64_t *out, struct pitr_err *err)
{
    const char *slash = strchr(s, '/');
    uint64_t hi;
    uint64_t lo;

    if (slash == NULL || slash == s || slash - s > 8 || strlen(slash + 1) == 0 ||
        strlen(slash + 1) > 8 || str_parse_hex_u64(s, (size_t)(slash - s), &hi) != PITR_OK ||
        str_parse_hex_u64(slash + 1, strlen(slash + 1), &lo) != PITR_OK) {
        return err_set(err, PITR_CONFIG, "invalid LSN \"%s\": expected the form 0/16B3748", s);
    }
    *out = (hi << 32) | lo;
    return PITR_OK;
}

void wal_lsn_format(uint64_t lsn, char out[18])
{
    snprintf(out, 18, "%X/%X", (unsigned)(lsn >> 32), (unsigned)(lsn & 0xffffffffu));
}

enum pitr_rc wal_long_header_parse(const uint8_t *page, size_t len, struct wal_long_header *out,
                                   struct pitr_err *err)
{
    struct wal_long_header h;
    uint16_t info;

    if (len < WAL_LONG_HEADER_LEN) {
        return err_set(err, PITR_CORRUPT, "WAL segment is shorter than its page header");
    }
    /* XLogPageHeaderData: magic u16, info u16, tli u32, pageaddr u64, rem_len u32, pad;
     * then xlp_sysid u64 at 24, xlp_seg_size u32 at 32, xlp_xlog_blcksz u32 at 36. */
    h.magic = wal_get16(page);
    info = wal_get16(page + 2);
    h.tli = wal_get32(page + 4);
    h.pageaddr = wal_get64(page + 8);
    h.sysid = wal_get64(page + 24);
    h.seg_size = wal_get32(page + 32);
    h.block_size = wal_get32(page + 36);
    if ((info & XLP_LONG_HEADER) == 0 || h.magic < 0xD000 || h.magic > 0xDFFF) {
        return err_set(err, PITR_CORRUPT, "WAL segment does not start with a long page header");
    }
    *out = h;
    return PITR_OK;
}

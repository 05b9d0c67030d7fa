/* wal_bytes: fields of WAL pages and records, read in the server's byte order (pitr runs beside
 * the server, or on the same kind of machine). Inline: the WAL scanner calls them per record. */
#ifndef PITR_PG_WAL_BYTES_H
#define PITR_PG_WAL_BYTES_H

#include <stdint.h>
#include <string.h>

static inline uint16_t wal_get16(const uint8_t *p)
{
    uint16_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

static inline uint32_t wal_get32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

static inline uint64_t wal_get64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

#endif

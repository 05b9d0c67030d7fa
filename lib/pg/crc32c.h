/* crc32c: CRC-32C (Castagnoli), the checksum PostgreSQL puts on WAL records and pg_control. */
#ifndef PITR_PG_CRC32C_H
#define PITR_PG_CRC32C_H

#include <stddef.h>
#include <stdint.h>

enum { CRC32C_INIT = 0xFFFFFFFFu, CRC32C_XOROUT = 0xFFFFFFFFu };

/* Continues crc over data[0..len): start from CRC32C_INIT, xor the end result with
 * CRC32C_XOROUT (PostgreSQL's INIT_CRC32C / COMP_CRC32C / FIN_CRC32C). Uses the CPU's CRC-32C
 * instruction where there is one (x86-64 SSE 4.2), the table-driven code otherwise. */
uint32_t crc32c_update(uint32_t crc, const uint8_t *data, size_t len);

/* The same with the table-driven code only, whatever the CPU: for tests. */
uint32_t crc32c_update_portable(uint32_t crc, const uint8_t *data, size_t len);

/* The finished CRC-32C of a buffer. */
uint32_t crc32c(const uint8_t *data, size_t len);

#endif

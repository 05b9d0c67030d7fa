/* crc32c: written by hand because OpenSSL, our only checksum library, has no CRC-32C. The
 * portable code is slicing-by-8 (eight 1 KiB tables, 8 bytes per step, about 1.5 GB/s); on x86-64
 * the SSE 4.2 crc32 instruction, chosen at run time as PostgreSQL does, is several times faster,
 * so scanning a 16 MB WAL segment takes a few milliseconds. Tables and choice are made once. */
#include "pg/crc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define CRC32C_HAVE_SSE42 1
#endif

typedef uint32_t crc32c_fn(uint32_t crc, const uint8_t *data, size_t len);

static uint32_t table[8][256];
static crc32c_fn *best = crc32c_update_portable;
static pthread_once_t once = PTHREAD_ONCE_INIT;

#ifdef CRC32C_HAVE_SSE42
__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *p,
                                                               size_t n)
{
    uint64_t c = crc;

    while (n >= 8) {
        uint64_t word;

        memcpy(&word, p, sizeof(word));
        c = _mm_crc32_u64(c, word);
        p += 8;
        n -= 8;
    }
    crc = (uint32_t)c;
    while (n > 0) {
        crc = _mm_crc32_u8(crc, *p);
        p++;
        n--;
    }
    return crc;
}
#endif

static void setup(void)
{
    /* Reflected polynomial 0x82F63B78; table[t][b] is the CRC of byte b followed by t zeros. */
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;

        for (int k = 0; k < 8; k++) {
            c = (c & 1) != 0 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        }
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        for (int t = 1; t < 8; t++) {
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
        }
    }
#ifdef CRC32C_HAVE_SSE42
    if (__builtin_cpu_supports("sse4.2")) {
        best = crc32c_sse42;
    }
#endif
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint32_t crc32c_update_portable(uint32_t crc, const uint8_t *p, size_t n)
{
    pthread_once(&once, setup);
    while (n >= 8) {
        uint32_t lo = le32(p) ^ crc;
        uint32_t hi = le32(p + 4);

        crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
              table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
              table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n > 0) {
        crc = table[0][(crc ^ *p) & 0xff] ^ (crc >> 8);
        p++;
        n--;
    }
    return crc;
}

uint32_t crc32c_update(uint32_t crc, const uint8_t *data, size_t len)
{
    pthread_once(&once, setup);
    return best(crc, data, len);
}

uint32_t crc32c(const uint8_t *data, size_t len)
{
    return crc32c_update(CRC32C_INIT, data, len) ^ CRC32C_XOROUT;
}

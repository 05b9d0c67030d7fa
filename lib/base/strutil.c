/* strutil: parsers return PITR_CONFIG with a message naming what was being parsed. */
#include "strutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum pitr_rc str_parse_u64(const char *s, const char *what, uint64_t *out, struct pitr_err *err)
{
    char *end = NULL;
    unsigned long long v;

    if (s[0] < '0' || s[0] > '9') {
        return err_set(err, PITR_CONFIG, "invalid %s \"%s\": expected a whole number", what, s);
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return err_set(err, PITR_CONFIG, "invalid %s \"%s\": expected a whole number", what, s);
    }
    *out = (uint64_t)v;
    return PITR_OK;
}

enum pitr_rc str_parse_hex_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;

    if (len == 0 || len > 16) {
        return PITR_CORRUPT;
    }
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];
        int d;

        if (c >= '0' && c <= '9') {
            d = c - '0';
        } else if (c >= 'A' && c <= 'F') {
            d = c - 'A' + 10;
        } else if (c >= 'a' && c <= 'f') {
            d = c - 'a' + 10;
        } else {
            return PITR_CORRUPT;
        }
        v = (v << 4) | (uint64_t)d;
    }
    *out = v;
    return PITR_OK;
}

enum pitr_rc str_parse_bool(const char *s, const char *what, bool *out, struct pitr_err *err)
{
    static const char *const yes[] = {"on", "true", "yes", "1"};
    static const char *const no[] = {"off", "false", "no", "0"};

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return PITR_OK;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return PITR_OK;
        }
    }
    return err_set(err, PITR_CONFIG, "invalid %s \"%s\": expected on or off", what, s);
}

enum pitr_rc str_parse_size(const char *s, const char *what, uint64_t *out, struct pitr_err *err)
{
    static const struct {
        const char *suffix;
        uint64_t mult;
    } units[] = {{"", 1},           {"B", 1},           {"kB", 1024},       {"KB", 1024},
                 {"KiB", 1024},     {"MB", 1u << 20},   {"MiB", 1u << 20},  {"GB", 1u << 30},
                 {"GiB", 1u << 30}, {"TB", 1ull << 40}, {"TiB", 1ull << 40}};
    char *end = NULL;
    unsigned long long v;

    if (s[0] < '0' || s[0] > '9') {
        return err_set(err, PITR_CONFIG, "invalid %s \"%s\": expected a size like 64MB", what, s);
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    while (*end == ' ') {
        end++;
    }
    for (size_t i = 0; errno == 0 && i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            if (v > UINT64_MAX / units[i].mult) {
                break;
            }
            *out = (uint64_t)v * units[i].mult;
            return PITR_OK;
        }
    }
    return err_set(err, PITR_CONFIG, "invalid %s \"%s\": expected a size like 64MB", what, s);
}

enum pitr_rc str_format(char *dst, size_t size, struct pitr_err *err, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(dst, size, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size) {
        return err_set(err, PITR_INTERNAL, "string too long (limit %zu bytes) formatting \"%s\"",
                       size, fmt);
    }
    return PITR_OK;
}

bool str_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_has_suffix(const char *s, const char *suffix)
{
    size_t ls = strlen(s);
    size_t lx = strlen(suffix);

    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

void str_hex_encode(const uint8_t *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 0xf];
    }
    out[2 * len] = '\0';
}

enum pitr_rc str_hex_decode(const char *s, uint8_t *out, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uint64_t v;

        if (str_parse_hex_u64(s + 2 * i, 2, &v) != PITR_OK) {
            return PITR_CORRUPT;
        }
        out[i] = (uint8_t)v;
    }
    return s[2 * len] == '\0' ? PITR_OK : PITR_CORRUPT;
}

char *str_trim(char *s)
{
    size_t n;

    while (isspace((unsigned char)*s)) {
        s++;
    }
    n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) {
        s[--n] = '\0';
    }
    return s;
}

bool str_equal_ct(const uint8_t *a, const uint8_t *b, size_t len)
{
    uint8_t diff = 0;

    for (size_t i = 0; i < len; i++) {
        diff |= (uint8_t)(a[i] ^ b[i]);
    }
    return diff == 0;
}

void str_human_bytes(uint64_t bytes, char out[16])
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    double v = (double)bytes;
    int u = 0;

    while (v >= 1000.0 && u < 5) {
        v /= 1000.0;
        u++;
    }
    snprintf(out, 16, u == 0 ? "%.0f %s" : "%.2f %s", v, units[u]);
}

enum pitr_rc str_json_quote(struct buf *out, const char *s, struct pitr_err *err)
{
    enum pitr_rc rc = buf_append(out, "\"", 1, err);

    for (const unsigned char *p = (const unsigned char *)s; rc == PITR_OK && *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            rc = buf_printf(out, err, "\\%c", *p);
        } else if (*p < 0x20) {
            rc = buf_printf(out, err, "\\u%04x", *p);
        } else {
            rc = buf_append(out, p, 1, err);
        }
    }
    return rc == PITR_OK ? buf_append(out, "\"", 1, err) : rc;
}

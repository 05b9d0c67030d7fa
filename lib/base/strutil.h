/* strutil: string parsing and formatting that reports errors instead of guessing. */
#ifndef PITR_BASE_STRUTIL_H
#define PITR_BASE_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* Parses a whole decimal string (no sign, no spaces) into *out; `what` names it in errors. */
enum pitr_rc str_parse_u64(const char *s, const char *what, uint64_t *out,
                           struct pitr_err *err) PITR_MUST_CHECK;
/* Parses a whole hexadecimal string of at most 16 digits. */
enum pitr_rc str_parse_hex_u64(const char *s, size_t len, uint64_t *out) PITR_MUST_CHECK;
/* Parses on/off, true/false, yes/no, 1/0. */
enum pitr_rc str_parse_bool(const char *s, const char *what, bool *out,
                            struct pitr_err *err) PITR_MUST_CHECK;
/* Parses a size such as "16MB", "5GiB" or "1024" (bytes). */
enum pitr_rc str_parse_size(const char *s, const char *what, uint64_t *out,
                            struct pitr_err *err) PITR_MUST_CHECK;

/* snprintf that fails (PITR_INTERNAL) instead of truncating. */
enum pitr_rc str_format(char *dst, size_t size, struct pitr_err *err, const char *fmt, ...)
    PITR_PRINTF(4, 5) PITR_MUST_CHECK;

bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);

/* Writes 2*len lowercase hex digits and a NUL into out (which holds 2*len+1 bytes). */
void str_hex_encode(const uint8_t *data, size_t len, char *out);
/* Decodes exactly 2*len hex digits from s; PITR_CORRUPT on any other character. */
enum pitr_rc str_hex_decode(const char *s, uint8_t *out, size_t len) PITR_MUST_CHECK;

/* Removes leading and trailing white space in place; returns s advanced past the leading part. */
char *str_trim(char *s);

/* Formats a byte count for people, in SI units as pg_basebackup does: "512 B", "1.50 MB". */
void str_human_bytes(uint64_t bytes, char out[16]);
/* Appends s to out as a JSON string literal (quotes, backslash escapes, \u00XX for controls). */
enum pitr_rc str_json_quote(struct buf *out, const char *s, struct pitr_err *err) PITR_MUST_CHECK;
/* Compares two byte ranges in time independent of their contents (for secrets and MACs). */
bool str_equal_ct(const uint8_t *a, const uint8_t *b, size_t len);

#endif

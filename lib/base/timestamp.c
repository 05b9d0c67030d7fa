/* timestamp: a strict parser: every character must belong to the form, so "2026-13-01" or a
 * stray word is an error, never a silently different moment. */
#include "base/timestamp.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Reads exactly n digits. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) {
            return false;
        }
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool parse_zone(const char *p, int *offset_s)
{
    int hh = 0;
    int mm = 0;
    int sign;

    while (*p == ' ') {
        p++;
    }
    if (*p == '\0' || strcmp(p, "Z") == 0 || strcmp(p, "UTC") == 0 || strcmp(p, "GMT") == 0) {
        *offset_s = 0;
        return true;
    }
    if (*p != '+' && *p != '-') {
        return false;
    }
    sign = *p == '-' ? -1 : 1;
    p++;
    if (!digits(&p, 2, &hh) || hh > 15) {
        return false;
    }
    /* minutes are optional, but a colon must be followed by them ("+05:" is not a zone) */
    if (*p == ':') {
        p++;
        if (!digits(&p, 2, &mm)) {
            return false;
        }
    } else if (*p != '\0' && !digits(&p, 2, &mm)) {
        return false;
    }
    if (mm > 59) {
        return false;
    }
    *offset_s = sign * (hh * 3600 + mm * 60);
    return *p == '\0';
}

/* Days from 1970-01-01 to y-m-d (y >= 1970) in the proleptic Gregorian calendar: plain
 * arithmetic, because timegm() takes the time zone lock and the catalog parses three times per
 * line, a million lines to plan over a million segments. */
static int64_t days_since_epoch(int y, int m, int d)
{
    int64_t yy = m <= 2 ? y - 1 : y; /* years counted from March: the leap day comes last */
    int64_t era = yy / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : days[m - 1];
}

enum pitr_rc timestamp_parse(const char *text, int64_t *out_us, struct pitr_err *err)
{
    const char *p = text;
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, offset = 0;
    int64_t frac = 0;
    time_t t;

    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d) || (*p != ' ' && *p != 'T')) {
        goto bad;
    }
    p++;
    if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi)) {
        goto bad;
    }
    if (*p == ':') {
        p++;
        if (!digits(&p, 2, &s)) {
            goto bad;
        }
        if (*p == '.') {
            int n = 0;

            p++;
            for (; isdigit((unsigned char)*p); p++, n++) {
                if (n < 6) {
                    frac = frac * 10 + (*p - '0');
                }
            }
            if (n == 0) {
                goto bad;
            }
            for (; n < 6; n++) {
                frac *= 10;
            }
        }
    }
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59 ||
        y < 1970 || !parse_zone(p, &offset)) {
        goto bad;
    }
    t = (time_t)(days_since_epoch(y, mo, d) * 86400 + h * 3600 + mi * 60 + s);
    *out_us = ((int64_t)t - offset) * 1000000 + frac;
    return PITR_OK;
bad:
    return err_set(err, PITR_CONFIG,
                   "invalid timestamp \"%s\": expected YYYY-MM-DD HH:MM[:SS[.ffffff]][+HH[:MM]|Z] "
                   "(UTC when no zone is given)",
                   text);
}

void timestamp_format(int64_t us, char out[TIMESTAMP_TEXT_LEN])
{
    time_t t = (time_t)(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
    int64_t frac = us - (int64_t)t * 1000000;
    struct tm tm;
    char base[24];

    gmtime_r(&t, &tm);
    strftime(base, sizeof(base), "%Y-%m-%d %H:%M:%S", &tm);
    if (frac != 0) {
        snprintf(out, TIMESTAMP_TEXT_LEN, "%s.%06lld+00", base, (long long)frac);
    } else {
        snprintf(out, TIMESTAMP_TEXT_LEN, "%s+00", base);
    }
}

/* sigv4: written by hand rather than using libcurl's CURLOPT_AWS_SIGV4 because curl 7.88 (Debian
 * 12) does not add x-amz-content-sha256, which S3 requires, older curls mis-canonicalised query
 * strings, and a pure function can be tested against AWS's own vectors. S3 does not normalise
 * paths, so neither do we (the suite's normalize-path cases are for other services). */
#include "storage/sigv4.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/strutil.h"
#include "base/xalloc.h"
#include "crypto/digest.h"
#include "crypto/sha256.h"

enum { SIGV4_TEXT_MAX = 64 * 1024 };

enum pitr_rc sigv4_uri_encode(const char *s, bool keep_slash, struct buf *out, struct pitr_err *err)
{
    static const char hex[] = "0123456789ABCDEF";
    enum pitr_rc rc = PITR_OK;

    for (const unsigned char *p = (const unsigned char *)s; *p != '\0' && rc == PITR_OK; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~' ||
            (keep_slash && *p == '/')) {
            rc = buf_append(out, p, 1, err);
        } else {
            char enc[3] = {'%', hex[*p >> 4], hex[*p & 0xf]};

            rc = buf_append(out, enc, 3, err);
        }
    }
    return rc;
}

struct encoded_pair {
    char *name;
    char *value;
};

static int cmp_pair(const void *a, const void *b)
{
    const struct encoded_pair *x = a;
    const struct encoded_pair *y = b;
    int c = strcmp(x->name, y->name);

    return c != 0 ? c : strcmp(x->value, y->value);
}

static char *encode_dup(const char *s, struct pitr_err *err)
{
    struct buf b;
    size_t len;

    buf_init(&b, SIGV4_TEXT_MAX);
    if (sigv4_uri_encode(s, false, &b, err) != PITR_OK) {
        buf_fini(&b);
        return NULL;
    }
    return (char *)buf_take(&b, &len);
}

static enum pitr_rc canonical_query(const struct sigv4_request *req, struct buf *out,
                                    struct pitr_err *err)
{
    struct encoded_pair *pairs = xcalloc(req->nquery + 1, sizeof(*pairs));
    enum pitr_rc rc = PITR_OK;

    for (size_t i = 0; i < req->nquery && rc == PITR_OK; i++) {
        pairs[i].name = encode_dup(req->query[i].name, err);
        pairs[i].value = encode_dup(req->query[i].value, err);
        rc = pairs[i].name && pairs[i].value ? PITR_OK : err->rc;
    }
    if (rc == PITR_OK) {
        qsort(pairs, req->nquery, sizeof(*pairs), cmp_pair);
    }
    for (size_t i = 0; i < req->nquery && rc == PITR_OK; i++) {
        rc = buf_printf(out, err, "%s%s=%s", i ? "&" : "", pairs[i].name, pairs[i].value);
    }
    for (size_t i = 0; i < req->nquery; i++) {
        free(pairs[i].name);
        free(pairs[i].value);
    }
    free(pairs);
    return rc;
}

struct header {
    char *name;  /* lower case */
    char *value; /* trimmed, inner white space runs folded to one space */
};

static int cmp_header(const void *a, const void *b)
{
    return strcmp(((const struct header *)a)->name, ((const struct header *)b)->name);
}

static char *fold_value(const char *v)
{
    char *out = xmalloc(strlen(v) + 1);
    size_t n = 0;
    bool space = false;

    while (isspace((unsigned char)*v)) {
        v++;
    }
    for (; *v != '\0'; v++) {
        if (isspace((unsigned char)*v)) {
            space = true;
            continue;
        }
        if (space && n > 0) {
            out[n++] = ' ';
        }
        space = false;
        out[n++] = *v;
    }
    out[n] = '\0';
    return out;
}

/* Appends "name:value\n" lines (duplicates joined with ',') to canon and "a;b" to signed_list. */
static enum pitr_rc canonical_headers(const struct sigv4_request *req, struct buf *canon,
                                      struct buf *signed_list, struct pitr_err *err)
{
    struct header *h = xcalloc(req->nheaders + 1, sizeof(*h));
    enum pitr_rc rc = PITR_OK;

    for (size_t i = 0; i < req->nheaders; i++) {
        h[i].name = xstrdup(req->headers[i].name);
        for (char *c = h[i].name; *c != '\0'; c++) {
            *c = (char)tolower((unsigned char)*c);
        }
        h[i].value = fold_value(req->headers[i].value);
    }
    /* stable order of duplicates matters (values join in request order): insertion sort */
    for (size_t i = 1; i < req->nheaders; i++) {
        for (size_t j = i; j > 0 && cmp_header(&h[j - 1], &h[j]) > 0; j--) {
            struct header t = h[j];

            h[j] = h[j - 1];
            h[j - 1] = t;
        }
    }
    for (size_t i = 0; i < req->nheaders && rc == PITR_OK; i++) {
        bool dup = i > 0 && strcmp(h[i].name, h[i - 1].name) == 0;

        if (dup) {
            canon->len--; /* replace the previous newline with a comma */
            rc = buf_printf(canon, err, ",%s\n", h[i].value);
        } else {
            rc = buf_printf(canon, err, "%s:%s\n", h[i].name, h[i].value);
            if (rc == PITR_OK) {
                rc = buf_printf(signed_list, err, "%s%s", i ? ";" : "", h[i].name);
            }
        }
    }
    for (size_t i = 0; i < req->nheaders; i++) {
        free(h[i].name);
        free(h[i].value);
    }
    free(h);
    return rc;
}

static void hex_sha256(const uint8_t *data, size_t len, char out[65])
{
    uint8_t d[SHA256_LEN];

    sha256_buffer(data, len, d);
    str_hex_encode(d, SHA256_LEN, out);
}

enum pitr_rc sigv4_sign(const struct sigv4_request *req, const struct sigv4_key *key,
                        const char *amz_date, struct buf *canonical, struct buf *string_to_sign,
                        struct buf *authorization, struct pitr_err *err)
{
    struct buf canon;
    struct buf sts;
    struct buf signed_list;
    char date[9];
    char canon_hash[65];
    char signature[65];
    uint8_t k[HMAC_SHA256_LEN];
    char *secret;
    enum pitr_rc rc;

    if (strlen(amz_date) != 16) {
        return err_set(err, PITR_INTERNAL, "invalid x-amz-date \"%s\"", amz_date);
    }
    memcpy(date, amz_date, 8);
    date[8] = '\0';
    buf_init(&canon, SIGV4_TEXT_MAX);
    buf_init(&sts, SIGV4_TEXT_MAX);
    buf_init(&signed_list, SIGV4_TEXT_MAX);
    rc = buf_printf(&canon, err, "%s\n", req->method);
    if (rc == PITR_OK) {
        rc = sigv4_uri_encode(req->path, true, &canon, err);
    }
    if (rc == PITR_OK) {
        rc = buf_append(&canon, "\n", 1, err);
    }
    if (rc == PITR_OK) {
        rc = canonical_query(req, &canon, err);
    }
    if (rc == PITR_OK) {
        rc = buf_append(&canon, "\n", 1, err);
    }
    if (rc == PITR_OK) {
        rc = canonical_headers(req, &canon, &signed_list, err);
    }
    if (rc == PITR_OK) {
        rc = buf_printf(&canon, err, "\n%s\n%s", (char *)signed_list.data, req->payload_hash);
    }
    if (rc == PITR_OK) {
        hex_sha256(canon.data, canon.len, canon_hash);
        rc = buf_printf(&sts, err, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", amz_date,
                        date, key->region, key->service, canon_hash);
    }
    if (rc == PITR_OK) {
        /* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")
         */
        secret = xasprintf("AWS4%s", key->secret_key);
        hmac_sha256((uint8_t *)secret, strlen(secret), (uint8_t *)date, 8, k);
        explicit_bzero(secret, strlen(secret));
        free(secret);
        hmac_sha256(k, sizeof(k), (const uint8_t *)key->region, strlen(key->region), k);
        hmac_sha256(k, sizeof(k), (const uint8_t *)key->service, strlen(key->service), k);
        hmac_sha256(k, sizeof(k), (const uint8_t *)"aws4_request", 12, k);
        hmac_sha256(k, sizeof(k), sts.data, sts.len, k);
        str_hex_encode(k, sizeof(k), signature);
        explicit_bzero(k, sizeof(k));
    }
    if (rc == PITR_OK && authorization != NULL) {
        buf_reset(authorization);
        rc = buf_printf(authorization, err,
                        "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
                        "Signature=%s",
                        key->access_key, date, key->region, key->service, (char *)signed_list.data,
                        signature);
    }
    if (rc == PITR_OK && canonical != NULL) {
        buf_reset(canonical);
        rc = buf_append(canonical, canon.data, canon.len, err);
    }
    if (rc == PITR_OK && string_to_sign != NULL) {
        buf_reset(string_to_sign);
        rc = buf_append(string_to_sign, sts.data, sts.len, err);
    }
    buf_fini(&canon);
    buf_fini(&sts);
    buf_fini(&signed_list);
    return rc;
}

/* Tests for lib/storage/sigv4.c: the published AWS Signature Version 4 test suite (data files in
 * tests/data/sigv4: NAME.req is the request, NAME.creq/.sts/.authz the expected canonical request,
 * string to sign and Authorization value; credentials AKIDEXAMPLE, region us-east-1, service
 * "service", 20150830T123600Z), plus the S3 canonical forms pitr depends on. The suite's
 * normalize-path cases other than get-space are left out: S3 does not normalise paths, and
 * neither does the signer. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "base/strutil.h"
#include "base/xalloc.h"
#include "crypto/sha256.h"
#include "storage/sigv4.h"

enum { MAX_PAIRS = 16, TEXT_MAX = 64 * 1024 };

struct suite_case {
    const char *name;
    const char *unsigned_header; /* added after signing (post-sts-header-after), or NULL */
};

static const struct suite_case suite_cases[] = {
    {"get-vanilla", NULL},
    {"get-vanilla-query", NULL},
    {"get-vanilla-empty-query-key", NULL},
    {"get-vanilla-query-order-key", NULL},
    {"get-vanilla-query-order-key-case", NULL},
    {"get-vanilla-query-order-value", NULL},
    {"get-vanilla-query-unreserved", NULL},
    {"get-vanilla-utf8-query", NULL},
    {"get-space", NULL},
    {"get-utf8", NULL},
    {"get-unreserved", NULL},
    {"get-header-key-duplicate", NULL},
    {"get-header-value-order", NULL},
    {"get-header-value-trim", NULL},
    {"post-vanilla", NULL},
    {"post-vanilla-empty-query-value", NULL},
    {"post-header-key-sort", NULL},
    {"post-header-value-case", NULL},
    {"post-x-www-form-urlencoded", NULL},
    {"post-x-www-form-urlencoded-parameters", NULL},
    {"post-sts-header-before", NULL},
    {"post-sts-header-after", "X-Amz-Security-Token"},
};

static const struct sigv4_key suite_key = {
    "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "service"};

/* A parsed NAME.req; every string points into text, which the parser cuts in place. */
struct parsed_req {
    char *text;
    const char *method;
    const char *path;
    struct sigv4_pair query[MAX_PAIRS];
    size_t nquery;
    struct sigv4_pair headers[MAX_PAIRS];
    size_t nheaders;
    const char *body;
};

static char *read_vector(const char *name, const char *ext)
{
    const char *dir = getenv("PITR_TEST_DATA");
    char *path;
    struct buf b;
    struct pitr_err err;
    size_t len;

    ck_assert_msg(dir != NULL, "PITR_TEST_DATA is not set (run through ctest)");
    path = xasprintf("%s/sigv4/%s.%s", dir, name, ext);
    buf_init(&b, TEXT_MAX);
    ck_assert_msg(fs_read_file(path, &b, &err) == PITR_OK, "%s", err.msg);
    free(path);
    if (b.data == NULL) {
        return xstrdup("");
    }
    return (char *)buf_take(&b, &len);
}

/* Decodes %XX in place (query names and values may be sent encoded; the signer wants them raw). */
static void percent_decode(char *s)
{
    char *out = s;

    for (const char *p = s; *p != '\0'; p++) {
        unsigned hi;
        unsigned lo;

        if (p[0] == '%' && sscanf(p + 1, "%1x%1x", &hi, &lo) == 2) {
            *out++ = (char)(hi << 4 | lo);
            p += 2;
        } else {
            *out++ = *p;
        }
    }
    *out = '\0';
}

/* "METHOD target HTTP/1.1\nName:value\n...[\n\nbody]": the target's path is kept raw (a space
 * stays a space, as in get-space) and its query split at '&' and '='. */
static void parse_req(const char *name, struct parsed_req *r)
{
    char *line;
    char *next;
    char *target;
    char *version;
    char *query;
    char *blank;

    memset(r, 0, sizeof(*r));
    r->text = read_vector(name, "req");
    r->body = "";
    blank = strstr(r->text, "\n\n");
    if (blank != NULL) {
        *blank = '\0';
        r->body = blank + 2;
    }
    next = strchr(r->text, '\n');
    if (next != NULL) {
        *next++ = '\0';
    }
    r->method = r->text;
    target = strchr(r->text, ' ');
    version = strrchr(r->text, ' ');
    ck_assert_msg(target != NULL && version != NULL && version > target, "%s: bad request line",
                  name);
    *target++ = '\0';
    *version = '\0';
    r->path = target;
    query = strchr(target, '?');
    if (query != NULL) {
        *query++ = '\0';
    }
    while (query != NULL && *query != '\0') {
        char *amp = strchr(query, '&');
        char *eq;

        if (amp != NULL) {
            *amp++ = '\0';
        }
        eq = strchr(query, '=');
        if (eq != NULL) {
            *eq++ = '\0';
        }
        percent_decode(query);
        if (eq != NULL) {
            percent_decode(eq);
        }
        ck_assert_uint_lt(r->nquery, MAX_PAIRS);
        r->query[r->nquery++] = (struct sigv4_pair){query, eq != NULL ? eq : ""};
        query = amp;
    }
    for (line = next; line != NULL && *line != '\0'; line = next) {
        char *colon;

        next = strchr(line, '\n');
        if (next != NULL) {
            *next++ = '\0';
        }
        colon = strchr(line, ':');
        ck_assert_msg(colon != NULL, "%s: bad header line \"%s\"", name, line);
        *colon = '\0';
        ck_assert_uint_lt(r->nheaders, MAX_PAIRS);
        r->headers[r->nheaders++] = (struct sigv4_pair){line, colon + 1};
    }
}

static void drop_header(struct parsed_req *r, const char *name)
{
    size_t kept = 0;

    for (size_t i = 0; i < r->nheaders; i++) {
        if (strcmp(r->headers[i].name, name) != 0) {
            r->headers[kept++] = r->headers[i];
        }
    }
    ck_assert_uint_lt(kept, r->nheaders);
    r->nheaders = kept;
}

START_TEST(test_sigv4_sign_suite)
{
    const struct suite_case *c = &suite_cases[_i];
    struct parsed_req r;
    struct sigv4_request req;
    uint8_t digest[SHA256_LEN];
    char payload[2 * SHA256_LEN + 1];
    char *want_creq = read_vector(c->name, "creq");
    char *want_sts = read_vector(c->name, "sts");
    char *want_authz = read_vector(c->name, "authz");
    struct buf creq;
    struct buf sts;
    struct buf authz;
    struct pitr_err err;

    parse_req(c->name, &r);
    if (c->unsigned_header != NULL) {
        drop_header(&r, c->unsigned_header);
    }
    sha256_buffer((const uint8_t *)r.body, strlen(r.body), digest);
    str_hex_encode(digest, SHA256_LEN, payload);
    req =
        (struct sigv4_request){r.method, r.path, r.query, r.nquery, r.headers, r.nheaders, payload};
    buf_init(&creq, TEXT_MAX);
    buf_init(&sts, TEXT_MAX);
    buf_init(&authz, TEXT_MAX);
    ck_assert_int_eq(sigv4_sign(&req, &suite_key, "20150830T123600Z", &creq, &sts, &authz, &err),
                     PITR_OK);
    ck_assert_msg(strcmp((char *)creq.data, want_creq) == 0,
                  "%s: canonical request\n got:\n%s\nwant:\n%s", c->name, (char *)creq.data,
                  want_creq);
    ck_assert_msg(strcmp((char *)sts.data, want_sts) == 0,
                  "%s: string to sign\n got:\n%s\nwant:\n%s", c->name, (char *)sts.data, want_sts);
    ck_assert_msg(strcmp((char *)authz.data, want_authz) == 0,
                  "%s: authorization\n got: %s\nwant: %s", c->name, (char *)authz.data, want_authz);
    buf_fini(&creq);
    buf_fini(&sts);
    buf_fini(&authz);
    free(want_creq);
    free(want_sts);
    free(want_authz);
    free(r.text);
}
END_TEST

/* The documented S3 GetObject example (examplebucket, 20130524T000000Z, Range: bytes=0-9). */
START_TEST(test_sigv4_sign_s3_example)
{
    static const struct sigv4_pair headers[] = {
        {"Host", "examplebucket.s3.amazonaws.com"},
        {"Range", "bytes=0-9"},
        {"x-amz-content-sha256",
         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"x-amz-date", "20130524T000000Z"},
    };
    static const struct sigv4_key key = {
        "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3"};
    struct sigv4_request req = {"GET",
                                "/test.txt",
                                NULL,
                                0,
                                headers,
                                4,
                                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"};
    struct buf sts;
    struct buf auth;
    struct pitr_err err;

    buf_init(&sts, 4096);
    buf_init(&auth, 4096);
    ck_assert_int_eq(sigv4_sign(&req, &key, "20130524T000000Z", NULL, &sts, &auth, &err), PITR_OK);
    ck_assert_str_eq((char *)sts.data,
                     "AWS4-HMAC-SHA256\n20130524T000000Z\n"
                     "20130524/us-east-1/s3/aws4_request\n"
                     "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    ck_assert_str_eq((char *)auth.data,
                     "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
                     "aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                     "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    buf_fini(&sts);
    buf_fini(&auth);
}
END_TEST

/* S3 object keys (raw in the path, encoded once, '/' kept) and a ListObjectsV2 query whose
 * prefix and continuation token hold ' ', '+', '/', '=': S3 canonicalises them as %20, %2B, %2F,
 * %3D, and sorts by the encoded name. */
struct s3_case {
    const char *what;
    const char *path;
    struct sigv4_pair query[6];
    size_t nquery;
    const char *canonical_path;
    const char *canonical_query;
};

static const struct s3_case s3_cases[] = {
    {"plain key",
     "/bucket/repo/wal/000000010000000000000001",
     {{0}},
     0,
     "/bucket/repo/wal/000000010000000000000001",
     ""},
    {"space", "/bucket/pitr test/a b", {{0}}, 0, "/bucket/pitr%20test/a%20b", ""},
    {"plus and equals", "/bucket/a+b=c", {{0}}, 0, "/bucket/a%2Bb%3Dc", ""},
    {"tilde and unreserved", "/bucket/t~-._x", {{0}}, 0, "/bucket/t~-._x", ""},
    {"ampersand and others",
     "/bucket/a&b;c,d:e@f$g'h(i)*!",
     {{0}},
     0,
     "/bucket/a%26b%3Bc%2Cd%3Ae%40f%24g%27h%28i%29%2A%21",
     ""},
    {"unicode", "/bucket/caf\xc3\xa9/\xe1\x88\xb4", {{0}}, 0, "/bucket/caf%C3%A9/%E1%88%B4", ""},
    {"percent sign is data", "/bucket/100%", {{0}}, 0, "/bucket/100%25", ""},
    {"list first page",
     "/bucket",
     {{"list-type", "2"}, {"prefix", "repo x/wal+1=/"}, {"max-keys", "1000"}, {"delimiter", "/"}},
     4,
     "/bucket",
     "delimiter=%2F&list-type=2&max-keys=1000&prefix=repo%20x%2Fwal%2B1%3D%2F"},
    {"list continuation",
     "/",
     {{"list-type", "2"},
      {"prefix", "r/"},
      {"continuation-token", "1w+Q/kT0=x/yZ=="},
      {"max-keys", "1000"}},
     4,
     "/",
     "continuation-token=1w%2BQ%2FkT0%3Dx%2FyZ%3D%3D&list-type=2&max-keys=1000&prefix=r%2F"},
    {"multipart upload id and empty value",
     "/bucket/k",
     {{"uploadId", "VXBsb2Fk+/="}, {"partNumber", "12"}},
     2,
     "/bucket/k",
     "partNumber=12&uploadId=VXBsb2Fk%2B%2F%3D"},
    {"subresource without value", "/bucket/k", {{"uploads", ""}}, 1, "/bucket/k", "uploads="},
};

START_TEST(test_sigv4_sign_s3_canonical_forms)
{
    const struct s3_case *c = &s3_cases[_i];
    static const struct sigv4_pair headers[] = {{"host", "h"}, {"x-amz-date", "20260101T000000Z"}};
    static const struct sigv4_key key = {"AK", "SK", "us-east-1", "s3"};
    struct sigv4_request req = {"GET",   c->path, c->query,          c->nquery,
                                headers, 2,       "UNSIGNED-PAYLOAD"};
    struct buf canon;
    char *want = xasprintf("GET\n%s\n%s\nhost:h\nx-amz-date:20260101T000000Z\n\nhost;x-amz-date\n"
                           "UNSIGNED-PAYLOAD",
                           c->canonical_path, c->canonical_query);
    struct pitr_err err;

    buf_init(&canon, 4096);
    ck_assert_int_eq(sigv4_sign(&req, &key, "20260101T000000Z", &canon, NULL, NULL, &err), PITR_OK);
    ck_assert_msg(strcmp((char *)canon.data, want) == 0, "%s:\n got:\n%s\nwant:\n%s", c->what,
                  (char *)canon.data, want);
    buf_fini(&canon);
    free(want);
}
END_TEST

START_TEST(test_sigv4_sign_bad_date)
{
    static const struct sigv4_pair headers[] = {{"host", "h"}};
    struct sigv4_request req = {"GET", "/", NULL, 0, headers, 1, "UNSIGNED-PAYLOAD"};
    struct buf auth;
    struct pitr_err err;

    buf_init(&auth, 4096);
    ck_assert_int_eq(sigv4_sign(&req, &suite_key, "2015-08-30", NULL, NULL, &auth, &err),
                     PITR_INTERNAL);
    ck_assert_str_eq(err.msg, "invalid x-amz-date \"2015-08-30\"");
    ck_assert_uint_eq(auth.len, 0);
    buf_fini(&auth);
}
END_TEST

START_TEST(test_sigv4_uri_encode)
{
    static const struct {
        const char *in;
        bool keep_slash;
        const char *out;
    } cases[] = {
        {"", false, ""},
        {"AZaz09-._~", false, "AZaz09-._~"},
        {"a/b", true, "a/b"},
        {"a/b", false, "a%2Fb"},
        {" +=&?#%", true, "%20%2B%3D%26%3F%23%25"},
        {"\xc3\xa9\x01\x7f\xff", false, "%C3%A9%01%7F%FF"},
    };
    struct pitr_err err;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b;

        buf_init(&b, 256);
        ck_assert_int_eq(sigv4_uri_encode(cases[i].in, cases[i].keep_slash, &b, &err), PITR_OK);
        ck_assert_str_eq(b.data ? (char *)b.data : "", cases[i].out);
        buf_fini(&b);
    }
}
END_TEST

START_TEST(test_sigv4_uri_encode_cap)
{
    struct buf b;
    struct pitr_err err;

    buf_init(&b, 8);
    ck_assert_int_eq(sigv4_uri_encode("   ", false, &b, &err), PITR_INTERNAL);
    ck_assert_uint_le(b.len, 8);
    buf_fini(&b);
}
END_TEST

Suite *sigv4_suite(void)
{
    Suite *s = suite_create("sigv4");
    TCase *sign = tcase_create("sigv4_sign");
    TCase *encode = tcase_create("sigv4_uri_encode");

    tcase_add_loop_test(sign, test_sigv4_sign_suite, 0,
                        sizeof(suite_cases) / sizeof(suite_cases[0]));
    tcase_add_test(sign, test_sigv4_sign_s3_example);
    tcase_add_loop_test(sign, test_sigv4_sign_s3_canonical_forms, 0,
                        sizeof(s3_cases) / sizeof(s3_cases[0]));
    tcase_add_test(sign, test_sigv4_sign_bad_date);
    suite_add_tcase(s, sign);
    tcase_add_test(encode, test_sigv4_uri_encode);
    tcase_add_test(encode, test_sigv4_uri_encode_cap);
    suite_add_tcase(s, encode);
    return s;
}

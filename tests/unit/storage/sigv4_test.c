/* Tests for lib/storage/sigv4.c against the published AWS Signature Version 4 test suite
 * (credentials AKIDEXAMPLE, region us-east-1, service "service", 20150830T123600Z), plus the
 * S3 canonicalisation cases pitr depends on. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "crypto/sha256.h"
#include "base/strutil.h"
#include "storage/sigv4.h"

#define MAXP 4

struct vector {
    const char *name;
    const char *method;
    const char *path;
    struct sigv4_pair query[MAXP];
    struct sigv4_pair headers[MAXP];
    const char *body;
    const char *signed_headers;
    const char *signature;
};

#define HOST                                                                                       \
    {                                                                                              \
        "host", "example.amazonaws.com"                                                            \
    }
#define DATE                                                                                       \
    {                                                                                              \
        "x-amz-date", "20150830T123600Z"                                                           \
    }

static const struct vector vectors[] = {
    {"get-vanilla",
     "GET",
     "/",
     {{0}},
     {HOST, DATE},
     "",
     "host;x-amz-date",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    {"get-header-key-duplicate",
     "GET",
     "/",
     {{0}},
     {HOST, {"my-header1", "value2"}, {"My-Header1", "value2"}, {"my-header1", "value1"}},
     "",
     "host;my-header1;x-amz-date",
     "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
    {"get-header-value-order",
     "GET",
     "/",
     {{0}},
     {HOST, {"my-header1", "value4,value1,value3,value2"}, DATE},
     "",
     "host;my-header1;x-amz-date",
     "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"},
    {"get-header-value-trim",
     "GET",
     "/",
     {{0}},
     {HOST, {"my-header1", " value1"}, {"my-header2", " \"a   b   c\""}, DATE},
     "",
     "host;my-header1;my-header2;x-amz-date",
     "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
    {"get-unreserved",
     "GET",
     "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
     {{0}},
     {HOST, DATE},
     "",
     "host;x-amz-date",
     "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
    {"get-utf8",
     "GET",
     "/\xe1\x88\xb4",
     {{0}},
     {HOST, DATE},
     "",
     "host;x-amz-date",
     "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
    {"get-vanilla-query-order-key-case",
     "GET",
     "/",
     {{"Param2", "value2"}, {"Param1", "value1"}},
     {HOST, DATE},
     "",
     "host;x-amz-date",
     "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
    {"get-vanilla-query-unreserved",
     "GET",
     "/",
     {{"-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
       "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"}},
     {HOST, DATE},
     "",
     "host;x-amz-date",
     "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
    {"get-vanilla-utf8-query",
     "GET",
     "/",
     {{"\xe1\x88\xb4", "bar"}},
     {HOST, DATE},
     "",
     "host;x-amz-date",
     "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
    {"post-vanilla",
     "POST",
     "/",
     {{0}},
     {HOST, DATE},
     "",
     "host;x-amz-date",
     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
    {"post-header-value-case",
     "POST",
     "/",
     {{0}},
     {HOST, {"My-Header1", "VALUE1"}, DATE},
     "",
     "host;my-header1;x-amz-date",
     "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"},
    {"post-vanilla-query",
     "POST",
     "/",
     {{"Param1", "value1"}},
     {HOST, DATE},
     "",
     "host;x-amz-date",
     "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
    {"post-vanilla-query-nonunreserved",
     "POST",
     "/",
     {{"@#$%^", ""}, {"+", "/,?><`\";:\\|][{}"}},
     {HOST, DATE},
     "",
     "host;x-amz-date",
     "66c82657c86e26fb25238d0e69f011edc4c6df5ae71119d7cb98ed9b87393c1e"},
    {"post-vanilla-query-space",
     "POST",
     "/",
     {{"p", ""}},
     {HOST, DATE},
     "",
     "host;x-amz-date",
     "e71688addb58a26418614085fb730ba3faa623b461c17f48f2fbdb9361b94a9b"},
    {"post-x-www-form-urlencoded",
     "POST",
     "/",
     {{0}},
     {{"Content-Type", "application/x-www-form-urlencoded"}, HOST, DATE},
     "Param1=value1",
     "content-type;host;x-amz-date",
     "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
    {"post-x-www-form-urlencoded-parameters",
     "POST",
     "/",
     {{0}},
     {{"Content-Type", "application/x-www-form-urlencoded; charset=utf8"}, HOST, DATE},
     "Param1=value1",
     "content-type;host;x-amz-date",
     "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe"},
};

static const struct sigv4_key suite_key = {
    "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "service"};

static size_t count(const struct sigv4_pair *p)
{
    size_t n = 0;

    while (n < MAXP && p[n].name != NULL) {
        n++;
    }
    return n;
}

START_TEST(test_sigv4_sign_suite)
{
    const struct vector *v = &vectors[_i];
    uint8_t digest[32];
    char payload[65];
    char expect[512];
    struct sigv4_request req;
    struct buf auth;
    struct buf canon;
    struct pitr_err err;

    sha256_buffer((const uint8_t *)v->body, strlen(v->body), digest);
    str_hex_encode(digest, 32, payload);
    req.method = v->method;
    req.path = v->path;
    req.query = v->query;
    req.nquery = count(v->query);
    req.headers = v->headers;
    req.nheaders = count(v->headers);
    if (strcmp(v->name, "get-header-key-duplicate") == 0) {
        static const struct sigv4_pair dup[] = {HOST,
                                                {"my-header1", "value2"},
                                                {"my-header1", "value2"},
                                                {"my-header1", "value1"},
                                                DATE};

        req.headers = dup; /* five headers: more than the table row holds */
        req.nheaders = 5;
    }
    req.payload_hash = payload;
    buf_init(&auth, 4096);
    buf_init(&canon, 4096);
    ck_assert_int_eq(sigv4_sign(&req, &suite_key, "20150830T123600Z", &canon, NULL, &auth, &err),
                     PITR_OK);
    snprintf(expect, sizeof(expect),
             "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
             "SignedHeaders=%s, Signature=%s",
             v->signed_headers, v->signature);
    ck_assert_msg(strcmp((char *)auth.data, expect) == 0, "%s:\n got %s\nwant %s\ncanonical:\n%s",
                  v->name, (char *)auth.data, expect, (char *)canon.data);
    buf_fini(&auth);
    buf_fini(&canon);
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
    ck_assert_ptr_nonnull(
        strstr((char *)auth.data,
               "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"));
    buf_fini(&sts);
    buf_fini(&auth);
}
END_TEST

/* Keys with spaces, '+', '=' and a continuation token with '+', '/', '=' must be encoded the
 * way S3 canonicalises them: %20, %2B, %3D, %2F in the query; '/' kept in the path. */
START_TEST(test_sigv4_sign_s3_canonical_forms)
{
    static const struct sigv4_pair headers[] = {{"host", "h"}, {"x-amz-date", "20260101T000000Z"}};
    static const struct sigv4_pair query[] = {
        {"list-type", "2"}, {"prefix", "c 1/wal+x=y/"}, {"continuation-token", "1a+b/c=="}};
    static const struct sigv4_key key = {"AK", "SK", "us-east-1", "s3"};
    struct sigv4_request req = {
        "GET", "/bucket/pitr test/a+b=c~d.\xc3\xa9", query, 3, headers, 2, "UNSIGNED-PAYLOAD"};
    struct buf canon;
    struct pitr_err err;

    buf_init(&canon, 4096);
    ck_assert_int_eq(sigv4_sign(&req, &key, "20260101T000000Z", &canon, NULL, NULL, &err), PITR_OK);
    ck_assert_str_eq(
        (char *)canon.data,
        "GET\n/bucket/pitr%20test/a%2Bb%3Dc~d.%C3%A9\n"
        "continuation-token=1a%2Bb%2Fc%3D%3D&list-type=2&prefix=c%201%2Fwal%2Bx%3Dy%2F\n"
        "host:h\nx-amz-date:20260101T000000Z\n\nhost;x-amz-date\nUNSIGNED-PAYLOAD");
    buf_fini(&canon);
}
END_TEST

Suite *sigv4_suite(void)
{
    Suite *s = suite_create("sigv4");
    TCase *tc = tcase_create("sigv4_sign");

    tcase_add_loop_test(tc, test_sigv4_sign_suite, 0, sizeof(vectors) / sizeof(vectors[0]));
    tcase_add_test(tc, test_sigv4_sign_s3_example);
    tcase_add_test(tc, test_sigv4_sign_s3_canonical_forms);
    suite_add_tcase(s, tc);
    return s;
}

/* s3: the S3 driver (AWS S3, MinIO, Ceph RGW, ...) over one reused libcurl handle, plus one per
 * upload worker while a multipart upload sends parts concurrently. Every request is signed
 * (sigv4.c), bounded in time (connect timeout, stalled-transfer abort) and retried with
 * exponential backoff and full jitter on network errors, 5xx and 429, within a count and a time
 * budget. An upload succeeds only when the server answered 2xx to the final request and the MD5
 * it reports matches what was sent: an archive_command must never call a missing object stored. */
#include "storage/storage.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/strutil.h"
#include "base/xalloc.h"
#include "crypto/digest.h"
#include "crypto/key.h"
#include "crypto/sha256.h"
#include "storage/curl_api.h"
#include "storage/multipart.h"
#include "storage/sigv4.h"
#include "storage/storage_int.h"
#include "stream/filter_int.h"

enum {
    S3_RESPONSE_MAX = 4 * 1024 * 1024, /* XML replies (a list page is ~300 KiB) */
    S3_MAX_HEADERS = 8,
    S3_MAX_QUERY = 6,
    S3_BACKOFF_BASE_MS = 200,
    S3_BACKOFF_CAP_MS = 5000,
    S3_MAX_PARTS = 10000,               /* S3's limit per multipart upload */
    S3_MIN_PART_SIZE = 5 * 1024 * 1024, /* S3's minimum for every part but the last */
    S3_DEFAULT_CONCURRENCY = 4,
    S3_MAX_CONCURRENCY = 32,
    S3_CANCEL_POLL_MS = 50,  /* how often a retry pause looks whether its upload was cancelled */
    S3_SLOT_MIN = 64 * 1024, /* first allocation of a part buffer */
};

/* libcurl, loaded when an S3 repository is first opened (curl_api.c says why) */
static const struct curl_api *curl;

struct s3_storage {
    struct storage base;
    CURL *curl;
    char *scheme; /* "https" or "http" */
    char *host;   /* host[:port] as the server is addressed (virtual: bucket.host) */
    char *bucket;
    char *prefix; /* "" or "a/b" */
    bool virtual_host;
    bool verify_tls;
    char *ca_file;
    char *region;
    char *access_key;
    char *secret_key;    /* wiped on free */
    char *session_token; /* wiped on free */
    uint64_t part_size;
    unsigned upload_concurrency; /* parts of one multipart upload in flight at once */
    unsigned max_attempts;
    unsigned max_retry_ms;
    unsigned connect_timeout_ms;
    unsigned low_speed_time_s;
    bool no_conditional_writes; /* the server rejected If-None-Match: check-then-put instead */
};

struct s3_request {
    const char *method;
    const char *key; /* repository key, or NULL for the bucket itself */
    struct sigv4_pair query[S3_MAX_QUERY];
    size_t nquery;
    struct sigv4_pair headers[S3_MAX_HEADERS]; /* extra signed headers */
    size_t nheaders;
    const uint8_t *body;
    size_t body_len;
    struct filter *sink;   /* GET: the object's bytes go here */
    uint64_t sink_offset;  /* bytes already delivered to sink (resumed with Range) */
    bool ranged;           /* GET: only bytes [range_offset, range_offset + range_len) */
    uint64_t range_offset; /* ranged: the first byte wanted */
    uint64_t range_len;    /* ranged: how many bytes, > 0 */
    char if_match[128];    /* GET: ETag of the first attempt, so a resume cannot splice objects */
    bool error_in_body;    /* CompleteMultipartUpload: a 200 reply may still carry an <Error> */
    unsigned part;         /* UploadPart: the part number, for messages (0: not a part) */
    CURL *curl;            /* NULL: the storage's handle; an upload worker brings its own */
    /* set when another part of the same upload failed for good: stop now, do not retry */
    const atomic_bool *cancel;
};

struct s3_response {
    long status;
    struct buf body; /* error or XML reply */
    char etag[128];
    uint64_t content_length;
    int64_t mtime;
    struct pitr_err sink_err; /* a failure of the sink itself, not of the transfer */
    uint64_t resume_from;     /* sink bytes delivered before this attempt (0: a fresh GET) */
    uint64_t body_pos;        /* bytes of this reply's body seen so far */
    bool has_content_range;   /* a Content-Range header came, starting at content_range_start */
    uint64_t content_range_start;
    struct s3_request *req;
    CURL *curl;
};

/* --- small helpers --------------------------------------------------------------------------- */

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static char *full_key(const struct s3_storage *s, const char *key)
{
    if (s->prefix[0] == '\0') {
        return xstrdup(key);
    }
    return xasprintf("%s/%s", s->prefix, key);
}

/* "s3://bucket/prefix/key" for messages: never carries credentials. */
static char *display_name(const struct s3_storage *s, const char *key)
{
    char *k = full_key(s, key ? key : "");
    char *name = xasprintf("s3://%s/%s", s->bucket, k);

    free(k);
    return name;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Full jitter: a random pause in [0, min(cap, base * 2^attempt)], so that many archivers hitting
 * the same throttled bucket do not retry in lockstep. */
static unsigned jitter_ms(unsigned attempt)
{
    uint64_t cap = (uint64_t)S3_BACKOFF_BASE_MS << (attempt < 10 ? attempt : 10);
    uint32_t r = 0;
    struct pitr_err ignored;

    if (cap > S3_BACKOFF_CAP_MS) {
        cap = S3_BACKOFF_CAP_MS;
    }
    if (key_random((uint8_t *)&r, sizeof(r), &ignored) != PITR_OK) {
        r = (uint32_t)now_ms();
    }
    return (unsigned)(r % (cap + 1));
}

static bool cancelled(const struct s3_request *req)
{
    return req->cancel != NULL && atomic_load(req->cancel);
}

static void pause_before_retry(const struct s3_storage *s, const struct s3_request *req,
                               uint64_t start, unsigned attempt)
{
    uint64_t spent = now_ms() - start;
    uint64_t left = spent < s->max_retry_ms ? s->max_retry_ms - spent : 0;
    unsigned pause = jitter_ms(attempt);

    pause = pause < left ? pause : (unsigned)left; /* never past the time budget */
    /* in slices, so that a part waiting to retry stops soon after another part failed */
    while (pause > 0 && !cancelled(req)) {
        unsigned slice = pause < S3_CANCEL_POLL_MS ? pause : S3_CANCEL_POLL_MS;

        sleep_ms(slice);
        pause -= slice;
    }
}

/* Appends cp as UTF-8; false for code points XML does not allow (0, surrogates, > U+10FFFF). */
static bool put_utf8(char *out, size_t *n, unsigned long cp)
{
    if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
        return false;
    }
    if (cp < 0x80) {
        out[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*n)++] = (char)(0xc0 | cp >> 6);
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out[(*n)++] = (char)(0xe0 | cp >> 12);
        out[(*n)++] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        out[(*n)++] = (char)(0xf0 | cp >> 18);
        out[(*n)++] = (char)(0x80 | (cp >> 12 & 0x3f));
        out[(*n)++] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    }
    return true;
}

/* The value of one decimal or hex digit, or -1. */
static int digit_value(char c, bool hex)
{
    if (isdigit((unsigned char)c)) {
        return c - '0';
    }
    if (hex && isxdigit((unsigned char)c)) {
        return tolower((unsigned char)c) - 'a' + 10;
    }
    return -1;
}

/* Decodes one entity at p (which is '&', inside [p, end)); returns its length, or 0 when p does
 * not start a well-formed entity (then '&' is kept as it is). A reference is never longer than
 * its UTF-8 encoding ("&#1;" is 4 bytes for 1), so decoding in place of the input always fits. */
static size_t xml_entity(const char *p, const char *end, char *out, size_t *n)
{
    static const struct {
        const char *ent;
        char ch;
    } named[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    const char *semi = memchr(p, ';', (size_t)(end - p));
    size_t len = semi ? (size_t)(semi - p) + 1 : 0;

    if (len == 0 || len > 12) {
        return 0;
    }
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
        if (len == strlen(named[i].ent) && memcmp(p, named[i].ent, len) == 0) {
            out[(*n)++] = named[i].ch;
            return len;
        }
    }
    if (len >= 4 && p[1] == '#') {
        bool hex = p[2] == 'x' || p[2] == 'X';
        const char *digits = p + (hex ? 3 : 2);
        unsigned long cp = 0;

        if (digits == semi) {
            return 0;
        }
        for (const char *d = digits; d < semi; d++) {
            int v = digit_value(*d, hex);

            if (v < 0) {
                return 0;
            }
            cp = cp * (hex ? 16 : 10) + (unsigned long)v;
            if (cp > 0x10ffff) {
                return 0;
            }
        }
        return put_utf8(out, n, cp) ? len : 0;
    }
    return 0;
}

/* Finds the next <tag>value</tag> at or after *pos; returns the XML-decoded value (caller frees)
 * and moves *pos past it, or NULL. Written by hand: the replies are a tiny fixed schema (Key,
 * Size, Prefix, IsTruncated, NextContinuationToken, UploadId, ETag, Code, Message) and libxml2
 * would be a large dependency used for nothing else. Keys come back XML-escaped (a key may hold
 * '&', '<', or control characters as &#NN;), so entities are decoded here; that is also why
 * listings do not ask for encoding-type=url: plain XML escaping already round-trips every key,
 * and one decoding step is less to get wrong than two. */
static char *xml_next(const char **pos, const char *tag)
{
    char open[64];
    char close[64];
    const char *start;
    const char *end;
    char *out;
    size_t n = 0;

    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    start = strstr(*pos, open);
    if (start == NULL) {
        return NULL;
    }
    start += strlen(open);
    end = strstr(start, close);
    if (end == NULL) {
        return NULL;
    }
    out = xmalloc((size_t)(end - start) + 1);
    for (const char *p = start; p < end; p++) {
        size_t used = *p == '&' ? xml_entity(p, end, out, &n) : 0;

        if (used > 0) {
            p += used - 1;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
    *pos = end + strlen(close);
    return out;
}

/* The reason phrase for replies without an S3 error body (HEAD never has one). */
static const char *reason_of(long status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 412:
        return "Precondition Failed";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    default:
        return NULL;
    }
}

/* "HTTP 403 SignatureDoesNotMatch: message" from an error reply ("HTTP 403 Forbidden" without a
 * body). The body's other fields (StringToSign, CanonicalRequest) are left out: long, and of no
 * use to a DBA. */
static void describe_http(const struct s3_response *r, char *out, size_t size)
{
    const char *pos = r->body.len ? (const char *)r->body.data : "";
    char *code = xml_next(&pos, "Code");
    char *message;

    pos = r->body.len ? (const char *)r->body.data : "";
    message = xml_next(&pos, "Message");
    if (code == NULL && reason_of(r->status) != NULL) {
        code = xstrdup(reason_of(r->status));
    }
    snprintf(out, size, "HTTP %ld%s%s%s%s", r->status, code ? " " : "", code ? code : "",
             message ? ": " : "", message ? message : "");
    free(code);
    free(message);
}

static bool retryable_status(long status)
{
    /* 501 Not Implemented is an answer, not a passing fault: it is how a server without
     * conditional writes refuses If-None-Match */
    return status == 429 || (status >= 500 && status <= 599 && status != 501);
}

static bool retryable_curl(CURLcode c)
{
    switch (c) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

/* --- curl callbacks ------------------------------------------------------------------------- */

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct s3_response *r = arg;
    size_t len = size * n;
    char line[512];
    char *value;

    if (len >= sizeof(line)) {
        return len;
    }
    memcpy(line, data, len);
    line[len] = '\0';
    if (strncmp(line, "HTTP/", 5) == 0) {
        /* a new response (after a redirect or 100-continue): forget the previous headers */
        r->etag[0] = '\0';
        r->content_length = 0;
        r->has_content_range = false;
        r->body_pos = 0;
        return len;
    }
    value = strchr(line, ':');
    if (value == NULL) {
        return len;
    }
    *value++ = '\0';
    value = str_trim(value);
    if (strcasecmp(line, "ETag") == 0) {
        snprintf(r->etag, sizeof(r->etag), "%s", value);
    } else if (strcasecmp(line, "Content-Length") == 0) {
        r->content_length = strtoull(value, NULL, 10);
    } else if (strcasecmp(line, "Last-Modified") == 0) {
        r->mtime = (int64_t)curl->getdate(value, NULL);
    } else if (strcasecmp(line, "Content-Range") == 0 && strncmp(value, "bytes ", 6) == 0 &&
               isdigit((unsigned char)value[6])) {
        r->has_content_range = true; /* "bytes FIRST-LAST/SIZE" (a 416's form has no FIRST) */
        r->content_range_start = strtoull(value + 6, NULL, 10);
    }
    return len;
}

/* The body of a ranged GET's 200 or 206: a 206 holds the object from its Content-Range start
 * (the byte asked for when it has none), a 200 from a server that ignores Range the whole object
 * from byte 0. Only the requested bytes the sink still lacks reach it, each exactly once; once the
 * range is complete the transfer stops (the caller counts it done), so a server ignoring Range
 * does not send the rest of a 16 MiB segment for a 64-byte header. */
static size_t on_range_body(struct s3_response *r, long status, const uint8_t *data, size_t len)
{
    struct s3_request *req = r->req;
    uint64_t want = req->range_offset + req->sink_offset; /* the next byte the sink needs */
    uint64_t end = req->range_offset + req->range_len;
    uint64_t first = status == 200          ? 0
                     : r->has_content_range ? r->content_range_start
                                            : req->range_offset + r->resume_from;
    uint64_t at = first + r->body_pos; /* the object offset of data[0] */

    r->body_pos += len;
    if (at > want) {
        /* data-loss guard: bytes from elsewhere in the object must not pass for the range */
        err_set(&r->sink_err, PITR_PROTOCOL,
                "the S3 server answered a range starting at byte %" PRIu64 " instead of %" PRIu64,
                at, want);
        return 0;
    }
    if (want < end && len > want - at) {
        size_t skip = (size_t)(want - at);
        size_t take = len - skip < end - want ? len - skip : (size_t)(end - want);

        if (filter_write(req->sink, data + skip, take, &r->sink_err) != PITR_OK) {
            return 0; /* aborts the transfer; the sink's error is reported */
        }
        req->sink_offset += take;
    }
    return len > end - at ? 0 : len;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct s3_response *r = arg;
    size_t len = size * n;
    long status = 0;
    struct pitr_err err;

    curl->easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
    if (r->req->sink != NULL && status == 200 && r->resume_from > 0) {
        /* a resumed download answered with the whole object: the sink must never see the same
         * byte twice, so stop instead of appending */
        err_set(&r->sink_err, PITR_PROTOCOL,
                "the S3 server ignored the Range header when resuming a download");
        return 0;
    }
    if (r->req->sink != NULL && r->req->ranged && (status == 200 || status == 206)) {
        return on_range_body(r, status, (const uint8_t *)data, len);
    }
    if (r->req->sink != NULL && (status == 200 || status == 206)) {
        if (filter_write(r->req->sink, (const uint8_t *)data, len, &r->sink_err) != PITR_OK) {
            return 0; /* aborts the transfer; the sink's error is reported */
        }
        r->req->sink_offset += len;
        return len;
    }
    if (buf_append(&r->body, data, len, &err) != PITR_OK) {
        return 0;
    }
    return len;
}

/* Aborts a transfer in flight (CURLE_ABORTED_BY_CALLBACK) once its upload was cancelled; libcurl
 * calls it at least once a second, even while the connection is stalled. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return atomic_load((const atomic_bool *)arg) ? 1 : 0;
}

/* --- one request, with retries --------------------------------------------------------------- */

static enum pitr_rc build_path(const struct s3_storage *s, const char *key, struct buf *raw,
                               struct pitr_err *err)
{
    char *k = key ? full_key(s, key) : NULL;
    enum pitr_rc rc;

    if (s->virtual_host) {
        rc = buf_printf(raw, err, "/%s", k ? k : "");
    } else {
        rc = buf_printf(raw, err, "/%s%s%s", s->bucket, k ? "/" : "", k ? k : "");
    }
    free(k);
    return rc;
}

static void amz_date(char out[17])
{
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* Sends one attempt; fills r. Returns PITR_OK when an HTTP answer arrived (any status). */
static enum pitr_rc send_once(struct s3_storage *s, struct s3_request *req, struct s3_response *r,
                              CURLcode *curl_rc, struct pitr_err *err)
{
    struct sigv4_pair headers[S3_MAX_HEADERS + 6];
    struct sigv4_key key = {s->access_key, s->secret_key, s->region, "s3"};
    struct sigv4_request sreq;
    struct buf path;
    struct buf url;
    struct buf auth;
    struct buf line;
    struct curl_slist *list = NULL;
    char date[17];
    char payload[65];
    char range[64];
    uint8_t digest[SHA256_LEN];
    size_t nh = 0;
    enum pitr_rc rc;

    buf_init(&path, 8192);
    buf_init(&url, 16384);
    buf_init(&auth, 4096);
    buf_init(&line, 16384);
    amz_date(date);
    sha256_buffer(req->body ? req->body : (const uint8_t *)"", req->body_len, digest);
    str_hex_encode(digest, SHA256_LEN, payload);
    headers[nh++] = (struct sigv4_pair){"host", s->host};
    headers[nh++] = (struct sigv4_pair){"x-amz-content-sha256", payload};
    headers[nh++] = (struct sigv4_pair){"x-amz-date", date};
    if (s->session_token != NULL) {
        headers[nh++] = (struct sigv4_pair){"x-amz-security-token", s->session_token};
    }
    if (req->sink != NULL && (req->ranged || req->sink_offset > 0)) {
        /* data-loss guard: resume a broken download where the sink stopped (it must never see a
         * byte twice), and only from the same object (If-Match: a replaced object answers 412);
         * a ranged read asks for what it still lacks of its range */
        if (req->ranged) {
            snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64,
                     req->range_offset + req->sink_offset, req->range_offset + req->range_len - 1);
        } else {
            snprintf(range, sizeof(range), "bytes=%" PRIu64 "-", req->sink_offset);
        }
        headers[nh++] = (struct sigv4_pair){"range", range};
        if (req->if_match[0] != '\0') {
            headers[nh++] = (struct sigv4_pair){"if-match", req->if_match};
        }
    }
    for (size_t i = 0; i < req->nheaders; i++) {
        headers[nh++] = req->headers[i];
    }
    rc = build_path(s, req->key, &path, err);
    sreq = (struct sigv4_request){
        req->method, (const char *)path.data, req->query, req->nquery, headers, nh, payload};
    if (rc == PITR_OK) {
        rc = sigv4_sign(&sreq, &key, date, NULL, NULL, &auth, err);
    }
    if (rc == PITR_OK) {
        rc = buf_printf(&url, err, "%s://%s", s->scheme, s->host);
    }
    if (rc == PITR_OK) {
        rc = sigv4_uri_encode((const char *)path.data, true, &url, err);
    }
    for (size_t i = 0; i < req->nquery && rc == PITR_OK; i++) {
        rc = buf_append(&url, i == 0 ? "?" : "&", 1, err);
        if (rc == PITR_OK) {
            rc = sigv4_uri_encode(req->query[i].name, false, &url, err);
        }
        if (rc == PITR_OK) {
            rc = buf_append(&url, "=", 1, err);
        }
        if (rc == PITR_OK) {
            rc = sigv4_uri_encode(req->query[i].value, false, &url, err);
        }
    }
    for (size_t i = 0; i < nh && rc == PITR_OK; i++) {
        buf_reset(&line);
        rc = buf_printf(&line, err, "%s: %s", headers[i].name, headers[i].value);
        list = curl->slist_append(list, (const char *)line.data);
    }
    if (rc == PITR_OK) {
        buf_reset(&line);
        rc = buf_printf(&line, err, "Authorization: %s", (const char *)auth.data);
        list = curl->slist_append(list, (const char *)line.data);
        list = curl->slist_append(list, "Expect:");
        list = curl->slist_append(list, "Content-Type: application/octet-stream");
    }
    if (rc == PITR_OK) {
        CURL *c = req->curl ? req->curl : s->curl;

        curl->easy_reset(c); /* keeps the connection cache: connections are reused */
        curl->easy_setopt(c, CURLOPT_URL, (const char *)url.data);
        curl->easy_setopt(c, CURLOPT_HTTPHEADER, list);
        curl->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl->easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)s->connect_timeout_ms);
        curl->easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
        curl->easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)s->low_speed_time_s);
        curl->easy_setopt(c, CURLOPT_SSL_VERIFYPEER, s->verify_tls ? 1L : 0L);
        curl->easy_setopt(c, CURLOPT_SSL_VERIFYHOST, s->verify_tls ? 2L : 0L);
        if (s->ca_file != NULL) {
            curl->easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
        }
        curl->easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl->easy_setopt(c, CURLOPT_HEADERDATA, r);
        curl->easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl->easy_setopt(c, CURLOPT_WRITEDATA, r);
        if (req->cancel != NULL) {
            curl->easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
            curl->easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
            curl->easy_setopt(c, CURLOPT_XFERINFODATA, (void *)req->cancel);
        }
        if (strcmp(req->method, "HEAD") == 0) {
            curl->easy_setopt(c, CURLOPT_NOBODY, 1L);
        } else if (strcmp(req->method, "GET") != 0) {
            curl->easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
            curl->easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
            curl->easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        }
        *curl_rc = curl->easy_perform(c);
        curl->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    }
    curl->slist_free_all(list);
    if (line.data != NULL) {
        explicit_bzero(line.data, line.cap); /* held a session token or signature */
    }
    buf_fini(&path);
    buf_fini(&url);
    buf_fini(&auth);
    buf_fini(&line);
    return rc;
}

static const char *verb_of(const char *method)
{
    if (strcmp(method, "GET") == 0) {
        return "get";
    }
    if (strcmp(method, "HEAD") == 0) {
        return "stat";
    }
    if (strcmp(method, "DELETE") == 0) {
        return "remove";
    }
    return "put";
}

/* A ranged GET is done once every byte of its range reached the sink (a transfer stopped or cut
 * after its last byte lost nothing), or when the server answered 416 Range Not Satisfiable: the
 * range starts at or past the end of the object (S3 says so for any range of an empty one). */
static bool range_done(const struct s3_request *req, const struct s3_response *r, CURLcode curl_rc)
{
    return req->ranged &&
           (req->sink_offset == req->range_len || (curl_rc == CURLE_OK && r->status == 416));
}

/* Runs req until it gets a final answer; on PITR_OK, r holds a 2xx response (data-loss guard: no
 * operation reports success without one), or a ranged GET is done (range_done). Network errors,
 * timeouts, 5xx (but 501) and 429 are retried with exponential backoff and full jitter, within
 * max_attempts and max_retry_ms; other answers are final. HTTP errors map to: 404 PITR_NOT_FOUND,
 * 412 PITR_EXISTS (a resumed GET: PITR_PROTOCOL), 403 PITR_CONFIG, other 4xx PITR_PROTOCOL,
 * exhausted retries PITR_NETWORK. */
static enum pitr_rc s3_request_run(struct s3_storage *s, struct s3_request *req,
                                   struct s3_response *r, struct pitr_err *err)
{
    uint64_t start = now_ms();
    char *name = display_name(s, req->key);
    /* "s3://b/k" quoted, or part 7 of "s3://b/k": a failed part says which one */
    char *target =
        req->part ? xasprintf("part %u of \"%s\"", req->part, name) : xasprintf("\"%s\"", name);
    char what[600];
    unsigned attempt;
    enum pitr_rc rc = PITR_OK;

    for (attempt = 1;; attempt++) {
        CURLcode curl_rc = CURLE_OK;
        bool retry;

        buf_reset(&r->body);
        r->status = 0;
        r->etag[0] = '\0';
        err_clear(&r->sink_err);
        r->req = req;
        r->curl = req->curl ? req->curl : s->curl;
        r->resume_from = req->sink_offset;
        r->body_pos = 0;
        rc = send_once(s, req, r, &curl_rc, err);
        if (rc != PITR_OK) {
            break;
        }
        if (r->sink_err.rc != PITR_OK) {
            rc = err_copy(err, &r->sink_err); /* the consumer failed: not the network's fault */
            break;
        }
        if (req->sink != NULL && req->sink_offset > 0 && req->if_match[0] == '\0') {
            snprintf(req->if_match, sizeof(req->if_match), "%s", r->etag);
        }
        if (range_done(req, r, curl_rc)) {
            break;
        }
        if (curl_rc == CURLE_OK && r->status >= 200 && r->status < 300 &&
            !(req->error_in_body && r->body.len > 0 && strstr((char *)r->body.data, "<Error>"))) {
            break;
        }
        if (curl_rc != CURLE_OK) {
            snprintf(what, sizeof(what), "%s", curl->easy_strerror(curl_rc));
            retry = retryable_curl(curl_rc);
        } else {
            describe_http(r, what, sizeof(what));
            /* a 2xx here carried an <Error> body: S3's way of failing a completion late, which
             * it documents as worth retrying */
            retry = retryable_status(r->status) || (r->status >= 200 && r->status < 300);
        }
        if (!retry || attempt >= s->max_attempts || now_ms() - start >= s->max_retry_ms ||
            cancelled(req)) {
            if (curl_rc != CURLE_OK) {
                rc = err_set(
                    err,
                    curl_rc == CURLE_PEER_FAILED_VERIFICATION || curl_rc == CURLE_SSL_CACERT_BADFILE
                        ? PITR_CONFIG
                        : PITR_NETWORK,
                    "could not %s %s: %s (tried %u time%s in %.1f s)", verb_of(req->method), target,
                    what, attempt, attempt == 1 ? "" : "s", (double)(now_ms() - start) / 1000.0);
            } else if (r->status == 404) {
                rc = err_set(err, PITR_NOT_FOUND, "%s does not exist", target);
            } else if (r->status == 412 && req->sink != NULL) {
                rc = err_set(err, PITR_PROTOCOL,
                             "could not get %s: it was replaced while being downloaded", target);
            } else if (r->status == 412) {
                rc = err_set(err, PITR_EXISTS, "%s already exists", target);
            } else if (r->status == 403) {
                rc = err_set(err, PITR_CONFIG,
                             "could not %s %s: %s (check the access key, secret and region)",
                             verb_of(req->method), target, what);
            } else {
                rc = err_set(err, retry ? PITR_NETWORK : PITR_PROTOCOL,
                             "could not %s %s: %s (tried %u time%s)", verb_of(req->method), target,
                             what, attempt, attempt == 1 ? "" : "s");
            }
            break;
        }
        log_warn("%s %s failed (%s), attempt %u of %u: retrying", verb_of(req->method), target,
                 what, attempt, s->max_attempts);
        pause_before_retry(s, req, start, attempt);
    }
    free(target);
    free(name);
    return rc;
}

static void response_init(struct s3_response *r)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->body, S3_RESPONSE_MAX);
}

static void response_fini(struct s3_response *r)
{
    buf_fini(&r->body);
}

/* --- driver operations ------------------------------------------------------------------------ */

static enum pitr_rc s3_stat(struct storage *st, const char *key, struct storage_info *out,
                            struct pitr_err *err)
{
    struct s3_storage *s = (struct s3_storage *)st;
    struct s3_request req = {.method = "HEAD", .key = key};
    struct s3_response r;
    enum pitr_rc rc;

    response_init(&r);
    rc = s3_request_run(s, &req, &r, err);
    if (rc == PITR_OK) {
        out->size = r.content_length;
        out->mtime = r.mtime;
        out->is_dir = false;
    }
    response_fini(&r);
    return rc;
}

static enum pitr_rc s3_read(struct storage *st, const char *key, struct filter *sink,
                            struct pitr_err *err)
{
    struct s3_storage *s = (struct s3_storage *)st;
    struct s3_request req = {.method = "GET", .key = key, .sink = sink};
    struct s3_response r;
    enum pitr_rc rc;

    response_init(&r);
    rc = s3_request_run(s, &req, &r, err);
    response_fini(&r);
    return rc != PITR_OK ? rc : filter_finish(sink, err);
}

static enum pitr_rc s3_read_range(struct storage *st, const char *key, uint64_t offset,
                                  uint64_t len, struct filter *sink, struct pitr_err *err)
{
    struct s3_storage *s = (struct s3_storage *)st;
    struct s3_request req = {.method = "GET",
                             .key = key,
                             .sink = sink,
                             .ranged = true,
                             .range_offset = offset,
                             .range_len = len};
    struct s3_response r;
    enum pitr_rc rc;

    if (len == 0) {
        /* no Range header asks for nothing: HEAD, so that a missing object is still reported */
        struct storage_info info;

        rc = s3_stat(st, key, &info, err);
        return rc != PITR_OK ? rc : filter_finish(sink, err);
    }
    response_init(&r);
    rc = s3_request_run(s, &req, &r, err);
    response_fini(&r);
    return rc != PITR_OK ? rc : filter_finish(sink, err);
}

static enum pitr_rc s3_remove(struct storage *st, const char *key, struct pitr_err *err)
{
    struct s3_request req = {.method = "DELETE", .key = key};
    struct s3_response r;
    enum pitr_rc rc;

    response_init(&r);
    rc = s3_request_run((struct s3_storage *)st, &req, &r, err);
    response_fini(&r);
    return rc == PITR_NOT_FOUND ? PITR_OK : rc;
}

struct list_ctx {
    storage_list_fn *fn;
    void *arg;
    size_t strip; /* length of "prefix/" to remove from returned keys */
};

static enum pitr_rc emit_listed(struct list_ctx *ctx, const char *full, uint64_t size, bool dir,
                                struct pitr_err *err)
{
    struct storage_info info = {size, 0, dir};
    char *key = xstrdup(full + ctx->strip);
    size_t n = strlen(key);
    enum pitr_rc rc;

    while (dir && n > 0 && key[n - 1] == '/') {
        key[--n] = '\0';
    }
    rc = ctx->fn(ctx->arg, key, &info, err);
    free(key);
    return rc;
}

static enum pitr_rc list_page(struct list_ctx *ctx, const char *xml, char **token,
                              struct pitr_err *err)
{
    const char *pos = xml;
    char *truncated;
    enum pitr_rc rc = PITR_OK;

    for (;;) {
        const char *contents = strstr(pos, "<Contents>");
        const char *end = contents ? strstr(contents, "</Contents>") : NULL;
        char *block;
        const char *bp;
        char *k;
        char *size;

        if (contents == NULL || end == NULL) {
            break;
        }
        block = xstrndup(contents, (size_t)(end - contents));
        bp = block;
        k = xml_next(&bp, "Key");
        bp = block;
        size = xml_next(&bp, "Size");
        if (k != NULL && strlen(k) >= ctx->strip) {
            rc = emit_listed(ctx, k, size ? strtoull(size, NULL, 10) : 0, false, err);
        }
        free(k);
        free(size);
        free(block);
        pos = end;
        if (rc != PITR_OK) {
            return rc;
        }
    }
    pos = xml;
    for (;;) {
        const char *cp = strstr(pos, "<CommonPrefixes>");
        char *p;

        if (cp == NULL) {
            break;
        }
        pos = cp;
        p = xml_next(&pos, "Prefix");
        if (p == NULL) {
            break;
        }
        if (strlen(p) > ctx->strip) {
            rc = emit_listed(ctx, p, 0, true, err);
        }
        free(p);
        if (rc != PITR_OK) {
            return rc;
        }
    }
    pos = xml;
    truncated = xml_next(&pos, "IsTruncated");
    free(*token);
    *token = NULL;
    if (truncated != NULL && strcmp(truncated, "true") == 0) {
        pos = xml;
        *token = xml_next(&pos, "NextContinuationToken");
        if (*token == NULL) {
            rc = err_set(err, PITR_PROTOCOL, "truncated listing without a continuation token");
        }
    }
    free(truncated);
    return rc;
}

static enum pitr_rc s3_list(struct storage *st, const char *dir, enum storage_list_flags flags,
                            storage_list_fn *fn, void *arg, struct pitr_err *err)
{
    struct s3_storage *s = (struct s3_storage *)st;
    struct list_ctx ctx = {fn, arg, 0};
    char *trimmed = xstrdup(dir);
    char *list_prefix;
    char *token = NULL;
    size_t n = strlen(trimmed);
    enum pitr_rc rc = PITR_OK;

    while (n > 0 && trimmed[n - 1] == '/') {
        trimmed[--n] = '\0';
    }
    /* "prefix/dir/": everything below dir; the repository prefix is stripped from results */
    if (s->prefix[0] == '\0') {
        list_prefix = n ? xasprintf("%s/", trimmed) : xstrdup("");
        ctx.strip = 0;
    } else {
        list_prefix = n ? xasprintf("%s/%s/", s->prefix, trimmed) : xasprintf("%s/", s->prefix);
        ctx.strip = strlen(s->prefix) + 1;
    }
    do {
        struct s3_request req = {.method = "GET", .key = NULL};
        struct s3_response r;

        req.query[req.nquery++] = (struct sigv4_pair){"list-type", "2"};
        req.query[req.nquery++] = (struct sigv4_pair){"prefix", list_prefix};
        req.query[req.nquery++] = (struct sigv4_pair){"max-keys", "1000"};
        if (!(flags & STORAGE_LIST_RECURSIVE)) {
            req.query[req.nquery++] = (struct sigv4_pair){"delimiter", "/"};
        }
        if (token != NULL) {
            req.query[req.nquery++] = (struct sigv4_pair){"continuation-token", token};
        }
        response_init(&r);
        rc = s3_request_run(s, &req, &r, err);
        if (rc == PITR_OK) {
            rc = list_page(&ctx, r.body.len ? (const char *)r.body.data : "", &token, err);
        }
        response_fini(&r);
    } while (rc == PITR_OK && token != NULL);
    free(token);
    free(list_prefix);
    free(trimmed);
    return rc;
}

/* --- the upload sink ------------------------------------------------------------------------- */

/* The parts of a multipart upload go up concurrently on a small pool of threads, each with its
 * own libcurl easy handle, rather than through libcurl's multi interface: the request path
 * (signing, retries with backoff, error mapping) stays the one synchronous function that every
 * other operation uses, and parts keep moving while the producer is busy elsewhere (reading from
 * PostgreSQL, compressing, sleeping under --max-rate). A multi handle would progress only while
 * the producer is inside writer_write, so a slow producer would stall every part and could trip
 * the low-speed abort. The pool exists only while a multipart upload with s3_upload_concurrency
 * above 1 runs: a single PUT (every WAL segment) starts no thread, and concurrency 1 uploads each
 * part on the caller's thread with the storage's handle, as before. */

enum slot_state {
    SLOT_FREE,      /* empty, ready for the producer */
    SLOT_FILLING,   /* the producer writes the stream into it */
    SLOT_QUEUED,    /* a full part waiting for a worker */
    SLOT_UPLOADING, /* a worker is sending it */
};

struct s3_slot {
    uint8_t *data; /* grows with the stream, never past part_size */
    size_t len;
    size_t cap;
    enum slot_state state;
    unsigned number; /* part number, once queued */
};

struct s3_writer {
    struct filter base;
    struct s3_storage *s;
    char *key;
    bool no_overwrite;
    /* upload_concurrency slots of part_size bytes: the memory bound of one upload. The producer
     * fills one while workers send the others, and waits when none is free. */
    struct s3_slot *slots;
    unsigned nslots;
    struct s3_slot *filling; /* producer only */
    char *upload_id;         /* set once a multipart upload has begun */
    struct multipart *parts; /* created with the multipart upload; changed under lock */
    struct md5 *md5;         /* the producer's: single PUT, and parts sent on its thread */
    bool committed;
    pthread_t *workers; /* started with the multipart upload when nslots > 1 */
    unsigned nworkers;
    pthread_mutex_t lock;
    pthread_cond_t cond;    /* a slot changed state, a part failed, or the pool must stop */
    bool quit;              /* under lock: workers exit once nothing is queued */
    struct pitr_err failed; /* under lock: the first failure, returned by every later call */
    atomic_bool cancel;     /* set with failed (or when freed): transfers in flight stop */
};

/* Checks a 2xx reply's ETag against the MD5 we computed: a mismatch means the server holds
 * something other than what we sent. part is 0 for a whole object. */
static enum pitr_rc check_etag(const struct s3_writer *w, unsigned part, const char *etag,
                               const char *expect, struct pitr_err *err)
{
    char quoted[128];
    char what[32] = "";

    snprintf(quoted, sizeof(quoted), "\"%s\"", expect);
    if (strcmp(etag, quoted) != 0 && strcmp(etag, expect) != 0) {
        char *name = display_name(w->s, w->key);
        enum pitr_rc rc;

        if (part > 0) {
            snprintf(what, sizeof(what), "part %u of ", part);
        }
        rc = err_set(err, PITR_CORRUPT,
                     "upload of %s\"%s\" was not stored intact: ETag %s, expected %s", what, name,
                     etag[0] ? etag : "(none)", quoted);
        free(name);
        return rc;
    }
    return PITR_OK;
}

static void md5_of(struct md5 *ctx, const uint8_t *data, size_t len, uint8_t out[MD5_LEN],
                   char b64[32], char hex[2 * MD5_LEN + 1])
{
    md5_update(ctx, data, len);
    md5_final(ctx, out);
    base64_encode(out, MD5_LEN, b64);
    str_hex_encode(out, MD5_LEN, hex);
}

/* Records the first failure and stops every part in flight; later failures (often just the
 * cancellation this causes) are dropped, so the upload reports one error. */
static void remember_failure(struct s3_writer *w, const struct pitr_err *err)
{
    pthread_mutex_lock(&w->lock);
    if (w->failed.rc == PITR_OK) {
        err_copy(&w->failed, err);
        atomic_store(&w->cancel, true);
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->lock);
}

/* Errors are sticky: after a failure every call returns the first error again. */
static enum pitr_rc failed_before(struct s3_writer *w, struct pitr_err *err)
{
    enum pitr_rc rc = PITR_OK;

    if (atomic_load(&w->cancel)) {
        pthread_mutex_lock(&w->lock);
        if (w->failed.rc != PITR_OK) {
            rc = err_copy(err, &w->failed);
        }
        pthread_mutex_unlock(&w->lock);
    }
    return rc;
}

/* Sends one part (any thread: c and ctx belong to the caller; c NULL is the storage's handle)
 * and writes its MD5 to md5_out once the server confirmed it. */
static enum pitr_rc upload_part(struct s3_writer *w, const struct s3_slot *slot, CURL *c,
                                struct md5 *ctx, uint8_t md5_out[MD5_LEN], struct pitr_err *err)
{
    struct s3_request req = {.method = "PUT", .key = w->key, .part = slot->number, .curl = c};
    struct s3_response r;
    uint8_t md5[MD5_LEN];
    char b64[32];
    char hex[2 * MD5_LEN + 1];
    char number[16];
    enum pitr_rc rc;

    md5_of(ctx, slot->data, slot->len, md5, b64, hex);
    snprintf(number, sizeof(number), "%u", slot->number);
    req.query[req.nquery++] = (struct sigv4_pair){"partNumber", number};
    req.query[req.nquery++] = (struct sigv4_pair){"uploadId", w->upload_id};
    req.headers[req.nheaders++] = (struct sigv4_pair){"content-md5", b64};
    req.body = slot->data;
    req.body_len = slot->len;
    req.cancel = c != NULL ? &w->cancel : NULL; /* on the producer's thread nothing cancels */
    response_init(&r);
    rc = s3_request_run(w->s, &req, &r, err);
    if (rc == PITR_OK) {
        /* data-loss guard: S3 checked Content-MD5 on arrival; the ETag confirms what it kept */
        rc = check_etag(w, slot->number, r.etag, hex, err);
    }
    if (rc == PITR_OK) {
        memcpy(md5_out, md5, MD5_LEN);
    }
    response_fini(&r);
    return rc;
}

/* The queued part with the lowest number: parts go out roughly in stream order. */
static struct s3_slot *next_queued(struct s3_writer *w)
{
    struct s3_slot *next = NULL;

    for (unsigned i = 0; i < w->nslots; i++) {
        struct s3_slot *slot = &w->slots[i];

        if (slot->state == SLOT_QUEUED && (next == NULL || slot->number < next->number)) {
            next = slot;
        }
    }
    return next;
}

static struct s3_slot *free_slot(struct s3_writer *w)
{
    for (unsigned i = 0; i < w->nslots; i++) {
        if (w->slots[i].state == SLOT_FREE) {
            return &w->slots[i];
        }
    }
    return NULL;
}

static bool busy(const struct s3_writer *w)
{
    for (unsigned i = 0; i < w->nslots; i++) {
        if (w->slots[i].state == SLOT_QUEUED || w->slots[i].state == SLOT_UPLOADING) {
            return true;
        }
    }
    return false;
}

static void *worker_main(void *arg)
{
    struct s3_writer *w = arg;
    CURL *c = curl->easy_init(); /* its own connection, reused for every part it sends */
    struct md5 *ctx = md5_new();

    pthread_mutex_lock(&w->lock);
    for (;;) {
        struct s3_slot *slot = next_queued(w);
        uint8_t md5[MD5_LEN];
        struct pitr_err err;
        bool stored = false;

        if (slot == NULL && w->quit) {
            break;
        }
        if (slot == NULL) {
            pthread_cond_wait(&w->cond, &w->lock);
            continue;
        }
        slot->state = SLOT_UPLOADING;
        pthread_mutex_unlock(&w->lock);
        /* once cancelled (a part failed, or the writer is being freed) parts are dropped */
        if (!atomic_load(&w->cancel)) {
            enum pitr_rc rc = c ? upload_part(w, slot, c, ctx, md5, &err)
                                : err_set(&err, PITR_INTERNAL, "could not create a libcurl handle");

            stored = rc == PITR_OK;
            if (!stored) {
                remember_failure(w, &err);
            }
        }
        pthread_mutex_lock(&w->lock);
        if (stored) {
            multipart_done(w->parts, slot->number, md5);
        }
        slot->len = 0;
        slot->state = SLOT_FREE;
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->lock);
    md5_free(ctx);
    if (c != NULL) {
        curl->easy_cleanup(c);
    }
    return NULL;
}

/* Starts one worker per slot. Signals stay with the caller's thread, where a program expects
 * them. On failure the workers already started run until pool_stop. */
static enum pitr_rc pool_start(struct s3_writer *w, struct pitr_err *err)
{
    sigset_t all;
    sigset_t old;
    int e = 0;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    w->workers = xcalloc(w->nslots, sizeof(*w->workers));
    for (unsigned i = 0; i < w->nslots && e == 0; i++) {
        e = pthread_create(&w->workers[i], NULL, worker_main, w);
        if (e == 0) {
            w->nworkers++;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        errno = e;
        return err_sys(err, PITR_INTERNAL, "could not start an S3 upload thread");
    }
    return PITR_OK;
}

/* Waits for the workers to finish what is queued (everything is dropped once cancel is set) and
 * joins them. */
static void pool_stop(struct s3_writer *w)
{
    pthread_mutex_lock(&w->lock);
    w->quit = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    for (unsigned i = 0; i < w->nworkers; i++) {
        pthread_join(w->workers[i], NULL);
    }
    w->nworkers = 0;
}

static enum pitr_rc begin_multipart(struct s3_writer *w, struct pitr_err *err)
{
    struct s3_request req = {.method = "POST", .key = w->key};
    struct s3_response r;
    const char *pos;
    enum pitr_rc rc;

    req.query[req.nquery++] = (struct sigv4_pair){"uploads", ""};
    response_init(&r);
    rc = s3_request_run(w->s, &req, &r, err);
    if (rc == PITR_OK) {
        pos = r.body.len ? (const char *)r.body.data : "";
        w->upload_id = xml_next(&pos, "UploadId");
        if (w->upload_id == NULL) {
            char *name = display_name(w->s, w->key);

            rc = err_set(err, PITR_PROTOCOL,
                         "could not put \"%s\": CreateMultipartUpload returned no UploadId", name);
            free(name);
        }
    }
    response_fini(&r);
    if (rc == PITR_OK) {
        w->parts = multipart_new();
        rc = w->nslots > 1 ? pool_start(w, err) : PITR_OK;
    }
    return rc;
}

/* Sends the filled slot as the next part. Without a pool it goes up right here; with one it is
 * queued for a worker and, unless it is the last part, the producer takes a free slot, waiting
 * while every slot is queued or uploading: memory stays at nslots parts. */
static enum pitr_rc hand_off(struct s3_writer *w, bool last, struct pitr_err *err)
{
    struct s3_slot *slot = w->filling;
    uint8_t md5[MD5_LEN];
    enum pitr_rc rc = PITR_OK;

    pthread_mutex_lock(&w->lock);
    slot->number = multipart_next(w->parts);
    if (w->nworkers == 0) {
        pthread_mutex_unlock(&w->lock);
        rc = upload_part(w, slot, NULL, w->md5, md5, err);
        if (rc == PITR_OK) {
            multipart_done(w->parts, slot->number, md5);
        }
        slot->len = 0;
        return rc;
    }
    slot->state = SLOT_QUEUED;
    w->filling = NULL;
    pthread_cond_broadcast(&w->cond);
    while (!last && w->failed.rc == PITR_OK && (w->filling = free_slot(w)) == NULL) {
        pthread_cond_wait(&w->cond, &w->lock);
    }
    if (w->failed.rc != PITR_OK) {
        rc = err_copy(err, &w->failed);
    } else if (w->filling != NULL) {
        w->filling->state = SLOT_FILLING;
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

/* Waits until every part handed off is stored, or one failed for good. */
static enum pitr_rc wait_stored(struct s3_writer *w, struct pitr_err *err)
{
    enum pitr_rc rc = PITR_OK;

    pthread_mutex_lock(&w->lock);
    while (w->failed.rc == PITR_OK && busy(w)) {
        pthread_cond_wait(&w->cond, &w->lock);
    }
    if (w->failed.rc != PITR_OK) {
        rc = err_copy(err, &w->failed);
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

static enum pitr_rc fill(struct s3_writer *w, const uint8_t *data, size_t len, struct pitr_err *err)
{
    size_t part_size = (size_t)w->s->part_size;

    while (len > 0) {
        struct s3_slot *slot = w->filling;
        size_t room = part_size - slot->len;
        size_t take = len < room ? len : room;
        enum pitr_rc rc;

        if (room == 0) {
            /* a full part and more data: this object needs a multipart upload. Only the
             * producer hands out part numbers, so it may read the count without the lock. */
            unsigned handed_out = w->parts ? multipart_count(w->parts) : 0;

            if (handed_out + 1 >= S3_MAX_PARTS) {
                char *name = display_name(w->s, w->key);

                rc = err_set(err, PITR_CONFIG,
                             "could not put \"%s\": larger than %d parts of %" PRIu64
                             " bytes; raise the S3 part size",
                             name, S3_MAX_PARTS, w->s->part_size);
                free(name);
                return rc;
            }
            rc = w->upload_id ? PITR_OK : begin_multipart(w, err);
            if (rc == PITR_OK) {
                rc = hand_off(w, false, err);
            }
            if (rc != PITR_OK) {
                return rc;
            }
            continue;
        }
        if (slot->cap - slot->len < take) {
            /* grown as data comes, so a small object (a WAL segment) does not claim a whole
             * part, and a part never holds more than part_size */
            size_t cap = slot->cap ? slot->cap : S3_SLOT_MIN;

            while (cap < slot->len + take && cap < part_size) {
                cap *= 2;
            }
            slot->cap = cap < part_size ? cap : part_size;
            slot->data = xrealloc(slot->data, slot->cap);
        }
        memcpy(slot->data + slot->len, data, take);
        slot->len += take;
        data += take;
        len -= take;
    }
    return PITR_OK;
}

static enum pitr_rc writer_write(struct filter *f, const uint8_t *data, size_t len,
                                 struct pitr_err *err)
{
    struct s3_writer *w = (struct s3_writer *)f;
    enum pitr_rc rc = failed_before(w, err);

    if (rc == PITR_OK) {
        rc = fill(w, data, len, err);
    }
    if (rc != PITR_OK) {
        remember_failure(w, err);
    }
    return rc;
}

/* Servers without conditional writes: refuse when the key exists (a race remains possible,
 * which is why If-None-Match is preferred wherever it works). */
static enum pitr_rc check_absent(struct s3_writer *w, struct pitr_err *err)
{
    struct storage_info info;
    enum pitr_rc rc = s3_stat(&w->s->base, w->key, &info, err);

    if (rc == PITR_OK) {
        char *name = display_name(w->s, w->key);

        rc = err_set(err, PITR_EXISTS, "\"%s\" already exists", name);
        free(name);
        return rc;
    }
    return rc == PITR_NOT_FOUND ? PITR_OK : rc;
}

static bool conditional_unsupported(const struct s3_response *r)
{
    const char *body = r->body.len ? (const char *)r->body.data : "";

    return r->status == 501 ||
           (r->status == 400 && (strstr(body, "If-None-Match") || strstr(body, "NotImplemented")));
}

/* Sends the final request (PUT or Complete) with If-None-Match when wanted and supported. A
 * server that answers 501, or 400 naming the header, lacks conditional writes: from then on (for
 * the rest of the process) the driver checks with HEAD before the final request instead, and
 * says once that this leaves a race between concurrent writers. */
static enum pitr_rc send_final(struct s3_writer *w, struct s3_request *req, struct s3_response *r,
                               struct pitr_err *err)
{
    size_t base_headers = req->nheaders;
    enum pitr_rc rc;

    if (w->no_overwrite && w->s->no_conditional_writes) {
        rc = check_absent(w, err);
        if (rc != PITR_OK) {
            return rc;
        }
    }
    if (w->no_overwrite && !w->s->no_conditional_writes) {
        /* data-loss guard: never overwrite. The server refuses atomically (412) if the key
         * exists, so two archivers racing for the same WAL segment cannot both win. */
        req->headers[req->nheaders++] = (struct sigv4_pair){"if-none-match", "*"};
    }
    rc = s3_request_run(w->s, req, r, err);
    if (rc == PITR_PROTOCOL && w->no_overwrite && !w->s->no_conditional_writes &&
        conditional_unsupported(r)) {
        log_warn("the S3 server does not support conditional writes (If-None-Match): falling "
                 "back to check-then-put, which cannot stop two concurrent writers");
        w->s->no_conditional_writes = true;
        req->nheaders = base_headers;
        rc = check_absent(w, err);
        if (rc == PITR_OK) {
            rc = s3_request_run(w->s, req, r, err);
        }
    }
    return rc;
}

static enum pitr_rc put_single(struct s3_writer *w, struct pitr_err *err)
{
    struct s3_request req = {.method = "PUT", .key = w->key};
    struct s3_slot *slot = w->filling;
    struct s3_response r;
    uint8_t md5[MD5_LEN];
    char b64[32];
    char hex[2 * MD5_LEN + 1];
    enum pitr_rc rc;

    md5_of(w->md5, slot->data ? slot->data : (const uint8_t *)"", slot->len, md5, b64, hex);
    req.headers[req.nheaders++] = (struct sigv4_pair){"content-md5", b64};
    req.body = slot->data;
    req.body_len = slot->len;
    response_init(&r);
    rc = send_final(w, &req, &r, err);
    if (rc == PITR_OK) {
        /* data-loss guard: S3 checked Content-MD5 on arrival; the ETag confirms what it kept */
        rc = check_etag(w, 0, r.etag, hex, err);
    }
    response_fini(&r);
    return rc;
}

/* Sends the last part, waits for every part, then completes with the parts in number order. */
static enum pitr_rc complete_multipart(struct s3_writer *w, struct pitr_err *err)
{
    struct s3_request req = {.method = "POST", .key = w->key};
    struct s3_response r;
    struct buf body;
    char expect[MULTIPART_ETAG_LEN];
    const char *pos;
    char *etag = NULL;
    enum pitr_rc rc = hand_off(w, true, err);

    if (rc == PITR_OK) {
        rc = wait_stored(w, err);
    }
    if (rc != PITR_OK) {
        return rc;
    }
    pool_stop(w); /* every part is stored: the ledger is the producer's alone from here */
    buf_init(&body, 1024 * 1024);
    /* data-loss guard: the body lists every part in order, or there is no completion at all */
    rc = multipart_complete_body(w->parts, &body, expect, err);
    req.query[req.nquery++] = (struct sigv4_pair){"uploadId", w->upload_id};
    req.body = body.data;
    req.body_len = body.len;
    /* data-loss guard: S3 may answer 200 and still fail the completion, with an <Error> body;
     * s3_request_run treats that as a failure (and retries it) */
    req.error_in_body = true;
    response_init(&r);
    if (rc == PITR_OK) {
        rc = send_final(w, &req, &r, err);
    }
    if (rc == PITR_OK) {
        pos = r.body.len ? (const char *)r.body.data : "";
        etag = xml_next(&pos, "ETag");
        /* data-loss guard: the multipart ETag is MD5(part MD5s)-N; a different one means the
         * server assembled something other than the parts we sent */
        rc = check_etag(w, 0, etag ? etag : r.etag, expect, err);
    }
    free(etag);
    response_fini(&r);
    buf_fini(&body);
    return rc;
}

static enum pitr_rc writer_finish(struct filter *f, struct pitr_err *err)
{
    struct s3_writer *w = (struct s3_writer *)f;
    enum pitr_rc rc = failed_before(w, err);

    if (rc == PITR_OK) {
        rc = w->upload_id ? complete_multipart(w, err) : put_single(w, err);
    }
    if (rc != PITR_OK) {
        remember_failure(w, err);
        return rc;
    }
    w->committed = true;
    return filter_finish_next(f, err);
}

static void abort_multipart(struct s3_writer *w)
{
    struct s3_request req = {.method = "DELETE", .key = w->key};
    struct s3_response r;
    struct pitr_err err;

    req.query[req.nquery++] = (struct sigv4_pair){"uploadId", w->upload_id};
    response_init(&r);
    if (s3_request_run(w->s, &req, &r, &err) != PITR_OK) {
        log_warn("could not abort an unfinished upload (the bucket may keep its parts until a "
                 "lifecycle rule removes them): %s",
                 err.msg);
    }
    response_fini(&r);
}

static void writer_free(struct filter *f)
{
    struct s3_writer *w = (struct s3_writer *)f;

    atomic_store(&w->cancel, true); /* parts still queued or in flight are not wanted now */
    pool_stop(w);
    if (w->upload_id != NULL && !w->committed) {
        /* data-loss guard (against leftovers): abort only once no worker can still store a
         * part, since a part that lands after the abort could outlive it; an unfinished write
         * leaves nothing behind */
        abort_multipart(w);
    }
    for (unsigned i = 0; i < w->nslots; i++) {
        free(w->slots[i].data);
    }
    free(w->slots);
    free(w->workers);
    multipart_free(w->parts);
    md5_free(w->md5);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    free(w->upload_id);
    free(w->key);
    free(w);
}

static const struct filter_ops writer_ops = {"s3-writer", writer_write, writer_finish, writer_free};

static enum pitr_rc s3_write_open(struct storage *st, const char *key,
                                  const struct write_opts *opts, struct filter **sink_out,
                                  struct pitr_err *err)
{
    struct s3_writer *w = xcalloc(1, sizeof(*w));

    (void)err;
    filter_init(&w->base, &writer_ops);
    w->s = (struct s3_storage *)st;
    w->key = xstrdup(key);
    w->no_overwrite = opts->no_overwrite;
    w->nslots = w->s->upload_concurrency;
    w->slots = xcalloc(w->nslots, sizeof(*w->slots));
    w->filling = &w->slots[0];
    w->filling->state = SLOT_FILLING;
    w->md5 = md5_new();
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    atomic_init(&w->cancel, false);
    *sink_out = &w->base;
    return PITR_OK;
}

static void s3_free(struct storage *st)
{
    struct s3_storage *s = (struct s3_storage *)st;

    if (s->curl != NULL) {
        curl->easy_cleanup(s->curl);
    }
    free(s->scheme);
    free(s->host);
    free(s->bucket);
    free(s->prefix);
    free(s->ca_file);
    free(s->region);
    free(s->access_key);
    xfree_secret(s->secret_key);
    xfree_secret(s->session_token);
    free(s);
}

static const struct storage_ops s3_ops = {
    .name = "s3",
    .stat = s3_stat,
    .read = s3_read,
    .read_range = s3_read_range,
    .write_open = s3_write_open,
    .list = s3_list,
    .remove = s3_remove,
    .free = s3_free,
    /* .remove_dir: prefixes are not objects */
};

static bool warned_verify_tls;

struct storage *s3_storage_new(const struct s3_params *p, struct pitr_err *err)
{
    struct s3_storage *s;
    const char *endpoint = p->endpoint;
    const char *scheme = "https";
    const char *sep = strstr(endpoint, "://");
    size_t n;

    if (sep != NULL) {
        if (strncmp(endpoint, "https://", 8) != 0 && strncmp(endpoint, "http://", 7) != 0) {
            err_set(err, PITR_CONFIG, "invalid s3_endpoint \"%s\": expected https://host[:port]",
                    endpoint);
            return NULL;
        }
        scheme = endpoint[4] == 's' ? "https" : "http";
        endpoint = sep + 3;
    }
    if (p->bucket[0] == '\0' || endpoint[0] == '\0' || p->access_key == NULL ||
        p->secret_key == NULL) {
        err_set(err, PITR_CONFIG,
                "incomplete S3 settings: bucket, endpoint and credentials are "
                "required");
        return NULL;
    }
    if (p->part_size != 0 && p->part_size < S3_MIN_PART_SIZE) {
        err_set(err, PITR_CONFIG, "invalid S3 part size %" PRIu64 ": S3 requires at least %d bytes",
                p->part_size, S3_MIN_PART_SIZE);
        return NULL;
    }
    if (p->upload_concurrency > S3_MAX_CONCURRENCY) {
        err_set(err, PITR_CONFIG, "invalid S3 upload concurrency %u: expected 1 to %d",
                p->upload_concurrency, S3_MAX_CONCURRENCY);
        return NULL;
    }
    curl = curl_api_load("S3 repositories", err);
    if (curl == NULL) {
        return NULL;
    }
    s = xcalloc(1, sizeof(*s));
    s->base.ops = &s3_ops;
    s->scheme = xstrdup(scheme);
    n = strlen(endpoint);
    while (n > 0 && endpoint[n - 1] == '/') {
        n--;
    }
    s->host =
        p->virtual_host ? xasprintf("%s.%.*s", p->bucket, (int)n, endpoint) : xstrndup(endpoint, n);
    s->bucket = xstrdup(p->bucket);
    s->prefix = xstrdup(p->prefix ? p->prefix : "");
    s->virtual_host = p->virtual_host;
    s->verify_tls = p->verify_tls;
    s->ca_file = p->ca_file && p->ca_file[0] ? xstrdup(p->ca_file) : NULL; /* "": the system's */
    s->region = xstrdup(p->region ? p->region : "us-east-1");
    s->access_key = xstrdup(p->access_key);
    s->secret_key = xstrdup(p->secret_key);
    s->session_token = p->session_token ? xstrdup(p->session_token) : NULL;
    s->part_size = p->part_size ? p->part_size : 8u * 1024 * 1024;
    s->upload_concurrency = p->upload_concurrency ? p->upload_concurrency : S3_DEFAULT_CONCURRENCY;
    s->max_attempts = p->max_attempts ? p->max_attempts : 1;
    s->max_retry_ms = p->max_retry_ms;
    s->connect_timeout_ms = p->connect_timeout_ms ? p->connect_timeout_ms : 10000;
    s->low_speed_time_s = p->low_speed_time_s ? p->low_speed_time_s : 30;
    s->curl = curl->easy_init();
    if (s->curl == NULL) {
        s3_free(&s->base);
        err_set(err, PITR_INTERNAL, "could not create a libcurl handle");
        return NULL;
    }
    if (!s->verify_tls && !warned_verify_tls) {
        warned_verify_tls = true; /* once per process, not per repository opened */
        log_warn("s3_verify_tls is off: the S3 server's certificate is not checked");
    }
    return &s->base;
}

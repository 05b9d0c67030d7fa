/* curl_api: libcurl, loaded with dlopen on first use rather than linked, for the two users of
 * HTTP in lib/storage (the S3 driver, and http.c's POST for notifications). Internal to
 * lib/storage: libcurl's header is included by this module only. */
#ifndef PITR_STORAGE_CURL_API_H
#define PITR_STORAGE_CURL_API_H

#include <curl/curl.h>
#include <time.h>

#include "base/err.h"

/* The only libcurl entry points pitr uses. */
struct curl_api {
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *c);
    void (*easy_reset)(CURL *c);
    CURLcode (*easy_setopt)(CURL *c, CURLoption opt, ...);
    CURLcode (*easy_perform)(CURL *c);
    CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
    const char *(*easy_strerror)(CURLcode code);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
    void (*slist_free_all)(struct curl_slist *list);
    time_t (*getdate)(const char *s, const time_t *unused);
};

/* Loads libcurl and runs curl_global_init, once per process (not thread-safe: call it before
 * starting threads that use it). `who` names what needs it, for the message ("S3 repositories").
 * Returns the table (valid for the life of the process), or NULL with PITR_CONFIG in err. */
const struct curl_api *curl_api_load(const char *who, struct pitr_err *err);

#endif

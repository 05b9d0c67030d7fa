/* http: libcurl's easy interface for one request; a handle per call, since a process posts at
 * most a notification or two. */
#include "storage/http.h"

#include <stdio.h>

#include "storage/curl_api.h"

static size_t discard(char *data, size_t size, size_t n, void *arg)
{
    (void)data;
    (void)arg;
    return size * n;
}

enum pitr_rc http_post(const char *url, const char *content_type, const char *body, size_t len,
                       unsigned timeout_s, struct pitr_err *err)
{
    const struct curl_api *curl = curl_api_load("notifications", err);
    struct curl_slist *headers = NULL;
    char header[256];
    CURL *c;
    CURLcode code;
    long status = 0;
    enum pitr_rc rc = PITR_OK;

    if (curl == NULL) {
        return PITR_CONFIG;
    }
    c = curl->easy_init();
    if (c == NULL) {
        return err_set(err, PITR_INTERNAL, "could not create a libcurl handle");
    }
    snprintf(header, sizeof(header), "Content-Type: %s", content_type);
    headers = curl->slist_append(headers, header);
    curl->easy_setopt(c, CURLOPT_URL, url);
    curl->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl->easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)timeout_s);
    curl->easy_setopt(c, CURLOPT_TIMEOUT, (long)timeout_s);
    curl->easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl->easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl->easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    curl->easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    code = curl->easy_perform(c);
    if (code != CURLE_OK) {
        /* curl_easy_strerror names the failure without the URL */
        rc = err_set(err, PITR_NETWORK, "%s", curl->easy_strerror(code));
    } else {
        curl->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status < 200 || status > 299) {
            rc = err_set(err, PITR_NETWORK, "the server answered HTTP %ld", status);
        }
    }
    curl->slist_free_all(headers);
    curl->easy_cleanup(c);
    return rc;
}

/* http: one HTTP POST with a bounded time, for webhooks (notifications). It shares libcurl's
 * run-time loading with the S3 driver (curl_api.c). */
#ifndef PITR_STORAGE_HTTP_H
#define PITR_STORAGE_HTTP_H

#include <stddef.h>

#include "base/err.h"

/* POSTs body (len bytes, of content_type) to url (http:// or https://, borrowed), giving up after
 * timeout_s seconds in all, and succeeds only on a 2xx answer, whose body is discarded.
 * Redirects are not followed. PITR_NETWORK when the server cannot be reached or answers
 * otherwise; PITR_CONFIG when libcurl cannot be loaded. Messages never contain the URL, which
 * may carry a secret token. */
enum pitr_rc http_post(const char *url, const char *content_type, const char *body, size_t len,
                       unsigned timeout_s, struct pitr_err *err) PITR_MUST_CHECK;

#endif

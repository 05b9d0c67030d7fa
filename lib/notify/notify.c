/* notify: the message is built here, the POST is lib/storage/http.c's. The webhook URL is a
 * secret (Slack's carry their token in the path): it goes to libcurl and nowhere else; logs name
 * its host only. */
#include "notify/notify.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/strutil.h"
#include "storage/http.h"

enum { NOTIFY_MESSAGE_MAX = 64 * 1024 };

/* The length of the valid UTF-8 sequence at p (1-4), or 0 when p does not start one. */
static size_t utf8_len(const unsigned char *p)
{
    size_t n;
    uint32_t cp;

    if (p[0] < 0x80) {
        return 1;
    }
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2;
        cp = p[0] & 0x1f;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3;
        cp = p[0] & 0x0f;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0; /* also stops at the terminating NUL */
        }
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
        return 0; /* overlong, a surrogate, or past Unicode */
    }
    return n;
}

/* Appends s as a JSON string: invalid UTF-8 bytes become '?', and with slack Slack's control
 * characters become &amp; &lt; &gt; (its mrkdwn reads them as markup). */
static enum pitr_rc json_string(struct buf *out, const char *s, bool slack, struct pitr_err *err)
{
    struct buf clean;
    enum pitr_rc rc = PITR_OK;

    buf_init(&clean, NOTIFY_MESSAGE_MAX);
    for (const unsigned char *p = (const unsigned char *)s; rc == PITR_OK && *p != '\0';) {
        size_t n = utf8_len(p);

        if (n == 0) {
            rc = buf_append(&clean, "?", 1, err);
            p++;
        } else if (slack && (*p == '&' || *p == '<' || *p == '>')) {
            rc = buf_printf(&clean, err, "%s", *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : "&gt;");
            p++;
        } else {
            rc = buf_append(&clean, p, n, err);
            p += n;
        }
    }
    if (rc == PITR_OK) {
        rc = str_json_quote(out, clean.data ? (const char *)clean.data : "", err);
    }
    buf_fini(&clean);
    return rc;
}

enum pitr_rc notify_message(const struct notify_event *ev, struct buf *out, struct pitr_err *err)
{
    char host[256] = "";
    const char *cluster = ev->cluster != NULL && ev->cluster[0] != '\0' ? ev->cluster : NULL;
    struct buf text;
    enum pitr_rc rc;

    if (ev->host != NULL) {
        snprintf(host, sizeof(host), "%s", ev->host);
    } else if (gethostname(host, sizeof(host) - 1) != 0) {
        snprintf(host, sizeof(host), "unknown");
    }
    buf_init(&text, NOTIFY_MESSAGE_MAX);
    rc = buf_printf(&text, err, "%s %s on %s", ev->tool, ev->ok ? "succeeded" : "FAILED", host);
    if (rc == PITR_OK && cluster != NULL) {
        rc = buf_printf(&text, err, " (cluster %s)", cluster);
    }
    if (rc == PITR_OK && ev->details != NULL && ev->details[0] != '\0') {
        rc = buf_printf(&text, err, ": %s", ev->details);
    }
    rc = rc == PITR_OK ? buf_printf(out, err, "{\"text\":") : rc;
    rc = rc == PITR_OK ? json_string(out, (const char *)text.data, true, err) : rc;
    rc = rc == PITR_OK ? buf_printf(out, err, ",\"tool\":") : rc;
    rc = rc == PITR_OK ? json_string(out, ev->tool, false, err) : rc;
    rc = rc == PITR_OK
             ? buf_printf(out, err,
                          ",\"status\":\"%s\",\"cluster\":", ev->ok ? "success" : "failure")
             : rc;
    if (rc == PITR_OK) {
        rc = cluster != NULL ? json_string(out, cluster, false, err) : buf_printf(out, err, "null");
    }
    rc = rc == PITR_OK ? buf_printf(out, err, ",\"host\":") : rc;
    rc = rc == PITR_OK ? json_string(out, host, false, err) : rc;
    rc = rc == PITR_OK ? buf_printf(out, err, ",\"details\":") : rc;
    rc = rc == PITR_OK ? json_string(out, ev->details ? ev->details : "", false, err) : rc;
    rc = rc == PITR_OK ? buf_printf(out, err, "}") : rc;
    buf_fini(&text);
    return rc;
}

void notify_url_host(const char *url, char *out, size_t size)
{
    const char *p = strstr(url, "://");
    const char *end;
    const char *at;
    size_t n;

    p = p != NULL ? p + 3 : url;
    end = p + strcspn(p, "/?#");
    at = memchr(p, '@', (size_t)(end - p));
    if (at != NULL) {
        p = at + 1; /* user:password@ */
    }
    n = (size_t)(end - p);
    snprintf(out, size, "%.*s", (int)n, p);
}

bool notify_wanted(const struct config *cfg, bool ok)
{
    if (cfg->notify_webhook_url == NULL) {
        return false;
    }
    return !ok || (cfg->notify_on != NULL && strcmp(cfg->notify_on, "always") == 0);
}

void notify_send(const struct config *cfg, const struct notify_event *ev)
{
    struct buf msg;
    struct pitr_err err;
    char host[256];

    if (!notify_wanted(cfg, ev->ok)) {
        return;
    }
    notify_url_host(cfg->notify_webhook_url, host, sizeof(host));
    buf_init(&msg, NOTIFY_MESSAGE_MAX);
    if (notify_message(ev, &msg, &err) != PITR_OK ||
        http_post(cfg->notify_webhook_url, "application/json", (const char *)msg.data, msg.len,
                  NOTIFY_TIMEOUT_S, &err) != PITR_OK) {
        log_warn("could not send the notification to %s: %s", host, err.msg);
    } else {
        log_debug("sent a notification to %s", host);
    }
    buf_fini(&msg);
}

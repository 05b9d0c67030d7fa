/* notify: tells a chat webhook (Slack's incoming webhooks, or anything that takes the same JSON)
 * how a job ended. A notification is advisory: failing to send one is logged and never changes
 * the job's exit status. */
#ifndef PITR_NOTIFY_NOTIFY_H
#define PITR_NOTIFY_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"
#include "config/config.h"

struct notify_event {
    const char *tool;    /* "pitr-basebackup", "pitr-restore --drill", "pitr-catalog verify" */
    bool ok;             /* the job succeeded */
    const char *cluster; /* NULL or "": not known (e.g. the repository could not be opened) */
    const char *host;    /* NULL: this machine's name */
    const char *details; /* one line: the job's summary, or its error */
};

/* Appends the message to out: one JSON object with "text" (one line for people, with Slack's
 * three special characters &, <, > escaped) and the fields "tool", "status" ("success" or
 * "failure"), "cluster" (null when not known), "host" and "details". Bytes that are not UTF-8
 * become "?", so the result is always valid JSON. */
enum pitr_rc notify_message(const struct notify_event *ev, struct buf *out,
                            struct pitr_err *err) PITR_MUST_CHECK;

/* Writes into out (size bytes, truncated) the host[:port] of url, for messages: the scheme,
 * user information, path and query, where webhooks keep their secret, are left out. */
void notify_url_host(const char *url, char *out, size_t size);

/* Whether cfg asks for a notification of a job that ended ok or not: only when
 * notify_webhook_url is set; failures always, successes with notify_on = always. */
bool notify_wanted(const struct config *cfg, bool ok);

enum { NOTIFY_TIMEOUT_S = 5 };

/* Posts ev's message to cfg->notify_webhook_url when notify_wanted, within NOTIFY_TIMEOUT_S.
 * A failure is logged as a warning naming only the URL's host; there is nothing to check. */
void notify_send(const struct config *cfg, const struct notify_event *ev);

#endif

/* Tests for lib/notify/notify.c: the JSON message (fields, escaping, UTF-8), the host shown in
 * logs instead of the URL, and when a notification is wanted. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "notify/notify.h"

static char *message(const struct notify_event *ev)
{
    struct buf out;
    struct pitr_err err;
    size_t len = 0;

    buf_init(&out, 1 << 20);
    ck_assert_int_eq(notify_message(ev, &out, &err), PITR_OK);
    return (char *)buf_take(&out, &len);
}

START_TEST(test_notify_message_failure)
{
    struct notify_event ev = {"pitr-basebackup", false, "main", "db1",
                              "could not connect to PostgreSQL (host=/run port=5432)"};
    char *m = message(&ev);

    ck_assert_str_eq(m,
                     "{\"text\":\"pitr-basebackup FAILED on db1 (cluster main): could not "
                     "connect to PostgreSQL (host=/run port=5432)\",\"tool\":\"pitr-basebackup\","
                     "\"status\":\"failure\",\"cluster\":\"main\",\"host\":\"db1\",\"details\":"
                     "\"could not connect to PostgreSQL (host=/run port=5432)\"}");
    free(m);
}
END_TEST

START_TEST(test_notify_message_success_without_cluster)
{
    struct notify_event ev = {"pitr-catalog verify", true, NULL, "db1", ""};
    char *m = message(&ev);

    ck_assert_str_eq(m,
                     "{\"text\":\"pitr-catalog verify succeeded on db1\",\"tool\":\"pitr-catalog "
                     "verify\",\"status\":\"success\",\"cluster\":null,\"host\":\"db1\","
                     "\"details\":\"\"}");
    free(m);
    ev.cluster = "";
    m = message(&ev);
    ck_assert_ptr_nonnull(strstr(m, "\"cluster\":null"));
    free(m);
}
END_TEST

/* JSON's specials everywhere; Slack's &, <, > only in "text", where its mrkdwn reads them */
START_TEST(test_notify_message_escaping)
{
    struct notify_event ev = {"pitr-restore --drill", false, "c\"1", "h\\x",
                              "table \"a\\b\"\n<x> & y\ttab\x01"};
    char *m = message(&ev);

    ck_assert_str_eq(m, "{\"text\":\"pitr-restore --drill FAILED on h\\\\x (cluster c\\\"1): table "
                        "\\\"a\\\\b\\\"\\u000a&lt;x&gt; &amp; y\\u0009tab\\u0001\",\"tool\":\"pitr-"
                        "restore --drill\",\"status\":\"failure\",\"cluster\":\"c\\\"1\",\"host\":"
                        "\"h\\\\x\",\"details\":\"table \\\"a\\\\b\\\"\\u000a<x> & y\\u0009tab"
                        "\\u0001\"}");
    free(m);
}
END_TEST

/* a file name in an error may be any bytes: the message stays valid JSON */
START_TEST(test_notify_message_utf8)
{
    struct notify_event ev = {"t", false, NULL, "h",
                              "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 bad:\xff\xc3x\xc0\xaf"
                              "\xed\xa0\x80\xe2\x82"};
    char *m = message(&ev);

    ck_assert_ptr_nonnull(strstr(m, "\"details\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 "
                                    "bad:??x???????\"}"));
    free(m);
}
END_TEST

static const struct {
    const char *url;
    const char *host;
} hosts[] = {
    {"https://hooks.slack.com/services/T000/B000/XXXXSECRET", "hooks.slack.com"},
    {"http://127.0.0.1:8080/hook?token=secret", "127.0.0.1:8080"},
    {"https://user:secret@chat.example:8443/x", "chat.example:8443"},
    {"https://h", "h"},
    {"https://h#frag", "h"},
    {"https://[::1]:9/p", "[::1]:9"},
};

START_TEST(test_notify_url_host)
{
    char out[64];

    notify_url_host(hosts[_i].url, out, sizeof(out));
    ck_assert_str_eq(out, hosts[_i].host);
}
END_TEST

START_TEST(test_notify_wanted)
{
    struct config cfg;

    memset(&cfg, 0, sizeof(cfg));
    cfg.notify_on = (char *)"failure";
    ck_assert(!notify_wanted(&cfg, false)); /* no URL: never */
    cfg.notify_webhook_url = (char *)"https://h/x";
    ck_assert(notify_wanted(&cfg, false));
    ck_assert(!notify_wanted(&cfg, true));
    cfg.notify_on = (char *)"always";
    ck_assert(notify_wanted(&cfg, false));
    ck_assert(notify_wanted(&cfg, true));
}
END_TEST

Suite *notify_suite(void)
{
    Suite *s = suite_create("notify");
    TCase *tc = tcase_create("notify_message");

    tcase_add_test(tc, test_notify_message_failure);
    tcase_add_test(tc, test_notify_message_success_without_cluster);
    tcase_add_test(tc, test_notify_message_escaping);
    tcase_add_test(tc, test_notify_message_utf8);
    suite_add_tcase(s, tc);
    tc = tcase_create("notify_url_host");
    tcase_add_loop_test(tc, test_notify_url_host, 0, sizeof(hosts) / sizeof(hosts[0]));
    suite_add_tcase(s, tc);
    tc = tcase_create("notify_wanted");
    tcase_add_test(tc, test_notify_wanted);
    suite_add_tcase(s, tc);
    return s;
}

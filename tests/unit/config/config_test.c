/* Tests for lib/config/config.c: parsing, defaults, environment overrides, exact errors and
 * warnings. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "config/credentials.h"
#include "support/testutil.h"

static char *write_conf(const char *name, const char *text)
{
    static char path[512];

    snprintf(path, sizeof(path), "%s/%s", testutil_tmpdir(), name);
    testutil_write_file(path, text, strlen(text));
    return path;
}

/* config_load with stderr (where log_warn writes) captured into out. */
static enum pitr_rc load_logged(const char *path, struct config *cfg, struct pitr_err *err,
                                char *out, size_t size)
{
    char log_path[600];
    int saved = dup(STDERR_FILENO);
    int fd;
    ssize_t n;
    enum pitr_rc rc;

    snprintf(log_path, sizeof(log_path), "%s/stderr.log", testutil_tmpdir());
    fd = open(log_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    rc = config_load(path, cfg, err);
    ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    n = pread(fd, out, size - 1, 0);
    ck_assert_int_ge(n, 0);
    out[n] = '\0';
    close(fd);
    return rc;
}

static void clear_env(void)
{
    unsetenv("PITR_REPO");
    unsetenv("PITR_COMPRESSION");
    unsetenv("PITR_LOG_LEVEL");
    unsetenv("PITR_S3_UPLOAD_CONCURRENCY");
    unsetenv("PITR_NOTIFY_WEBHOOK_URL");
    unsetenv("PITR_NOTIFY_ON");
    unsetenv("PITR_CONFIG");
    unsetenv("PITR_PG_CONNINFO");
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
}

START_TEST(test_config_load_good_file)
{
    struct config cfg;
    struct pitr_err err;
    const char *path = write_conf("good.conf", "# comment line\n"
                                               "repo = '/var/lib/pitr repo'  # trailing\n"
                                               "compression=zstd:7\n"
                                               "\n"
                                               "   s3_verify_tls = off\n"
                                               "s3_part_size = 16MB\n"
                                               "cluster = 'main'\n"
                                               "log_level = debug\n"
                                               "s3_endpoint = 'https://it''s.example'\n");

    clear_env();
    ck_assert_int_eq(config_load(path, &cfg, &err), PITR_OK);
    ck_assert_str_eq(cfg.repo, "/var/lib/pitr repo");
    ck_assert_str_eq(cfg.compression, "zstd:7");
    ck_assert(!cfg.s3_verify_tls);
    ck_assert_uint_eq(cfg.s3_part_size, 16u << 20);
    ck_assert_str_eq(cfg.cluster, "main");
    ck_assert_int_eq(cfg.log_level, LOG_LEVEL_DEBUG);
    ck_assert_str_eq(cfg.s3_endpoint, "https://it's.example");
    ck_assert_str_eq(cfg.source, path);
    /* defaults */
    ck_assert_str_eq(cfg.s3_region, "us-east-1");
    ck_assert_uint_eq(cfg.s3_max_attempts, 5);
    ck_assert_uint_eq(cfg.s3_upload_concurrency, 4);
    ck_assert_ptr_null(cfg.pgdata);
    ck_assert_ptr_null(cfg.encryption_key_file);
    /* the operations guide's retention table */
    ck_assert_uint_eq(cfg.retention_daily, 30 * 86400);
    ck_assert_uint_eq(cfg.retention_weekly, 90 * 86400);
    ck_assert_uint_eq(cfg.retention_monthly, 365 * 86400);
    ck_assert_uint_eq(cfg.retention_pre_migration, 7 * 86400);
    ck_assert_uint_eq(cfg.retention_manual, CONFIG_RETENTION_FOREVER);
    ck_assert_uint_eq(cfg.retention_min_full, 2);
    ck_assert_ptr_null(cfg.notify_webhook_url);
    ck_assert_str_eq(cfg.notify_on, "failure");
    ck_assert(!cfg.repo_group_access);
    config_fini(&cfg);
    path = write_conf("group.conf", "repo = /r\nrepo_group_access = on\n");
    ck_assert_int_eq(config_load(path, &cfg, &err), PITR_OK);
    ck_assert(cfg.repo_group_access);
    config_fini(&cfg);
}
END_TEST

START_TEST(test_config_load_notify)
{
    struct config cfg;
    struct pitr_err err;
    const char *path;

    clear_env();
    path = write_conf("notify.conf", "repo = /a\nnotify_on = always\n"
                                     "notify_webhook_url = 'https://hooks.example/T0/B0/secret'\n");
    ck_assert_int_eq(config_load(path, &cfg, &err), PITR_OK);
    ck_assert_str_eq(cfg.notify_webhook_url, "https://hooks.example/T0/B0/secret");
    ck_assert_str_eq(cfg.notify_on, "always");
    config_fini(&cfg);
    setenv("PITR_NOTIFY_ON", "failure", 1);
    ck_assert_int_eq(config_load(path, &cfg, &err), PITR_OK);
    ck_assert_str_eq(cfg.notify_on, "failure");
    config_fini(&cfg);
    clear_env();

    path = write_conf("notify-on.conf", "repo = /a\nnotify_on = sometimes\n");
    ck_assert_int_eq(config_load(path, &cfg, &err), PITR_CONFIG);
    ck_assert_ptr_nonnull(
        strstr(err.msg, ": invalid notify_on \"sometimes\": expected failure or always"));
    /* a URL that is not http(s) is refused without being quoted: it may hold a token */
    path = write_conf("notify-url.conf", "repo = /a\nnotify_webhook_url = 'ftp://x/secret'\n");
    ck_assert_int_eq(config_load(path, &cfg, &err), PITR_CONFIG);
    ck_assert_ptr_nonnull(
        strstr(err.msg, ": notify_webhook_url must start with https:// (or http://)"));
    ck_assert_ptr_null(strstr(err.msg, "secret"));
}
END_TEST

START_TEST(test_config_load_env_overrides_file)
{
    struct config cfg;
    struct pitr_err err;
    const char *path = write_conf("env.conf", "repo = /a\ncompression = lz4\n");

    clear_env();
    setenv("PITR_REPO", "s3://bucket/prefix", 1);
    setenv("PITR_COMPRESSION", "none", 1);
    ck_assert_int_eq(config_load(path, &cfg, &err), PITR_OK);
    ck_assert_str_eq(cfg.repo, "s3://bucket/prefix");
    ck_assert_str_eq(cfg.compression, "none");
    config_fini(&cfg);
    setenv("PITR_LOG_LEVEL", "loud", 1);
    ck_assert_int_eq(config_load(path, &cfg, &err), PITR_CONFIG);
    ck_assert_str_eq(
        err.msg, "PITR_LOG_LEVEL: invalid log_level \"loud\": expected error, warn, info or debug");
    clear_env();
}
END_TEST

START_TEST(test_config_load_pitr_config_variable)
{
    struct config cfg;
    struct pitr_err err;
    const char *path = write_conf("via-env.conf", "repo = /from/env/file\n");

    clear_env();
    setenv("PITR_CONFIG", path, 1);
    ck_assert_int_eq(config_load(NULL, &cfg, &err), PITR_OK);
    ck_assert_str_eq(cfg.repo, "/from/env/file");
    config_fini(&cfg);
    clear_env();
}
END_TEST

static const struct {
    const char *text;
    const char *msg; /* after "<path>:" */
} bad[] = {
    {"repo = /a\nrepoo = /b\n", "2: unknown setting \"repoo\""},
    {"repo /a\n", "1: syntax error: expected \"=\" after \"repo\""},
    {"= /a\n", "1: syntax error: expected \"key = value\""},
    {"repo = '/a\n", "1: unterminated quoted value"},
    {"repo = '/a' junk\n", "1: syntax error after quoted value"},
    {"repo = /a\ns3_verify_tls = maybe\n",
     "2: invalid s3_verify_tls \"maybe\": expected on or off"},
    {"repo = /a\nrepo_group_access = group\n",
     "2: invalid repo_group_access \"group\": expected on or off"},
    {"repo = /a\ns3_max_attempts = -1\n",
     "2: invalid s3_max_attempts \"-1\": expected a whole number"},
    {"repo = /a\ns3_part_size = 12 parsecs\n",
     "2: invalid s3_part_size \"12 parsecs\": expected a size like 64MB"},
};

START_TEST(test_config_load_bad_lines)
{
    struct config cfg;
    struct pitr_err err;
    char expect[1024];
    const char *path = write_conf("bad.conf", bad[_i].text);

    clear_env();
    ck_assert_int_eq(config_load(path, &cfg, &err), PITR_CONFIG);
    snprintf(expect, sizeof(expect), "%s:%s", path, bad[_i].msg);
    ck_assert_str_eq(err.msg, expect);
}
END_TEST

START_TEST(test_config_load_validation)
{
    struct config cfg;
    struct pitr_err err;
    const char *path;

    clear_env();
    path = write_conf("norepo.conf", "compression = lz4\n");
    ck_assert_int_eq(config_load(path, &cfg, &err), PITR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "no repository configured: set \"repo\""));
    path = write_conf("comp.conf", "repo = /a\ncompression = gzip\n");
    ck_assert_int_eq(config_load(path, &cfg, &err), PITR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "gzip"));
    path = write_conf("style.conf", "repo = /a\ns3_uri_style = sideways\n");
    ck_assert_int_eq(config_load(path, &cfg, &err), PITR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "invalid s3_uri_style \"sideways\""));
    path = write_conf("part.conf", "repo = /a\ns3_part_size = 1MB\n");
    ck_assert_int_eq(config_load(path, &cfg, &err), PITR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "s3_part_size must be between 5MB and 5GB"));
    path = write_conf("cluster.conf", "repo = /a\ncluster = '../x'\n");
    ck_assert_int_eq(config_load(path, &cfg, &err), PITR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "invalid cluster name \"../x\""));
}
END_TEST

static const struct {
    const char *value;
    enum pitr_rc rc;
    uint64_t want;   /* when accepted */
    const char *msg; /* after "<path>", when refused */
} concurrency[] = {
    {"1", PITR_OK, 1, NULL},
    {"32", PITR_OK, 32, NULL},
    {"0", PITR_CONFIG, 0, ": s3_upload_concurrency must be between 1 and 32"},
    {"33", PITR_CONFIG, 0, ": s3_upload_concurrency must be between 1 and 32"},
    {"many", PITR_CONFIG, 0, ":2: invalid s3_upload_concurrency \"many\": expected a whole number"},
    {"-4", PITR_CONFIG, 0, ":2: invalid s3_upload_concurrency \"-4\": expected a whole number"},
};

START_TEST(test_config_load_upload_concurrency)
{
    struct config cfg;
    struct pitr_err err;
    char text[128];
    char expect[1024];
    const char *path;

    clear_env();
    snprintf(text, sizeof(text), "repo = /a\ns3_upload_concurrency = %s\n", concurrency[_i].value);
    path = write_conf("concurrency.conf", text);
    ck_assert_int_eq(config_load(path, &cfg, &err), concurrency[_i].rc);
    if (concurrency[_i].rc == PITR_OK) {
        ck_assert_uint_eq(cfg.s3_upload_concurrency, concurrency[_i].want);
        config_fini(&cfg);
    } else {
        snprintf(expect, sizeof(expect), "%s%s", path, concurrency[_i].msg);
        ck_assert_str_eq(err.msg, expect);
    }
}
END_TEST

static const struct {
    const char *line;
    enum pitr_rc rc;
    uint64_t want;   /* retention_daily when accepted */
    const char *msg; /* after "<path>", when refused */
} retention[] = {
    {"retention_daily = 14d", PITR_OK, 14 * 86400, NULL},
    {"retention_daily = 36h", PITR_OK, 36 * 3600, NULL},
    {"retention_daily = 0h", PITR_OK, 0, NULL},
    {"retention_daily = forever", PITR_OK, UINT64_MAX, NULL},
    {"retention_daily = 1000000d", PITR_OK, 1000000ull * 86400, NULL},
    {"retention_daily = 30", PITR_CONFIG, 0,
     ":2: invalid retention_daily \"30\": expected a number of days or hours (30d, 12h) or "
     "forever"},
    {"retention_weekly = 2w", PITR_CONFIG, 0,
     ":2: invalid retention_weekly \"2w\": expected a number of days or hours (30d, 12h) or "
     "forever"},
    {"retention_monthly = d", PITR_CONFIG, 0,
     ":2: invalid retention_monthly \"d\": expected a number of days or hours (30d, 12h) or "
     "forever"},
    {"retention_manual = -3d", PITR_CONFIG, 0,
     ":2: invalid retention_manual \"-3d\": expected a number of days or hours (30d, 12h) or "
     "forever"},
    {"retention_pre_migration = 1000001d", PITR_CONFIG, 0,
     ":2: invalid retention_pre_migration \"1000001d\": expected a number of days or hours "
     "(30d, 12h) or forever"},
    {"retention_daily = Forever", PITR_CONFIG, 0,
     ":2: invalid retention_daily \"Forever\": expected a number of days or hours (30d, 12h) or "
     "forever"},
    {"retention_min_full = 1", PITR_OK, 30 * 86400, NULL},
    {"retention_min_full = 0", PITR_CONFIG, 0,
     ": retention_min_full must be at least 1: the newest backup is never expired"},
    {"retention_min_full = two", PITR_CONFIG, 0,
     ":2: invalid retention_min_full \"two\": expected a whole number"},
};

START_TEST(test_config_load_retention)
{
    struct config cfg;
    struct pitr_err err;
    char text[128];
    char expect[1024];
    const char *path;

    clear_env();
    snprintf(text, sizeof(text), "repo = /a\n%s\n", retention[_i].line);
    path = write_conf("retention.conf", text);
    ck_assert_int_eq(config_load(path, &cfg, &err), retention[_i].rc);
    if (retention[_i].rc == PITR_OK) {
        ck_assert_uint_eq(cfg.retention_daily, retention[_i].want);
        config_fini(&cfg);
    } else {
        snprintf(expect, sizeof(expect), "%s%s", path, retention[_i].msg);
        ck_assert_str_eq(err.msg, expect);
    }
}
END_TEST

START_TEST(test_config_load_upload_concurrency_env)
{
    struct config cfg;
    struct pitr_err err;
    const char *path = write_conf("concurrency-env.conf", "repo = /a\ns3_upload_concurrency = 8\n");

    clear_env();
    setenv("PITR_S3_UPLOAD_CONCURRENCY", "1", 1);
    ck_assert_int_eq(config_load(path, &cfg, &err), PITR_OK);
    ck_assert_uint_eq(cfg.s3_upload_concurrency, 1);
    config_fini(&cfg);
    setenv("PITR_S3_UPLOAD_CONCURRENCY", "64", 1);
    ck_assert_int_eq(config_load(path, &cfg, &err), PITR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, ": s3_upload_concurrency must be between 1 and 32"));
    clear_env();
}
END_TEST

static int count_of(const char *haystack, const char *needle)
{
    int n = 0;

    for (const char *p = strstr(haystack, needle); p != NULL; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

/* Plain http to S3 is refused unless s3_allow_http says so, and then warned about, once. */
static const char http_refused[] =
    ": s3_endpoint is plain http://, which would send the session token and the WAL "
    "unencrypted: use https://, or set s3_allow_http = on to accept that";
static const char http_warning[] =
    "WARNING: s3_endpoint is plain http:// (s3_allow_http = on): the session token and, without "
    "encryption_key_file, the WAL cross the network unencrypted\n";

static const struct {
    const char *text;
    enum pitr_rc rc;
    const char *msg; /* after "<path>", when refused */
    bool warned;     /* http_warning was logged */
} http[] = {
    {"repo = s3://b/p\ns3_endpoint = http://minio:9000\n", PITR_CONFIG, http_refused, false},
    {"repo = s3://b/p\ns3_endpoint = http://minio:9000\ns3_allow_http = off\n", PITR_CONFIG,
     http_refused, false},
    {"repo = /r\ns3_endpoint = http://minio:9000\n", PITR_CONFIG, http_refused, false},
    {"repo = s3://b/p\ns3_endpoint = http://minio:9000\ns3_allow_http = on\n", PITR_OK, NULL, true},
    {"repo = /r\ns3_endpoint = http://minio:9000\ns3_allow_http = on\n", PITR_OK, NULL, false},
    {"repo = s3://b/p\ns3_endpoint = https://minio:9000\n", PITR_OK, NULL, false},
    {"repo = s3://b/p\ns3_endpoint = minio:9000\n", PITR_OK, NULL, false}, /* https assumed */
    {"repo = s3://b/p\ns3_allow_http = on\n", PITR_OK, NULL, false},
    {"repo = s3://b/p\ns3_allow_http = sometimes\n", PITR_CONFIG,
     ":2: invalid s3_allow_http \"sometimes\": expected on or off", false},
};

START_TEST(test_config_load_http_endpoint)
{
    struct config cfg;
    struct pitr_err err;
    char logged[4096];
    char expect[1024];
    const char *path = write_conf("http.conf", http[_i].text);

    clear_env();
    ck_assert_int_eq(load_logged(path, &cfg, &err, logged, sizeof(logged)), http[_i].rc);
    if (http[_i].rc == PITR_OK) {
        config_fini(&cfg);
    } else {
        snprintf(expect, sizeof(expect), "%s%s", path, http[_i].msg);
        ck_assert_str_eq(err.msg, expect);
    }
    ck_assert_msg(count_of(logged, http_warning) == (http[_i].warned ? 1 : 0) &&
                      count_of(logged, "\n") == (http[_i].warned ? 1 : 0),
                  "logged: %s", logged);
}
END_TEST

/* A password in pg_conninfo, in a file others can read: one warning naming the file and the fix,
 * never the password. */
static const struct {
    mode_t mode;
    const char *line;
    bool warned;
} exposed[] = {
    {0644, "pg_conninfo = 'host=db user=backup password=S3cret-Pw'", true},
    {0640, "pg_conninfo = 'host=db password = ''S3cret-Pw'''", true},
    {0604, "pg_conninfo = 'password=S3cret-Pw host=db'", true},
    {0600, "pg_conninfo = 'host=db password=S3cret-Pw'", false},
    {0644, "pg_conninfo = 'host=db user=backup'", false},
    {0644, "pg_conninfo = 'host=db user=password'", false},
    {0644, "pg_conninfo = 'host=db passfile=/etc/pitr/pgpass'", false},
    {0644, "pg_conninfo = 'postgresql://backup:S3cret-Pw@db/postgres'", true},
    {0644, "pg_conninfo = 'postgresql://backup@db/postgres?password=S3cret-Pw'", true},
    {0644, "pg_conninfo = 'postgresql://backup@db:5432/postgres'", false},
    {0600, "pg_conninfo = 'postgresql://backup:S3cret-Pw@db/postgres'", false},
    {0644, "# pg_conninfo = 'host=db password=S3cret-Pw'", false},
};

START_TEST(test_config_load_exposed_password)
{
    struct config cfg;
    struct pitr_err err;
    char text[256];
    char logged[4096];
    char expect[1024];
    const char *path;

    clear_env();
    snprintf(text, sizeof(text), "repo = /r\n%s\n", exposed[_i].line);
    path = write_conf("exposed.conf", text);
    ck_assert_int_eq(chmod(path, exposed[_i].mode), 0);
    /* the environment's conninfo is not in the file: it never decides the warning */
    setenv("PITR_PG_CONNINFO", "host=db password=S3cret-Pw", 1);
    ck_assert_int_eq(load_logged(path, &cfg, &err, logged, sizeof(logged)), PITR_OK);
    config_fini(&cfg);
    snprintf(expect, sizeof(expect),
             "WARNING: configuration file \"%s\" is readable by other users (mode %04o) and its "
             "pg_conninfo holds a password: run chmod 600 on it, or move the password to "
             "~/.pgpass\n",
             path, (unsigned)exposed[_i].mode);
    ck_assert_msg(count_of(logged, expect) == (exposed[_i].warned ? 1 : 0) &&
                      count_of(logged, "\n") == (exposed[_i].warned ? 1 : 0),
                  "logged: %s", logged);
    ck_assert_ptr_null(strstr(logged, "S3cret"));
    clear_env();
}
END_TEST

START_TEST(test_config_load_missing_file)
{
    struct config cfg;
    struct pitr_err err;
    char path[512];

    clear_env();
    snprintf(path, sizeof(path), "%s/absent.conf", testutil_tmpdir());
    ck_assert_int_eq(config_load(path, &cfg, &err), PITR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "absent.conf\" does not exist"));
}
END_TEST

START_TEST(test_credentials_load)
{
    struct config cfg;
    struct s3_credentials c;
    struct pitr_err err;
    char *creds;
    const char *path;

    clear_env();
    creds = write_conf("creds", "aws_access_key_id = AKID\naws_secret_access_key = 'se cret'\n");
    creds = strdup(creds);
    chmod(creds, 0600);
    path = write_conf("s3.conf", "repo = s3://b/p\n");
    ck_assert_int_eq(config_load(path, &cfg, &err), PITR_OK);
    /* nothing anywhere */
    ck_assert_int_eq(credentials_load(&cfg, &c, &err), PITR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "missing S3 credentials in the environment"));
    /* the environment */
    setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    ck_assert_int_eq(credentials_load(&cfg, &c, &err), PITR_OK);
    ck_assert_str_eq(c.access_key, "AKENV");
    ck_assert_str_eq(c.secret_key, "envsecret");
    ck_assert_ptr_null(c.session_token);
    credentials_fini(&c);
    /* a file, which wins when configured */
    cfg.s3_credentials_file = creds;
    ck_assert_int_eq(credentials_load(&cfg, &c, &err), PITR_OK);
    ck_assert_str_eq(c.access_key, "AKID");
    ck_assert_str_eq(c.secret_key, "se cret");
    credentials_fini(&c);
    chmod(creds, 0644);
    ck_assert_int_eq(credentials_load(&cfg, &c, &err), PITR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "is accessible by other users: run chmod 600"));
    ck_assert_ptr_null(strstr(err.msg, "se cret"));
    config_fini(&cfg);
    clear_env();
}
END_TEST

Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config_load");

    tcase_add_checked_fixture(tc, testutil_tmpdir_setup, testutil_tmpdir_teardown);
    tcase_add_test(tc, test_config_load_good_file);
    tcase_add_test(tc, test_config_load_env_overrides_file);
    tcase_add_test(tc, test_config_load_pitr_config_variable);
    tcase_add_loop_test(tc, test_config_load_bad_lines, 0, sizeof(bad) / sizeof(bad[0]));
    tcase_add_test(tc, test_config_load_validation);
    tcase_add_test(tc, test_config_load_notify);
    tcase_add_loop_test(tc, test_config_load_upload_concurrency, 0,
                        sizeof(concurrency) / sizeof(concurrency[0]));
    tcase_add_test(tc, test_config_load_upload_concurrency_env);
    tcase_add_loop_test(tc, test_config_load_retention, 0,
                        sizeof(retention) / sizeof(retention[0]));
    tcase_add_loop_test(tc, test_config_load_http_endpoint, 0, sizeof(http) / sizeof(http[0]));
    tcase_add_loop_test(tc, test_config_load_exposed_password, 0,
                        sizeof(exposed) / sizeof(exposed[0]));
    tcase_add_test(tc, test_config_load_missing_file);
    tcase_add_test(tc, test_credentials_load);
    suite_add_tcase(s, tc);
    return s;
}

/* drill: a restore test must never touch what it tests. The copy runs from a private mkdtemp
 * directory (tablespaces inside it too), listens on 127.0.0.1 and a socket in that directory
 * only, and has archive_mode = off written after the recovery settings: once it promotes, a new
 * timeline archived into the repository would be followed by every later restore. */
#include "drill.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/strutil.h"
#include "base/timestamp.h"
#include "base/xalloc.h"
#include "pg/repl.h"
#include "repo/repo.h"
#include "start.h"

enum { CHECK_SQL_MAX = 4 * 1024 * 1024, NAME_MAX_LEN = 256 };

struct drill {
    const struct drill_options *o;
    bool quiet;
    char *dir;    /* the temporary directory (owned) */
    char *pgdata; /* dir/data */
    unsigned port;
    struct drill_result *r;
    struct pitr_err first; /* the first failed check, for the summary */
};

struct names {
    char **v;
    size_t n;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void names_free(struct names *n)
{
    for (size_t i = 0; i < n->n; i++) {
        free(n->v[i]);
    }
    free(n->v);
    n->v = NULL;
    n->n = 0;
}

/* A port nobody listens on now: the kernel's choice for a socket bound to port 0. */
static enum pitr_rc pick_port(unsigned *out, struct pitr_err *err)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    enum pitr_rc rc = PITR_OK;

    if (fd < 0) {
        return err_sys(err, PITR_IO, "could not create a socket to find a free port");
    }
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        rc = err_sys(err, PITR_IO, "could not find a free port on 127.0.0.1");
    } else {
        *out = ntohs(a.sin_port);
    }
    close(fd);
    return rc;
}

static enum pitr_rc make_dir(struct drill *d, struct pitr_err *err)
{
    const char *parent = d->o->drill_dir;
    char *tmpl;

    if (parent == NULL) {
        parent =
            getenv("TMPDIR") != NULL && getenv("TMPDIR")[0] != '\0' ? getenv("TMPDIR") : "/tmp";
    }
    tmpl = xasprintf("%s/pitr-drill-XXXXXX", parent);
    if (mkdtemp(tmpl) == NULL) {
        enum pitr_rc rc =
            err_sys(err, PITR_CONFIG, "could not create a drill directory in \"%s\"", parent);

        free(tmpl);
        return rc;
    }
    d->dir = realpath(tmpl, NULL);
    free(tmpl);
    if (d->dir == NULL) {
        return err_sys(err, PITR_IO, "could not resolve the drill directory");
    }
    d->pgdata = fs_path_join(d->dir, "data");
    return PITR_OK;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if ((flag == FTW_DP ? rmdir(path) : unlink(path)) != 0 && errno != ENOENT) {
        log_warn("could not remove \"%s\": %s", path, strerror(errno));
    }
    return 0;
}

/* Removes the drill directory: never follows a symlink (pg_tblspc) nor crosses a mount. */
static void remove_dir(const char *dir)
{
    if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0) {
        log_warn("could not remove the drill directory \"%s\": %s", dir, strerror(errno));
    }
}

/* One postgresql.conf string setting: quotes doubled. */
static enum pitr_rc conf_string(struct buf *out, const char *key, const char *value,
                                struct pitr_err *err)
{
    enum pitr_rc rc = buf_printf(out, err, "%s = '", key);

    for (const char *p = value; rc == PITR_OK && *p != '\0'; p++) {
        rc = *p == '\'' ? buf_printf(out, err, "''") : buf_printf(out, err, "%c", *p);
    }
    return rc == PITR_OK ? buf_printf(out, err, "'\n") : rc;
}

/* A libpq conninfo setting: the value single-quoted, backslash and quote escaped. */
static enum pitr_rc conninfo_setting(struct buf *out, const char *key, const char *v,
                                     struct pitr_err *err)
{
    enum pitr_rc rc = buf_printf(out, err, " %s='", key);

    for (const char *p = v; rc == PITR_OK && *p != '\0'; p++) {
        rc = buf_printf(out, err, "%s%c", *p == '\'' || *p == '\\' ? "\\" : "", *p);
    }
    return rc == PITR_OK ? buf_printf(out, err, "'") : rc;
}

/* Connects over the drill's own socket directory; the user is libpq's default (PGUSER, else
 * the OS user), as for any local connection. */
static struct repl_conn *connect_db(const struct drill *d, const char *db, struct pitr_err *err)
{
    struct buf ci;
    struct repl_conn *c = NULL;
    enum pitr_rc rc;

    buf_init(&ci, 16384);
    rc = conninfo_setting(&ci, "host", d->dir, err);
    rc = rc == PITR_OK ? buf_printf(&ci, err, " port=%u", d->port) : rc;
    rc = rc == PITR_OK ? conninfo_setting(&ci, "dbname", db, err) : rc;
    if (rc == PITR_OK) {
        c = repl_connect((const char *)ci.data, false, err);
    }
    buf_fini(&ci);
    return c;
}

/* Notes a failed check (printed now) and keeps the first for the summary. */
static void check_failed(struct drill *d, const struct pitr_err *e)
{
    char msg[sizeof(e->msg)];

    snprintf(msg, sizeof(msg), "%s", e->msg);
    for (char *p = msg; *p != '\0'; p++) {
        *p = *p == '\n' ? ' ' : *p;
    }
    printf("  FAILED: %s\n", msg);
    fflush(stdout);
    if (d->r->failed == 0) {
        d->first.rc = e->rc;
        snprintf(d->first.msg, sizeof(d->first.msg), "%s", msg);
    }
    d->r->failed++;
}

static enum pitr_rc collect(void *arg, const char *const *values, int ncols, struct pitr_err *err)
{
    struct names *n = arg;

    (void)err;
    for (int i = 0; i < ncols; i++) {
        n->v = xrealloc(n->v, (n->n + 1) * sizeof(*n->v));
        n->v[n->n++] = xstrdup(values[i] ? values[i] : "");
    }
    return PITR_OK;
}

/* Every ordinary table (and partition) outside the system schemas, quoted by the server for the
 * query; foreign tables are left out (they would read another server), and so are materialized
 * views (an unpopulated one cannot be read, and its data is derived). */
static const char tables_sql[] =
    "select quote_ident(n.nspname) || '.' || quote_ident(c.relname) "
    "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
    "where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema') "
    "and n.nspname !~ '^pg_(toast|temp_|toast_temp_)' order by 1";

/* Counts the rows of every table of one database, reading every heap page. */
static void check_database(struct drill *d, const char *db)
{
    struct names tables = {NULL, 0};
    struct pitr_err e;
    struct repl_conn *c = connect_db(d, db, &e);

    if (c == NULL) {
        check_failed(d, &e);
        return;
    }
    d->r->databases++;
    /* an index-only scan would skip the heap pages the visibility map calls all-visible */
    if (repl_exec(c, "set enable_indexonlyscan = off", &e) != PITR_OK ||
        repl_query_rows(c, tables_sql, 1, collect, &tables, &e) != PITR_OK) {
        err_prefix(&e, "database %s", db);
        check_failed(d, &e);
    }
    for (size_t i = 0; i < tables.n; i++) {
        char *sql = xasprintf("select count(*) from %s", tables.v[i]);
        char *v[1] = {NULL};
        uint64_t rows = 0;

        if (repl_query_row(c, sql, v, 1, &e) == PITR_OK &&
            str_parse_u64(v[0] ? v[0] : "", "count", &rows, &e) == PITR_OK) {
            d->r->tables++;
            d->r->rows += rows;
            if (!d->quiet) {
                printf("  %s: %s %" PRIu64 " rows\n", db, tables.v[i], rows);
            }
        } else {
            err_prefix(&e, "database %s: table %s", db, tables.v[i]);
            check_failed(d, &e);
        }
        free(v[0]);
        free(sql);
    }
    names_free(&tables);
    repl_close(c);
}

/* Runs each statement of the --check-sql file: a statement ends with a line ending in ";". */
static void check_queries(struct drill *d)
{
    const char *db = d->o->check_db ? d->o->check_db : "postgres";
    struct buf text;
    struct buf stmt;
    struct pitr_err e;
    struct repl_conn *c = NULL;
    int line = 0;
    int first_line = 0;

    buf_init(&text, CHECK_SQL_MAX);
    buf_init(&stmt, CHECK_SQL_MAX);
    if (fs_read_file(d->o->check_sql, &text, &e) != PITR_OK) {
        err_prefix(&e, "--check-sql");
        check_failed(d, &e);
    } else if ((c = connect_db(d, db, &e)) == NULL) {
        err_prefix(&e, "--check-db %s", db);
        check_failed(d, &e);
    }
    for (char *p = c && text.data ? (char *)text.data : NULL; p != NULL && *p != '\0';) {
        char *nl = strchr(p, '\n');
        char *end;
        bool last;

        if (nl != NULL) {
            *nl = '\0';
        }
        line++;
        end = p + strlen(p);
        while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) {
            end--;
        }
        last = nl == NULL || nl[1] == '\0';
        if (stmt.len == 0 &&
            (p[strspn(p, " \t\r")] == '\0' || str_has_prefix(p + strspn(p, " \t"), "--"))) {
            p = nl ? nl + 1 : NULL;
            continue; /* blank and comment lines between statements */
        }
        if (stmt.len == 0) {
            first_line = line;
        }
        if (buf_printf(&stmt, &e, "%s\n", p) != PITR_OK) {
            check_failed(d, &e);
            break;
        }
        if ((end > p && end[-1] == ';') || last) {
            d->r->queries++;
            if (repl_exec(c, (const char *)stmt.data, &e) != PITR_OK) {
                err_prefix(&e, "%s:%d", d->o->check_sql, first_line);
                check_failed(d, &e);
            } else if (!d->quiet) {
                printf("  %s:%d: ok\n", d->o->check_sql, first_line);
            }
            buf_reset(&stmt);
        }
        p = nl ? nl + 1 : NULL;
    }
    repl_close(c);
    buf_fini(&stmt);
    buf_fini(&text);
}

static void run_checks(struct drill *d)
{
    struct names dbs = {NULL, 0};
    struct pitr_err e;
    struct repl_conn *c = connect_db(d, "postgres", &e);

    if (c == NULL || repl_query_rows(c,
                                     "select datname from pg_database where datallowconn "
                                     "order by datname",
                                     1, collect, &dbs, &e) != PITR_OK) {
        check_failed(d, &e);
    }
    repl_close(c);
    for (size_t i = 0; i < dbs.n; i++) {
        check_database(d, dbs.v[i]);
    }
    names_free(&dbs);
    if (d->o->check_sql != NULL) {
        check_queries(d);
    }
}

/* <cluster>/drill/last: the newest drill, overwritten each time, for pitr-catalog metrics. */
static enum pitr_rc record(const struct config *cfg, struct drill_result *r, const char *error,
                           struct pitr_err *err)
{
    struct repo_session repo;
    struct buf text;
    char when[TIMESTAMP_TEXT_LEN];
    char *key = NULL;
    time_t now = time(NULL);
    enum pitr_rc rc = repo_session_open(cfg, NULL, &repo, err);

    if (rc != PITR_OK) {
        return rc;
    }
    snprintf(r->cluster, sizeof(r->cluster), "%s", repo.cluster);
    timestamp_format((int64_t)now * 1000000, when);
    buf_init(&text, 65536);
    rc = buf_printf(&text, err,
                    "time = '%s'\ntime_epoch = %lld\nresult = %s\nbackup = '%s'\n"
                    "restore_seconds = %.3f\nrecovery_seconds = %.3f\nchecks_seconds = %.3f\n"
                    "databases = %zu\ntables = %zu\nrows = %" PRIu64 "\ncheck_queries = %zu\n"
                    "failed_checks = %zu\nerror = '",
                    when, (long long)now, r->passed ? "pass" : "fail", r->backup_id, r->restore_s,
                    r->recovery_s, r->checks_s, r->databases, r->tables, r->rows, r->queries,
                    r->failed);
    for (const char *p = error; rc == PITR_OK && *p != '\0'; p++) {
        rc = *p == '\'' ? buf_printf(&text, err, "''")
                        : buf_printf(&text, err, "%c", *p == '\n' ? ' ' : *p);
    }
    rc = rc == PITR_OK ? buf_printf(&text, err, "'\n") : rc;
    if (rc == PITR_OK) {
        key = xasprintf("%s/drill/last", repo.cluster);
        rc = repo_put_text(&repo, key, (const char *)text.data, false, err);
    }
    if (rc != PITR_OK) {
        err_prefix(err, "could not record the drill in the repository");
    }
    free(key);
    buf_fini(&text);
    repo_session_close(&repo);
    return rc;
}

static enum pitr_rc drill_settings(const struct drill *d, struct buf *out, struct pitr_err *err)
{
    enum pitr_rc rc = buf_printf(out, err,
                                 "# pitr-restore --drill: a throw-away copy, never archiving\n"
                                 "archive_mode = off\n"
                                 "listen_addresses = '127.0.0.1'\n");

    if (rc == PITR_OK) {
        rc = conf_string(out, "unix_socket_directories", d->dir, err);
    }
    return rc;
}

static void summarize(const struct drill *d, const struct pitr_err *failure)
{
    struct drill_result *r = d->r;

    snprintf(r->summary, sizeof(r->summary),
             "drill %s: backup %s, restore %.1f s, recovery %.1f s, checks %.1f s; %zu "
             "databases, %zu tables, %" PRIu64 " rows, %zu check queries%s%s",
             r->passed ? "passed" : "FAILED", r->backup_id[0] ? r->backup_id : "(none)",
             r->restore_s, r->recovery_s, r->checks_s, r->databases, r->tables, r->rows, r->queries,
             failure ? ": " : "", failure ? failure->msg : "");
}

enum pitr_rc drill_run(const struct config *cfg, const struct restore_options *ropts,
                       const struct drill_options *dopts, struct drill_result *out,
                       struct pitr_err *err)
{
    struct drill d;
    struct restore_options o = *ropts;
    struct restore_report rep;
    struct buf settings;
    char *ts_root = NULL;
    struct pitr_err stop_err;
    struct pitr_err rec_err;
    enum pitr_rc rc;

    memset(&d, 0, sizeof(d));
    memset(out, 0, sizeof(*out));
    memset(&rep, 0, sizeof(rep));
    d.o = dopts;
    d.quiet = ropts->quiet;
    d.r = out;
    if (geteuid() == 0) {
        /* before anything is made or recorded: root-owned files in the repository would stop
         * the next drill, run as postgres, from recording its result */
        return err_set(err, PITR_CONFIG,
                       "pitr-restore --drill must not run as root: run it as the server's OS "
                       "user (e.g. runuser -u postgres -- pitr-restore --drill)");
    }
    buf_init(&settings, 65536);
    rc = make_dir(&d, err);
    if (rc == PITR_OK) {
        rc = pick_port(&d.port, err);
    }
    if (rc == PITR_OK) {
        rc = drill_settings(&d, &settings, err);
    }
    if (rc == PITR_OK) {
        if (!d.quiet) {
            printf("drill: restoring into %s, port %u\n", d.dir, d.port);
            fflush(stdout);
        }
        ts_root = fs_path_join(d.dir, "tablespaces");
        if (mkdir(ts_root, 0700) != 0) {
            rc = err_sys(err, PITR_IO, "could not create directory \"%s\"", ts_root);
        }
    }
    if (rc == PITR_OK) {
        o.target_dir = d.pgdata;
        o.tablespace_root = ts_root;
        o.extra_settings = (const char *)settings.data;
        o.start = true;
        o.port = d.port;
        o.force = false;
        o.dry_run = false;
        rc = restore_run(cfg, &o, &rep, err);
        snprintf(out->backup_id, sizeof(out->backup_id), "%s", rep.backup_id);
        out->restore_s = rep.restore_s;
        out->recovery_s = rep.recovery_s;
    }
    if (rc == PITR_OK) {
        double t = now_s();

        if (!d.quiet) {
            printf("drill: checking every table%s\n",
                   dopts->check_sql ? " and the --check-sql queries" : "");
        }
        run_checks(&d);
        out->checks_s = now_s() - t;
        if (out->failed > 0) {
            rc = err_set(err, PITR_CORRUPT, "%zu check(s) failed, the first: %s", out->failed,
                         d.first.msg);
        }
    }
    /* always stopped, also after a failed recovery or check: nothing of the drill keeps running */
    if (rep.started && start_stop_server(d.pgdata, rep.pg_bin, &stop_err) != PITR_OK) {
        log_warn("could not stop the drill's server in %s: %s", d.pgdata, stop_err.msg);
    }
    if (d.dir != NULL && dopts->keep) {
        printf("drill: kept %s (--keep)\n", d.dir);
    } else if (d.dir != NULL) {
        remove_dir(d.dir);
    }
    out->passed = rc == PITR_OK;
    summarize(&d, rc == PITR_OK ? NULL : err);
    if (record(cfg, out, rc == PITR_OK ? "" : err->msg, &rec_err) != PITR_OK) {
        if (rc == PITR_OK) {
            /* a drill that passed unrecorded looks, to the alerts, like one that never ran */
            *err = rec_err;
            rc = rec_err.rc;
            out->passed = false;
            summarize(&d, err);
        } else {
            log_warn("%s", rec_err.msg);
        }
    }
    if (!d.quiet || rc != PITR_OK) {
        printf("%s\n", out->summary);
    }
    free(ts_root);
    free(d.pgdata);
    free(d.dir);
    buf_fini(&settings);
    return rc;
}

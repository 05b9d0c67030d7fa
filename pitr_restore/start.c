/* start: pg_ctl is PostgreSQL's own way to start a server and wait for it, so it is run rather
 * than reimplemented; recovery is then followed over an ordinary connection found through
 * postmaster.pid, the way pg_ctl itself finds the server. */
#include "start.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "base/strutil.h"
#include "base/timestamp.h"
#include "base/xalloc.h"
#include "pg/repl.h"
#include "pg/wal.h"

extern char **environ;

enum { POLL_MS = 200, PROGRESS_EVERY_S = 5, FATAL_LINE_MAX = 300 };

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Runs pg_ctl with args (argv[0] is filled in here) and waits for it. */
static enum pitr_rc run_pg_ctl(const char *pg_bin, char **argv, bool quiet, const char *what,
                               struct pitr_err *err)
{
    char *pg_ctl = fs_path_join(pg_bin, "pg_ctl");
    posix_spawn_file_actions_t actions;
    pid_t pid;
    int status = 0;
    int r;
    enum pitr_rc rc = PITR_OK;

    argv[0] = pg_ctl;
    posix_spawn_file_actions_init(&actions);
    if (quiet) {
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    }
    r = posix_spawn(&pid, pg_ctl, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (r != 0) {
        errno = r;
        rc = err_sys(err, PITR_IO,
                     "could not run \"%s\" (set --pg-bin to PostgreSQL's bin "
                     "directory)",
                     pg_ctl);
    }
    while (rc == PITR_OK && waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            rc = err_sys(err, PITR_IO, "could not wait for pg_ctl");
        }
    }
    if (rc == PITR_OK && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
        rc = err_set(err, PITR_PROTOCOL, "pg_ctl could not %s the restored server", what);
    }
    free(pg_ctl);
    return rc;
}

/* The last FATAL or PANIC line of the server's log, for the error message. */
static void last_fatal(const char *log_path, char out[FATAL_LINE_MAX])
{
    FILE *f = fopen(log_path, "r");
    char line[4096];

    snprintf(out, FATAL_LINE_MAX, "see %s", log_path);
    if (f == NULL) {
        return;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        const char *at = strstr(line, "FATAL:");

        at = at ? at : strstr(line, "PANIC:");
        if (at != NULL) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(out, FATAL_LINE_MAX, "%s (%s)", at, log_path);
        }
    }
    fclose(f);
}

/* Reads pid, port and socket directory from postmaster.pid. */
static enum pitr_rc read_pid_file(const char *pgdata, pid_t *pid, char **conninfo,
                                  struct pitr_err *err)
{
    char *path = fs_path_join(pgdata, "postmaster.pid");
    struct buf text;
    char *lines[6] = {NULL};
    uint64_t v = 0;
    enum pitr_rc rc;

    buf_init(&text, 65536);
    rc = fs_read_file(path, &text, err);
    if (rc == PITR_OK) {
        char *p = (char *)text.data;

        for (int i = 0; i < 6 && p != NULL; i++) {
            lines[i] = p;
            p = strchr(p, '\n');
            if (p != NULL) {
                *p++ = '\0';
            }
        }
        if (lines[5] == NULL || str_parse_u64(lines[0], "pid", &v, err) != PITR_OK) {
            rc = err_set(err, PITR_PROTOCOL, "\"%s\" is not complete yet", path);
        }
    }
    if (rc == PITR_OK) {
        /* line 5: the first socket directory, line 6: the first listen address */
        const char *host = lines[4][0] != '\0' ? lines[4] : lines[5];

        if (strcmp(host, "*") == 0 || host[0] == '\0') {
            host = "localhost";
        }
        *pid = (pid_t)v;
        *conninfo = xasprintf("host='%s' port=%s dbname=postgres", host, lines[3]);
    }
    buf_fini(&text);
    free(path);
    return rc;
}

static void free_values(char **v, int n)
{
    for (int i = 0; i < n; i++) {
        free(v[i]);
        v[i] = NULL;
    }
}

/* One look at the server: "t"/"f" in recovery, and whether replay is paused. */
static enum pitr_rc poll_state(struct repl_conn *c, bool *in_recovery, bool *paused, char **lsn_out,
                               struct pitr_err *err)
{
    char *v[3] = {NULL, NULL, NULL};
    enum pitr_rc rc = repl_query_row(
        c,
        "select pg_is_in_recovery(), case when pg_is_in_recovery() then "
        "pg_get_wal_replay_pause_state() else 'not paused' end, pg_last_wal_replay_lsn()",
        v, 3, err);

    if (rc == PITR_OK) {
        *in_recovery = v[0] != NULL && strcmp(v[0], "t") == 0;
        *paused = v[1] != NULL && strcmp(v[1], "paused") == 0;
        *lsn_out = v[2];
        v[2] = NULL;
    }
    free_values(v, 3);
    return rc;
}

static enum pitr_rc read_result(struct repl_conn *c, bool promoted, struct start_result *out,
                                struct pitr_err *err)
{
    char *v[3] = {NULL, NULL, NULL};
    struct start_result r;
    enum pitr_rc rc = repl_query_row(
        c,
        promoted ? "select to_char(pg_last_xact_replay_timestamp() at time zone 'UTC', "
                   "'YYYY-MM-DD HH24:MI:SS.US') || '+00', pg_last_wal_replay_lsn(), "
                   "substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)"
                 : "select to_char(pg_last_xact_replay_timestamp() at time zone 'UTC', "
                   "'YYYY-MM-DD HH24:MI:SS.US') || '+00', pg_last_wal_replay_lsn(), '0'",
        v, 3, err);

    memset(&r, 0, sizeof(r));
    r.promoted = promoted;
    if (rc == PITR_OK && v[0] != NULL) {
        r.has_xact_time = true;
        rc = timestamp_parse(v[0], &r.last_xact_us, err);
    }
    if (rc == PITR_OK && v[1] != NULL) {
        rc = wal_lsn_parse(v[1], &r.replay_lsn, err);
    }
    if (rc == PITR_OK && v[2] != NULL) {
        uint64_t tli = 0;

        rc = str_parse_hex_u64(v[2], strlen(v[2]), &tli);
        r.tli = (uint32_t)tli;
        if (rc != PITR_OK) {
            rc = err_set(err, PITR_PROTOCOL, "unexpected timeline \"%s\"", v[2]);
        }
    }
    free_values(v, 3);
    if (rc == PITR_OK) {
        *out = r;
    }
    return rc;
}

enum pitr_rc start_and_follow(const char *pgdata, const char *pg_bin, const char *log_path,
                              bool quiet, struct start_result *out, struct pitr_err *err)
{
    struct repl_conn *conn = NULL;
    char *conninfo = NULL;
    pid_t pid = 0;
    time_t last_shown = 0;
    bool in_recovery = true;
    bool paused = false;
    char *argv[] = {NULL, "-D", (char *)pgdata, "-l",    (char *)log_path,
                    "-w", "-t", "86400",        "start", NULL};
    enum pitr_rc rc = run_pg_ctl(pg_bin, argv, quiet, "start", err);

    if (rc == PITR_OK) {
        rc = read_pid_file(pgdata, &pid, &conninfo, err);
    }
    while (rc == PITR_OK && in_recovery && !paused) {
        char *lsn = NULL;

        if (kill(pid, 0) != 0 && errno == ESRCH) {
            char fatal[FATAL_LINE_MAX];

            last_fatal(log_path, fatal);
            rc = err_set(err, PITR_PROTOCOL, "the restored server stopped during recovery: %s",
                         fatal);
            break;
        }
        if (conn == NULL) {
            struct pitr_err ignored;

            conn = repl_connect(conninfo, false, &ignored); /* may still be starting up */
        }
        if (conn != NULL && poll_state(conn, &in_recovery, &paused, &lsn, err) != PITR_OK) {
            repl_close(conn); /* a promotion can end the session; reconnect */
            conn = NULL;
        }
        if (!quiet && lsn != NULL && time(NULL) - last_shown >= PROGRESS_EVERY_S) {
            fprintf(stderr, "recovery: replayed up to %s\n", lsn);
            last_shown = time(NULL);
        }
        free(lsn);
        if (in_recovery && !paused) {
            sleep_ms(POLL_MS);
        }
    }
    if (rc == PITR_OK) {
        rc = read_result(conn, !in_recovery, out, err);
    }
    repl_close(conn);
    free(conninfo);
    return rc;
}

enum pitr_rc start_stop_server(const char *pgdata, const char *pg_bin, struct pitr_err *err)
{
    char *fast[] = {NULL, "-D", (char *)pgdata, "-m", "fast", "-w", "-t", "120", "stop", NULL};
    char *immediate[] = {NULL, "-D", (char *)pgdata, "-m", "immediate", "-w", "stop", NULL};
    enum pitr_rc rc = run_pg_ctl(pg_bin, fast, true, "stop", err);

    if (rc == PITR_PROTOCOL) {
        rc = run_pg_ctl(pg_bin, immediate, true, "stop", err);
    }
    return rc;
}

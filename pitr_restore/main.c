/* pitr-restore: restores a base backup from the repository and configures point-in-time recovery
 * to the target the DBA names. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/strutil.h"
#include "base/timestamp.h"
#include "base/xalloc.h"
#include "config/cli.h"
#include "dest.h"
#include "drill.h"
#include "notify/notify.h"
#include "pg/wal.h"
#include "restore.h"

static const char usage[] =
    "Usage: pitr-restore --target-dir DIR --to TARGET [OPTIONS]\n"
    "       pitr-restore --drill [--to TARGET] [DRILL OPTIONS]\n"
    "Restores the base backup that reaches TARGET from the pitr repository into DIR, checking\n"
    "every file against the backup manifest, and configures PostgreSQL to replay the archived\n"
    "WAL up to TARGET (restore_command = pitr-fetch). Start the server afterwards.\n"
    "\n"
    "Target (exactly one):\n"
    "  --to TIMESTAMP        e.g. '2026-01-08 14:30:00+00' (ISO 8601 or PostgreSQL syntax;\n"
    "                        without a zone the time is UTC)\n"
    "  --to latest           everything archived\n"
    "  --to immediate        just the backup's consistency point\n"
    "  --to-lsn LSN          e.g. 0/5000028\n"
    "  --to-xid XID          a transaction id\n"
    "  --to-name NAME        a restore point made with pg_create_restore_point\n"
    "Options:\n"
    "  --target-dir DIR      where to restore; must be empty or absent (see --force)\n"
    "  --backup ID           restore this backup instead of the newest that reaches the target\n"
    "  --timeline T          latest (default), current, or a timeline number\n"
    "  --target-action A     at the target: promote (default), pause or shutdown\n"
    "  --tablespace-map OLD=NEW  restore the tablespace located at OLD into NEW (repeatable)\n"
    "  --start               start the restored server, wait until recovery reaches the\n"
    "                        target, and report the point reached (exit 0 only if it matches)\n"
    "  --port PORT           with --start: the port to run on (default: the restored config's)\n"
    "  --no-archive          the restored server does not archive (archive_mode = off), for a\n"
    "                        copy beside the original; by default it keeps the original's\n"
    "                        archive_command and archives its new timeline into the repository\n"
    "  --pg-bin DIR          PostgreSQL's programs (default /usr/lib/postgresql/MAJOR/bin)\n"
    "  --force               move a non-empty --target-dir or --tablespace-map destination\n"
    "                        aside (DIR.pitr-saved-TIME); a tablespace location taken from\n"
    "                        the backup is never moved aside: map it instead\n"
    "  --dry-run             print the plan (every directory written) and check the\n"
    "                        destinations; write nothing\n"
    "  --progress            show progress on stderr (the default on a terminal)\n"
    "  --quiet               print only errors\n"
    "  --config FILE         configuration file (else $PITR_CONFIG, else /etc/pitr/pitr.conf)\n"
    "  --help, --version\n"
    "Drill (the restore test): restore the newest backup (or the one --to TARGET needs) into a\n"
    "temporary directory, start it on a free port with archive_mode = off, wait for recovery,\n"
    "read every user table of every database (SELECT count(*)), run the --check-sql queries,\n"
    "stop it, remove the directory, and record the result in the repository (<cluster>/drill/\n"
    "last, for pitr-catalog metrics):\n"
    "  --drill               run the drill (--to defaults to latest)\n"
    "  --drill-dir DIR       where to make the temporary directory (default $TMPDIR or /tmp)\n"
    "  --check-sql FILE      queries that must each succeed; a statement ends with a line\n"
    "                        ending in \";\"\n"
    "  --check-db NAME       the database the --check-sql queries run in (default postgres)\n"
    "  --keep                keep the directory (the server is stopped all the same)\n"
    "Exit status: 0 restored (or planned, with --dry-run; or the drill passed); 1 on any "
    "failure.\n";

struct args {
    struct restore_options opts;
    bool drill;
    struct drill_options drill_opts;
    const char *config_path;
    int n_targets;
    struct tablespace_move *moves; /* owned */
};

static int bad(const char *fmt, ...) PITR_PRINTF(1, 2);
static int bad(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "pitr-restore: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 1;
}

static int set_to(struct args *a, const char *value)
{
    struct pitr_err err;

    a->n_targets++;
    if (strcmp(value, "latest") == 0) {
        a->opts.target = RESTORE_TO_LATEST;
    } else if (strcmp(value, "immediate") == 0) {
        a->opts.target = RESTORE_TO_IMMEDIATE;
    } else if (timestamp_parse(value, &a->opts.time_us, &err) == PITR_OK) {
        a->opts.target = RESTORE_TO_TIME;
    } else {
        fprintf(stderr, "pitr-restore: %s\n", err.msg);
        return 1;
    }
    return -1;
}

static int add_move(struct args *a, const char *value)
{
    const char *eq = strchr(value, '=');
    struct pitr_err err;

    if (eq == NULL || eq == value || eq[1] == '\0' || value[0] != '/' || eq[1] != '/') {
        return bad("invalid --tablespace-map \"%s\": expected /old/location=/new/location", value);
    }
    /* OLD is matched as the backup record spells it; NEW is where files go, spelt one way */
    if (dest_check_normalised(eq + 1, &err) != PITR_OK) {
        return bad("invalid --tablespace-map \"%s\": the new location %s", value, err.msg);
    }
    a->moves = xrealloc(a->moves, (a->opts.n_moves + 1) * sizeof(*a->moves));
    a->moves[a->opts.n_moves].from = xstrndup(value, (size_t)(eq - value));
    a->moves[a->opts.n_moves].to = eq + 1;
    a->opts.n_moves++;
    a->opts.moves = a->moves;
    return -1;
}

/* A drill picks its own directory, port and tablespace locations, and always starts the copy. */
static int check_drill_args(struct args *a)
{
    if (a->opts.target_dir != NULL || a->opts.n_moves > 0 || a->opts.force || a->opts.dry_run ||
        a->opts.start || a->opts.port != 0) {
        return bad("--drill chooses its own directory and port: it takes no --target-dir, "
                   "--tablespace-map, --force, --dry-run, --start or --port");
    }
    if (a->n_targets > 1) {
        return bad("name at most one target with --drill (default: --to latest)");
    }
    if (a->n_targets == 0) {
        a->opts.target = RESTORE_TO_LATEST;
    }
    if (a->opts.action != NULL && strcmp(a->opts.action, "promote") != 0) {
        return bad("a drill recovers to the target and promotes: --target-action promote only");
    }
    return -1;
}

/* Returns -1 to run, else the exit status. */
static int parse_args(int argc, char **argv, struct args *a)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"target-dir", required_argument, NULL, 'D'},
        {"to", required_argument, NULL, 't'},
        {"to-lsn", required_argument, NULL, 'L'},
        {"to-xid", required_argument, NULL, 'X'},
        {"to-name", required_argument, NULL, 'N'},
        {"backup", required_argument, NULL, 'b'},
        {"timeline", required_argument, NULL, 'T'},
        {"target-action", required_argument, NULL, 'a'},
        {"tablespace-map", required_argument, NULL, 'm'},
        {"force", no_argument, NULL, 'f'},
        {"start", no_argument, NULL, 's'},
        {"port", required_argument, NULL, 'p'},
        {"pg-bin", required_argument, NULL, 'B'},
        {"no-archive", no_argument, NULL, 'A'},
        {"dry-run", no_argument, NULL, 'n'},
        {"quiet", no_argument, NULL, 'q'},
        {"progress", no_argument, NULL, 'P'},
        {"drill", no_argument, NULL, 'd'},
        {"drill-dir", required_argument, NULL, 'R'},
        {"check-sql", required_argument, NULL, 'S'},
        {"check-db", required_argument, NULL, 'C'},
        {"keep", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct pitr_err err;
    int status = -1;
    int c;

    opterr = 0;
    while (status < 0 && (c = getopt_long(argc, argv, "c:D:t:L:X:N:b:T:a:m:fsp:B:AnqPdR:S:C:khV",
                                          options, NULL)) != -1) {
        switch (c) {
        case 'c':
            a->config_path = optarg;
            break;
        case 'D':
            a->opts.target_dir = optarg;
            break;
        case 't':
            status = set_to(a, optarg);
            break;
        case 'L':
            a->n_targets++;
            a->opts.target = RESTORE_TO_LSN;
            if (wal_lsn_parse(optarg, &a->opts.lsn, &err) != PITR_OK) {
                status = bad("invalid --to-lsn \"%s\": expected X/Y as pg_current_wal_lsn() "
                             "shows it",
                             optarg);
            }
            break;
        case 'X':
        case 'N':
            a->n_targets++;
            a->opts.target = c == 'X' ? RESTORE_TO_XID : RESTORE_TO_NAME;
            a->opts.value = optarg;
            if (c == 'X' && (optarg[0] == '\0' || optarg[strspn(optarg, "0123456789")] != '\0')) {
                status = bad("invalid --to-xid \"%s\": expected a transaction number", optarg);
            } else if (c == 'N' && (optarg[0] == '\0' || strlen(optarg) >= 64)) {
                status =
                    bad("invalid --to-name \"%s\": restore point names have 1 to 63 bytes", optarg);
            }
            break;
        case 'b':
            a->opts.backup_id = optarg;
            break;
        case 'T':
            a->opts.timeline = optarg;
            break;
        case 'a':
            if (strcmp(optarg, "promote") != 0 && strcmp(optarg, "pause") != 0 &&
                strcmp(optarg, "shutdown") != 0) {
                status =
                    bad("invalid --target-action \"%s\": use promote, pause or shutdown", optarg);
            }
            a->opts.action = optarg;
            break;
        case 'm':
            status = add_move(a, optarg);
            break;
        case 'f':
            a->opts.force = true;
            break;
        case 's':
            a->opts.start = true;
            break;
        case 'p': {
            uint64_t port = 0;

            if (str_parse_u64(optarg, "--port", &port, &err) != PITR_OK || port == 0 ||
                port > 65535) {
                status = bad("invalid --port \"%s\"", optarg);
            }
            a->opts.port = (unsigned)port;
            break;
        }
        case 'B':
            a->opts.pg_bin = optarg;
            break;
        case 'A':
            a->opts.no_archive = true;
            break;
        case 'n':
            a->opts.dry_run = true;
            break;
        case 'q':
            a->opts.quiet = true;
            break;
        case 'P':
            a->opts.progress = true;
            break;
        case 'd':
            a->drill = true;
            break;
        case 'R':
            a->drill_opts.drill_dir = optarg;
            break;
        case 'S':
            a->drill_opts.check_sql = optarg;
            break;
        case 'C':
            a->drill_opts.check_db = optarg;
            break;
        case 'k':
            a->drill_opts.keep = true;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        case 'V':
            printf("pitr-restore (pitr) %s\n", PITR_VERSION);
            return 0;
        default:
            fprintf(stderr, "pitr-restore: invalid option \"%s\"\n%s", argv[optind - 1], usage);
            return 1;
        }
    }
    if (status >= 0) {
        return status;
    }
    if (optind != argc) {
        return bad("unexpected argument \"%s\"", argv[optind]);
    }
    if (a->drill) {
        return check_drill_args(a);
    }
    if (a->drill_opts.drill_dir || a->drill_opts.check_sql || a->drill_opts.check_db ||
        a->drill_opts.keep) {
        return bad("--drill-dir, --check-sql, --check-db and --keep go with --drill");
    }
    if (a->opts.target_dir == NULL) {
        return bad("name the directory to restore into with --target-dir DIR");
    }
    if (a->n_targets != 1) {
        return bad("name exactly one target: --to TIMESTAMP, --to latest, --to immediate, "
                   "--to-lsn, --to-xid or --to-name");
    }
    if (a->opts.start && a->opts.action != NULL && strcmp(a->opts.action, "shutdown") == 0) {
        return bad("--start follows recovery to a running server: use --target-action promote "
                   "or pause with it");
    }
    if (a->opts.port != 0 && !a->opts.start) {
        return bad("--port goes with --start");
    }
    return -1;
}

int main(int argc, char **argv)
{
    struct args a;
    struct cli cli = {NULL, 0, 0};
    struct config cfg;
    struct pitr_err err;
    enum pitr_rc rc;
    int status;

    log_init("pitr-restore", LOG_LEVEL_INFO);
    memset(&a, 0, sizeof(a));
    a.opts.timeline = "latest";
    a.opts.progress = isatty(STDERR_FILENO);
    status = parse_args(argc, argv, &a);
    if (status < 0) {
        cli.config_path = a.config_path;
        if (cli_load_config(&cli, &cfg, &err) != PITR_OK) {
            status = 1;
        }
    }
    if (status < 0 && a.drill) {
        struct drill_result r;
        struct notify_event ev;

        rc = drill_run(&cfg, &a.opts, &a.drill_opts, &r, &err);
        if (rc != PITR_OK) {
            log_error("%s", err.msg);
        }
        ev = (struct notify_event){"pitr-restore --drill", rc == PITR_OK, r.cluster, NULL,
                                   r.summary};
        notify_send(&cfg, &ev);
        config_fini(&cfg);
        status = rc == PITR_OK ? 0 : 1;
    } else if (status < 0) {
        rc = restore_run(&cfg, &a.opts, NULL, &err);
        if (rc != PITR_OK) {
            log_error("%s", err.msg);
        }
        config_fini(&cfg);
        status = rc == PITR_OK ? 0 : 1;
    }
    for (size_t i = 0; i < a.opts.n_moves; i++) {
        free((char *)a.moves[i].from);
    }
    free(a.moves);
    return status;
}

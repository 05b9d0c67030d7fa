/* pitr-basebackup: takes a full base backup over the replication protocol into the repository,
 * or removes backups that were interrupted (--cleanup). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup.h"
#include "base/log.h"
#include "base/strutil.h"
#include "config/cli.h"
#include "notify/notify.h"
#include "repo/backup.h"

static const char usage[] =
    "Usage: pitr-basebackup [--config FILE] [OPTIONS]\n"
    "Takes a full base backup of the cluster that pg_conninfo names, through the replication\n"
    "protocol, into the pitr repository (compressed, checksummed and optionally encrypted).\n"
    "The backup is complete only once its WAL is archived too (archive_command = pitr-archive).\n"
    "\n"
    "Options:\n"
    "  --type TYPE           daily, weekly, monthly, manual or pre-migration (default manual)\n"
    "  --label TEXT          a label recorded with the backup\n"
    "  --checkpoint MODE     fast or spread (default fast)\n"
    "  --max-rate RATE       limit the server's reading to RATE per second (e.g. 50MB; 32kB-1GB)\n"
    "  --progress            show progress on stderr (the default on a terminal)\n"
    "  --quiet               print nothing on success (for cron)\n"
    "  --cleanup             remove interrupted backups instead of taking one\n"
    "  --cleanup-age SECS    with --cleanup: also remove incomplete backups of other hosts\n"
    "                        started longer ago than this (default 86400)\n"
    "  --config FILE         configuration file (else $PITR_CONFIG, else /etc/pitr/pitr.conf)\n"
    "  --help, --version\n"
    "Exit status: 0 on success, 1 on any failure (the error is printed on stderr).\n";

struct args {
    struct backup_options opts;
    const char *config_path;
    bool cleanup;
    uint64_t cleanup_age;
    bool progress_set;
};

/* Returns -1 to run, else the exit status. */
static int parse_args(int argc, char **argv, struct args *a)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},   {"type", required_argument, NULL, 't'},
        {"label", required_argument, NULL, 'l'},    {"checkpoint", required_argument, NULL, 'k'},
        {"progress", no_argument, NULL, 'P'},       {"quiet", no_argument, NULL, 'q'},
        {"cleanup", no_argument, NULL, 'C'},        {"cleanup-age", required_argument, NULL, 'A'},
        {"max-rate", required_argument, NULL, 'r'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},        {NULL, 0, NULL, 0},
    };
    struct pitr_err err;
    uint64_t rate = 0;
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "c:t:l:k:r:PqCA:hV", options, NULL)) != -1) {
        switch (c) {
        case 'c':
            a->config_path = optarg;
            break;
        case 't':
            a->opts.type = optarg;
            break;
        case 'l':
            a->opts.label = optarg;
            break;
        case 'k':
            if (strcmp(optarg, "fast") != 0 && strcmp(optarg, "spread") != 0) {
                fprintf(stderr, "pitr-basebackup: --checkpoint must be fast or spread\n");
                return 1;
            }
            a->opts.fast_checkpoint = strcmp(optarg, "fast") == 0;
            break;
        case 'r':
            if (str_parse_size(optarg, "--max-rate", &rate, &err) != PITR_OK || rate < 32 * 1024 ||
                rate > 1024ull * 1024 * 1024) {
                fprintf(stderr, "pitr-basebackup: invalid --max-rate \"%s\": use 32kB to 1GB\n",
                        optarg);
                return 1;
            }
            a->opts.max_rate_kb = (unsigned)(rate / 1024);
            break;
        case 'P':
            a->opts.progress = true;
            a->progress_set = true;
            break;
        case 'q':
            a->opts.quiet = true;
            break;
        case 'C':
            a->cleanup = true;
            break;
        case 'A':
            if (str_parse_u64(optarg, "--cleanup-age", &a->cleanup_age, &err) != PITR_OK ||
                a->cleanup_age > 100u * 365 * 86400) {
                fprintf(stderr, "pitr-basebackup: invalid --cleanup-age \"%s\"\n", optarg);
                return 1;
            }
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        case 'V':
            printf("pitr-basebackup (pitr) %s\n", PITR_VERSION);
            return 0;
        default:
            fprintf(stderr, "pitr-basebackup: invalid option \"%s\"\n%s", argv[optind - 1], usage);
            return 1;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "pitr-basebackup: unexpected argument \"%s\"\n%s", argv[optind], usage);
        return 1;
    }
    if (!backup_type_valid(a->opts.type)) {
        fprintf(stderr,
                "pitr-basebackup: invalid --type \"%s\": expected daily, weekly, monthly, manual "
                "or pre-migration\n",
                a->opts.type);
        return 1;
    }
    for (const char *p = a->opts.label ? a->opts.label : ""; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20) {
            fprintf(stderr, "pitr-basebackup: --label must be one line of text\n");
            return 1;
        }
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

    log_init("pitr-basebackup", LOG_LEVEL_INFO);
    memset(&a, 0, sizeof(a));
    a.opts.type = "manual";
    a.opts.fast_checkpoint = true;
    a.cleanup_age = 86400;
    status = parse_args(argc, argv, &a);
    if (status >= 0) {
        return status;
    }
    if (!a.progress_set) {
        a.opts.progress = !a.opts.quiet && isatty(STDERR_FILENO);
    }
    cli.config_path = a.config_path;
    if (cli_load_config(&cli, &cfg, &err) != PITR_OK) {
        return 1;
    }
    if (a.opts.quiet && log_get_level() > LOG_LEVEL_WARN) {
        log_set_level(LOG_LEVEL_WARN);
    }
    if (a.cleanup) {
        rc = backup_cleanup(&cfg, (unsigned)a.cleanup_age, a.opts.quiet, &err);
        if (rc != PITR_OK) {
            log_error("%s", err.msg);
        }
    } else {
        struct backup_report report;
        struct notify_event ev;

        rc = backup_run(&cfg, &a.opts, &report, &err);
        if (rc != PITR_OK) {
            log_error("%s", err.msg);
        }
        ev = (struct notify_event){"pitr-basebackup", rc == PITR_OK, report.cluster, NULL,
                                   rc == PITR_OK ? report.summary : err.msg};
        notify_send(&cfg, &ev); /* advisory: never changes the exit status */
    }
    config_fini(&cfg);
    return rc == PITR_OK ? 0 : 1;
}

/* pitr-fetch: PostgreSQL's restore_command. The exit status is the contract with recovery:
 *   0    the file was restored and verified
 *   1    the file is not in the archive (recovery ends there, or a standby switches to streaming)
 *   255  anything else: PostgreSQL aborts archive recovery instead of promoting at the wrong
 *        point (it treats any status above 125 as fatal). A standby (standby.signal) gets 1
 *        instead, after the error is logged, because it retries and can stream from its primary. */
#include <stdlib.h>

#include "archive_get.h"
#include "base/log.h"
#include "config/cli.h"
#include "pg/control.h"

enum { FETCH_EXIT_NOT_FOUND = 1, FETCH_EXIT_FATAL = 255 };

static const char usage[] =
    "Usage: pitr-fetch [--config FILE] WAL_NAME DEST_PATH\n"
    "Restores one archived WAL file from the pitr repository.\n"
    "Use it as PostgreSQL's restore_command:\n"
    "  restore_command = 'pitr-fetch --config /etc/pitr/pitr.conf %f %p'\n"
    "Exit status: 0 restored; 1 not in the archive; 255 any other failure (aborts recovery;\n"
    "a standby, which has standby.signal, gets 1 so it keeps retrying and streaming).\n";

static int exit_code(enum pitr_rc rc, const struct config *cfg)
{
    const char *pgdata = cfg != NULL && cfg->pgdata ? cfg->pgdata : ".";

    if (rc == PITR_OK) {
        return 0;
    }
    if (rc == PITR_NOT_FOUND) {
        return FETCH_EXIT_NOT_FOUND;
    }
    if (pg_is_standby(pgdata)) {
        log_error("standby.signal is present: exiting 1 so the standby retries or streams");
        return FETCH_EXIT_NOT_FOUND;
    }
    log_error("exiting 255 so that PostgreSQL stops recovery instead of ending it here");
    return FETCH_EXIT_FATAL;
}

int main(int argc, char **argv)
{
    struct cli cli;
    struct config cfg;
    struct pitr_err err;
    enum pitr_rc rc;
    int code;

    log_init("pitr-fetch", LOG_LEVEL_INFO);
    switch (cli_parse(argc, argv, usage, 2, &cli)) {
    case CLI_EXIT0:
        return 0;
    case CLI_USAGE:
        return exit_code(PITR_CONFIG, NULL);
    case CLI_RUN:
        break;
    }
    rc = cli_load_config(&cli, &cfg, &err);
    if (rc != PITR_OK) {
        return exit_code(rc, NULL);
    }
    rc = archive_get(&cfg, argv[cli.first_arg], argv[cli.first_arg + 1], &err);
    if (rc == PITR_NOT_FOUND) {
        log_info("\"%s\" is not in the archive", argv[cli.first_arg]);
    } else if (rc != PITR_OK) {
        log_error("%s", err.msg);
    }
    code = exit_code(rc, &cfg);
    config_fini(&cfg);
    return code;
}

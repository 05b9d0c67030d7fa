/* pitr-archive: PostgreSQL's archive_command. Every failure exits 1, so PostgreSQL keeps the
 * file and retries; a status above 125 would make the archiver process exit instead. */
#include <stdlib.h>

#include "archive_push.h"
#include "base/log.h"
#include "config/cli.h"

static const char usage[] =
    "Usage: pitr-archive [--config FILE] WAL_PATH WAL_NAME\n"
    "Stores one WAL segment, .partial, .backup or .history file in the pitr repository.\n"
    "Use it as PostgreSQL's archive_command:\n"
    "  archive_command = 'pitr-archive --config /etc/pitr/pitr.conf %p %f'\n"
    "The configuration is read from --config, else $PITR_CONFIG, else /etc/pitr/pitr.conf;\n"
    "every setting can be overridden with a PITR_<SETTING> environment variable.\n"
    "Exit status: 0 when the file is durably stored (or already was, identically), 1 otherwise.\n";

static int exit_code(enum pitr_rc rc)
{
    return rc == PITR_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct cli cli;
    struct config cfg;
    struct pitr_err err;
    enum pitr_rc rc;

    log_init("pitr-archive", LOG_LEVEL_INFO);
    switch (cli_parse(argc, argv, usage, 2, &cli)) {
    case CLI_EXIT0:
        return 0;
    case CLI_USAGE:
        return 1;
    case CLI_RUN:
        break;
    }
    rc = cli_load_config(&cli, &cfg, &err);
    if (rc != PITR_OK) {
        return exit_code(rc);
    }
    rc = archive_push(&cfg, argv[cli.first_arg], argv[cli.first_arg + 1], &err);
    if (rc != PITR_OK) {
        log_error("%s", err.msg);
    }
    config_fini(&cfg);
    return exit_code(rc);
}

/* cli: shared option parsing so that every binary accepts --config the same way. */
#include "config/cli.h"

#include <getopt.h>
#include <stdio.h>

#include "base/log.h"

enum cli_result cli_parse(int argc, char **argv, const char *usage, int nargs, struct cli *out)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;

    out->config_path = NULL;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+c:hV", options, NULL)) != -1) {
        switch (c) {
        case 'c':
            out->config_path = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return CLI_EXIT0;
        case 'V':
            printf("%s (pitr) %s\n", argv[0], PITR_VERSION);
            return CLI_EXIT0;
        default:
            fprintf(stderr, "%s: invalid option \"%s\"\n%s", argv[0], argv[optind - 1], usage);
            return CLI_USAGE;
        }
    }
    out->first_arg = optind;
    out->nargs = argc - optind;
    if (nargs >= 0 && out->nargs != nargs) {
        fprintf(stderr, "%s: expected %d arguments, got %d\n%s", argv[0], nargs, out->nargs, usage);
        return CLI_USAGE;
    }
    return CLI_RUN;
}

enum pitr_rc cli_load_config(const struct cli *cli, struct config *cfg, struct pitr_err *err)
{
    enum pitr_rc rc = config_load(cli->config_path, cfg, err);

    if (rc != PITR_OK) {
        log_error("%s", err->msg);
        return rc;
    }
    log_set_level(cfg->log_level);
    return PITR_OK;
}

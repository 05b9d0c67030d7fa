/* cli: the options every pitr binary shares (--config, --help, --version) and loading the
 * configuration the same way in each main(). */
#ifndef PITR_CONFIG_CLI_H
#define PITR_CONFIG_CLI_H

#include "config/config.h"

enum cli_result {
    CLI_RUN,   /* options parsed: run the command */
    CLI_EXIT0, /* --help or --version printed */
    CLI_USAGE, /* bad usage, message printed */
};

struct cli {
    const char *config_path; /* from --config, or NULL */
    int first_arg;           /* index in argv of the first positional argument */
    int nargs;               /* number of positional arguments */
};

/* Parses the shared options; usage is printed for --help and after a usage error. Expects
 * exactly `nargs` positional arguments (-1: any number). */
enum cli_result cli_parse(int argc, char **argv, const char *usage, int nargs, struct cli *out);

/* Loads the configuration as --config/PITR_CONFIG/default say and applies its log level; logs the
 * error itself when it fails. */
enum pitr_rc cli_load_config(const struct cli *cli, struct config *cfg,
                             struct pitr_err *err) PITR_MUST_CHECK;

#endif

/* pitr-object-cat: a test-only tool that reads one stored object through the configured
 * repository, verifies and decodes it (decrypting with encryption_key_file when set), and writes
 * the content to stdout, so integration tests can unpack base backups with tar before
 * pitr-restore exists to do it. Exit: 0 ok, 2 not found, 1 anything else. */
#include <stdio.h>
#include <unistd.h>

#include "base/log.h"
#include "config/cli.h"
#include "crypto/key.h"
#include "object/object.h"
#include "repo/repo.h"
#include "storage/storage.h"

static const char usage[] = "usage: pitr-object-cat [--config FILE] KEY\n";

int main(int argc, char **argv)
{
    struct cli cli;
    struct config cfg;
    struct pitr_err err;
    struct storage *s = NULL;
    struct key *key = NULL;
    struct filter *out = NULL;
    struct filter *reader = NULL;
    enum pitr_rc rc;

    log_init("pitr-object-cat", LOG_LEVEL_WARN);
    if (cli_parse(argc, argv, usage, 1, &cli) != CLI_RUN) {
        return 1;
    }
    if (cli_load_config(&cli, &cfg, &err) != PITR_OK) {
        return 1;
    }
    rc = PITR_OK;
    if (cfg.encryption_key_file != NULL) {
        key = key_load_file(cfg.encryption_key_file, &err);
        rc = key == NULL ? err.rc : PITR_OK;
    }
    if (rc == PITR_OK) {
        s = repo_open(&cfg, &err);
        rc = s == NULL ? err.rc : PITR_OK;
    }
    if (rc == PITR_OK) {
        out = fd_sink_new(STDOUT_FILENO, "stdout");
        reader = object_reader_new(out, key, argv[cli.first_arg]);
        rc = storage_read(s, argv[cli.first_arg], reader, &err);
    }
    if (rc != PITR_OK) {
        fprintf(stderr, "pitr-object-cat: %s\n", err.msg);
    }
    filter_free(reader);
    filter_free(out);
    storage_free(s);
    key_free(key);
    config_fini(&cfg);
    return rc == PITR_OK ? 0 : rc == PITR_NOT_FOUND ? 2 : 1;
}

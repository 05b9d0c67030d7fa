/* pitr-object-cat: a test-only tool that reads one stored object of the configured cluster,
 * verifies and decodes it (with encryption_key_file: authenticated under the key and bound to its
 * name and cluster) and writes the content to stdout, so integration tests can unpack base
 * backups with tar and read records. Exit: 0 ok, 2 not found, 1 anything else. */
#include <stdio.h>
#include <unistd.h>

#include "base/log.h"
#include "config/cli.h"
#include "object/object.h"
#include "repo/repo.h"
#include "storage/storage.h"

static const char usage[] = "usage: pitr-object-cat [--config FILE] KEY\n";

int main(int argc, char **argv)
{
    struct cli cli;
    struct config cfg;
    struct pitr_err err;
    struct repo_session repo = {0};
    struct filter *out = NULL;
    struct filter *reader = NULL;
    const char *key;
    enum pitr_rc rc;

    log_init("pitr-object-cat", LOG_LEVEL_WARN);
    if (cli_parse(argc, argv, usage, 1, &cli) != CLI_RUN) {
        return 1;
    }
    if (cli_load_config(&cli, &cfg, &err) != PITR_OK) {
        return 1;
    }
    key = argv[cli.first_arg];
    rc = repo_session_open(&cfg, NULL, &repo, &err);
    if (rc == PITR_OK) {
        out = fd_sink_new(STDOUT_FILENO, "stdout");
        reader = object_reader_new(out, repo.key, repo_binding_sysid(&repo, key), key);
        rc = storage_read(repo.storage, key, reader, &err);
    }
    if (rc != PITR_OK) {
        fprintf(stderr, "pitr-object-cat: %s\n", err.msg);
    }
    filter_free(reader);
    filter_free(out);
    repo_session_close(&repo);
    config_fini(&cfg);
    return rc == PITR_OK ? 0 : rc == PITR_NOT_FOUND ? 2 : 1;
}

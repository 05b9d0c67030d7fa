/* pitr-record-put: a test-only tool that stores stdin as a metadata object (repo_put_text: the
 * object format, unencrypted, like backup records) under KEY in the configured repository,
 * replacing what is there, so integration tests can fake a backup's age by rewriting its record.
 * Exit: 0 ok, 1 anything else. */
#include <stdio.h>

#include "base/buf.h"
#include "base/log.h"
#include "config/cli.h"
#include "repo/backup.h"
#include "repo/repo.h"
#include "storage/storage.h"

static const char usage[] = "usage: pitr-record-put [--config FILE] KEY < TEXT\n";

int main(int argc, char **argv)
{
    struct cli cli;
    struct config cfg;
    struct pitr_err err;
    struct storage *s = NULL;
    struct buf text;
    char chunk[4096];
    size_t n;
    enum pitr_rc rc = PITR_OK;

    log_init("pitr-record-put", LOG_LEVEL_WARN);
    if (cli_parse(argc, argv, usage, 1, &cli) != CLI_RUN) {
        return 1;
    }
    if (cli_load_config(&cli, &cfg, &err) != PITR_OK) {
        return 1;
    }
    buf_init(&text, BACKUP_RECORD_MAX);
    while (rc == PITR_OK && (n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
        rc = buf_append(&text, chunk, n, &err);
    }
    if (rc == PITR_OK) {
        rc = buf_append(&text, "", 1, &err);
    }
    if (rc == PITR_OK) {
        s = repo_open(&cfg, &err);
        rc = s == NULL ? err.rc : PITR_OK;
    }
    if (rc == PITR_OK) {
        rc = repo_put_text(s, argv[cli.first_arg], (const char *)text.data, false, &err);
    }
    if (rc != PITR_OK) {
        fprintf(stderr, "pitr-record-put: %s\n", err.msg);
    }
    buf_fini(&text);
    storage_free(s);
    config_fini(&cfg);
    return rc == PITR_OK ? 0 : 1;
}

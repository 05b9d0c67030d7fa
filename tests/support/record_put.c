/* pitr-record-put: a test-only tool that stores stdin as a metadata object (repo_put_text: the
 * object format, under encryption_key_file when set, like backup records) under KEY in the
 * configured repository, replacing what is there, so integration tests can fake a backup's age
 * by rewriting its record, and, without the key, play someone who can write to the repository.
 * Exit: 0 ok, 1 anything else. */
#include <stdio.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/xalloc.h"
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
    struct repo_session repo = {0};
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
    if (rc == PITR_OK && cfg.encryption_key_file != NULL) {
        rc = repo_session_open(&cfg, NULL, &repo, &err);
    } else if (rc == PITR_OK) {
        /* no key: nothing is bound to the cluster, whose record may be unreadable without one */
        repo.storage = repo_open(&cfg, &err);
        rc = repo.storage == NULL ? err.rc : PITR_OK;
        repo.cluster = xstrdup("");
    }
    if (rc == PITR_OK) {
        rc = repo_put_text(&repo, argv[cli.first_arg], (const char *)text.data, false, &err);
    }
    if (rc != PITR_OK) {
        fprintf(stderr, "pitr-record-put: %s\n", err.msg);
    }
    buf_fini(&text);
    repo_session_close(&repo);
    config_fini(&cfg);
    return rc == PITR_OK ? 0 : 1;
}

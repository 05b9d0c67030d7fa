/* pitr-catalog: the DBA's view of the repository: backups, recoverable windows, and the
 * consistency of the catalog with the objects it indexes. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/strutil.h"
#include "base/timestamp.h"
#include "catalog.h"
#include "config/cli.h"
#include "pg/wal.h"
#include "repo/backup.h"
#include "repo/repo.h"

static const char usage[] =
    "Usage: pitr-catalog [--config FILE] [--json] COMMAND\n"
    "The backups in the pitr repository and the times they can restore to.\n"
    "\n"
    "Commands:\n"
    "  list          base backups: id, type, label, start/stop time, sizes, status\n"
    "  show ID       one backup in full\n"
    "  windows       the recoverable time windows per timeline, the gaps that cut them off,\n"
    "                and the restore points inside them\n"
    "  check         compare the catalog with the WAL objects; exit 1 on any difference\n"
    "  rebuild       rescan every archived WAL segment and rewrite the catalog from them\n"
    "Options:\n"
    "  --json        machine-readable output (list, show, windows)\n"
    "  --config FILE configuration file (else $PITR_CONFIG, else /etc/pitr/pitr.conf)\n"
    "  --help, --version\n";

struct ctx {
    const struct config *cfg;
    struct repo_session repo; /* its key decrypts history files and WAL */
    bool json;
    struct buf out;
};

static void time_text(int64_t us, char out[TIMESTAMP_TEXT_LEN])
{
    timestamp_format(us, out);
}

/* --- list ------------------------------------------------------------------------------------ */

static enum pitr_rc json_backup(struct buf *o, const struct backup_record *b, bool full,
                                struct pitr_err *err)
{
    char start[TIMESTAMP_TEXT_LEN];
    char stop[TIMESTAMP_TEXT_LEN];
    char slsn[18];
    char elsn[18];
    enum pitr_rc rc;

    time_text(b->start_time * 1000000, start);
    time_text(b->stop_time * 1000000, stop);
    wal_lsn_format(b->start_lsn, slsn);
    wal_lsn_format(b->stop_lsn, elsn);
    rc = buf_printf(o, err, "{\"id\":\"%s\",\"type\":\"%s\",\"label\":", b->id, b->type);
    if (rc == PITR_OK) {
        rc = str_json_quote(o, b->label ? b->label : "", err);
    }
    if (rc == PITR_OK) {
        rc = buf_printf(o, err,
                        ",\"status\":\"%s\",\"start_time\":\"%s\",\"stop_time\":\"%s\","
                        "\"start_lsn\":\"%s\",\"stop_lsn\":\"%s\",\"timeline\":%u,"
                        "\"raw_bytes\":%" PRIu64 ",\"stored_bytes\":%" PRIu64,
                        b->status, start, stop, slsn, elsn, b->timeline, b->raw_bytes,
                        b->stored_bytes);
    }
    if (rc == PITR_OK && full) {
        rc = buf_printf(o, err,
                        ",\"system_identifier\":\"%" PRIu64 "\",\"pg_version_num\":%u,"
                        "\"wal_segment_size\":%u,\"compression\":\"%s\",\"compressed_by\":\"%s\","
                        "\"encryption_key_id\":\"%s\",\"duration_ms\":%" PRIu64 ",\"host\":",
                        b->sysid, b->pg_version_num, b->wal_seg_size, b->compression,
                        b->compressed_by, b->key_id, b->duration_ms);
        if (rc == PITR_OK) {
            rc = str_json_quote(o, b->host, err);
        }
        for (size_t i = 0; rc == PITR_OK && i < b->n_objects; i++) {
            char hex[2 * SHA256_LEN + 1];

            str_hex_encode(b->objects[i].sha256, SHA256_LEN, hex);
            rc = buf_printf(o, err,
                            "%s{\"name\":\"%s\",\"raw_bytes\":%" PRIu64 ",\"stored_bytes\":%" PRIu64
                            ",\"sha256\":\"%s\"}",
                            i == 0 ? ",\"objects\":[" : ",", b->objects[i].name,
                            b->objects[i].raw_size, b->objects[i].stored_size, hex);
        }
        if (rc == PITR_OK && b->n_objects > 0) {
            rc = buf_printf(o, err, "]");
        }
        for (size_t i = 0; rc == PITR_OK && i < b->n_tablespaces; i++) {
            rc = buf_printf(o, err,
                            "%s{\"oid\":%u,\"location\":", i == 0 ? ",\"tablespaces\":[" : ",",
                            b->tablespaces[i].oid);
            if (rc == PITR_OK) {
                rc = str_json_quote(o, b->tablespaces[i].location, err);
            }
            if (rc == PITR_OK) {
                rc = buf_printf(o, err, "}%s", i + 1 == b->n_tablespaces ? "]" : "");
            }
        }
    }
    return rc == PITR_OK ? buf_printf(o, err, "}") : rc;
}

static enum pitr_rc cmd_list(struct ctx *c, struct pitr_err *err)
{
    struct backup_record *list = NULL;
    size_t n = 0;
    enum pitr_rc rc = backup_list_complete(c->repo.storage, c->repo.cluster, &list, &n, err);

    if (rc == PITR_OK && c->json) {
        rc = buf_printf(&c->out, err, "{\"cluster\":\"%s\",\"backups\":[", c->repo.cluster);
        for (size_t i = 0; rc == PITR_OK && i < n; i++) {
            rc = i > 0 ? buf_printf(&c->out, err, ",") : PITR_OK;
            rc = rc == PITR_OK ? json_backup(&c->out, &list[i], false, err) : rc;
        }
        rc = rc == PITR_OK ? buf_printf(&c->out, err, "]}\n") : rc;
    } else if (rc == PITR_OK) {
        rc = buf_printf(&c->out, err, "%-18s %-13s %-22s %-22s %10s %10s  %s\n", "ID", "TYPE",
                        "START (UTC)", "STOP (UTC)", "SIZE", "STORED", "LABEL");
        for (size_t i = 0; rc == PITR_OK && i < n; i++) {
            char start[TIMESTAMP_TEXT_LEN];
            char stop[TIMESTAMP_TEXT_LEN];
            char raw[16];
            char stored[16];

            time_text(list[i].start_time * 1000000, start);
            time_text(list[i].stop_time * 1000000, stop);
            start[19] = '\0';
            stop[19] = '\0';
            str_human_bytes(list[i].raw_bytes, raw);
            str_human_bytes(list[i].stored_bytes, stored);
            rc = buf_printf(&c->out, err, "%-18s %-13s %-22s %-22s %10s %10s  %s\n", list[i].id,
                            list[i].type, start, stop, raw, stored,
                            list[i].label ? list[i].label : "");
        }
        if (rc == PITR_OK && n == 0) {
            rc = buf_printf(&c->out, err, "(no complete backup: take one with pitr-basebackup)\n");
        }
    }
    backup_list_free(list, n);
    return rc;
}

static enum pitr_rc cmd_show(struct ctx *c, const char *id, struct pitr_err *err)
{
    struct backup_record r;
    enum pitr_rc rc = backup_record_read(c->repo.storage, c->repo.cluster, id, &r, err);

    if (rc != PITR_OK) {
        return rc;
    }
    if (c->json) {
        rc = json_backup(&c->out, &r, true, err);
        rc = rc == PITR_OK ? buf_printf(&c->out, err, "\n") : rc;
    } else {
        rc = backup_record_format(&r, &c->out, err);
    }
    backup_record_fini(&r);
    return rc;
}

/* --- windows --------------------------------------------------------------------------------- */

static enum pitr_rc print_windows_text(struct ctx *c, const struct catalog_windows *w,
                                       struct pitr_err *err)
{
    enum pitr_rc rc = PITR_OK;

    if (w->n == 0) {
        return buf_printf(&c->out, err,
                          "no recoverable window: no complete backup with its WAL in the "
                          "catalog\n");
    }
    for (size_t i = 0; rc == PITR_OK && i < w->n; i++) {
        const struct catalog_window *x = &w->v[i];
        char from[TIMESTAMP_TEXT_LEN];
        char to[TIMESTAMP_TEXT_LEN];
        char first[25];
        char last[25];

        time_text(x->from_us, from);
        time_text(x->to_us, to);
        wal_segment_name(x->tli, x->first_segno, w->seg_size, first);
        wal_segment_name(x->tli, x->last_segno, w->seg_size, last);
        rc = buf_printf(&c->out, err, "timeline %u: %s .. %s  (from backup %s; WAL %s .. %s)\n",
                        x->tli, from, to, x->backup_id, first, last);
        if (rc == PITR_OK && x->gap_segno != 0) {
            char gap[25];

            wal_segment_name(x->tli, x->gap_segno, w->seg_size, gap);
            rc = buf_printf(&c->out, err, "  gap: %s is missing: recovery through it stops at %s\n",
                            gap, to);
        }
        for (size_t r = 0; rc == PITR_OK && r < w->n_rps; r++) {
            uint64_t seg = wal_segno_of_lsn(w->rps[r].lsn, w->seg_size);
            char when[TIMESTAMP_TEXT_LEN];
            char lsn[18];

            if (w->rps[r].tli != x->tli || seg < x->first_segno || seg > x->last_segno) {
                continue;
            }
            time_text(w->rps[r].time_us, when);
            wal_lsn_format(w->rps[r].lsn, lsn);
            rc = buf_printf(&c->out, err, "  restore point \"%s\" at %s (LSN %s)\n", w->rps[r].name,
                            when, lsn);
        }
    }
    return rc;
}

static enum pitr_rc print_windows_json(struct ctx *c, const struct catalog_windows *w,
                                       struct pitr_err *err)
{
    enum pitr_rc rc =
        buf_printf(&c->out, err, "{\"cluster\":\"%s\",\"windows\":[", c->repo.cluster);

    for (size_t i = 0; rc == PITR_OK && i < w->n; i++) {
        const struct catalog_window *x = &w->v[i];
        char from[TIMESTAMP_TEXT_LEN];
        char to[TIMESTAMP_TEXT_LEN];
        char first[25];
        char last[25];
        char gap[25] = "";

        time_text(x->from_us, from);
        time_text(x->to_us, to);
        wal_segment_name(x->tli, x->first_segno, w->seg_size, first);
        wal_segment_name(x->tli, x->last_segno, w->seg_size, last);
        if (x->gap_segno != 0) {
            wal_segment_name(x->tli, x->gap_segno, w->seg_size, gap);
        }
        rc = buf_printf(&c->out, err,
                        "%s{\"timeline\":%u,\"from\":\"%s\",\"to\":\"%s\",\"backup\":\"%s\","
                        "\"first_segment\":\"%s\",\"last_segment\":\"%s\",\"gap\":%s%s%s}",
                        i ? "," : "", x->tli, from, to, x->backup_id, first, last,
                        gap[0] ? "\"" : "", gap[0] ? gap : "null", gap[0] ? "\"" : "");
    }
    rc = rc == PITR_OK ? buf_printf(&c->out, err, "],\"restore_points\":[") : rc;
    for (size_t r = 0; rc == PITR_OK && r < w->n_rps; r++) {
        char when[TIMESTAMP_TEXT_LEN];
        char lsn[18];

        time_text(w->rps[r].time_us, when);
        wal_lsn_format(w->rps[r].lsn, lsn);
        rc = buf_printf(&c->out, err, "%s{\"timeline\":%u,\"name\":", r ? "," : "", w->rps[r].tli);
        rc = rc == PITR_OK ? str_json_quote(&c->out, w->rps[r].name, err) : rc;
        rc = rc == PITR_OK ? buf_printf(&c->out, err, ",\"time\":\"%s\",\"lsn\":\"%s\"}", when, lsn)
                           : rc;
    }
    return rc == PITR_OK ? buf_printf(&c->out, err, "]}\n") : rc;
}

static enum pitr_rc cmd_windows(struct ctx *c, struct pitr_err *err)
{
    struct backup_record *list = NULL;
    size_t n = 0;
    struct catalog_windows w = {NULL, 0, NULL, 0, 0};
    enum pitr_rc rc = backup_list_complete(c->repo.storage, c->repo.cluster, &list, &n, err);

    if (rc == PITR_OK) {
        rc = catalog_windows_compute(c->repo.storage, c->repo.cluster, c->repo.key, list, n, &w,
                                     err);
    }
    if (rc == PITR_OK) {
        rc = c->json ? print_windows_json(c, &w, err) : print_windows_text(c, &w, err);
    }
    catalog_windows_fini(&w);
    backup_list_free(list, n);
    return rc;
}

/* --- check, rebuild -------------------------------------------------------------------------- */

static void report_line(void *arg, const char *line)
{
    (void)arg;
    printf("%s\n", line);
}

static enum pitr_rc cmd_check(struct ctx *c, struct pitr_err *err)
{
    struct catalog_check r;
    enum pitr_rc rc =
        catalog_check_run(c->repo.storage, c->repo.cluster, report_line, NULL, &r, err);
    size_t problems;

    if (rc != PITR_OK) {
        return rc;
    }
    problems = r.missing_entry + r.missing_object + r.damaged;
    printf("%zu WAL segments, %zu catalog entries: %s\n", r.segments, r.entries,
           problems == 0 ? "the catalog matches the repository" : "differences found");
    if (problems > 0) {
        return err_set(err, PITR_CORRUPT,
                       "the catalog differs from the repository in %zu place(s): run "
                       "pitr-catalog rebuild",
                       problems);
    }
    return PITR_OK;
}

static enum pitr_rc cmd_rebuild(struct ctx *c, struct pitr_err *err)
{
    size_t n = 0;
    enum pitr_rc rc = catalog_rebuild(c->repo.storage, c->repo.cluster, c->repo.key, &n, err);

    if (rc == PITR_OK) {
        printf("rebuilt the catalog of cluster %s from %zu WAL segments\n", c->repo.cluster, n);
    }
    return rc;
}

static enum pitr_rc run(struct ctx *c, const char *cmd, const char *arg, struct pitr_err *err)
{
    enum pitr_rc rc;

    rc = repo_session_open(c->cfg, NULL, &c->repo, err);
    if (rc != PITR_OK) {
        return rc;
    }
    if (strcmp(cmd, "list") == 0) {
        rc = cmd_list(c, err);
    } else if (strcmp(cmd, "show") == 0) {
        rc = cmd_show(c, arg, err);
    } else if (strcmp(cmd, "windows") == 0) {
        rc = cmd_windows(c, err);
    } else if (strcmp(cmd, "check") == 0) {
        rc = cmd_check(c, err);
    } else {
        rc = cmd_rebuild(c, err);
    }
    if (rc == PITR_OK && c->out.len > 0) {
        fwrite(c->out.data, 1, c->out.len, stdout);
    }
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    static const char *const commands[] = {"list", "show", "windows", "check", "rebuild"};
    struct ctx c;
    struct cli cli = {NULL, 0, 0};
    struct config cfg;
    struct pitr_err err;
    const char *cmd;
    bool known = false;
    int opt;
    int status;

    log_init("pitr-catalog", LOG_LEVEL_INFO);
    memset(&c, 0, sizeof(c));
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "c:jhV", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            cli.config_path = optarg;
            break;
        case 'j':
            c.json = true;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        case 'V':
            printf("pitr-catalog (pitr) %s\n", PITR_VERSION);
            return 0;
        default:
            fprintf(stderr, "pitr-catalog: invalid option \"%s\"\n%s", argv[optind - 1], usage);
            return 1;
        }
    }
    cmd = optind < argc ? argv[optind] : "";
    for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++) {
        known = known || strcmp(cmd, commands[i]) == 0;
    }
    if (!known || argc - optind != (strcmp(cmd, "show") == 0 ? 2 : 1)) {
        fprintf(stderr, "pitr-catalog: expected one of list, show ID, windows, check, rebuild\n%s",
                usage);
        return 1;
    }
    if (cli_load_config(&cli, &cfg, &err) != PITR_OK) {
        return 1;
    }
    c.cfg = &cfg;
    buf_init(&c.out, 256 * 1024 * 1024);
    status = run(&c, cmd, argv[optind + 1 < argc ? optind + 1 : optind], &err) == PITR_OK ? 0 : 1;
    if (status != 0) {
        log_error("%s", err.msg);
    }
    buf_fini(&c.out);
    repo_session_close(&c.repo);
    config_fini(&cfg);
    return status;
}

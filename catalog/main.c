/* pitr-catalog: the DBA's view of the repository: backups, recoverable windows, and the
 * consistency of the catalog with the objects it indexes. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/strutil.h"
#include "base/timestamp.h"
#include "base/xalloc.h"
#include "catalog.h"
#include "config/cli.h"
#include "notify/notify.h"
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
    "  verify [ID]   read every object of a backup (default: the newest) and the WAL to the end\n"
    "                of its window through every check; exit 1 naming each problem\n"
    "  metrics       Prometheus text format for node_exporter's textfile collector\n"
    "  expire        remove the backups older than their type's retention_* (keeping the newest\n"
    "                retention_min_full), then the WAL no remaining backup needs\n"
    "  upgrade       with a key: rewrite the repository's records under the current key and\n"
    "                rebuild the catalog (after upgrading from a pitr before 2026-12, or after\n"
    "                a key rotation); records without a key are trusted as they are\n"
    "Options:\n"
    "  --json        machine-readable output (list, show, windows)\n"
    "  --verify      windows, metrics: check the catalog against a listing of the WAL objects\n"
    "                (one request per WAL folder): a segment deleted from the repository, or\n"
    "                not the size archived, is a gap\n"
    "  --all         verify: every complete backup\n"
    "  --wal         verify: read every WAL segment of the window, not only the backup's own\n"
    "  --dry-run     expire: print what would go and how many bytes it frees; change nothing\n"
    "  --config FILE configuration file (else $PITR_CONFIG, else /etc/pitr/pitr.conf)\n"
    "  --help, --version\n";

struct ctx {
    const struct config *cfg;
    struct repo_session repo; /* its key decrypts history files and WAL */
    bool json;
    bool all;
    bool wal;
    bool dry_run;
    bool verify;
    struct buf out;
    char summary[512]; /* verify, expire: the summary line, for a notification */
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
    enum pitr_rc rc = backup_list_complete(&c->repo, &list, &n, err);

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
    enum pitr_rc rc = backup_record_read(&c->repo, id, &r, err);

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

/* Gaps on every timeline after its oldest backup, windows or not. */
static size_t total_gaps(const struct catalog_windows *w)
{
    size_t n = 0;

    for (size_t i = 0; i < w->n_tlis; i++) {
        n += w->tlis[i].gaps;
    }
    return n;
}

static enum pitr_rc print_windows_text(struct ctx *c, const struct catalog_windows *w,
                                       struct pitr_err *err)
{
    enum pitr_rc rc = PITR_OK;

    if (w->verified) {
        rc = buf_printf(&c->out, err,
                        "(the catalog checked against a listing of the WAL objects: "
                        "%zu gap(s) after the oldest backup)\n",
                        total_gaps(w));
    }
    if (rc == PITR_OK && w->n == 0) {
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
            char why[160];

            wal_segment_name(x->tli, x->gap_segno, w->seg_size, gap);
            catalog_gap_text(x->gap_reason, x->gap_size, x->gap_recorded, why, sizeof(why));
            rc = buf_printf(&c->out, err, "  gap: %s %s: recovery through it stops at %s\n", gap,
                            why, to);
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
    enum pitr_rc rc = buf_printf(&c->out, err, "{\"cluster\":\"%s\",\"verified\":%s,\"windows\":[",
                                 c->repo.cluster, w->verified ? "true" : "false");

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
                        "\"first_segment\":\"%s\",\"last_segment\":\"%s\",\"gap\":%s%s%s,"
                        "\"gap_reason\":%s%s%s}",
                        i ? "," : "", x->tli, from, to, x->backup_id, first, last,
                        gap[0] ? "\"" : "", gap[0] ? gap : "null", gap[0] ? "\"" : "",
                        gap[0] ? "\"" : "", gap[0] ? catalog_gap_code(x->gap_reason) : "null",
                        gap[0] ? "\"" : "");
    }
    rc = rc == PITR_OK ? buf_printf(&c->out, err, "],\"timelines\":[") : rc;
    for (size_t t = 0; rc == PITR_OK && t < w->n_tlis; t++) {
        rc = buf_printf(&c->out, err, "%s{\"timeline\":%u,\"gaps\":%zu}", t ? "," : "",
                        w->tlis[t].tli, w->tlis[t].gaps);
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
    struct catalog_windows w = {NULL, 0, NULL, 0, 0, NULL, 0, false};
    enum pitr_rc rc = backup_list_complete(&c->repo, &list, &n, err);

    if (rc == PITR_OK) {
        rc = catalog_windows_compute(&c->repo, list, n, c->verify, &w, err);
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
    enum pitr_rc rc = catalog_check_run(&c->repo, report_line, NULL, &r, err);
    size_t problems;

    if (rc != PITR_OK) {
        return rc;
    }
    problems = r.missing_entry + r.missing_object + r.damaged + r.unauthentic;
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
    enum pitr_rc rc = catalog_rebuild(&c->repo, &n, err);

    if (rc == PITR_OK) {
        printf("rebuilt the catalog of cluster %s from %zu WAL segments\n", c->repo.cluster, n);
    }
    return rc;
}

/* --- upgrade --------------------------------------------------------------------------------- */

static enum pitr_rc collect_dir_key(void *arg, const char *key, const struct storage_info *info,
                                    struct pitr_err *err)
{
    struct buf *names = arg;

    return info->is_dir ? buf_append(names, key, strlen(key) + 1, err) : PITR_OK;
}

/* Reseals one record; a missing one is fine (an interrupted backup has no backup.info). */
static enum pitr_rc reseal(struct ctx *c, const char *key, size_t *count, struct pitr_err *err)
{
    bool changed = false;
    enum pitr_rc rc = repo_reseal_text(&c->repo, key, BACKUP_RECORD_MAX, &changed, err);

    *count += rc == PITR_OK && changed;
    return rc == PITR_NOT_FOUND ? PITR_OK : rc;
}

/* Authenticates the repository's records under the current key: for repositories written before
 * records were authenticated, and after a key rotation, so the old key can be retired. */
static enum pitr_rc cmd_upgrade(struct ctx *c, struct pitr_err *err)
{
    struct buf dirs;
    char key[1024];
    char id[17];
    size_t records = 0;
    size_t segments = 0;
    bool changed = false;
    enum pitr_rc rc;

    if (c->repo.key == NULL) {
        printf("the repository is not encrypted: there is nothing to authenticate without a key\n");
        return PITR_OK;
    }
    buf_init(&dirs, 64 * 1024 * 1024);
    rc = repo_cluster_reseal(&c->repo, &changed, err);
    records += changed;
    if (rc == PITR_OK) {
        rc = str_format(key, sizeof(key), err, "%s/backup", c->repo.cluster);
    }
    if (rc == PITR_OK) {
        rc = storage_list(c->repo.storage, key, STORAGE_LIST_CHILDREN, collect_dir_key, &dirs, err);
        rc = rc == PITR_NOT_FOUND ? PITR_OK : rc;
    }
    for (size_t off = 0; rc == PITR_OK && off < dirs.len;
         off += strlen((char *)dirs.data + off) + 1) {
        const char *dir = (const char *)dirs.data + off;

        rc = str_format(key, sizeof(key), err, "%s/backup.start", dir);
        rc = rc == PITR_OK ? reseal(c, key, &records, err) : rc;
        rc = rc == PITR_OK ? str_format(key, sizeof(key), err, "%s/backup.info", dir) : rc;
        rc = rc == PITR_OK ? reseal(c, key, &records, err) : rc;
    }
    if (rc == PITR_OK) {
        rc = str_format(key, sizeof(key), err, "%s/drill/last", c->repo.cluster);
    }
    if (rc == PITR_OK) {
        rc = reseal(c, key, &records, err);
    }
    if (rc == PITR_OK) {
        /* catalog lines: rescanned from the WAL objects, which the key authenticates */
        rc = catalog_rebuild(&c->repo, &segments, err);
    }
    if (rc == PITR_OK) {
        repo_key_id_hex(c->repo.key, id);
        printf("cluster %s: %zu record(s) rewritten under key %s, catalog rebuilt from %zu WAL "
               "segments; archived WAL and backup data keep their format (pitr-catalog verify "
               "--all --wal counts the objects under each key)\n",
               c->repo.cluster, records, id, segments);
    }
    buf_fini(&dirs);
    return rc;
}

/* --- verify ---------------------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report_flush(void *arg, const char *line)
{
    (void)arg;
    printf("%s\n", line);
    fflush(stdout); /* a long run shows each problem when it is found */
}

/* Which keys the objects read are under, so the user knows when an old key can be retired. */
static void print_key_use(const struct ctx *c, const struct catalog_verify *r)
{
    char current[17];

    if (c->repo.key == NULL) {
        return; /* without a key there is nothing to retire */
    }
    repo_key_id_hex(c->repo.key, current);
    for (size_t i = 0; i < r->n_keys; i++) {
        const char *id = r->keys[i].key_id;

        printf("%zu object(s) %s%s%s\n", r->keys[i].objects, id[0] ? "under key " : "unencrypted",
               id,
               id[0] == '\0'              ? ""
               : strcmp(id, current) == 0 ? " (the current key)"
                                          : " (an old key: keep it until this is 0)");
    }
    if (r->unbound > 0) {
        printf("%zu object(s) written before objects were bound to their names\n", r->unbound);
    }
}

static enum pitr_rc cmd_verify(struct ctx *c, const char *id, struct pitr_err *err)
{
    struct backup_record *list = NULL;
    size_t n = 0;
    struct catalog_verify r;
    double t0 = now_s();
    char bytes[16];
    enum pitr_rc rc = backup_list_complete(&c->repo, &list, &n, err);

    if (rc == PITR_OK && id == NULL && !c->all) {
        if (n == 0) {
            rc = err_set(err, PITR_NOT_FOUND, "no complete backup to verify");
        } else {
            id = list[n - 1].id;
        }
    }
    if (rc == PITR_OK) {
        rc = catalog_verify_run(&c->repo, list, n, id, c->wal, report_flush, NULL, &r, err);
    }
    if (rc == PITR_OK) {
        str_human_bytes(r.bytes, bytes);
        snprintf(c->summary, sizeof(c->summary),
                 "verified %zu backup(s)%s%s: %zu objects, %s read, %zu WAL segments present (%zu "
                 "read) in %.1f s: %s",
                 r.backups, id ? " " : "", id ? id : "", r.objects, bytes, r.segments,
                 r.segments_read, now_s() - t0, r.problems == 0 ? "no problems" : "PROBLEMS FOUND");
        printf("%s\n", c->summary);
        print_key_use(c, &r);
        if (r.problems > 0) {
            rc = err_set(err, PITR_CORRUPT, "verify found %zu problem(s)", r.problems);
        }
    }
    backup_list_free(list, n);
    return rc;
}

/* --- metrics --------------------------------------------------------------------------------- */

/* One metric's HELP and TYPE lines (every metric pitr exports is a gauge). */
static enum pitr_rc metric_head(struct buf *o, const char *name, const char *help,
                                struct pitr_err *err)
{
    return buf_printf(o, err, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* A label value in the exposition format: backslash, quote and newline escaped. */
static enum pitr_rc label_value(struct buf *o, const char *v, struct pitr_err *err)
{
    enum pitr_rc rc = PITR_OK;

    for (const char *p = v; rc == PITR_OK && *p != '\0'; p++) {
        if (*p == '\\' || *p == '"') {
            rc = buf_printf(o, err, "\\%c", *p);
        } else if (*p == '\n') {
            rc = buf_printf(o, err, "\\n");
        } else {
            rc = buf_printf(o, err, "%c", *p);
        }
    }
    return rc;
}

/* Seconds with the microseconds of a µs timestamp. */
static enum pitr_rc seconds_us(struct buf *o, int64_t us, struct pitr_err *err)
{
    return buf_printf(o, err, "%s%" PRId64 ".%06" PRId64 "\n", us < 0 ? "-" : "",
                      (us < 0 ? -us : us) / 1000000, (us < 0 ? -us : us) % 1000000);
}

/* The newest complete backup of each type (list is oldest first): per-type gauges. */
static enum pitr_rc metrics_backups(struct buf *o, const struct backup_record *list, size_t n,
                                    struct pitr_err *err)
{
    static const char *const names[] = {
        "pitr_backup_last_success_timestamp_seconds",
        "pitr_backup_last_size_bytes",
        "pitr_backup_last_stored_size_bytes",
        "pitr_backup_last_duration_seconds",
    };
    static const char *const helps[] = {
        "When the newest complete backup of each type finished (its stop time).",
        "Content size of the newest complete backup of each type (tar archives and manifest).",
        "Bytes the newest complete backup of each type takes in the repository.",
        "How long the newest complete backup of each type took.",
    };
    enum pitr_rc rc = PITR_OK;

    for (size_t m = 0; rc == PITR_OK && m < sizeof(names) / sizeof(*names); m++) {
        rc = metric_head(o, names[m], helps[m], err);
        for (size_t i = n; rc == PITR_OK && i-- > 0;) {
            const struct backup_record *b = &list[i];
            bool newer = false;

            for (size_t j = i + 1; j < n; j++) {
                newer = newer || strcmp(list[j].type, b->type) == 0;
            }
            if (newer) {
                continue; /* a newer backup of this type was printed */
            }
            rc = buf_printf(o, err, "%s{type=\"", names[m]);
            rc = rc == PITR_OK ? label_value(o, b->type, err) : rc;
            if (rc != PITR_OK) {
                break;
            }
            switch (m) {
            case 0:
                rc = buf_printf(o, err, "\"} %" PRId64 "\n", b->stop_time);
                break;
            case 1:
                rc = buf_printf(o, err, "\"} %" PRIu64 "\n", b->raw_bytes);
                break;
            case 2:
                rc = buf_printf(o, err, "\"} %" PRIu64 "\n", b->stored_bytes);
                break;
            default:
                rc = buf_printf(o, err, "\"} %" PRIu64 ".%03" PRIu64 "\n", b->duration_ms / 1000,
                                b->duration_ms % 1000);
                break;
            }
        }
    }
    return rc;
}

/* The latest window of each timeline (windows are sorted by timeline, then time). */
static enum pitr_rc metrics_windows(struct buf *o, const struct catalog_windows *w,
                                    struct pitr_err *err)
{
    enum pitr_rc rc = PITR_OK;

    for (int edge = 0; rc == PITR_OK && edge < 2; edge++) {
        const char *name = edge == 0 ? "pitr_recovery_window_start_timestamp_seconds"
                                     : "pitr_recovery_window_end_timestamp_seconds";

        rc = metric_head(o, name,
                         edge == 0 ? "Earliest time the latest recoverable window of each timeline "
                                     "can restore to."
                                   : "Latest time the latest recoverable window of each timeline "
                                     "can restore to (its last archived commit).",
                         err);
        for (size_t i = 0; rc == PITR_OK && i < w->n; i++) {
            if (i + 1 < w->n && w->v[i + 1].tli == w->v[i].tli) {
                continue;
            }
            rc = buf_printf(o, err, "%s{timeline=\"%u\"} ", name, w->v[i].tli);
            rc = rc == PITR_OK ? seconds_us(o, edge == 0 ? w->v[i].from_us : w->v[i].to_us, err)
                               : rc;
        }
    }
    return rc;
}

/* Gaps per timeline: an alert can fire on any, whether or not a window still runs into it. */
static enum pitr_rc metrics_gaps(struct buf *o, const struct catalog_windows *w,
                                 struct pitr_err *err)
{
    enum pitr_rc rc = PITR_OK;

    if (w->n_tlis == 0) {
        return PITR_OK;
    }
    rc = metric_head(o, "pitr_wal_gaps",
                     w->verified
                         ? "Gaps in the WAL of each timeline after its oldest backup: segments "
                           "missing from the catalog, or missing from the repository or not "
                           "the size archived (checked with --verify). Recovery cannot pass one."
                         : "Gaps in the WAL of each timeline after its oldest backup: segments "
                           "missing from the catalog (run with --verify to check the repository "
                           "too). Recovery cannot pass one.",
                     err);
    for (size_t i = 0; rc == PITR_OK && i < w->n_tlis; i++) {
        rc = buf_printf(o, err, "pitr_wal_gaps{timeline=\"%u\"} %zu\n", w->tlis[i].tli,
                        w->tlis[i].gaps);
    }
    return rc;
}

struct drill_fields {
    int64_t time;
    bool has_time;
    bool passed;
    bool has_result;
};

static enum pitr_rc drill_field(void *arg, const char *key, const char *value, int line,
                                struct pitr_err *err)
{
    struct drill_fields *f = arg;
    uint64_t t = 0;

    (void)line;
    if (strcmp(key, "time_epoch") == 0) {
        f->has_time = str_parse_u64(value, "time_epoch", &t, err) == PITR_OK;
        f->time = (int64_t)t;
    } else if (strcmp(key, "result") == 0) {
        f->has_result = true;
        f->passed = strcmp(value, "pass") == 0;
    }
    return PITR_OK;
}

/* The last restore drill (pitr-restore --drill writes <cluster>/drill/last); nothing before the
 * first drill, so an alert on the timestamp's absence can tell "never ran" apart. */
static enum pitr_rc metrics_drill(struct ctx *c, struct buf *o, struct pitr_err *err)
{
    struct buf text;
    struct drill_fields f = {0, false, false, false};
    char *key = xasprintf("%s/drill/last", c->repo.cluster);
    enum pitr_rc rc;

    buf_init(&text, 64 * 1024);
    rc = repo_get_text(&c->repo, key, 64 * 1024, &text, err);
    if (rc == PITR_OK) {
        rc = config_parse_text(text.data ? (const char *)text.data : "", key, drill_field, &f, err);
    }
    if (rc == PITR_OK && (!f.has_time || !f.has_result)) {
        rc = err_set(err, PITR_CORRUPT, "%s lacks time_epoch or result", key);
    }
    if (rc == PITR_OK) {
        rc = metric_head(o, "pitr_drill_last_timestamp_seconds",
                         "When the last restore drill (pitr-restore --drill) ended.", err);
        rc = rc == PITR_OK
                 ? buf_printf(o, err, "pitr_drill_last_timestamp_seconds %" PRId64 "\n", f.time)
                 : rc;
        rc = rc == PITR_OK
                 ? metric_head(o, "pitr_drill_last_success",
                               "1 when the last restore drill passed, 0 when it failed.", err)
                 : rc;
        rc = rc == PITR_OK ? buf_printf(o, err, "pitr_drill_last_success %d\n", f.passed ? 1 : 0)
                           : rc;
    } else if (rc == PITR_NOT_FOUND) {
        rc = PITR_OK;
    }
    buf_fini(&text);
    free(key);
    return rc;
}

static enum pitr_rc cmd_metrics(struct ctx *c, struct pitr_err *err)
{
    struct backup_record *list = NULL;
    size_t n = 0;
    struct catalog_windows w = {NULL, 0, NULL, 0, 0, NULL, 0, false};
    struct catalog_seg last;
    bool archived = false;
    struct buf *o = &c->out;
    enum pitr_rc rc = backup_list_complete(&c->repo, &list, &n, err);

    if (rc == PITR_OK) {
        rc = catalog_windows_compute(&c->repo, list, n, c->verify, &w, err);
    }
    if (rc == PITR_OK) {
        rc = catalog_last_archived(&c->repo, &last, &archived, err);
    }
    if (rc == PITR_OK) {
        rc = metric_head(o, "pitr_up", "1 when pitr-catalog could read the repository.", err);
    }
    rc = rc == PITR_OK ? buf_printf(o, err, "pitr_up 1\n") : rc;
    rc = rc == PITR_OK ? metric_head(o, "pitr_backups_complete",
                                     "Complete base backups in the repository.", err)
                       : rc;
    rc = rc == PITR_OK ? buf_printf(o, err, "pitr_backups_complete %zu\n", n) : rc;
    rc = rc == PITR_OK ? metrics_backups(o, list, n, err) : rc;
    if (rc == PITR_OK && archived) {
        struct timespec now;

        clock_gettime(CLOCK_REALTIME, &now);
        rc = metric_head(o, "pitr_wal_last_archive_timestamp_seconds",
                         "When the most recently archived WAL segment was stored.", err);
        rc = rc == PITR_OK ? buf_printf(o, err, "pitr_wal_last_archive_timestamp_seconds ") : rc;
        rc = rc == PITR_OK ? seconds_us(o, last.archived_us, err) : rc;
        rc = rc == PITR_OK ? metric_head(o, "pitr_wal_last_archive_age_seconds",
                                         "Seconds since the most recently archived WAL segment "
                                         "was stored.",
                                         err)
                           : rc;
        rc = rc == PITR_OK ? buf_printf(o, err, "pitr_wal_last_archive_age_seconds ") : rc;
        rc = rc == PITR_OK
                 ? seconds_us(o,
                              (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000 - last.archived_us,
                              err)
                 : rc;
    }
    rc = rc == PITR_OK ? metrics_windows(o, &w, err) : rc;
    rc = rc == PITR_OK ? metrics_gaps(o, &w, err) : rc;
    rc = rc == PITR_OK ? metrics_drill(c, o, err) : rc;
    catalog_windows_fini(&w);
    backup_list_free(list, n);
    return rc;
}

/* --- expire -------------------------------------------------------------------------------- */

static enum pitr_rc cmd_expire(struct ctx *c, struct pitr_err *err)
{
    const struct config *cfg = c->cfg;
    struct catalog_retention p = {cfg->retention_daily,   cfg->retention_weekly,
                                  cfg->retention_monthly, cfg->retention_pre_migration,
                                  cfg->retention_manual,  cfg->retention_min_full};
    struct catalog_expire r;
    char bytes[16];
    enum pitr_rc rc = catalog_expire_run(&c->repo, &p, (int64_t)time(NULL), c->dry_run,
                                         report_flush, NULL, &r, err);

    if (rc != PITR_OK) {
        return rc;
    }
    str_human_bytes(r.bytes, bytes);
    snprintf(c->summary, sizeof(c->summary),
             "%s %zu backup(s), %zu WAL segment(s) and %zu other WAL file(s): %s; kept %zu "
             "backup(s)",
             c->dry_run ? "dry run, nothing removed: would expire" : "expired",
             r.backups + r.leftovers, r.segments, r.wal_files, bytes, r.kept);
    printf("%s", c->summary);
    if (r.wal_kept) {
        printf(", and all WAL (a backup in progress may need it)\n");
    } else if (r.first_kept[0] != '\0') {
        printf(", WAL from %s on\n", r.first_kept);
    } else {
        printf("\n");
    }
    return PITR_OK;
}

static enum pitr_rc run(struct ctx *c, const char *cmd, const char *arg, struct pitr_err *err)
{
    enum pitr_rc rc;

    rc = repo_session_open(c->cfg, NULL, &c->repo, err);
    if (rc == PITR_OK && c->repo.legacy_info && strcmp(cmd, "upgrade") != 0) {
        rc = repo_require_cluster(&c->repo, err); /* says to run upgrade, or what is wrong */
    }
    if (rc != PITR_OK) {
        return rc;
    }
    if (strcmp(cmd, "upgrade") == 0) {
        rc = cmd_upgrade(c, err);
    } else if (strcmp(cmd, "list") == 0) {
        rc = cmd_list(c, err);
    } else if (strcmp(cmd, "show") == 0) {
        rc = cmd_show(c, arg, err);
    } else if (strcmp(cmd, "windows") == 0) {
        rc = cmd_windows(c, err);
    } else if (strcmp(cmd, "check") == 0) {
        rc = cmd_check(c, err);
    } else if (strcmp(cmd, "verify") == 0) {
        rc = cmd_verify(c, arg, err);
    } else if (strcmp(cmd, "metrics") == 0) {
        rc = cmd_metrics(c, err);
    } else if (strcmp(cmd, "expire") == 0) {
        rc = cmd_expire(c, err);
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
        {"all", no_argument, NULL, 'a'},
        {"wal", no_argument, NULL, 'w'},
        {"dry-run", no_argument, NULL, 'n'},
        {"verify", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    static const char *const commands[] = {"list",   "show",    "windows", "check",  "rebuild",
                                           "verify", "metrics", "expire",  "upgrade"};
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
        case 'a':
            c.all = true;
            break;
        case 'w':
            c.wal = true;
            break;
        case 'n':
            c.dry_run = true;
            break;
        case 'v':
            c.verify = true;
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
    if (!known ||
        (strcmp(cmd, "verify") == 0 ? argc - optind > (c.all ? 1 : 2)
                                    : argc - optind != (strcmp(cmd, "show") == 0 ? 2 : 1))) {
        fprintf(stderr,
                "pitr-catalog: expected one of list, show ID, windows, check, rebuild, "
                "verify [ID|--all], metrics, expire [--dry-run]\n%s",
                usage);
        return 1;
    }
    if (cli_load_config(&cli, &cfg, &err) != PITR_OK) {
        return 1;
    }
    c.cfg = &cfg;
    buf_init(&c.out, 256 * 1024 * 1024);
    status = run(&c, cmd, optind + 1 < argc ? argv[optind + 1] : NULL, &err) == PITR_OK ? 0 : 1;
    if (status != 0) {
        log_error("%s", err.msg);
    }
    if (strcmp(cmd, "verify") == 0 || (strcmp(cmd, "expire") == 0 && !c.dry_run)) {
        struct notify_event ev = {
            strcmp(cmd, "verify") == 0 ? "pitr-catalog verify" : "pitr-catalog expire", status == 0,
            c.repo.cluster, NULL, status == 0 ? c.summary : err.msg};

        notify_send(&cfg, &ev); /* advisory: never changes the exit status */
    }
    if (status != 0 && strcmp(cmd, "metrics") == 0) {
        /* still valid exposition text, so a scrape shows the failure rather than old values */
        printf("# HELP pitr_up 1 when pitr-catalog could read the repository.\n"
               "# TYPE pitr_up gauge\npitr_up 0\n");
    }
    buf_fini(&c.out);
    repo_session_close(&c.repo);
    config_fini(&cfg);
    return status;
}

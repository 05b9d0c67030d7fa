/* catalog_gen: writes a synthetic repository for bench/catalog_bench.sh: one cluster whose
 * timeline 1 has `segments` archived 16 MiB segments, one a minute, described only by the
 * catalog's merged .cat files (written with the catalog's own formatting code, so the format
 * cannot drift), one restore point per WAL folder, a cluster.info, `backups` base backup records
 * spread over the WAL, and for each backup the WAL objects of its start..stop segments (small
 * objects in the object format: pitr-restore --dry-run only stats them). Not a test: it prints
 * the times a benchmark can ask for.
 *   catalog_gen REPO_DIR CLUSTER SEGMENTS BACKUPS */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/strutil.h"
#include "catalog/catalog.h"
#include "crypto/key.h"
#include "pg/wal.h"
#include "repo/backup.h"
#include "repo/repo.h"
#include "storage/storage.h"

enum { SEG_SIZE = 16u << 20, PER_FOLDER = 256, HEADER_LEN = 15 };

static const int64_t T0 = 1704067200; /* 2024-01-01 00:00:00 UTC: segment 0 */

/* Segment segno is written during minute segno: transactions all through it. */
static struct catalog_seg seg_of(uint64_t segno)
{
    struct catalog_seg g;
    int64_t start = (T0 + (int64_t)segno * 60) * 1000000;

    memset(&g, 0, sizeof(g));
    g.tli = 1;
    g.segno = segno;
    g.seg_size = SEG_SIZE;
    g.archived_us = start + 60500000;
    g.xacts = 1000;
    g.first_xact_us = start + 1000;
    g.last_xact_us = start + 59990000;
    return g;
}

/* One folder's merged file: the header, then each entry without its own header. */
static enum pitr_rc write_folder(const struct repo_session *repo, uint64_t log, uint64_t segments,
                                 struct pitr_err *err)
{
    struct buf text;
    struct buf entry;
    char key[256];
    char folder[25];
    enum pitr_rc rc;

    buf_init(&text, 64u << 20);
    buf_init(&entry, 1u << 20);
    wal_segment_name(1, log * PER_FOLDER, SEG_SIZE, folder);
    rc = str_format(key, sizeof(key), err, "%s/catalog/wal/%.16s.cat", repo->cluster, folder);
    if (rc == PITR_OK) {
        rc = buf_append(&text, "pitr-catalog 1\n", HEADER_LEN, err);
    }
    for (uint64_t segno = log * PER_FOLDER; rc == PITR_OK && segno < (log + 1) * PER_FOLDER;
         segno++) {
        struct catalog_seg g = seg_of(segno);
        struct catalog_rp rp;
        size_t n_rps = 0;

        if (segno == 0 || segno > segments) {
            continue; /* PostgreSQL's first segment is 1 */
        }
        if (segno % PER_FOLDER == PER_FOLDER / 2) {
            memset(&rp, 0, sizeof(rp));
            rp.tli = 1;
            rp.lsn = segno * SEG_SIZE + 0x1234;
            rp.time_us = g.first_xact_us + 30000000;
            snprintf(rp.name, sizeof(rp.name), "daily %" PRIu64, log);
            n_rps = 1;
        }
        buf_reset(&entry);
        rc = catalog_entry_format(&g, &rp, n_rps, repo, &entry, err);
        if (rc == PITR_OK) {
            rc = buf_append(&text, entry.data + HEADER_LEN, entry.len - HEADER_LEN, err);
        }
    }
    if (rc == PITR_OK) {
        rc = storage_put(repo->storage, key, NULL, text.data, text.len, err);
    }
    buf_fini(&entry);
    buf_fini(&text);
    return rc;
}

/* A backup of segments segno (start) and segno + 1 (stop), with its WAL objects. */
static enum pitr_rc write_backup(const struct repo_session *repo, uint64_t segno,
                                 struct pitr_err *err)
{
    struct backup_record r;
    struct buf text;
    char key[256];
    time_t start = (time_t)(T0 + (int64_t)segno * 60 + 10);
    struct tm tm;
    enum pitr_rc rc = PITR_OK;

    memset(&r, 0, sizeof(r));
    gmtime_r(&start, &tm);
    strftime(r.id, sizeof(r.id), "%Y%m%dT%H%M%SZ", &tm);
    memcpy(r.type, "daily", 6);
    memcpy(r.status, "complete", 9);
    memcpy(r.host, "bench", 6);
    r.pid = 1;
    r.sysid = 7441234567890123456ull;
    r.pg_version_num = 150018;
    r.timeline = 1;
    r.start_lsn = segno * SEG_SIZE + 0x28;
    r.stop_lsn = (segno + 1) * SEG_SIZE + 0x100;
    r.start_time = start;
    r.stop_time = start + 60;
    r.wal_seg_size = SEG_SIZE;
    memcpy(r.compression, "lz4", 4);
    memcpy(r.compressed_by, "client", 7);
    r.raw_bytes = 1u << 30;
    r.stored_bytes = 1u << 28;
    r.duration_ms = 60000;
    buf_init(&text, BACKUP_RECORD_MAX);
    rc = backup_record_format(&r, &text, err);
    if (rc == PITR_OK) {
        rc = backup_key(repo->cluster, r.id, "backup.info", key, sizeof(key), err);
    }
    if (rc == PITR_OK) {
        rc = repo_put_text(repo, key, (const char *)text.data, true, err);
    }
    for (uint64_t n = segno; rc == PITR_OK && n <= segno + 1; n++) {
        char name[25];
        struct wal_file f;

        wal_segment_name(1, n, SEG_SIZE, name);
        rc = wal_parse_name(name, &f, err);
        if (rc == PITR_OK) {
            rc = repo_wal_key(repo->cluster, name, &f, key, sizeof(key), err);
        }
        if (rc == PITR_OK) {
            rc =
                repo_put_text(repo, key, "a stand-in: --dry-run only stats WAL objects", true, err);
        }
    }
    buf_fini(&text);
    backup_record_fini(&r);
    return rc;
}

static void print_time(const char *what, uint64_t segno)
{
    char t[CATALOG_TIME_LEN];

    catalog_time_format((T0 + (int64_t)segno * 60 + 30) * 1000000, t);
    printf("%s %s\n", what, t);
}

int main(int argc, char **argv)
{
    struct storage *s;
    struct repo_session repo;
    struct posix_params params = {NULL, false};
    struct cluster_info info = {7441234567890123456ull, 150018, ""};
    struct pitr_err err;
    uint64_t segments;
    uint64_t backups;
    enum pitr_rc rc;

    if ((argc != 5 && argc != 6) ||
        str_parse_u64(argv[3], "SEGMENTS", &segments, &err) != PITR_OK ||
        str_parse_u64(argv[4], "BACKUPS", &backups, &err) != PITR_OK || segments < 16 ||
        backups < 1) {
        fprintf(stderr,
                "usage: catalog_gen REPO_DIR CLUSTER SEGMENTS(>=16) BACKUPS(>=1) [KEY_FILE]\n");
        return 2;
    }
    params.dir = argv[1];
    s = posix_storage_new(&params, &err);
    if (s == NULL) {
        fprintf(stderr, "catalog_gen: %s\n", err.msg);
        return 1;
    }
    memset(&repo, 0, sizeof(repo));
    repo.storage = s;
    repo.cluster = argv[2];
    rc = PITR_OK;
    if (argc == 6) {
        /* a keyed repository: records encrypted, catalog lines with MACs, as pitr writes them */
        repo.key = key_load_file(argv[5], &err);
        rc = repo.key == NULL ? err.rc : PITR_OK;
        repo_key_id_hex(repo.key, info.key_id);
    }
    if (rc == PITR_OK) {
        rc = repo_cluster_bind(&repo, &info, &err);
    }
    for (uint64_t log = 0; rc == PITR_OK && log <= segments / PER_FOLDER; log++) {
        rc = write_folder(&repo, log, segments, &err);
    }
    /* backups at even steps, the last one 1000 segments before the end */
    for (uint64_t i = 0; rc == PITR_OK && i < backups; i++) {
        uint64_t segno = 8 + (segments - 1008) * i / (backups > 1 ? backups - 1 : 1);

        rc = write_backup(&repo, segno, &err);
        if (rc == PITR_OK) {
            printf("backup_segno %" PRIu64 "\n", segno);
        }
    }
    if (rc == PITR_OK) {
        print_time("time_end", segments - 10);
        print_time("time_middle", segments / 2 + segments / 10);
    }
    storage_free(s);
    key_free(repo.key);
    if (rc != PITR_OK) {
        fprintf(stderr, "catalog_gen: %s\n", err.msg);
        return 1;
    }
    return 0;
}

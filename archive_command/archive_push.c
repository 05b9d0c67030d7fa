/* archive_push: binds the repository to this cluster, checks the file is what its name says,
 * streams it through checksum -> compression -> (encryption) into a create-only object, and
 * treats an existing object as success only when its content is byte-identical. */
#include "archive_push.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/strutil.h"
#include "base/xalloc.h"
#include "catalog/catalog.h"
#include "crypto/key.h"
#include "crypto/sha256.h"
#include "object/object.h"
#include "pg/control.h"
#include "pg/wal.h"
#include "pg/walscan.h"
#include "repo/repo.h"
#include "storage/storage.h"

enum { PUSH_CHUNK = 256 * 1024, PUSH_WINDOW = 1024 * 1024 };

struct push {
    const struct config *cfg;
    const char *wal_path;
    const char *wal_name;
    struct wal_file file;
    struct pg_ident ident;
    struct repo_session repo;
    char object_key[1024];
    int fd;
    uint64_t size;
    uint8_t *chunk;
    struct walscan *scan; /* segments only: commit times and restore points for the catalog */
    bool scan_failed;     /* the scan could not read the segment: no catalog entry */
};

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static enum pitr_rc open_wal(struct push *p, struct pitr_err *err)
{
    struct stat st;

    p->fd = open(p->wal_path, O_RDONLY | O_CLOEXEC);
    if (p->fd < 0) {
        return err_sys(err, errno == ENOENT ? PITR_NOT_FOUND : PITR_IO, "could not open \"%s\"",
                       p->wal_path);
    }
    if (fstat(p->fd, &st) != 0) {
        return err_sys(err, PITR_IO, "could not stat \"%s\"", p->wal_path);
    }
    if (!S_ISREG(st.st_mode)) {
        return err_set(err, PITR_CONFIG, "\"%s\" is not a regular file", p->wal_path);
    }
    p->size = (uint64_t)st.st_size;
    (void)posix_fadvise(p->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    return PITR_OK;
}

/* A segment must be the size its own header declares, belong to this cluster, and start at the
 * address its name says: this catches a truncated copy or a file from another cluster before it
 * can poison the archive. */
static enum pitr_rc check_segment(const struct push *p, const uint8_t *head, size_t len,
                                  struct pitr_err *err)
{
    struct wal_long_header h;
    uint64_t expect_addr;

    if (p->file.kind != WAL_FILE_SEGMENT && p->file.kind != WAL_FILE_PARTIAL) {
        return PITR_OK;
    }
    if (wal_long_header_parse(head, len, &h, err) != PITR_OK) {
        return err_prefix(err, "refusing to archive \"%s\"", p->wal_path);
    }
    if (!wal_seg_size_valid(h.seg_size) || h.seg_size != p->size) {
        return err_set(err, PITR_CORRUPT,
                       "refusing to archive \"%s\": it is %" PRIu64
                       " bytes but its header says segments are %u bytes",
                       p->wal_path, p->size, (unsigned)h.seg_size);
    }
    if (h.sysid != p->ident.sysid) {
        return err_set(err, PITR_CONFIG,
                       "refusing to archive \"%s\": it belongs to database system %" PRIu64
                       ", not to this cluster (%" PRIu64 ")",
                       p->wal_path, h.sysid, p->ident.sysid);
    }
    expect_addr = wal_segno(&p->file, h.seg_size) * h.seg_size;
    if (h.pageaddr != expect_addr) {
        return err_set(err, PITR_CORRUPT,
                       "refusing to archive \"%s\": its first page is for another segment",
                       p->wal_path);
    }
    return PITR_OK;
}

/* The scan only indexes the segment for the catalog: if it cannot read it, the segment is still
 * archived (it passed check_segment), and the restore planner falls back to the WAL object. */
static void feed_scan(struct push *p, const uint8_t *data, size_t len)
{
    struct pitr_err err;

    if (p->scan != NULL && !p->scan_failed && walscan_feed(p->scan, data, len, &err) != PITR_OK) {
        log_warn("\"%s\" could not be scanned for commit times, it gets no catalog entry: %s",
                 p->wal_name, err.msg);
        p->scan_failed = true;
    }
}

/* Feeds the file through read-only mappings of PUSH_WINDOW bytes, each unmapped once written:
 * no copy out of the page cache, and no more than one window resident at a time. */
static enum pitr_rc stream_mapped(struct push *p, struct object_writer *w, struct pitr_err *err)
{
    enum pitr_rc rc = PITR_OK;

    for (uint64_t off = 0; off < p->size && rc == PITR_OK; off += PUSH_WINDOW) {
        size_t len = p->size - off < PUSH_WINDOW ? (size_t)(p->size - off) : PUSH_WINDOW;
        uint8_t *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, p->fd, (off_t)off);

        if (map == MAP_FAILED) {
            return err_sys(err, PITR_IO, "could not map \"%s\"", p->wal_path);
        }
        if (off == 0) {
            rc = check_segment(p, map, len, err);
        }
        if (rc == PITR_OK) {
            feed_scan(p, map, len);
            rc = object_writer_write(w, map, len, err);
        }
        munmap(map, len);
    }
    return rc;
}

/* Streams the local file into w; the first chunk is checked before anything is written. */
static enum pitr_rc stream_file(struct push *p, struct object_writer *w, struct pitr_err *err)
{
    bool first = true;

    if (p->size > 0) {
        return stream_mapped(p, w, err);
    }
    for (;;) {
        size_t got = 0;
        enum pitr_rc rc = fs_read_full(p->fd, p->chunk, PUSH_CHUNK, &got, p->wal_path, err);

        if (rc != PITR_OK) {
            return rc;
        }
        if (first) {
            rc = check_segment(p, p->chunk, got, err);
            if (rc != PITR_OK) {
                return rc;
            }
            first = false;
        }
        if (got == 0) {
            return PITR_OK;
        }
        feed_scan(p, p->chunk, got);
        rc = object_writer_write(w, p->chunk, got, err);
        if (rc != PITR_OK) {
            return rc;
        }
    }
}

static enum pitr_rc hash_local(struct push *p, uint8_t out[32], struct pitr_err *err)
{
    struct pipeline *pl = pipeline_new(discard_sink_new());
    struct filter *sha = sha256_filter_new();
    enum pitr_rc rc = PITR_OK;

    pipeline_add(pl, sha);
    if (lseek(p->fd, 0, SEEK_SET) < 0) {
        rc = err_sys(err, PITR_IO, "could not seek \"%s\"", p->wal_path);
    }
    while (rc == PITR_OK) {
        size_t got = 0;

        rc = fs_read_full(p->fd, p->chunk, PUSH_CHUNK, &got, p->wal_path, err);
        if (rc != PITR_OK || got == 0) {
            break;
        }
        rc = pipeline_write(pl, p->chunk, got, err);
    }
    if (rc == PITR_OK) {
        rc = pipeline_finish(pl, err);
    }
    if (rc == PITR_OK) {
        sha256_filter_digest(sha, out);
    }
    pipeline_free(pl);
    return rc;
}

/* The object already exists: succeed only if it decodes cleanly to exactly our bytes, and then
 * report its size in *stored. Never overwrite it, whatever it holds: it may be the only copy of
 * that WAL. */
static enum pitr_rc compare_existing(struct push *p, uint64_t *stored, struct pitr_err *err)
{
    struct filter *sink = discard_sink_new();
    struct filter *reader = object_reader_new(sink, p->repo.key, p->repo.info.sysid, p->object_key);
    struct object_summary theirs;
    uint8_t mine[32];
    char hex_mine[65];
    char hex_theirs[65];
    enum pitr_rc rc = storage_read(p->repo.storage, p->object_key, reader, err);

    if (rc != PITR_OK) {
        err_prefix(err, "\"%s\" is already archived but could not be verified", p->wal_name);
    } else {
        object_reader_summary(reader, &theirs);
        rc = hash_local(p, mine, err);
    }
    if (rc == PITR_OK && (theirs.raw_size != p->size || memcmp(theirs.sha256, mine, 32) != 0)) {
        str_hex_encode(mine, 32, hex_mine);
        str_hex_encode(theirs.sha256, 32, hex_theirs);
        rc = err_set(err, PITR_EXISTS,
                     "\"%s\" is already archived with DIFFERENT content (repository: %" PRIu64
                     " bytes, sha256 %.16s...; local: %" PRIu64
                     " bytes, sha256 %.16s...): refusing to overwrite; another cluster may be "
                     "archiving into this repository, or this is a diverged timeline",
                     p->wal_name, theirs.raw_size, hex_theirs, p->size, hex_mine);
    }
    if (rc == PITR_OK) {
        *stored = theirs.stored_size;
    }
    filter_free(reader);
    filter_free(sink);
    return rc;
}

static enum pitr_rc upload(struct push *p, struct object_summary *sum, struct pitr_err *err)
{
    /* hashing on the second core pays for itself above a megabyte (every WAL segment) */
    struct object_opts opts = {.compression = OBJECT_COMPRESS_LZ4,
                               .key = p->repo.key,
                               .parallel = p->size >= 1024 * 1024,
                               .name = p->object_key,
                               .sysid = p->repo.info.sysid};
    struct write_opts wopts = {true, p->size};
    struct object_writer *w = NULL;
    struct filter *sink = NULL;
    enum pitr_rc rc;

    rc = object_compression_parse(p->cfg->compression, &opts.compression, &opts.level, err);
    if (rc == PITR_OK) {
        /* create-only: the storage refuses to replace an object that appeared meanwhile */
        rc = storage_write_open(p->repo.storage, p->object_key, &wopts, &sink, err);
    }
    if (rc == PITR_OK) {
        w = object_writer_new(sink, &opts, err);
        sink = NULL;
        rc = w == NULL ? err->rc : stream_file(p, w, err);
    }
    if (rc == PITR_OK) {
        rc = object_writer_finish(w, sum, err);
    }
    object_writer_free(w);
    filter_free(sink);
    return rc;
}

/* Records the archived segment, stored as an object of `stored` bytes, in the catalog, and
 * merges its folder's entries once the folder is full. A failed entry fails the archive
 * (PostgreSQL retries, and the identical re-archive writes it), so the catalog never silently
 * lacks a segment; a failed merge only costs readers a listing, so it is a warning. */
static enum pitr_rc record_in_catalog(struct push *p, uint64_t stored, struct pitr_err *err)
{
    struct walscan_result r;
    struct catalog_seg seg;
    struct catalog_rp rps[WALSCAN_MAX_RESTORE_POINTS];
    struct timespec now;
    size_t n_rps;
    enum pitr_rc rc;

    if (p->scan == NULL || p->scan_failed) {
        return PITR_OK;
    }
    if (walscan_finish(p->scan, &r, err) != PITR_OK) {
        log_warn("\"%s\" could not be scanned for commit times, it gets no catalog entry: %s",
                 p->wal_name, err->msg);
        return PITR_OK;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    n_rps = catalog_seg_from_scan(&r, p->file.tli, wal_segno(&p->file, r.seg_size),
                                  (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000, &seg, rps);
    /* what a restore plan compares a listing of the folder with: a truncated or replaced object
     * is found before a restore relies on it */
    seg.stored_size = stored;
    if (r.restore_points_dropped > 0) {
        log_warn("\"%s\" holds more than %d restore points: the catalog lists the first %d",
                 p->wal_name, WALSCAN_MAX_RESTORE_POINTS, WALSCAN_MAX_RESTORE_POINTS);
    }
    rc = catalog_record_segment(&p->repo, &seg, rps, n_rps, err);
    if (rc != PITR_OK) {
        return err_prefix(err, "could not record \"%s\" in the catalog", p->wal_name);
    }
    if ((seg.segno + 1) % wal_segs_per_log(seg.seg_size) == 0) {
        struct pitr_err merge_err;

        if (catalog_merge_folder(&p->repo, seg.tli, seg.segno, seg.seg_size, &merge_err) !=
            PITR_OK) {
            log_warn("could not merge the catalog folder of \"%s\": %s", p->wal_name,
                     merge_err.msg);
        }
    }
    return PITR_OK;
}

static enum pitr_rc setup(struct push *p, struct pitr_err *err)
{
    const char *pgdata = p->cfg->pgdata ? p->cfg->pgdata : ".";
    struct cluster_info mine;
    enum pitr_rc rc = wal_parse_name(p->wal_name, &p->file, err);

    if (rc != PITR_OK) {
        return rc;
    }
    rc = pg_ident_read(pgdata, &p->ident, err);
    if (rc == PITR_NOT_FOUND) {
        return err_set(err, PITR_CONFIG,
                       "\"%s\" is not a PostgreSQL data directory: run pitr-archive as "
                       "archive_command (PostgreSQL starts it in the data directory) or set pgdata",
                       pgdata);
    }
    if (rc != PITR_OK) {
        return rc;
    }
    rc = repo_session_open(p->cfg, &p->ident, &p->repo, err);
    if (rc == PITR_OK) {
        rc = repo_wal_key(p->repo.cluster, p->wal_name, &p->file, p->object_key,
                          sizeof(p->object_key), err);
    }
    if (rc == PITR_OK && p->file.kind == WAL_FILE_SEGMENT) {
        p->scan = walscan_new(p->wal_name, err);
        rc = p->scan == NULL ? err->rc : PITR_OK;
    }
    if (rc == PITR_OK) {
        mine.sysid = p->ident.sysid;
        mine.pg_version = p->ident.major_version;
        repo_key_id_hex(p->repo.key, mine.key_id);
        rc = repo_cluster_bind(&p->repo, &mine, err);
    }
    return rc;
}

enum pitr_rc archive_push(const struct config *cfg, const char *wal_path, const char *wal_name,
                          struct pitr_err *err)
{
    struct push p;
    struct object_summary sum;
    uint64_t stored = 0;
    double start = now_ms();
    enum pitr_rc rc;

    memset(&p, 0, sizeof(p));
    memset(&sum, 0, sizeof(sum));
    p.cfg = cfg;
    p.wal_path = wal_path;
    p.wal_name = wal_name;
    p.fd = -1;
    rc = setup(&p, err);
    if (rc == PITR_OK) {
        rc = open_wal(&p, err);
    }
    if (rc == PITR_OK) {
        p.chunk = xmalloc(PUSH_CHUNK);
        rc = upload(&p, &sum, err);
        stored = sum.stored_size;
        if (rc == PITR_EXISTS) {
            rc = compare_existing(&p, &stored, err);
            if (rc == PITR_OK) {
                log_info("\"%s\" was already archived with identical content", wal_name);
            }
        }
        if (rc == PITR_OK) {
            rc = record_in_catalog(&p, stored, err);
        }
        if (rc == PITR_OK && sum.stored_size > 0) {
            log_info("archived \"%s\" (%" PRIu64 " -> %" PRIu64 " bytes, %s%s) in %.0f ms",
                     wal_name, sum.raw_size, sum.stored_size, cfg->compression,
                     p.repo.key ? ", encrypted" : "", now_ms() - start);
        }
    }
    if (rc != PITR_OK) {
        err_prefix(err, "could not archive \"%s\"", wal_name);
    }
    if (p.fd >= 0) {
        close(p.fd);
    }
    free(p.chunk);
    walscan_free(p.scan);
    repo_session_close(&p.repo);
    return rc;
}

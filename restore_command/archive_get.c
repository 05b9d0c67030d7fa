/* archive_get: decrypts, decompresses and verifies an archived file into a temp file next to
 * %p, checks that a WAL segment is the one its name says, then renames it into place. "Not
 * found" is reported only when the repository is reachable and this cluster is known in it: a
 * mistyped repo or cluster must stop recovery, not end it. */
#include "archive_get.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "object/object.h"
#include "pg/control.h"
#include "pg/wal.h"
#include "repo/repo.h"
#include "storage/storage.h"

struct get {
    const struct config *cfg;
    const char *wal_name;
    const char *dest_path;
    struct wal_file file;
    struct repo_session repo;
    char object_key[1024];
};

static enum pitr_rc setup(struct get *g, struct pitr_err *err)
{
    const char *pgdata = g->cfg->pgdata ? g->cfg->pgdata : ".";
    struct pg_ident ident;
    bool have_ident;
    enum pitr_rc rc = wal_parse_name(g->wal_name, &g->file, err);

    if (rc != PITR_OK) {
        return rc;
    }
    rc = pg_ident_read(pgdata, &ident, err);
    if (rc != PITR_OK && rc != PITR_NOT_FOUND) {
        return rc;
    }
    have_ident = rc == PITR_OK;
    rc = repo_session_open(g->cfg, have_ident ? &ident : NULL, &g->repo, err);
    if (rc == PITR_NOT_FOUND) {
        char msg[sizeof(err->msg)];

        memcpy(msg, err->msg, sizeof(msg)); /* err_set must not read the buffer it writes */
        return err_set(err, PITR_CONFIG, "%s: check the repo setting", msg);
    }
    if (rc == PITR_OK) {
        rc = repo_require_cluster(&g->repo, err);
    }
    if (rc == PITR_OK && have_ident && g->repo.info.sysid != ident.sysid) {
        return err_set(err, PITR_CONFIG,
                       "repository cluster \"%s\" belongs to database system %" PRIu64
                       ", but this data directory is %" PRIu64 ": refusing to replay its WAL",
                       g->repo.cluster, g->repo.info.sysid, ident.sysid);
    }
    if (rc == PITR_OK) {
        rc = repo_wal_key(g->repo.cluster, g->wal_name, &g->file, g->object_key,
                          sizeof(g->object_key), err);
    }
    return rc;
}

/* A fetched segment must be the one its name asks for: its first page's address, timeline (the
 * name's or, for the first segment of a timeline, an ancestor's) and system identifier. Without a
 * key, anyone who can write to the repository can put any bytes there; with one, this is what
 * still stands for objects written before they were bound to their names. */
static enum pitr_rc check_segment(const struct get *g, int fd, const char *path,
                                  struct pitr_err *err)
{
    uint8_t page[WAL_LONG_HEADER_LEN];
    struct wal_long_header h;
    struct stat st;
    ssize_t got;

    if (g->file.kind != WAL_FILE_SEGMENT && g->file.kind != WAL_FILE_PARTIAL) {
        return PITR_OK;
    }
    if (fstat(fd, &st) != 0) {
        return err_sys(err, PITR_IO, "could not stat \"%s\"", path);
    }
    got = pread(fd, page, sizeof(page), 0);
    if (got < 0) {
        return err_sys(err, PITR_IO, "could not read \"%s\"", path);
    }
    if (wal_long_header_parse(page, (size_t)got, &h, err) != PITR_OK) {
        return err_prefix(err, "the archived \"%s\" is not a WAL segment", g->wal_name);
    }
    /* data-loss guard: PostgreSQL takes a page with the wrong address as the end of WAL and
     * promotes early, so a segment that is not the one asked for must stop recovery here */
    if (!wal_seg_size_valid(h.seg_size) || (uint64_t)st.st_size != h.seg_size ||
        h.pageaddr != wal_segno(&g->file, h.seg_size) * h.seg_size || h.tli == 0 ||
        h.tli > g->file.tli) {
        return err_set(err, PITR_CORRUPT,
                       "the archived \"%s\" holds another segment (its first page is for "
                       "timeline %" PRIu32 ", address %" PRIX64 ", %" PRIu32
                       "-byte segments): the repository object was replaced or moved",
                       g->wal_name, h.tli, h.pageaddr, h.seg_size);
    }
    if (h.sysid != g->repo.info.sysid) {
        return err_set(err, PITR_CORRUPT,
                       "the archived \"%s\" belongs to database system %" PRIu64
                       ", not to cluster \"%s\" (%" PRIu64 ")",
                       g->wal_name, h.sysid, g->repo.cluster, g->repo.info.sysid);
    }
    return PITR_OK;
}

/* One attempt: object -> verified plain bytes -> temp file -> checked -> rename over dest. */
static enum pitr_rc fetch_once(struct get *g, struct pitr_err *err)
{
    char *tmp = xasprintf("%s.pitr-tmp", g->dest_path);
    struct filter *sink = NULL;
    struct filter *reader = NULL;
    enum pitr_rc rc = PITR_OK;
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);

    if (fd < 0) {
        rc = err_sys(err, PITR_IO, "could not create \"%s\"", tmp);
        goto done;
    }
    sink = fd_sink_new(fd, tmp);
    reader = object_reader_new(sink, g->repo.key, g->repo.info.sysid, g->object_key);
    rc = storage_read(g->repo.storage, g->object_key, reader, err);
    if (rc == PITR_OK) {
        rc = check_segment(g, fd, tmp, err);
    }
    if (rc == PITR_OK && close(fd) != 0) {
        rc = err_sys(err, PITR_IO, "could not close \"%s\"", tmp);
    }
    fd = -1;
    /* No fsync: PostgreSQL reads the file at once and fetches it again after a crash. The rename
     * is what matters: %p never names a partially written or unverified file. */
    if (rc == PITR_OK && rename(tmp, g->dest_path) != 0) {
        rc = err_sys(err, PITR_IO, "could not rename \"%s\" to \"%s\"", tmp, g->dest_path);
    }
done:
    if (fd >= 0) {
        close(fd);
    }
    if (rc != PITR_OK) {
        (void)unlink(tmp);
    }
    filter_free(reader);
    filter_free(sink);
    free(tmp);
    return rc;
}

static bool retryable(enum pitr_rc rc)
{
    /* Not found and configuration errors are answers; anything else may be passing (a full
     * disk being cleaned, a repository mount coming back). */
    return rc != PITR_NOT_FOUND && rc != PITR_CONFIG;
}

enum pitr_rc archive_get(const struct config *cfg, const char *wal_name, const char *dest_path,
                         struct pitr_err *err)
{
    struct get g;
    enum pitr_rc rc;

    memset(&g, 0, sizeof(g));
    g.cfg = cfg;
    g.wal_name = wal_name;
    g.dest_path = dest_path;
    rc = setup(&g, err);
    for (unsigned attempt = 1; rc == PITR_OK; attempt++) {
        rc = fetch_once(&g, err);
        if (rc == PITR_OK || !retryable(rc) || attempt >= cfg->fetch_max_attempts) {
            if (rc != PITR_OK && retryable(rc)) {
                err_prefix(err, "failed %u times", attempt);
            }
            break;
        }
        log_warn("attempt %u of %" PRIu64 " to fetch \"%s\" failed, retrying: %s", attempt,
                 cfg->fetch_max_attempts, wal_name, err->msg);
        nanosleep(&(struct timespec){0, 500000000L * (long)attempt}, NULL);
        rc = PITR_OK;
    }
    if (rc == PITR_OK) {
        log_info("restored \"%s\"", wal_name);
    } else if (rc != PITR_NOT_FOUND) {
        err_prefix(err, "could not fetch \"%s\"", wal_name);
    }
    repo_session_close(&g.repo);
    return rc;
}

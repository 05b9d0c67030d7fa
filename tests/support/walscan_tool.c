/* pitr-walscan-tool: a test-only front end to lib/pg/walscan. Scans one WAL segment file, fed in
 * pieces of --chunk bytes (default 64 KiB), and prints the result one "key value" line each, times
 * in pg_waldump's form in UTC, so integration tests can compare it with pg_waldump. With --bench N
 * it reads the file once and times N scans of it from memory instead (CPU and wall time). Exit: 0
 * ok, 1 failure. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/strutil.h"
#include "base/xalloc.h"
#include "pg/wal.h"
#include "pg/walscan.h"

static const char usage[] = "usage: pitr-walscan-tool [--chunk BYTES] [--bench N] SEGMENT_FILE\n";

/* As pg_waldump's timestamptz_to_str with TZ=UTC: "2024-05-01 12:34:56.123456 UTC". */
static void print_time(const char *key, int64_t unix_usec)
{
    time_t secs = (time_t)(unix_usec / 1000000);
    int64_t usec = unix_usec % 1000000;
    struct tm tm;
    char text[64];

    if (usec < 0) {
        usec += 1000000;
        secs -= 1;
    }
    gmtime_r(&secs, &tm);
    strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &tm);
    printf("%s %s.%06d UTC\n", key, text, (int)usec);
}

static void print_result(const char *name, const struct walscan_result *r)
{
    char lsn[18];

    printf("segment %s\n", name);
    printf("pg_version %u\n", r->pg_version);
    printf("well_formed %d\n", r->well_formed ? 1 : 0);
    printf("switched %d\n", r->switched ? 1 : 0);
    printf("end_reason %s\n", r->end_reason);
    printf("records %" PRIu64 "\n", r->records);
    wal_lsn_format(r->end_lsn, lsn);
    printf("end_lsn %s\n", lsn);
    printf("commits %" PRIu64 "\n", r->commits);
    if (r->commits > 0) {
        print_time("first_commit", r->first_commit);
        print_time("last_commit", r->last_commit);
    }
    printf("aborts %" PRIu64 "\n", r->aborts);
    if (r->aborts > 0) {
        print_time("first_abort", r->first_abort);
        print_time("last_abort", r->last_abort);
    }
    for (unsigned i = 0; i < r->restore_points; i++) {
        const struct walscan_restore_point *rp = &r->restore_point[i];
        char end[18];

        wal_lsn_format(rp->lsn, lsn);
        wal_lsn_format(rp->end_lsn, end);
        printf("restore_point %s %s %s %" PRId64 "\n", rp->name, lsn, end, rp->time);
    }
    printf("restore_points_dropped %" PRIu64 "\n", r->restore_points_dropped);
}

static enum pitr_rc read_file(const char *path, uint8_t **data_out, size_t *len_out,
                              struct pitr_err *err)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    uint8_t *data = NULL;
    size_t got = 0;
    enum pitr_rc rc = PITR_OK;

    if (fd < 0) {
        return err_sys(err, PITR_IO, "could not open \"%s\"", path);
    }
    if (fstat(fd, &st) != 0) {
        rc = err_sys(err, PITR_IO, "could not stat \"%s\"", path);
        goto done;
    }
    data = xmalloc((size_t)st.st_size + 1);
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size - got);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            rc = err_sys(err, PITR_IO, "could not read \"%s\"", path);
            goto done;
        }
        got += (size_t)n;
    }
    *data_out = data;
    *len_out = got;
    data = NULL;
done:
    free(data);
    close(fd);
    return rc;
}

static enum pitr_rc scan(const char *name, const uint8_t *data, size_t len, size_t chunk,
                         struct walscan_result *out, struct pitr_err *err)
{
    struct walscan *ws = walscan_new(name, err);
    enum pitr_rc rc = ws == NULL ? err->rc : PITR_OK;

    for (size_t off = 0; rc == PITR_OK && off < len; off += chunk) {
        rc = walscan_feed(ws, data + off, len - off < chunk ? len - off : chunk, err);
    }
    if (rc == PITR_OK) {
        rc = walscan_finish(ws, out, err);
    }
    walscan_free(ws);
    return rc;
}

static double now_sec(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    uint64_t chunk = 65536;
    uint64_t bench = 0;
    const char *path = NULL;
    const char *name;
    uint8_t *data = NULL;
    size_t len = 0;
    struct walscan_result r;
    struct pitr_err err;
    enum pitr_rc rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--chunk") == 0 && i + 1 < argc) {
            if (str_parse_u64(argv[++i], "--chunk", &chunk, &err) != PITR_OK || chunk == 0) {
                fputs(usage, stderr);
                return 1;
            }
        } else if (strcmp(argv[i], "--bench") == 0 && i + 1 < argc) {
            if (str_parse_u64(argv[++i], "--bench", &bench, &err) != PITR_OK || bench == 0) {
                fputs(usage, stderr);
                return 1;
            }
        } else if (path == NULL && argv[i][0] != '-') {
            path = argv[i];
        } else {
            fputs(usage, stderr);
            return 1;
        }
    }
    if (path == NULL) {
        fputs(usage, stderr);
        return 1;
    }
    name = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
    rc = read_file(path, &data, &len, &err);
    if (rc == PITR_OK && bench > 0) {
        double wall = now_sec(CLOCK_MONOTONIC);
        double cpu = now_sec(CLOCK_PROCESS_CPUTIME_ID);
        double mb = (double)bench * (double)len / 1e6;

        for (uint64_t i = 0; rc == PITR_OK && i < bench; i++) {
            rc = scan(name, data, len, (size_t)chunk, &r, &err);
        }
        wall = now_sec(CLOCK_MONOTONIC) - wall;
        cpu = now_sec(CLOCK_PROCESS_CPUTIME_ID) - cpu;
        if (rc == PITR_OK) {
            /* CPU time too: on a shared machine the wall clock also counts other processes. */
            printf("scanned %" PRIu64 " x %zu bytes: %.0f MB/s of CPU time, %.0f MB/s wall\n",
                   bench, len, mb / cpu, mb / wall);
        }
    } else if (rc == PITR_OK) {
        rc = scan(name, data, len, (size_t)chunk, &r, &err);
        if (rc == PITR_OK) {
            print_result(name, &r);
        }
    }
    if (rc != PITR_OK) {
        fprintf(stderr, "pitr-walscan-tool: %s: %s\n", pitr_rc_name(rc), err.msg);
    }
    free(data);
    return rc == PITR_OK ? 0 : 1;
}

/* control: pg_control starts with system_identifier (uint64) and pg_control_version (uint32) in
 * every supported release; the rest of its layout changes between versions, so we read no more. */
#include "pg/control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "base/strutil.h"
#include "base/xalloc.h"

static enum pitr_rc read_version(const char *pgdata, unsigned *out, struct pitr_err *err)
{
    char *path = fs_path_join(pgdata, "PG_VERSION");
    struct buf text;
    uint64_t v = 0;
    enum pitr_rc rc;

    buf_init(&text, 64);
    rc = fs_read_file(path, &text, err);
    if (rc == PITR_OK) {
        char *s = str_trim((char *)text.data);

        rc = str_parse_u64(s, "PG_VERSION", &v, err);
        if (rc == PITR_OK && (v < 10 || v > 99)) {
            rc = err_set(err, PITR_CORRUPT, "unexpected PostgreSQL version \"%s\" in \"%s\"", s,
                         path);
        }
        if (rc == PITR_OK) {
            *out = (unsigned)v;
        }
    }
    buf_fini(&text);
    free(path);
    return rc;
}

enum pitr_rc pg_ident_read(const char *pgdata, struct pg_ident *out, struct pitr_err *err)
{
    char *path = fs_path_join(pgdata, "global/pg_control");
    uint8_t head[12];
    size_t got = 0;
    uint32_t control_version;
    struct pg_ident id;
    enum pitr_rc rc = PITR_OK;
    int fd = -1;

    rc = fs_open_read(path, &fd, err);
    if (rc != PITR_OK) {
        goto done;
    }
    rc = fs_read_full(fd, head, sizeof(head), &got, path, err);
    if (rc != PITR_OK) {
        goto done;
    }
    memcpy(&id.sysid, head, sizeof(id.sysid));
    memcpy(&control_version, head + 8, sizeof(control_version));
    if (got < sizeof(head) || id.sysid == 0 || control_version < 900 || control_version > 9999) {
        rc = err_set(err, PITR_CORRUPT, "\"%s\" is not a valid pg_control file", path);
        goto done;
    }
    rc = read_version(pgdata, &id.major_version, err);
    if (rc == PITR_NOT_FOUND) {
        rc = err_set(err, PITR_CORRUPT, "data directory \"%s\" has no PG_VERSION file", pgdata);
    }
    if (rc == PITR_OK) {
        *out = id;
    }
done:
    if (fd >= 0) {
        close(fd);
    }
    free(path);
    return rc;
}

bool pg_is_standby(const char *pgdata)
{
    char *path = fs_path_join(pgdata, "standby.signal");
    struct stat st;
    bool standby = stat(path, &st) == 0;

    free(path);
    return standby;
}

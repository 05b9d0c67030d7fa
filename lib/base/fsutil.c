/* fsutil: low-level file helpers; every data-loss guard (fsync of file then directory) that the
 * storage and fetch code rely on goes through here. */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdlib.h>

#include "xalloc.h"

enum pitr_rc fs_open_read(const char *path, int *fd_out, struct pitr_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return err_sys(err, errno == ENOENT || errno == ENOTDIR ? PITR_NOT_FOUND : PITR_IO,
                       "could not open \"%s\"", path);
    }
    *fd_out = fd;
    return PITR_OK;
}

enum pitr_rc fs_write_all(int fd, const void *data, size_t len, const char *what,
                          struct pitr_err *err)
{
    const uint8_t *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == ENOSPC) {
                return err_sys(err, PITR_IO,
                               "could not write \"%s\" (disk full: free space and retry)", what);
            }
            return err_sys(err, PITR_IO, "could not write \"%s\"", what);
        }
        p += n;
        len -= (size_t)n;
    }
    return PITR_OK;
}

enum pitr_rc fs_read_full(int fd, void *data, size_t len, size_t *got, const char *what,
                          struct pitr_err *err)
{
    uint8_t *p = data;
    size_t done = 0;

    while (done < len) {
        ssize_t n = read(fd, p + done, len - done);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return err_sys(err, PITR_IO, "could not read \"%s\"", what);
        }
        if (n == 0) {
            break;
        }
        done += (size_t)n;
    }
    *got = done;
    return PITR_OK;
}

enum pitr_rc fs_read_file(const char *path, struct buf *out, struct pitr_err *err)
{
    uint8_t chunk[8192];
    int fd = -1;
    enum pitr_rc rc = fs_open_read(path, &fd, err);

    while (rc == PITR_OK) {
        size_t got = 0;

        rc = fs_read_full(fd, chunk, sizeof(chunk), &got, path, err);
        if (rc != PITR_OK || got == 0) {
            break;
        }
        rc = buf_append(out, chunk, got, err);
        if (rc != PITR_OK) {
            err_prefix(err, "could not read \"%s\"", path);
            break;
        }
    }
    if (fd >= 0) {
        close(fd);
    }
    return rc;
}

enum pitr_rc fs_fsync_dir(const char *path, struct pitr_err *err)
{
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    enum pitr_rc rc = PITR_OK;
    int fd;

    if (slash == dir) {
        slash[1] = '\0';
    } else if (slash != NULL) {
        *slash = '\0';
    } else {
        dir[0] = '.';
        dir[1] = '\0';
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        rc = err_sys(err, PITR_IO, "could not open directory \"%s\"", dir);
    } else {
        if (fsync(fd) != 0) {
            rc = err_sys(err, PITR_IO, "could not fsync directory \"%s\"", dir);
        }
        close(fd);
    }
    free(dir);
    return rc;
}

enum pitr_rc fs_mkdir_p(const char *dir, mode_t mode, struct pitr_err *err)
{
    char *path = xstrdup(dir);
    enum pitr_rc rc = PITR_OK;

    for (char *p = path + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;

            *p = '\0';
            if (mkdir(path, mode) != 0 && errno != EEXIST) {
                rc = err_sys(err, PITR_IO, "could not create directory \"%s\"", path);
                break;
            }
            *p = saved;
            if (saved == '\0') {
                break;
            }
        }
    }
    free(path);
    return rc;
}

char *fs_path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir);

    if (n > 0 && dir[n - 1] == '/') {
        return xasprintf("%s%s", dir, name);
    }
    return xasprintf("%s/%s", dir, name);
}

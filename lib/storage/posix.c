/* posix: a repository in a local or NFS directory. Every object is written to a hidden temp file
 * in its final directory, fsynced, then renamed (or hard-linked, to refuse overwrites) into place
 * and the directory fsynced: after a crash at any point the key holds either nothing, the old
 * object, or the complete new one. Temp files are created exclusively and never through a
 * symlink, so nothing planted in the repository can redirect a write. */
#include "storage/storage.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/strutil.h"
#include "base/xalloc.h"
#include "storage/storage_int.h"
#include "stream/filter_int.h"

enum {
    POSIX_READ_CHUNK = 256 * 1024,
    TEMP_RANDOM_BYTES = 8, /* temp names: .<name>.tmp.<pid>[.<16 hex digits>] */
    TEMP_ATTEMPTS = 4,     /* the plain name, then random suffixes */
};

struct posix_storage {
    struct storage base;
    char *root;
    bool group_access;
    mode_t dir_mode;  /* of new directories: 0700, or 0770 with group access */
    mode_t file_mode; /* of new objects: 0600, or 0640 */
};

static char *key_path(const struct posix_storage *ps, const char *key)
{
    return fs_path_join(ps->root, key);
}

static bool in_my_groups(gid_t gid)
{
    int n = getgroups(0, NULL);
    gid_t *groups;
    bool found = gid == getegid();

    if (found || n <= 0) {
        return found;
    }
    groups = xcalloc((size_t)n, sizeof(*groups));
    n = getgroups(n, groups);
    for (int i = 0; i < n && !found; i++) {
        found = groups[i] == gid;
    }
    free(groups);
    return found;
}

/* Whoever can write a directory can replace what pitr creates in it (a subdirectory swapped for a
 * symlink sends the next object anywhere postgres can write), so pitr writes only into
 * directories that are ours, or with group access our group's, and that nobody else can write. */
static enum pitr_rc check_dir(const struct posix_storage *ps, const char *dir,
                              const struct stat *st, struct pitr_err *err)
{
    unsigned mode = (unsigned)(st->st_mode & 07777);

    if (st->st_mode & S_IWOTH) {
        return err_set(err, PITR_CONFIG,
                       "repository directory \"%s\" is writable by any user (mode %04o): run "
                       "chmod o-w on it",
                       dir, mode);
    }
    if (st->st_uid != geteuid() && ps->group_access && !in_my_groups(st->st_gid)) {
        return err_set(err, PITR_CONFIG,
                       "repository directory \"%s\" belongs to uid %u and gid %u, neither of which "
                       "is this user's (uid %u): chown it to this user, or chgrp it to a group of "
                       "this user",
                       dir, (unsigned)st->st_uid, (unsigned)st->st_gid, (unsigned)geteuid());
    }
    if (st->st_uid != geteuid() && !ps->group_access) {
        return err_set(err, PITR_CONFIG,
                       "repository directory \"%s\" is owned by uid %u, not by uid %u that runs "
                       "pitr: chown it, or set repo_group_access = on to share it through its "
                       "group",
                       dir, (unsigned)st->st_uid, (unsigned)geteuid());
    }
    if ((st->st_mode & S_IWGRP) && !ps->group_access) {
        return err_set(err, PITR_CONFIG,
                       "repository directory \"%s\" is writable by its group (mode %04o): run "
                       "chmod g-w on it, or set repo_group_access = on to share the repository "
                       "with that group",
                       dir, mode);
    }
    return PITR_OK;
}

/* Checks every directory from the root down to the one holding path. With create, the missing
 * ones are made, each new directory's parent fsynced so the entry is durable before any object
 * inside it is reported stored; without, a missing directory ends the walk (nothing below it to
 * remove). A component that is not a directory ends it too: the caller's own call then fails. */
static enum pitr_rc check_dirs(const struct posix_storage *ps, const char *path, bool create,
                               struct pitr_err *err)
{
    char *dir = xstrdup(path);
    char *root_end = dir + strlen(ps->root);
    char *cut = strrchr(dir, '/');
    char *end = root_end;
    enum pitr_rc rc = PITR_OK;
    bool more = true;

    /* path is root/key; the cut falls before root_end only for the root "/" */
    *(cut >= root_end ? cut : root_end) = '\0';
    while (rc == PITR_OK && more) {
        char saved = *end;
        bool made = false;
        struct stat st;

        *end = '\0';
        if (create && end > root_end) {
            if (mkdir(dir, ps->dir_mode) == 0) {
                made = true;
                rc = fs_fsync_dir(dir, err);
            } else if (errno != EEXIST) {
                rc = err_sys(err, PITR_IO, "could not create directory \"%s\"", dir);
            }
        }
        if (rc == PITR_OK && !made) {
            /* stat, not lstat: the root as configured may be a symlink (to a mount, say) */
            if (stat(dir, &st) != 0) {
                if (create || (errno != ENOENT && errno != ENOTDIR)) {
                    rc = err_sys(err, PITR_IO, "could not stat \"%s\"", dir);
                }
                more = false;
            } else if (!S_ISDIR(st.st_mode)) {
                more = false;
            } else {
                rc = check_dir(ps, dir, &st, err);
            }
        }
        *end = saved;
        if (saved == '\0') {
            more = false;
        } else {
            end = strchr(end + 1, '/');
            end = end != NULL ? end : dir + strlen(dir);
        }
    }
    free(dir);
    return rc;
}

static enum pitr_rc posix_stat(struct storage *s, const char *key, struct storage_info *out,
                               struct pitr_err *err)
{
    char *path = key_path((struct posix_storage *)s, key);
    struct stat st;
    enum pitr_rc rc = PITR_OK;

    if (stat(path, &st) != 0) {
        rc = err_sys(err, errno == ENOENT || errno == ENOTDIR ? PITR_NOT_FOUND : PITR_IO,
                     "could not stat \"%s\"", path);
    } else {
        out->size = (uint64_t)st.st_size;
        out->mtime = (int64_t)st.st_mtime;
        out->is_dir = S_ISDIR(st.st_mode);
    }
    free(path);
    return rc;
}

static enum pitr_rc posix_read(struct storage *s, const char *key, struct filter *sink,
                               struct pitr_err *err)
{
    char *path = key_path((struct posix_storage *)s, key);
    uint8_t *chunk = NULL;
    enum pitr_rc rc = PITR_OK;
    int fd = -1;

    rc = fs_open_read(path, &fd, err);
    if (rc != PITR_OK) {
        goto done;
    }
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    chunk = xmalloc(POSIX_READ_CHUNK);
    for (;;) {
        size_t got = 0;

        rc = fs_read_full(fd, chunk, POSIX_READ_CHUNK, &got, path, err);
        if (rc != PITR_OK || got == 0) {
            break;
        }
        rc = filter_write(sink, chunk, got, err);
        if (rc != PITR_OK) {
            break;
        }
    }
    if (rc == PITR_OK) {
        rc = filter_finish(sink, err);
    }
done:
    if (fd >= 0) {
        close(fd);
    }
    free(chunk);
    free(path);
    return rc;
}

static enum pitr_rc posix_read_range(struct storage *s, const char *key, uint64_t offset,
                                     uint64_t len, struct filter *sink, struct pitr_err *err)
{
    char *path = key_path((struct posix_storage *)s, key);
    uint8_t *chunk = NULL;
    size_t chunk_len = len < POSIX_READ_CHUNK ? (size_t)len : POSIX_READ_CHUNK;
    enum pitr_rc rc = PITR_OK;
    int fd = -1;

    /* opened exactly as posix_read opens it: a key names the same file however it is read */
    rc = fs_open_read(path, &fd, err);
    if (rc != PITR_OK) {
        goto done;
    }
    if (offset > (uint64_t)INT64_MAX) {
        len = 0; /* beyond the largest off_t: past the end of any file */
    } else if (len > 0 && lseek(fd, (off_t)offset, SEEK_SET) < 0) {
        rc = err_sys(err, PITR_IO, "could not seek in \"%s\"", path);
        goto done;
    }
    if (len > 0) {
        chunk = xmalloc(chunk_len); /* a header read allocates a header, not a whole chunk */
    }
    while (len > 0) {
        size_t want = len < chunk_len ? (size_t)len : chunk_len;
        size_t got = 0;

        rc = fs_read_full(fd, chunk, want, &got, path, err);
        if (rc == PITR_OK && got > 0) {
            rc = filter_write(sink, chunk, got, err);
        }
        /* a short read is the end of the file: the range is cut short there, which is no error */
        if (rc != PITR_OK || got < want) {
            break;
        }
        len -= got;
    }
    if (rc == PITR_OK) {
        rc = filter_finish(sink, err);
    }
done:
    if (fd >= 0) {
        close(fd);
    }
    free(chunk);
    free(path);
    return rc;
}

/* The write sink: owns the temp file until finish moves it into place. */
struct posix_writer {
    struct filter base;
    char *path;
    char *tmp_path;
    int fd;
    bool no_overwrite;
    bool created; /* tmp_path is our file (until committed): only then may free remove it */
    bool committed;
};

static enum pitr_rc writer_write(struct filter *f, const uint8_t *data, size_t len,
                                 struct pitr_err *err)
{
    struct posix_writer *w = (struct posix_writer *)f;

    return fs_write_all(w->fd, data, len, w->tmp_path, err);
}

static enum pitr_rc writer_finish(struct filter *f, struct pitr_err *err)
{
    struct posix_writer *w = (struct posix_writer *)f;
    int fd = w->fd;

    /* Data first: the temp file must be on disk before its name can point at it. */
    w->fd = -1;
    if (fsync(fd) != 0) {
        int saved = errno;

        close(fd);
        errno = saved;
        return err_sys(err, PITR_IO, "could not fsync \"%s\"", w->tmp_path);
    }
    if (close(fd) != 0) {
        return err_sys(err, PITR_IO, "could not close \"%s\"", w->tmp_path);
    }
    if (w->no_overwrite) {
        /* link() fails with EEXIST instead of replacing: two writers can never overwrite each
         * other, even between a caller's existence check and this point. */
        if (link(w->tmp_path, w->path) != 0) {
            if (errno == EEXIST) {
                return err_set(err, PITR_EXISTS, "\"%s\" already exists", w->path);
            }
            return err_sys(err, PITR_IO, "could not link \"%s\" to \"%s\"", w->tmp_path, w->path);
        }
        if (unlink(w->tmp_path) != 0) {
            return err_sys(err, PITR_IO, "could not remove \"%s\"", w->tmp_path);
        }
    } else if (rename(w->tmp_path, w->path) != 0) {
        return err_sys(err, PITR_IO, "could not rename \"%s\" to \"%s\"", w->tmp_path, w->path);
    }
    w->committed = true;
    /* The new name is durable only once its directory is. */
    return fs_fsync_dir(w->path, err) != PITR_OK ? err->rc : filter_finish_next(f, err);
}

static void writer_free(struct filter *f)
{
    struct posix_writer *w = (struct posix_writer *)f;

    if (w->fd >= 0) {
        close(w->fd);
    }
    if (w->created && !w->committed) {
        (void)unlink(w->tmp_path); /* an unfinished write leaves nothing behind */
    }
    free(w->path);
    free(w->tmp_path);
    free(w);
}

static const struct filter_ops writer_ops = {"posix-writer", writer_write, writer_finish,
                                             writer_free};

/* Creates the writer's temp file beside w->path. O_EXCL|O_NOFOLLOW: whatever already sits at the
 * name (a symlink planted by someone who can write this directory, a leftover of an earlier
 * process that had our pid) is never followed, truncated or reused, and the mode is final from
 * the start. The plain name comes first (the one operators and the sweep know); when it is taken,
 * a random suffix, so that nothing planted can block the write either. */
static enum pitr_rc create_temp(struct posix_writer *w, mode_t mode, struct pitr_err *err)
{
    const char *slash = strrchr(w->path, '/');
    int dir_len = (int)(slash - w->path);

    for (int attempt = 0; attempt < TEMP_ATTEMPTS; attempt++) {
        char suffix[1 + 2 * TEMP_RANDOM_BYTES + 1] = "";

        if (attempt > 0) {
            uint8_t r[TEMP_RANDOM_BYTES];

            if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
                return err_sys(err, PITR_IO, "could not get random bytes for a temp file name");
            }
            suffix[0] = '.';
            str_hex_encode(r, sizeof(r), suffix + 1);
        }
        free(w->tmp_path);
        w->tmp_path =
            xasprintf("%.*s/.%s.tmp.%d%s", dir_len, w->path, slash + 1, (int)getpid(), suffix);
        w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (w->fd >= 0) {
            w->created = true;
            return PITR_OK;
        }
        if (errno != EEXIST) {
            break;
        }
    }
    return err_sys(err, PITR_IO, "could not create \"%s\"", w->tmp_path);
}

static enum pitr_rc posix_write_open(struct storage *s, const char *key,
                                     const struct write_opts *opts, struct filter **sink_out,
                                     struct pitr_err *err)
{
    struct posix_storage *ps = (struct posix_storage *)s;
    struct posix_writer *w = xcalloc(1, sizeof(*w));
    enum pitr_rc rc;

    filter_init(&w->base, &writer_ops);
    w->fd = -1;
    w->no_overwrite = opts->no_overwrite;
    w->path = key_path(ps, key);
    rc = check_dirs(ps, w->path, true, err);
    if (rc == PITR_OK) {
        /* Hidden temp names in the same directory: rename stays atomic and listings skip them. */
        rc = create_temp(w, ps->file_mode, err);
    }
    if (rc != PITR_OK) {
        writer_free(&w->base);
        return rc;
    }
    *sink_out = &w->base;
    return PITR_OK;
}

static enum pitr_rc list_dir(struct posix_storage *ps, const char *dir, bool recursive,
                             storage_list_fn *fn, void *arg, struct pitr_err *err)
{
    char *path = dir[0] == '\0' ? xstrdup(ps->root) : key_path(ps, dir);
    enum pitr_rc rc = PITR_OK;
    DIR *d = opendir(path);

    if (d == NULL) {
        /* A missing directory simply has no objects (as an S3 prefix would). */
        rc = errno == ENOENT || errno == ENOTDIR
                 ? PITR_OK
                 : err_sys(err, PITR_IO, "could not open \"%s\"", path);
        free(path);
        return rc;
    }
    for (;;) {
        struct dirent *de;
        struct stat st;
        char *key;
        char *full;

        errno = 0;
        de = readdir(d);
        if (de == NULL) {
            if (errno != 0) {
                rc = err_sys(err, PITR_IO, "could not read directory \"%s\"", path);
            }
            break;
        }
        if (de->d_name[0] == '.') {
            continue; /* ".", ".." and in-flight temp files */
        }
        key = dir[0] == '\0' ? xstrdup(de->d_name) : xasprintf("%s/%s", dir, de->d_name);
        full = key_path(ps, key);
        if (lstat(full, &st) != 0) {
            rc = errno == ENOENT ? PITR_OK : err_sys(err, PITR_IO, "could not stat \"%s\"", full);
        } else if (S_ISDIR(st.st_mode)) {
            if (recursive) {
                rc = list_dir(ps, key, true, fn, arg, err);
            } else {
                struct storage_info info = {0, (int64_t)st.st_mtime, true};

                rc = fn(arg, key, &info, err);
            }
        } else if (S_ISREG(st.st_mode)) {
            struct storage_info info = {(uint64_t)st.st_size, (int64_t)st.st_mtime, false};

            rc = fn(arg, key, &info, err);
        }
        free(full);
        free(key);
        if (rc != PITR_OK) {
            break;
        }
    }
    closedir(d);
    free(path);
    return rc;
}

static enum pitr_rc posix_list(struct storage *s, const char *dir, enum storage_list_flags flags,
                               storage_list_fn *fn, void *arg, struct pitr_err *err)
{
    char *trimmed = xstrdup(dir);
    size_t n = strlen(trimmed);
    enum pitr_rc rc;

    while (n > 0 && trimmed[n - 1] == '/') {
        trimmed[--n] = '\0';
    }
    rc = list_dir((struct posix_storage *)s, trimmed, flags & STORAGE_LIST_RECURSIVE, fn, arg, err);
    free(trimmed);
    return rc;
}

/* A writer that was killed leaves its hidden temp file behind (nothing else can: finish renames
 * it and free unlinks it). It counts as abandoned when its process is gone from this host and it
 * has not changed for a few seconds, or when nobody has written to it for a long time (a writer
 * on another host of an NFS repository); removing one that is still in use only makes that
 * writer fail, never an object disappear. */
enum { TEMP_IDLE_DEAD_S = 5, TEMP_IDLE_ANY_S = 15 * 60 };

/* The pid in a temp file's name (".<name>.tmp.<pid>", optionally ".<16 hex digits>" after it, as
 * create_temp makes them), or 0 when name is not one. */
static long temp_pid(const char *name)
{
    const char *mark = NULL;
    long pid;
    char *end;

    if (name[0] != '.') {
        return 0;
    }
    /* the last ".tmp.": an object's own name may hold one too */
    for (const char *p = strstr(name, ".tmp."); p != NULL; p = strstr(p + 1, ".tmp.")) {
        mark = p;
    }
    if (mark == NULL) {
        return 0;
    }
    pid = strtol(mark + 5, &end, 10);
    if (*end == '.' && strlen(end + 1) == 2 * TEMP_RANDOM_BYTES &&
        strspn(end + 1, "0123456789abcdef") == 2 * TEMP_RANDOM_BYTES) {
        end += 1 + 2 * TEMP_RANDOM_BYTES;
    }
    return *end == '\0' && pid > 0 ? pid : 0;
}

static bool temp_abandoned(const char *dir, const char *name)
{
    long pid = temp_pid(name);
    char *path;
    struct stat st;
    time_t idle;
    bool dead;

    if (pid == 0) {
        return false;
    }
    path = xasprintf("%s/%s", dir, name);
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        free(path);
        return false;
    }
    free(path);
    idle = time(NULL) - st.st_mtime;
    dead = kill((pid_t)pid, 0) != 0 && errno == ESRCH;
    return (dead && idle > TEMP_IDLE_DEAD_S) || idle > TEMP_IDLE_ANY_S;
}

/* Removing an object also sweeps abandoned temp files from its directory, so removing the objects
 * of an interrupted backup frees the space of the object that was being written. */
static void sweep_temps(const char *path)
{
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    DIR *d;
    struct dirent *de;

    if (slash != NULL) {
        *slash = '\0';
    }
    d = opendir(dir);
    while (d != NULL && (de = readdir(d)) != NULL) {
        if (temp_abandoned(dir, de->d_name)) {
            char *p = xasprintf("%s/%s", dir, de->d_name);

            (void)unlink(p); /* best effort: a temp file is never an object */
            free(p);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    free(dir);
}

static enum pitr_rc posix_remove(struct storage *s, const char *key, struct pitr_err *err)
{
    char *path = key_path((struct posix_storage *)s, key);
    enum pitr_rc rc = check_dirs((struct posix_storage *)s, path, false, err);

    if (rc == PITR_OK && unlink(path) != 0) {
        if (errno != ENOENT) {
            rc = err_sys(err, PITR_IO, "could not remove \"%s\"", path);
        }
    } else if (rc == PITR_OK) {
        rc = fs_fsync_dir(path, err);
    }
    if (rc == PITR_OK) {
        sweep_temps(path);
    }
    free(path);
    return rc;
}

static enum pitr_rc posix_remove_dir(struct storage *s, const char *dir, struct pitr_err *err)
{
    char *path = key_path((struct posix_storage *)s, dir);
    enum pitr_rc rc = check_dirs((struct posix_storage *)s, path, false, err);

    /* one that is not empty (an object or a writer's temp file arrived) stays */
    if (rc == PITR_OK && rmdir(path) == 0) {
        rc = fs_fsync_dir(path, err);
    } else if (rc == PITR_OK && errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST) {
        rc = err_sys(err, PITR_IO, "could not remove directory \"%s\"", path);
    }
    free(path);
    return rc;
}

static void posix_free(struct storage *s)
{
    struct posix_storage *ps = (struct posix_storage *)s;

    free(ps->root);
    free(ps);
}

static const struct storage_ops posix_ops = {
    .name = "posix",
    .stat = posix_stat,
    .read = posix_read,
    .read_range = posix_read_range,
    .write_open = posix_write_open,
    .list = posix_list,
    .remove = posix_remove,
    .free = posix_free,
    .remove_dir = posix_remove_dir,
};

struct storage *posix_storage_new(const struct posix_params *params, struct pitr_err *err)
{
    const char *dir = params->dir;
    struct posix_storage *ps;
    struct stat st;
    size_t n = strlen(dir);

    if (dir[0] != '/') {
        err_set(err, PITR_CONFIG, "repository path \"%s\" must be absolute", dir);
        return NULL;
    }
    if (fs_mkdir_p(dir, params->group_access ? 0770 : 0700, err) != PITR_OK) {
        return NULL;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        err_sys(err, PITR_CONFIG, "repository \"%s\" is not a directory", dir);
        return NULL;
    }
    ps = xcalloc(1, sizeof(*ps));
    ps->base.ops = &posix_ops;
    while (n > 1 && dir[n - 1] == '/') {
        n--;
    }
    ps->root = xstrndup(dir, n);
    ps->group_access = params->group_access;
    ps->dir_mode = params->group_access ? 0770 : 0700;
    ps->file_mode = params->group_access ? 0640 : 0600;
    return &ps->base;
}

/* extract: tar entries become files created exclusively (never replacing, never following a
 * symlink), hashed while written and compared with the manifest when each file ends. Their
 * writeback to disk is started as they are written; making them durable is the caller's sync.
 * Check-only mode (root NULL) runs the same parsing and comparisons and touches no file. */
#include "restore/extract.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/xalloc.h"
#include "crypto/sha256.h"
#include "restore/tar.h"

/* how much of a file is written before the kernel is asked to start writing it to disk */
enum { EXTRACT_WRITEBACK_STEP = 8 * 1024 * 1024 };

struct link {
    char *name;
    char *target;
};

struct extract {
    char *root; /* NULL: check only */
    char *prefix;
    struct manifest *manifest;
    struct filter *reader;
    extract_report_fn *report; /* check only: where mismatches go */
    void *report_arg;
    char *what;
    size_t problems;
    /* the file being written (or checked) */
    bool in_file;
    int fd;
    char *path;
    struct manifest_file *entry;
    struct filter *sha;
    uint64_t size;
    uint64_t written_back; /* bytes of the file whose writeback was started */
    uint64_t bytes;
    struct link *links;
    size_t n_links;
};

/* Creates the directories above name inside root, refusing anything that is not a directory. */
static enum pitr_rc make_parents(struct extract *x, const char *name, struct pitr_err *err)
{
    char *path = fs_path_join(x->root, name);
    size_t skip = strlen(x->root) + 1;
    enum pitr_rc rc = PITR_OK;

    for (char *p = path + skip; rc == PITR_OK && (p = strchr(p, '/')) != NULL; p++) {
        struct stat st;

        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            rc = err_sys(err, PITR_IO, "could not create directory \"%s\"", path);
        } else if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
            rc = err_set(err, PITR_CORRUPT, "\"%s\" in the backup is not a directory", path);
        }
        *p = '/';
    }
    free(path);
    return rc;
}

/* A file that does not match the manifest: the extract's error, or in check-only mode a report
 * (and the archive is read on, so every damaged file is named). */
static enum pitr_rc mismatch(struct extract *x, const struct pitr_err *found, struct pitr_err *err)
{
    char *line;

    if (x->root != NULL) {
        return err_copy(err, found);
    }
    line = xasprintf("%s: %s", x->what, found->msg);
    x->report(x->report_arg, line);
    free(line);
    x->problems++;
    return PITR_OK;
}

static enum pitr_rc begin_file(struct extract *x, const struct tar_entry *e, struct pitr_err *err)
{
    char *mpath = xasprintf("%s%s", x->prefix, e->name);

    x->in_file = true;
    x->sha = sha256_filter_new();
    x->size = 0;
    if (x->manifest != NULL) {
        x->entry = manifest_find(x->manifest, mpath);
        if (x->entry == NULL || x->entry->seen) {
            struct pitr_err found;

            err_set(&found, PITR_CORRUPT, "\"%s\" is %s the backup manifest", mpath,
                    x->entry ? "twice in the archive but once in" : "not in");
            x->entry = NULL; /* nothing to compare it with */
            free(mpath);
            return mismatch(x, &found, err);
        }
    }
    free(mpath);
    if (x->root == NULL) {
        return PITR_OK;
    }
    x->path = fs_path_join(x->root, e->name);
    /* exclusive and no symlink following: a restore never overwrites or writes elsewhere */
    x->fd = open(x->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                 (e->mode & 0640) | 0600);
    if (x->fd < 0) {
        return err_sys(err, PITR_IO, "could not create \"%s\"", x->path);
    }
    x->written_back = 0;
    return PITR_OK;
}

/* Asks the kernel to start writing the file's pages written so far to disk, without waiting.
 * Otherwise all of the restore's dirty pages (the whole data directory) would be written only
 * when the caller's syncfs() asks, after the last file: this overlaps that disk work with
 * extracting. It guarantees nothing, so its errors are ignored: durability is still the caller's
 * sync, which waits for every page and reports any write error. */
static void start_writeback(struct extract *x)
{
    if (x->size > x->written_back) {
        (void)sync_file_range(x->fd, (off_t)x->written_back, (off_t)(x->size - x->written_back),
                              SYNC_FILE_RANGE_WRITE);
        x->written_back = x->size;
    }
}

static enum pitr_rc on_begin(void *arg, const struct tar_entry *e, struct pitr_err *err)
{
    struct extract *x = arg;
    enum pitr_rc rc = x->root != NULL ? make_parents(x, e->name, err) : PITR_OK;
    char *path;

    if (rc != PITR_OK) {
        return rc;
    }
    switch (e->type) {
    case TAR_FILE:
        return begin_file(x, e, err);
    case TAR_DIR:
        if (x->root == NULL) {
            return PITR_OK;
        }
        path = fs_path_join(x->root, e->name);
        if (mkdir(path, (e->mode & 0750) | 0700) != 0 && errno != EEXIST) {
            rc = err_sys(err, PITR_IO, "could not create directory \"%s\"", path);
        }
        free(path);
        return rc;
    case TAR_SYMLINK:
        x->links = xrealloc(x->links, (x->n_links + 1) * sizeof(*x->links));
        x->links[x->n_links].name = xstrdup(e->name);
        x->links[x->n_links].target = xstrdup(e->linkname);
        x->n_links++;
        return PITR_OK;
    }
    return PITR_OK;
}

static enum pitr_rc on_data(void *arg, const uint8_t *data, size_t len, struct pitr_err *err)
{
    struct extract *x = arg;
    enum pitr_rc rc = filter_write(x->sha, data, len, err);

    if (rc == PITR_OK && x->fd >= 0) {
        rc = fs_write_all(x->fd, data, len, x->path, err);
    }
    x->size += len;
    x->bytes += len;
    if (rc == PITR_OK && x->fd >= 0 && x->size - x->written_back >= EXTRACT_WRITEBACK_STEP) {
        start_writeback(x);
    }
    return rc;
}

static void close_file(struct extract *x)
{
    if (x->fd >= 0) {
        close(x->fd);
    }
    x->fd = -1;
    x->in_file = false;
    filter_free(x->sha);
    x->sha = NULL;
    free(x->path);
    x->path = NULL;
}

static enum pitr_rc on_end(void *arg, struct pitr_err *err)
{
    struct extract *x = arg;
    uint8_t digest[SHA256_LEN];
    struct pitr_err found;
    enum pitr_rc rc = PITR_OK;

    if (!x->in_file) {
        return PITR_OK; /* a directory or symlink */
    }
    rc = filter_finish(x->sha, err);
    sha256_filter_digest(x->sha, digest);
    if (x->fd >= 0) {
        start_writeback(x);
    }
    if (rc == PITR_OK && x->fd >= 0 && close(x->fd) != 0) {
        rc = err_sys(err, PITR_IO, "could not close \"%s\"", x->path);
    }
    x->fd = -1;
    if (rc == PITR_OK && x->entry != NULL) {
        if (x->entry->size != x->size) {
            err_set(&found, PITR_CORRUPT,
                    "\"%s\" has %llu bytes, the backup manifest says %llu: the backup is damaged",
                    x->entry->path, (unsigned long long)x->size,
                    (unsigned long long)x->entry->size);
            rc = mismatch(x, &found, err);
        } else if (x->entry->has_sha256 && memcmp(digest, x->entry->sha256, SHA256_LEN) != 0) {
            err_set(&found, PITR_CORRUPT,
                    "\"%s\" does not match its SHA-256 in the backup manifest: the backup is "
                    "damaged",
                    x->entry->path);
            rc = mismatch(x, &found, err);
        }
        /* a reported mismatch (check only) counts as seen: named once, not again as missing */
        if (rc == PITR_OK) {
            x->entry->seen = true;
        }
    }
    x->entry = NULL;
    close_file(x);
    return rc;
}

static const struct tar_handler handler = {on_begin, on_data, on_end};

struct extract *extract_new(const char *root, const char *prefix, struct manifest *manifest)
{
    struct extract *x = xcalloc(1, sizeof(*x));

    x->root = xstrdup(root);
    x->prefix = xstrdup(prefix);
    x->manifest = manifest;
    x->fd = -1;
    x->reader = tar_reader_new(&handler, x, root);
    return x;
}

struct extract *extract_check_new(const char *what, const char *prefix, struct manifest *manifest,
                                  extract_report_fn *report, void *arg)
{
    struct extract *x = xcalloc(1, sizeof(*x));

    x->what = xstrdup(what);
    x->prefix = xstrdup(prefix);
    x->manifest = manifest;
    x->report = report;
    x->report_arg = arg;
    x->fd = -1;
    x->reader = tar_reader_new(&handler, x, what);
    return x;
}

size_t extract_problems(const struct extract *x)
{
    return x->problems;
}

struct filter *extract_sink(struct extract *x)
{
    return x->reader;
}

size_t extract_symlink_count(const struct extract *x)
{
    return x->n_links;
}

void extract_symlink(const struct extract *x, size_t i, const char **name, const char **target)
{
    *name = x->links[i].name;
    *target = x->links[i].target;
}

uint64_t extract_bytes(const struct extract *x)
{
    return x->bytes;
}

void extract_free(struct extract *x)
{
    if (x == NULL) {
        return;
    }
    close_file(x);
    filter_free(x->reader);
    for (size_t i = 0; i < x->n_links; i++) {
        free(x->links[i].name);
        free(x->links[i].target);
    }
    free(x->links);
    free(x->root);
    free(x->what);
    free(x->prefix);
    free(x);
}

enum pitr_rc extract_check_complete(struct manifest *m, struct pitr_err *err)
{
    for (size_t i = 0; i < manifest_count(m); i++) {
        const struct manifest_file *f = manifest_file_at(m, i);

        if (!f->seen) {
            return err_set(err, PITR_CORRUPT,
                           "\"%s\" is in the backup manifest but not in the backup: it is "
                           "incomplete",
                           f->path);
        }
    }
    return PITR_OK;
}

/* restore: plan, check every destination, then write. Nothing in a destination is ever replaced:
 * a non-empty directory is refused, or with --force moved aside whole (never deleted), and files
 * are created exclusively. Recovery is configured only after every file matched the manifest and
 * was synced, so a half-restored directory can never be started by mistake. */
#include "restore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/progress.h"
#include "base/strutil.h"
#include "base/timestamp.h"
#include "base/xalloc.h"
#include "dest.h"
#include "object/object.h"
#include "pg/manifest.h"
#include "plan.h"
#include "repo/backup.h"
#include "repo/repo.h"
#include "restore/extract.h"
#include "start.h"

enum {
    MANIFEST_MAX = 512 * 1024 * 1024,
    KEY_MAX = 1024,
    RESTORE_CHUNK = 1024 * 1024,
    RESTORE_DEPTH = 4,
};

/* Who chose a destination: the user's choices may be moved aside with --force; a location from
 * the backup record is repository input and must pass dest.h's rules. */
enum dest_origin {
    DEST_TARGET_DIR, /* --target-dir */
    DEST_MAPPED,     /* --tablespace-map OLD=NEW */
    DEST_RECORD,     /* the tablespace's location in the backup record */
    DEST_DRILL,      /* <tablespace_root>/<oid> */
};

/* One destination directory: the data directory or a tablespace's. */
struct dest {
    char *path; /* absolute and normalised */
    enum dest_origin origin;
    uint32_t oid;         /* 0 for the data directory */
    const char *location; /* a tablespace's location in the backup record (the plan's) */
    bool exists;          /* it exists and is empty */
    char *saved_path;     /* with --force: where its old contents were moved */
};

struct job {
    const struct config *cfg;
    const struct restore_options *o;
    struct repo_session repo;
    struct restore_plan plan;
    bool planned;
    struct manifest *manifest;
    struct buf manifest_text;
    struct dest *dests; /* [0] is the data directory */
    size_t n_dests;
    uint64_t bytes;
    struct timespec t0;
    struct progress progress; /* stored bytes read of all objects */
    uint64_t read_before;     /* stored bytes of the objects already read */
    struct restore_report *report;
};

static double elapsed_s(const struct job *j)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - j->t0.tv_sec) + (double)(now.tv_nsec - j->t0.tv_nsec) / 1e9;
}

static void say(const struct job *j, const char *fmt, ...) PITR_PRINTF(2, 3);
static void say(const struct job *j, const char *fmt, ...)
{
    va_list ap;

    if (j->o->quiet) {
        return;
    }
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

/* Makes path absolute without requiring it to exist (its parent must). */
static enum pitr_rc absolute_path(const char *path, char **out, struct pitr_err *err)
{
    char *copy = xstrdup(path);
    char *slash;
    char *parent_real;
    const char *base;

    while (strlen(copy) > 1 && copy[strlen(copy) - 1] == '/') {
        copy[strlen(copy) - 1] = '\0';
    }
    slash = strrchr(copy, '/');
    if (slash == NULL) {
        parent_real = realpath(".", NULL);
        base = copy;
    } else if (slash == copy) {
        parent_real = xstrdup("/");
        base = slash + 1;
    } else {
        *slash = '\0';
        parent_real = realpath(copy, NULL);
        base = slash + 1;
    }
    if (parent_real == NULL) {
        enum pitr_rc rc =
            err_sys(err, PITR_CONFIG, "the directory above \"%s\" does not exist", path);

        free(copy);
        return rc;
    }
    if (strcmp(base, "..") == 0 || strcmp(base, ".") == 0 || *base == '\0') {
        *out = realpath(path, NULL);
        free(parent_real);
        free(copy);
        return *out ? PITR_OK : err_sys(err, PITR_CONFIG, "could not resolve \"%s\"", path);
    }
    *out = fs_path_join(parent_real, base);
    free(parent_real);
    free(copy);
    return PITR_OK;
}

/* A postmaster.pid whose process is alive: the directory belongs to a running server. */
static bool server_running(const char *dir)
{
    char *pidfile = fs_path_join(dir, "postmaster.pid");
    struct buf text;
    struct pitr_err ignored;
    bool running = false;
    uint64_t pid;

    buf_init(&text, 4096);
    if (fs_read_file(pidfile, &text, &ignored) == PITR_OK && text.len > 0) {
        char *line = (char *)text.data;

        line[strcspn(line, "\n")] = '\0';
        running = str_parse_u64(line, "pid", &pid, &ignored) == PITR_OK && pid > 0 &&
                  pid < INT_MAX && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
    }
    buf_fini(&text);
    free(pidfile);
    return running;
}

static enum pitr_rc dir_is_empty(const char *path, bool *empty, struct pitr_err *err)
{
    DIR *d = opendir(path);
    struct dirent *e;

    if (d == NULL) {
        return err_sys(err, PITR_IO, "could not open directory \"%s\"", path);
    }
    *empty = true;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            *empty = false;
            break;
        }
    }
    closedir(d);
    return PITR_OK;
}

/* Refuses d, a location from the backup record, for the reason fmt formats (a phrase that
 * follows the location; it may be err's own message): one line naming the tablespace, its
 * location and the way out. */
static enum pitr_rc refuse_location(const struct dest *d, enum pitr_rc rc, struct pitr_err *err,
                                    const char *fmt, ...) PITR_PRINTF(4, 5);
static enum pitr_rc refuse_location(const struct dest *d, enum pitr_rc rc, struct pitr_err *err,
                                    const char *fmt, ...)
{
    char reason[sizeof(err->msg)];
    char *shown = dest_printable(d->location);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    err_set(err, rc,
            "tablespace %u: its location in the backup record, \"%s\", %s; restore it elsewhere "
            "with --tablespace-map OLD=NEW",
            d->oid, shown, reason);
    free(shown);
    return rc;
}

/* Checks one destination without changing anything. */
static enum pitr_rc check_dest(struct job *j, struct dest *d, struct pitr_err *err)
{
    bool record = d->origin == DEST_RECORD;
    struct stat st;
    bool empty = false;
    enum pitr_rc rc;

    if (lstat(d->path, &st) != 0) {
        if (errno == ENOENT) {
            return PITR_OK; /* created later */
        }
        return err_sys(err, PITR_IO, "could not examine \"%s\"", d->path);
    }
    if (!S_ISDIR(st.st_mode)) {
        return record ? refuse_location(d, PITR_CONFIG, err, "exists and is not a directory")
                      : err_set(err, PITR_CONFIG, "\"%s\" exists and is not a directory", d->path);
    }
    if (server_running(d->path)) {
        return record ? refuse_location(d, PITR_CONFIG, err,
                                        "belongs to a running PostgreSQL server (postmaster.pid)")
                      : err_set(err, PITR_CONFIG,
                                "\"%s\" belongs to a running PostgreSQL server (postmaster.pid): "
                                "stop it first, or restore into another directory",
                                d->path);
    }
    rc = dir_is_empty(d->path, &empty, err);
    /* --force moves aside only what the user named; a location from the backup record is never
     * moved (the repository must not choose a directory of ours to empty), even with --force */
    if (rc == PITR_OK && !empty && record) {
        return refuse_location(d, PITR_CONFIG, err,
                               "is not empty, and a location from the backup record is never "
                               "moved aside, even with --force");
    }
    if (rc == PITR_OK && !empty && !j->o->force) {
        return err_set(err, PITR_CONFIG,
                       "\"%s\" is not empty: restore into an empty directory, or use --force to "
                       "move its contents aside (nothing is deleted)",
                       d->path);
    }
    d->exists = rc == PITR_OK && empty;
    return rc;
}

/* Where the user mapped the tablespace at `location` (--tablespace-map), or NULL. */
static const char *mapped_location(const struct restore_options *o, const char *location)
{
    for (size_t i = 0; i < o->n_moves; i++) {
        if (strcmp(o->moves[i].from, location) == 0) {
            return o->moves[i].to;
        }
    }
    return NULL;
}

static char *describe_dest(const struct dest *d)
{
    return d->oid == 0 ? xstrdup("the data directory")
                       : xasprintf("the destination of tablespace %u", d->oid);
}

/* No destination may lie inside another: files of one would be written into the other. Paths
 * are normalised and resolved, so comparing components is enough. */
static enum pitr_rc check_overlaps(const struct job *j, struct pitr_err *err)
{
    for (size_t a = 0; a < j->n_dests; a++) {
        for (size_t c = a + 1; c < j->n_dests; c++) {
            const struct dest *inner = &j->dests[a];
            const struct dest *outer = &j->dests[c];
            char *name;
            enum pitr_rc rc;

            if (dest_path_within(outer->path, inner->path)) {
                inner = &j->dests[c];
                outer = &j->dests[a];
            } else if (!dest_path_within(inner->path, outer->path)) {
                continue;
            }
            if (inner->origin != DEST_RECORD && outer->origin != DEST_RECORD) {
                return err_set(err, PITR_CONFIG,
                               "\"%s\" and \"%s\" overlap: restore the data directory and each "
                               "tablespace into separate directories (--tablespace-map)",
                               j->dests[a].path, j->dests[c].path);
            }
            name = describe_dest(inner->origin == DEST_RECORD ? outer : inner);
            rc = inner->origin == DEST_RECORD
                     ? refuse_location(inner, PITR_CONFIG, err, "lies inside %s, \"%s\"", name,
                                       outer->path)
                     : refuse_location(outer, PITR_CONFIG, err, "contains %s, \"%s\"", name,
                                       inner->path);
            free(name);
            return rc;
        }
    }
    return PITR_OK;
}

/* Decides each destination's path, without looking at what is there. A location from the
 * backup record is kept as written (it is checked, never resolved), so the plan shows exactly
 * where files would go. */
static enum pitr_rc resolve_dests(struct job *j, struct pitr_err *err)
{
    const struct backup_record *b = &j->plan.backup;
    enum pitr_rc rc;

    for (size_t i = 0; i < j->o->n_moves; i++) {
        bool known = false;

        for (size_t t = 0; t < b->n_tablespaces; t++) {
            known = known || strcmp(b->tablespaces[t].location, j->o->moves[i].from) == 0;
        }
        if (!known) {
            return err_set(err, PITR_CONFIG,
                           "--tablespace-map \"%s\": backup %s has no tablespace there (see "
                           "pitr-catalog show %s)",
                           j->o->moves[i].from, b->id, b->id);
        }
    }
    j->dests = xcalloc(b->n_tablespaces + 1, sizeof(*j->dests));
    rc = absolute_path(j->o->target_dir, &j->dests[0].path, err);
    j->dests[0].origin = DEST_TARGET_DIR;
    j->n_dests = 1;
    for (size_t t = 0; rc == PITR_OK && t < b->n_tablespaces; t++) {
        struct dest *d = &j->dests[j->n_dests];
        const char *to = mapped_location(j->o, b->tablespaces[t].location);

        d->oid = b->tablespaces[t].oid;
        d->location = b->tablespaces[t].location;
        if (j->o->tablespace_root != NULL) {
            /* a drill never writes to (or refuses over) a production tablespace's location */
            char *loc = xasprintf("%s/%u", j->o->tablespace_root, d->oid);

            d->origin = DEST_DRILL;
            rc = absolute_path(loc, &d->path, err);
            free(loc);
        } else if (to != NULL) {
            d->origin = DEST_MAPPED;
            rc = absolute_path(to, &d->path, err);
        } else {
            d->origin = DEST_RECORD;
            d->path = xstrdup(d->location);
        }
        j->n_dests++;
    }
    return rc;
}

/* The destinations, as part of the plan: everything the restore will write. */
static void print_dests(const struct job *j)
{
    static const char *const origins[] = {
        [DEST_TARGET_DIR] = "--target-dir",
        [DEST_MAPPED] = "--tablespace-map",
        [DEST_RECORD] = "its location in the backup",
        [DEST_DRILL] = "the drill's directory",
    };

    say(j, "  data dir:     %s\n", j->dests[0].path);
    for (size_t i = 1; i < j->n_dests; i++) {
        const struct dest *d = &j->dests[i];
        char *location = dest_printable(d->location);
        char *path = dest_printable(d->path);

        say(j, "  tablespace:   %u at %s -> %s (%s)\n", d->oid, location, path, origins[d->origin]);
        free(location);
        free(path);
    }
}

/* Checks every location taken from the backup record against dest.h's rules: as text, or
 * (on_disk) the components that exist. */
static enum pitr_rc check_record_locations(const struct job *j, bool on_disk, struct pitr_err *err)
{
    struct dest_protected *prot = NULL;
    size_t n_prot = 0;
    enum pitr_rc rc = PITR_OK;

    if (!on_disk) {
        dest_protected_list(&prot, &n_prot);
    }
    for (size_t i = 1; rc == PITR_OK && i < j->n_dests; i++) {
        const struct dest *d = &j->dests[i];

        if (d->origin != DEST_RECORD) {
            continue;
        }
        rc = on_disk ? dest_check_components(d->path, err)
                     : dest_check_record_location(d->location, prot, n_prot, err);
        if (rc != PITR_OK) {
            rc = refuse_location(d, rc, err, "%s", err->msg);
        }
    }
    dest_protected_free(prot, n_prot);
    return rc;
}

/* Decides, prints and checks every destination; writes nothing. */
static enum pitr_rc plan_dests(struct job *j, struct pitr_err *err)
{
    enum pitr_rc rc = resolve_dests(j, err);

    if (rc == PITR_OK) {
        print_dests(j);
        rc = check_record_locations(j, false, err);
    }
    /* overlaps before the disk: a location inside a data directory not yet created is named as
     * such, not as a missing parent */
    if (rc == PITR_OK) {
        rc = check_overlaps(j, err);
    }
    if (rc == PITR_OK) {
        rc = check_record_locations(j, true, err);
    }
    for (size_t i = 0; rc == PITR_OK && i < j->n_dests; i++) {
        rc = check_dest(j, &j->dests[i], err);
        if (rc != PITR_OK && j->dests[i].origin == DEST_MAPPED) {
            err_prefix(err, "tablespace %u (map it elsewhere with --tablespace-map OLD=NEW)",
                       j->dests[i].oid);
        }
    }
    return rc;
}

/* Moves a non-empty destination aside (with --force) and creates it empty. */
static enum pitr_rc prepare_dest(struct job *j, struct dest *d, struct pitr_err *err)
{
    struct stat st;

    if (!d->exists && lstat(d->path, &st) == 0) {
        char stamp[32];
        time_t now = time(NULL);
        struct tm tm;

        /* checked as absent, now present: only the user's own choices are ever moved aside */
        if (d->origin == DEST_RECORD) {
            return refuse_location(d, PITR_CONFIG, err,
                                   "appeared while restoring, and a location from the backup "
                                   "record is never moved aside");
        }
        gmtime_r(&now, &tm);
        strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
        d->saved_path = xasprintf("%s.pitr-saved-%s", d->path, stamp);
        if (rename(d->path, d->saved_path) != 0) {
            return err_sys(err, PITR_IO, "could not move \"%s\" aside to \"%s\"", d->path,
                           d->saved_path);
        }
        say(j, "moved the old contents of %s to %s\n", d->path, d->saved_path);
    }
    if (mkdir(d->path, 0700) != 0 && errno != EEXIST) {
        return err_sys(err, PITR_IO, "could not create directory \"%s\"", d->path);
    }
    if (chmod(d->path, 0700) != 0) {
        return err_sys(err, PITR_IO, "could not set the mode of \"%s\"", d->path);
    }
    return PITR_OK;
}

static enum pitr_rc object_key(const struct job *j, const char *name, char out[KEY_MAX],
                               struct pitr_err *err)
{
    return backup_key(j->repo.cluster, j->plan.backup.id, name, out, KEY_MAX, err);
}

/* Before anything is written, every object of the backup must be there and, with a key, be the
 * object its name says (its first 64 bytes, one ranged read each): a forged or swapped object
 * is refused while the destinations are still untouched. Its content is checked as it is read. */
static enum pitr_rc check_backup_objects(const struct job *j, struct pitr_err *err)
{
    enum pitr_rc rc = PITR_OK;

    for (size_t i = 0; rc == PITR_OK && i < j->plan.backup.n_objects; i++) {
        char key[KEY_MAX];

        rc = object_key(j, j->plan.backup.objects[i].name, key, err);
        if (rc == PITR_OK) {
            rc = repo_check_object(&j->repo, key, err);
        }
        if (rc == PITR_NOT_FOUND) {
            rc = err_set(err, PITR_CORRUPT,
                         "%s is missing from the repository: backup %s is damaged", key,
                         j->plan.backup.id);
        } else if (rc != PITR_OK) {
            err_prefix(err, "backup %s cannot be restored", j->plan.backup.id);
        }
    }
    return rc;
}

static void on_read(void *arg, uint64_t bytes)
{
    struct job *j = arg;

    progress_update(&j->progress, j->read_before + bytes);
}

/* Streams one stored object through the reader into sink, and checks it is the object the
 * backup record names (a swapped or replaced object fails here even if it is self-consistent). */
static enum pitr_rc read_object(struct job *j, const struct backup_object *o, struct filter *sink,
                                struct pitr_err *err)
{
    char key[KEY_MAX];
    struct filter *reader = NULL;
    struct filter *counter = NULL;
    struct object_summary sum;
    enum pitr_rc rc = object_key(j, o->name, key, err);

    if (rc == PITR_OK) {
        reader = object_reader_new(sink, j->repo.key, j->repo.info.sysid, key);
        counter = filter_chain(size_filter_new_notify(on_read, j), reader);
        rc = storage_read(j->repo.storage, key, counter, err);
        j->read_before += o->stored_size;
    }
    if (rc == PITR_NOT_FOUND) {
        rc = err_set(err, PITR_CORRUPT, "%s is missing from the repository: the backup is damaged",
                     key);
    }
    if (rc == PITR_OK) {
        object_reader_summary(reader, &sum);
        if (sum.raw_size != o->raw_size || memcmp(sum.sha256, o->sha256, SHA256_LEN) != 0) {
            rc = err_set(err, PITR_CORRUPT,
                         "%s is not the object backup.info records (size or SHA-256 differs): "
                         "the backup is damaged",
                         key);
        }
    }
    filter_free(counter);
    filter_free(reader);
    return rc;
}

static const struct backup_object *find_object(const struct backup_record *b, const char *name)
{
    for (size_t i = 0; i < b->n_objects; i++) {
        if (strcmp(b->objects[i].name, name) == 0) {
            return &b->objects[i];
        }
    }
    return NULL;
}

static enum pitr_rc load_manifest(struct job *j, struct pitr_err *err)
{
    const struct backup_object *o = find_object(&j->plan.backup, "backup_manifest");
    struct filter *sink;
    enum pitr_rc rc;

    if (o == NULL) {
        return err_set(err, PITR_CORRUPT, "backup %s records no backup_manifest",
                       j->plan.backup.id);
    }
    buf_init(&j->manifest_text, MANIFEST_MAX);
    sink = buf_sink_new(&j->manifest_text);
    rc = read_object(j, o, sink, err);
    filter_free(sink);
    if (rc == PITR_OK) {
        rc = manifest_parse((const char *)j->manifest_text.data, j->manifest_text.len, &j->manifest,
                            err);
    }
    return rc;
}

static const struct dest *dest_for_oid(const struct job *j, uint32_t oid)
{
    for (size_t i = 1; i < j->n_dests; i++) {
        if (j->dests[i].oid == oid) {
            return &j->dests[i];
        }
    }
    return NULL;
}

/* "pg_tblspc/<oid>" symlinks from base.tar become links to where each tablespace was restored. */
static enum pitr_rc make_tablespace_links(struct job *j, const struct extract *x,
                                          struct pitr_err *err)
{
    for (size_t i = 0; i < extract_symlink_count(x); i++) {
        const char *name;
        const char *target;
        uint64_t oid = 0;
        const struct dest *d;
        char *path;
        struct pitr_err ignored;
        int r;

        extract_symlink(x, i, &name, &target);
        if (!str_has_prefix(name, "pg_tblspc/") ||
            str_parse_u64(name + strlen("pg_tblspc/"), "oid", &oid, &ignored) != PITR_OK ||
            (d = dest_for_oid(j, (uint32_t)oid)) == NULL) {
            return err_set(err, PITR_CORRUPT,
                           "base.tar holds a symlink \"%s\" that is not a tablespace of the "
                           "backup record",
                           name);
        }
        path = fs_path_join(j->dests[0].path, name);
        r = symlink(d->path, path);
        free(path);
        if (r != 0) {
            return err_sys(err, PITR_IO, "could not link %s/%s to \"%s\"", j->dests[0].path, name,
                           d->path);
        }
    }
    return PITR_OK;
}

/* Extracts one tar object into its destination. */
static enum pitr_rc restore_archive(struct job *j, const struct backup_object *o,
                                    struct pitr_err *err)
{
    uint64_t oid = 0;
    const struct dest *d = &j->dests[0];
    char prefix[64] = "";
    struct extract *x;
    struct filter *handoff;
    struct pitr_err ignored;
    enum pitr_rc rc;
    double t = elapsed_s(j);

    if (strcmp(o->name, "base.tar") != 0) {
        char digits[64];

        snprintf(digits, sizeof(digits), "%.*s", (int)(strlen(o->name) - 4), o->name);
        if (str_parse_u64(digits, "oid", &oid, &ignored) != PITR_OK ||
            (d = dest_for_oid(j, (uint32_t)oid)) == NULL) {
            return err_set(err, PITR_CORRUPT, "backup object %s is not a tablespace of the record",
                           o->name);
        }
        snprintf(prefix, sizeof(prefix), "pg_tblspc/%" PRIu64 "/", oid);
    }
    x = extract_new(d->path, prefix, j->manifest);
    /* decryption, decompression and the object's checksum on this thread; parsing, the
     * per-file checksums and writing on a worker: each side is about half the work */
    handoff = filter_chain(async_filter_new(RESTORE_CHUNK, RESTORE_DEPTH), extract_sink(x));
    rc = read_object(j, o, handoff, err);
    if (rc == PITR_OK && oid == 0) {
        rc = make_tablespace_links(j, x, err);
    }
    if (rc == PITR_OK) {
        char size[16];

        j->bytes += extract_bytes(x);
        str_human_bytes(extract_bytes(x), size);
        say(j, "restored %-16s %10s in %.1f s into %s\n", o->name, size, elapsed_s(j) - t, d->path);
    }
    filter_free(handoff);
    extract_free(x);
    return rc;
}

static enum pitr_rc ensure_dir(const char *root, const char *name, struct pitr_err *err)
{
    char *path = fs_path_join(root, name);
    enum pitr_rc rc = PITR_OK;

    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        rc = err_sys(err, PITR_IO, "could not create directory \"%s\"", path);
    }
    free(path);
    return rc;
}

/* Writes a whole new file (exclusive) and fsyncs it. */
static enum pitr_rc write_new_file(const char *path, const char *text, size_t len, int flags,
                                   struct pitr_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | flags, 0600);
    enum pitr_rc rc;

    if (fd < 0) {
        return err_sys(err, PITR_IO, "could not open \"%s\"", path);
    }
    rc = fs_write_all(fd, text, len, path, err);
    if (rc == PITR_OK && fsync(fd) != 0) {
        rc = err_sys(err, PITR_IO, "could not fsync \"%s\"", path);
    }
    if (close(fd) != 0 && rc == PITR_OK) {
        rc = err_sys(err, PITR_IO, "could not close \"%s\"", path);
    }
    return rc;
}

/* Appends s to out quoted for a POSIX shell, then the whole line is quoted for postgresql.conf:
 * restore_command is run by /bin/sh, and its value is a single-quoted configuration string. */
static enum pitr_rc append_shell_word(struct buf *out, const char *s, struct pitr_err *err)
{
    enum pitr_rc rc = buf_printf(out, err, "'");

    for (const char *p = s; rc == PITR_OK && *p != '\0'; p++) {
        rc = *p == '\'' ? buf_printf(out, err, "'\\''") : buf_printf(out, err, "%c", *p);
    }
    return rc == PITR_OK ? buf_printf(out, err, "'") : rc;
}

static enum pitr_rc append_conf_string(struct buf *out, const char *key, const char *value,
                                       struct pitr_err *err)
{
    enum pitr_rc rc = buf_printf(out, err, "%s = '", key);

    for (const char *p = value; rc == PITR_OK && *p != '\0'; p++) {
        rc = *p == '\'' ? buf_printf(out, err, "''") : buf_printf(out, err, "%c", *p);
    }
    return rc == PITR_OK ? buf_printf(out, err, "'\n") : rc;
}

/* pitr-fetch is installed next to pitr-restore. */
static enum pitr_rc fetch_path(char **out, struct pitr_err *err)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    char *slash;

    if (n <= 0) {
        return err_sys(err, PITR_IO, "could not find this program's own path");
    }
    self[n] = '\0';
    slash = strrchr(self, '/');
    *slash = '\0';
    *out = fs_path_join(self, "pitr-fetch");
    if (access(*out, X_OK) != 0) {
        enum pitr_rc rc = err_sys(err, PITR_CONFIG,
                                  "pitr-fetch is not installed next to pitr-restore (%s)", *out);

        free(*out);
        *out = NULL;
        return rc;
    }
    return PITR_OK;
}

static enum pitr_rc recovery_settings(const struct job *j, struct buf *out, struct pitr_err *err)
{
    const struct restore_options *o = j->o;
    struct buf cmd;
    char *fetch = NULL;
    char *config = NULL;
    char now_text[TIMESTAMP_TEXT_LEN];
    enum pitr_rc rc = fetch_path(&fetch, err);

    buf_init(&cmd, 16384);
    timestamp_format((int64_t)time(NULL) * 1000000, now_text);
    if (rc == PITR_OK && j->cfg->source != NULL) {
        config = realpath(j->cfg->source, NULL);
        if (config == NULL) {
            rc = err_sys(err, PITR_CONFIG, "could not resolve \"%s\"", j->cfg->source);
        }
    }
    if (rc == PITR_OK) {
        rc = append_shell_word(&cmd, fetch, err);
    }
    if (rc == PITR_OK && config != NULL) {
        rc = buf_printf(&cmd, err, " --config ");
        if (rc == PITR_OK) {
            rc = append_shell_word(&cmd, config, err);
        }
    }
    if (rc == PITR_OK) {
        rc = buf_printf(&cmd, err, " %%f %%p");
    }
    if (rc == PITR_OK) {
        rc =
            buf_printf(out, err, "\n# pitr-restore %s: backup %s, recovery from the pitr archive\n",
                       now_text, j->plan.backup.id);
    }
    if (rc == PITR_OK) {
        rc = append_conf_string(out, "restore_command", (const char *)cmd.data, err);
    }
    if (rc == PITR_OK) {
        char tli[16];

        snprintf(tli, sizeof(tli), "%u", j->plan.target_tli);
        rc = append_conf_string(out, "recovery_target_timeline", tli, err);
    }
    if (rc == PITR_OK) {
        char text[TIMESTAMP_TEXT_LEN];
        char lsn[18];

        switch (o->target) {
        case RESTORE_TO_TIME:
            timestamp_format(o->time_us, text);
            rc = append_conf_string(out, "recovery_target_time", text, err);
            break;
        case RESTORE_TO_LSN:
            wal_lsn_format(o->lsn, lsn);
            rc = append_conf_string(out, "recovery_target_lsn", lsn, err);
            break;
        case RESTORE_TO_XID:
            rc = append_conf_string(out, "recovery_target_xid", o->value, err);
            break;
        case RESTORE_TO_NAME:
            rc = append_conf_string(out, "recovery_target_name", o->value, err);
            break;
        case RESTORE_TO_IMMEDIATE:
            rc = append_conf_string(out, "recovery_target", "immediate", err);
            break;
        case RESTORE_TO_LATEST:
            break;
        }
    }
    if (rc == PITR_OK && o->port != 0) {
        rc = buf_printf(out, err, "port = %u\n", o->port);
    }
    if (rc == PITR_OK && o->no_archive) {
        rc = buf_printf(out, err, "archive_mode = off\n");
    }
    if (rc == PITR_OK && o->target != RESTORE_TO_LATEST) {
        rc = append_conf_string(out, "recovery_target_action", o->action ? o->action : "promote",
                                err);
    }
    if (rc == PITR_OK && o->extra_settings != NULL) {
        rc = buf_printf(out, err, "%s", o->extra_settings);
    }
    free(fetch);
    free(config);
    buf_fini(&cmd);
    return rc;
}

/* Appends the recovery settings to postgresql.auto.conf (later lines win over the backup's) and
 * creates recovery.signal, last: only a fully restored directory starts recovery. */
static enum pitr_rc configure_recovery(struct job *j, struct pitr_err *err)
{
    const char *root = j->dests[0].path;
    char *auto_conf = fs_path_join(root, "postgresql.auto.conf");
    char *signal = fs_path_join(root, "recovery.signal");
    char *manifest = fs_path_join(root, "backup_manifest");
    struct buf text;
    enum pitr_rc rc;

    buf_init(&text, 65536);
    rc = recovery_settings(j, &text, err);
    if (rc == PITR_OK) {
        rc = write_new_file(auto_conf, (const char *)text.data, text.len, O_APPEND, err);
    }
    /* kept for pg_verifybackup, as pg_basebackup leaves it */
    if (rc == PITR_OK) {
        rc = write_new_file(manifest, (const char *)j->manifest_text.data, j->manifest_text.len,
                            O_EXCL, err);
    }
    if (rc == PITR_OK) {
        rc = write_new_file(signal, "", 0, O_EXCL, err);
    }
    if (rc == PITR_OK) {
        rc = fs_fsync_dir(signal, err); /* the data directory itself */
    }
    buf_fini(&text);
    free(auto_conf);
    free(signal);
    free(manifest);
    return rc;
}

/* Flushes every restored file to disk before recovery is configured. */
static enum pitr_rc sync_dests(struct job *j, struct pitr_err *err)
{
    for (size_t i = 0; i < j->n_dests; i++) {
        int fd = open(j->dests[i].path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r;

        if (fd < 0) {
            return err_sys(err, PITR_IO, "could not open \"%s\"", j->dests[i].path);
        }
        r = syncfs(fd);
        close(fd);
        if (r != 0) {
            return err_sys(err, PITR_IO, "could not sync the file system of \"%s\"",
                           j->dests[i].path);
        }
    }
    return PITR_OK;
}

static enum pitr_rc restore_files(struct job *j, struct pitr_err *err)
{
    const struct backup_record *b = &j->plan.backup;
    enum pitr_rc rc = PITR_OK;

    for (size_t i = 0; rc == PITR_OK && i < j->n_dests; i++) {
        rc = prepare_dest(j, &j->dests[i], err);
    }
    progress_init(&j->progress, j->o->progress && !j->o->quiet, b->stored_bytes);
    if (rc == PITR_OK) {
        rc = load_manifest(j, err);
    }
    for (size_t i = 0; rc == PITR_OK && i < b->n_objects; i++) {
        if (str_has_suffix(b->objects[i].name, ".tar")) {
            rc = restore_archive(j, &b->objects[i], err);
        }
    }
    if (rc == PITR_OK) {
        progress_end(&j->progress);
        rc = extract_check_complete(j->manifest, err);
    }
    /* WAL is not in the backup; PostgreSQL needs the directories to fetch it into */
    if (rc == PITR_OK) {
        rc = ensure_dir(j->dests[0].path, "pg_wal", err);
    }
    if (rc == PITR_OK) {
        rc = ensure_dir(j->dests[0].path, "pg_wal/archive_status", err);
    }
    if (rc == PITR_OK) {
        rc = sync_dests(j, err);
    }
    if (rc == PITR_OK) {
        rc = configure_recovery(j, err);
    }
    return rc;
}

static enum pitr_rc open_repository(struct job *j, struct pitr_err *err)
{
    enum pitr_rc rc = repo_session_open(j->cfg, NULL, &j->repo, err);

    return rc == PITR_OK ? repo_require_cluster(&j->repo, err) : rc;
}

static void print_done(const struct job *j)
{
    char size[16];

    str_human_bytes(j->bytes, size);
    say(j,
        "restored backup %s into %s (%s in %.1f s)\n"
        "recovery is configured (postgresql.auto.conf, recovery.signal): start the server, e.g.\n"
        "  pg_ctl -D %s start\n"
        "and it replays the archived WAL to the target, then %s\n",
        j->plan.backup.id, j->dests[0].path, size, elapsed_s(j), j->dests[0].path,
        j->o->target == RESTORE_TO_LATEST ? "ends recovery at the end of the archive"
        : j->o->action == NULL || strcmp(j->o->action, "promote") == 0
            ? "promotes to a new timeline"
            : j->o->action);
}

/* Compares the point recovery reached with the target: PostgreSQL itself refuses to end recovery
 * short of a target, so this catches only a recovery that went too far. */
static enum pitr_rc check_reached(const struct job *j, const struct start_result *r,
                                  struct pitr_err *err)
{
    char when[TIMESTAMP_TEXT_LEN] = "none";
    char lsn[18];

    if (r->has_xact_time) {
        timestamp_format(r->last_xact_us, when);
    }
    wal_lsn_format(r->replay_lsn, lsn);
    say(j, "recovery %s: last replayed transaction %s, LSN %s%s", r->promoted ? "ended" : "paused",
        when, lsn, r->promoted ? "" : " (paused at the target: pg_wal_replay_resume() promotes)");
    if (r->promoted) {
        say(j, ", now on timeline %u", r->tli);
    }
    say(j, "\n");
    if (r->replay_lsn < j->plan.backup.stop_lsn) {
        return err_set(err, PITR_PROTOCOL,
                       "recovery ended at %s, before the backup was consistent: the restore is "
                       "not usable",
                       lsn);
    }
    if (j->o->target == RESTORE_TO_TIME && r->has_xact_time && r->last_xact_us > j->o->time_us) {
        return err_set(err, PITR_PROTOCOL,
                       "recovery replayed a transaction at %s, after the target: check the "
                       "server's log",
                       when);
    }
    if (j->o->target == RESTORE_TO_LSN && r->replay_lsn < j->o->lsn) {
        return err_set(err, PITR_PROTOCOL, "recovery ended at %s, before the target LSN", lsn);
    }
    return PITR_OK;
}

static enum pitr_rc start_server(struct job *j, struct pitr_err *err)
{
    char bin[64];
    struct start_result r;
    char *log_path = fs_path_join(j->dests[0].path, "pitr-restore-server.log");
    const char *pg_bin = j->o->pg_bin;
    enum pitr_rc rc;

    double t = elapsed_s(j);

    if (pg_bin == NULL) {
        snprintf(bin, sizeof(bin), "/usr/lib/postgresql/%u/bin",
                 j->plan.backup.pg_version_num / 10000);
        pg_bin = bin;
    }
    snprintf(j->report->pg_bin, sizeof(j->report->pg_bin), "%s", pg_bin);
    say(j, "starting the restored server (log: %s)\n", log_path);
    j->report->started = true;
    rc = start_and_follow(j->dests[0].path, pg_bin, log_path, j->o->quiet, &r, err);
    j->report->recovery_s = elapsed_s(j) - t;
    if (rc == PITR_OK) {
        j->report->recovered = true;
        j->report->reached = r;
        rc = check_reached(j, &r, err);
    }
    free(log_path);
    return rc;
}

enum pitr_rc restore_run(const struct config *cfg, const struct restore_options *opts,
                         struct restore_report *report, struct pitr_err *err)
{
    struct job j;
    struct restore_report unused;
    enum pitr_rc rc = PITR_OK;

    memset(&j, 0, sizeof(j));
    j.cfg = cfg;
    j.o = opts;
    j.report = report != NULL ? report : &unused;
    memset(j.report, 0, sizeof(*j.report));
    clock_gettime(CLOCK_MONOTONIC, &j.t0);
    if (geteuid() == 0) {
        return err_set(err, PITR_CONFIG,
                       "pitr-restore must not run as root: PostgreSQL would not start from "
                       "root-owned files; run it as the server's OS user (e.g. runuser -u "
                       "postgres -- pitr-restore ...)");
    }
    rc = open_repository(&j, err);
    if (rc == PITR_OK) {
        rc = restore_plan_build(&j.repo, opts, &j.plan, err);
        j.planned = rc == PITR_OK;
    }
    if (j.planned) {
        snprintf(j.report->backup_id, sizeof(j.report->backup_id), "%s", j.plan.backup.id);
    }
    if (rc == PITR_OK && !opts->quiet) {
        restore_plan_print(&j.plan, opts);
    }
    if (rc == PITR_OK) {
        rc = plan_dests(&j, err);
    }
    if (rc == PITR_OK) {
        rc = check_backup_objects(&j, err);
    }
    if (rc == PITR_OK && opts->dry_run) {
        say(&j, "dry run: nothing was written\n");
    } else if (rc == PITR_OK) {
        double t = elapsed_s(&j);

        rc = restore_files(&j, err);
        j.report->restore_s = elapsed_s(&j) - t;
        if (rc == PITR_OK && !opts->start) {
            print_done(&j);
        } else if (rc == PITR_OK) {
            rc = start_server(&j, err);
        } else {
            err_prefix(err,
                       "restore into %s failed, the directory is incomplete and was not "
                       "configured for recovery",
                       j.dests[0].path);
        }
    }
    if (j.planned) {
        restore_plan_fini(&j.plan);
    }
    for (size_t i = 0; i < j.n_dests; i++) {
        free(j.dests[i].path);
        free(j.dests[i].saved_path);
    }
    free(j.dests);
    manifest_free(j.manifest);
    buf_fini(&j.manifest_text);
    repo_session_close(&j.repo);
    return rc;
}

/* dest: where a location from the backup record may not take a restore. The text checks come
 * first and need nothing but the string; a path that passes them has exactly one spelling, so
 * comparing it with other normalised paths, component by component, is sound. */
#include "dest.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/xalloc.h"

/* System directories whose files are read as configuration by other programs, often as root, so
 * a planted file there grants access or runs code: /etc (sudoers.d, cron.d, ssh, profile.d,
 * systemd units, ld.so.preload), /usr/local/etc (the same for locally installed software),
 * /var/spool/cron (crontabs: each runs commands as its owner) and /root (root's .ssh and shell
 * start-up files). Most are writable only by root, whom pitr-restore refuses; the list guards
 * against a group-writable or misconfigured one. */
static const char *const system_dirs[] = {"/etc", "/usr/local/etc", "/var/spool/cron", "/root"};

static bool is_control(char c)
{
    return (unsigned char)c < 0x20 || c == 0x7f;
}

enum pitr_rc dest_check_normalised(const char *path, struct pitr_err *err)
{
    const char *p;

    if (path[0] != '/') {
        return err_set(err, PITR_CONFIG, "is not absolute");
    }
    for (p = path; *p != '\0'; p++) {
        if (is_control(*p)) {
            return err_set(err, PITR_CONFIG, "has a control character");
        }
    }
    if (strcmp(path, "/") == 0) {
        return PITR_OK;
    }
    if (path[strlen(path) - 1] == '/') {
        return err_set(err, PITR_CONFIG, "ends in a slash");
    }
    for (p = path + 1;; p++) {
        size_t len = strcspn(p, "/");

        if (len == 0) {
            return err_set(err, PITR_CONFIG, "has an empty component (\"//\")");
        }
        if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.')) {
            return err_set(err, PITR_CONFIG, "has a \".\" or \"..\" component");
        }
        p += len;
        if (*p == '\0') {
            return PITR_OK;
        }
    }
}

bool dest_path_within(const char *path, const char *root)
{
    size_t len = strlen(root);

    if (strcmp(root, "/") == 0) {
        return true;
    }
    return strncmp(path, root, len) == 0 && (path[len] == '\0' || path[len] == '/');
}

enum pitr_rc dest_check_record_location(const char *location, const struct dest_protected *prot,
                                        size_t n, struct pitr_err *err)
{
    enum pitr_rc rc = dest_check_normalised(location, err);

    for (size_t i = 0; rc == PITR_OK && i < n; i++) {
        if (dest_path_within(location, prot[i].path)) {
            rc = err_set(err, PITR_CONFIG, "lies inside \"%s\", %s", prot[i].path, prot[i].what);
        } else if (dest_path_within(prot[i].path, location)) {
            rc = err_set(err, PITR_CONFIG, "contains \"%s\", %s", prot[i].path, prot[i].what);
        }
    }
    return rc;
}

enum pitr_rc dest_check_components(const char *path, struct pitr_err *err)
{
    char *copy = xstrdup(path);
    size_t len = strlen(copy);
    enum pitr_rc rc = PITR_OK;

    /* copy[0..i) is each ancestor in turn, then the path itself */
    for (size_t i = 1; rc == PITR_OK && i <= len; i++) {
        bool last = copy[i] == '\0';
        struct stat st;

        if (!last && copy[i] != '/') {
            continue;
        }
        copy[i] = '\0';
        if (lstat(copy, &st) != 0) {
            if (errno != ENOENT) {
                rc = err_sys(err, PITR_IO, "could not be examined at \"%s\"", copy);
            } else if (!last) {
                rc = err_set(err, PITR_CONFIG, "is in a directory that does not exist, \"%s\"",
                             copy);
            }
            break; /* the last component may be absent: it is created empty */
        }
        if (S_ISLNK(st.st_mode)) {
            rc = last ? err_set(err, PITR_CONFIG, "is a symbolic link")
                      : err_set(err, PITR_CONFIG, "goes through a symbolic link, \"%s\"", copy);
        } else if (!last && !S_ISDIR(st.st_mode)) {
            rc = err_set(err, PITR_CONFIG, "goes through \"%s\", which is not a directory", copy);
        }
        if (!last) {
            copy[i] = '/';
        }
    }
    free(copy);
    return rc;
}

static void add_protected(struct dest_protected **list, size_t *n, const char *path,
                          const char *what)
{
    struct pitr_err ignored;

    /* "/" as a home means the account has none of its own (a daemon's): protecting it would
     * refuse every location, and planting a file in "/" needs root, whom pitr-restore refuses */
    if (path == NULL || strcmp(path, "/") == 0 ||
        dest_check_normalised(path, &ignored) != PITR_OK) {
        return;
    }
    *list = xrealloc(*list, (*n + 1) * sizeof(**list));
    (*list)[*n].path = xstrdup(path);
    (*list)[*n].what = what;
    (*n)++;
}

/* Adds a home directory as written and, when it resolves elsewhere (a symlinked /home), as
 * resolved: a location without symbolic links is compared with the real directory. */
static void add_home(struct dest_protected **list, size_t *n, const char *home)
{
    static const char what[] = "the home directory of the restoring user";
    char *real;

    if (home == NULL) {
        return;
    }
    add_protected(list, n, home, what);
    real = realpath(home, NULL);
    if (real != NULL && strcmp(real, home) != 0) {
        add_protected(list, n, real, what);
    }
    free(real);
}

void dest_protected_list(struct dest_protected **out, size_t *n)
{
    struct dest_protected *list = NULL;
    size_t count = 0;
    const struct passwd *pw = getpwuid(geteuid());

    for (size_t i = 0; i < sizeof(system_dirs) / sizeof(system_dirs[0]); i++) {
        add_protected(&list, &count, system_dirs[i], "a system configuration directory");
    }
    add_home(&list, &count, pw != NULL ? pw->pw_dir : NULL);
    add_home(&list, &count, getenv("HOME"));
    *out = list;
    *n = count;
}

void dest_protected_free(struct dest_protected *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(list[i].path);
    }
    free(list);
}

char *dest_printable(const char *s)
{
    char *out = xmalloc(4 * strlen(s) + 1);
    size_t used = 0;

    for (; *s != '\0'; s++) {
        if (is_control(*s)) {
            used += (size_t)snprintf(out + used, 5, "\\x%02x", (unsigned)(unsigned char)*s);
        } else {
            out[used++] = *s;
        }
    }
    out[used] = '\0';
    return out;
}

/* dest: the rules a restore destination's path must meet before anything is written. A
 * tablespace location read from the backup record is repository input (STYLE.md 12): it chooses
 * where files go only if it is a normalised absolute path, through no symbolic link, and outside
 * the directories where a planted file grants access or runs code (the restoring user's home,
 * system configuration). The checks of text are pure; dest_check_components looks at the disk.
 * Every error here is a phrase that follows the path's name ("is not absolute"), for the caller
 * to build the one line that names the tablespace. */
#ifndef PITR_RESTORE_DEST_H
#define PITR_RESTORE_DEST_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

/* A directory a location from the backup record must not be, nor lie inside. */
struct dest_protected {
    char *path;       /* absolute and normalised (owned) */
    const char *what; /* why, a phrase: "the home directory of the restoring user" (static) */
};

/* Checks that path is absolute and normalised: no empty ("//"), "." or ".." component, no
 * trailing slash (only "/" itself ends in one), no control character. PITR_CONFIG otherwise. */
enum pitr_rc dest_check_normalised(const char *path, struct pitr_err *err) PITR_MUST_CHECK;

/* Whether path is root or lies inside it, component by component ("/a/bc" is not inside "/a/b").
 * Both are normalised absolute paths. */
bool dest_path_within(const char *path, const char *root);

/* Checks a tablespace location from the backup record as text: normalised (as above), and neither
 * one of the n protected directories nor inside one. PITR_CONFIG otherwise. */
enum pitr_rc dest_check_record_location(const char *location, const struct dest_protected *prot,
                                        size_t n, struct pitr_err *err) PITR_MUST_CHECK;

/* Checks path (normalised, absolute) on disk: no existing component is a symbolic link (the
 * link, not the path the plan showed, would choose where files go), every component above the
 * last exists and is a directory; the last may be absent. PITR_CONFIG when a rule is broken,
 * PITR_IO when a component cannot be examined. */
enum pitr_rc dest_check_components(const char *path, struct pitr_err *err) PITR_MUST_CHECK;

/* The protected directories for this process: a short list of system configuration directories,
 * then the home directory of the effective user (from the password database) and $HOME, each as
 * written and resolved. *out is the caller's, freed with dest_protected_free. */
void dest_protected_list(struct dest_protected **out, size_t *n);
void dest_protected_free(struct dest_protected *list, size_t n);

/* Returns s as a heap string (the caller's) with control characters shown as \xNN, so a location
 * from the repository cannot rewrite the terminal or log it is printed on. */
char *dest_printable(const char *s);

#endif

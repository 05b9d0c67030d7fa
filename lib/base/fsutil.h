/* fsutil: the few POSIX file operations every module needs, with EINTR, short writes and
 * fsync handled once. */
#ifndef PITR_BASE_FSUTIL_H
#define PITR_BASE_FSUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "err.h"

/* Opens path read-only into *fd_out; a missing file (or a path through a non-directory) is
 * PITR_NOT_FOUND, anything else PITR_IO. */
enum pitr_rc fs_open_read(const char *path, int *fd_out, struct pitr_err *err) PITR_MUST_CHECK;
/* Writes all of data to fd; `what` names the file in errors (ENOSPC reads as "disk full"). */
enum pitr_rc fs_write_all(int fd, const void *data, size_t len, const char *what,
                          struct pitr_err *err) PITR_MUST_CHECK;
/* Reads up to len bytes, retrying short reads; *got < len only at end of file. */
enum pitr_rc fs_read_full(int fd, void *data, size_t len, size_t *got, const char *what,
                          struct pitr_err *err) PITR_MUST_CHECK;
/* Reads a whole small file into out (appending); fails past out->max. PITR_NOT_FOUND if absent. */
enum pitr_rc fs_read_file(const char *path, struct buf *out, struct pitr_err *err) PITR_MUST_CHECK;
/* fsyncs the directory holding path (or path itself when is_dir), so a rename survives a crash. */
enum pitr_rc fs_fsync_dir(const char *path, struct pitr_err *err) PITR_MUST_CHECK;
/* Creates dir and its missing parents with mode (0700, say; the umask applies), existing ones
 * are fine. */
enum pitr_rc fs_mkdir_p(const char *dir, mode_t mode, struct pitr_err *err) PITR_MUST_CHECK;
/* Returns the heap string "<dir>/<name>" (no doubled slash). */
char *fs_path_join(const char *dir, const char *name);

#endif

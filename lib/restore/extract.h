/* extract: writes a base backup's tar archive into a directory, checking every file against the
 * backup manifest (size and SHA-256) as it is written; or, in check-only mode, only checks it,
 * writing nothing anywhere (pitr-catalog verify). Symlinks are not created here: the only
 * ones PostgreSQL sends are pg_tblspc/<oid>, which the caller points wherever the tablespace is
 * restored, after every file is written (so no file can ever be written through one). */
#ifndef PITR_RESTORE_EXTRACT_H
#define PITR_RESTORE_EXTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "pg/manifest.h"
#include "stream/filter.h"

struct extract;

/* Extracts into root (which must exist). Manifest paths of the entries are prefix + name (prefix
 * "" for the data directory, "pg_tblspc/<oid>/" for a tablespace). manifest is borrowed and may be
 * NULL (no checks); its entries are marked seen. */
struct extract *extract_new(const char *root, const char *prefix, struct manifest *manifest);
/* Reports one problem of a checked archive (the line names the archive and the file). */
typedef void extract_report_fn(void *arg, const char *line);

/* Check-only: the same parsing and checks as extract_new, but nothing is written, and a file that
 * does not match the manifest (size, SHA-256, not in it, twice) is reported through report(arg,
 * line) and the archive read on, so every damaged file is named (such a file counts as seen).
 * `what` (copied) names the archive in reports and errors. manifest may be NULL (tar structure
 * only). A damaged archive structure still fails the sink with PITR_CORRUPT. */
struct extract *extract_check_new(const char *what, const char *prefix, struct manifest *manifest,
                                  extract_report_fn *report, void *arg);
/* Files that did not match the manifest (check-only mode). */
size_t extract_problems(const struct extract *x);
/* The sink to stream the archive (plain tar) into; owned by the extract. */
struct filter *extract_sink(struct extract *x);
/* After the sink finished: the symlinks found (name relative to root, and target). */
size_t extract_symlink_count(const struct extract *x);
void extract_symlink(const struct extract *x, size_t i, const char **name, const char **target);
/* Bytes of file content written (checked, in check-only mode). */
uint64_t extract_bytes(const struct extract *x);
void extract_free(struct extract *x);

/* After every archive was extracted: PITR_CORRUPT naming the first manifest entry not restored. */
enum pitr_rc extract_check_complete(struct manifest *m, struct pitr_err *err) PITR_MUST_CHECK;

#endif

/* storage: the repository as a flat namespace of keys ("a/b/c") holding immutable objects,
 * behind one interface with a driver per backend (posix directory, S3, in-memory fake).
 * Missing objects are always PITR_NOT_FOUND, never PITR_IO: restore_command depends on it. */
#ifndef PITR_STORAGE_STORAGE_H
#define PITR_STORAGE_STORAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "stream/filter.h"

struct storage;

struct storage_info {
    uint64_t size;
    int64_t mtime; /* seconds since the epoch, 0 when unknown */
    bool is_dir;   /* only from non-recursive listings: a common prefix */
};

struct write_opts {
    /* Refuse to replace an existing object: finish returns PITR_EXISTS and the old object stays.
     * This is what keeps two archivers from overwriting each other's WAL. */
    bool no_overwrite;
    /* Expected size when known (0 = unknown); lets S3 choose single PUT vs multipart early. */
    uint64_t size_hint;
};

enum storage_list_flags {
    STORAGE_LIST_CHILDREN = 0,  /* immediate children; sub-prefixes reported with is_dir */
    STORAGE_LIST_RECURSIVE = 1, /* every object below dir */
};

/* Called once per listed key (full key relative to the repository root; borrowed for the call).
 * A non-OK return stops the listing and is returned by storage_list. */
typedef enum pitr_rc storage_list_fn(void *arg, const char *key, const struct storage_info *info,
                                     struct pitr_err *err);

struct s3_params {
    const char *bucket;
    const char *prefix;        /* key prefix inside the bucket, no leading or trailing slash */
    const char *endpoint;      /* "https://host[:port]" or "host[:port]" (https assumed) */
    const char *region;        /* e.g. "us-east-1" */
    bool virtual_host;         /* bucket.host addressing instead of host/bucket */
    bool verify_tls;           /* false only for testing; logged as a warning */
    const char *ca_file;       /* PEM bundle to trust instead of the system's, or NULL */
    const char *access_key;    /* borrowed for the call of s3_storage_new, which copies */
    const char *secret_key;    /* secret: copied into wiped memory, never logged */
    const char *session_token; /* optional */
    uint64_t part_size;        /* multipart part size and threshold (bytes, >= 5 MiB) */
    unsigned max_attempts;     /* attempts per request, >= 1 */
    unsigned max_retry_ms;     /* bound on total time spent retrying one request */
    unsigned connect_timeout_ms;
    unsigned low_speed_time_s; /* abort a transfer stalled below 1 KiB/s for this long */
    /* parts of one multipart upload sent at once, 1-32 (0: 4); an upload holds this many */
    unsigned upload_concurrency;
};

struct posix_params {
    const char *dir; /* absolute path of the repository root, created with its parents if missing */
    /* Share the repository through the directories' group: group-writable directories, and
     * directories of another user whose group is one of ours, are accepted; new directories are
     * 0770 and files 0640 instead of 0700 and 0600 (the umask applies to both). */
    bool group_access;
};

/* Opens a posix repository; params and its strings are borrowed for the call. Before creating or
 * removing anything, the driver checks every directory from the root down to the one it works in:
 * one that another user owns, or that group (without group_access) or others can write, is
 * refused with PITR_CONFIG and a message naming it and the fix, because whoever can write it can
 * swap what pitr creates there. Reads are not checked: what is read is verified by content. */
struct storage *posix_storage_new(const struct posix_params *params, struct pitr_err *err);
/* Opens an S3 repository; no request is sent until the first operation. */
struct storage *s3_storage_new(const struct s3_params *params, struct pitr_err *err);
/* An in-memory repository for unit tests. */
struct storage *mem_storage_new(void);

/* Name of the driver ("posix", "s3", "mem"). */
const char *storage_driver_name(const struct storage *s);

enum pitr_rc storage_stat(struct storage *s, const char *key, struct storage_info *out,
                          struct pitr_err *err) PITR_MUST_CHECK;
/* Streams the whole object into sink and finishes it. PITR_NOT_FOUND (sink untouched) if
 * missing. The sink is borrowed. */
enum pitr_rc storage_read(struct storage *s, const char *key, struct filter *sink,
                          struct pitr_err *err) PITR_MUST_CHECK;
/* Streams bytes [offset, offset + len) of the object into sink and finishes it, at the cost of
 * one request however large the object (for reading headers). Of that range, only the bytes that
 * exist are delivered: fewer when the object ends before offset + len, none when it ends at or
 * before offset (still PITR_OK, the sink finished empty). A range reaching past UINT64_MAX reads
 * to the end; len 0 delivers nothing but still reports a missing object. PITR_NOT_FOUND (sink
 * untouched) if missing. The sink is borrowed. */
enum pitr_rc storage_read_range(struct storage *s, const char *key, uint64_t offset, uint64_t len,
                                struct filter *sink, struct pitr_err *err) PITR_MUST_CHECK;
/* Opens an atomic writer: the object appears only when filter_finish on *sink_out succeeds;
 * freeing the sink unfinished (or after a failure) leaves nothing behind. The caller owns
 * *sink_out (usually by handing it to pipeline_new). */
enum pitr_rc storage_write_open(struct storage *s, const char *key, const struct write_opts *opts,
                                struct filter **sink_out, struct pitr_err *err) PITR_MUST_CHECK;
/* Lists keys below dir ("" for the root; no trailing slash needed). Order is unspecified. */
enum pitr_rc storage_list(struct storage *s, const char *dir, enum storage_list_flags flags,
                          storage_list_fn *fn, void *arg, struct pitr_err *err) PITR_MUST_CHECK;
/* Removes one object; removing a missing object succeeds. */
enum pitr_rc storage_remove(struct storage *s, const char *key,
                            struct pitr_err *err) PITR_MUST_CHECK;
/* Removes directory dir when it holds nothing, so that a store with directories (posix) does not
 * keep empty ones behind removed objects; one that is not empty (written to meanwhile) or missing
 * is left alone and succeeds, and so does every call on stores without directories. */
enum pitr_rc storage_remove_dir(struct storage *s, const char *dir,
                                struct pitr_err *err) PITR_MUST_CHECK;
void storage_free(struct storage *s);

/* Convenience: writes a whole small buffer as one object. */
enum pitr_rc storage_put(struct storage *s, const char *key, const struct write_opts *opts,
                         const uint8_t *data, size_t len, struct pitr_err *err) PITR_MUST_CHECK;
/* Convenience: reads a whole object into out (bounded by out->max). */
enum pitr_rc storage_get(struct storage *s, const char *key, struct buf *out,
                         struct pitr_err *err) PITR_MUST_CHECK;

#endif

/* storage: the callers' wrappers around driver ops, plus whole-buffer helpers. Keys are checked
 * here once so that no driver ever sees "..", an absolute key or an empty component. */
#include "storage/storage.h"

#include <stdint.h>
#include <string.h>

#include "storage/storage_int.h"

static enum pitr_rc check_key(const char *key, bool allow_empty, struct pitr_err *err)
{
    const char *p = key;

    if (key[0] == '\0') {
        return allow_empty ? PITR_OK : err_set(err, PITR_INTERNAL, "empty storage key");
    }
    if (key[0] == '/') {
        return err_set(err, PITR_INTERNAL, "storage key \"%s\" must be relative", key);
    }
    while (*p != '\0') {
        const char *slash = strchr(p, '/');
        size_t n = slash == NULL ? strlen(p) : (size_t)(slash - p);

        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
            if (!(slash != NULL && slash[1] == '\0' && allow_empty)) {
                return err_set(err, PITR_INTERNAL, "invalid storage key \"%s\"", key);
            }
        }
        if (slash == NULL) {
            break;
        }
        p = slash + 1;
    }
    return PITR_OK;
}

const char *storage_driver_name(const struct storage *s)
{
    return s->ops->name;
}

enum pitr_rc storage_stat(struct storage *s, const char *key, struct storage_info *out,
                          struct pitr_err *err)
{
    enum pitr_rc rc = check_key(key, false, err);

    return rc != PITR_OK ? rc : s->ops->stat(s, key, out, err);
}

enum pitr_rc storage_read(struct storage *s, const char *key, struct filter *sink,
                          struct pitr_err *err)
{
    enum pitr_rc rc = check_key(key, false, err);

    return rc != PITR_OK ? rc : s->ops->read(s, key, sink, err);
}

enum pitr_rc storage_read_range(struct storage *s, const char *key, uint64_t offset, uint64_t len,
                                struct filter *sink, struct pitr_err *err)
{
    enum pitr_rc rc = check_key(key, false, err);

    if (rc != PITR_OK) {
        return rc;
    }
    /* past UINT64_MAX is past the end of any object: clipped, drivers may add offset + len */
    if (len > UINT64_MAX - offset) {
        len = UINT64_MAX - offset;
    }
    return s->ops->read_range(s, key, offset, len, sink, err);
}

enum pitr_rc storage_write_open(struct storage *s, const char *key, const struct write_opts *opts,
                                struct filter **sink_out, struct pitr_err *err)
{
    static const struct write_opts defaults = {false, 0};
    enum pitr_rc rc = check_key(key, false, err);

    return rc != PITR_OK ? rc : s->ops->write_open(s, key, opts ? opts : &defaults, sink_out, err);
}

enum pitr_rc storage_list(struct storage *s, const char *dir, enum storage_list_flags flags,
                          storage_list_fn *fn, void *arg, struct pitr_err *err)
{
    enum pitr_rc rc = check_key(dir, true, err);

    return rc != PITR_OK ? rc : s->ops->list(s, dir, flags, fn, arg, err);
}

enum pitr_rc storage_remove(struct storage *s, const char *key, struct pitr_err *err)
{
    enum pitr_rc rc = check_key(key, false, err);

    return rc != PITR_OK ? rc : s->ops->remove(s, key, err);
}

enum pitr_rc storage_remove_dir(struct storage *s, const char *dir, struct pitr_err *err)
{
    enum pitr_rc rc = check_key(dir, false, err);

    if (rc != PITR_OK || s->ops->remove_dir == NULL) {
        return rc;
    }
    return s->ops->remove_dir(s, dir, err);
}

void storage_free(struct storage *s)
{
    if (s != NULL) {
        s->ops->free(s);
    }
}

enum pitr_rc storage_put(struct storage *s, const char *key, const struct write_opts *opts,
                         const uint8_t *data, size_t len, struct pitr_err *err)
{
    struct filter *sink = NULL;
    enum pitr_rc rc = storage_write_open(s, key, opts, &sink, err);

    if (rc == PITR_OK) {
        rc = filter_write(sink, data, len, err);
    }
    if (rc == PITR_OK) {
        rc = filter_finish(sink, err);
    }
    filter_free(sink);
    return rc;
}

enum pitr_rc storage_get(struct storage *s, const char *key, struct buf *out, struct pitr_err *err)
{
    struct filter *sink = buf_sink_new(out);
    enum pitr_rc rc = storage_read(s, key, sink, err);

    filter_free(sink);
    return rc;
}

/* mem: an in-memory repository implementing the real driver vtable, for unit tests of code
 * above storage. Objects live in a sorted array; writes become visible only on finish, like the
 * real drivers, so atomicity assumptions are exercised too. */
#include "storage/storage.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "storage/storage_int.h"
#include "stream/filter_int.h"

struct mem_object {
    char *key;
    uint8_t *data;
    size_t len;
};

struct mem_storage {
    struct storage base;
    struct mem_object *objects;
    size_t count;
};

static struct mem_object *find(struct mem_storage *ms, const char *key)
{
    for (size_t i = 0; i < ms->count; i++) {
        if (strcmp(ms->objects[i].key, key) == 0) {
            return &ms->objects[i];
        }
    }
    return NULL;
}

static enum pitr_rc mem_stat(struct storage *s, const char *key, struct storage_info *out,
                             struct pitr_err *err)
{
    struct mem_object *o = find((struct mem_storage *)s, key);

    if (o == NULL) {
        return err_set(err, PITR_NOT_FOUND, "\"%s\" does not exist", key);
    }
    out->size = o->len;
    out->mtime = 0;
    out->is_dir = false;
    return PITR_OK;
}

static enum pitr_rc mem_read(struct storage *s, const char *key, struct filter *sink,
                             struct pitr_err *err)
{
    struct mem_object *o = find((struct mem_storage *)s, key);
    enum pitr_rc rc;

    if (o == NULL) {
        return err_set(err, PITR_NOT_FOUND, "\"%s\" does not exist", key);
    }
    rc = filter_write(sink, o->data, o->len, err);
    return rc != PITR_OK ? rc : filter_finish(sink, err);
}

static enum pitr_rc mem_read_range(struct storage *s, const char *key, uint64_t offset,
                                   uint64_t len, struct filter *sink, struct pitr_err *err)
{
    struct mem_object *o = find((struct mem_storage *)s, key);

    if (o == NULL) {
        return err_set(err, PITR_NOT_FOUND, "\"%s\" does not exist", key);
    }
    if (offset < o->len && len > 0) {
        size_t left = o->len - (size_t)offset;
        size_t n = len < left ? (size_t)len : left;
        enum pitr_rc rc = filter_write(sink, o->data + offset, n, err);

        if (rc != PITR_OK) {
            return rc;
        }
    }
    return filter_finish(sink, err);
}

struct mem_writer {
    struct filter base;
    struct mem_storage *ms;
    char *key;
    bool no_overwrite;
    struct buf data;
};

static enum pitr_rc writer_write(struct filter *f, const uint8_t *data, size_t len,
                                 struct pitr_err *err)
{
    return buf_append(&((struct mem_writer *)f)->data, data, len, err);
}

static enum pitr_rc writer_finish(struct filter *f, struct pitr_err *err)
{
    struct mem_writer *w = (struct mem_writer *)f;
    struct mem_object *o = find(w->ms, w->key);

    if (o != NULL && w->no_overwrite) {
        return err_set(err, PITR_EXISTS, "\"%s\" already exists", w->key);
    }
    if (o == NULL) {
        /* kept sorted, as S3 lists, so non-recursive listings can fold sub-prefixes */
        size_t at = 0;

        while (at < w->ms->count && strcmp(w->ms->objects[at].key, w->key) < 0) {
            at++;
        }
        w->ms->objects = xrealloc(w->ms->objects, (w->ms->count + 1) * sizeof(*o));
        memmove(&w->ms->objects[at + 1], &w->ms->objects[at], (w->ms->count - at) * sizeof(*o));
        w->ms->count++;
        o = &w->ms->objects[at];
        o->key = xstrdup(w->key);
    } else {
        free(o->data);
    }
    o->data = buf_take(&w->data, &o->len);
    return filter_finish_next(f, err);
}

static void writer_free(struct filter *f)
{
    struct mem_writer *w = (struct mem_writer *)f;

    buf_fini(&w->data);
    free(w->key);
    free(w);
}

static const struct filter_ops writer_ops = {"mem-writer", writer_write, writer_finish,
                                             writer_free};

static enum pitr_rc mem_write_open(struct storage *s, const char *key,
                                   const struct write_opts *opts, struct filter **sink_out,
                                   struct pitr_err *err)
{
    struct mem_writer *w = xcalloc(1, sizeof(*w));

    (void)err;
    filter_init(&w->base, &writer_ops);
    w->ms = (struct mem_storage *)s;
    w->key = xstrdup(key);
    w->no_overwrite = opts->no_overwrite;
    buf_init(&w->data, SIZE_MAX / 2);
    *sink_out = &w->base;
    return PITR_OK;
}

static enum pitr_rc mem_list(struct storage *s, const char *dir, enum storage_list_flags flags,
                             storage_list_fn *fn, void *arg, struct pitr_err *err)
{
    struct mem_storage *ms = (struct mem_storage *)s;
    size_t dlen = strlen(dir);
    char *last_dir = NULL;
    enum pitr_rc rc = PITR_OK;

    while (dlen > 0 && dir[dlen - 1] == '/') {
        dlen--;
    }
    for (size_t i = 0; i < ms->count && rc == PITR_OK; i++) {
        const char *key = ms->objects[i].key;
        const char *rest = key;
        const char *slash;

        if (dlen > 0) {
            if (strncmp(key, dir, dlen) != 0 || key[dlen] != '/') {
                continue;
            }
            rest = key + dlen + 1;
        }
        slash = strchr(rest, '/');
        if (slash != NULL && !(flags & STORAGE_LIST_RECURSIVE)) {
            char *sub = xstrndup(key, (size_t)(slash - key));

            if (last_dir == NULL || strcmp(last_dir, sub) != 0) {
                struct storage_info info = {0, 0, true};

                free(last_dir);
                last_dir = sub;
                rc = fn(arg, sub, &info, err);
            } else {
                free(sub);
            }
        } else {
            struct storage_info info = {ms->objects[i].len, 0, false};

            rc = fn(arg, key, &info, err);
        }
    }
    free(last_dir);
    return rc;
}

static enum pitr_rc mem_remove(struct storage *s, const char *key, struct pitr_err *err)
{
    struct mem_storage *ms = (struct mem_storage *)s;
    struct mem_object *o = find(ms, key);

    (void)err;
    if (o != NULL) {
        size_t at = (size_t)(o - ms->objects);

        free(o->key);
        free(o->data);
        memmove(o, o + 1, (ms->count - at - 1) * sizeof(*o));
        ms->count--;
    }
    return PITR_OK;
}

static void mem_free(struct storage *s)
{
    struct mem_storage *ms = (struct mem_storage *)s;

    for (size_t i = 0; i < ms->count; i++) {
        free(ms->objects[i].key);
        free(ms->objects[i].data);
    }
    free(ms->objects);
    free(ms);
}

static const struct storage_ops mem_ops = {
    .name = "mem",
    .stat = mem_stat,
    .read = mem_read,
    .read_range = mem_read_range,
    .write_open = mem_write_open,
    .list = mem_list,
    .remove = mem_remove,
    .free = mem_free,
    /* .remove_dir: no directories */
};

struct storage *mem_storage_new(void)
{
    struct mem_storage *ms = xcalloc(1, sizeof(*ms));

    ms->base.ops = &mem_ops;
    return &ms->base;
}

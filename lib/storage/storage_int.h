/* storage_int: what a driver implements. Drivers embed struct storage as their first member. */
#ifndef PITR_STORAGE_STORAGE_INT_H
#define PITR_STORAGE_STORAGE_INT_H

#include "storage/storage.h"

struct storage_ops {
    const char *name;
    enum pitr_rc (*stat)(struct storage *s, const char *key, struct storage_info *out,
                         struct pitr_err *err);
    enum pitr_rc (*read)(struct storage *s, const char *key, struct filter *sink,
                         struct pitr_err *err);
    /* As storage_read_range says; len may be 0, and offset + len never overflows. */
    enum pitr_rc (*read_range)(struct storage *s, const char *key, uint64_t offset, uint64_t len,
                               struct filter *sink, struct pitr_err *err);
    enum pitr_rc (*write_open)(struct storage *s, const char *key, const struct write_opts *opts,
                               struct filter **sink_out, struct pitr_err *err);
    enum pitr_rc (*list)(struct storage *s, const char *dir, enum storage_list_flags flags,
                         storage_list_fn *fn, void *arg, struct pitr_err *err);
    enum pitr_rc (*remove)(struct storage *s, const char *key, struct pitr_err *err);
    void (*free)(struct storage *s);
    /* Optional (NULL where directories are not objects, as on S3): removes dir if it is empty. */
    enum pitr_rc (*remove_dir)(struct storage *s, const char *dir, struct pitr_err *err);
};

struct storage {
    const struct storage_ops *ops;
};

#endif

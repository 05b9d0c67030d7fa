/* tar: written by hand because libarchive would bring a dozen formats we must refuse, and what
 * PostgreSQL writes (pgtar.c: ustar headers, 512-byte blocks, two zero blocks at the end) takes a
 * page to read strictly. State: a header being collected, or file data with its padding. */
#include "restore/tar.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "stream/filter_int.h"

enum { BLOCK = 512, NAME_MAX_LEN = 100 + 1 + 155 };

struct tar_reader {
    struct filter base;
    const struct tar_handler *h;
    void *arg;
    char *what;
    uint8_t header[BLOCK];
    size_t have;        /* bytes of header collected */
    uint64_t remaining; /* file bytes still to come */
    uint64_t padding;   /* zero bytes after the file data */
    bool in_data;
    int zero_blocks; /* consecutive zero headers: two end the archive */
    bool ended;
    uint64_t offset; /* of the current header, for messages */
};

static enum pitr_rc corrupt(struct tar_reader *t, struct pitr_err *err, const char *why)
{
    return err_set(err, PITR_CORRUPT, "archive \"%s\" is damaged at offset %llu: %s", t->what,
                   (unsigned long long)t->offset, why);
}

/* Octal, NUL- or space-terminated, or GNU base-256 (high bit set) for large values. */
static bool parse_number(const uint8_t *field, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;

    if (field[0] & 0x80) {
        if (field[0] != 0x80) {
            return false; /* negative or absurd */
        }
        for (i = 1; i < len; i++) {
            if (v >> 56) {
                return false;
            }
            v = (v << 8) | field[i];
        }
        *out = v;
        return true;
    }
    while (i < len && field[i] == ' ') {
        i++;
    }
    if (i == len || field[i] < '0' || field[i] > '7') {
        return false;
    }
    for (; i < len && field[i] >= '0' && field[i] <= '7'; i++) {
        if (v >> 60) {
            return false;
        }
        v = v * 8 + (uint64_t)(field[i] - '0');
    }
    for (; i < len; i++) {
        if (field[i] != ' ' && field[i] != '\0') {
            return false;
        }
    }
    *out = v;
    return true;
}

static bool checksum_ok(const uint8_t *h)
{
    uint64_t want = 0;
    uint64_t sum = 0;

    if (!parse_number(h + 148, 8, &want)) {
        return false;
    }
    for (int i = 0; i < BLOCK; i++) {
        sum += (i >= 148 && i < 156) ? ' ' : h[i];
    }
    return sum == want;
}

/* name = prefix "/" name (ustar), without "./" and a trailing "/"; refuses anything that could
 * leave the target directory. */
static bool entry_name(const uint8_t *h, char out[NAME_MAX_LEN + 1])
{
    char name[101];
    char prefix[156];
    char joined[NAME_MAX_LEN + 1];
    const char *p;
    size_t n;

    memcpy(name, h, 100);
    name[100] = '\0';
    prefix[0] = '\0';
    if (memcmp(h + 257, "ustar", 5) == 0) {
        memcpy(prefix, h + 345, 155);
        prefix[155] = '\0';
    }
    snprintf(joined, sizeof(joined), "%s%s%s", prefix, prefix[0] ? "/" : "", name);
    p = joined;
    while (p[0] == '.' && p[1] == '/') {
        p += 2;
    }
    n = strlen(p);
    while (n > 0 && p[n - 1] == '/') {
        n--;
    }
    if (n == 0 || p[0] == '/') {
        return false;
    }
    memcpy(out, p, n);
    out[n] = '\0';
    for (const char *c = out; *c != '\0';) {
        const char *slash = strchr(c, '/');
        size_t len = slash ? (size_t)(slash - c) : strlen(c);

        if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.')) {
            return false;
        }
        c += len + (slash ? 1 : 0);
    }
    return true;
}

static bool all_zero(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != 0) {
            return false;
        }
    }
    return true;
}

static enum pitr_rc on_header(struct tar_reader *t, struct pitr_err *err)
{
    const uint8_t *h = t->header;
    struct tar_entry e;
    char name[NAME_MAX_LEN + 1];
    char link[101];
    uint64_t mode = 0;
    enum pitr_rc rc;

    if (all_zero(h, BLOCK)) {
        t->ended = ++t->zero_blocks == 2;
        return PITR_OK;
    }
    if (t->zero_blocks > 0) {
        return corrupt(t, err, "data after a zero block");
    }
    if (!checksum_ok(h)) {
        return corrupt(t, err, "header checksum mismatch");
    }
    memset(&e, 0, sizeof(e));
    if (!entry_name(h, name) || !parse_number(h + 100, 8, &mode) ||
        !parse_number(h + 124, 12, &e.size)) {
        return corrupt(t, err, "malformed header (name, mode or size)");
    }
    e.name = name;
    e.mode = (unsigned)(mode & 07777);
    switch (h[156]) {
    case '0':
    case '\0':
        e.type = TAR_FILE;
        break;
    case '5':
        e.type = TAR_DIR;
        e.size = 0;
        break;
    case '2':
        e.type = TAR_SYMLINK;
        e.size = 0;
        memcpy(link, h + 157, 100);
        link[100] = '\0';
        if (link[0] == '\0') {
            return corrupt(t, err, "symlink without a target");
        }
        e.linkname = link;
        break;
    default:
        return corrupt(t, err,
                       "unsupported entry type (PostgreSQL writes files, directories "
                       "and symlinks only)");
    }
    rc = t->h->begin(t->arg, &e, err);
    if (rc != PITR_OK) {
        return rc;
    }
    t->remaining = e.size;
    t->padding = (BLOCK - e.size % BLOCK) % BLOCK;
    t->in_data = true;
    if (t->remaining == 0) {
        t->in_data = false; /* size 0: no data block follows */
        return t->h->end(t->arg, err);
    }
    return PITR_OK;
}

static enum pitr_rc on_data(struct tar_reader *t, const uint8_t **data, size_t *len,
                            struct pitr_err *err)
{
    enum pitr_rc rc = PITR_OK;

    if (t->remaining > 0) {
        size_t n = *len < t->remaining ? *len : (size_t)t->remaining;

        rc = t->h->data(t->arg, *data, n, err);
        *data += n;
        *len -= n;
        t->remaining -= n;
        t->offset += n;
        if (rc != PITR_OK || t->remaining > 0) {
            return rc;
        }
    }
    while (t->padding > 0 && *len > 0) {
        if (**data != 0) {
            return corrupt(t, err, "non-zero padding after a file");
        }
        (*data)++;
        (*len)--;
        t->padding--;
        t->offset++;
    }
    if (t->padding == 0) {
        t->in_data = false;
        return t->h->end(t->arg, err);
    }
    return PITR_OK;
}

static enum pitr_rc tar_write(struct filter *f, const uint8_t *data, size_t len,
                              struct pitr_err *err)
{
    struct tar_reader *t = (struct tar_reader *)f;
    enum pitr_rc rc = PITR_OK;

    while (len > 0 && rc == PITR_OK) {
        if (t->ended) {
            /* PostgreSQL writes nothing after the end; tolerate zero padding only */
            if (!all_zero(data, len)) {
                return corrupt(t, err, "data after the end of the archive");
            }
            return PITR_OK;
        }
        if (t->in_data) {
            rc = on_data(t, &data, &len, err);
            continue;
        }
        size_t n = BLOCK - t->have < len ? BLOCK - t->have : len;

        memcpy(t->header + t->have, data, n);
        t->have += n;
        data += n;
        len -= n;
        if (t->have == BLOCK) {
            t->have = 0;
            rc = on_header(t, err);
            t->offset += BLOCK;
        }
    }
    return rc;
}

static enum pitr_rc tar_finish(struct filter *f, struct pitr_err *err)
{
    struct tar_reader *t = (struct tar_reader *)f;

    if (!t->ended) {
        return corrupt(t, err, "the archive is truncated (no end-of-archive blocks)");
    }
    return filter_finish_next(f, err);
}

static void tar_free(struct filter *f)
{
    struct tar_reader *t = (struct tar_reader *)f;

    free(t->what);
    free(t);
}

static const struct filter_ops tar_ops = {"tar-reader", tar_write, tar_finish, tar_free};

struct filter *tar_reader_new(const struct tar_handler *h, void *arg, const char *what)
{
    struct tar_reader *t = xcalloc(1, sizeof(*t));

    filter_init(&t->base, &tar_ops);
    t->h = h;
    t->arg = arg;
    t->what = xstrdup(what);
    return &t->base;
}

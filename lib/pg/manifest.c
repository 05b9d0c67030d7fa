/* manifest: written by hand rather than with a JSON library because PostgreSQL writes the
 * manifest one file object per line, and reading it line by line with a strict parser for those
 * flat objects needs far less memory and code than a general JSON tree; anything that does not
 * fit the layout is refused, not guessed at. */
#include "pg/manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strutil.h"
#include "base/xalloc.h"

struct manifest {
    struct manifest_file *files;
    size_t n;
    size_t cap;
    size_t *slots; /* open-addressing hash of path -> index + 1 (0: empty) */
    size_t n_slots;
};

static uint64_t hash_path(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */

    for (; *s != '\0'; s++) {
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    }
    return h;
}

static void index_insert(struct manifest *m, size_t i)
{
    size_t s = (size_t)(hash_path(m->files[i].path) & (m->n_slots - 1));

    while (m->slots[s] != 0) {
        s = (s + 1) & (m->n_slots - 1);
    }
    m->slots[s] = i + 1;
}

/* Adds files[n - 1] to the index, which stays at most half full. */
static void index_add_last(struct manifest *m)
{
    if (m->n * 2 + 2 <= m->n_slots) {
        index_insert(m, m->n - 1);
        return;
    }
    free(m->slots);
    m->n_slots = 64;
    while (m->n_slots < m->n * 2 + 2) {
        m->n_slots *= 2;
    }
    m->slots = xcalloc(m->n_slots, sizeof(*m->slots));
    for (size_t i = 0; i < m->n; i++) {
        index_insert(m, i);
    }
}

struct manifest_file *manifest_find(struct manifest *m, const char *path)
{
    size_t s;

    if (m->n_slots == 0) {
        return NULL;
    }
    s = (size_t)(hash_path(path) & (m->n_slots - 1));
    while (m->slots[s] != 0) {
        struct manifest_file *f = &m->files[m->slots[s] - 1];

        if (strcmp(f->path, path) == 0) {
            return f;
        }
        s = (s + 1) & (m->n_slots - 1);
    }
    return NULL;
}

size_t manifest_count(const struct manifest *m)
{
    return m->n;
}

struct manifest_file *manifest_file_at(struct manifest *m, size_t i)
{
    return &m->files[i];
}

void manifest_free(struct manifest *m)
{
    if (m == NULL) {
        return;
    }
    for (size_t i = 0; i < m->n; i++) {
        free(m->files[i].path);
    }
    free(m->files);
    free(m->slots);
    free(m);
}

/* --- one flat JSON object per line ------------------------------------------------------------ */

struct cursor {
    const char *p;
    const char *end;
};

static void skip_space(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t')) {
        c->p++;
    }
}

static bool take(struct cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

/* A JSON string into out (bounded); \uXXXX outside ASCII is refused (PostgreSQL hex-encodes such
 * paths as Encoded-Path instead). */
static bool json_string(struct cursor *c, char *out, size_t size)
{
    size_t n = 0;

    if (!take(c, '"')) {
        return false;
    }
    while (c->p < c->end && *c->p != '"') {
        char ch = *c->p++;

        if (ch == '\\') {
            if (c->p >= c->end) {
                return false;
            }
            ch = *c->p++;
            switch (ch) {
            case 'n':
                ch = '\n';
                break;
            case 't':
                ch = '\t';
                break;
            case 'r':
                ch = '\r';
                break;
            case 'b':
                ch = '\b';
                break;
            case 'f':
                ch = '\f';
                break;
            case 'u': {
                uint64_t v = 0;

                if (c->end - c->p < 4 || str_parse_hex_u64(c->p, 4, &v) != PITR_OK || v == 0 ||
                    v > 0x7f) {
                    return false;
                }
                ch = (char)v;
                c->p += 4;
                break;
            }
            case '"':
            case '\\':
            case '/':
                break;
            default:
                return false;
            }
        } else if ((unsigned char)ch < 0x20) {
            return false;
        }
        if (n + 1 >= size) {
            return false;
        }
        out[n++] = ch;
    }
    out[n] = '\0';
    return take(c, '"');
}

static bool json_number(struct cursor *c, uint64_t *out)
{
    uint64_t v = 0;
    bool any = false;

    skip_space(c);
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        if (v > (UINT64_MAX - 9) / 10) {
            return false;
        }
        v = v * 10 + (uint64_t)(*c->p++ - '0');
        any = true;
    }
    *out = v;
    return any;
}

enum { PATH_MAX_LEN = 4096 };

struct file_fields {
    char path[PATH_MAX_LEN];
    char checksum[2 * SHA256_LEN + 2];
    char algorithm[16];
    uint64_t size;
    unsigned seen; /* 1 path, 2 size */
};

static bool decode_hex_path(const char *hex, char *out, size_t size)
{
    size_t n = strlen(hex) / 2;

    if (strlen(hex) % 2 != 0 || n == 0 || n >= size) {
        return false;
    }
    if (str_hex_decode(hex, (uint8_t *)out, n) != PITR_OK || memchr(out, '\0', n) != NULL) {
        return false;
    }
    out[n] = '\0';
    return true;
}

static bool copy_str(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);

    if (n >= size) {
        return false;
    }
    memcpy(dst, src, n + 1);
    return true;
}

static bool file_field(struct cursor *c, const char *key, struct file_fields *f)
{
    char value[PATH_MAX_LEN * 2 + 2];

    if (strcmp(key, "Size") == 0) {
        f->seen |= 2;
        return json_number(c, &f->size);
    }
    if (!json_string(c, value, sizeof(value))) {
        return false;
    }
    if (strcmp(key, "Path") == 0) {
        f->seen |= 1;
        return copy_str(f->path, sizeof(f->path), value);
    }
    if (strcmp(key, "Encoded-Path") == 0) {
        f->seen |= 1;
        return decode_hex_path(value, f->path, sizeof(f->path));
    }
    if (strcmp(key, "Checksum-Algorithm") == 0) {
        return copy_str(f->algorithm, sizeof(f->algorithm), value);
    }
    if (strcmp(key, "Checksum") == 0) {
        return copy_str(f->checksum, sizeof(f->checksum), value);
    }
    return true; /* Last-Modified and anything newer: informational */
}

static bool parse_file_line(const char *line, const char *end, struct file_fields *f)
{
    struct cursor c = {line, end};
    char key[64];

    memset(f, 0, sizeof(*f));
    if (!take(&c, '{')) {
        return false;
    }
    do {
        if (!json_string(&c, key, sizeof(key)) || !take(&c, ':') || !file_field(&c, key, f)) {
            return false;
        }
    } while (take(&c, ','));
    if (!take(&c, '}')) {
        return false;
    }
    (void)take(&c, ',');
    skip_space(&c);
    /* PostgreSQL writes Checksum-Algorithm and Checksum together or not at all */
    return c.p == c.end && f->seen == 3 && (f->algorithm[0] == '\0') == (f->checksum[0] == '\0');
}

static enum pitr_rc add_file(struct manifest *m, const struct file_fields *f, int lineno,
                             struct pitr_err *err)
{
    struct manifest_file *mf;

    /* two entries for one path would let either content pass */
    if (manifest_find(m, f->path) != NULL) {
        return err_set(err, PITR_CORRUPT, "backup_manifest line %d: \"%s\" is listed twice", lineno,
                       f->path);
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 256;
        m->files = xrealloc(m->files, m->cap * sizeof(*m->files));
    }
    mf = &m->files[m->n];
    memset(mf, 0, sizeof(*mf));
    mf->size = f->size;
    if (strcmp(f->algorithm, "SHA256") == 0) {
        if (strlen(f->checksum) != 2 * SHA256_LEN ||
            str_hex_decode(f->checksum, mf->sha256, SHA256_LEN) != PITR_OK) {
            return err_set(err, PITR_CORRUPT, "backup_manifest line %d: malformed SHA256 checksum",
                           lineno);
        }
        mf->has_sha256 = true;
    }
    mf->path = xstrdup(f->path);
    m->n++;
    index_add_last(m);
    return PITR_OK;
}

static enum pitr_rc check_manifest_checksum(const char *text, size_t len, struct pitr_err *err)
{
    const char *key = "\"Manifest-Checksum\": \"";
    size_t end = len;
    const char *line;
    char hex[2 * SHA256_LEN + 1];
    uint8_t want[SHA256_LEN];
    uint8_t have[SHA256_LEN];

    /* the checksum covers everything before the last line, which holds the checksum */
    while (end > 0 && text[end - 1] == '\n') {
        end--;
    }
    line = NULL;
    for (size_t i = end; i > 0; i--) {
        if (text[i - 1] == '\n') {
            line = text + i - 1;
            break;
        }
    }
    if (line == NULL || (size_t)(text + end - (line + 1)) < strlen(key) + 2 * SHA256_LEN ||
        strncmp(line + 1, key, strlen(key)) != 0) {
        return err_set(err, PITR_CORRUPT, "backup_manifest has no Manifest-Checksum line");
    }
    memcpy(hex, line + 1 + strlen(key), 2 * SHA256_LEN);
    hex[2 * SHA256_LEN] = '\0';
    if (str_hex_decode(hex, want, SHA256_LEN) != PITR_OK) {
        return err_set(err, PITR_CORRUPT, "backup_manifest has a malformed Manifest-Checksum");
    }
    sha256_buffer((const uint8_t *)text, (size_t)(line + 1 - text), have);
    if (memcmp(want, have, SHA256_LEN) != 0) {
        return err_set(err, PITR_CORRUPT,
                       "backup_manifest does not match its Manifest-Checksum: it is damaged");
    }
    return PITR_OK;
}

static bool is_line(const char *p, const char *end, const char *text)
{
    return (size_t)(end - p) == strlen(text) && memcmp(p, text, strlen(text)) == 0;
}

enum pitr_rc manifest_parse(const char *text, size_t len, struct manifest **out,
                            struct pitr_err *err)
{
    struct manifest *m = xcalloc(1, sizeof(*m));
    const char *p = text;
    const char *end = text + len;
    int lineno = 0;
    bool in_files = false;
    enum pitr_rc rc = check_manifest_checksum(text, len, err);
    struct file_fields *f = xmalloc(sizeof(*f));
    static const char header[] = "{ \"PostgreSQL-Backup-Manifest-Version\": ";

    if (rc == PITR_OK && strncmp(text, header, strlen(header) < len ? strlen(header) : len) != 0) {
        rc = err_set(err, PITR_CORRUPT,
                     "backup_manifest does not start like a PostgreSQL "
                     "backup manifest");
    }
    while (rc == PITR_OK && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;

        lineno++;
        /* every line between "Files": [ and ], is one file: none may be skipped unchecked */
        if (!in_files && m->n == 0 && is_line(p, line_end, "\"Files\": [")) {
            in_files = true;
        } else if (in_files && is_line(p, line_end, "],")) {
            in_files = false;
        } else if (in_files) {
            rc = parse_file_line(p, line_end, f)
                     ? add_file(m, f, lineno, err)
                     : err_set(err, PITR_CORRUPT, "backup_manifest line %d is malformed", lineno);
        }
        p = nl ? nl + 1 : end;
    }
    free(f);
    if (rc == PITR_OK && m->n == 0) {
        rc = err_set(err, PITR_CORRUPT, "backup_manifest lists no files");
    }
    if (rc != PITR_OK) {
        manifest_free(m);
        return rc;
    }
    *out = m;
    return PITR_OK;
}

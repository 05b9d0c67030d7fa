/* catalog: text lines with a checksum each; the only writes are create-only entries and whole-file
 * replacements of a folder's merge, so a crash leaves either the old file or the new one. */
#include "catalog.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/strutil.h"
#include "base/timestamp.h"
#include "base/xalloc.h"
#include "crypto/digest.h"
#include "crypto/key.h"
#include "crypto/sha256.h"
#include "pg/wal.h"
#include "pg/walscan.h"

static const char header[] = "pitr-catalog 1\n";

enum { LINE_SUM_HEX = 16, LINE_MAC_HEX = 32, CATALOG_FILE_MAX = 64 * 1024 * 1024, KEY_MAX = 1024 };

void catalog_time_format(int64_t us, char out[CATALOG_TIME_LEN])
{
    time_t secs = (time_t)(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
    long frac = (long)(us - (int64_t)secs * 1000000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    snprintf(out, CATALOG_TIME_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

static void line_sum(const char *line, size_t len, char out[LINE_SUM_HEX + 1])
{
    uint8_t digest[SHA256_LEN];

    sha256_buffer((const uint8_t *)line, len, digest);
    str_hex_encode(digest, LINE_SUM_HEX / 2, out);
}

/* How lines are signed and checked. Without keys: a SHA-256 prefix, against damage. With keys:
 * an HMAC-SHA256 of the cluster's system identifier and the line under a subkey of each key of
 * the ring (the current key's signs), so that nobody without the key can add or change a fact,
 * nor move one from another cluster. */
struct line_keys {
    uint8_t (*mac)[KEY_LEN]; /* [0]: the current key's */
    size_t n;
    uint64_t sysid;
};

static void line_keys_init(struct line_keys *lk, const struct repo_session *repo)
{
    size_t i = 0;

    memset(lk, 0, sizeof(*lk));
    if (repo == NULL || repo->key == NULL) {
        return;
    }
    for (const struct key *k = repo->key; k != NULL; k = key_ring_next(k)) {
        lk->n++;
    }
    lk->mac = xcalloc(lk->n, sizeof(*lk->mac));
    for (const struct key *k = repo->key; k != NULL; k = key_ring_next(k)) {
        key_derive(k, NULL, 0, "pitr catalog line v1", lk->mac[i++]);
    }
    lk->sysid = repo->info.sysid;
}

static void line_keys_fini(struct line_keys *lk)
{
    if (lk->mac != NULL) {
        explicit_bzero(lk->mac, lk->n * sizeof(*lk->mac));
        free(lk->mac);
    }
    memset(lk, 0, sizeof(*lk));
}

static void line_mac(const uint8_t key[KEY_LEN], uint64_t sysid, const char *line, size_t len,
                     uint8_t out[HMAC_SHA256_LEN])
{
    uint8_t *msg = xmalloc(8 + len);

    for (int i = 0; i < 8; i++) {
        msg[i] = (uint8_t)(sysid >> (56 - 8 * i));
    }
    memcpy(msg + 8, line, len);
    hmac_sha256(key, KEY_LEN, msg, 8 + len, out);
    free(msg);
}

/* Appends the line in `line` (no newline) with its checksum, or with keys its MAC. */
static enum pitr_rc append_line(const struct line_keys *lk, struct buf *out, const char *line,
                                struct pitr_err *err)
{
    char sum[LINE_SUM_HEX + 1];
    uint8_t mac[HMAC_SHA256_LEN];
    char hex[LINE_MAC_HEX + 1];

    if (lk->n > 0) {
        line_mac(lk->mac[0], lk->sysid, line, strlen(line), mac);
        str_hex_encode(mac, LINE_MAC_HEX / 2, hex);
        return buf_printf(out, err, "%s ~h%s\n", line, hex);
    }
    line_sum(line, strlen(line), sum);
    return buf_printf(out, err, "%s ~%s\n", line, sum);
}

/* Restore point names may hold anything but NUL: spaces, '%' and controls are %-escaped. */
static void escape_name(const char *name, char *out, size_t size)
{
    size_t o = 0;

    for (const unsigned char *p = (const unsigned char *)name; *p != '\0' && o + 4 < size; p++) {
        if (*p <= ' ' || *p == '%' || *p == '~' || *p >= 0x7f) {
            o += (size_t)snprintf(out + o, size - o, "%%%02X", *p);
        } else {
            out[o++] = (char)*p;
        }
    }
    out[o] = '\0';
}

static enum pitr_rc unescape_name(const char *in, char out[CATALOG_RP_NAME_MAX])
{
    size_t o = 0;

    for (const char *p = in; *p != '\0'; p++) {
        uint64_t v;

        if (o + 1 >= CATALOG_RP_NAME_MAX) {
            return PITR_CORRUPT;
        }
        if (*p == '%') {
            if (p[1] == '\0' || p[2] == '\0' || str_parse_hex_u64(p + 1, 2, &v) != PITR_OK ||
                v == 0) {
                return PITR_CORRUPT;
            }
            out[o++] = (char)v;
            p += 2;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
    return PITR_OK;
}

static enum pitr_rc format_seg_line(const struct line_keys *lk, const struct catalog_seg *seg,
                                    struct buf *out, struct pitr_err *err)
{
    char name[25];
    char archived[CATALOG_TIME_LEN];
    char first[CATALOG_TIME_LEN];
    char last[CATALOG_TIME_LEN];
    char line[512];
    size_t len;

    wal_segment_name(seg->tli, seg->segno, seg->seg_size, name);
    catalog_time_format(seg->archived_us, archived);
    if (seg->xacts > 0) {
        catalog_time_format(seg->first_xact_us, first);
        catalog_time_format(seg->last_xact_us, last);
        snprintf(line, sizeof(line),
                 "seg %s size=%" PRIu32 " archived=%s xacts=%" PRIu32 " first=%s last=%s", name,
                 seg->seg_size, archived, seg->xacts, first, last);
    } else {
        snprintf(line, sizeof(line), "seg %s size=%" PRIu32 " archived=%s xacts=0", name,
                 seg->seg_size, archived);
    }
    /* last, and only when known: older readers ignore a field they do not know */
    len = strlen(line);
    if (seg->stored_size > 0) {
        snprintf(line + len, sizeof(line) - len, " stored=%" PRIu64, seg->stored_size);
    }
    return append_line(lk, out, line, err);
}

/* A restore point's line names the segment it is in. */
static enum pitr_rc format_rp_line(const struct line_keys *lk, const struct catalog_seg *seg,
                                   const struct catalog_rp *rp, struct buf *out,
                                   struct pitr_err *err)
{
    char name[25];
    char lsn[18];
    char when[CATALOG_TIME_LEN];
    char escaped[CATALOG_RP_NAME_MAX * 3 + 1];
    char line[512];

    wal_segment_name(seg->tli, seg->segno, seg->seg_size, name);
    wal_lsn_format(rp->lsn, lsn);
    catalog_time_format(rp->time_us, when);
    escape_name(rp->name, escaped, sizeof(escaped));
    snprintf(line, sizeof(line), "rp %s lsn=%s time=%s name=%s", name, lsn, when, escaped);
    return append_line(lk, out, line, err);
}

enum pitr_rc catalog_entry_format(const struct catalog_seg *seg, const struct catalog_rp *rps,
                                  size_t n_rps, const struct repo_session *repo, struct buf *out,
                                  struct pitr_err *err)
{
    struct line_keys lk;
    enum pitr_rc rc = buf_append(out, header, strlen(header), err);

    line_keys_init(&lk, repo);
    if (rc == PITR_OK) {
        rc = format_seg_line(&lk, seg, out, err);
    }
    for (size_t i = 0; rc == PITR_OK && i < n_rps; i++) {
        rc = format_rp_line(&lk, seg, &rps[i], out, err);
    }
    line_keys_fini(&lk);
    return rc;
}

/* The value of "key=" among the space-separated fields, or NULL. */
static const char *field(char **fields, int n, const char *key)
{
    size_t klen = strlen(key);

    for (int i = 2; i < n; i++) {
        if (strncmp(fields[i], key, klen) == 0 && fields[i][klen] == '=') {
            return fields[i] + klen + 1;
        }
    }
    return NULL;
}

static enum pitr_rc parse_time(const char *s, int64_t *out)
{
    struct pitr_err ignored;

    return s != NULL && timestamp_parse(s, out, &ignored) == PITR_OK ? PITR_OK : PITR_CORRUPT;
}

static enum pitr_rc parse_u32(const char *s, uint32_t *out)
{
    struct pitr_err ignored;
    uint64_t v;

    if (s == NULL || str_parse_u64(s, "n", &v, &ignored) != PITR_OK || v > UINT32_MAX) {
        return PITR_CORRUPT;
    }
    *out = (uint32_t)v;
    return PITR_OK;
}

/* An optional field holding a positive number; *out stays 0 when the field is absent. */
static enum pitr_rc parse_optional_u64(const char *s, uint64_t *out)
{
    struct pitr_err ignored;

    if (s == NULL) {
        return PITR_OK;
    }
    return str_parse_u64(s, "n", out, &ignored) == PITR_OK && *out > 0 ? PITR_OK : PITR_CORRUPT;
}

static enum pitr_rc parse_seg(char **f, int n, struct catalog_wal *w, struct wal_file *wf)
{
    struct catalog_seg seg;

    memset(&seg, 0, sizeof(seg));
    if (parse_optional_u64(field(f, n, "stored"), &seg.stored_size) != PITR_OK) {
        return PITR_CORRUPT;
    }
    if (parse_u32(field(f, n, "size"), &seg.seg_size) != PITR_OK ||
        !wal_seg_size_valid(seg.seg_size) ||
        parse_time(field(f, n, "archived"), &seg.archived_us) != PITR_OK ||
        parse_u32(field(f, n, "xacts"), &seg.xacts) != PITR_OK) {
        return PITR_CORRUPT;
    }
    if (seg.xacts > 0 && (parse_time(field(f, n, "first"), &seg.first_xact_us) != PITR_OK ||
                          parse_time(field(f, n, "last"), &seg.last_xact_us) != PITR_OK ||
                          seg.first_xact_us > seg.last_xact_us)) {
        return PITR_CORRUPT;
    }
    seg.tli = wf->tli;
    seg.segno = wal_segno(wf, seg.seg_size);
    w->segs[w->n_segs++] = seg; /* catalog_parse made room */
    return PITR_OK;
}

static enum pitr_rc parse_rp(char **f, int n, struct catalog_wal *w, struct wal_file *wf)
{
    struct catalog_rp rp;
    struct pitr_err ignored;
    const char *lsn = field(f, n, "lsn");
    const char *name = field(f, n, "name");

    memset(&rp, 0, sizeof(rp));
    if (lsn == NULL || wal_lsn_parse(lsn, &rp.lsn, &ignored) != PITR_OK ||
        parse_time(field(f, n, "time"), &rp.time_us) != PITR_OK || name == NULL ||
        unescape_name(name, rp.name) != PITR_OK) {
        return PITR_CORRUPT;
    }
    rp.tli = wf->tli;
    w->rps[w->n_rps++] = rp; /* catalog_parse made room */
    return PITR_OK;
}

enum line_check { LINE_OK, LINE_DAMAGED, LINE_UNSIGNED, LINE_SIGNED };

/* Checks the checksum or MAC of the first len bytes of line against sig (the text after "~"). */
static enum line_check check_line(const struct line_keys *lk, const char *line, size_t len,
                                  const char *sig)
{
    char sum[LINE_SUM_HEX + 1];
    uint8_t mac[HMAC_SHA256_LEN];
    char hex[LINE_MAC_HEX + 1];
    bool signed_line = sig[0] == 'h' && strlen(sig + 1) == LINE_MAC_HEX;

    if (!signed_line && strlen(sig) != LINE_SUM_HEX) {
        return LINE_DAMAGED;
    }
    if (lk->n == 0 && signed_line) {
        return LINE_SIGNED;
    }
    if (lk->n > 0 && !signed_line) {
        /* data-loss guard: with a key, a plain checksum is something anyone could have written */
        return LINE_UNSIGNED;
    }
    if (!signed_line) {
        line_sum(line, len, sum);
        return memcmp(sum, sig, LINE_SUM_HEX) == 0 ? LINE_OK : LINE_DAMAGED;
    }
    for (size_t k = 0; k < lk->n; k++) {
        line_mac(lk->mac[k], lk->sysid, line, len, mac);
        str_hex_encode(mac, LINE_MAC_HEX / 2, hex);
        if (digest_equal((const uint8_t *)hex, (const uint8_t *)sig + 1, LINE_MAC_HEX)) {
            return LINE_OK;
        }
    }
    return LINE_DAMAGED;
}

/* Checks one line's checksum or MAC and splits it into at most max fields. */
static enum line_check split_line(const struct line_keys *lk, char *line, char **fields, int max,
                                  int *n)
{
    char *tilde = strrchr(line, '~');
    enum line_check c;

    if (tilde == NULL || tilde == line || tilde[-1] != ' ') {
        return LINE_DAMAGED;
    }
    c = check_line(lk, line, (size_t)(tilde - 1 - line), tilde + 1);
    if (c != LINE_OK) {
        return c;
    }
    tilde[-1] = '\0';
    *n = 0;
    for (char *p = line; *p != '\0' && *n < max;) {
        fields[(*n)++] = p;
        p += strcspn(p, " ");
        if (*p == ' ') {
            *p++ = '\0';
        }
    }
    return LINE_OK;
}

enum pitr_rc catalog_parse(const char *text, size_t len, const char *name,
                           const struct repo_session *repo, struct catalog_wal *w,
                           struct pitr_err *err)
{
    char *copy = xstrndup(text, len);
    char *line = copy;
    struct line_keys lk;
    enum line_check check = LINE_OK;
    enum pitr_rc rc = PITR_OK;
    int lineno = 1;
    size_t lines = 0;

    if (strncmp(copy, header, strlen(header)) != 0) {
        free(copy);
        return err_set(err, PITR_CORRUPT,
                       "%s is not a pitr catalog file (no \"pitr-catalog 1\" "
                       "header)",
                       name);
    }
    line += strlen(header);
    line_keys_init(&lk, repo);
    /* room for every line as a segment and as a restore point: one allocation per file, not
     * one per line (a folder's merged file has hundreds) */
    for (const char *p = strchr(line, '\n'); p != NULL; p = strchr(p + 1, '\n')) {
        lines++;
    }
    if (lines > 0) {
        w->segs = xrealloc(w->segs, (w->n_segs + lines) * sizeof(*w->segs));
        w->rps = xrealloc(w->rps, (w->n_rps + lines) * sizeof(*w->rps));
    }
    while (rc == PITR_OK && *line != '\0') {
        char *next = strchr(line, '\n');
        char *f[12];
        int n = 0;
        struct wal_file wf;
        struct pitr_err ignored;

        lineno++;
        if (next == NULL) {
            rc = PITR_CORRUPT; /* a file always ends in a newline: this one was cut */
            break;
        }
        *next++ = '\0';
        check = split_line(&lk, line, f, 12, &n);
        rc = check == LINE_OK ? PITR_OK : PITR_CORRUPT;
        if (rc == PITR_OK && (n < 2 || wal_parse_name(f[1], &wf, &ignored) != PITR_OK ||
                              wf.kind != WAL_FILE_SEGMENT)) {
            rc = PITR_CORRUPT;
        }
        if (rc == PITR_OK && strcmp(f[0], "seg") == 0) {
            rc = parse_seg(f, n, w, &wf);
        } else if (rc == PITR_OK && strcmp(f[0], "rp") == 0) {
            rc = parse_rp(f, n, w, &wf);
        } else if (rc == PITR_OK) {
            rc = PITR_CORRUPT;
        }
        line = next;
    }
    free(copy);
    line_keys_fini(&lk);
    if (check == LINE_UNSIGNED) {
        return err_set(err, PITR_CORRUPT,
                       "%s line %d is not authenticated with the key (written without it, by "
                       "someone else or by a pitr before 2026-12): run pitr-catalog upgrade",
                       name, lineno);
    }
    if (check == LINE_SIGNED) {
        return err_set(err, PITR_CONFIG,
                       "%s line %d is authenticated with an encryption key: set "
                       "encryption_key_file",
                       name, lineno);
    }
    if (rc != PITR_OK) {
        return err_set(err, PITR_CORRUPT,
                       "%s line %d is damaged (malformed or its checksum does not match): run "
                       "pitr-catalog rebuild",
                       name, lineno);
    }
    return PITR_OK;
}

static int compare_seg(const void *a, const void *b)
{
    const struct catalog_seg *x = a;
    const struct catalog_seg *y = b;

    if (x->tli != y->tli) {
        return x->tli < y->tli ? -1 : 1;
    }
    return x->segno < y->segno ? -1 : x->segno > y->segno;
}

static int compare_rp(const void *a, const void *b)
{
    const struct catalog_rp *x = a;
    const struct catalog_rp *y = b;

    if (x->tli != y->tli) {
        return x->tli < y->tli ? -1 : 1;
    }
    if (x->lsn != y->lsn) {
        return x->lsn < y->lsn ? -1 : 1;
    }
    return strcmp(x->name, y->name);
}

/* True when every element of v is >= the one before it: catalogs loaded folder by folder
 * usually are, and checking is linear where sorting is not. */
static bool sorted(const void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    const char *p = v;

    for (size_t i = 1; i < n; i++) {
        if (cmp(p + (i - 1) * size, p + i * size) > 0) {
            return false;
        }
    }
    return true;
}

void catalog_wal_normalize(struct catalog_wal *w)
{
    size_t k = 0;

    if (!sorted(w->segs, w->n_segs, sizeof(*w->segs), compare_seg)) {
        qsort(w->segs, w->n_segs, sizeof(*w->segs), compare_seg);
    }
    for (size_t i = 0; i < w->n_segs; i++) {
        if (k == 0 || compare_seg(&w->segs[k - 1], &w->segs[i]) != 0) {
            w->segs[k++] = w->segs[i];
        } else if (w->segs[k - 1].stored_size == 0 && w->segs[i].stored_size != 0) {
            w->segs[k - 1] = w->segs[i]; /* the entry that lets a listing check the size */
        }
    }
    w->n_segs = k;
    k = 0;
    if (!sorted(w->rps, w->n_rps, sizeof(*w->rps), compare_rp)) {
        qsort(w->rps, w->n_rps, sizeof(*w->rps), compare_rp);
    }
    for (size_t i = 0; i < w->n_rps; i++) {
        if (k == 0 || compare_rp(&w->rps[k - 1], &w->rps[i]) != 0) {
            w->rps[k++] = w->rps[i];
        }
    }
    w->n_rps = k;
}

void catalog_wal_fini(struct catalog_wal *w)
{
    free(w->segs);
    free(w->rps);
    memset(w, 0, sizeof(*w));
}

long catalog_find(const struct catalog_wal *w, uint32_t tli, uint64_t segno)
{
    size_t lo = 0;
    size_t hi = w->n_segs;
    struct catalog_seg key = {.tli = tli, .segno = segno};

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = compare_seg(&w->segs[mid], &key);

        if (c == 0) {
            return (long)mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return -1;
}

size_t catalog_seg_from_scan(const struct walscan_result *r, uint32_t tli, uint64_t segno,
                             int64_t archived_us, struct catalog_seg *seg, struct catalog_rp *rps)
{
    memset(seg, 0, sizeof(*seg));
    seg->tli = tli;
    seg->seg_size = r->seg_size;
    seg->segno = segno;
    seg->archived_us = archived_us;
    seg->xacts = (uint32_t)(r->commits + r->aborts);
    if (r->commits > 0 && r->aborts > 0) {
        seg->first_xact_us = r->first_commit < r->first_abort ? r->first_commit : r->first_abort;
        seg->last_xact_us = r->last_commit > r->last_abort ? r->last_commit : r->last_abort;
    } else if (seg->xacts > 0) {
        seg->first_xact_us = r->commits > 0 ? r->first_commit : r->first_abort;
        seg->last_xact_us = r->commits > 0 ? r->last_commit : r->last_abort;
    }
    for (unsigned i = 0; i < r->restore_points; i++) {
        rps[i].tli = tli;
        rps[i].lsn = r->restore_point[i].lsn;
        rps[i].time_us = r->restore_point[i].time;
        snprintf(rps[i].name, sizeof(rps[i].name), "%s", r->restore_point[i].name);
    }
    return r->restore_points;
}

/* --- in the repository ----------------------------------------------------------------------- */

static void folder_name(uint32_t tli, uint64_t segno, uint32_t seg_size, char out[17])
{
    char name[25];

    wal_segment_name(tli, segno, seg_size, name);
    memcpy(out, name, 16);
    out[16] = '\0';
}

enum pitr_rc catalog_record_segment(const struct repo_session *repo, const struct catalog_seg *seg,
                                    const struct catalog_rp *rps, size_t n_rps,
                                    struct pitr_err *err)
{
    char name[25];
    char key[KEY_MAX];
    struct buf text;
    struct write_opts opts = {true, 0};
    enum pitr_rc rc;

    wal_segment_name(seg->tli, seg->segno, seg->seg_size, name);
    buf_init(&text, 1024 * 1024);
    rc = str_format(key, sizeof(key), err, "%s/catalog/wal/%.16s/%s", repo->cluster, name, name);
    if (rc == PITR_OK) {
        rc = catalog_entry_format(seg, rps, n_rps, repo, &text, err);
    }
    if (rc == PITR_OK) {
        rc = storage_put(repo->storage, key, &opts, text.data, text.len, err);
    }
    if (rc == PITR_EXISTS) {
        rc = PITR_OK;
    }
    buf_fini(&text);
    return rc;
}

/* Reads one catalog object into w; PITR_NOT_FOUND when it is missing. */
static enum pitr_rc read_into(const struct repo_session *repo, const char *key,
                              struct catalog_wal *w, struct pitr_err *err)
{
    struct buf text;
    enum pitr_rc rc;

    buf_init(&text, CATALOG_FILE_MAX);
    rc = storage_get(repo->storage, key, &text, err);
    if (rc == PITR_OK) {
        rc = catalog_parse((const char *)text.data, text.len, key, repo, w, err);
    }
    buf_fini(&text);
    return rc;
}

struct names {
    char **v;
    size_t n;
};

static void names_add(struct names *n, const char *s)
{
    n->v = xrealloc(n->v, (n->n + 1) * sizeof(*n->v));
    n->v[n->n++] = xstrdup(s);
}

static void names_fini(struct names *n)
{
    for (size_t i = 0; i < n->n; i++) {
        free(n->v[i]);
    }
    free(n->v);
    memset(n, 0, sizeof(*n));
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static enum pitr_rc collect_name(void *arg, const char *key, const struct storage_info *info,
                                 struct pitr_err *err)
{
    struct names *n = arg;
    const char *base = strrchr(key, '/');

    (void)info;
    (void)err;
    names_add(n, base ? base + 1 : key);
    return PITR_OK;
}

/* Adds the entries of one folder that w does not have yet (w normalized). */
static enum pitr_rc read_entries(const struct repo_session *repo, const char *folder,
                                 uint32_t seg_size, struct catalog_wal *w, struct pitr_err *err)
{
    struct names entries = {NULL, 0};
    char dir[KEY_MAX];
    size_t before = w->n_segs;
    enum pitr_rc rc = str_format(dir, sizeof(dir), err, "%s/catalog/wal/%s", repo->cluster, folder);

    if (rc == PITR_OK) {
        rc = storage_list(repo->storage, dir, STORAGE_LIST_CHILDREN, collect_name, &entries, err);
    }
    for (size_t i = 0; rc == PITR_OK && i < entries.n; i++) {
        struct wal_file wf;
        struct pitr_err ignored;
        char key[KEY_MAX];

        if (wal_parse_name(entries.v[i], &wf, &ignored) != PITR_OK || wf.kind != WAL_FILE_SEGMENT ||
            catalog_find(w, wf.tli, wal_segno(&wf, seg_size)) >= 0) {
            continue; /* not an entry (a temp file), or already in the merged file */
        }
        rc = str_format(key, sizeof(key), err, "%s/%s", dir, entries.v[i]);
        if (rc == PITR_OK) {
            rc = read_into(repo, key, w, err);
        }
        if (rc == PITR_NOT_FOUND) {
            rc = PITR_OK; /* removed since the listing (expire) */
        }
    }
    names_fini(&entries);
    if (rc == PITR_OK && w->n_segs != before) {
        catalog_wal_normalize(w);
    }
    return rc;
}

/* Segments of w inside folder (tli, log). */
static size_t count_in_folder(const struct catalog_wal *w, uint32_t tli, uint64_t first,
                              uint64_t per_folder)
{
    size_t n = 0;

    for (size_t i = 0; i < w->n_segs; i++) {
        n += w->segs[i].tli == tli && w->segs[i].segno >= first &&
             w->segs[i].segno < first + per_folder;
    }
    return n;
}

/* Loads one folder into *out (normalized): its merged file, plus its entries unless the merged
 * file is complete. Each folder is read on its own so that the cost of a timeline's load grows
 * with its number of segments, not with the square of its number of folders. */
static enum pitr_rc load_folder(const struct repo_session *repo, const char *folder, uint32_t tli,
                                uint64_t log, uint32_t seg_size, struct catalog_wal *out,
                                struct pitr_err *err)
{
    char key[KEY_MAX];
    struct catalog_wal w = {NULL, 0, NULL, 0};
    uint64_t per_folder = wal_segs_per_log(seg_size);
    enum pitr_rc rc =
        str_format(key, sizeof(key), err, "%s/catalog/wal/%s.cat", repo->cluster, folder);

    if (rc == PITR_OK) {
        rc = read_into(repo, key, &w, err);
    }
    if (rc == PITR_NOT_FOUND) {
        rc = PITR_OK;
    }
    if (rc == PITR_OK) {
        catalog_wal_normalize(&w);
        if (count_in_folder(&w, tli, log * per_folder, per_folder) < per_folder) {
            rc = read_entries(repo, folder, seg_size, &w, err);
        }
    }
    if (rc != PITR_OK) {
        catalog_wal_fini(&w);
        return rc;
    }
    *out = w;
    return PITR_OK;
}

/* A catalog being assembled folder by folder, with room to grow geometrically. */
struct growing {
    struct catalog_wal w;
    size_t seg_cap;
    size_t rp_cap;
};

/* Appends part's elements to g (part is left as it was). */
static void grow_append(struct growing *g, const struct catalog_wal *part)
{
    if (g->w.n_segs + part->n_segs > g->seg_cap) {
        g->seg_cap = (g->w.n_segs + part->n_segs) * 2;
        g->w.segs = xrealloc(g->w.segs, g->seg_cap * sizeof(*g->w.segs));
    }
    if (g->w.n_rps + part->n_rps > g->rp_cap) {
        g->rp_cap = (g->w.n_rps + part->n_rps) * 2;
        g->w.rps = xrealloc(g->w.rps, g->rp_cap * sizeof(*g->w.rps));
    }
    if (part->n_segs > 0) {
        memcpy(g->w.segs + g->w.n_segs, part->segs, part->n_segs * sizeof(*part->segs));
        g->w.n_segs += part->n_segs;
    }
    if (part->n_rps > 0) {
        memcpy(g->w.rps + g->w.n_rps, part->rps, part->n_rps * sizeof(*part->rps));
        g->w.n_rps += part->n_rps;
    }
}

/* Folder names ("TTTTTTTTXXXXXXXX", from entry folders and merged files) of tli from log on. */
static enum pitr_rc list_folders(const struct repo_session *repo, uint32_t tli, uint64_t from_log,
                                 struct names *out, struct pitr_err *err)
{
    struct names all = {NULL, 0};
    char dir[KEY_MAX];
    char prefix[9];
    enum pitr_rc rc = str_format(dir, sizeof(dir), err, "%s/catalog/wal", repo->cluster);

    snprintf(prefix, sizeof(prefix), "%08X", tli);
    if (rc == PITR_OK) {
        rc = storage_list(repo->storage, dir, STORAGE_LIST_CHILDREN, collect_name, &all, err);
    }
    if (rc == PITR_NOT_FOUND) {
        rc = PITR_OK;
    }
    for (size_t i = 0; rc == PITR_OK && i < all.n; i++) {
        const char *n = all.v[i];
        size_t len = strlen(n);
        uint64_t log;

        if (!(len == 16 || (len == 20 && strcmp(n + 16, ".cat") == 0)) ||
            strncmp(n, prefix, 8) != 0 || str_parse_hex_u64(n + 8, 8, &log) != PITR_OK ||
            log < from_log) {
            continue;
        }
        all.v[i][16] = '\0';
        if (out->n == 0 || strcmp(out->v[out->n - 1], n) != 0) {
            names_add(out, n);
        }
    }
    names_fini(&all);
    if (rc == PITR_OK && out->n > 1) {
        struct names dedup = {NULL, 0};

        qsort(out->v, out->n, sizeof(*out->v), compare_names);
        for (size_t i = 0; i < out->n; i++) {
            if (dedup.n == 0 || strcmp(dedup.v[dedup.n - 1], out->v[i]) != 0) {
                names_add(&dedup, out->v[i]);
            }
        }
        names_fini(out);
        *out = dedup;
    }
    return rc;
}

struct catalog_reader {
    const struct repo_session *repo; /* borrowed */
    uint32_t tli;
    uint32_t seg_size;
    struct names folders; /* sorted */
};

enum pitr_rc catalog_reader_open(const struct repo_session *repo, uint32_t tli, uint64_t from_segno,
                                 uint32_t seg_size, struct catalog_reader **out,
                                 struct pitr_err *err)
{
    struct catalog_reader *r = xcalloc(1, sizeof(*r));
    enum pitr_rc rc =
        list_folders(repo, tli, from_segno / wal_segs_per_log(seg_size), &r->folders, err);

    r->repo = repo;
    r->tli = tli;
    r->seg_size = seg_size;
    if (rc != PITR_OK) {
        catalog_reader_free(r);
        return rc;
    }
    *out = r;
    return PITR_OK;
}

enum pitr_rc catalog_reader_load(struct catalog_reader *r, uint64_t segno, struct catalog_wal *out,
                                 struct pitr_err *err)
{
    uint64_t log = segno / wal_segs_per_log(r->seg_size);
    char folder[17];

    snprintf(folder, sizeof(folder), "%08X%08X", r->tli, (unsigned)log);
    if (bsearch(&(const char *){folder}, r->folders.v, r->folders.n, sizeof(*r->folders.v),
                compare_names) == NULL) {
        *out = (struct catalog_wal){NULL, 0, NULL, 0};
        return PITR_OK;
    }
    return load_folder(r->repo, folder, r->tli, log, r->seg_size, out, err);
}

bool catalog_reader_has_after(const struct catalog_reader *r, uint64_t segno)
{
    uint64_t log = segno / wal_segs_per_log(r->seg_size);
    uint64_t last = 0;

    return r->folders.n > 0 &&
           str_parse_hex_u64(r->folders.v[r->folders.n - 1] + 8, 8, &last) == PITR_OK && last > log;
}

void catalog_reader_free(struct catalog_reader *r)
{
    if (r == NULL) {
        return;
    }
    names_fini(&r->folders);
    free(r);
}

enum pitr_rc catalog_load_timeline(const struct repo_session *repo, uint32_t tli,
                                   uint64_t from_segno, uint32_t seg_size, struct catalog_wal *out,
                                   struct pitr_err *err)
{
    struct growing g = {{NULL, 0, NULL, 0}, 0, 0};
    struct names folders = {NULL, 0};
    uint64_t per_folder = wal_segs_per_log(seg_size);
    enum pitr_rc rc = list_folders(repo, tli, from_segno / per_folder, &folders, err);

    for (size_t i = 0; rc == PITR_OK && i < folders.n; i++) {
        uint64_t log = 0;
        struct catalog_wal part = {NULL, 0, NULL, 0};

        if (str_parse_hex_u64(folders.v[i] + 8, 8, &log) == PITR_OK) { /* list_folders checked */
            rc = load_folder(repo, folders.v[i], tli, log, seg_size, &part, err);
        }
        if (rc == PITR_OK) {
            grow_append(&g, &part);
        }
        catalog_wal_fini(&part);
    }
    names_fini(&folders);
    if (rc != PITR_OK) {
        catalog_wal_fini(&g.w);
        return rc;
    }
    catalog_wal_normalize(&g.w); /* folders come in order: this only checks, unless damaged */
    *out = g.w;
    return PITR_OK;
}

/* Renders every segment of w (with the restore points inside it) as one catalog file. */
static enum pitr_rc format_all(const struct repo_session *repo, const struct catalog_wal *w,
                               struct buf *out, struct pitr_err *err)
{
    struct line_keys lk;
    enum pitr_rc rc = buf_append(out, header, strlen(header), err);

    line_keys_init(&lk, repo);
    for (size_t i = 0; rc == PITR_OK && i < w->n_segs; i++) {
        const struct catalog_seg *g = &w->segs[i];

        rc = format_seg_line(&lk, g, out, err);
        for (size_t r = 0; rc == PITR_OK && r < w->n_rps; r++) {
            if (w->rps[r].tli == g->tli &&
                wal_segno_of_lsn(w->rps[r].lsn, g->seg_size) == g->segno) {
                rc = format_rp_line(&lk, g, &w->rps[r], out, err);
            }
        }
    }
    line_keys_fini(&lk);
    return rc;
}

enum pitr_rc catalog_merge_folder(const struct repo_session *repo, uint32_t tli, uint64_t segno,
                                  uint32_t seg_size, struct pitr_err *err)
{
    char folder[17];
    char key[KEY_MAX];
    struct catalog_wal w = {NULL, 0, NULL, 0};
    struct buf text;
    struct write_opts opts = {false, 0};
    uint64_t per_folder = wal_segs_per_log(seg_size);
    enum pitr_rc rc;

    folder_name(tli, segno, seg_size, folder);
    buf_init(&text, CATALOG_FILE_MAX);
    rc = load_folder(repo, folder, tli, segno / per_folder, seg_size, &w, err);
    if (rc == PITR_OK) {
        rc = read_entries(repo, folder, seg_size, &w, err); /* even when complete */
    }
    if (rc == PITR_OK) {
        rc = format_all(repo, &w, &text, err);
    }
    if (rc == PITR_OK) {
        rc = str_format(key, sizeof(key), err, "%s/catalog/wal/%s.cat", repo->cluster, folder);
    }
    if (rc == PITR_OK) {
        rc = storage_put(repo->storage, key, &opts, text.data, text.len, err);
    }
    buf_fini(&text);
    catalog_wal_fini(&w);
    return rc;
}

enum pitr_rc catalog_prune_folder(const struct repo_session *repo, uint32_t tli, uint64_t segno,
                                  uint64_t before_segno, uint32_t seg_size, struct pitr_err *err)
{
    char folder[17];
    char key[KEY_MAX];
    struct catalog_wal w = {NULL, 0, NULL, 0};
    struct buf text;
    struct write_opts opts = {false, 0};
    size_t k = 0;
    enum pitr_rc rc;

    folder_name(tli, segno, seg_size, folder);
    buf_init(&text, CATALOG_FILE_MAX);
    rc = str_format(key, sizeof(key), err, "%s/catalog/wal/%s.cat", repo->cluster, folder);
    if (rc == PITR_OK) {
        rc = read_into(repo, key, &w, err);
    }
    if (rc == PITR_NOT_FOUND) {
        buf_fini(&text);
        return PITR_OK;
    }
    for (size_t i = 0; rc == PITR_OK && i < w.n_segs; i++) {
        if (w.segs[i].segno >= before_segno) {
            w.segs[k++] = w.segs[i];
        }
    }
    w.n_segs = k;
    k = 0;
    for (size_t i = 0; rc == PITR_OK && i < w.n_rps; i++) {
        if (wal_segno_of_lsn(w.rps[i].lsn, seg_size) >= before_segno) {
            w.rps[k++] = w.rps[i];
        }
    }
    w.n_rps = k;
    if (rc == PITR_OK && w.n_segs == 0) {
        rc = storage_remove(repo->storage, key, err);
    } else if (rc == PITR_OK) {
        catalog_wal_normalize(&w);
        rc = format_all(repo, &w, &text, err);
        if (rc == PITR_OK) {
            rc = storage_put(repo->storage, key, &opts, text.data, text.len, err);
        }
    }
    buf_fini(&text);
    catalog_wal_fini(&w);
    return rc;
}

struct last_archived {
    const struct repo_session *repo;
    struct catalog_seg seg;
    bool found;
};

/* Every catalog file (merged or entry) below catalog/wal: parsed for its latest archive time. */
static enum pitr_rc scan_archived(void *arg, const char *key, const struct storage_info *info,
                                  struct pitr_err *err)
{
    struct last_archived *l = arg;
    struct catalog_wal w = {NULL, 0, NULL, 0};
    struct buf text;
    enum pitr_rc rc;

    const char *name = strrchr(key, '/') ? strrchr(key, '/') + 1 : key;
    size_t len = strlen(name);

    if (info->is_dir || !(len == 24 || (len == 20 && strcmp(name + 16, ".cat") == 0))) {
        return PITR_OK;
    }
    buf_init(&text, 64 * 1024 * 1024);
    rc = storage_get(l->repo->storage, key, &text, err);
    if (rc == PITR_NOT_FOUND) {
        rc = PITR_OK; /* merged away since the listing: its facts are in the .cat file */
    } else if (rc == PITR_OK) {
        rc = catalog_parse((const char *)text.data, text.len, key, l->repo, &w, err);
    }
    for (size_t i = 0; rc == PITR_OK && i < w.n_segs; i++) {
        if (!l->found || w.segs[i].archived_us > l->seg.archived_us) {
            l->seg = w.segs[i];
            l->found = true;
        }
    }
    catalog_wal_fini(&w);
    buf_fini(&text);
    return rc;
}

enum pitr_rc catalog_last_archived(const struct repo_session *repo, struct catalog_seg *out,
                                   bool *found, struct pitr_err *err)
{
    struct last_archived l;
    char dir[KEY_MAX];
    enum pitr_rc rc = str_format(dir, sizeof(dir), err, "%s/catalog/wal", repo->cluster);

    memset(&l, 0, sizeof(l));
    l.repo = repo;
    if (rc == PITR_OK) {
        rc = storage_list(repo->storage, dir, STORAGE_LIST_RECURSIVE, scan_archived, &l, err);
    }
    if (rc == PITR_NOT_FOUND) {
        rc = PITR_OK;
    }
    if (rc == PITR_OK) {
        *found = l.found;
        if (l.found) {
            *out = l.seg;
        }
    }
    return rc;
}

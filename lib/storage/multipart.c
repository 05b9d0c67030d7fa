/* multipart: see multipart.h. Parts finish in any order when uploaded concurrently, but S3 wants
 * them listed in ascending order and computes the final ETag over their MD5s in that order, so
 * the MD5s are kept by part number and read back in order. */
#include "storage/multipart.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strutil.h"
#include "base/xalloc.h"

struct multipart_part {
    uint8_t md5[MD5_LEN];
    bool done;
};

struct multipart {
    struct multipart_part *parts; /* parts[n - 1] is part number n */
    unsigned count;               /* handed out */
    unsigned cap;
    unsigned pending;
};

struct multipart *multipart_new(void)
{
    return xcalloc(1, sizeof(struct multipart));
}

void multipart_free(struct multipart *m)
{
    if (m != NULL) {
        free(m->parts);
        free(m);
    }
}

unsigned multipart_next(struct multipart *m)
{
    if (m->count == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 64;
        m->parts = xrealloc(m->parts, (size_t)m->cap * sizeof(*m->parts));
    }
    memset(&m->parts[m->count], 0, sizeof(m->parts[m->count]));
    m->count++;
    m->pending++;
    return m->count;
}

unsigned multipart_count(const struct multipart *m)
{
    return m->count;
}

unsigned multipart_pending(const struct multipart *m)
{
    return m->pending;
}

void multipart_done(struct multipart *m, unsigned number, const uint8_t md5[MD5_LEN])
{
    assert(number >= 1 && number <= m->count && !m->parts[number - 1].done);
    memcpy(m->parts[number - 1].md5, md5, MD5_LEN);
    m->parts[number - 1].done = true;
    m->pending--;
}

enum pitr_rc multipart_complete_body(const struct multipart *m, struct buf *out,
                                     char etag_out[MULTIPART_ETAG_LEN], struct pitr_err *err)
{
    struct md5 *etag_md5;
    uint8_t md5[MD5_LEN];
    char hex[2 * MD5_LEN + 1];
    enum pitr_rc rc;

    /* data-loss guard: completing with a part missing would store an object with a hole */
    if (m->count == 0) {
        return err_set(err, PITR_INTERNAL, "could not complete a multipart upload without parts");
    }
    if (m->pending > 0) {
        return err_set(err, PITR_INTERNAL,
                       "could not complete a multipart upload: %u of %u parts not stored",
                       m->pending, m->count);
    }
    etag_md5 = md5_new();
    rc = buf_printf(out, err, "<CompleteMultipartUpload>");
    for (unsigned i = 0; i < m->count && rc == PITR_OK; i++) {
        str_hex_encode(m->parts[i].md5, MD5_LEN, hex);
        md5_update(etag_md5, m->parts[i].md5, MD5_LEN);
        rc = buf_printf(out, err, "<Part><PartNumber>%u</PartNumber><ETag>\"%s\"</ETag></Part>",
                        i + 1, hex);
    }
    if (rc == PITR_OK) {
        rc = buf_printf(out, err, "</CompleteMultipartUpload>");
    }
    if (rc == PITR_OK) {
        md5_final(etag_md5, md5);
        str_hex_encode(md5, MD5_LEN, hex);
        snprintf(etag_out, MULTIPART_ETAG_LEN, "%s-%u", hex, m->count);
    }
    md5_free(etag_md5);
    return rc;
}

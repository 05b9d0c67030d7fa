/* multipart: the bookkeeping of one S3 multipart upload whose parts may finish in any order.
 * Part numbers are handed out in stream order; each stored part records its MD5; the
 * CompleteMultipartUpload body and the ETag S3 must answer with are built in part-number order,
 * and only once every part handed out has been recorded. Pure: no I/O and no locking (the
 * caller serialises access). */
#ifndef PITR_STORAGE_MULTIPART_H
#define PITR_STORAGE_MULTIPART_H

#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "crypto/digest.h"

enum { MULTIPART_ETAG_LEN = 2 * MD5_LEN + 8 }; /* "<32 hex>-<count>" and a NUL */

struct multipart;

/* An empty ledger; the caller frees it with multipart_free (NULL is fine). */
struct multipart *multipart_new(void);
void multipart_free(struct multipart *m);

/* Hands out the next part number in stream order: 1, 2, 3, ... */
unsigned multipart_next(struct multipart *m);
/* Part numbers handed out so far. */
unsigned multipart_count(const struct multipart *m);
/* Parts handed out whose MD5 has not been recorded yet. */
unsigned multipart_pending(const struct multipart *m);

/* Records that part `number` (handed out, not recorded before) was stored with this MD5. */
void multipart_done(struct multipart *m, unsigned number, const uint8_t md5[MD5_LEN]);

/* Appends the CompleteMultipartUpload body, every part in number order, to out, and writes to
 * etag_out the ETag S3 answers for exactly those parts: hex MD5 of the parts' binary MD5s, "-",
 * the part count. PITR_INTERNAL when no part was handed out or one is still pending; out's
 * errors (its cap). etag_out is written only on success. */
enum pitr_rc multipart_complete_body(const struct multipart *m, struct buf *out,
                                     char etag_out[MULTIPART_ETAG_LEN],
                                     struct pitr_err *err) PITR_MUST_CHECK;

#endif

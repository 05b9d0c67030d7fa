/* credentials: S3 access keys from the AWS_* environment variables or from s3_credentials_file
 * (which must be mode 0600). Held in one struct, wiped on release, never logged; they are never
 * taken from argv. */
#ifndef PITR_CONFIG_CREDENTIALS_H
#define PITR_CONFIG_CREDENTIALS_H

#include "base/err.h"
#include "config/config.h"

struct s3_credentials {
    char *access_key;
    char *secret_key;
    char *session_token; /* NULL when not used */
};

/* Loads credentials: from cfg->s3_credentials_file when set, else from AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. On success the caller owns *out and releases it
 * with credentials_fini. */
enum pitr_rc credentials_load(const struct config *cfg, struct s3_credentials *out,
                              struct pitr_err *err) PITR_MUST_CHECK;
void credentials_fini(struct s3_credentials *c);

#endif

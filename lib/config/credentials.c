/* credentials: the file uses the config syntax with the AWS key names so the same parser (and its
 * line-numbered errors) serves both; values are copied and the read buffer wiped. */
#include "config/credentials.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "base/xalloc.h"

void credentials_fini(struct s3_credentials *c)
{
    xfree_secret(c->access_key);
    xfree_secret(c->secret_key);
    xfree_secret(c->session_token);
    memset(c, 0, sizeof(*c));
}

struct file_ctx {
    struct s3_credentials *creds;
    const char *path;
};

static enum pitr_rc file_entry(void *arg, const char *key, const char *value, int line,
                               struct pitr_err *err)
{
    struct file_ctx *ctx = arg;
    char **slot = NULL;

    if (strcmp(key, "aws_access_key_id") == 0) {
        slot = &ctx->creds->access_key;
    } else if (strcmp(key, "aws_secret_access_key") == 0) {
        slot = &ctx->creds->secret_key;
    } else if (strcmp(key, "aws_session_token") == 0) {
        slot = &ctx->creds->session_token;
    } else {
        return err_set(err, PITR_CONFIG,
                       "%s:%d: unknown setting \"%s\" (expected aws_access_key_id, "
                       "aws_secret_access_key or aws_session_token)",
                       ctx->path, line, key);
    }
    xfree_secret(*slot);
    *slot = value[0] == '\0' ? NULL : xstrdup(value);
    return PITR_OK;
}

static enum pitr_rc load_file(const char *path, struct s3_credentials *c, struct pitr_err *err)
{
    struct stat st;
    struct buf text;
    struct file_ctx ctx = {c, path};
    enum pitr_rc rc;

    if (stat(path, &st) != 0) {
        return err_sys(err, PITR_CONFIG, "could not read s3_credentials_file \"%s\"", path);
    }
    if ((st.st_mode & 077) != 0) {
        return err_set(err, PITR_CONFIG,
                       "s3_credentials_file \"%s\" is accessible by other users: run chmod 600 on "
                       "it",
                       path);
    }
    buf_init(&text, 64 * 1024);
    rc = fs_read_file(path, &text, err);
    if (rc == PITR_OK) {
        rc =
            config_parse_text(text.len ? (const char *)text.data : "", path, file_entry, &ctx, err);
    } else {
        err->rc = rc = PITR_CONFIG;
    }
    if (text.data != NULL) {
        explicit_bzero(text.data, text.cap);
    }
    buf_fini(&text);
    return rc;
}

static char *env_dup(const char *name)
{
    const char *v = getenv(name);

    return v == NULL || v[0] == '\0' ? NULL : xstrdup(v);
}

enum pitr_rc credentials_load(const struct config *cfg, struct s3_credentials *out,
                              struct pitr_err *err)
{
    struct s3_credentials c = {NULL, NULL, NULL};
    const char *from;
    enum pitr_rc rc = PITR_OK;

    if (cfg->s3_credentials_file != NULL) {
        from = cfg->s3_credentials_file;
        rc = load_file(cfg->s3_credentials_file, &c, err);
    } else {
        from = "the environment";
        c.access_key = env_dup("AWS_ACCESS_KEY_ID");
        c.secret_key = env_dup("AWS_SECRET_ACCESS_KEY");
        c.session_token = env_dup("AWS_SESSION_TOKEN");
    }
    if (rc == PITR_OK && (c.access_key == NULL || c.secret_key == NULL)) {
        rc = err_set(err, PITR_CONFIG,
                     "missing S3 credentials in %s: set AWS_ACCESS_KEY_ID and "
                     "AWS_SECRET_ACCESS_KEY, or s3_credentials_file",
                     from);
    }
    if (rc != PITR_OK) {
        credentials_fini(&c);
        return rc;
    }
    *out = c;
    return PITR_OK;
}

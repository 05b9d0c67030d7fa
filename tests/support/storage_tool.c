/* pitr-storage-tool: a test-only command line over the storage API, so integration tests can
 * drive a driver directly (put/get/read-range/stat/list/rm). URL is a directory or
 * s3://bucket[/prefix]; S3 settings come from the environment (PITR_S3_ENDPOINT, PITR_S3_REGION,
 * PITR_S3_CA_FILE, PITR_S3_URI_STYLE=path|virtual, PITR_S3_PART_SIZE, PITR_S3_UPLOAD_CONCURRENCY,
 * PITR_S3_MAX_ATTEMPTS, PITR_S3_RETRY_MAX_MS, PITR_S3_LOW_SPEED_TIME, AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), not from the config module. Exit: 0 ok, 2 not found, 3
 * exists, 1 anything else. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/strutil.h"
#include "storage/storage.h"

static const char *env(const char *name, const char *fallback)
{
    const char *v = getenv(name);

    return v != NULL && v[0] != '\0' ? v : fallback;
}

/* A number from the environment, or fallback when unset; false (with err) when malformed. */
static bool env_number(const char *name, uint64_t fallback, uint64_t *out, struct pitr_err *err)
{
    const char *v = env(name, NULL);

    *out = fallback;
    return v == NULL || str_parse_size(v, name, out, err) == PITR_OK;
}

static struct storage *open_url(const char *url, struct pitr_err *err)
{
    struct s3_params p;
    char bucket[256];
    const char *spec;
    const char *slash;
    uint64_t part_size;
    uint64_t concurrency;
    uint64_t attempts;
    uint64_t retry_ms;
    uint64_t stall_s;

    if (strncmp(url, "s3://", 5) != 0) {
        struct posix_params pp = {url, false};

        return posix_storage_new(&pp, err);
    }
    spec = url + 5;
    slash = strchr(spec, '/');
    snprintf(bucket, sizeof(bucket), "%.*s", slash ? (int)(slash - spec) : (int)strlen(spec), spec);
    memset(&p, 0, sizeof(p));
    p.bucket = bucket;
    p.prefix = slash ? slash + 1 : "";
    p.endpoint = env("PITR_S3_ENDPOINT", "s3.amazonaws.com");
    p.region = env("PITR_S3_REGION", "us-east-1");
    p.virtual_host = strcmp(env("PITR_S3_URI_STYLE", "path"), "virtual") == 0;
    p.verify_tls = true;
    p.ca_file = env("PITR_S3_CA_FILE", NULL);
    p.access_key = getenv("AWS_ACCESS_KEY_ID");
    p.secret_key = getenv("AWS_SECRET_ACCESS_KEY");
    p.session_token = env("AWS_SESSION_TOKEN", NULL);
    if (!env_number("PITR_S3_PART_SIZE", 8u * 1024 * 1024, &part_size, err) ||
        !env_number("PITR_S3_UPLOAD_CONCURRENCY", 0, &concurrency, err) ||
        !env_number("PITR_S3_MAX_ATTEMPTS", 3, &attempts, err) ||
        !env_number("PITR_S3_RETRY_MAX_MS", 10000, &retry_ms, err) ||
        !env_number("PITR_S3_LOW_SPEED_TIME", 10, &stall_s, err)) {
        return NULL;
    }
    if (attempts < 1 || attempts > 100 || retry_ms > 3600 * 1000 || concurrency > 1000 ||
        stall_s < 1 || stall_s > 3600) {
        err_set(err, PITR_CONFIG,
                "PITR_S3_MAX_ATTEMPTS (1-100), PITR_S3_RETRY_MAX_MS, PITR_S3_UPLOAD_CONCURRENCY or "
                "PITR_S3_LOW_SPEED_TIME is out of range");
        return NULL;
    }
    p.part_size = part_size;
    p.upload_concurrency = (unsigned)concurrency; /* 0: the driver's default; > 32 its error */
    p.max_attempts = (unsigned)attempts;
    p.max_retry_ms = (unsigned)retry_ms;
    p.connect_timeout_ms = 2000;
    p.low_speed_time_s = (unsigned)stall_s;
    return s3_storage_new(&p, err);
}

static enum pitr_rc print_entry(void *arg, const char *key, const struct storage_info *info,
                                struct pitr_err *err)
{
    (void)arg;
    (void)err;
    printf("%s%s\t%llu\n", key, info->is_dir ? "/" : "", (unsigned long long)info->size);
    return PITR_OK;
}

static enum pitr_rc put_file(struct storage *s, const char *key, const char *path, bool create_only,
                             struct pitr_err *err)
{
    struct write_opts opts = {create_only, 0};
    struct filter *sink = NULL;
    uint8_t chunk[65536];
    enum pitr_rc rc;
    int fd = open(path, O_RDONLY);

    if (fd < 0) {
        return err_sys(err, PITR_IO, "could not open \"%s\"", path);
    }
    rc = storage_write_open(s, key, &opts, &sink, err);
    while (rc == PITR_OK) {
        size_t got = 0;

        rc = fs_read_full(fd, chunk, sizeof(chunk), &got, path, err);
        if (rc != PITR_OK || got == 0) {
            break;
        }
        rc = filter_write(sink, chunk, got, err);
    }
    if (rc == PITR_OK) {
        rc = filter_finish(sink, err);
    }
    filter_free(sink);
    close(fd);
    return rc;
}

static enum pitr_rc get_file(struct storage *s, const char *key, const char *path,
                             struct pitr_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    struct filter *sink;
    enum pitr_rc rc;

    if (fd < 0) {
        return err_sys(err, PITR_IO, "could not create \"%s\"", path);
    }
    sink = fd_sink_new(fd, path);
    rc = storage_read(s, key, sink, err);
    filter_free(sink);
    close(fd);
    return rc;
}

/* Writes bytes [OFFSET, OFFSET + LEN) of the object to standard output. */
static enum pitr_rc read_range(struct storage *s, const char *key, const char *offset_arg,
                               const char *len_arg, struct pitr_err *err)
{
    uint64_t offset;
    uint64_t len;
    struct filter *sink;
    enum pitr_rc rc = str_parse_u64(offset_arg, "OFFSET", &offset, err);

    if (rc == PITR_OK) {
        rc = str_parse_u64(len_arg, "LEN", &len, err);
    }
    if (rc != PITR_OK) {
        return rc;
    }
    sink = fd_sink_new(STDOUT_FILENO, "standard output");
    rc = storage_read_range(s, key, offset, len, sink, err);
    filter_free(sink);
    return rc;
}

int main(int argc, char **argv)
{
    struct pitr_err err;
    struct storage *s;
    struct storage_info info;
    enum pitr_rc rc = PITR_CONFIG;
    const char *cmd = argc > 2 ? argv[2] : "";

    log_init("pitr-storage-tool", LOG_LEVEL_WARN);
    if (argc < 4) {
        fprintf(stderr, "usage: pitr-storage-tool URL put|get|read-range|stat|list|rm ARGS...\n");
        return 1;
    }
    s = open_url(argv[1], &err);
    if (s == NULL) {
        fprintf(stderr, "pitr-storage-tool: %s\n", err.msg);
        return 1;
    }
    if (strcmp(cmd, "put") == 0 && argc >= 5) {
        rc =
            put_file(s, argv[3], argv[4], argc > 5 && strcmp(argv[5], "--no-overwrite") == 0, &err);
    } else if (strcmp(cmd, "get") == 0 && argc == 5) {
        rc = get_file(s, argv[3], argv[4], &err);
    } else if (strcmp(cmd, "read-range") == 0 && argc == 6) {
        rc = read_range(s, argv[3], argv[4], argv[5], &err);
    } else if (strcmp(cmd, "stat") == 0) {
        rc = storage_stat(s, argv[3], &info, &err);
        if (rc == PITR_OK) {
            printf("%llu\n", (unsigned long long)info.size);
        }
    } else if (strcmp(cmd, "list") == 0) {
        rc = storage_list(s, argv[3],
                          argc > 4 && strcmp(argv[4], "--recursive") == 0 ? STORAGE_LIST_RECURSIVE
                                                                          : STORAGE_LIST_CHILDREN,
                          print_entry, NULL, &err);
    } else if (strcmp(cmd, "rm") == 0) {
        rc = storage_remove(s, argv[3], &err);
    } else {
        err_set(&err, PITR_CONFIG, "unknown command \"%s\"", cmd);
    }
    storage_free(s);
    if (rc != PITR_OK) {
        fprintf(stderr, "pitr-storage-tool: %s\n", err.msg);
    }
    return rc == PITR_OK ? 0 : rc == PITR_NOT_FOUND ? 2 : rc == PITR_EXISTS ? 3 : 1;
}

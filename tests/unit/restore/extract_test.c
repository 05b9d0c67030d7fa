/* Tests for lib/restore/extract.c: files land with the right content and mode and are checked
 * against the manifest (size, SHA-256, presence, once only); names that leave the target, existing
 * symlinks in the way and existing files are refused, and nothing is written outside the target;
 * extract_check_complete names what the archive lacked. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "base/strutil.h"
#include "crypto/sha256.h"
#include "pg/manifest.h"
#include "restore/extract.h"
#include "support/testutil.h"

struct mfile {
    const char *path;
    const void *data;
    size_t len;
};

/* A manifest (with a valid Manifest-Checksum) listing files with their sizes and SHA-256. */
static struct manifest *make_manifest(const struct mfile *files, size_t n)
{
    struct buf b;
    struct pitr_err err;
    struct manifest *m = NULL;
    uint8_t digest[SHA256_LEN];
    char hex[2 * SHA256_LEN + 1];

    buf_init(&b, 1 << 20);
    ck_assert_int_eq(
        buf_printf(&b, &err, "{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": ["),
        PITR_OK);
    for (size_t i = 0; i < n; i++) {
        sha256_buffer(files[i].data, files[i].len, digest);
        str_hex_encode(digest, SHA256_LEN, hex);
        ck_assert_int_eq(
            buf_printf(&b, &err,
                       "%s\n{ \"Path\": \"%s\", \"Size\": %zu, \"Checksum-Algorithm\": "
                       "\"SHA256\", \"Checksum\": \"%s\" }",
                       i == 0 ? "" : ",", files[i].path, files[i].len, hex),
            PITR_OK);
    }
    ck_assert_int_eq(buf_printf(&b, &err, "\n],\n"), PITR_OK);
    sha256_buffer(b.data, b.len, digest);
    str_hex_encode(digest, SHA256_LEN, hex);
    ck_assert_int_eq(buf_printf(&b, &err, "\"Manifest-Checksum\": \"%s\"}\n", hex), PITR_OK);
    ck_assert_msg(manifest_parse((const char *)b.data, b.len, &m, &err) == PITR_OK, "%s", err.msg);
    buf_fini(&b);
    return m;
}

static char *tmp_path(const char *name)
{
    return fs_path_join(testutil_tmpdir(), name);
}

/* Makes <tmp>/root and returns its path (caller frees). */
static char *make_root(void)
{
    char *root = tmp_path("root");

    ck_assert_int_eq(mkdir(root, 0700), 0);
    return root;
}

/* Streams tar into root in chunks; returns the first failure (of write or finish). */
static enum pitr_rc run(struct extract *x, const struct buf *tar, size_t chunk,
                        struct pitr_err *err)
{
    struct filter *sink = extract_sink(x);
    enum pitr_rc rc = PITR_OK;

    for (size_t off = 0; off < tar->len && rc == PITR_OK; off += chunk) {
        rc = filter_write(sink, tar->data + off, tar->len - off < chunk ? tar->len - off : chunk,
                          err);
    }
    if (rc == PITR_OK) {
        rc = filter_finish(sink, err);
    }
    return rc;
}

static void assert_file(const char *root, const char *name, const void *data, size_t len,
                        unsigned mode)
{
    char *path = fs_path_join(root, name);
    struct buf b;
    struct pitr_err err;
    struct stat st;

    ck_assert_int_eq(lstat(path, &st), 0);
    ck_assert_msg(S_ISREG(st.st_mode), "%s is not a regular file", path);
    ck_assert_uint_eq(st.st_mode & 07777, mode);
    buf_init(&b, 1 << 24);
    ck_assert_int_eq(fs_read_file(path, &b, &err), PITR_OK);
    ck_assert_uint_eq(b.len, len);
    if (len > 0) {
        ck_assert_mem_eq(b.data, data, len);
    }
    buf_fini(&b);
    free(path);
}

static void assert_dir(const char *root, const char *name, unsigned mode)
{
    char *path = fs_path_join(root, name);
    struct stat st;

    ck_assert_int_eq(lstat(path, &st), 0);
    ck_assert_msg(S_ISDIR(st.st_mode), "%s is not a directory", path);
    ck_assert_uint_eq(st.st_mode & 07777, mode);
    free(path);
}

static void assert_absent(const char *path)
{
    struct stat st;

    ck_assert_msg(lstat(path, &st) != 0 && errno == ENOENT, "%s exists", path);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d)) != NULL) {
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    }
    closedir(d);
    return n;
}

static const size_t chunks[] = {1, 100, 512, 513, 65536};

START_TEST(test_extract_files_modes_and_manifest)
{
    uint8_t control[8192];
    uint8_t rel[3000];
    struct mfile files[] = {
        {"PG_VERSION", "15\n", 3},
        {"global/pg_control", control, sizeof(control)},
        {"base/1/1259", rel, sizeof(rel)},
        {"base/1/empty", "", 0},
        {"postgresql.auto.conf", "# x\n", 4},
    };
    struct manifest *m;
    struct buf tar;
    struct extract *x;
    struct pitr_err err;
    char *root = make_root();
    const char *name;
    const char *target;
    char *link_path;

    umask(022);
    testutil_fill(control, sizeof(control), 1);
    testutil_fill(rel, sizeof(rel), 2);
    m = make_manifest(files, sizeof(files) / sizeof(files[0]));
    buf_init(&tar, 1 << 20);
    testutil_tar_entry(&tar, '0', "PG_VERSION", 0600, "15\n", 3, NULL);
    testutil_tar_entry(&tar, '5', "global/", 0750, NULL, 0, NULL);
    testutil_tar_entry(&tar, '0', "global/pg_control", 0644, control, sizeof(control), NULL);
    testutil_tar_entry(&tar, '0', "./base/1/1259", 0777, rel, sizeof(rel), NULL);
    testutil_tar_entry(&tar, '0', "base/1/empty", 0400, NULL, 0, NULL);
    testutil_tar_entry(&tar, '2', "pg_tblspc/16384", 0777, NULL, 0, "/srv/tblspc");
    testutil_tar_entry(&tar, '0', "postgresql.auto.conf", 0600, "# x\n", 4, NULL);
    testutil_tar_end(&tar);

    x = extract_new(root, "", m);
    ck_assert_int_eq(extract_check_complete(m, &err), PITR_CORRUPT);
    ck_assert_msg(run(x, &tar, chunks[_i], &err) == PITR_OK, "%s", err.msg);
    /* content, and modes: group read at most, owner read-write always */
    assert_file(root, "PG_VERSION", "15\n", 3, 0600);
    assert_file(root, "global/pg_control", control, sizeof(control), 0640);
    assert_file(root, "base/1/1259", rel, sizeof(rel), 0640);
    assert_file(root, "base/1/empty", NULL, 0, 0600);
    assert_file(root, "postgresql.auto.conf", "# x\n", 4, 0600);
    assert_dir(root, "global", 0750);
    assert_dir(root, "base", 0700);
    assert_dir(root, "base/1", 0700);
    ck_assert_uint_eq(extract_bytes(x), 3 + sizeof(control) + sizeof(rel) + 4);
    /* the symlink is reported, not created */
    ck_assert_uint_eq(extract_symlink_count(x), 1);
    extract_symlink(x, 0, &name, &target);
    ck_assert_str_eq(name, "pg_tblspc/16384");
    ck_assert_str_eq(target, "/srv/tblspc");
    link_path = fs_path_join(root, "pg_tblspc/16384");
    assert_absent(link_path);
    free(link_path);
    for (size_t i = 0; i < manifest_count(m); i++) {
        ck_assert(manifest_file_at(m, i)->seen);
    }
    ck_assert_int_eq(extract_check_complete(m, &err), PITR_OK);
    extract_free(x);
    manifest_free(m);
    buf_fini(&tar);
    free(root);
}
END_TEST

/* Without a manifest nothing is checked; with a prefix, manifest paths are prefix + name. */
START_TEST(test_extract_no_manifest_and_prefix)
{
    struct mfile files[] = {{"pg_tblspc/16384/PG_15_202209061/5/16390", "data", 4}};
    struct manifest *m = make_manifest(files, 1);
    struct buf tar;
    struct extract *x;
    struct pitr_err err;
    char *root = make_root();
    char *root2 = tmp_path("root2");

    umask(022);
    buf_init(&tar, 1 << 16);
    testutil_tar_entry(&tar, '0', "PG_15_202209061/5/16390", 0600, "data", 4, NULL);
    testutil_tar_end(&tar);

    x = extract_new(root, "", NULL);
    ck_assert_msg(run(x, &tar, 512, &err) == PITR_OK, "%s", err.msg);
    assert_file(root, "PG_15_202209061/5/16390", "data", 4, 0600);
    extract_free(x);

    ck_assert_int_eq(mkdir(root2, 0700), 0);
    x = extract_new(root2, "pg_tblspc/16384/", m);
    ck_assert_msg(run(x, &tar, 512, &err) == PITR_OK, "%s", err.msg);
    assert_file(root2, "PG_15_202209061/5/16390", "data", 4, 0600);
    ck_assert_int_eq(extract_check_complete(m, &err), PITR_OK);
    extract_free(x);

    manifest_free(m);
    buf_fini(&tar);
    free(root);
    free(root2);
}
END_TEST

/* Names that leave the target: refused before anything is created. */
static const char *const escapes[] = {"../evil", "a/../../evil", "/tmp/pitr-evil-extract",
                                      "./../evil"};

START_TEST(test_extract_refuses_traversal)
{
    struct buf tar;
    struct extract *x;
    struct pitr_err err;
    char *root = make_root();
    char *evil = tmp_path("evil");
    char type = "025"[_i % 3];
    const char *name = escapes[_i / 3];

    buf_init(&tar, 1 << 16);
    testutil_tar_entry(&tar, type, name, 0600, type == '0' ? "pwn" : NULL, type == '0' ? 3 : 0,
                       type == '2' ? "/etc" : NULL);
    testutil_tar_end(&tar);
    x = extract_new(root, "", NULL);
    ck_assert_int_eq(run(x, &tar, 512, &err), PITR_CORRUPT);
    ck_assert_ptr_nonnull(strstr(err.msg, "malformed header (name, mode or size)"));
    ck_assert_uint_eq(extract_symlink_count(x), 0);
    assert_absent(evil);
    assert_absent("/tmp/pitr-evil-extract");
    ck_assert_int_eq(count_entries(root), 0);
    extract_free(x);
    buf_fini(&tar);
    free(evil);
    free(root);
}
END_TEST

/* A symlink already in the target, as a parent directory: never written through. */
START_TEST(test_extract_refuses_symlinked_parent)
{
    struct buf tar;
    struct extract *x;
    struct pitr_err err;
    char *root = make_root();
    char *outside = tmp_path("outside");
    char *link = fs_path_join(root, "pg_wal");
    char want[1024];

    ck_assert_int_eq(mkdir(outside, 0700), 0);
    ck_assert_int_eq(symlink(outside, link), 0);
    buf_init(&tar, 1 << 16);
    testutil_tar_entry(&tar, '0', "pg_wal/000000010000000000000001", 0600, "wal", 3, NULL);
    testutil_tar_end(&tar);
    x = extract_new(root, "", NULL);
    ck_assert_int_eq(run(x, &tar, 512, &err), PITR_CORRUPT);
    snprintf(want, sizeof(want), "\"%s\" in the backup is not a directory", link);
    ck_assert_str_eq(err.msg, want);
    ck_assert_int_eq(count_entries(outside), 0);
    extract_free(x);

    /* deeper: a symlink two levels down */
    ck_assert_int_eq(unlink(link), 0);
    ck_assert_int_eq(mkdir(link, 0700), 0);
    free(link);
    link = fs_path_join(root, "pg_wal/archive_status");
    ck_assert_int_eq(symlink(outside, link), 0);
    buf_reset(&tar);
    testutil_tar_entry(&tar, '0', "pg_wal/archive_status/x.done", 0600, NULL, 0, NULL);
    testutil_tar_end(&tar);
    x = extract_new(root, "", NULL);
    ck_assert_int_eq(run(x, &tar, 512, &err), PITR_CORRUPT);
    snprintf(want, sizeof(want), "\"%s\" in the backup is not a directory", link);
    ck_assert_str_eq(err.msg, want);
    ck_assert_int_eq(count_entries(outside), 0);
    extract_free(x);

    buf_fini(&tar);
    free(link);
    free(outside);
    free(root);
}
END_TEST

/* A symlink (live or dangling) or a file already at the name: not followed, not replaced. */
START_TEST(test_extract_refuses_existing_file_or_symlink)
{
    struct buf tar;
    struct extract *x;
    struct pitr_err err;
    char *root = make_root();
    char *outside = tmp_path("outside.conf");
    char *dangling = tmp_path("dangling.conf");
    char *path = fs_path_join(root, "postgresql.conf");
    char want[1024];

    testutil_write_file(outside, "orig", 4);
    if (_i == 0) {
        ck_assert_int_eq(symlink(outside, path), 0);
    } else if (_i == 1) {
        ck_assert_int_eq(symlink(dangling, path), 0);
    } else {
        testutil_write_file(path, "old!", 4);
    }
    buf_init(&tar, 1 << 16);
    testutil_tar_entry(&tar, '0', "postgresql.conf", 0600, "evil", 4, NULL);
    testutil_tar_end(&tar);
    x = extract_new(root, "", NULL);
    ck_assert_int_eq(run(x, &tar, 512, &err), PITR_IO);
    snprintf(want, sizeof(want), "could not create \"%s\": File exists", path);
    ck_assert_str_eq(err.msg, want);
    assert_file(testutil_tmpdir(), "outside.conf", "orig", 4, 0600);
    assert_absent(dangling);
    if (_i == 2) {
        assert_file(root, "postgresql.conf", "old!", 4, 0600);
    }
    extract_free(x);
    buf_fini(&tar);
    free(path);
    free(dangling);
    free(outside);
    free(root);
}
END_TEST

/* A tar symlink followed by a file below it: the file lands in a real directory in the target. */
START_TEST(test_extract_file_below_archive_symlink)
{
    struct buf tar;
    struct extract *x;
    struct pitr_err err;
    char *root = make_root();
    char *outside = tmp_path("outside");

    ck_assert_int_eq(mkdir(outside, 0700), 0);
    buf_init(&tar, 1 << 16);
    testutil_tar_entry(&tar, '2', "pg_tblspc/16384", 0777, NULL, 0, outside);
    testutil_tar_entry(&tar, '0', "pg_tblspc/16384/x", 0600, "abc", 3, NULL);
    testutil_tar_end(&tar);
    x = extract_new(root, "", NULL);
    ck_assert_msg(run(x, &tar, 512, &err) == PITR_OK, "%s", err.msg);
    assert_dir(root, "pg_tblspc/16384", 0700);
    assert_file(root, "pg_tblspc/16384/x", "abc", 3, 0600);
    ck_assert_int_eq(count_entries(outside), 0);
    extract_free(x);
    buf_fini(&tar);
    free(outside);
    free(root);
}
END_TEST

/* A file where the archive later needs a directory. */
START_TEST(test_extract_file_as_parent)
{
    struct buf tar;
    struct extract *x;
    struct pitr_err err;
    char *root = make_root();
    char *global = fs_path_join(root, "global");
    char want[1024];

    buf_init(&tar, 1 << 16);
    testutil_tar_entry(&tar, '0', "global", 0600, "f", 1, NULL);
    testutil_tar_entry(&tar, '0', "global/pg_control", 0600, "abc", 3, NULL);
    testutil_tar_end(&tar);
    x = extract_new(root, "", NULL);
    ck_assert_int_eq(run(x, &tar, 512, &err), PITR_CORRUPT);
    snprintf(want, sizeof(want), "\"%s\" in the backup is not a directory", global);
    ck_assert_str_eq(err.msg, want);
    extract_free(x);
    buf_fini(&tar);
    free(global);
    free(root);
}
END_TEST

struct mismatch_case {
    const char *content; /* what the archive holds for PG_VERSION */
    const char *msg;
};

static const struct mismatch_case mismatches[] = {
    {"15", "\"PG_VERSION\" has 2 bytes, the backup manifest says 3: the backup is damaged"},
    {"15\n\n", "\"PG_VERSION\" has 4 bytes, the backup manifest says 3: the backup is damaged"},
    {"", "\"PG_VERSION\" has 0 bytes, the backup manifest says 3: the backup is damaged"},
    {"16\n", "\"PG_VERSION\" does not match its SHA-256 in the backup manifest: the backup is "
             "damaged"},
};

START_TEST(test_extract_manifest_mismatch)
{
    struct mfile files[] = {{"PG_VERSION", "15\n", 3}};
    const struct mismatch_case *c = &mismatches[_i];
    struct manifest *m = make_manifest(files, 1);
    struct buf tar;
    struct extract *x;
    struct pitr_err err;
    char *root = make_root();

    buf_init(&tar, 1 << 16);
    testutil_tar_entry(&tar, '0', "PG_VERSION", 0600, c->content, strlen(c->content), NULL);
    testutil_tar_end(&tar);
    x = extract_new(root, "", m);
    ck_assert_int_eq(run(x, &tar, 1, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, c->msg);
    ck_assert(!manifest_find(m, "PG_VERSION")->seen);
    ck_assert_int_eq(extract_check_complete(m, &err), PITR_CORRUPT);
    extract_free(x);
    manifest_free(m);
    buf_fini(&tar);
    free(root);
}
END_TEST

START_TEST(test_extract_not_in_manifest_or_twice)
{
    struct mfile files[] = {{"PG_VERSION", "15\n", 3}, {"backup_label", "label", 5}};
    struct manifest *m = make_manifest(files, 2);
    struct buf tar;
    struct extract *x;
    struct pitr_err err;
    char *root = make_root();
    char *stray = fs_path_join(root, "stray");

    buf_init(&tar, 1 << 16);
    testutil_tar_entry(&tar, '0', "PG_VERSION", 0600, "15\n", 3, NULL);
    testutil_tar_entry(&tar, '0', "stray", 0600, "x", 1, NULL);
    testutil_tar_end(&tar);
    x = extract_new(root, "", m);
    ck_assert_int_eq(run(x, &tar, 512, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "\"stray\" is not in the backup manifest");
    assert_absent(stray);
    extract_free(x);

    /* the same file again in a second archive (another extract into another directory) */
    buf_reset(&tar);
    testutil_tar_entry(&tar, '0', "PG_VERSION", 0600, "15\n", 3, NULL);
    testutil_tar_end(&tar);
    free(root);
    root = tmp_path("root2");
    ck_assert_int_eq(mkdir(root, 0700), 0);
    x = extract_new(root, "", m);
    ck_assert_int_eq(run(x, &tar, 512, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "\"PG_VERSION\" is twice in the archive but once in the backup "
                              "manifest");
    extract_free(x);

    ck_assert_int_eq(extract_check_complete(m, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "\"backup_label\" is in the backup manifest but not in the backup: "
                              "it is incomplete");
    manifest_free(m);
    buf_fini(&tar);
    free(stray);
    free(root);
}
END_TEST

/* A damaged archive stops extraction with the reader's error, and extract_free cleans up a file
 * left open mid-way. */
START_TEST(test_extract_truncated_archive)
{
    uint8_t data[4000];
    struct buf tar;
    struct extract *x;
    struct pitr_err err;
    char *root = make_root();
    struct filter *sink;

    testutil_fill(data, sizeof(data), 9);
    buf_init(&tar, 1 << 16);
    testutil_tar_entry(&tar, '0', "base/1/2", 0600, data, sizeof(data), NULL);
    testutil_tar_end(&tar);
    x = extract_new(root, "", NULL);
    sink = extract_sink(x);
    ck_assert_int_eq(filter_write(sink, tar.data, 2000, &err), PITR_OK);
    ck_assert_int_eq(filter_finish(sink, &err), PITR_CORRUPT);
    ck_assert_ptr_nonnull(strstr(err.msg, "the archive is truncated"));
    extract_free(x);
    buf_fini(&tar);
    free(root);
}
END_TEST

static void collect_line(void *arg, const char *line)
{
    struct buf *b = arg;
    struct pitr_err err;

    ck_assert_int_eq(buf_printf(b, &err, "%s\n", line), PITR_OK);
}

/* Check-only: every mismatch is reported (naming the archive) and reading goes on; directories,
 * symlinks and files are parsed, and nothing is written anywhere. */
START_TEST(test_extract_check_only)
{
    struct mfile files[] = {{"PG_VERSION", "15\n", 3},
                            {"base/1/1", "abc", 3},
                            {"base/1/2", "xyz", 3},
                            {"global/pg_control", "ctl", 3},
                            {"backup_label", "label", 5}};
    struct manifest *m = make_manifest(files, 5);
    struct buf tar;
    struct buf lines;
    struct extract *x;
    struct pitr_err err;

    buf_init(&tar, 1 << 16);
    buf_init(&lines, 1 << 16);
    testutil_tar_entry(&tar, '0', "PG_VERSION", 0600, "15\n", 3, NULL);
    testutil_tar_entry(&tar, '5', "base/1", 0700, NULL, 0, NULL);
    testutil_tar_entry(&tar, '0', "base/1/1", 0600, "abcd", 4, NULL);
    testutil_tar_entry(&tar, '0', "base/1/2", 0600, "xyZ", 3, NULL);
    testutil_tar_entry(&tar, '0', "stray", 0600, "s", 1, NULL);
    testutil_tar_entry(&tar, '2', "pg_tblspc/16384", 0777, NULL, 0, "/srv/ts");
    testutil_tar_entry(&tar, '0', "global/pg_control", 0600, "ctl", 3, NULL);
    testutil_tar_entry(&tar, '0', "PG_VERSION", 0600, "15\n", 3, NULL);
    testutil_tar_end(&tar);
    x = extract_check_new("repo/base.tar", "", m, collect_line, &lines);
    ck_assert_msg(run(x, &tar, chunks[_i], &err) == PITR_OK, "%s", err.msg);
    ck_assert_uint_eq(extract_problems(x), 4);
    ck_assert_uint_eq(extract_bytes(x), 3 + 4 + 3 + 1 + 3 + 3);
    ck_assert_uint_eq(extract_symlink_count(x), 1);
    ck_assert_int_eq(buf_printf(&lines, &err, "%c", '\0'), PITR_OK);
    ck_assert_str_eq((const char *)lines.data,
                     "repo/base.tar: \"base/1/1\" has 4 bytes, the backup manifest says 3: the "
                     "backup is damaged\n"
                     "repo/base.tar: \"base/1/2\" does not match its SHA-256 in the backup "
                     "manifest: the backup is damaged\n"
                     "repo/base.tar: \"stray\" is not in the backup manifest\n"
                     "repo/base.tar: \"PG_VERSION\" is twice in the archive but once in the "
                     "backup manifest\n");
    ck_assert_int_eq(count_entries(testutil_tmpdir()), 0);
    /* the mismatched files were named already: only the absent one is missing */
    ck_assert_int_eq(extract_check_complete(m, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "\"backup_label\" is in the backup manifest but not in the backup: "
                              "it is incomplete");
    extract_free(x);

    /* without a manifest only the structure is checked; damage still fails */
    x = extract_check_new("repo/base.tar", "", NULL, collect_line, &lines);
    ck_assert_int_eq(run(x, &tar, 512, &err), PITR_OK);
    ck_assert_uint_eq(extract_problems(x), 0);
    extract_free(x);
    tar.data[1030] ^= 1; /* inside the second header */
    x = extract_check_new("repo/base.tar", "", NULL, collect_line, &lines);
    ck_assert_int_eq(run(x, &tar, 512, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "archive \"repo/base.tar\" is damaged at offset 1024: header "
                              "checksum mismatch");
    extract_free(x);
    manifest_free(m);
    buf_fini(&lines);
    buf_fini(&tar);
}
END_TEST

/* A file larger than the writeback step (its writeback is started in steps while it is written)
 * lands whole and matches the manifest, as does the small file after it. */
static const size_t big_chunks[] = {65536, 1024 * 1024 + 1};

START_TEST(test_extract_large_file)
{
    size_t len = 12 * 1024 * 1024 + 5; /* one step, then the rest at its end */
    uint8_t *big = malloc(len);
    struct mfile files[] = {{"base/1/16384", big, len}, {"base/1/16385", "small", 5}};
    struct manifest *m;
    struct buf tar;
    struct extract *x;
    struct pitr_err err;
    char *root = make_root();

    ck_assert_ptr_nonnull(big);
    umask(022);
    testutil_fill(big, len, 11);
    m = make_manifest(files, 2);
    buf_init(&tar, len + (1 << 16));
    testutil_tar_entry(&tar, '0', "base/1/16384", 0600, big, len, NULL);
    testutil_tar_entry(&tar, '0', "base/1/16385", 0600, "small", 5, NULL);
    testutil_tar_end(&tar);
    x = extract_new(root, "", m);
    ck_assert_msg(run(x, &tar, big_chunks[_i], &err) == PITR_OK, "%s", err.msg);
    assert_file(root, "base/1/16384", big, len, 0600);
    assert_file(root, "base/1/16385", "small", 5, 0600);
    ck_assert_uint_eq(extract_bytes(x), len + 5);
    ck_assert_int_eq(extract_check_complete(m, &err), PITR_OK);
    extract_free(x);
    manifest_free(m);
    buf_fini(&tar);
    free(big);
    free(root);
}
END_TEST

Suite *extract_suite(void)
{
    Suite *s = suite_create("extract");
    TCase *tc = tcase_create("extract");

    tcase_add_checked_fixture(tc, testutil_tmpdir_setup, testutil_tmpdir_teardown);
    tcase_add_loop_test(tc, test_extract_files_modes_and_manifest, 0,
                        (int)(sizeof(chunks) / sizeof(chunks[0])));
    tcase_add_test(tc, test_extract_no_manifest_and_prefix);
    tcase_add_loop_test(tc, test_extract_refuses_traversal, 0,
                        (int)(3 * sizeof(escapes) / sizeof(escapes[0])));
    tcase_add_test(tc, test_extract_refuses_symlinked_parent);
    tcase_add_loop_test(tc, test_extract_refuses_existing_file_or_symlink, 0, 3);
    tcase_add_test(tc, test_extract_file_below_archive_symlink);
    tcase_add_test(tc, test_extract_file_as_parent);
    tcase_add_loop_test(tc, test_extract_manifest_mismatch, 0,
                        (int)(sizeof(mismatches) / sizeof(mismatches[0])));
    tcase_add_test(tc, test_extract_not_in_manifest_or_twice);
    tcase_add_test(tc, test_extract_truncated_archive);
    tcase_add_loop_test(tc, test_extract_check_only, 0, (int)(sizeof(chunks) / sizeof(chunks[0])));
    tcase_add_loop_test(tc, test_extract_large_file, 0,
                        (int)(sizeof(big_chunks) / sizeof(big_chunks[0])));
    suite_add_tcase(s, tc);
    return s;
}

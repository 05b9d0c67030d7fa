/* Tests for lib/pg/manifest.c: a real PostgreSQL 15 backup_manifest parses and its entries are
 * found; a damaged byte breaks the Manifest-Checksum; every malformed file line, duplicate path,
 * bad hex or missing field is PITR_CORRUPT naming the line. Hand-built manifests get a correct
 * Manifest-Checksum, so they reach the line parser. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "base/strutil.h"
#include "crypto/sha256.h"
#include "pg/manifest.h"

static void read_fixture(struct buf *b)
{
    const char *dir = getenv("PITR_TEST_DATA");
    char path[1024];
    struct pitr_err err;

    ck_assert_ptr_nonnull(dir);
    snprintf(path, sizeof(path), "%s/manifest/pg15_sha256.manifest", dir);
    buf_init(b, 1 << 22);
    ck_assert_msg(fs_read_file(path, b, &err) == PITR_OK, "%s", err.msg);
}

/* Appends the Manifest-Checksum line PostgreSQL would write for what b holds so far. */
static void append_checksum(struct buf *b)
{
    uint8_t digest[SHA256_LEN];
    char hex[2 * SHA256_LEN + 1];
    struct pitr_err err;

    sha256_buffer(b->data, b->len, digest);
    str_hex_encode(digest, SHA256_LEN, hex);
    ck_assert_int_eq(buf_printf(b, &err, "\"Manifest-Checksum\": \"%s\"}\n", hex), PITR_OK);
}

/* A version 1 manifest: line 1 the header, line 2 "Files", then one line per file (lines 3...). */
static void build(struct buf *b, const char *const *files, size_t n)
{
    struct pitr_err err;

    buf_init(b, 1 << 20);
    ck_assert_int_eq(
        buf_printf(b, &err, "{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": ["), PITR_OK);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(buf_printf(b, &err, "%s\n%s", i == 0 ? "" : ",", files[i]), PITR_OK);
    }
    ck_assert_int_eq(buf_printf(b, &err,
                                "\n],\n\"WAL-Ranges\": [\n{ \"Timeline\": 1, "
                                "\"Start-LSN\": \"0/2000028\", \"End-LSN\": "
                                "\"0/2000100\" }\n],\n"),
                     PITR_OK);
    append_checksum(b);
}

static const char pg_version_line[] =
    "{ \"Path\": \"PG_VERSION\", \"Size\": 3, \"Last-Modified\": \"2026-11-24 11:45:12 GMT\", "
    "\"Checksum-Algorithm\": \"SHA256\", \"Checksum\": "
    "\"238903180cc104ec2c5d8b3f20c5bc61b389ec0a967df8cc208cdc7cd454174f\" }";

static const char sha_of_15[] = "238903180cc104ec2c5d8b3f20c5bc61b389ec0a967df8cc208cdc7cd454174f";

static void assert_sha(const struct manifest_file *f, const char *hex)
{
    uint8_t want[SHA256_LEN];

    ck_assert(f->has_sha256);
    ck_assert_int_eq(str_hex_decode(hex, want, SHA256_LEN), PITR_OK);
    ck_assert_mem_eq(f->sha256, want, SHA256_LEN);
}

START_TEST(test_manifest_parse_pg15_fixture)
{
    struct buf b;
    struct manifest *m = NULL;
    struct pitr_err err;
    struct manifest_file *f;

    read_fixture(&b);
    ck_assert_msg(manifest_parse((const char *)b.data, b.len, &m, &err) == PITR_OK, "%s", err.msg);
    ck_assert_uint_eq(manifest_count(m), 965);

    f = manifest_file_at(m, 0);
    ck_assert_str_eq(f->path, "backup_label");
    ck_assert_uint_eq(f->size, 225);
    ck_assert(!f->seen);
    assert_sha(f, "4b33d60dd8afd365c4a8cfa8520fa16f1ff2a1b0138f73517d164cefc8d8aa95");
    ck_assert_ptr_eq(manifest_find(m, "backup_label"), f);

    f = manifest_file_at(m, manifest_count(m) - 1);
    ck_assert_str_eq(f->path, "global/pg_control");
    ck_assert_uint_eq(f->size, 8192);
    assert_sha(f, "ad0a010d590ff4287d82f3c66d26b099bdc42ad46ff5617430e73fb9ee51e335");
    ck_assert_ptr_eq(manifest_find(m, "global/pg_control"), f);

    f = manifest_find(m, "tablespace_map");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(f->size, 0);
    assert_sha(f, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    /* every entry is found by its own path (the hash index holds them all) */
    for (size_t i = 0; i < manifest_count(m); i++) {
        struct manifest_file *e = manifest_file_at(m, i);

        ck_assert_ptr_eq(manifest_find(m, e->path), e);
    }
    ck_assert_ptr_null(manifest_find(m, "global/pg_control.bak"));
    ck_assert_ptr_null(manifest_find(m, "global"));
    ck_assert_ptr_null(manifest_find(m, ""));
    ck_assert_ptr_null(manifest_find(m, "./backup_label"));
    manifest_free(m);
    buf_fini(&b);
}
END_TEST

/* Bytes flipped in the header, a file line, the WAL ranges, and the checksum itself. */
START_TEST(test_manifest_parse_flipped_byte)
{
    struct buf b;
    struct manifest *m = NULL;
    struct pitr_err err;
    size_t offsets[5];
    size_t off;

    read_fixture(&b);
    offsets[0] = 3;
    offsets[1] = (size_t)(strstr((char *)b.data, "global/1261") - (char *)b.data);
    offsets[2] = (size_t)(strstr((char *)b.data, "\"Size\": 8192") - (char *)b.data) + 9;
    offsets[3] = (size_t)(strstr((char *)b.data, "0/2000100") - (char *)b.data);
    offsets[4] = (size_t)(strstr((char *)b.data, "270e1f6e50") - (char *)b.data) + 4;
    off = offsets[_i];
    b.data[off] ^= 0x01;
    ck_assert_int_eq(manifest_parse((const char *)b.data, b.len, &m, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg,
                     "backup_manifest does not match its Manifest-Checksum: it is damaged");
    ck_assert_ptr_null(m);
    buf_fini(&b);
}
END_TEST

START_TEST(test_manifest_parse_truncated)
{
    struct buf b;
    struct manifest *m = NULL;
    struct pitr_err err;
    const char *last = NULL;

    read_fixture(&b);
    /* cut inside the checksum line, and before it (the last line is then a file line) */
    last = strstr((char *)b.data, "\"Manifest-Checksum\"");
    ck_assert_ptr_nonnull(last);
    ck_assert_int_eq(manifest_parse((const char *)b.data, b.len - 10, &m, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "backup_manifest has no Manifest-Checksum line");
    ck_assert_int_eq(
        manifest_parse((const char *)b.data, (size_t)(last - (char *)b.data) - 40, &m, &err),
        PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "backup_manifest has no Manifest-Checksum line");
    ck_assert_int_eq(manifest_parse((const char *)b.data, 0, &m, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "backup_manifest has no Manifest-Checksum line");
    ck_assert_ptr_null(m);
    buf_fini(&b);
}
END_TEST

START_TEST(test_manifest_parse_bad_checksum_hex)
{
    struct buf b;
    struct manifest *m = NULL;
    struct pitr_err err;
    char *hex;

    read_fixture(&b);
    hex = strstr((char *)b.data, "270e1f6e50");
    ck_assert_ptr_nonnull(hex);
    hex[7] = 'x';
    ck_assert_int_eq(manifest_parse((const char *)b.data, b.len, &m, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "backup_manifest has a malformed Manifest-Checksum");
    ck_assert_ptr_null(m);
    buf_fini(&b);
}
END_TEST

START_TEST(test_manifest_parse_built)
{
    static const char *const files[] = {
        pg_version_line,
        "{ \"Path\": \"base/1/1259\", \"Size\": 8192, \"Checksum-Algorithm\": \"CRC32C\", "
        "\"Checksum\": \"d2a2c0f5\" }",
        /* PostgreSQL hex-encodes paths that are not valid UTF-8: "caf\xe9" */
        "{ \"Encoded-Path\": \"636166e9\", \"Size\": 0 }",
        "{ \"Path\": \"pg_tblspc/16384/PG_15_202209061/5/16385\", \"Size\": 4294967296 "
        "}",
        "{ \"Path\": \"esc\\\"aped\\\\\\/\\u0041\", \"Size\": 1 }",
    };
    struct buf b;
    struct manifest *m = NULL;
    struct pitr_err err;
    struct manifest_file *f;

    build(&b, files, sizeof(files) / sizeof(files[0]));
    ck_assert_msg(manifest_parse((const char *)b.data, b.len, &m, &err) == PITR_OK, "%s", err.msg);
    ck_assert_uint_eq(manifest_count(m), 5);
    f = manifest_find(m, "PG_VERSION");
    ck_assert_ptr_eq(f, manifest_file_at(m, 0));
    ck_assert_uint_eq(f->size, 3);
    assert_sha(f, sha_of_15);
    f = manifest_find(m, "base/1/1259");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(f->size, 8192);
    ck_assert(!f->has_sha256); /* another algorithm: size checks only */
    f = manifest_find(m, "caf\xe9");
    ck_assert_ptr_eq(f, manifest_file_at(m, 2));
    ck_assert_uint_eq(f->size, 0);
    ck_assert(!f->has_sha256);
    f = manifest_find(m, "pg_tblspc/16384/PG_15_202209061/5/16385");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(f->size, 4294967296u);
    ck_assert_ptr_nonnull(manifest_find(m, "esc\"aped\\/A"));
    manifest_free(m);
    buf_fini(&b);
}
END_TEST

START_TEST(test_manifest_parse_no_files)
{
    struct buf b;
    struct manifest *m = NULL;
    struct pitr_err err;

    build(&b, NULL, 0);
    ck_assert_int_eq(manifest_parse((const char *)b.data, b.len, &m, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "backup_manifest lists no files");
    ck_assert_ptr_null(m);
    buf_fini(&b);
}
END_TEST

START_TEST(test_manifest_parse_not_a_manifest)
{
    struct buf b;
    struct manifest *m = NULL;
    struct pitr_err err;

    buf_init(&b, 1 << 16);
    ck_assert_int_eq(
        buf_printf(&b, &err, "{ \"Something-Else\": 1,\n\"Files\": [\n%s\n],\n", pg_version_line),
        PITR_OK);
    append_checksum(&b);
    ck_assert_int_eq(manifest_parse((const char *)b.data, b.len, &m, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "backup_manifest does not start like a PostgreSQL backup manifest");
    ck_assert_ptr_null(m);
    buf_fini(&b);
}
END_TEST

/* PostgreSQL 17 writes version 2 with the system identifier on its own line. */
START_TEST(test_manifest_parse_version2)
{
    struct buf b;
    struct manifest *m = NULL;
    struct pitr_err err;

    buf_init(&b, 1 << 16);
    ck_assert_int_eq(
        buf_printf(&b, &err,
                   "{ \"PostgreSQL-Backup-Manifest-Version\": 2,\n"
                   "\"System-Identifier\": 7441234567890123456,\n\"Files\": [\n%s\n],\n"
                   "\"WAL-Ranges\": [\n{ \"Timeline\": 1, \"Start-LSN\": \"0/2000028\", "
                   "\"End-LSN\": \"0/2000100\" }\n],\n",
                   pg_version_line),
        PITR_OK);
    append_checksum(&b);
    ck_assert_msg(manifest_parse((const char *)b.data, b.len, &m, &err) == PITR_OK, "%s", err.msg);
    ck_assert_uint_eq(manifest_count(m), 1);
    ck_assert_ptr_nonnull(manifest_find(m, "PG_VERSION"));
    manifest_free(m);
    buf_fini(&b);
}
END_TEST

/* The file list must end with "],": otherwise the checksum line is read as a file. */
START_TEST(test_manifest_parse_unterminated_files)
{
    struct buf b;
    struct manifest *m = NULL;
    struct pitr_err err;

    buf_init(&b, 1 << 16);
    ck_assert_int_eq(buf_printf(&b, &err,
                                "{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n%s\n",
                                pg_version_line),
                     PITR_OK);
    append_checksum(&b);
    ck_assert_int_eq(manifest_parse((const char *)b.data, b.len, &m, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "backup_manifest line 4 is malformed");
    ck_assert_ptr_null(m);
    buf_fini(&b);
}
END_TEST

/* Each bad line is the second file (line 4 of the manifest), after a good one. */
struct bad_line {
    const char *line;
    const char *msg;
};

static const char malformed4[] = "backup_manifest line 4 is malformed";

static const struct bad_line bad_lines[] = {
    /* missing fields */
    {"{ \"Path\": \"a\" }", malformed4},
    {"{ \"Path\": \"a\", \"Checksum-Algorithm\": \"SHA256\", \"Checksum\": "
     "\"238903180cc104ec2c5d8b3f20c5bc61b389ec0a967df8cc208cdc7cd454174f\" }",
     malformed4},
    {"{ \"Path\": \"a\", \"Size\": 3, \"Checksum\": "
     "\"238903180cc104ec2c5d8b3f20c5bc61b389ec0a967df8cc208cdc7cd454174f\" }",
     malformed4},
    {"{ \"Path\": \"a\", \"Size\": 3, \"Checksum-Algorithm\": \"SHA256\" }", malformed4},
    {"{ \"Size\": 3 }", malformed4},
    /* JSON that is not the flat layout */
    {"{ \"Path\": \"a\", \"Size\": 1", malformed4},
    {"{ \"Path\": \"a\", \"Size\": 1 } x", malformed4},
    {"{ \"Path\": \"a\", \"Size\": 1 },,", malformed4},
    {"{ \"Path\": \"a\" \"Size\": 1 }", malformed4},
    {"{ \"Path\": \"a\", \"Size\" 1 }", malformed4},
    {"{ \"Path\": \"a\", \"Size\": 1, }", malformed4},
    {"{ \"Path\": a, \"Size\": 1 }", malformed4},
    {"{ \"Path\": \"a, \"Size\": 1 }", malformed4},
    {"garbage", malformed4},
    {"", malformed4},
    /* numbers */
    {"{ \"Path\": \"a\", \"Size\": -1 }", malformed4},
    {"{ \"Path\": \"a\", \"Size\": \"1\" }", malformed4},
    {"{ \"Path\": \"a\", \"Size\": 1.5 }", malformed4},
    {"{ \"Path\": \"a\", \"Size\": 18446744073709551616 }", malformed4},
    {"{ \"Path\": \"a\", \"Size\": }", malformed4},
    /* strings */
    {"{ \"Path\": \"a\tb\", \"Size\": 1 }", malformed4},
    {"{ \"Path\": \"a\\xb\", \"Size\": 1 }", malformed4},
    {"{ \"Path\": \"a\\u0000b\", \"Size\": 1 }", malformed4},
    {"{ \"Path\": \"a\\u00e9\", \"Size\": 1 }", malformed4},
    {"{ \"Path\": \"a\\u00\", \"Size\": 1 }", malformed4},
    {"{ \"Path\": \"a\\", malformed4},
    {"{ \"Encoded-Path\": \"6\", \"Size\": 1 }", malformed4},
    {"{ \"Encoded-Path\": \"\", \"Size\": 1 }", malformed4},
    {"{ \"Encoded-Path\": \"6g\", \"Size\": 1 }", malformed4},
    {"{ \"Encoded-Path\": \"610062\", \"Size\": 1 }", malformed4},
    /* SHA-256 that is not 64 hex digits */
    {"{ \"Path\": \"a\", \"Size\": 3, \"Checksum-Algorithm\": \"SHA256\", \"Checksum\": "
     "\"238903180cc104ec2c5d8b3f20c5bc61b389ec0a967df8cc208cdc7cd454174g\" }",
     "backup_manifest line 4: malformed SHA256 checksum"},
    {"{ \"Path\": \"a\", \"Size\": 3, \"Checksum-Algorithm\": \"SHA256\", \"Checksum\": "
     "\"238903180cc104ec2c5d8b3f20c5bc61b389ec0a967df8cc208cdc7cd454174\" }",
     "backup_manifest line 4: malformed SHA256 checksum"},
    {"{ \"Path\": \"a\", \"Size\": 3, \"Checksum-Algorithm\": \"SHA256\", \"Checksum\": "
     "\"238903180cc104ec2c5d8b3f20c5bc61b389ec0a967df8cc208cdc7cd454174f0\" }",
     "backup_manifest line 4: malformed SHA256 checksum"},
    /* the same path twice */
    {"{ \"Path\": \"PG_VERSION\", \"Size\": 3 }",
     "backup_manifest line 4: \"PG_VERSION\" is listed twice"},
    {"{ \"Encoded-Path\": \"50475f56455253494f4e\", \"Size\": 3 }",
     "backup_manifest line 4: \"PG_VERSION\" is listed twice"},
};

START_TEST(test_manifest_parse_bad_line)
{
    const char *files[3] = {pg_version_line, bad_lines[_i].line,
                            "{ \"Path\": \"z\", \"Size\": 0 }"};
    struct buf b;
    struct manifest *m = NULL;
    struct pitr_err err;

    build(&b, files, 3);
    ck_assert_int_eq(manifest_parse((const char *)b.data, b.len, &m, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, bad_lines[_i].msg);
    ck_assert_ptr_null(m);
    buf_fini(&b);
}
END_TEST

/* A path of the longest accepted length parses; one byte more is refused. */
START_TEST(test_manifest_parse_long_path)
{
    char *name = malloc(4097);
    char *line;
    const char *files[1];
    struct buf b;
    struct manifest *m = NULL;
    struct pitr_err err;

    memset(name, 'p', 4096);
    name[4095] = '\0';
    line = malloc(4200);
    snprintf(line, 4200, "{ \"Path\": \"%s\", \"Size\": 1 }", name);
    files[0] = line;
    build(&b, files, 1);
    ck_assert_msg(manifest_parse((const char *)b.data, b.len, &m, &err) == PITR_OK, "%s", err.msg);
    ck_assert_ptr_nonnull(manifest_find(m, name));
    manifest_free(m);
    buf_fini(&b);

    name[4095] = 'p';
    name[4096] = '\0';
    snprintf(line, 4200, "{ \"Path\": \"%s\", \"Size\": 1 }", name);
    build(&b, files, 1);
    m = NULL;
    ck_assert_int_eq(manifest_parse((const char *)b.data, b.len, &m, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "backup_manifest line 3 is malformed");
    ck_assert_ptr_null(m);
    buf_fini(&b);
    free(line);
    free(name);
}
END_TEST

/* Many entries: the index grows past its first size and still finds every path. */
START_TEST(test_manifest_parse_many)
{
    enum { N = 3000 };
    char **lines = calloc(N, sizeof(*lines));
    struct buf b;
    struct manifest *m = NULL;
    struct pitr_err err;

    for (int i = 0; i < N; i++) {
        size_t len = 64;

        lines[i] = malloc(len);
        snprintf(lines[i], len, "{ \"Path\": \"base/5/%d\", \"Size\": %d }", 10000 + i, i);
    }
    build(&b, (const char *const *)lines, N);
    ck_assert_msg(manifest_parse((const char *)b.data, b.len, &m, &err) == PITR_OK, "%s", err.msg);
    ck_assert_uint_eq(manifest_count(m), N);
    for (int i = 0; i < N; i++) {
        char path[32];
        struct manifest_file *f;

        snprintf(path, sizeof(path), "base/5/%d", 10000 + i);
        f = manifest_find(m, path);
        ck_assert_ptr_eq(f, manifest_file_at(m, (size_t)i));
        ck_assert_uint_eq(f->size, (uint64_t)i);
        free(lines[i]);
    }
    ck_assert_ptr_null(manifest_find(m, "base/5/9999"));
    free(lines);
    manifest_free(m);
    buf_fini(&b);
}
END_TEST

Suite *manifest_suite(void)
{
    Suite *s = suite_create("manifest");
    TCase *tc = tcase_create("manifest_parse");

    tcase_add_test(tc, test_manifest_parse_pg15_fixture);
    tcase_add_loop_test(tc, test_manifest_parse_flipped_byte, 0, 5);
    tcase_add_test(tc, test_manifest_parse_truncated);
    tcase_add_test(tc, test_manifest_parse_bad_checksum_hex);
    tcase_add_test(tc, test_manifest_parse_built);
    tcase_add_test(tc, test_manifest_parse_no_files);
    tcase_add_test(tc, test_manifest_parse_version2);
    tcase_add_test(tc, test_manifest_parse_unterminated_files);
    tcase_add_test(tc, test_manifest_parse_not_a_manifest);
    tcase_add_loop_test(tc, test_manifest_parse_bad_line, 0,
                        (int)(sizeof(bad_lines) / sizeof(bad_lines[0])));
    tcase_add_test(tc, test_manifest_parse_long_path);
    tcase_add_test(tc, test_manifest_parse_many);
    suite_add_tcase(s, tc);
    return s;
}

/* Tests for lib/repo/backup.c: a record with every field (objects and tablespaces too) survives
 * format -> parse; a missing, malformed or repeated field is PITR_CORRUPT; records are read from a
 * posix repository, and listing skips backups that never completed and sorts oldest first. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "repo/backup.h"
#include "repo/repo.h"
#include "storage/storage.h"
#include "support/testutil.h"

/* --- backup_type_valid, backup_key ---------------------------------------------------------- */

static const struct {
    const char *type;
    bool valid;
} types[] = {
    {"daily", true},         {"weekly", true}, {"monthly", true},  {"manual", true},
    {"pre-migration", true}, {"", false},      {"Daily", false},   {"daily ", false},
    {"yearly", false},       {"pre", false},   {"manualx", false},
};

START_TEST(test_backup_type_valid)
{
    ck_assert_msg(backup_type_valid(types[_i].type) == types[_i].valid, "\"%s\"", types[_i].type);
}
END_TEST

START_TEST(test_backup_key)
{
    char out[64];
    char small[20];
    struct pitr_err err;

    ck_assert_int_eq(backup_key("main", "20260108T143000Z", "backup.info", out, sizeof(out), &err),
                     PITR_OK);
    ck_assert_str_eq(out, "main/backup/20260108T143000Z/backup.info");
    ck_assert_int_eq(
        backup_key("main", "20260108T143000Z", "backup.info", small, sizeof(small), &err),
        PITR_INTERNAL);
}
END_TEST

/* --- format and parse ---------------------------------------------------------------------- */

static void fill_record(struct backup_record *r)
{
    struct backup_object o;

    memset(r, 0, sizeof(*r));
    memcpy(r->id, "20260108T143000Z", 17);
    memcpy(r->type, "weekly", 7);
    r->label = strdup("it's # monday's 'big' one");
    memcpy(r->status, "complete", 9);
    memcpy(r->host, "db1.example.com", 16);
    r->pid = 4242;
    r->sysid = 7441234567890123456ull;
    r->pg_version_num = 150018;
    r->timeline = 3;
    r->start_lsn = 0x100000028ull;
    r->stop_lsn = 0x1FF000100ull;
    r->start_time = 1767882600; /* 2026-01-08 14:30:00 */
    r->stop_time = 1767882661;
    r->wal_seg_size = 16u << 20;
    memcpy(r->compression, "zstd:3", 7);
    memcpy(r->compressed_by, "server", 7);
    memcpy(r->key_id, "0123456789abcdef", 17);
    r->raw_bytes = 123456789012ull;
    r->stored_bytes = 23456789012ull;
    r->duration_ms = 61234;
    for (int i = 0; i < 3; i++) {
        static const char *const names[] = {"base.tar", "16384.tar", "backup_manifest"};

        memset(&o, 0, sizeof(o));
        memcpy(o.name, names[i], strlen(names[i]) + 1);
        o.raw_size = 1000000000000ull * (uint64_t)(i + 1) + 7;
        o.stored_size = 1000 * (uint64_t)(i + 1);
        for (int j = 0; j < SHA256_LEN; j++) {
            o.sha256[j] = (uint8_t)(i * 31 + j * 7);
        }
        backup_record_add_object(r, &o);
    }
    backup_record_add_tablespace(r, 16384, "/srv/tblspc one");
    backup_record_add_tablespace(r, 4294967295u, "/mnt/it's here");
}

static void format_text(const struct backup_record *r, struct buf *out)
{
    struct pitr_err err;

    buf_init(out, BACKUP_RECORD_MAX);
    ck_assert_msg(backup_record_format(r, out, &err) == PITR_OK, "%s", err.msg);
}

START_TEST(test_backup_record_round_trip)
{
    struct backup_record a;
    struct backup_record b;
    struct buf text;
    struct pitr_err err;

    fill_record(&a);
    format_text(&a, &text);
    ck_assert_ptr_nonnull(strstr((char *)text.data, "\nlabel = 'it''s # monday''s ''big'' one'\n"));
    ck_assert_ptr_nonnull(strstr((char *)text.data, "\nstart_lsn = 1/28\n"));
    ck_assert_ptr_nonnull(strstr((char *)text.data, "\nstart_time = '2026-01-08 14:30:00+00'\n"));
    ck_assert_ptr_nonnull(strstr((char *)text.data, "\ntablespace = '16384 /srv/tblspc one'\n"));
    ck_assert_msg(backup_record_parse((char *)text.data, "backup.info", &b, &err) == PITR_OK, "%s",
                  err.msg);
    ck_assert_str_eq(b.id, a.id);
    ck_assert_str_eq(b.type, a.type);
    ck_assert_str_eq(b.label, a.label);
    ck_assert_str_eq(b.status, a.status);
    ck_assert_str_eq(b.host, a.host);
    ck_assert_int_eq(b.pid, a.pid);
    ck_assert_uint_eq(b.sysid, a.sysid);
    ck_assert_uint_eq(b.pg_version_num, a.pg_version_num);
    ck_assert_uint_eq(b.timeline, a.timeline);
    ck_assert_uint_eq(b.start_lsn, a.start_lsn);
    ck_assert_uint_eq(b.stop_lsn, a.stop_lsn);
    ck_assert_int_eq(b.start_time, a.start_time);
    ck_assert_int_eq(b.stop_time, a.stop_time);
    ck_assert_uint_eq(b.wal_seg_size, a.wal_seg_size);
    ck_assert_str_eq(b.compression, a.compression);
    ck_assert_str_eq(b.compressed_by, a.compressed_by);
    ck_assert_str_eq(b.key_id, a.key_id);
    ck_assert_uint_eq(b.raw_bytes, a.raw_bytes);
    ck_assert_uint_eq(b.stored_bytes, a.stored_bytes);
    ck_assert_uint_eq(b.duration_ms, a.duration_ms);
    ck_assert_uint_eq(b.n_objects, 3);
    for (size_t i = 0; i < 3; i++) {
        ck_assert_str_eq(b.objects[i].name, a.objects[i].name);
        ck_assert_uint_eq(b.objects[i].raw_size, a.objects[i].raw_size);
        ck_assert_uint_eq(b.objects[i].stored_size, a.objects[i].stored_size);
        ck_assert_mem_eq(b.objects[i].sha256, a.objects[i].sha256, SHA256_LEN);
    }
    ck_assert_uint_eq(b.n_tablespaces, 2);
    ck_assert_uint_eq(b.tablespaces[0].oid, 16384);
    ck_assert_str_eq(b.tablespaces[0].location, "/srv/tblspc one");
    ck_assert_uint_eq(b.tablespaces[1].oid, 4294967295u);
    ck_assert_str_eq(b.tablespaces[1].location, "/mnt/it's here");
    backup_record_fini(&b);
    ck_assert_ptr_null(b.label);
    ck_assert_uint_eq(b.n_objects, 0);
    backup_record_fini(&a);
    buf_fini(&text);
}
END_TEST

/* The smallest record: no label, no key, no objects; a time before 1970. */
START_TEST(test_backup_record_round_trip_minimal)
{
    struct backup_record a;
    struct backup_record b;
    struct buf text;
    struct pitr_err err;

    memset(&a, 0, sizeof(a));
    memcpy(a.id, "x", 2);
    memcpy(a.type, "manual", 7);
    memcpy(a.status, "running", 8);
    memcpy(a.compression, "none", 5);
    a.start_time = -86400;
    format_text(&a, &text);
    ck_assert_ptr_nonnull(strstr((char *)text.data, "\nlabel = ''\n"));
    ck_assert_ptr_nonnull(strstr((char *)text.data, "\nencryption_key_id = none\n"));
    ck_assert_ptr_nonnull(strstr((char *)text.data, "\nstart_time = '1969-12-31 00:00:00+00'\n"));
    ck_assert_msg(backup_record_parse((char *)text.data, "backup.start", &b, &err) == PITR_OK, "%s",
                  err.msg);
    ck_assert_str_eq(b.label, "");
    ck_assert_str_eq(b.key_id, "");
    ck_assert_str_eq(b.status, "running");
    ck_assert_int_eq(b.start_time, -86400);
    ck_assert_uint_eq(b.n_objects, 0);
    ck_assert_uint_eq(b.n_tablespaces, 0);
    backup_record_fini(&b);
    backup_record_fini(&a);
    buf_fini(&text);
}
END_TEST

START_TEST(test_backup_record_format_control_character)
{
    struct backup_record a;
    struct buf text;
    struct pitr_err err;

    fill_record(&a);
    free(a.label);
    a.label = strdup("two\nlines");
    buf_init(&text, BACKUP_RECORD_MAX);
    ck_assert_int_eq(backup_record_format(&a, &text, &err), PITR_INTERNAL);
    ck_assert_str_eq(err.msg, "label contains a control character");
    backup_record_fini(&a);
    buf_fini(&text);
}
END_TEST

/* Replaces the line starting with `key = ` in text by `line` (NULL: removes it; key NULL: appends
 * line). */
static char *edit(const char *text, const char *key, const char *line)
{
    struct buf out;
    struct pitr_err err;
    char prefix[64];
    const char *p = text;
    bool found = key == NULL;
    size_t len_unused;

    buf_init(&out, BACKUP_RECORD_MAX);
    snprintf(prefix, sizeof(prefix), "%s = ", key ? key : "");
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);

        if (key != NULL && !found && strncmp(p, prefix, strlen(prefix)) == 0) {
            found = true;
            if (line != NULL) {
                ck_assert_int_eq(buf_printf(&out, &err, "%s\n", line), PITR_OK);
            }
        } else {
            ck_assert_int_eq(buf_append(&out, p, len, &err), PITR_OK);
        }
        p += len;
    }
    ck_assert_msg(found, "no line \"%s\"", prefix);
    if (key == NULL) {
        ck_assert_int_eq(buf_printf(&out, &err, "%s\n", line), PITR_OK);
    }
    return (char *)buf_take(&out, &len_unused);
}

struct bad_record {
    const char *key;  /* line to replace (NULL: append) */
    const char *line; /* replacement (NULL: remove) */
    const char *msg;  /* the exact message after "backup record \"backup.info\"" */
};

static const struct bad_record bad_records[] = {
    /* every required field, missing */
    {"format", NULL, " is incomplete (fields 0x1 missing)"},
    {"id", NULL, " is incomplete (fields 0x2 missing)"},
    {"type", NULL, " is incomplete (fields 0x4 missing)"},
    {"status", NULL, " is incomplete (fields 0x8 missing)"},
    {"system_identifier", NULL, " is incomplete (fields 0x10 missing)"},
    {"pg_version_num", NULL, " is incomplete (fields 0x20 missing)"},
    {"timeline", NULL, " is incomplete (fields 0x40 missing)"},
    {"start_lsn", NULL, " is incomplete (fields 0x80 missing)"},
    {"stop_lsn", NULL, " is incomplete (fields 0x100 missing)"},
    {"start_epoch", NULL, " is incomplete (fields 0x200 missing)"},
    {"stop_epoch", NULL, " is incomplete (fields 0x400 missing)"},
    {"wal_segment_size", NULL, " is incomplete (fields 0x800 missing)"},
    {"compression", NULL, " is incomplete (fields 0x1000 missing)"},
    {"encryption_key_id", NULL, " is incomplete (fields 0x2000 missing)"},
    {"raw_bytes", NULL, " is incomplete (fields 0x4000 missing)"},
    /* unknown format, values out of range or not numbers */
    {"format", "format = 2", ": unknown record format 2: upgrade pitr"},
    {"format", "format = ", ": unknown record format : upgrade pitr"},
    {"id", "id = 20260108T143000Z-and-much-more",
     ": id \"20260108T143000Z-and-much-more\" is too "
     "long"},
    {"type", "type = pre-migration-xx", ": type \"pre-migration-xx\" is too long"},
    {"type", "type = yearly", ": unknown backup type \"yearly\""},
    {"timeline", "timeline = 4294967296", ": timeline 4294967296 is out of range"},
    {"timeline", "timeline = -1", NULL},
    {"timeline", "timeline = 1x", NULL},
    {"system_identifier", "system_identifier = 18446744073709551616", NULL},
    {"start_lsn", "start_lsn = 1-28", NULL},
    {"stop_lsn", "stop_lsn = ", NULL},
    {"start_epoch", "start_epoch = 9223372036854775808",
     ": start_epoch 9223372036854775808 is "
     "out of range"},
    {"stop_epoch", "stop_epoch = --1", NULL},
    {"stop_epoch", "stop_epoch = -", NULL},
    {"raw_bytes", "raw_bytes = 12 34", NULL},
    {"pid", "pid = abc", NULL},
    {"duration_ms", "duration_ms = 1.5", NULL},
    /* objects */
    {"object", "object = 'base.tar 1 2'", ": malformed object line \"base.tar 1 2\""},
    {"object", "object = 'base.tar 1 2 00'", ": malformed object line \"base.tar 1 2 00\""},
    {"object",
     "object = 'base.tar 1 2 "
     "000000000000000000000000000000000000000000000000000000000000000g'",
     ": malformed object line \"base.tar 1 2 "
     "000000000000000000000000000000000000000000000000000000000000000g\""},
    {"object",
     "object = 'base.tar 1 2 "
     "0000000000000000000000000000000000000000000000000000000000000000 x'",
     ": malformed object line \"base.tar 1 2 "
     "0000000000000000000000000000000000000000000000000000000000000000 x\""},
    {"object",
     "object = 'base.tar x 2 "
     "0000000000000000000000000000000000000000000000000000000000000000'",
     ": malformed object line \"base.tar x 2 "
     "0000000000000000000000000000000000000000000000000000000000000000\""},
    {"object",
     "object = 'base.tar -1 2 "
     "0000000000000000000000000000000000000000000000000000000000000000'",
     ": malformed object line \"base.tar -1 2 "
     "0000000000000000000000000000000000000000000000000000000000000000\""},
    {"object",
     "object = 'base.tar 1 +2 "
     "0000000000000000000000000000000000000000000000000000000000000000'",
     ": malformed object line \"base.tar 1 +2 "
     "0000000000000000000000000000000000000000000000000000000000000000\""},
    {"object",
     "object = 'base.tar 18446744073709551616 2 "
     "0000000000000000000000000000000000000000000000000000000000000000'",
     ": malformed object line \"base.tar 18446744073709551616 2 "
     "0000000000000000000000000000000000000000000000000000000000000000\""},
    {"object", "object = ''", ": malformed object line \"\""},
    /* tablespaces */
    {"tablespace", "tablespace = '0 /x'", ": malformed tablespace line \"0 /x\""},
    {"tablespace", "tablespace = 'abc /x'", ": malformed tablespace line \"abc /x\""},
    {"tablespace", "tablespace = '16384 x'", ": malformed tablespace line \"16384 x\""},
    {"tablespace", "tablespace = '16384'", ": malformed tablespace line \"16384\""},
    {"tablespace", "tablespace = ' /x'", ": malformed tablespace line \" /x\""},
    {"tablespace", "tablespace = '4294967296 /x'", ": malformed tablespace line \"4294967296 /x\""},
    /* lines that are not "key = value" */
    {NULL, "this is not a setting",
     ": backup.info:30: syntax error: expected \"=\" after "
     "\"this\""},
    {NULL, "= 1", ": backup.info:30: syntax error: expected \"key = value\""},
    {NULL, "label = 'open", ": backup.info:30: unterminated quoted value"},
    {NULL, "label = 'a' b", ": backup.info:30: syntax error after quoted value"},
    /* a field given twice: which one would a restore trust? */
    {NULL, "timeline = 4", ": line 30: \"timeline\" appears twice"},
    {NULL, "stop_lsn = 2/0", ": line 30: \"stop_lsn\" appears twice"},
    {NULL, "id = 20260109T000000Z", ": line 30: \"id\" appears twice"},
    {NULL, "label = 'other'", ": line 30: \"label\" appears twice"},
    {NULL, "format = 1", ": line 30: \"format\" appears twice"},
};

START_TEST(test_backup_record_parse_rejects)
{
    const struct bad_record *c = &bad_records[_i];
    struct backup_record a;
    struct backup_record b;
    struct buf text;
    struct pitr_err err;
    char *bad;
    char want[600];

    fill_record(&a);
    format_text(&a, &text);
    /* the formatted record has 29 lines, so an appended line is line 30 */
    bad = edit((char *)text.data, c->key, c->line);
    memset(&b, 0x5a, sizeof(b));
    ck_assert_int_eq(backup_record_parse(bad, "backup.info", &b, &err), PITR_CORRUPT);
    ck_assert_int_eq(err.rc, PITR_CORRUPT);
    snprintf(want, sizeof(want), "backup record \"backup.info\"%s", c->msg ? c->msg : ": ");
    if (c->msg != NULL) {
        ck_assert_str_eq(err.msg, want);
    } else {
        ck_assert_ptr_eq(strstr(err.msg, want), err.msg);
        ck_assert_uint_gt(strlen(err.msg), strlen(want));
    }
    free(bad);
    backup_record_fini(&a);
    buf_fini(&text);
}
END_TEST

/* Lines a newer pitr may add, comments and informational fields are tolerated. */
START_TEST(test_backup_record_parse_tolerates)
{
    struct backup_record a;
    struct backup_record b;
    struct buf text;
    struct pitr_err err;
    char *more;

    fill_record(&a);
    format_text(&a, &text);
    more = edit((char *)text.data, NULL, "# a comment\n\nsome_future_field = 1");
    ck_assert_msg(backup_record_parse(more, "backup.info", &b, &err) == PITR_OK, "%s", err.msg);
    ck_assert_uint_eq(b.n_objects, 3);
    backup_record_fini(&b);
    free(more);
    backup_record_fini(&a);
    buf_fini(&text);
}
END_TEST

/* --- reading and listing from a repository ---------------------------------------------------- */

static struct storage *open_repo(void)
{
    struct pitr_err err;
    char path[512];
    struct storage *s;
    struct posix_params params = {path, false};

    snprintf(path, sizeof(path), "%s/repo", testutil_tmpdir());
    s = posix_storage_new(&params, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    return s;
}

static void put_record(struct storage *s, const char *id, const char *file, const char *status)
{
    struct repo_session repo = {.storage = s, .cluster = (char *)"main"};
    struct backup_record r;
    struct buf text;
    struct pitr_err err;
    char key[256];

    fill_record(&r);
    memcpy(r.id, id, strlen(id) + 1);
    memcpy(r.status, status, strlen(status) + 1);
    format_text(&r, &text);
    ck_assert_int_eq(backup_key("main", id, file, key, sizeof(key), &err), PITR_OK);
    ck_assert_msg(repo_put_text(&repo, key, (char *)text.data, true, &err) == PITR_OK, "%s",
                  err.msg);
    backup_record_fini(&r);
    buf_fini(&text);
}

START_TEST(test_backup_record_read)
{
    struct storage *s = open_repo();
    struct repo_session repo = {.storage = s, .cluster = (char *)"main"};
    struct backup_record r;
    struct pitr_err err;

    put_record(s, "20260108T143000Z", "backup.start", "running");
    ck_assert_int_eq(backup_record_read(&repo, "20260108T143000Z", &r, &err), PITR_NOT_FOUND);
    ck_assert_str_eq(err.msg, "backup 20260108T143000Z does not exist or is not complete");
    ck_assert_int_eq(backup_record_read(&repo, "20990101T000000Z", &r, &err), PITR_NOT_FOUND);
    ck_assert_str_eq(err.msg, "backup 20990101T000000Z does not exist or is not complete");

    put_record(s, "20260108T143000Z", "backup.info", "complete");
    ck_assert_msg(backup_record_read(&repo, "20260108T143000Z", &r, &err) == PITR_OK, "%s",
                  err.msg);
    ck_assert_str_eq(r.id, "20260108T143000Z");
    ck_assert_str_eq(r.status, "complete");
    ck_assert_uint_eq(r.n_objects, 3);
    backup_record_fini(&r);

    /* a backup.info that does not say complete is damage, not an incomplete backup */
    put_record(s, "20260109T000000Z", "backup.info", "running");
    ck_assert_int_eq(backup_record_read(&repo, "20260109T000000Z", &r, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "main/backup/20260109T000000Z/backup.info does not say the backup "
                              "is complete");
    storage_free(s);
}
END_TEST

START_TEST(test_backup_record_read_damaged)
{
    struct storage *s = open_repo();
    struct repo_session repo = {.storage = s, .cluster = (char *)"main"};
    struct backup_record r;
    struct pitr_err err;

    ck_assert_int_eq(repo_put_text(&repo, "main/backup/20260108T143000Z/backup.info",
                                   "format = 1\n", true, &err),
                     PITR_OK);
    ck_assert_int_eq(backup_record_read(&repo, "20260108T143000Z", &r, &err), PITR_CORRUPT);
    ck_assert_ptr_nonnull(strstr(err.msg, "backup record "
                                          "\"main/backup/20260108T143000Z/backup.info\" is "
                                          "incomplete"));
    storage_free(s);
}
END_TEST

/* A record is read only as the backup and cluster it describes: one copied under another backup's
 * id, or from another cluster (once the session knows its own), is damage. */
START_TEST(test_backup_record_read_other_backup)
{
    struct storage *s = open_repo();
    struct repo_session repo = {.storage = s, .cluster = (char *)"main"};
    struct backup_record r;
    struct pitr_err err;

    put_record(s, "20260108T143000Z", "backup.info", "complete");
    ck_assert_int_eq(storage_put(s, "main/backup/20260109T000000Z/backup.start", NULL,
                                 (const uint8_t *)"x", 1, &err),
                     PITR_OK);
    {
        struct buf text;

        buf_init(&text, 1 << 20);
        ck_assert_int_eq(storage_get(s, "main/backup/20260108T143000Z/backup.info", &text, &err),
                         PITR_OK);
        ck_assert_int_eq(storage_put(s, "main/backup/20260109T000000Z/backup.info", NULL, text.data,
                                     text.len, &err),
                         PITR_OK);
        buf_fini(&text);
    }
    ck_assert_int_eq(backup_record_read(&repo, "20260109T000000Z", &r, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "main/backup/20260109T000000Z/backup.info describes another backup "
                              "(id 20260108T143000Z, system identifier 7441234567890123456)");

    /* the system identifier is checked once the session has read the cluster's record */
    ck_assert_msg(backup_record_read(&repo, "20260108T143000Z", &r, &err) == PITR_OK, "%s",
                  err.msg);
    backup_record_fini(&r);
    repo.has_info = true;
    repo.info.sysid = 7441234567890123456ull;
    ck_assert_msg(backup_record_read(&repo, "20260108T143000Z", &r, &err) == PITR_OK, "%s",
                  err.msg);
    backup_record_fini(&r);
    repo.info.sysid = 7441234567890123457ull;
    ck_assert_int_eq(backup_record_read(&repo, "20260108T143000Z", &r, &err), PITR_CORRUPT);
    ck_assert_str_eq(err.msg, "main/backup/20260108T143000Z/backup.info describes another backup "
                              "(id 20260108T143000Z, system identifier 7441234567890123456)");
    storage_free(s);
}
END_TEST

START_TEST(test_backup_list_complete)
{
    struct storage *s = open_repo();
    struct repo_session repo = {.storage = s, .cluster = (char *)"main"};
    struct backup_record *list = NULL;
    size_t n = 99;
    struct pitr_err err;

    /* nothing yet: no backup directory at all */
    ck_assert_msg(backup_list_complete(&repo, &list, &n, &err) == PITR_OK, "%s", err.msg);
    ck_assert_uint_eq(n, 0);
    backup_list_free(list, n);

    /* written out of order; two never completed; a stray file next to the backups */
    put_record(s, "20260110T000000Z", "backup.start", "running");
    put_record(s, "20260110T000000Z", "backup.info", "complete");
    put_record(s, "20260108T143000Z", "backup.info", "complete");
    put_record(s, "20260111T000000Z", "backup.start", "running");
    put_record(s, "20260109T000000Z", "backup.start", "running");
    put_record(s, "20260107T000000Z", "backup.info", "complete");
    ck_assert_int_eq(storage_put(s, "main/backup/README", NULL, (const uint8_t *)"x", 1, &err),
                     PITR_OK);
    /* another cluster's backups are not listed */
    put_record(s, "20260101T000000Z", "backup.start", "running");
    {
        char key[128];

        ck_assert_int_eq(
            backup_key("other", "20260101T000000Z", "backup.info", key, sizeof(key), &err),
            PITR_OK);
        ck_assert_int_eq(repo_put_text(&repo, key, "x = 1\n", true, &err), PITR_OK);
    }

    list = NULL;
    ck_assert_msg(backup_list_complete(&repo, &list, &n, &err) == PITR_OK, "%s", err.msg);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(list[0].id, "20260107T000000Z");
    ck_assert_str_eq(list[1].id, "20260108T143000Z");
    ck_assert_str_eq(list[2].id, "20260110T000000Z");
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(list[i].status, "complete");
        ck_assert_uint_eq(list[i].n_objects, 3);
    }
    backup_list_free(list, n);

    /* a damaged record fails the listing instead of silently hiding a backup */
    ck_assert_int_eq(repo_put_text(&repo, "main/backup/20260112T000000Z/backup.info",
                                   "format = 1\n", true, &err),
                     PITR_OK);
    list = NULL;
    n = 99;
    ck_assert_int_eq(backup_list_complete(&repo, &list, &n, &err), PITR_CORRUPT);
    ck_assert_ptr_null(list);
    ck_assert_uint_eq(n, 99);
    storage_free(s);
}
END_TEST

Suite *backup_suite(void)
{
    Suite *s = suite_create("backup");
    TCase *tc = tcase_create("record");
    TCase *tc_repo = tcase_create("repository");

    tcase_add_loop_test(tc, test_backup_type_valid, 0, (int)(sizeof(types) / sizeof(types[0])));
    tcase_add_test(tc, test_backup_key);
    tcase_add_test(tc, test_backup_record_round_trip);
    tcase_add_test(tc, test_backup_record_round_trip_minimal);
    tcase_add_test(tc, test_backup_record_format_control_character);
    tcase_add_loop_test(tc, test_backup_record_parse_rejects, 0,
                        (int)(sizeof(bad_records) / sizeof(bad_records[0])));
    tcase_add_test(tc, test_backup_record_parse_tolerates);
    suite_add_tcase(s, tc);

    tcase_add_checked_fixture(tc_repo, testutil_tmpdir_setup, testutil_tmpdir_teardown);
    tcase_add_test(tc_repo, test_backup_record_read);
    tcase_add_test(tc_repo, test_backup_record_read_damaged);
    tcase_add_test(tc_repo, test_backup_record_read_other_backup);
    tcase_add_test(tc_repo, test_backup_list_complete);
    suite_add_tcase(s, tc_repo);
    return s;
}

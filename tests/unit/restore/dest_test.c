/* Tests for pitr_restore/dest.c: a tablespace location from the backup record is accepted only
 * when it is spelt one way (absolute, normalised), lies outside the protected directories
 * (compared component by component), and reaches the disk through no symbolic link; each refusal
 * gives the exact phrase the restore's error line is built from. */
#include <check.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dest.h"
#include "support/testutil.h"

static const struct {
    const char *path;
    const char *msg; /* NULL: accepted */
} normalised[] = {
    {"/", NULL},
    {"/srv", NULL},
    {"/srv/ts1", NULL},
    {"/srv/.ts1", NULL}, /* a dot file is a name like any other */
    {"/srv/..ts1", NULL},
    {"/srv/ts1...", NULL},
    {"/srv/ts 1", NULL},
    {"", "is not absolute"},
    {"srv/ts1", "is not absolute"},
    {"./srv", "is not absolute"},
    {"../srv", "is not absolute"},
    {"~/.ssh", "is not absolute"},
    {"/srv/", "ends in a slash"},
    {"/srv/ts1//", "ends in a slash"},
    {"//srv", "has an empty component (\"//\")"},
    {"/srv//ts1", "has an empty component (\"//\")"},
    {"/.", "has a \".\" or \"..\" component"},
    {"/..", "has a \".\" or \"..\" component"},
    {"/srv/./ts1", "has a \".\" or \"..\" component"},
    {"/srv/../home/pg/.ssh", "has a \".\" or \"..\" component"},
    {"/srv/ts1/..", "has a \".\" or \"..\" component"},
    {"/srv/ts1\n", "has a control character"},
    {"/srv/\tts1", "has a control character"},
    {"/srv/\x1b[2Jts1", "has a control character"},
    {"/srv/ts1\x7f", "has a control character"},
};

START_TEST(test_dest_check_normalised)
{
    struct pitr_err err;
    enum pitr_rc rc = dest_check_normalised(normalised[_i].path, &err);

    if (normalised[_i].msg == NULL) {
        ck_assert_msg(rc == PITR_OK, "\"%s\": %s", normalised[_i].path, err.msg);
    } else {
        ck_assert_msg(rc == PITR_CONFIG, "\"%s\" was accepted", normalised[_i].path);
        ck_assert_str_eq(err.msg, normalised[_i].msg);
    }
}
END_TEST

static const struct {
    const char *path;
    const char *root;
    bool within;
} within[] = {
    {"/srv/ts1", "/srv/ts1", true},
    {"/srv/ts1/a", "/srv/ts1", true},
    {"/srv/ts1", "/", true},
    {"/", "/", true},
    {"/srv/ts10", "/srv/ts1", false}, /* a prefix of the text, not of the components */
    {"/srv/ts", "/srv/ts1", false},
    {"/srv", "/srv/ts1", false},
    {"/", "/srv", false},
    {"/etcetera", "/etc", false},
    {"/etc/cron.d", "/etc", true},
};

START_TEST(test_dest_path_within)
{
    ck_assert_msg(dest_path_within(within[_i].path, within[_i].root) == within[_i].within,
                  "\"%s\" within \"%s\"", within[_i].path, within[_i].root);
}
END_TEST

static const char HOME_WHAT[] = "the home directory of the restoring user";
static const char ETC_WHAT[] = "a system configuration directory";

static const struct {
    const char *location;
    const char *msg; /* NULL: accepted */
} record[] = {
    {"/srv/ts1", NULL},
    {"/var/lib/pg/ts1", NULL},
    {"/home/pgsql/ts1", NULL}, /* beside the home, not in it */
    {"/etcetera/ts1", NULL},
    {"/home/pg/.ssh", "lies inside \"/home/pg\", the home directory of the restoring user"},
    {"/home/pg", "lies inside \"/home/pg\", the home directory of the restoring user"},
    {"/home/pg/.config/systemd/user",
     "lies inside \"/home/pg\", the home directory of the restoring user"},
    {"/home", "contains \"/home/pg\", the home directory of the restoring user"},
    {"/data/home/pg/.ssh",
     "lies inside \"/data/home/pg\", the home directory of the restoring user"},
    {"/etc", "lies inside \"/etc\", a system configuration directory"},
    {"/etc/cron.d", "lies inside \"/etc\", a system configuration directory"},
    {"/", "contains \"/etc\", a system configuration directory"},
    {"/home/pg/../pg/.ssh", "has a \".\" or \"..\" component"},
    {"home/pg/.ssh", "is not absolute"},
    {"/srv/ts1/", "ends in a slash"},
    {"/srv//ts1", "has an empty component (\"//\")"},
    {"/srv/ts1\n/etc", "has a control character"},
};

START_TEST(test_dest_check_record_location)
{
    /* as dest_protected_list gives them: a home as written and as resolved */
    const struct dest_protected prot[] = {
        {(char *)"/etc", ETC_WHAT},
        {(char *)"/home/pg", HOME_WHAT},
        {(char *)"/data/home/pg", HOME_WHAT},
    };
    struct pitr_err err;
    enum pitr_rc rc = dest_check_record_location(record[_i].location, prot, 3, &err);

    if (record[_i].msg == NULL) {
        ck_assert_msg(rc == PITR_OK, "\"%s\": %s", record[_i].location, err.msg);
    } else {
        ck_assert_msg(rc == PITR_CONFIG, "\"%s\" was accepted", record[_i].location);
        ck_assert_str_eq(err.msg, record[_i].msg);
    }
}
END_TEST

/* tmp: the real path of the test's directory (the rule is about links, so it must have none),
 * holding dir/, file, link -> dir and dangling -> missing */
static char *make_tree(void)
{
    char *tmp = realpath(testutil_tmpdir(), NULL);
    char path[PATH_MAX];

    ck_assert_ptr_nonnull(tmp);
    snprintf(path, sizeof(path), "%s/dir", tmp);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/dir/sub", tmp);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/file", tmp);
    testutil_write_file(path, "x", 1);
    snprintf(path, sizeof(path), "%s/link", tmp);
    ck_assert_int_eq(symlink("dir", path), 0);
    snprintf(path, sizeof(path), "%s/dangling", tmp);
    ck_assert_int_eq(symlink("missing", path), 0);
    return tmp;
}

static const struct {
    const char *rel; /* below the tree */
    const char *msg; /* NULL: accepted; "@" stands for the tree */
} components[] = {
    {"dir/ts1", NULL},
    {"dir", NULL},
    {"dir/sub", NULL},
    {"dir/sub/ts1", NULL},
    {"file", NULL}, /* the last component's type is check_dest's business */
    {"link", "is a symbolic link"},
    {"dangling", "is a symbolic link"},
    {"link/ts1", "goes through a symbolic link, \"@/link\""},
    {"link/sub/ts1", "goes through a symbolic link, \"@/link\""},
    {"dangling/ts1", "goes through a symbolic link, \"@/dangling\""},
    {"file/ts1", "goes through \"@/file\", which is not a directory"},
    {"missing/ts1", "is in a directory that does not exist, \"@/missing\""},
    {"dir/missing/ts1", "is in a directory that does not exist, \"@/dir/missing\""},
};

START_TEST(test_dest_check_components)
{
    char *tmp = make_tree();
    char path[PATH_MAX];
    struct pitr_err err;
    enum pitr_rc rc;

    snprintf(path, sizeof(path), "%s/%s", tmp, components[_i].rel);
    rc = dest_check_components(path, &err);
    if (components[_i].msg == NULL) {
        ck_assert_msg(rc == PITR_OK, "%s: %s", components[_i].rel, err.msg);
    } else {
        const char *at = strchr(components[_i].msg, '@');
        char want[2 * PATH_MAX];

        if (at == NULL) {
            snprintf(want, sizeof(want), "%s", components[_i].msg);
        } else {
            snprintf(want, sizeof(want), "%.*s%s%s", (int)(at - components[_i].msg),
                     components[_i].msg, tmp, at + 1);
        }
        ck_assert_msg(rc == PITR_CONFIG, "%s was accepted", components[_i].rel);
        ck_assert_str_eq(err.msg, want);
    }
    free(tmp);
}
END_TEST

START_TEST(test_dest_check_components_root)
{
    struct pitr_err err;

    ck_assert_int_eq(dest_check_components("/", &err), PITR_OK);
}
END_TEST

static bool listed(const struct dest_protected *list, size_t n, const char *path, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].path, path) == 0 && strcmp(list[i].what, what) == 0) {
            return true;
        }
    }
    return false;
}

/* $HOME through a symbolic link: protected as written and as resolved, beside the system
 * directories; a location inside the real directory is refused too. */
START_TEST(test_dest_protected_list_home)
{
    char *tmp = make_tree();
    char home[PATH_MAX];
    char real[PATH_MAX];
    char loc[PATH_MAX];
    struct dest_protected *list = NULL;
    size_t n = 0;
    struct pitr_err err;

    snprintf(home, sizeof(home), "%s/link", tmp);
    snprintf(real, sizeof(real), "%s/dir", tmp);
    snprintf(loc, sizeof(loc), "%s/dir/.ssh", tmp);
    ck_assert_int_eq(setenv("HOME", home, 1), 0);
    dest_protected_list(&list, &n);
    ck_assert(listed(list, n, "/etc", ETC_WHAT));
    ck_assert(listed(list, n, "/usr/local/etc", ETC_WHAT));
    ck_assert(listed(list, n, "/var/spool/cron", ETC_WHAT));
    ck_assert(listed(list, n, "/root", ETC_WHAT));
    ck_assert(listed(list, n, home, HOME_WHAT));
    ck_assert(listed(list, n, real, HOME_WHAT));
    ck_assert_int_eq(dest_check_record_location(loc, list, n, &err), PITR_CONFIG);
    dest_protected_free(list, n);
    free(tmp);
}
END_TEST

/* "/" as a home (a daemon's) and a home not spelt normally are not taken as written: the first
 * would refuse every location, the second could not be compared. */
START_TEST(test_dest_protected_list_odd_home)
{
    static const char *const homes[] = {"/", "relative/home", "/srv//home/"};
    struct dest_protected *list = NULL;
    size_t n = 0;

    for (size_t h = 0; h < sizeof(homes) / sizeof(homes[0]); h++) {
        ck_assert_int_eq(setenv("HOME", homes[h], 1), 0);
        dest_protected_list(&list, &n);
        for (size_t i = 0; i < n; i++) {
            struct pitr_err err;

            ck_assert_str_ne(list[i].path, "/");
            ck_assert_int_eq(dest_check_normalised(list[i].path, &err), PITR_OK);
        }
        dest_protected_free(list, n);
    }
}
END_TEST

START_TEST(test_dest_printable)
{
    static const struct {
        const char *in;
        const char *out;
    } cases[] = {
        {"", ""},
        {"/srv/ts1", "/srv/ts1"},
        {"/srv/ts1\n", "/srv/ts1\\x0a"},
        {"\x1b[2J/x", "\\x1b[2J/x"},
        {"/a\x7f\x01", "/a\\x7f\\x01"},
        {"/\xc3\xa9t\xc3\xa9", "/\xc3\xa9t\xc3\xa9"}, /* UTF-8 is left alone */
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *out = dest_printable(cases[i].in);

        ck_assert_str_eq(out, cases[i].out);
        free(out);
    }
}
END_TEST

Suite *dest_suite(void)
{
    Suite *s = suite_create("dest");
    TCase *tc_norm = tcase_create("dest_check_normalised");
    TCase *tc_within = tcase_create("dest_path_within");
    TCase *tc_record = tcase_create("dest_check_record_location");
    TCase *tc_comp = tcase_create("dest_check_components");
    TCase *tc_prot = tcase_create("dest_protected_list");
    TCase *tc_print = tcase_create("dest_printable");

    tcase_add_loop_test(tc_norm, test_dest_check_normalised, 0,
                        sizeof(normalised) / sizeof(normalised[0]));
    tcase_add_loop_test(tc_within, test_dest_path_within, 0, sizeof(within) / sizeof(within[0]));
    tcase_add_loop_test(tc_record, test_dest_check_record_location, 0,
                        sizeof(record) / sizeof(record[0]));
    tcase_add_checked_fixture(tc_comp, testutil_tmpdir_setup, testutil_tmpdir_teardown);
    tcase_add_loop_test(tc_comp, test_dest_check_components, 0,
                        sizeof(components) / sizeof(components[0]));
    tcase_add_test(tc_comp, test_dest_check_components_root);
    tcase_add_checked_fixture(tc_prot, testutil_tmpdir_setup, testutil_tmpdir_teardown);
    tcase_add_test(tc_prot, test_dest_protected_list_home);
    tcase_add_test(tc_prot, test_dest_protected_list_odd_home);
    tcase_add_test(tc_print, test_dest_printable);
    suite_add_tcase(s, tc_norm);
    suite_add_tcase(s, tc_within);
    suite_add_tcase(s, tc_record);
    suite_add_tcase(s, tc_comp);
    suite_add_tcase(s, tc_prot);
    suite_add_tcase(s, tc_print);
    return s;
}

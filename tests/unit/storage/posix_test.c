/* Tests for lib/storage/posix.c: atomic create/replace, refusal to overwrite, crash leftovers,
 * files planted at temp names, which directories it trusts and the modes it creates, listings,
 * and "not found" being distinct from I/O errors. */
#include <check.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "storage/storage.h"
#include "support/testutil.h"

static struct storage *open_repo(void)
{
    struct pitr_err err;
    char path[512];
    struct storage *s;
    struct posix_params params = {path, false};

    snprintf(path, sizeof(path), "%s/repo", testutil_tmpdir());
    s = posix_storage_new(&params, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    ck_assert_str_eq(storage_driver_name(s), "posix");
    return s;
}

static struct storage *open_repo_at(const char *path, bool group_access)
{
    struct pitr_err err;
    struct posix_params params = {path, group_access};
    struct storage *s = posix_storage_new(&params, &err);

    ck_assert_msg(s != NULL, "%s", err.msg);
    return s;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    if (d == NULL) {
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    }
    closedir(d);
    return n;
}

static void get_text(struct storage *s, const char *key, const char *expect)
{
    struct buf b;
    struct pitr_err err;

    buf_init(&b, 1 << 20);
    ck_assert_int_eq(storage_get(s, key, &b, &err), PITR_OK);
    ck_assert_uint_eq(b.len, strlen(expect));
    ck_assert_mem_eq(b.data, expect, b.len);
    buf_fini(&b);
}

START_TEST(test_storage_write_open_commit_and_replace)
{
    struct storage *s = open_repo();
    struct pitr_err err;
    struct storage_info info;
    char dir[600];

    ck_assert_int_eq(storage_put(s, "c/wal/0001/seg", NULL, (const uint8_t *)"first", 5, &err),
                     PITR_OK);
    get_text(s, "c/wal/0001/seg", "first");
    ck_assert_int_eq(storage_stat(s, "c/wal/0001/seg", &info, &err), PITR_OK);
    ck_assert_uint_eq(info.size, 5);
    ck_assert(!info.is_dir);
    ck_assert_int_eq(storage_put(s, "c/wal/0001/seg", NULL, (const uint8_t *)"second!", 7, &err),
                     PITR_OK);
    get_text(s, "c/wal/0001/seg", "second!");
    snprintf(dir, sizeof(dir), "%s/repo/c/wal/0001", testutil_tmpdir());
    ck_assert_int_eq(count_entries(dir), 1); /* no temp file left behind */
    storage_free(s);
}
END_TEST

START_TEST(test_storage_write_open_no_overwrite)
{
    struct storage *s = open_repo();
    struct pitr_err err;
    struct write_opts create_only = {true, 0};
    char dir[600];

    ck_assert_int_eq(storage_put(s, "k", &create_only, (const uint8_t *)"old", 3, &err), PITR_OK);
    ck_assert_int_eq(storage_put(s, "k", &create_only, (const uint8_t *)"new", 3, &err),
                     PITR_EXISTS);
    ck_assert_ptr_nonnull(strstr(err.msg, "already exists"));
    get_text(s, "k", "old");
    snprintf(dir, sizeof(dir), "%s/repo", testutil_tmpdir());
    ck_assert_int_eq(count_entries(dir), 1);
    storage_free(s);
}
END_TEST

START_TEST(test_storage_write_open_unfinished_leaves_nothing)
{
    struct storage *s = open_repo();
    struct pitr_err err;
    struct filter *sink = NULL;
    struct storage_info info;
    char dir[600];

    ck_assert_int_eq(storage_write_open(s, "d/obj", NULL, &sink, &err), PITR_OK);
    ck_assert_int_eq(filter_write(sink, (const uint8_t *)"partial", 7, &err), PITR_OK);
    filter_free(sink);
    ck_assert_int_eq(storage_stat(s, "d/obj", &info, &err), PITR_NOT_FOUND);
    snprintf(dir, sizeof(dir), "%s/repo/d", testutil_tmpdir());
    ck_assert_int_eq(count_entries(dir), 0);
    storage_free(s);
}
END_TEST

/* Something planted where the writer's temp file goes (by whoever else could write the
 * directory, or left by an earlier process with our pid) is never followed, truncated or reused:
 * the write goes to another temp name and succeeds, and the planted entry and what it points at
 * stay as they were. */
enum plant { PLANT_LINK_FILE, PLANT_LINK_DIR, PLANT_LINK_DANGLING, PLANT_FILE };

static const struct {
    enum plant plant;
    bool create_only;
} planted[] = {
    {PLANT_LINK_FILE, false},     {PLANT_LINK_FILE, true}, {PLANT_LINK_DIR, false},
    {PLANT_LINK_DANGLING, false}, {PLANT_FILE, false},     {PLANT_FILE, true},
};

static void read_file(const char *path, char *out, size_t size)
{
    FILE *f = fopen(path, "r");
    size_t n;

    ck_assert_ptr_nonnull(f);
    n = fread(out, 1, size - 1, f);
    out[n] = '\0';
    fclose(f);
}

START_TEST(test_storage_write_open_planted_temp)
{
    struct storage *s = open_repo();
    struct pitr_err err;
    struct write_opts opts = {planted[_i].create_only, 0};
    char victim[600];
    char absent[600];
    char dir[600];
    char plant[700];
    char text[64];
    struct stat st;

    snprintf(victim, sizeof(victim), "%s/victim", testutil_tmpdir());
    snprintf(absent, sizeof(absent), "%s/absent", testutil_tmpdir());
    snprintf(dir, sizeof(dir), "%s/repo/c", testutil_tmpdir());
    snprintf(plant, sizeof(plant), "%s/.obj.tmp.%d", dir, (int)getpid());
    testutil_write_file(victim, "precious", 8);
    ck_assert_int_eq(storage_put(s, "c/other", NULL, (const uint8_t *)"o", 1, &err), PITR_OK);
    switch (planted[_i].plant) {
    case PLANT_LINK_FILE:
        ck_assert_int_eq(symlink(victim, plant), 0);
        break;
    case PLANT_LINK_DIR:
        ck_assert_int_eq(symlink(testutil_tmpdir(), plant), 0);
        break;
    case PLANT_LINK_DANGLING:
        ck_assert_int_eq(symlink(absent, plant), 0);
        break;
    case PLANT_FILE:
        testutil_write_file(plant, "leftover", 8);
        break;
    }
    ck_assert_msg(storage_put(s, "c/obj", &opts, (const uint8_t *)"new data", 8, &err) == PITR_OK,
                  "%s", err.msg);
    get_text(s, "c/obj", "new data");
    read_file(victim, text, sizeof(text));
    ck_assert_str_eq(text, "precious");
    ck_assert_int_eq(access(absent, F_OK), -1);
    ck_assert_int_eq(lstat(plant, &st), 0);
    if (planted[_i].plant == PLANT_FILE) {
        read_file(plant, text, sizeof(text));
        ck_assert_str_eq(text, "leftover");
    } else {
        ck_assert(S_ISLNK(st.st_mode));
    }
    ck_assert_int_eq(count_entries(dir), 3); /* other, obj and the planted entry: no temp file */
    storage_free(s);
}
END_TEST

static enum pitr_rc collect(void *arg, const char *key, const struct storage_info *info,
                            struct pitr_err *err)
{
    struct buf *b = arg;

    return buf_printf(b, err, "%s%s;", key, info->is_dir ? "/" : "");
}

START_TEST(test_storage_write_open_crash_leaves_old_state)
{
    struct storage *s = open_repo();
    struct pitr_err err;
    struct buf listing;
    pid_t pid;
    int status;

    ck_assert_int_eq(storage_put(s, "x/obj", NULL, (const uint8_t *)"old", 3, &err), PITR_OK);
    pid = fork();
    if (pid == 0) {
        struct filter *sink = NULL;

        /* a writer killed mid-stream: never finishes, never cleans up */
        if (storage_write_open(s, "x/obj", NULL, &sink, &err) == PITR_OK &&
            filter_write(sink, (const uint8_t *)"new-but-torn", 12, &err) == PITR_OK) {
            _exit(0);
        }
        _exit(1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    get_text(s, "x/obj", "old");
    buf_init(&listing, 4096);
    ck_assert_int_eq(storage_list(s, "x", STORAGE_LIST_RECURSIVE, collect, &listing, &err),
                     PITR_OK);
    ck_assert_str_eq((const char *)listing.data, "x/obj;"); /* the torn temp file is hidden */
    buf_fini(&listing);
    storage_free(s);
}
END_TEST

START_TEST(test_storage_not_found)
{
    struct storage *s = open_repo();
    struct pitr_err err;
    struct storage_info info;
    struct buf b;

    buf_init(&b, 1024);
    ck_assert_int_eq(storage_stat(s, "nope", &info, &err), PITR_NOT_FOUND);
    ck_assert_int_eq(storage_get(s, "no/such/key", &b, &err), PITR_NOT_FOUND);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_int_eq(storage_remove(s, "nope", &err), PITR_OK);
    ck_assert_int_eq(storage_put(s, "file", NULL, (const uint8_t *)"x", 1, &err), PITR_OK);
    /* a path through a regular file is "not found", not an I/O error */
    ck_assert_int_eq(storage_get(s, "file/below", &b, &err), PITR_NOT_FOUND);
    ck_assert_int_eq(storage_remove(s, "file", &err), PITR_OK);
    ck_assert_int_eq(storage_stat(s, "file", &info, &err), PITR_NOT_FOUND);
    buf_fini(&b);
    storage_free(s);
}
END_TEST

START_TEST(test_storage_list)
{
    struct storage *s = open_repo();
    struct pitr_err err;
    struct buf b;
    static const char *const keys[] = {"c1/wal/a", "c1/wal/b", "c1/info", "c2/info"};

    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(storage_put(s, keys[i], NULL, (const uint8_t *)"v", 1, &err), PITR_OK);
    }
    buf_init(&b, 4096);
    ck_assert_int_eq(storage_list(s, "", STORAGE_LIST_CHILDREN, collect, &b, &err), PITR_OK);
    ck_assert(strstr((char *)b.data, "c1/;") && strstr((char *)b.data, "c2/;"));
    ck_assert_uint_eq(b.len, strlen("c1/;c2/;"));
    buf_reset(&b);
    ck_assert_int_eq(storage_list(s, "c1/", STORAGE_LIST_RECURSIVE, collect, &b, &err), PITR_OK);
    ck_assert(strstr((char *)b.data, "c1/wal/a;") && strstr((char *)b.data, "c1/wal/b;") &&
              strstr((char *)b.data, "c1/info;"));
    ck_assert_uint_eq(b.len, strlen("c1/wal/a;c1/wal/b;c1/info;"));
    buf_reset(&b);
    ck_assert_int_eq(storage_list(s, "absent", STORAGE_LIST_RECURSIVE, collect, &b, &err), PITR_OK);
    ck_assert_uint_eq(b.len, 0);
    buf_fini(&b);
    storage_free(s);
}
END_TEST

START_TEST(test_storage_remove_dir)
{
    struct storage *s = open_repo();
    struct pitr_err err;
    char path[512];

    ck_assert_int_eq(storage_put(s, "c/backup/x/a", NULL, (const uint8_t *)"v", 1, &err), PITR_OK);
    ck_assert_int_eq(storage_put(s, "c/backup/y/b", NULL, (const uint8_t *)"v", 1, &err), PITR_OK);
    /* not empty: left alone, and that is no error */
    ck_assert_int_eq(storage_remove_dir(s, "c/backup/x", &err), PITR_OK);
    snprintf(path, sizeof(path), "%s/repo/c/backup/x/a", testutil_tmpdir());
    ck_assert_int_eq(access(path, F_OK), 0);
    ck_assert_int_eq(storage_remove(s, "c/backup/x/a", &err), PITR_OK);
    ck_assert_int_eq(storage_remove_dir(s, "c/backup/x", &err), PITR_OK);
    snprintf(path, sizeof(path), "%s/repo/c/backup", testutil_tmpdir());
    ck_assert_int_eq(count_entries(path), 1); /* y stays */
    /* missing: succeeds */
    ck_assert_int_eq(storage_remove_dir(s, "c/backup/x", &err), PITR_OK);
    ck_assert_int_eq(storage_remove_dir(s, "../x", &err), PITR_INTERNAL);
    /* a file is not a directory */
    ck_assert_int_eq(storage_remove_dir(s, "c/backup/y/b", &err), PITR_IO);
    ck_assert_msg(strstr(err.msg, "could not remove directory") != NULL, "%s", err.msg);
    storage_free(s);
}
END_TEST

START_TEST(test_storage_bad_keys)
{
    struct storage *s = open_repo();
    struct pitr_err err;
    struct storage_info info;
    struct posix_params relative = {"relative/dir", false};

    ck_assert_int_eq(storage_stat(s, "../etc/passwd", &info, &err), PITR_INTERNAL);
    ck_assert_int_eq(storage_stat(s, "/abs", &info, &err), PITR_INTERNAL);
    ck_assert_int_eq(storage_stat(s, "a//b", &info, &err), PITR_INTERNAL);
    ck_assert_int_eq(storage_stat(s, "", &info, &err), PITR_INTERNAL);
    storage_free(s);
    ck_assert_ptr_null(posix_storage_new(&relative, &err));
    ck_assert_int_eq(err.rc, PITR_CONFIG);
    ck_assert_str_eq(err.msg, "repository path \"relative/dir\" must be absolute");
}
END_TEST

/* --- the directories it writes into ------------------------------------------------------- */

enum owner {
    OWN_ME,
    OWN_NOBODY,          /* nobody:nogroup */
    OWN_NOBODY_MY_GROUP, /* nobody, with this process's group */
    OWN_ME_NOBODY_GROUP, /* this user, with nobody's group */
};

static const char owner_msg[] =
    " is owned by uid {nobody}, not by uid {me} that runs pitr: chown it, or set "
    "repo_group_access = on to share it through its group";
static const char group_msg[] =
    " is writable by its group (mode 0770): run chmod g-w on it, or set repo_group_access = on "
    "to share the repository with that group";

static const struct {
    const char *dir; /* changed after the repository was made: "" the root, else inside it */
    mode_t mode;
    enum owner owner; /* all but OWN_ME need root (to chown); skipped otherwise */
    bool group_access;
    const char *msg; /* NULL: accepted; else the error after "repository directory \"<dir>\"" */
} trust[] = {
    {"", 0700, OWN_ME, false, NULL},
    {"", 0755, OWN_ME, false, NULL},
    {"c/wal", 0711, OWN_ME, false, NULL},
    {"", 0777, OWN_ME, false, " is writable by any user (mode 0777): run chmod o-w on it"},
    {"", 01777, OWN_ME, true, " is writable by any user (mode 1777): run chmod o-w on it"},
    {"c", 0702, OWN_ME, true, " is writable by any user (mode 0702): run chmod o-w on it"},
    {"", 0770, OWN_ME, false, group_msg},
    {"c/wal", 0770, OWN_ME, false, group_msg},
    {"", 0770, OWN_ME, true, NULL},
    {"c/wal", 02770, OWN_ME, true, NULL},
    {"", 0700, OWN_NOBODY, false, owner_msg},
    {"c", 0750, OWN_NOBODY, false, owner_msg},
    {"c", 0770, OWN_NOBODY_MY_GROUP, false, owner_msg},
    {"c", 0770, OWN_NOBODY_MY_GROUP, true, NULL},
    {"c/wal", 0750, OWN_NOBODY, true,
     " belongs to uid {nobody} and gid {nogroup}, neither of which is this user's (uid {me}): "
     "chown it to this user, or chgrp it to a group of this user"},
    {"", 0770, OWN_ME_NOBODY_GROUP, true, NULL},
};

/* Writes "repository directory \"<dir>\"<msg>" with {nobody}, {nogroup} and {me} replaced. */
static void trust_message(char *out, size_t size, const char *dir, const char *msg,
                          const struct passwd *nobody)
{
    static const char *const tokens[] = {"{nobody}", "{nogroup}", "{me}"};
    size_t n = (size_t)snprintf(out, size, "repository directory \"%s\"", dir);

    while (*msg != '\0' && n + 1 < size) {
        size_t t = 0;

        while (t < 3 && strncmp(msg, tokens[t], strlen(tokens[t])) != 0) {
            t++;
        }
        if (t == 3) {
            out[n++] = *msg++;
            continue;
        }
        n += (size_t)snprintf(out + n, size - n, "%u",
                              t == 0   ? (unsigned)nobody->pw_uid
                              : t == 1 ? (unsigned)nobody->pw_gid
                                       : (unsigned)geteuid());
        msg += strlen(tokens[t]);
    }
    out[n < size ? n : size - 1] = '\0';
}

/* A directory that someone else can write (owns, or can write through its group or as anyone)
 * is refused for writes and removals, with one line naming it and the fix; reads go on. */
START_TEST(test_storage_write_open_directory_trust)
{
    struct storage *s;
    struct pitr_err err;
    struct storage_info info;
    const struct passwd *nobody = getpwnam("nobody");
    char root[512];
    char path[600];
    char wal[600];
    char expect[1024];
    enum pitr_rc rc;

    if (trust[_i].owner != OWN_ME && geteuid() != 0) {
        return; /* chown needs root, as the tests run in CI */
    }
    ck_assert_ptr_nonnull(nobody);
    snprintf(root, sizeof(root), "%s/repo", testutil_tmpdir());
    snprintf(path, sizeof(path), "%s%s%s", root, trust[_i].dir[0] ? "/" : "", trust[_i].dir);
    snprintf(wal, sizeof(wal), "%s/c/wal", root);
    s = open_repo_at(root, trust[_i].group_access);
    ck_assert_int_eq(storage_put(s, "c/wal/old", NULL, (const uint8_t *)"old", 3, &err), PITR_OK);
    switch (trust[_i].owner) {
    case OWN_ME:
        break;
    case OWN_NOBODY:
        ck_assert_int_eq(chown(path, nobody->pw_uid, nobody->pw_gid), 0);
        break;
    case OWN_NOBODY_MY_GROUP:
        ck_assert_int_eq(chown(path, nobody->pw_uid, getegid()), 0);
        break;
    case OWN_ME_NOBODY_GROUP:
        ck_assert_int_eq(chown(path, (uid_t)-1, nobody->pw_gid), 0);
        break;
    }
    ck_assert_int_eq(chmod(path, trust[_i].mode), 0);

    rc = storage_put(s, "c/wal/new", NULL, (const uint8_t *)"new", 3, &err);
    if (trust[_i].msg == NULL) {
        ck_assert_msg(rc == PITR_OK, "%s", err.msg);
        get_text(s, "c/wal/new", "new");
        ck_assert_int_eq(storage_remove(s, "c/wal/old", &err), PITR_OK);
    } else {
        trust_message(expect, sizeof(expect), path, trust[_i].msg, nobody);
        ck_assert_int_eq(rc, PITR_CONFIG);
        ck_assert_str_eq(err.msg, expect);
        ck_assert_int_eq(count_entries(wal), 1); /* no object, no temp file */
        ck_assert_int_eq(storage_remove(s, "c/wal/old", &err), PITR_CONFIG);
        ck_assert_str_eq(err.msg, expect);
        ck_assert_int_eq(storage_remove_dir(s, "c/wal/sub", &err), PITR_CONFIG);
        ck_assert_str_eq(err.msg, expect);
        /* reading is not refused: what is read is checked by content */
        get_text(s, "c/wal/old", "old");
        ck_assert_int_eq(storage_stat(s, "c/wal/old", &info, &err), PITR_OK);
    }
    storage_free(s);
}
END_TEST

/* New directories (the root and its missing parents too) and objects get the driver's modes from
 * the start; the umask still applies. */
static const struct {
    bool group_access;
    mode_t umask;
    mode_t dir_mode;
    mode_t file_mode;
} modes[] = {
    {false, 0, 0700, 0600},   {true, 0, 0770, 0640},    {false, 0022, 0700, 0600},
    {true, 0027, 0750, 0640}, {true, 0077, 0700, 0600},
};

static mode_t mode_of(const char *path)
{
    struct stat st;

    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_mode & 07777;
}

START_TEST(test_posix_storage_new_modes)
{
    struct storage *s;
    struct pitr_err err;
    char root[512];
    char path[600];
    static const char *const dirs[] = {"", "/repo", "/repo/c", "/repo/c/wal"};

    umask(modes[_i].umask);
    snprintf(root, sizeof(root), "%s/new/repo", testutil_tmpdir());
    s = open_repo_at(root, modes[_i].group_access);
    ck_assert_int_eq(storage_put(s, "c/wal/obj", NULL, (const uint8_t *)"x", 1, &err), PITR_OK);
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(path, sizeof(path), "%s/new%s", testutil_tmpdir(), dirs[i]);
        ck_assert_msg(mode_of(path) == modes[_i].dir_mode, "%s: %04o", path,
                      (unsigned)mode_of(path));
    }
    snprintf(path, sizeof(path), "%s/c/wal/obj", root);
    ck_assert_uint_eq(mode_of(path), modes[_i].file_mode);
    storage_free(s);
}
END_TEST

/* --- remove() sweeping abandoned temp files ------------------------------------------------ */

/* A pid that has exited (reaped): what a killed writer leaves. */
static pid_t dead_pid(void)
{
    pid_t pid = fork();
    int status;

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return pid;
}

/* Creates dir/name (a file, or a directory when is_dir) last changed age_s seconds ago. */
static void make_aged(const char *dir, const char *name, int age_s, bool is_dir)
{
    char path[1024];
    struct timespec times[2];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (is_dir) {
        ck_assert_int_eq(mkdir(path, 0700), 0);
    } else {
        testutil_write_file(path, "partial", 7);
    }
    ck_assert_int_eq(clock_gettime(CLOCK_REALTIME, &times[0]), 0);
    times[0].tv_sec -= age_s;
    times[1] = times[0];
    ck_assert_int_eq(utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW), 0);
}

static void temp_name(char *out, size_t size, const char *prefix, pid_t pid, const char *suffix)
{
    if (pid < 0) {
        snprintf(out, size, "%s", prefix);
    } else {
        snprintf(out, size, "%s%d%s", prefix, (int)pid, suffix);
    }
}

static bool exists(const char *dir, const char *name)
{
    char path[1024];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return lstat(path, &st) == 0;
}

START_TEST(test_storage_remove_sweeps_abandoned_temps)
{
    struct storage *s = open_repo();
    struct pitr_err err;
    char dir[600];
    char other[600];
    char name[64];
    pid_t dead = dead_pid();
    pid_t live = getpid();
    static const struct {
        const char *prefix;
        int pid;            /* 1: a dead pid, 0: this live process, -1: prefix is the whole name */
        const char *suffix; /* after the pid */
        int age_s;
        bool is_dir;
        bool swept;
    } temps[] = {
        {".a.tmp.", 1, "", 10, false, true},       /* killed writer, idle > 5 s */
        {".b.tmp.", 1, "", 2, false, false},       /* killed writer, but changed just now */
        {".c.tmp.", 0, "", 10, false, false},      /* a live writer's file */
        {".d.tmp.", 0, "", 600, false, false},     /* a live writer, 10 minutes idle */
        {".e.tmp.", 0, "", 16 * 60, false, true},  /* idle > 15 min: abandoned, whoever owns it */
        {".f.tmp.", 1, "", 3600, true, false},     /* not a regular file */
        {".g.tmp.x7", -1, "", 3600, false, false}, /* no pid */
        {".h.tmp.0", -1, "", 3600, false, false},  /* pid 0 */
        {"i.tmp.", 1, "", 3600, false, false},     /* not hidden: an object */
        {".j.tmp.", 1, ".bak", 3600, false, false},
        {".k.tmp.", 1, ".0123456789abcdef", 10, false, true}, /* a random suffix after the pid */
        {".l.tmp.", 0, ".0123456789abcdef", 10, false, false},
        {".m.tmp.", 1, ".0123456789abcde", 3600, false, false},   /* not 16 hex digits */
        {".n.tmp.", 1, ".0123456789ABCDEF", 3600, false, false},  /* nor lower case */
        {".o.tmp.", 1, ".0123456789abcdef0", 3600, false, false}, /* nor 16 */
        {".p.tmp.1.tmp.", 1, "", 10, false, true},                /* an object named "p.tmp.1" */
    };

    snprintf(dir, sizeof(dir), "%s/repo/c/wal", testutil_tmpdir());
    snprintf(other, sizeof(other), "%s/repo/c/other", testutil_tmpdir());
    ck_assert_int_eq(storage_put(s, "c/wal/seg", NULL, (const uint8_t *)"x", 1, &err), PITR_OK);
    ck_assert_int_eq(storage_put(s, "c/other/obj", NULL, (const uint8_t *)"x", 1, &err), PITR_OK);
    make_aged(other, ".obj2.tmp.1", 3600, false); /* another directory: not swept */
    for (size_t i = 0; i < sizeof(temps) / sizeof(temps[0]); i++) {
        temp_name(name, sizeof(name), temps[i].prefix,
                  temps[i].pid == 1   ? dead
                  : temps[i].pid == 0 ? live
                                      : -1,
                  temps[i].suffix);
        make_aged(dir, name, temps[i].age_s, temps[i].is_dir);
    }
    ck_assert_int_eq(storage_remove(s, "c/wal/seg", &err), PITR_OK);
    ck_assert(!exists(dir, "seg"));
    for (size_t i = 0; i < sizeof(temps) / sizeof(temps[0]); i++) {
        temp_name(name, sizeof(name), temps[i].prefix,
                  temps[i].pid == 1   ? dead
                  : temps[i].pid == 0 ? live
                                      : -1,
                  temps[i].suffix);
        ck_assert_msg(exists(dir, name) == !temps[i].swept, "%s %s", name,
                      temps[i].swept ? "was not swept" : "was swept");
    }
    ck_assert(exists(other, ".obj2.tmp.1"));
    ck_assert(exists(other, "obj"));

    /* removing a key that does not exist sweeps too */
    snprintf(name, sizeof(name), ".k.tmp.%d", (int)dead);
    make_aged(dir, name, 10, false);
    ck_assert_int_eq(storage_remove(s, "c/wal/missing", &err), PITR_OK);
    ck_assert(!exists(dir, name));
    storage_free(s);
}
END_TEST

/* A writer in progress keeps its temp file through a sweep and still commits. */
START_TEST(test_storage_remove_spares_live_writer)
{
    struct storage *s = open_repo();
    struct pitr_err err;
    struct filter *sink = NULL;
    char dir[600];
    char name[64];
    struct storage_info info;

    snprintf(dir, sizeof(dir), "%s/repo/c/wal", testutil_tmpdir());
    ck_assert_int_eq(storage_put(s, "c/wal/old", NULL, (const uint8_t *)"x", 1, &err), PITR_OK);
    ck_assert_int_eq(storage_write_open(s, "c/wal/new", NULL, &sink, &err), PITR_OK);
    ck_assert_int_eq(filter_write(sink, (const uint8_t *)"abc", 3, &err), PITR_OK);
    snprintf(name, sizeof(name), ".new.tmp.%d", (int)getpid());
    ck_assert(exists(dir, name));
    {
        char path[1024];
        struct timespec times[2];

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        ck_assert_int_eq(clock_gettime(CLOCK_REALTIME, &times[0]), 0);
        times[0].tv_sec -= 60; /* a slow writer: a minute without a write */
        times[1] = times[0];
        ck_assert_int_eq(utimensat(AT_FDCWD, path, times, 0), 0);
    }
    ck_assert_int_eq(storage_remove(s, "c/wal/old", &err), PITR_OK);
    ck_assert(exists(dir, name));
    ck_assert_int_eq(filter_write(sink, (const uint8_t *)"def", 3, &err), PITR_OK);
    ck_assert_msg(filter_finish(sink, &err) == PITR_OK, "%s", err.msg);
    filter_free(sink);
    ck_assert(!exists(dir, name));
    get_text(s, "c/wal/new", "abcdef");
    ck_assert_int_eq(storage_stat(s, "c/wal/old", &info, &err), PITR_NOT_FOUND);
    storage_free(s);
}
END_TEST

/* --- storage_read_range -------------------------------------------------------------------- */

static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz";

/* Ranges of the 26-byte object "abc" (the alphabet) and of the empty object "empty". */
static const struct range_case {
    const char *key;
    uint64_t offset;
    uint64_t len;
    const char *expect;
} range_cases[] = {
    {"abc", 0, 5, "abcde"},                            /* start */
    {"abc", 10, 4, "klmn"},                            /* middle */
    {"abc", 20, 6, "uvwxyz"},                          /* ends exactly at the end */
    {"abc", 0, 26, "abcdefghijklmnopqrstuvwxyz"},      /* the whole object */
    {"abc", 23, 10, "xyz"},                            /* runs past the end: what exists */
    {"abc", 25, 1, "z"},                               /* the last byte */
    {"abc", 26, 1, ""},                                /* starts at the end: nothing */
    {"abc", 1000, 64, ""},                             /* starts past the end: nothing */
    {"abc", 0, 0, ""},                                 /* zero length */
    {"abc", 13, 0, ""},                                /* zero length in the middle */
    {"abc", 3, UINT64_MAX, "defghijklmnopqrstuvwxyz"}, /* offset + len past UINT64_MAX */
    {"abc", (uint64_t)INT64_MAX + 1, 8, ""},           /* beyond any off_t */
    {"abc", UINT64_MAX, UINT64_MAX, ""},
    {"empty", 0, 64, ""},
    {"empty", 0, 0, ""},
};

START_TEST(test_storage_read_range_cases)
{
    const struct range_case *c = &range_cases[_i];
    struct storage *s = open_repo();
    struct pitr_err err;
    struct filter *sink;
    struct buf b;

    ck_assert_int_eq(storage_put(s, "abc", NULL, (const uint8_t *)alphabet, 26, &err), PITR_OK);
    ck_assert_int_eq(storage_put(s, "empty", NULL, (const uint8_t *)"", 0, &err), PITR_OK);
    buf_init(&b, 1024);
    sink = buf_sink_new(&b);
    ck_assert_msg(storage_read_range(s, c->key, c->offset, c->len, sink, &err) == PITR_OK, "%s",
                  err.msg);
    ck_assert_uint_eq(b.len, strlen(c->expect));
    if (b.len > 0) { /* an empty buf has no data at all */
        ck_assert_mem_eq(b.data, c->expect, b.len);
    }
    /* finished: a second finish is refused */
    ck_assert_int_eq(filter_finish(sink, &err), PITR_INTERNAL);
    filter_free(sink);
    buf_fini(&b);
    storage_free(s);
}
END_TEST

/* Ranges across the driver's 256 KiB read chunks, checked byte for byte. */
START_TEST(test_storage_read_range_large)
{
    static const struct {
        uint64_t offset;
        uint64_t len;
    } ranges[] = {{0, 64}, {100001, 400000}, {262143, 262146}, {600000 - 10, 100}, {0, 600000}};
    enum { SIZE = 600000 };
    struct storage *s = open_repo();
    uint8_t *data = malloc(SIZE);
    struct pitr_err err;
    struct buf b;

    testutil_fill(data, SIZE, 7);
    ck_assert_int_eq(storage_put(s, "c/wal/seg", NULL, data, SIZE, &err), PITR_OK);
    buf_init(&b, 1 << 20);
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        uint64_t end = ranges[i].offset + ranges[i].len;
        size_t want = (size_t)((end < SIZE ? end : SIZE) - ranges[i].offset);
        struct filter *sink = buf_sink_new(&b);

        buf_reset(&b);
        ck_assert_int_eq(
            storage_read_range(s, "c/wal/seg", ranges[i].offset, ranges[i].len, sink, &err),
            PITR_OK);
        filter_free(sink);
        ck_assert_uint_eq(b.len, want);
        ck_assert_mem_eq(b.data, data + ranges[i].offset, want);
    }
    buf_fini(&b);
    free(data);
    storage_free(s);
}
END_TEST

START_TEST(test_storage_read_range_not_found)
{
    struct storage *s = open_repo();
    struct pitr_err err;
    struct filter *sink;
    char target[600];
    char link[600];
    struct buf b;

    ck_assert_int_eq(storage_put(s, "file", NULL, (const uint8_t *)"x", 1, &err), PITR_OK);
    snprintf(target, sizeof(target), "%s/nowhere", testutil_tmpdir());
    snprintf(link, sizeof(link), "%s/repo/dangling", testutil_tmpdir());
    ck_assert_int_eq(symlink(target, link), 0);
    buf_init(&b, 1024);
    sink = buf_sink_new(&b);
    /* missing, a path through a regular file, a dangling link, and zero length: not found, and
     * the sink is untouched (nothing written, not finished) */
    ck_assert_int_eq(storage_read_range(s, "nope", 0, 64, sink, &err), PITR_NOT_FOUND);
    ck_assert_msg(strstr(err.msg, "could not open") && strstr(err.msg, "/repo/nope\""), "%s",
                  err.msg);
    ck_assert_int_eq(storage_read_range(s, "file/below", 0, 64, sink, &err), PITR_NOT_FOUND);
    ck_assert_int_eq(storage_read_range(s, "dangling", 0, 64, sink, &err), PITR_NOT_FOUND);
    ck_assert_int_eq(storage_read_range(s, "nope", 5, 0, sink, &err), PITR_NOT_FOUND);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_int_eq(filter_finish(sink, &err), PITR_OK);
    filter_free(sink);
    /* a directory is an I/O error, as for storage_read; a bad key never reaches the driver */
    ck_assert_int_eq(storage_put(s, "d/obj", NULL, (const uint8_t *)"x", 1, &err), PITR_OK);
    sink = buf_sink_new(&b);
    ck_assert_int_eq(storage_read_range(s, "d", 0, 64, sink, &err), PITR_IO);
    ck_assert_int_eq(storage_read_range(s, "../repo/file", 0, 1, sink, &err), PITR_INTERNAL);
    ck_assert_uint_eq(b.len, 0);
    filter_free(sink);
    buf_fini(&b);
    storage_free(s);
}
END_TEST

Suite *posix_suite(void)
{
    Suite *s = suite_create("posix");
    TCase *tc = tcase_create("posix");

    tcase_add_checked_fixture(tc, testutil_tmpdir_setup, testutil_tmpdir_teardown);
    tcase_add_test(tc, test_storage_write_open_commit_and_replace);
    tcase_add_test(tc, test_storage_write_open_no_overwrite);
    tcase_add_test(tc, test_storage_write_open_unfinished_leaves_nothing);
    tcase_add_test(tc, test_storage_write_open_crash_leaves_old_state);
    tcase_add_loop_test(tc, test_storage_write_open_planted_temp, 0,
                        sizeof(planted) / sizeof(planted[0]));
    tcase_add_loop_test(tc, test_storage_write_open_directory_trust, 0,
                        sizeof(trust) / sizeof(trust[0]));
    tcase_add_loop_test(tc, test_posix_storage_new_modes, 0, sizeof(modes) / sizeof(modes[0]));
    tcase_add_test(tc, test_storage_not_found);
    tcase_add_test(tc, test_storage_list);
    tcase_add_test(tc, test_storage_bad_keys);
    tcase_add_test(tc, test_storage_remove_dir);
    tcase_add_test(tc, test_storage_remove_sweeps_abandoned_temps);
    tcase_add_test(tc, test_storage_remove_spares_live_writer);
    suite_add_tcase(s, tc);
    tc = tcase_create("read_range");
    tcase_add_checked_fixture(tc, testutil_tmpdir_setup, testutil_tmpdir_teardown);
    tcase_add_loop_test(tc, test_storage_read_range_cases, 0,
                        sizeof(range_cases) / sizeof(range_cases[0]));
    tcase_add_test(tc, test_storage_read_range_large);
    tcase_add_test(tc, test_storage_read_range_not_found);
    suite_add_tcase(s, tc);
    return s;
}

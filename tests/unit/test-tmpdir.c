/* SPDX-License-Identifier: MIT */
/* cmocka tests of the commands' TMPDIRs: made, removed, and kept for the next command. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "spawn.h"
#include "tmpdir.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* nobody, for a command of another user than the server's. */
#define OTHER_ID 65534

struct harness {
        sd_event *event;
        struct spawn_env env;
        struct tmpdir_base tmpdirs;
};

/* What the warn callback was told last, or 0. */
static int warned;

static void note_warning(const char *path, int err) {
        (void) path;
        warned = err;
}

static int setup(void **state) {
        static char *environ_[] = {"PATH=/usr/bin:/bin", NULL};
        struct harness *h = calloc(1, sizeof *h);
        char err[256];

        assert_non_null(h);
        assert_int_equal(sd_event_new(&h->event), 0);
        assert_int_equal(spawn_env_init(&h->env, &(struct spawn_login){0}, environ_), 0);
        assert_int_equal(tmpdir_init(&h->tmpdirs, h->event, &h->env, note_warning, err, sizeof err),
                         0);
        warned = 0;
        *state = h;
        return 0;
}

static int teardown(void **state) {
        struct harness *h = *state;

        (void) tmpdir_release(&h->tmpdirs, 5 * USEC_PER_SEC);
        spawn_env_release(&h->env);
        sd_event_unref(h->event);
        free(h);
        return 0;
}

/* Directories kept ready, once the worker has nothing left to do and the
 * loop nothing it sent back; SIZE_MAX until then. */
static size_t n_ready(struct tmpdir_base *b) {
        size_t n;

        (void) pthread_mutex_lock(&b->lock);
        n = b->todo.count + b->doing + b->back.count > 0 ? SIZE_MAX : b->n_ready;
        (void) pthread_mutex_unlock(&b->lock);
        return n;
}

/* Entries in the server's directory. */
static size_t entries(const struct tmpdir_base *b) {
        DIR *d = opendir(b->path);
        struct dirent *e;
        size_t n = 0;

        assert_non_null(d);
        while ((e = readdir(d)))
                n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
        closedir(d);
        return n;
}

/* Until the worker is idle and the removers it asked for are done (2 s at most). */
static void settle(struct harness *h) {
        for (int i = 0; i < 200; i++) {
                tmpdir_reap(&h->tmpdirs);
                if (n_ready(&h->tmpdirs) != SIZE_MAX && h->tmpdirs.n_removers == 0)
                        return;
                (void) sd_event_run(h->event, 10 * USEC_PER_MSEC);
        }
        fail_msg("the TMPDIR worker or its removers were still busy after 2 s");
}

/* Whether directories are kept here: not where /tmp is in memory (tmpdir.h).
 * The tests of keeping skip there, but not under CI=true, which must run all. */
static bool keeps(const struct harness *h) {
        const char *ci = getenv("CI");

        if (h->tmpdirs.reuse)
                return true;
        if (ci && strcmp(ci, "true") == 0)
                fail_msg("no directory is kept here (is /tmp in memory?), and CI must run every "
                         "test");
        printf("# skipped: no directory is kept here (is /tmp in memory?)\n");
        return false;
}

static bool exists(const char *path) {
        struct stat st;

        return stat(path, &st) == 0;
}

/* A command's directory as its child would make it, given back once over;
 * path gets its name. */
static void one_command(struct harness *h, const struct spawn_creds *creds, bool whole,
                        char path[SPAWN_TMPDIR_MAX], bool *made) {
        assert_int_equal(tmpdir_take(&h->tmpdirs, creds, path, SPAWN_TMPDIR_MAX, made), 0);
        if (!*made) {
                assert_int_equal(mkdir(path, 0700), 0);
                if (creds)
                        assert_int_equal(chown(path, creds->uid, creds->gid), 0);
        }
        assert_int_equal(tmpdir_remove(&h->tmpdirs, creds, path, whole), 0);
        settle(h);
        assert_false(exists(path)); /* whatever became of it, its name is gone */
}

static void test_an_empty_directory_serves_the_next_command_under_a_new_name(void **state) {
        struct harness *h = *state;
        char first[SPAWN_TMPDIR_MAX], next[SPAWN_TMPDIR_MAX];
        struct stat st;
        bool made;

        if (!keeps(h))
                skip();

        one_command(h, NULL, true, first, &made);
        assert_false(made);
        assert_int_equal(n_ready(&h->tmpdirs), 1);
        assert_int_equal(tmpdir_take(&h->tmpdirs, NULL, next, sizeof next, &made), 0);
        assert_true(made);
        assert_string_not_equal(next, first);
        assert_int_equal(strncmp(next, h->tmpdirs.path, strlen(h->tmpdirs.path)), 0);
        assert_int_equal(stat(next, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_int_equal(entries(&h->tmpdirs), 1);
        /* Taken: no other command gets it. */
        assert_int_equal(n_ready(&h->tmpdirs), 0);
        assert_int_equal(tmpdir_remove(&h->tmpdirs, NULL, next, false), 0);
        settle(h);
}

/* Without a cgroup that was seen empty, a process of the command may still
 * write there: removed, not kept. */
static void test_a_directory_is_not_kept_when_its_command_may_go_on(void **state) {
        struct harness *h = *state;
        char path[SPAWN_TMPDIR_MAX];
        bool made;

        one_command(h, NULL, false, path, &made);
        assert_int_equal(n_ready(&h->tmpdirs), 0);
        assert_int_equal(entries(&h->tmpdirs), 0);
        assert_int_equal(tmpdir_take(&h->tmpdirs, NULL, path, sizeof path, &made), 0);
        assert_false(made);
}

enum spoil { SPOIL_MODE, SPOIL_FILE, SPOIL_SUBDIR, SPOIL_XATTR, SPOIL_FLAGS };

/* What a command can do to its own directory; false where this file system
 * does not let it. */
static bool spoil(const char *path, enum spoil how) {
        char inside[SPAWN_TMPDIR_MAX + 8];
        int fd, flags = 0;
        bool done;

        snprintf(inside, sizeof inside, "%s/x", path);
        switch (how) {
        case SPOIL_MODE:
                return chmod(path, 0755) == 0;
        case SPOIL_FILE:
                fd = open(inside, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
                if (fd >= 0)
                        close(fd);
                return fd >= 0;
        case SPOIL_SUBDIR:
                return mkdir(inside, 0700) == 0;
        case SPOIL_XATTR:
                return setxattr(path, "user.left", "1", 1, 0) == 0;
        case SPOIL_FLAGS:
                fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                assert_true(fd >= 0);
                done = ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 &&
                       (flags |= FS_NOATIME_FL, ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0);
                close(fd);
                return done;
        }
        return false;
}

/* Anything a new directory would not be is removed, with what is in it. */
static void test_a_directory_its_command_changed_is_removed_not_kept(void **state) {
        static const char *const names[] = {"mode 0755", "a file", "a directory",
                                            "an extended attribute", "an inode flag"};
        struct harness *h = *state;
        char path[SPAWN_TMPDIR_MAX];
        bool made;

        for (enum spoil how = SPOIL_MODE; how <= SPOIL_FLAGS; how++) {
                assert_int_equal(tmpdir_take(&h->tmpdirs, NULL, path, sizeof path, &made), 0);
                assert_false(made);
                assert_int_equal(mkdir(path, 0700), 0);
                if (!spoil(path, how)) {
                        printf("# %s: not on this file system (%s)\n", names[how], strerror(errno));
                        assert_int_equal(rmdir(path), 0);
                        continue;
                }
                assert_int_equal(tmpdir_remove(&h->tmpdirs, NULL, path, true), 0);
                settle(h);
                if (n_ready(&h->tmpdirs) != 0 || entries(&h->tmpdirs) != 0)
                        fail_msg("a directory with %s was kept or left", names[how]);
        }
        assert_int_equal(warned, 0);
}

/* Root only: one kept for another user's command is that user's alone. */
static void test_a_kept_directory_serves_its_own_user_only(void **state) {
        struct spawn_creds other = {.change = true, .uid = OTHER_ID, .gid = OTHER_ID};
        struct harness *h = *state;
        char path[SPAWN_TMPDIR_MAX];
        struct stat st;
        bool made;

        if (geteuid() != 0) {
                printf("# skipped: making another user's directory needs root\n");
                skip();
        }
        if (!keeps(h))
                skip();
        one_command(h, &other, true, path, &made);
        assert_int_equal(n_ready(&h->tmpdirs), 1);
        assert_int_equal(tmpdir_take(&h->tmpdirs, NULL, path, sizeof path, &made), 0);
        assert_false(made);
        assert_int_equal(tmpdir_take(&h->tmpdirs, &other, path, sizeof path, &made), 0);
        assert_true(made);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_uid, OTHER_ID);
        assert_int_equal(tmpdir_remove(&h->tmpdirs, &other, path, false), 0);
        settle(h);
        assert_int_equal(entries(&h->tmpdirs), 0);
}

/* TMPDIR_READY at most; the others are removed, and all go at release. */
static void test_a_few_are_kept_and_none_stays_after_release(void **state) {
        struct harness *h = *state;
        char paths[TMPDIR_READY + 2][SPAWN_TMPDIR_MAX], base[sizeof h->tmpdirs.path];
        bool made;

        if (!keeps(h))
                skip();

        for (size_t i = 0; i < TMPDIR_READY + 2; i++) {
                assert_int_equal(tmpdir_take(&h->tmpdirs, NULL, paths[i], SPAWN_TMPDIR_MAX, &made),
                                 0);
                assert_int_equal(mkdir(paths[i], 0700), 0);
        }
        for (size_t i = 0; i < TMPDIR_READY + 2; i++)
                assert_int_equal(tmpdir_remove(&h->tmpdirs, NULL, paths[i], true), 0);
        settle(h);
        assert_int_equal(n_ready(&h->tmpdirs), TMPDIR_READY);
        assert_int_equal(entries(&h->tmpdirs), TMPDIR_READY);
        memcpy(base, h->tmpdirs.path, sizeof base);
        assert_int_equal(tmpdir_release(&h->tmpdirs, USEC_PER_SEC), 0);
        assert_false(exists(base));
        assert_int_equal(warned, 0);
}

/* What the command sees of its TMPDIR: `ls -A` of it, and whether it ran. */
static int ls_tmpdir(struct spawn_env *env, const char *path, bool made, char *out, size_t size) {
        struct spawn_child child;
        siginfo_t si = {0};
        size_t got = 0;
        ssize_t n;
        int sv[2], r;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(spawn_command(env, "stat -c %a \"$TMPDIR\"; ls -A \"$TMPDIR\"",
                                       &(struct spawn_io){.conn_fd = sv[1],
                                                          .err_fd = -1,
                                                          .cgroup_procs_fd = -1,
                                                          .tmpdir = path,
                                                          .tmpdir_made = made},
                                       &child),
                         0);
        close(sv[1]);
        while (got + 1 < size && (n = read(sv[0], out + got, size - got - 1)) > 0)
                got += (size_t) n;
        out[got] = '\0';
        close(sv[0]);
        assert_int_equal(waitid((idtype_t) P_PIDFD, (id_t) child.pidfd, &si, WEXITED), 0);
        close(child.pidfd);
        r = spawn_child_started(env, &child);
        return r < 0 ? r : spawn_status_of(&si);
}

/* The child uses one kept ready as it is, makes it again if /tmp's cleaner
 * took it, and refuses a new name that is there already. */
static void test_the_child_takes_a_kept_directory_as_it_is(void **state) {
        struct harness *h = *state;
        char path[SPAWN_TMPDIR_MAX], marker[SPAWN_TMPDIR_MAX + 8], out[256];
        bool made;

        assert_int_equal(tmpdir_take(&h->tmpdirs, NULL, path, sizeof path, &made), 0);
        assert_int_equal(mkdir(path, 0700), 0);
        snprintf(marker, sizeof marker, "%s/seen", path);
        assert_int_equal(mkdir(marker, 0700), 0);
        assert_int_equal(ls_tmpdir(&h->env, path, true, out, sizeof out), 0);
        assert_string_equal(out, "700\nseen\n");
        assert_int_equal(ls_tmpdir(&h->env, path, false, out, sizeof out), -EEXIST);
        assert_int_equal(rmdir(marker), 0);
        assert_int_equal(rmdir(path), 0);
        assert_int_equal(ls_tmpdir(&h->env, path, true, out, sizeof out), 0);
        assert_string_equal(out, "700\n");
        assert_int_equal(rmdir(path), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(
                        test_an_empty_directory_serves_the_next_command_under_a_new_name, setup,
                        teardown),
                cmocka_unit_test_setup_teardown(
                        test_a_directory_is_not_kept_when_its_command_may_go_on, setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_a_directory_its_command_changed_is_removed_not_kept, setup, teardown),
                cmocka_unit_test_setup_teardown(test_a_kept_directory_serves_its_own_user_only,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_a_few_are_kept_and_none_stays_after_release,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_the_child_takes_a_kept_directory_as_it_is,
                                                setup, teardown),
        };
        return cmocka_run_group_tests_name("tmpdir", tests, NULL, NULL);
}

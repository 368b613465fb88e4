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

/* The next command's directory, as tmpdir_take gives it: whether it was
 * kept, its seal then in *seal. */
static bool take(struct harness *h, const struct spawn_creds *creds, char path[SPAWN_TMPDIR_MAX],
                 struct spawn_tmpdir_seal *seal) {
        int r = tmpdir_take(&h->tmpdirs, creds, path, SPAWN_TMPDIR_MAX, seal);

        assert_true(r == 0 || r == 1);
        return r == 1;
}

/* A command's directory as its child would make it, given back once over;
 * path gets its name. Whether it was one kept. */
static bool one_command(struct harness *h, const struct spawn_creds *creds, bool whole,
                        char path[SPAWN_TMPDIR_MAX]) {
        struct spawn_tmpdir_seal seal;
        bool kept = take(h, creds, path, &seal);

        if (!kept) {
                assert_int_equal(mkdir(path, 0700), 0);
                if (creds)
                        assert_int_equal(chown(path, creds->uid, creds->gid), 0);
        }
        assert_int_equal(tmpdir_remove(&h->tmpdirs, creds, path, whole), 0);
        settle(h);
        assert_false(exists(path)); /* whatever became of it, its name is gone */
        return kept;
}

static void test_an_empty_directory_serves_the_next_command_under_a_new_name(void **state) {
        struct harness *h = *state;
        char first[SPAWN_TMPDIR_MAX], next[SPAWN_TMPDIR_MAX];
        struct spawn_tmpdir_seal seal;
        struct stat st;

        if (!keeps(h))
                skip();
        assert_false(one_command(h, NULL, true, first));
        assert_int_equal(n_ready(&h->tmpdirs), 1);
        assert_true(take(h, NULL, next, &seal));
        assert_string_not_equal(next, first);
        assert_int_equal(strncmp(next, h->tmpdirs.path, strlen(h->tmpdirs.path)), 0);
        assert_int_equal(stat(next, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_int_equal(seal.ino, st.st_ino);
        assert_int_equal(seal.ctime_nsec, st.st_ctim.tv_nsec);
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
        struct spawn_tmpdir_seal seal;

        one_command(h, NULL, false, path);
        assert_int_equal(n_ready(&h->tmpdirs), 0);
        assert_int_equal(entries(&h->tmpdirs), 0);
        assert_false(take(h, NULL, path, &seal));
}

enum spoil {
        SPOIL_NONE,
        SPOIL_MODE,
        SPOIL_GROUP,
        SPOIL_FILE,
        SPOIL_SUBDIR,
        SPOIL_XATTR,
        SPOIL_FLAGS,
        SPOIL_LINK
};

/* What a command can do to its own directory; false where this file system
 * (or, for its group, a test without root) does not let it. */
static bool spoil(const char *path, enum spoil how) {
        char inside[SPAWN_TMPDIR_MAX + 8];
        int fd, flags = 0;
        bool done;

        snprintf(inside, sizeof inside, "%s/x", path);
        switch (how) {
        case SPOIL_NONE:
                return true;
        case SPOIL_MODE:
                return chmod(path, 0755) == 0;
        case SPOIL_GROUP:
                return chown(path, (uid_t) -1, OTHER_ID) == 0;
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
        case SPOIL_LINK:
                return rmdir(path) == 0 && symlink("/etc", path) == 0;
        }
        return false;
}

static const char *const spoil_names[] = {"nothing changed", "mode 0755",
                                          "another group",   "a file",
                                          "a directory",     "an extended attribute",
                                          "an inode flag",   "a link to /etc in its place"};

/* Anything a new directory would not be is removed, with what is in it;
 * one left as it was is kept. */
static void test_a_directory_its_command_changed_is_removed_not_kept(void **state) {
        struct harness *h = *state;
        char path[SPAWN_TMPDIR_MAX];
        struct spawn_tmpdir_seal seal;

        if (!keeps(h))
                skip();
        for (enum spoil how = SPOIL_NONE; how <= SPOIL_LINK; how++) {
                assert_false(take(h, NULL, path, &seal));
                assert_int_equal(mkdir(path, 0700), 0);
                if (!spoil(path, how)) {
                        printf("# %s: not here (%s)\n", spoil_names[how], strerror(errno));
                        assert_int_equal(rmdir(path), 0);
                        continue;
                }
                assert_int_equal(tmpdir_remove(&h->tmpdirs, NULL, path, true), 0);
                settle(h);
                if (how == SPOIL_NONE) {
                        assert_int_equal(n_ready(&h->tmpdirs), 1);
                        assert_true(take(h, NULL, path, &seal));
                        assert_int_equal(rmdir(path), 0);
                } else if (n_ready(&h->tmpdirs) != 0 || entries(&h->tmpdirs) != 0) {
                        fail_msg("a directory with %s was kept or left", spoil_names[how]);
                }
        }
        assert_int_equal(warned, 0);
}

/* Root only: one kept for another user's command is that user's alone. */
static void test_a_kept_directory_serves_its_own_user_only(void **state) {
        struct spawn_creds other = {.change = true, .uid = OTHER_ID, .gid = OTHER_ID};
        struct harness *h = *state;
        char path[SPAWN_TMPDIR_MAX];
        struct spawn_tmpdir_seal seal;
        struct stat st;

        if (geteuid() != 0) {
                printf("# skipped: making another user's directory needs root\n");
                skip();
        }
        if (!keeps(h))
                skip();
        one_command(h, &other, true, path);
        assert_int_equal(n_ready(&h->tmpdirs), 1);
        assert_false(take(h, NULL, path, &seal));
        assert_true(take(h, &other, path, &seal));
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_uid, OTHER_ID);
        assert_int_equal(seal.uid, OTHER_ID);
        assert_int_equal(tmpdir_remove(&h->tmpdirs, &other, path, false), 0);
        settle(h);
        assert_int_equal(entries(&h->tmpdirs), 0);
}

/* TMPDIR_READY at most, the newest: each new one makes the oldest go. All
 * go at release. */
static void test_the_newest_are_kept_and_none_stays_after_release(void **state) {
        struct harness *h = *state;
        char paths[TMPDIR_READY + 2][SPAWN_TMPDIR_MAX], base[sizeof h->tmpdirs.path];
        ino_t inos[TMPDIR_READY + 2];
        struct spawn_tmpdir_seal seal;
        struct stat st;

        if (!keeps(h))
                skip();
        for (size_t i = 0; i < TMPDIR_READY + 2; i++) {
                assert_false(take(h, NULL, paths[i], &seal));
                assert_int_equal(mkdir(paths[i], 0700), 0);
                assert_int_equal(stat(paths[i], &st), 0);
                inos[i] = st.st_ino;
        }
        for (size_t i = 0; i < TMPDIR_READY + 2; i++) {
                assert_int_equal(tmpdir_remove(&h->tmpdirs, NULL, paths[i], true), 0);
                settle(h);
        }
        assert_int_equal(n_ready(&h->tmpdirs), TMPDIR_READY);
        assert_int_equal(entries(&h->tmpdirs), TMPDIR_READY);
        /* The two given back first made way; the others are kept, oldest first. */
        for (size_t i = 0; i < TMPDIR_READY; i++)
                assert_int_equal(h->tmpdirs.ready[i].seal.ino, inos[i + 2]);
        memcpy(base, h->tmpdirs.path, sizeof base);
        assert_int_equal(tmpdir_release(&h->tmpdirs, USEC_PER_SEC), 0);
        assert_false(exists(base));
        assert_int_equal(warned, 0);
}

/* What the command sees of its TMPDIR (`stat` and `ls -A` of it), or why it
 * did not start (-errno). */
static int ls_tmpdir(struct spawn_env *env, const char *path, const struct spawn_tmpdir_seal *kept,
                     char *out, size_t size) {
        struct spawn_child child;
        siginfo_t si = {0};
        size_t got = 0;
        ssize_t n;
        int sv[2], r;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(
                spawn_command(env, "stat -c %a \"$TMPDIR\"; ls -A \"$TMPDIR\"",
                              &(struct spawn_io){
                                      .conn_fd = sv[1],
                                      .err_fd = -1,
                                      .cgroup_procs_fd = -1,
                                      .tmpdir = path,
                                      .tmpdir_kept = kept != NULL,
                                      .tmpdir_seal = kept ? *kept : (struct spawn_tmpdir_seal){0}},
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

/* A directory kept, then taken for a command, as the command's child gets
 * it; then a clock tick, so that a change moves its ctime on every kernel
 * (since Linux 6.13, any change does: timestamps are fine-grained once read). */
static void kept_one(struct harness *h, char path[SPAWN_TMPDIR_MAX], struct spawn_tmpdir_seal *seal) {
        assert_false(one_command(h, NULL, true, path));
        assert_true(take(h, NULL, path, seal));
        (void) usleep(20 * 1000);
}

/* The child starts its command in a kept directory only as it was sealed,
 * and empty: a process of its user that held it open may have changed it
 * since. It makes it again if gone, and refuses a new name that exists. */
static void test_the_child_takes_a_kept_directory_only_as_it_was_kept(void **state) {
        struct harness *h = *state;
        char path[SPAWN_TMPDIR_MAX], inside[SPAWN_TMPDIR_MAX + 8], out[256];
        struct spawn_tmpdir_seal seal;

        if (!keeps(h))
                skip();
        kept_one(h, path, &seal);
        assert_int_equal(ls_tmpdir(&h->env, path, &seal, out, sizeof out), 0);
        assert_string_equal(out, "700\n");
        assert_int_equal(rmdir(path), 0);
        /* Something put in it, even taken out again; a chmod and back. */
        kept_one(h, path, &seal);
        snprintf(inside, sizeof inside, "%s/planted", path);
        assert_int_equal(mkdir(inside, 0700), 0);
        assert_int_equal(ls_tmpdir(&h->env, path, &seal, out, sizeof out), -ESTALE);
        assert_int_equal(rmdir(inside), 0);
        assert_int_equal(ls_tmpdir(&h->env, path, &seal, out, sizeof out), -ESTALE);
        assert_int_equal(rmdir(path), 0);
        kept_one(h, path, &seal);
        assert_int_equal(chmod(path, 0755), 0);
        assert_int_equal(chmod(path, 0700), 0);
        assert_int_equal(ls_tmpdir(&h->env, path, &seal, out, sizeof out), -ESTALE);
        /* Another directory in its place (perhaps the same inode number). */
        assert_int_equal(rmdir(path), 0);
        kept_one(h, path, &seal);
        assert_int_equal(rmdir(path), 0);
        assert_int_equal(mkdir(path, 0700), 0);
        assert_int_equal(ls_tmpdir(&h->env, path, &seal, out, sizeof out), -ESTALE);
        /* Gone: made again. */
        assert_int_equal(rmdir(path), 0);
        kept_one(h, path, &seal);
        assert_int_equal(rmdir(path), 0);
        assert_int_equal(ls_tmpdir(&h->env, path, &seal, out, sizeof out), 0);
        assert_string_equal(out, "700\n");
        /* A new name that is there already. */
        assert_int_equal(ls_tmpdir(&h->env, path, NULL, out, sizeof out), -EEXIST);
        assert_int_equal(rmdir(path), 0);
}

/* Each part of the seal counts, and emptiness beside it: a seal that
 * differs in any one field, or a matching one on a directory with something
 * in it, is refused; the right one on the untouched directory starts. */
static void test_the_child_checks_every_part_of_the_seal(void **state) {
        struct harness *h = *state;
        char path[SPAWN_TMPDIR_MAX], inside[SPAWN_TMPDIR_MAX + 8], out[256];
        struct spawn_tmpdir_seal seal, other;
        struct stat st;

        if (!keeps(h))
                skip();
        kept_one(h, path, &seal);
        for (int field = 0; field < 6; field++) {
                other = seal;
                switch (field) {
                case 0:
                        other.ino++;
                        break;
                case 1:
                        other.ctime_sec--;
                        break;
                case 2:
                        other.ctime_nsec = (other.ctime_nsec + 1) % 1000000000;
                        break;
                case 3:
                        other.mode ^= 0070;
                        break;
                case 4:
                        other.uid++;
                        break;
                case 5:
                        other.gid++;
                        break;
                }
                if (ls_tmpdir(&h->env, path, &other, out, sizeof out) != -ESTALE)
                        fail_msg("a seal that differs in field %d was taken", field);
        }
        assert_int_equal(ls_tmpdir(&h->env, path, &seal, out, sizeof out), 0);
        assert_string_equal(out, "700\n");
        /* Sealed after something was put in it: the seal matches, but not empty. */
        snprintf(inside, sizeof inside, "%s/planted", path);
        assert_int_equal(mkdir(inside, 0700), 0);
        assert_int_equal(stat(path, &st), 0);
        seal = (struct spawn_tmpdir_seal){.ino = st.st_ino,
                                          .ctime_sec = st.st_ctim.tv_sec,
                                          .ctime_nsec = (uint32_t) st.st_ctim.tv_nsec,
                                          .mode = st.st_mode,
                                          .uid = st.st_uid,
                                          .gid = st.st_gid};
        assert_int_equal(ls_tmpdir(&h->env, path, &seal, out, sizeof out), -ESTALE);
        assert_int_equal(rmdir(inside), 0);
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
                cmocka_unit_test_setup_teardown(
                        test_the_newest_are_kept_and_none_stays_after_release, setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_the_child_takes_a_kept_directory_only_as_it_was_kept, setup, teardown),
                cmocka_unit_test_setup_teardown(test_the_child_checks_every_part_of_the_seal, setup,
                                                teardown),
        };
        return cmocka_run_group_tests_name("tmpdir", tests, NULL, NULL);
}

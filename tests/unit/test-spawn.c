/* SPDX-License-Identifier: MIT */
/* cmocka tests of spawn and its direct path: statuses, the environment, real spawns. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "direct.h"
#include "rawsys.h"
#include "spawn.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int status_of(int code, int status) {
        siginfo_t si = {.si_code = code, .si_status = status};
        return spawn_status_of(&si);
}

static void test_status_of_exit_and_signals(void **state) {
        (void) state;
        assert_int_equal(status_of(CLD_EXITED, 0), 0);
        assert_int_equal(status_of(CLD_EXITED, 3), 3);
        assert_int_equal(status_of(CLD_EXITED, 255), 255);
        assert_int_equal(status_of(CLD_KILLED, SIGKILL), 137);
        assert_int_equal(status_of(CLD_DUMPED, SIGSEGV), 139);
        assert_int_equal(status_of(CLD_KILLED, SIGTERM), 143);
        assert_int_equal(status_of(CLD_STOPPED, SIGSTOP), NBNET_STATUS_NOT_RUN);
}

static void test_env_is_a_logins_not_the_servers(void **state) {
        char *environ_[] = {"PATH=/server/bin",
                            "LISTEN_FDS=1",
                            "NOTIFY_SOCKET=/run/x",
                            "HOME=/root",
                            "LANG=C.UTF-8",
                            "LC_TIME=C",
                            "TZ=UTC",
                            "SECRET=1",
                            "KEEP=2",
                            "REMOTE_ADDR=10.0.0.1",
                            NULL};
        const char *const pass[] = {"KEEP", "MISSING"};
        const char *const set[] = {"HOME=/override", "X=1"};
        const struct spawn_login login = {
                .user = "u",
                .home = "/h",
                .shell = "/bin/sh",
                .pass_env = pass,
                .n_pass_env = 2,
                .setenv = set,
                .n_setenv = 2,
        };
        const char *want[] = {geteuid() == 0 ? SPAWN_PATH_ROOT : SPAWN_PATH,
                              "HOME=/override",
                              "USER=u",
                              "LOGNAME=u",
                              "SHELL=/bin/sh",
                              "LANG=C.UTF-8",
                              "LC_TIME=C",
                              "TZ=UTC",
                              "KEEP=2",
                              "X=1"};
        struct spawn_env env;
        (void) state;

        assert_int_equal(spawn_env_init(&env, &login, environ_), 0);
        assert_int_equal(env.count, sizeof want / sizeof want[0]);
        for (size_t i = 0; i < env.count; i++)
                assert_string_equal(env.envp[i], want[i]);
        assert_null(env.envp[env.count]);
        spawn_env_release(&env);
}

/* Runs command onto one end of a socketpair; returns its output and status. */
static int run_as(const struct spawn_login *login, const char *command,
                  const struct sock_peer *peer, char *out, size_t size, pid_t *ret_pid) {
        char *environ_[] = {"PATH=/usr/bin:/bin", "LISTEN_FDS=1", NULL};
        struct spawn_env env;
        struct spawn_child child;
        siginfo_t si = {0};
        size_t got = 0;
        int sv[2];
        ssize_t n;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        /* The child must get the connection in blocking mode whatever the server uses. */
        assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
        assert_int_equal(spawn_env_init(&env, login, environ_), 0);
        assert_int_equal(spawn_command(&env, command,
                                       &(struct spawn_io){.conn_fd = sv[1],
                                                          .conn_stdin = false,
                                                          .err_fd = -1,
                                                          .cgroup_procs_fd = -1,
                                                          .peer = peer},
                                       &child),
                         0);
        spawn_env_release(&env);
        close(sv[1]);
        while (got + 1 < size && (n = read(sv[0], out + got, size - got - 1)) > 0)
                got += (size_t) n;
        out[got] = '\0';
        close(sv[0]);
        assert_int_equal(waitid((idtype_t) P_PIDFD, (id_t) child.pidfd, &si, WEXITED), 0);
        close(child.pidfd);
        if (ret_pid)
                *ret_pid = child.pid;
        return spawn_status_of(&si);
}

static int run(const char *command, const struct sock_peer *peer, char *out, size_t size,
               pid_t *ret_pid) {
        return run_as(&(struct spawn_login){0}, command, peer, out, size, ret_pid);
}

/* With a stderr channel, fd 2 is the channel, in blocking mode, and fd 1 the connection. */
static void test_spawn_err_fd_is_fd_2(void **state) {
        struct spawn_env env;
        struct spawn_child child;
        siginfo_t si = {0};
        char out[64] = "", err[64] = "";
        int sv[2], ev[2];
        ssize_t n;
        (void) state;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ev), 0);
        assert_int_equal(fcntl(ev[1], F_SETFL, O_NONBLOCK), 0);
        assert_int_equal(spawn_env_init(&env, &(struct spawn_login){0}, environ), 0);
        assert_int_equal(spawn_command(&env,
                                       "echo out; echo err >&2; "
                                       "test $(($(cat /proc/self/fdinfo/2 | sed -n "
                                       "'s/^flags:\\s*//p') & 04000)) -eq 0 || echo nonblock",
                                       &(struct spawn_io){.conn_fd = sv[1],
                                                          .err_fd = ev[1],
                                                          .cgroup_procs_fd = -1},
                                       &child),
                         0);
        spawn_env_release(&env);
        close(sv[1]);
        close(ev[1]);
        n = read(sv[0], out, sizeof out - 1);
        assert_true(n > 0);
        n = read(ev[0], err, sizeof err - 1);
        assert_true(n > 0);
        assert_string_equal(out, "out\n");
        assert_string_equal(err, "err\n");
        close(sv[0]);
        close(ev[0]);
        assert_int_equal(waitid((idtype_t) P_PIDFD, (id_t) child.pidfd, &si, WEXITED), 0);
        close(child.pidfd);
        assert_int_equal(spawn_status_of(&si), 0);
}

static void test_spawn_runs_sh_c_onto_the_connection(void **state) {
        char out[256];
        (void) state;

        assert_int_equal(run("echo out; echo err >&2; exit 7", NULL, out, sizeof out, NULL), 7);
        assert_string_equal(out, "out\nerr\n");
}

static void test_spawn_gives_the_command_what_the_protocol_says(void **state) {
        struct sock_peer peer = {.addr = "192.0.2.1", .port = "4242"};
        char out[512], want[128];
        pid_t pid;
        (void) state;

        assert_int_equal(run("echo $REMOTE_ADDR $REMOTE_PORT ${LISTEN_FDS:-none}; "
                             "ls /proc/self/fd | sort -n | tr '\\n' ' '; echo; "
                             "cat; echo $$ $(ps -o sid= -o pgid= -p $$); "
                             "python3 -c 'import os; print(os.get_blocking(1))'",
                             &peer, out, sizeof out, &pid),
                         0);
        snprintf(want, sizeof want, "192.0.2.1 4242 none\n0 1 2 3 \n%d %d %d\nTrue\n", pid, pid, pid);
        assert_string_equal(out, want);
}

static void test_spawn_without_peer_sets_no_remote_variables(void **state) {
        char out[64];
        (void) state;

        assert_int_equal(run("echo ${REMOTE_ADDR:-unset}", NULL, out, sizeof out, NULL), 0);
        assert_string_equal(out, "unset\n");
}

static void test_spawn_with_the_connection_on_fd_0(void **state) {
        char *environ_[] = {NULL};
        struct spawn_env env;
        struct spawn_child child;
        siginfo_t si = {0};
        char out[64] = "";
        int sv[2], saved;
        ssize_t n;
        (void) state;

        /* inetd: the connection is fd 0, and must end up on 1 and 2 with 0 /dev/null. */
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        saved = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 10);
        assert_true(saved >= 0);
        assert_int_equal(dup2(sv[1], STDIN_FILENO), STDIN_FILENO);
        assert_int_equal(spawn_env_init(&env, &(struct spawn_login){0}, environ_), 0);
        assert_int_equal(spawn_command(&env, "cat; echo fd0ok; echo e >&2",
                                       &(struct spawn_io){.conn_fd = STDIN_FILENO,
                                                          .conn_stdin = false,
                                                          .err_fd = -1,
                                                          .cgroup_procs_fd = -1,

                                                          .peer = NULL},
                                       &child),
                         0);
        spawn_env_release(&env);
        assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
        close(saved);
        close(sv[1]);
        n = read(sv[0], out, sizeof out - 1);
        assert_true(n > 0);
        assert_int_equal(waitid((idtype_t) P_PIDFD, (id_t) child.pidfd, &si, WEXITED), 0);
        close(child.pidfd);
        close(sv[0]);
        assert_int_equal(spawn_status_of(&si), 0);
        assert_true(strncmp(out, "fd0ok\n", 6) == 0);
}

/* With conn_stdin the connection is fd 0 as well: what the peer sends is the
 * command's input, its shutdown(SHUT_WR) the command's EOF; by the shell and
 * by the direct path alike, and with the connection on any fd (inetd: 0). */
static void test_stdin_is_the_connection_when_asked(void **state) {
        static const char *const commands[] = {"wc -c", "cat | wc -c"};
        char *environ_[] = {"PATH=/usr/bin:/bin", NULL};
        (void) state;

        for (size_t i = 0; i < 2 * sizeof commands / sizeof commands[0]; i++) {
                const char *command = commands[i / 2];
                bool inetd = i % 2 == 1;
                struct spawn_env env;
                struct spawn_child child;
                siginfo_t si = {0};
                char out[64] = "";
                int sv[2], saved = -1, conn;
                ssize_t n;

                assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
                conn = sv[1];
                if (inetd) {
                        saved = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 10);
                        assert_true(saved >= 0);
                        assert_int_equal(dup2(sv[1], STDIN_FILENO), STDIN_FILENO);
                        conn = STDIN_FILENO;
                }
                assert_int_equal(spawn_env_init(&env, &(struct spawn_login){0}, environ_), 0);
                assert_int_equal(spawn_command(&env, command,
                                               &(struct spawn_io){.conn_fd = conn,
                                                                  .conn_stdin = true,
                                                                  .err_fd = -1,
                                                                  .cgroup_procs_fd = -1,

                                                                  .peer = NULL},
                                               &child),
                                 0);
                spawn_env_release(&env);
                if (inetd) {
                        assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
                        close(saved);
                }
                close(sv[1]);
                assert_int_equal(write(sv[0], "hello", 5), 5);
                assert_int_equal(shutdown(sv[0], SHUT_WR), 0);
                n = read(sv[0], out, sizeof out - 1);
                assert_true(n > 0);
                assert_int_equal(waitid((idtype_t) P_PIDFD, (id_t) child.pidfd, &si, WEXITED), 0);
                close(child.pidfd);
                close(sv[0]);
                assert_int_equal(spawn_status_of(&si), 0);
                assert_string_equal(out, "5\n");
        }
}

/* As root: the command runs as 65534:65534 with that group alone and no
 * capability, by the shell and by the direct path alike. */
static void test_spawn_switches_user_and_drops_capabilities(void **state) {
        static const char *const commands[] = {
                "id -u; id -g; id -G; grep CapEff /proc/self/status; grep CapInh /proc/self/status",
                "grep -e ^Uid -e ^Gid -e ^Groups -e ^CapEff -e ^CapInh -e ^CapAmb "
                "/proc/self/status"};
        static const char *const want[] = {
                "65534\n65534\n65534\nCapEff:\t0000000000000000\nCapInh:\t0000000000000000\n",
                "Uid:\t65534\t65534\t65534\t65534\nGid:\t65534\t65534\t65534\t65534\n"
                "Groups:\t65534 \nCapInh:\t0000000000000000\nCapEff:\t0000000000000000\n"
                "CapAmb:\t0000000000000000\n"};
        struct spawn_login login = {
                .creds = {.change = true,
                          .drop_caps = true,
                          .uid = 65534,
                          .gid = 65534,
                          .n_groups = 1,
                          .groups = {65534}},
                .user = "nobody",
        };
        char out[512];
        (void) state;

        if (geteuid() != 0)
                skip(); /* switching users needs root */
        assert_int_equal(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), 0);
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
                assert_int_equal(run_as(&login, commands[i], NULL, out, sizeof out, NULL), 0);
                assert_string_equal(out, want[i]);
                /* The child shared our memory when it switched (the shell's
                 * child does): we stay dumpable, our /proc/PID ours. */
                assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
        }
}

static void test_kill_group_reaches_background_children(void **state) {
        char out[64];
        pid_t pid;
        (void) state;

        /* The group outlives the main process while the background child runs. */
        assert_int_equal(run("sleep 30 & echo started", NULL, out, 8, &pid), 0);
        assert_true(spawn_group_alive(pid));
        assert_int_equal(spawn_kill_group(pid, SIGKILL), 0);
        for (int i = 0; i < 200 && spawn_group_alive(pid); i++) {
                spawn_reap_group(pid);
                usleep(10000);
        }
        assert_false(spawn_group_alive(pid));
        assert_int_equal(spawn_kill_group(pid, SIGTERM), -ESRCH);
        (void) out;
}

static void test_signal_note_is_the_shells(void **state) {
        char note[DIRECT_NOTE_SIZE];
        siginfo_t term = {.si_code = CLD_KILLED, .si_status = SIGTERM};
        siginfo_t segv = {.si_code = CLD_DUMPED, .si_status = SIGSEGV};
        siginfo_t rt = {.si_code = CLD_KILLED, .si_status = SIGRTMIN + 2};
        siginfo_t intr = {.si_code = CLD_KILLED, .si_status = SIGINT};
        siginfo_t pipe_ = {.si_code = CLD_KILLED, .si_status = SIGPIPE};
        siginfo_t exited = {.si_code = CLD_EXITED, .si_status = SIGTERM};

        (void) state;
        assert_int_equal(direct_signal_note(&term, note), strlen("Terminated\n"));
        assert_memory_equal(note, "Terminated\n", strlen("Terminated\n"));
        assert_int_equal(direct_signal_note(&segv, note),
                         strlen("Segmentation fault (core dumped)\n"));
        assert_memory_equal(note, "Segmentation fault (core dumped)\n", 32);
        assert_true(direct_signal_note(&rt, note) > 0);
        assert_memory_equal(note, "Real-time signal 2\n", strlen("Real-time signal 2\n"));
        assert_int_equal(direct_signal_note(&intr, note), 0);
        assert_int_equal(direct_signal_note(&pipe_, note), 0);
        assert_int_equal(direct_signal_note(&exited, note), 0);
}

/* Whether COMMAND ran without the shell, and its status. */
static bool ran_direct(const char *command, bool always_shell, int *status) {
        char *environ_[] = {"PATH=/usr/bin:/bin", NULL};
        struct spawn_env env;
        struct spawn_child child;
        siginfo_t si = {0};
        int sv[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(spawn_env_init(&env, &(struct spawn_login){0}, environ_), 0);
        env.always_shell = always_shell;
        assert_int_equal(spawn_command(&env, command,
                                       &(struct spawn_io){.conn_fd = sv[1],
                                                          .conn_stdin = false,
                                                          .err_fd = -1,
                                                          .cgroup_procs_fd = -1,

                                                          .peer = NULL},
                                       &child),
                         0);
        spawn_env_release(&env);
        close(sv[1]);
        assert_int_equal(waitid((idtype_t) P_PIDFD, (id_t) child.pidfd, &si, WEXITED), 0);
        close(child.pidfd);
        close(sv[0]);
        *status = spawn_status_of(&si);
        return child.direct;
}

/* A process that kills us (SIGKILL) after seconds unless watchdog_stop()
 * ends it first: a spawn that waits for ever fails the test so. alarm()
 * cannot: spawn_command blocks every signal while it waits. */
static pid_t watchdog_start(unsigned seconds) {
        pid_t me = getpid(), pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                sleep(seconds);
                (void) kill(me, SIGKILL);
                _exit(0);
        }
        return pid;
}

static void watchdog_stop(pid_t pid) {
        assert_int_equal(kill(pid, SIGKILL), 0);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
}

/* Stops every child of parent's but itself and spare, for up to 10 s: a
 * stopper of another process. Exits 0 once it stopped one. */
static _Noreturn void stop_children_of(pid_t parent, pid_t spare) {
        char path[64], list[256];
        int stopped = 0;

        snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int) parent, (int) parent);
        for (int i = 0; i < 10000 && !stopped; i++) {
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                ssize_t n = fd < 0 ? -1 : read(fd, list, sizeof list - 1);
                if (fd >= 0)
                        close(fd);
                if (n < 0)
                        _exit(2);
                list[n] = '\0';
                for (char *p = list, *end; *p; p = end) {
                        long pid = strtol(p, &end, 10);
                        if (end == p)
                                break;
                        if (pid != getpid() && pid != spare && kill((pid_t) pid, SIGSTOP) == 0)
                                stopped = 1;
                }
                usleep(1000);
        }
        _exit(stopped ? 0 : 1);
}

/* A socketpair for the connection and a pipe made full, given as the
 * child's cgroup.procs: its first write blocks there, before its exec. */
static void hold_before_exec(int sv[2], int full[2]) {
        char fill[4096] = "";

        if (!RAWSYS_NATIVE)
                skip(); /* the child is a vfork's there: the spawn itself would hang */
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(pipe2(full, O_CLOEXEC | O_NONBLOCK), 0);
        while (write(full[1], fill, sizeof fill) > 0)
                ;
        assert_int_equal(errno, EAGAIN);
        assert_int_equal(fcntl(full[1], F_SETFL, 0), 0);
}

/* Spawns a command that gets as far as its cgroup.procs, fd. */
static void spawn_held(struct spawn_env *env, int conn_fd, int fd, struct spawn_child *child) {
        assert_int_equal(
                spawn_command(
                        env, "echo not reached",
                        &(struct spawn_io){.conn_fd = conn_fd, .err_fd = -1, .cgroup_procs_fd = fd},
                        child),
                0);
}

/* The next spawn: by then the held one has been looked at. */
static void spawn_true(struct spawn_env *env, int conn_fd) {
        struct spawn_child child;

        assert_int_equal(
                spawn_command(
                        env, "true",
                        &(struct spawn_io){.conn_fd = conn_fd, .err_fd = -1, .cgroup_procs_fd = -1},
                        &child),
                0);
        assert_int_equal(waitid((idtype_t) P_PIDFD, (id_t) child.pidfd, &(siginfo_t){0}, WEXITED), 0);
        assert_int_equal(spawn_child_started(env, &child), 0);
        close(child.pidfd);
}

/* The held child was killed before it started: its start says why (want). */
static void assert_killed_before_start(struct spawn_env *env, struct spawn_child *child, int want) {
        siginfo_t si = {0};

        assert_int_equal(waitid((idtype_t) P_PIDFD, (id_t) child->pidfd, &si, WEXITED), 0);
        assert_int_equal(si.si_code, CLD_KILLED);
        assert_int_equal(spawn_child_started(env, child), want);
        close(child->pidfd);
}

/* The end of a test of held children: nothing left (every child reaped
 * too), the descriptors closed. */
static void release_held(struct spawn_env *env, int sv[2], int full[2]) {
        siginfo_t si = {0};

        spawn_env_release(env);
        assert_int_equal(waitid(P_ALL, 0, &si, WEXITED | WNOHANG), -1);
        assert_int_equal(errno, ECHILD);
        close(full[0]);
        close(full[1]);
        close(sv[0]);
        close(sv[1]);
}

/* A child stopped before its exec (by a process of the user it runs as,
 * which may signal it once it switched) would hold its launch pad for ever:
 * the next spawn finds it stopped and kills it, and its start fails with
 * -ECANCELED. Here it is held in its first step, the write to the
 * cgroup.procs it is given (a full pipe), while a process of ours stops it. */
static void test_a_child_stopped_before_its_exec_is_killed(void **state) {
        struct spawn_env env;
        struct spawn_child child = {.pid = -1};
        int sv[2], full[2], status = -1;
        pid_t stopper, watchdog, me = getpid();
        (void) state;

        hold_before_exec(sv, full);
        /* A wait for ever fails here, killed by it. */
        watchdog = watchdog_start(30);
        assert_int_equal(spawn_env_init(&env, &(struct spawn_login){0}, NULL), 0);
        stopper = fork();
        assert_true(stopper >= 0);
        if (stopper == 0)
                stop_children_of(me, watchdog);
        spawn_held(&env, sv[1], full[1], &child);
        assert_int_equal(waitpid(stopper, &status, 0), stopper);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        /* Looked at once it has been starting for a while (20 ms). */
        usleep(50 * 1000);
        spawn_true(&env, sv[1]);
        assert_killed_before_start(&env, &child, -ECANCELED);
        watchdog_stop(watchdog);
        release_held(&env, sv, full);
}

/* A child that does not start its program within the deadline, whatever
 * its state (traced, frozen, hung: none of which waitid() reports to us),
 * is killed at the first look after it, and its start fails with
 * -ETIMEDOUT. Here it hangs in its first step, the write to a full pipe
 * given as its cgroup.procs, and nothing stops it. */
static void test_a_child_hung_before_its_exec_is_killed_at_the_deadline(void **state) {
        struct spawn_env env;
        struct spawn_child child = {.pid = -1};
        siginfo_t si = {0};
        int sv[2], full[2];
        pid_t watchdog;
        (void) state;

        hold_before_exec(sv, full);
        watchdog = watchdog_start(60);
        assert_int_equal(spawn_env_init(&env, &(struct spawn_login){0}, NULL), 0);
        spawn_held(&env, sv[1], full[1], &child);
        /* Before the deadline, a look leaves it be. */
        usleep(100 * 1000);
        spawn_true(&env, sv[1]);
        assert_int_equal(
                waitid((idtype_t) P_PIDFD, (id_t) child.pidfd, &si, WEXITED | WNOHANG | WNOWAIT), 0);
        assert_int_equal(si.si_pid, 0);
        sleep(SPAWN_START_DEADLINE_SEC);
        spawn_true(&env, sv[1]);
        assert_killed_before_start(&env, &child, -ETIMEDOUT);
        watchdog_stop(watchdog);
        release_held(&env, sv, full);
}

/* With every launch pad held by a child that hangs before its exec, the
 * next spawn waits for the oldest, which the deadline kills: a wait that
 * ends, never one for ever. */
static void test_a_spawn_with_every_pad_held_waits_for_the_deadline_only(void **state) {
        struct spawn_env env;
        struct spawn_child held[LAUNCHPAD_MAX];
        struct timespec t0, t1;
        siginfo_t si = {0};
        int sv[2], full[2];
        pid_t watchdog;
        double waited;
        (void) state;

        hold_before_exec(sv, full);
        watchdog = watchdog_start(60);
        assert_int_equal(spawn_env_init(&env, &(struct spawn_login){0}, NULL), 0);
        for (size_t i = 0; i < LAUNCHPAD_MAX; i++)
                spawn_held(&env, sv[1], full[1], &held[i]);
        assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &t0), 0);
        spawn_true(&env, sv[1]);
        assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &t1), 0);
        waited = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
        /* Not long before the deadline (a generous bound after it: a loaded machine). */
        assert_true(waited >= SPAWN_START_DEADLINE_SEC - 1 && waited < SPAWN_START_DEADLINE_SEC + 20);
        assert_killed_before_start(&env, &held[0], -ETIMEDOUT);
        /* The others, once the pipe has room, start and print. */
        assert_int_equal(fcntl(full[0], F_SETFL, O_NONBLOCK), 0);
        for (size_t i = 1; i < LAUNCHPAD_MAX; i++) {
                char drain[8192];
                while (waitid((idtype_t) P_PIDFD, (id_t) held[i].pidfd, &si,
                              WEXITED | WNOHANG | WNOWAIT) == 0 &&
                       si.si_pid == 0)
                        if (read(full[0], drain, sizeof drain) <= 0)
                                usleep(1000);
                assert_int_equal(waitid((idtype_t) P_PIDFD, (id_t) held[i].pidfd, &si, WEXITED), 0);
                assert_int_equal(si.si_code, CLD_EXITED);
                assert_int_equal(si.si_status, 0);
                assert_int_equal(spawn_child_started(&env, &held[i]), 0);
                close(held[i].pidfd);
        }
        watchdog_stop(watchdog);
        release_held(&env, sv, full);
}

/* The children's stacks have a page below them that faults (/proc/self/maps
 * says ---p for the mapping that ends where a stack starts), and go at
 * release. */
static void test_the_child_stack_has_a_guard_page_below_it(void **state) {
        struct spawn_env env;
        char line[512], perms[8];
        unsigned long start, end, below = 0, stack;
        bool found = false;
        FILE *maps;
        int sv[2];
        (void) state;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(spawn_env_init(&env, &(struct spawn_login){0}, NULL), 0);
        spawn_true(&env, sv[1]);
        assert_non_null(env.pads.pad[0].map);
        stack = (unsigned long) (uintptr_t) (env.pads.pad[0].stack_top - LAUNCHPAD_STACK_SIZE);
        maps = fopen("/proc/self/maps", "re");
        assert_non_null(maps);
        while (fgets(line, sizeof line, maps))
                if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) == 3 && end == stack &&
                    strcmp(perms, "---p") == 0) {
                        found = true;
                        below = start;
                }
        fclose(maps);
        assert_true(found);
        assert_true(below < stack);
        spawn_env_release(&env);
        assert_null(env.pads.pad[0].map);
        close(sv[0]);
        close(sv[1]);
}

static void test_a_plain_line_runs_without_the_shell(void **state) {
        int status;

        (void) state;
        assert_true(ran_direct("/bin/true", false, &status));
        assert_int_equal(status, 0);
        assert_true(ran_direct(" \t/bin/false  ", false, &status));
        assert_int_equal(status, 1);
        assert_true(ran_direct("ls -d /", false, &status));
        assert_int_equal(status, 0);
        assert_false(ran_direct("/bin/true", true, &status));
        assert_int_equal(status, 0);
        /* A builtin, shell syntax, nothing in PATH: the shell. */
        assert_false(ran_direct("true", false, &status));
        assert_false(ran_direct("/bin/true;", false, &status));
        assert_false(ran_direct("nosuchcommand-nbnet", false, &status));
        assert_int_equal(status, 127);
        /* Found but not executable (a directory): the mini-shell's execve()
         * fails and it runs the shell, whose status (126) is no execve's. */
        assert_true(ran_direct("/", false, &status));
        assert_int_equal(status, 126);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_status_of_exit_and_signals),
                cmocka_unit_test(test_env_is_a_logins_not_the_servers),
                cmocka_unit_test(test_spawn_runs_sh_c_onto_the_connection),
                cmocka_unit_test(test_spawn_err_fd_is_fd_2),
                cmocka_unit_test(test_spawn_gives_the_command_what_the_protocol_says),
                cmocka_unit_test(test_spawn_without_peer_sets_no_remote_variables),
                cmocka_unit_test(test_spawn_with_the_connection_on_fd_0),
                cmocka_unit_test(test_stdin_is_the_connection_when_asked),
                cmocka_unit_test(test_spawn_switches_user_and_drops_capabilities),
                cmocka_unit_test(test_kill_group_reaches_background_children),
                cmocka_unit_test(test_signal_note_is_the_shells),
                cmocka_unit_test(test_a_plain_line_runs_without_the_shell),
                cmocka_unit_test(test_the_child_stack_has_a_guard_page_below_it),
                cmocka_unit_test(test_a_child_stopped_before_its_exec_is_killed),
                cmocka_unit_test(test_a_child_hung_before_its_exec_is_killed_at_the_deadline),
                cmocka_unit_test(test_a_spawn_with_every_pad_held_waits_for_the_deadline_only),
        };
        /* Orphans of a killed group become ours, so that spawn_reap_group can reap them. */
        prctl(PR_SET_CHILD_SUBREAPER, 1);
        return cmocka_run_group_tests_name("spawn", tests, NULL, NULL);
}

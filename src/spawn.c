/* SPDX-License-Identifier: MIT */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHELL "/bin/sh"

/* Variables that describe the server's activation, not the command's. */
static bool spawn_env_is_activation(const char *var) {
        static const char *const prefixes[] = {"LISTEN_", "NOTIFY_SOCKET=", "WATCHDOG_"};

        for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
                if (strncmp(var, prefixes[i], strlen(prefixes[i])) == 0)
                        return true;
        return strncmp(var, "REMOTE_ADDR=", 12) == 0 || strncmp(var, "REMOTE_PORT=", 12) == 0;
}

int spawn_env_init(struct spawn_env *env, char *const *environ_) {
        size_t n = 0;

        *env = (struct spawn_env){0};
        while (environ_ && environ_[n])
                n++;
        env->envp = calloc(n + 3, sizeof(char *));
        if (!env->envp)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!spawn_env_is_activation(environ_[i]))
                        env->envp[env->count++] = environ_[i];
        return 0;
}

void spawn_env_release(struct spawn_env *env) {
        free(env->envp);
        env->envp = NULL;
}

static void spawn_env_set_peer(struct spawn_env *env, const struct sock_peer *peer) {
        size_t n = env->count;

        if (peer && peer->addr[0]) {
                snprintf(env->remote_addr, sizeof env->remote_addr, "REMOTE_ADDR=%s", peer->addr);
                snprintf(env->remote_port, sizeof env->remote_port, "REMOTE_PORT=%s", peer->port);
                env->envp[n++] = env->remote_addr;
                env->envp[n++] = env->remote_port;
        }
        env->envp[n] = NULL;
}

/* dup2() shares the file status flags: the child must not inherit O_NONBLOCK. */
static int spawn_make_blocking(int fd) {
        int flags = fcntl(fd, F_GETFL);

        if (flags < 0)
                return -errno;
        if ((flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
                return -errno;
        return 0;
}

/* The order matters when conn_fd is 0, 1 or 2 (inetd): the connection is
 * copied to 1 and 2 before fd 0 is replaced by /dev/null. */
static int spawn_file_actions(posix_spawn_file_actions_t *fa, int conn_fd) {
        int r = posix_spawn_file_actions_init(fa);

        if (r)
                return -r;
        if ((r = posix_spawn_file_actions_adddup2(fa, conn_fd, STDOUT_FILENO)) ||
            (r = posix_spawn_file_actions_adddup2(fa, conn_fd, STDERR_FILENO)) ||
            (r = posix_spawn_file_actions_addopen(fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0)) ||
            (r = posix_spawn_file_actions_addclosefrom_np(fa, STDERR_FILENO + 1))) {
                posix_spawn_file_actions_destroy(fa);
                return -r;
        }
        return 0;
}

static int spawn_attributes(posix_spawnattr_t *attr) {
        sigset_t all, none;
        int r = posix_spawnattr_init(attr);

        if (r)
                return -r;
        /* glibc's sigfillset() leaves out its internal signals (32, 33), and its
         * posix_spawn then passes them on ignored: set every bit instead. */
        memset(&all, 0xff, sizeof all);
        sigemptyset(&none);
        if ((r = posix_spawnattr_setsigdefault(attr, &all)) ||
            (r = posix_spawnattr_setsigmask(attr, &none)) ||
            (r = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
                                                        POSIX_SPAWN_SETSID))) {
                posix_spawnattr_destroy(attr);
                return -r;
        }
        return 0;
}

static int spawn_pidfd_open(pid_t pid) {
        long fd = syscall(SYS_pidfd_open, pid, 0);

        return fd < 0 ? -errno : (int) fd;
}

int spawn_command(struct spawn_env *env, const char *command, int conn_fd,
                  const struct sock_peer *peer, struct spawn_child *ret) {
        char *argv[] = {(char *) "sh", (char *) "-c", (char *) command, NULL};
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        pid_t pid;
        int r, pidfd;

        r = spawn_make_blocking(conn_fd);
        if (r < 0)
                return r;
        r = spawn_file_actions(&fa, conn_fd);
        if (r < 0)
                return r;
        r = spawn_attributes(&attr);
        if (r < 0) {
                posix_spawn_file_actions_destroy(&fa);
                return r;
        }
        spawn_env_set_peer(env, peer);
        /* glibc's posix_spawn is vfork-like: exec has happened (or failed) on return. */
        r = -posix_spawn(&pid, SHELL, &fa, &attr, argv, env->envp);
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&fa);
        if (r < 0)
                return r;

        pidfd = spawn_pidfd_open(pid);
        if (pidfd < 0) {
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return pidfd;
        }
        *ret = (struct spawn_child){.pid = pid, .pidfd = pidfd};
        return 0;
}

int spawn_kill_group(pid_t pid, int sig) {
        return kill(-pid, sig) < 0 ? -errno : 0;
}

bool spawn_group_alive(pid_t pid) {
        return kill(-pid, 0) == 0 || errno == EPERM;
}

void spawn_reap_group(pid_t pid) {
        for (;;) {
                siginfo_t si = {0};
                if (waitid(P_PGID, (id_t) pid, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
                        return;
        }
}

int spawn_status_of(const siginfo_t *si) {
        switch (si->si_code) {
        case CLD_EXITED:
                return si->si_status & 0xff;
        case CLD_KILLED:
        case CLD_DUMPED:
                return 128 + si->si_status;
        default:
                return SPAWN_STATUS_NOT_RUN;
        }
}

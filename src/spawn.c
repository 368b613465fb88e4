/* SPDX-License-Identifier: MIT */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

/* Resource limits, hard as well as soft, so that the command cannot raise them. */
static int spawn_apply_limits(const struct spawn_limits *l) {
        const struct {
                __rlimit_resource_t resource; /* glibc types the resource as an enum */
                rlim_t value;
        } limits[] = {
                {RLIMIT_CPU, l->cpu},
                {RLIMIT_AS, l->as},
                {RLIMIT_NPROC, l->nproc},
                {RLIMIT_FSIZE, l->fsize},
        };

        for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
                struct rlimit rl = {limits[i].value, limits[i].value};
                /* At the soft CPU limit the kernel sends SIGXCPU, at the hard one
                 * SIGKILL: a second apart, so that the status says why (152). */
                if (limits[i].resource == RLIMIT_CPU)
                        rl.rlim_max++;
                if (limits[i].value != 0 && setrlimit(limits[i].resource, &rl) < 0)
                        return -errno;
        }
        return 0;
}

/* fd 1 and 2 the connection, fd 0 /dev/null, nothing else. The order matters
 * when conn_fd is 0, 1 or 2 (inetd): the connection is copied to 1 and 2
 * before fd 0 is replaced. dup2(fd, fd) keeps FD_CLOEXEC, so clear it then. */
static int spawn_child_fds(int conn_fd) {
        for (int fd = STDOUT_FILENO; fd <= STDERR_FILENO; fd++) {
                if (conn_fd == fd ? fcntl(fd, F_SETFD, 0) < 0 : dup2(conn_fd, fd) < 0)
                        return -errno;
        }
        int null_fd = open("/dev/null", O_RDONLY);
        if (null_fd < 0)
                return -errno;
        if (null_fd != STDIN_FILENO) {
                if (dup2(null_fd, STDIN_FILENO) < 0)
                        return -errno;
                (void) close(null_fd);
        }
        if (close_range(STDERR_FILENO + 1, ~0U, 0) < 0)
                return -errno;
        return 0;
}

/* glibc refuses sigaction() on the signals it reserves (32, 33), and its own
 * posix_spawn, which make and others use, passes them on ignored: reset them
 * with the system call. The kernel's struct, for SIG_DFL: handler, flags,
 * restorer, mask. SIGKILL and SIGSTOP fail here too, harmlessly. */
static void spawn_default_reserved_signal(int sig) {
        struct {
                void *handler;
                unsigned long flags;
                void *restorer;
                uint64_t mask;
        } ksa = {.handler = SIG_DFL};

        (void) syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof ksa.mask);
}

/* Runs in the vfork() child, on the parent's memory: only system calls, and
 * an error goes back through *err. Every signal is blocked on entry. */
static void spawn_child(const struct spawn_env *env, char *const argv[], int conn_fd,
                        volatile int *err) {
        struct sigaction dfl = {.sa_handler = SIG_DFL};
        sigset_t none;
        int r;

        /* Handlers are reset by execve, ignored signals (SIGPIPE) are not. */
        for (int sig = 1; sig < NSIG; sig++)
                if (sigaction(sig, &dfl, NULL) < 0 && errno == EINVAL)
                        spawn_default_reserved_signal(sig);
        if (setsid() < 0)
                r = -errno;
        else if ((r = spawn_apply_limits(&env->limits)) >= 0 && (r = spawn_child_fds(conn_fd)) >= 0) {
                sigemptyset(&none);
                (void) sigprocmask(SIG_SETMASK, &none, NULL);
                execve(SHELL, argv, env->envp);
                r = -errno;
        }
        *err = r;
        _exit(127);
}

static int spawn_pidfd_open(pid_t pid) {
        long fd = syscall(SYS_pidfd_open, pid, 0);

        return fd < 0 ? -errno : (int) fd;
}

int spawn_command(struct spawn_env *env, const char *command, int conn_fd,
                  const struct sock_peer *peer, struct spawn_child *ret) {
        char *argv[] = {(char *) "sh", (char *) "-c", (char *) command, NULL};
        volatile int err = 0;
        sigset_t all, saved;
        pid_t pid;
        int r, pidfd;

        r = spawn_make_blocking(conn_fd);
        if (r < 0)
                return r;
        spawn_env_set_peer(env, peer);
        /* No handler of ours may run in the child while it shares our memory. */
        sigfillset(&all);
        r = -pthread_sigmask(SIG_SETMASK, &all, &saved);
        if (r < 0)
                return r;
        /* vfork: no page tables copied; we resume once the child has exec'd or died. */
        pid = vfork();
        if (pid == 0)
                spawn_child(env, argv, conn_fd, &err);
        r = pid < 0 ? -errno : err;
        (void) pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (r < 0) {
                if (pid > 0)
                        (void) waitpid(pid, NULL, 0);
                return r;
        }

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

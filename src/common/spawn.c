/* SPDX-License-Identifier: MIT */
/* The process plumbing of a command: its environment, fds, limits, signals, clone, group. */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h> /* capset(): glibc has no wrapper */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "direct.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define SPAWN_HAVE_VALGRIND_H 1
#endif
#endif
#ifndef SPAWN_HAVE_VALGRIND_H
#define SPAWN_HAVE_VALGRIND_H 0
#endif

/* Slots after the login's variables: TMPDIR, REMOTE_ADDR, REMOTE_PORT, the NULL. */
#define SPAWN_ENV_PER_COMMAND 4
/* The per-command entries' bits, for direct_plan(). */
#define SPAWN_HAS_TMPDIR 1u
#define SPAWN_HAS_PEER 6u

static size_t spawn_env_name_len(const char *entry) {
        return strcspn(entry, "=");
}

/* Adds ENTRY (NAME=VALUE), or puts it in the place of an entry of that name. */
static void spawn_env_put(struct spawn_env *env, char *entry) {
        size_t n = spawn_env_name_len(entry);

        for (size_t i = 0; i < env->count; i++)
                if (env->envp[i] && spawn_env_name_len(env->envp[i]) == n &&
                    memcmp(env->envp[i], entry, n) == 0) {
                        env->envp[i] = entry;
                        return;
                }
        env->envp[env->count++] = entry;
}

/* The server's locale and time zone, which a login would have too. */
static bool spawn_env_is_locale(const char *var) {
        return strncmp(var, "LANG=", 5) == 0 || strncmp(var, "LANGUAGE=", 9) == 0 ||
               strncmp(var, "LC_", 3) == 0 || strncmp(var, "TZ=", 3) == 0;
}

/* The server's entry NAME=..., or NULL. */
static char *spawn_env_find(char *const *environ_, const char *name) {
        size_t n = strlen(name);

        for (size_t i = 0; environ_ && environ_[i]; i++)
                if (strncmp(environ_[i], name, n) == 0 && environ_[i][n] == '=')
                        return environ_[i];
        return NULL;
}

/* "NAME=value" in a string of its own, kept in login_vars[slot] with room
 * for a value of room bytes, and in login_defaults[slot]; none for no value. */
static int spawn_env_login_var(struct spawn_env *env, size_t slot, const char *name,
                               const char *value, size_t room) {
        size_t len;

        if (!value)
                return 0;
        if (asprintf(&env->login_defaults[slot], "%s=%s", name, value) < 0) {
                env->login_defaults[slot] = NULL;
                return -ENOMEM;
        }
        len = strlen(env->login_defaults[slot]) + 1;
        env->login_vars[slot] = malloc(len > strlen(name) + 1 + room ? len : strlen(name) + 1 + room);
        if (!env->login_vars[slot])
                return -ENOMEM;
        memcpy(env->login_vars[slot], env->login_defaults[slot], len);
        spawn_env_put(env, env->login_vars[slot]);
        return 0;
}

/* PATH, root's or a user's, in its slot. */
static void spawn_env_set_path(struct spawn_env *env, bool root) {
        memcpy(env->path, root ? SPAWN_PATH_ROOT : SPAWN_PATH,
               root ? sizeof SPAWN_PATH_ROOT : sizeof SPAWN_PATH);
}

/* The login's variables of the command's own user u, or again the command
 * user's (u NULL), written in place: the direct path's environment points
 * at the same strings. */
static void spawn_env_set_user(struct spawn_env *env, const struct spawn_user *u) {
        if (!u && !env->login_replaced)
                return;
        for (size_t i = 0; i < 4; i++) {
                const char *values[] = {u ? u->home : NULL, u ? u->user : NULL, u ? u->user : NULL,
                                        u ? u->shell : NULL};
                char *var = env->login_vars[i];
                if (!var)
                        continue;
                if (!u) {
                        memcpy(var, env->login_defaults[i], strlen(env->login_defaults[i]) + 1);
                        continue;
                }
                /* The name and '=' stay; the value fits: spawn_env_login_var made the room. */
                var += strcspn(var, "=") + 1;
                memcpy(var, values[i], strlen(values[i]) + 1);
        }
        spawn_env_set_path(env, u ? u->creds->uid == 0 : env->path_root);
        env->login_replaced = u != NULL;
}

static int spawn_env_build(struct spawn_env *env, const struct spawn_login *login,
                           char *const *environ_) {
        const char *const names[] = {"HOME", "USER", "LOGNAME", "SHELL"};
        const char *const values[] = {login->home, login->user, login->user, login->shell};
        const size_t rooms[] = {PATH_MAX, SPAWN_USER_NAME_MAX, SPAWN_USER_NAME_MAX, PATH_MAX};
        bool root = login->creds.change ? login->creds.uid == 0 : geteuid() == 0;
        size_t n = 0;
        int r;

        while (environ_ && environ_[n])
                n++;
        env->envp = calloc(1 + 4 + n + login->n_pass_env + login->n_setenv + SPAWN_ENV_PER_COMMAND,
                           sizeof(char *));
        if (!env->envp)
                return -ENOMEM;
        env->path_root = root;
        spawn_env_set_path(env, root);
        spawn_env_put(env, env->path);
        for (size_t i = 0; i < 4; i++)
                if ((r = spawn_env_login_var(env, i, names[i], values[i], rooms[i])) < 0)
                        return r;
        for (size_t i = 0; i < n; i++)
                if (spawn_env_is_locale(environ_[i]))
                        spawn_env_put(env, environ_[i]);
        for (size_t i = 0; i < login->n_pass_env; i++) {
                char *var = spawn_env_find(environ_, login->pass_env[i]);
                if (var)
                        spawn_env_put(env, var);
        }
        for (size_t i = 0; i < login->n_setenv; i++)
                spawn_env_put(env, (char *) login->setenv[i]);
        return 0;
}

static size_t spawn_page_size(void) {
        long n = sysconf(_SC_PAGESIZE);

        return n > 0 ? (size_t) n : 4096;
}

/* The children's stack: SPAWN_STACK_SIZE bytes, and below them (a stack
 * grows down) a page that faults, so that an overflow is a crash, not a
 * write into whatever lies below. */
static int spawn_stack_map(struct spawn_env *env) {
        size_t guard = spawn_page_size();
        char *map = mmap(NULL, guard + SPAWN_STACK_SIZE, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

        if (map == MAP_FAILED)
                return -errno;
        if (mprotect(map, guard, PROT_NONE) < 0) {
                int r = -errno;
                (void) munmap(map, guard + SPAWN_STACK_SIZE);
                return r;
        }
        env->stack = map + guard;
        return 0;
}

int spawn_env_init(struct spawn_env *env, const struct spawn_login *login, char *const *environ_) {
        int r;

        *env = (struct spawn_env){.null_fd = -1, .creds = login->creds};
        /* Ours to put back after a child that switched users: see spawn_clone_vm. */
        env->dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
        r = spawn_env_build(env, login, environ_);
        if (r < 0) {
                spawn_env_release(env);
                return r;
        }
        /* The names, for direct_init(); spawn_env_set_command() fills in the values. */
        memcpy(env->tmpdir, "TMPDIR=", sizeof "TMPDIR=");
        memcpy(env->remote_addr, "REMOTE_ADDR=", sizeof "REMOTE_ADDR=");
        memcpy(env->remote_port, "REMOTE_PORT=", sizeof "REMOTE_PORT=");
        /* Kept open for every child's fd 0; one that lands on 0-2 (a server
         * started without them) is not kept: the child opens its own then. */
        r = spawn_stack_map(env);
        if (r < 0) {
                spawn_env_release(env);
                return r;
        }
        /* The mini-shell's report: a page it shares with us across its fork. */
        env->report = mmap(NULL, sizeof *env->report, PROT_READ | PROT_WRITE,
                           MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (env->report == MAP_FAILED) {
                env->report = NULL;
                spawn_env_release(env);
                return -ENOMEM;
        }
        env->null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (env->null_fd >= 0 && env->null_fd <= STDERR_FILENO) {
                (void) close(env->null_fd);
                env->null_fd = -1;
        }
        r = direct_init(env->envp, env->count,
                        (char *const[]){env->tmpdir, env->remote_addr, env->remote_port}, 3,
                        &env->direct);
        if (r < 0)
                spawn_env_release(env);
        return r;
}

void spawn_env_release(struct spawn_env *env) {
        if (env->null_fd >= 0)
                (void) close(env->null_fd);
        env->null_fd = -1;
        free(env->envp);
        env->envp = NULL;
        for (size_t i = 0; i < sizeof env->login_vars / sizeof env->login_vars[0]; i++) {
                free(env->login_vars[i]);
                free(env->login_defaults[i]);
                env->login_vars[i] = env->login_defaults[i] = NULL;
        }
        direct_release(env->direct);
        env->direct = NULL;
        if (env->stack)
                (void) munmap(env->stack - spawn_page_size(), spawn_page_size() + SPAWN_STACK_SIZE);
        env->stack = NULL;
        if (env->report)
                (void) munmap(env->report, sizeof *env->report);
        env->report = NULL;
}

/* The entries of this command's own: TMPDIR, REMOTE_ADDR and REMOTE_PORT, as
 * it has them; which it has, as direct_plan() takes them. */
static unsigned spawn_env_set_command(struct spawn_env *env, const struct sock_peer *peer,
                                      const char *tmpdir) {
        size_t n = env->count;
        unsigned present = 0;

        /* The names are in place (spawn_env_init); the values fit, NULs included. */
        if (tmpdir && strlen(tmpdir) < SPAWN_TMPDIR_MAX) {
                memcpy(env->tmpdir + strlen("TMPDIR="), tmpdir, strlen(tmpdir) + 1);
                env->envp[n++] = env->tmpdir;
                present |= SPAWN_HAS_TMPDIR;
        }
        if (peer && peer->addr[0]) {
                memcpy(env->remote_addr + strlen("REMOTE_ADDR="), peer->addr,
                       strnlen(peer->addr, sizeof peer->addr - 1) + 1);
                memcpy(env->remote_port + strlen("REMOTE_PORT="), peer->port,
                       strnlen(peer->port, sizeof peer->port - 1) + 1);
                env->envp[n++] = env->remote_addr;
                env->envp[n++] = env->remote_port;
                present |= SPAWN_HAS_PEER;
        }
        env->envp[n] = NULL;
        return present;
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
CHILD_SIDE static int spawn_apply_limits(const struct spawn_limits *l) {
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

/* fd 1 and 2 the connection, fd 0 /dev/null (or the connection too when
 * conn_stdin), fd 2 err_fd instead when it is not -1, nothing else. The
 * order matters when conn_fd is 0, 1 or 2 (inetd): the connection is copied
 * to 1 and 2 before fd 0 is replaced; an err_fd below 2 is moved up first.
 * dup2(fd, fd) keeps FD_CLOEXEC, so clear it then. null_fd is the server's
 * /dev/null (above 2), or -1: opened here. */
CHILD_SIDE static int spawn_child_fds(int conn_fd, bool conn_stdin, int err_fd, int null_fd) {
        if (err_fd >= 0 && err_fd < STDERR_FILENO &&
            (err_fd = fcntl(err_fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1)) < 0)
                return -errno;
        for (int fd = conn_stdin ? STDIN_FILENO : STDOUT_FILENO; fd <= STDERR_FILENO; fd++) {
                int from = fd == STDERR_FILENO && err_fd >= 0 ? err_fd : conn_fd;
                if (from == fd ? fcntl(fd, F_SETFD, 0) < 0 : dup2(from, fd) < 0)
                        return -errno;
        }
        if (conn_stdin) {
                /* fd 0 is the connection: already in place. */
        } else if (null_fd > STDERR_FILENO) {
                if (dup2(null_fd, STDIN_FILENO) < 0)
                        return -errno;
        } else {
                null_fd = open("/dev/null", O_RDONLY);
                if (null_fd < 0)
                        return -errno;
                if (null_fd != STDIN_FILENO) {
                        if (dup2(null_fd, STDIN_FILENO) < 0)
                                return -errno;
                        (void) close(null_fd);
                }
        }
        if (close_range(STDERR_FILENO + 1, ~0U, 0) < 0)
                return -errno;
        return 0;
}

/* The kernel's struct sigaction: handler, flags, restorer, mask. glibc
 * refuses sigaction() on the signals it reserves (32, 33), and its own
 * posix_spawn, which make and others use, passes them on ignored: these go
 * through the system call, for every signal alike. */
struct spawn_ksigaction {
        void *handler;
        unsigned long flags;
        void *restorer;
        uint64_t mask;
};

/* The signals whose disposition is not SIG_DFL, as bits (1 << (sig - 1)):
 * execve() resets handlers, not ignored signals (SIGPIPE, 32, 33), and a
 * handler must not run in the vfork child either. Read once, at the first
 * spawn: a server sets its dispositions before it serves. Resetting only
 * these spares the child 64 system calls while the parent waits for it. */
static uint64_t spawn_signals_to_reset(struct spawn_env *env) {
        if (!env->signals_known) {
                for (int sig = 1; sig < NSIG && sig <= 64; sig++) {
                        struct spawn_ksigaction old = {0};
                        if (syscall(SYS_rt_sigaction, sig, NULL, &old, sizeof old.mask) == 0 &&
                            old.handler != SIG_DFL)
                                env->signals_to_reset |= UINT64_C(1) << (sig - 1);
                }
                env->signals_known = true;
        }
        return env->signals_to_reset;
}

/* What the child needs, on the parent's stack: the child shares our memory
 * (the shell's child) or has a copy of it (the mini-shell). */
struct spawn_job {
        const struct spawn_env *env;
        uint64_t reset;
        char *const *argv;
        int conn_fd;
        bool conn_stdin;
        int err_fd;                      /* its fd 2, when not the connection; or -1 */
        int cgroup_procs_fd;             /* the child writes itself ("0") here first; or -1 */
        const struct spawn_creds *creds; /* whom it becomes: env's, or the command's own user's */
        const char *tmpdir;              /* made once the child is the command's user; or NULL */
        /* A CLONE_VM child's setup's error (its word is env->started). */
        volatile int err;
};

/* The user the command runs as, and no capability: the ambient set cleared
 * (it would survive exec), then groups, gid, uid, then capset() to nothing,
 * since a server that is not root keeps its capabilities across a change
 * between two other uids. Raw system calls: glibc's setuid() and friends
 * signal every thread of the process, ours too in a CLONE_VM child, and
 * take locks. */
CHILD_SIDE static int spawn_child_credentials(const struct spawn_creds *c, bool drop_caps) {
        struct __user_cap_header_struct head = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3] = {{0}};

        /* EINVAL: a kernel without ambient capabilities (before 4.3). */
        if (drop_caps && syscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
            errno != EINVAL)
                return -errno;
        if (c->change) {
                if (syscall(SYS_setgroups, c->n_groups, c->groups) < 0)
                        return -errno;
                if (syscall(SYS_setresgid, c->gid, c->gid, c->gid) < 0)
                        return -errno;
                if (syscall(SYS_setresuid, c->uid, c->uid, c->uid) < 0)
                        return -errno;
        }
        if (drop_caps && syscall(SYS_capset, &head, none) < 0)
                return -errno;
        return 0;
}

/* What the shell's child and the mini-shell both do first: default signals
 * (they come in all blocked), into the cgroup (the server's descriptor of
 * its cgroup.procs: no file opened here), a session of their own, the
 * limits, fds 0-2 and no other, then the command's user (after the cgroup
 * join: the cgroup is the server's to write). The signal mask is left to
 * the caller. */
CHILD_SIDE static int spawn_child_setup(const struct spawn_job *job) {
        const struct spawn_env *env = job->env;
        const struct spawn_ksigaction dfl = {.handler = SIG_DFL};
        uint64_t reset = job->reset;
        int r;

        for (int sig = 1; reset != 0; sig++, reset >>= 1)
                if (reset & 1)
                        (void) syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
        /* Into its cgroup before anything else: it has started nothing yet,
         * so nothing it starts can be left outside. */
        if (job->cgroup_procs_fd >= 0 && write(job->cgroup_procs_fd, "0", 1) != 1)
                return -errno;
        if (setsid() < 0)
                return -errno;
        if ((r = spawn_apply_limits(&env->limits)) < 0)
                return r;
        if ((r = spawn_child_fds(job->conn_fd, job->conn_stdin, job->err_fd, env->null_fd)) < 0)
                return r;
        if ((r = spawn_child_credentials(job->creds, env->creds.drop_caps)) < 0)
                return r;
        /* Its own, as its user: 0700 whatever the umask; EEXIST is no reuse. */
        if (job->tmpdir && mkdir(job->tmpdir, 0700) < 0)
                return -errno;
        return 0;
}

/* Runs in the CLONE_VM child, on the parent's memory and spawn_env's
 * stack: only system calls, and an error goes back through job->err. Every
 * signal is blocked on entry. */
CHILD_SIDE static int spawn_child(void *arg) {
        struct spawn_job *job = arg;
        sigset_t none;
        int r;

        r = spawn_child_setup(job);
        if (r >= 0) {
                sigemptyset(&none);
                (void) sigprocmask(SIG_SETMASK, &none, NULL);
                execve(CHILD_SHELL, job->argv, job->env->envp);
                r = -errno;
        }
        job->err = r;
        _exit(127);
}

/* The mini-shell's word to the server, on the page they share: its setup's
 * error (0: set up), then the wake. */
CHILD_SIDE static void spawn_report_started(struct spawn_report *rep, int err) {
        rep->err = err;
        __atomic_store_n(&rep->pending, 0, __ATOMIC_RELEASE);
        (void) syscall(SYS_futex, &rep->pending, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* The direct path's child: a plain fork of the server, on its own copy of
 * our memory and of env->stack, set up like the shell's child, that then is
 * direct.h's mini-shell. */
CHILD_SIDE static int spawn_mini_shell(void *arg) {
        struct spawn_job *job = arg;
        const struct spawn_env *env = job->env;
        int r;

        r = spawn_child_setup(job);
        spawn_report_started(env->report, r < 0 ? r : 0);
        if (r < 0)
                _exit(127);
        /* The program's child runs on the lower half of our copy of the
         * stack: we run on the upper one. */
        direct_run(env->direct, env->stack + SPAWN_STACK_SIZE / 2, job->argv, env->envp);
}

/* FUTEX_WAIT on *word while it is val, at most *ts: 0, or -ETIMEDOUT,
 * -EAGAIN, -EINTR. Without errno: a CLONE_VM child shares our thread's
 * errno and may be between a failed call and its read of errno while we
 * time out. Where no raw call is written, the caller uses CLONE_VFORK. */
#if defined(__x86_64__)
#define SPAWN_RAW_FUTEX 1
static long spawn_futex_wait(pid_t *word, pid_t val, const struct timespec *ts) {
        long ret;
        register long r10 __asm__("r10") = (long) ts;

        __asm__ volatile("syscall"
                         : "=a"(ret)
                         : "0"((long) SYS_futex), "D"(word), "S"((long) FUTEX_WAIT),
                           "d"((long) val), "r"(r10)
                         : "rcx", "r11", "memory");
        return ret;
}
#elif defined(__aarch64__)
#define SPAWN_RAW_FUTEX 1
static long spawn_futex_wait(pid_t *word, pid_t val, const struct timespec *ts) {
        register long x8 __asm__("x8") = SYS_futex;
        register long x0 __asm__("x0") = (long) word;
        register long x1 __asm__("x1") = FUTEX_WAIT;
        register long x2 __asm__("x2") = val;
        register long x3 __asm__("x3") = (long) ts;

        __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
        return x0;
}
#else
#define SPAWN_RAW_FUTEX 0
static long spawn_futex_wait(pid_t *word, pid_t val, const struct timespec *ts) {
        return syscall(SYS_futex, word, FUTEX_WAIT, val, ts, NULL, 0) < 0 ? -errno : 0;
}
#endif

/* How often a wait for a child's start looks at whether it was stopped. */
#define SPAWN_STOP_CHECK_NSEC 20000000L

static int64_t spawn_now_nsec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Waits until *word is 0: the kernel clears it once a CLONE_VM child has
 * exec'd or died, the mini-shell once it is set up. A child stopped on the
 * way (SIGSTOP from a process of the command's user, which may signal it once
 * it runs as that user) would keep the server waiting for ever, as a vfork
 * parent waits: it is killed, and the command fails (-ECANCELED). So would
 * one that is traced (ptrace-stopped, which waitid does not report to us),
 * frozen (cgroup.freeze) or hung (its TMPDIR's mkdir): one that has not
 * started SPAWN_START_DEADLINE_SEC after the clone is killed whatever its
 * state (-ETIMEDOUT). Either way the wait goes on until the word is 0 or
 * the child dead: a CLONE_VM child runs on our memory until then. One that
 * died without a word: -ESRCH. Every signal of ours is blocked. */
static int spawn_wait_started(pid_t pid, pid_t *word) {
        const struct timespec slice = {0, SPAWN_STOP_CHECK_NSEC};
        int64_t deadline = spawn_now_nsec() + (int64_t) SPAWN_START_DEADLINE_SEC * 1000000000;
        int killed = 0;
        pid_t v;

        while ((v = __atomic_load_n(word, __ATOMIC_ACQUIRE)) != 0) {
                siginfo_t si = {0};
                if (spawn_futex_wait(word, v, &slice) != -ETIMEDOUT)
                        continue;
                if (!killed && spawn_now_nsec() >= deadline) {
                        (void) kill(pid, SIGKILL);
                        killed = -ETIMEDOUT;
                        continue;
                }
                /* Slow: stopped, or gone without a word (the mini-shell's
                 * fork clears nothing when it dies)? */
                if (waitid(P_PID, (id_t) pid, &si, WEXITED | WSTOPPED | WNOHANG | WNOWAIT) < 0 ||
                    si.si_pid == 0)
                        continue;
                if (si.si_code == CLD_STOPPED || si.si_code == CLD_TRAPPED) {
                        if (!killed)
                                (void) kill(pid, SIGKILL);
                        killed = killed ? killed : -ECANCELED;
                        continue;
                }
                /* Dead: a CLONE_VM child's word is 0 by now, and its error set. */
                if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != 0)
                        return killed ? killed : -ESRCH;
        }
        return killed;
}

/* Whether valgrind runs us: it aborts the program at a clone(CLONE_VM)
 * that is no thread and no vfork, where it could have failed it. Its client
 * request says so where its header is installed; else its preload library
 * in our LD_PRELOAD does. Asked once. */
static bool spawn_under_valgrind(void) {
        static int under = -1;

        if (under < 0) {
#if SPAWN_HAVE_VALGRIND_H
                under = RUNNING_ON_VALGRIND != 0;
#else
                under = 0;
#endif
                if (!under) {
                        const char *preload = getenv("LD_PRELOAD");
                        under = preload && strstr(preload, "/vgpreload_") != NULL;
                }
        }
        return under;
}

/* Starts fn(job) in a child that shares our memory and runs on env->stack
 * (a vfork without the freeze: see spawn_wait_started), and returns once it
 * has exec'd or died: its pid (*pidfd its pidfd when pidfd is not NULL), or
 * -errno of the clone or of the child's setup. Every signal of ours is
 * blocked. */
static pid_t spawn_clone_vm(struct spawn_env *env, int (*fn)(void *), struct spawn_job *job,
                            int *pidfd) {
        int flags = CLONE_VM | CLONE_CHILD_CLEARTID | SIGCHLD | (pidfd ? CLONE_PIDFD : 0);
        char *stack = env->stack + SPAWN_STACK_SIZE;
        pid_t pid = -1;
        int r;

        /* In env, not in our frame: nothing the kernel clears at the child's
         * exec or death can be a stack frame reused since. */
        env->started = 1;
        if (SPAWN_RAW_FUTEX && !spawn_under_valgrind())
                pid = clone(fn, stack, flags, job, pidfd, NULL, &env->started);
        /* valgrind runs no CLONE_VM child but a vfork: it, the architectures
         * without a raw futex wait, and a kernel that refuses the flags get
         * one (which a stopped child freezes). */
        if (!SPAWN_RAW_FUTEX || spawn_under_valgrind() || (pid < 0 && errno == EINVAL)) {
                pid = clone(fn, stack, (flags & ~CLONE_CHILD_CLEARTID) | CLONE_VFORK, job, pidfd);
                env->started = 0;
        }
        if (pid < 0)
                return -errno;
        r = spawn_wait_started(pid, &env->started);
        /* The child's setresuid() made our shared mm non-dumpable (when
         * fs.suid_dumpable is 0): our /proc/PID root's, no core dump. It has
         * exec'd or died now: what it was comes back. PR_SET_DUMPABLE takes
         * 0 and 1 only. */
        if (job->creds->change && (env->dumpable == 0 || env->dumpable == 1))
                (void) prctl(PR_SET_DUMPABLE, (unsigned long) env->dumpable, 0, 0, 0);
        if (r >= 0)
                r = job->err;
        if (r < 0) {
                if (pidfd && *pidfd >= 0)
                        (void) close(*pidfd);
                (void) waitpid(pid, NULL, 0);
                return r;
        }
        return pid;
}

/* Starts the mini-shell, a fork on its copy of env->stack, and returns once
 * it is set up, as spawn_clone_vm. */
static pid_t spawn_fork_mini_shell(struct spawn_job *job, int *pidfd) {
        struct spawn_report *rep = job->env->report;
        pid_t pid;
        int r;

        __atomic_store_n(&rep->pending, 1, __ATOMIC_RELEASE);
        rep->err = 0;
        pid = clone(spawn_mini_shell, job->env->stack + SPAWN_STACK_SIZE, CLONE_PIDFD | SIGCHLD,
                    job, pidfd);
        if (pid < 0)
                return -errno;
        r = spawn_wait_started(pid, &rep->pending);
        if (r >= 0)
                r = rep->err;
        if (r < 0) {
                (void) close(*pidfd);
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return r;
        }
        return pid;
}

int spawn_command(struct spawn_env *env, const char *command, const struct spawn_io *io,
                  struct spawn_child *ret) {
        const struct sock_peer *peer = io->peer;
        char *argv[] = {(char *) "sh", (char *) "-c", (char *) command, NULL};
        bool direct;
        unsigned present;
        struct spawn_job job = {
                .env = env,
                .argv = argv,
                .conn_fd = io->conn_fd,
                .conn_stdin = io->conn_stdin,
                .err_fd = io->err_fd,
                .cgroup_procs_fd = io->cgroup_procs_fd,
                .creds = io->user ? io->user->creds : &env->creds,
                .tmpdir = io->tmpdir,
        };
        sigset_t all, saved;
        pid_t pid;
        int r, pidfd = -1;

        r = spawn_make_blocking(io->conn_fd);
        if (r >= 0 && io->err_fd >= 0)
                r = spawn_make_blocking(io->err_fd);
        if (r < 0)
                return r;
        present = spawn_env_set_command(env, peer, io->tmpdir);
        spawn_env_set_user(env, io->user);
        direct = !env->always_shell && env->direct && direct_plan(env->direct, command, present);
        job.reset = spawn_signals_to_reset(env);
        /* No handler of ours may run in the child while it shares our memory. */
        sigfillset(&all);
        r = -pthread_sigmask(SIG_SETMASK, &all, &saved);
        if (r < 0)
                return r;
        /* The mini-shell: a fork (its own copy of our memory), since it stays
         * to wait for its program; the shell: a child on our memory, no page
         * tables copied. CLONE_PIDFD gives the pidfd (close-on-exec) without
         * a pidfd_open() per command. */
        pid = direct ? spawn_fork_mini_shell(&job, &pidfd)
                     : spawn_clone_vm(env, spawn_child, &job, &pidfd);
        (void) pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (pid < 0)
                return pid;
        *ret = (struct spawn_child){.pid = pid, .pidfd = pidfd, .direct = direct};
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
                return NBNET_STATUS_NOT_RUN;
        }
}

/* The remover's child, vfork-like: /dev/null for fds 0-2, a session of its
 * own, the commands' user, then rm. */
CHILD_SIDE static int spawn_remover(void *arg) {
        struct spawn_job *job = arg;
        sigset_t none;
        int r;

        r = setsid() < 0 ? -errno : 0;
        if (r >= 0)
                r = spawn_child_fds(job->conn_fd, false, -1, job->env->null_fd);
        if (r >= 0)
                r = spawn_child_credentials(job->creds, job->env->creds.drop_caps);
        if (r >= 0) {
                sigemptyset(&none);
                (void) sigprocmask(SIG_SETMASK, &none, NULL);
                execve("/bin/rm", job->argv, (char *const[]){(char *) SPAWN_PATH, NULL});
                r = -errno;
        }
        job->err = r;
        _exit(127);
}

int spawn_remove_tree(struct spawn_env *env, const struct spawn_creds *creds, const char *path,
                      pid_t *ret) {
        char *argv[] = {(char *) "rm", (char *) "-rf", (char *) "--", (char *) path, NULL};
        struct spawn_job job = {.env = env,
                                .argv = argv,
                                .conn_fd = env->null_fd,
                                .err_fd = -1,
                                .cgroup_procs_fd = -1,
                                .creds = creds ? creds : &env->creds};
        sigset_t all, saved;
        pid_t pid;
        int r;

        if (env->null_fd < 0)
                return -EBADF;
        sigfillset(&all);
        r = -pthread_sigmask(SIG_SETMASK, &all, &saved);
        if (r < 0)
                return r;
        pid = spawn_clone_vm(env, spawn_remover, &job, NULL);
        (void) pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (pid < 0)
                return pid;
        *ret = pid;
        return 0;
}

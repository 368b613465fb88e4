/* SPDX-License-Identifier: MIT */
/* The process plumbing of a command: its environment, fds, limits, signals, clone, group. */
#include "spawn.h"

#include <dirent.h>
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
#include "launchpad.h"
#include "rawsys.h"

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
        env->login_sizes[slot] = len > strlen(name) + 1 + room ? len : strlen(name) + 1 + room;
        env->login_vars[slot] = malloc(env->login_sizes[slot]);
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

/* What the child needs: a CLONE_VM child reads it in its pad (below),
 * the mini-shell in its copy of our memory. */
struct spawn_job {
        const struct spawn_env *env;
        uint64_t reset;
        char *const *argv;
        char *const *envp;
        int conn_fd;
        bool conn_stdin;
        int err_fd;                      /* its fd 2, when not the connection; or -1 */
        int cgroup_procs_fd;             /* the child writes itself ("0") here first; or -1 */
        const struct spawn_creds *creds; /* whom it becomes: env's, or the command's own user's */
        const char *tmpdir;              /* made once the child is the command's user; or NULL */
        bool tmpdir_kept;                /* kept for it: checked, not made (spawn_io) */
        struct spawn_tmpdir_seal tmpdir_seal;
        struct pad_word *word; /* where its setup's error goes, and its word (launchpad.h) */
        char *stack_low;       /* the mini-shell's program's child's stack */
};

/* What a CLONE_VM child reads until it execs, in its pad (launchpad.h):
 * the job, whom it becomes, its argv, then its environment's entries and
 * the strings of those that change from one command to the next. */
struct spawn_pad_data {
        struct spawn_job job;
        struct spawn_creds creds;
        char *argv[4];
        char *envp[];
};

/* The most a pad's data takes: env->envp's entries and its changing
 * strings at their largest, and a command of SPAWN_COMMAND_MAX bytes. */
static size_t spawn_pad_data_size(const struct spawn_env *env) {
        size_t n = sizeof(struct spawn_pad_data) +
                   (env->count + SPAWN_ENV_PER_COMMAND) * sizeof(char *) + SPAWN_COMMAND_MAX +
                   sizeof env->path + sizeof env->tmpdir + sizeof env->remote_addr +
                   sizeof env->remote_port;

        for (size_t i = 0; i < 4; i++)
                n += env->login_sizes[i];
        return n;
}

int spawn_env_init(struct spawn_env *env, const struct spawn_login *login, char *const *environ_) {
        int r;

        *env = (struct spawn_env){.null_fd = -1, .creds = login->creds};
        r = spawn_env_build(env, login, environ_);
        if (r < 0) {
                spawn_env_release(env);
                return r;
        }
        /* The names, for direct_init(); spawn_env_set_command() fills in the values. */
        memcpy(env->tmpdir, "TMPDIR=", sizeof "TMPDIR=");
        memcpy(env->remote_addr, "REMOTE_ADDR=", sizeof "REMOTE_ADDR=");
        memcpy(env->remote_port, "REMOTE_PORT=", sizeof "REMOTE_PORT=");
        r = launchpad_init(&env->pads, spawn_pad_data_size(env));
        if (r < 0) {
                spawn_env_release(env);
                return r;
        }
        env->pads_ready = true;
        /* Kept open for every child's fd 0; one that lands on 0-2 (a server
         * started without them) is not kept: the child opens its own then. */
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
        /* First: a child still starting reads what follows. */
        if (env->pads_ready)
                launchpad_release(&env->pads);
        env->pads_ready = false;
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
        long r;

        for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
                struct rlimit rl = {limits[i].value, limits[i].value};
                /* At the soft CPU limit the kernel sends SIGXCPU, at the hard one
                 * SIGKILL: a second apart, so that the status says why (152). */
                if (limits[i].resource == RLIMIT_CPU)
                        rl.rlim_max++;
                if (limits[i].value != 0 &&
                    (r = RAWSYS5(SYS_prlimit64, 0, limits[i].resource, &rl, NULL, 0)) < 0)
                        return (int) r;
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
        long r;

        if (err_fd >= 0 && err_fd < STDERR_FILENO) {
                if ((r = RAWSYS(SYS_fcntl, err_fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1)) < 0)
                        return (int) r;
                err_fd = (int) r;
        }
        for (int fd = conn_stdin ? STDIN_FILENO : STDOUT_FILENO; fd <= STDERR_FILENO; fd++) {
                int from = fd == STDERR_FILENO && err_fd >= 0 ? err_fd : conn_fd;
                r = from == fd ? RAWSYS(SYS_fcntl, fd, F_SETFD, 0) : RAWSYS(SYS_dup3, from, fd, 0);
                if (r < 0)
                        return (int) r;
        }
        if (conn_stdin) {
                /* fd 0 is the connection: already in place. */
        } else if (null_fd > STDERR_FILENO) {
                if ((r = RAWSYS(SYS_dup3, null_fd, STDIN_FILENO, 0)) < 0)
                        return (int) r;
        } else {
                if ((r = RAWSYS5(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY, 0, 0)) < 0)
                        return (int) r;
                null_fd = (int) r;
                if (null_fd != STDIN_FILENO) {
                        if ((r = RAWSYS(SYS_dup3, null_fd, STDIN_FILENO, 0)) < 0)
                                return (int) r;
                        (void) RAWSYS(SYS_close, null_fd, 0, 0);
                }
        }
        r = RAWSYS(SYS_close_range, STDERR_FILENO + 1, ~0U, 0);
        return r < 0 ? (int) r : 0;
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

/* The user the command runs as, and no capability: the ambient set cleared
 * (it would survive exec), then groups, gid, uid, then capset() to nothing,
 * since a server that is not root keeps its capabilities across a change
 * between two other uids. Raw system calls: glibc's setuid() and friends
 * signal every thread of the process, ours too in a CLONE_VM child, and
 * take locks. */
CHILD_SIDE static int spawn_child_credentials(const struct spawn_creds *c, bool drop_caps) {
        struct __user_cap_header_struct head = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3] = {{0}};
        long r;

        /* EINVAL: a kernel without ambient capabilities (before 4.3). */
        if (drop_caps &&
            (r = RAWSYS5(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)) < 0 &&
            r != -EINVAL)
                return (int) r;
        if (c->change) {
                if ((r = RAWSYS(SYS_setgroups, c->n_groups, c->groups, 0)) < 0 ||
                    (r = RAWSYS(SYS_setresgid, c->gid, c->gid, c->gid)) < 0 ||
                    (r = RAWSYS(SYS_setresuid, c->uid, c->uid, c->uid)) < 0)
                        return (int) r;
        }
        if (drop_caps && (r = RAWSYS(SYS_capset, &head, none, 0)) < 0)
                return (int) r;
        return 0;
}

/* The kernel fills buf and stx below, which clang's analyzer cannot see; and
 * no memset to please it: the child calls nothing of libc. */
/* NOLINTBEGIN(clang-analyzer-core.UndefinedBinaryOperatorResult) */
CHILD_SIDE int spawn_dir_is_empty(int fd) {
        _Alignas(struct dirent64) char buf[512];
        const struct dirent64 *d;
        long n;

        while ((n = RAWSYS(SYS_getdents64, fd, buf, sizeof buf)) > 0)
                for (long at = 0; at < n; at += d->d_reclen) {
                        d = (const struct dirent64 *) (const void *) (buf + at);
                        if (!(d->d_name[0] == '.' && (d->d_name[1] == '\0' ||
                                                      (d->d_name[1] == '.' && d->d_name[2] == '\0'))))
                                return 0;
                }
        return n < 0 ? (int) n : 1;
}

/* The TMPDIR kept for it, open at fd: as sealed, and empty. */
CHILD_SIDE static bool spawn_tmpdir_as_sealed(long fd, const struct spawn_tmpdir_seal *seal) {
        struct statx stx;

        if (RAWSYS5(SYS_statx, fd, "", AT_EMPTY_PATH,
                    STATX_TYPE | STATX_MODE | STATX_UID | STATX_GID | STATX_INO | STATX_CTIME,
                    &stx) != 0)
                return false;
        return stx.stx_ino == seal->ino && stx.stx_ctime.tv_sec == seal->ctime_sec &&
               stx.stx_ctime.tv_nsec == seal->ctime_nsec && stx.stx_mode == seal->mode &&
               stx.stx_uid == seal->uid && stx.stx_gid == seal->gid &&
               spawn_dir_is_empty((int) fd) == 1;
}
/* NOLINTEND(clang-analyzer-core.UndefinedBinaryOperatorResult) */

/* Its TMPDIR, as its user: made, 0700 whatever the umask (EEXIST is no
 * reuse); or, kept from an earlier command, taken only as its server sealed
 * it (another process of its user may hold it open and have changed it
 * since: -ESTALE), and made again if gone (/tmp's cleaner). */
CHILD_SIDE static int spawn_child_tmpdir(const struct spawn_job *job) {
        long fd, r;

        if (!job->tmpdir)
                return 0;
        if (job->tmpdir_kept) {
                fd = RAWSYS(SYS_openat, AT_FDCWD, job->tmpdir,
                            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd >= 0) {
                        r = spawn_tmpdir_as_sealed(fd, &job->tmpdir_seal) ? 0 : -ESTALE;
                        (void) RAWSYS(SYS_close, fd, 0, 0);
                        return (int) r;
                }
                if (fd != -ENOENT)
                        return -ESTALE;
        }
        r = RAWSYS(SYS_mkdirat, AT_FDCWD, job->tmpdir, 0700);
        return r < 0 ? (int) r : 0;
}

/* What the shell's child and the mini-shell both do first: default signals
 * (they come in all blocked), into the cgroup (the server's descriptor of
 * its cgroup.procs: no file opened here), a session of their own, the
 * limits, fds 0-2 and no other, then the command's user (after the cgroup
 * join: the cgroup is the server's to write), then its TMPDIR. The signal
 * mask is left to the caller. */
CHILD_SIDE static int spawn_child_setup(const struct spawn_job *job) {
        const struct spawn_env *env = job->env;
        const struct spawn_ksigaction dfl = {.handler = SIG_DFL};
        uint64_t reset = job->reset;
        long r;

        for (int sig = 1; reset != 0; sig++, reset >>= 1)
                if (reset & 1)
                        (void) RAWSYS5(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask, 0);
        /* Into its cgroup before anything else: it has started nothing yet,
         * so nothing it starts can be left outside. */
        if (job->cgroup_procs_fd >= 0 && (r = RAWSYS(SYS_write, job->cgroup_procs_fd, "0", 1)) != 1)
                return r < 0 ? (int) r : -EIO;
        if ((r = RAWSYS(SYS_setsid, 0, 0, 0)) < 0)
                return (int) r;
        if ((r = spawn_apply_limits(&env->limits)) < 0 ||
            (r = spawn_child_fds(job->conn_fd, job->conn_stdin, job->err_fd, env->null_fd)) < 0 ||
            (r = spawn_child_credentials(job->creds, env->creds.drop_caps)) < 0)
                return (int) r;
        return spawn_child_tmpdir(job);
}

/* Every signal unblocked, then execve; what it failed with. */
CHILD_SIDE static int spawn_child_exec(const char *path, char *const *argv, char *const *envp) {
        const uint64_t none = 0;

        (void) RAWSYS5(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof none, 0);
        return (int) RAWSYS(SYS_execve, path, argv, envp);
}

/* Its error where the server reads it, then the end (exit_group: raw as
 * well, though glibc's _exit() touches no errno). */
CHILD_SIDE static _Noreturn void spawn_child_fail(const struct spawn_job *job, int err) {
        job->word->err = err;
        for (;;)
                (void) RAWSYS(SYS_exit_group, 127, 0, 0);
}

/* Runs in the CLONE_VM child, beside us, on our memory and its pad:
 * only raw system calls (rawsys.h), and it writes nothing of ours but its
 * pad's word. Every signal is blocked on entry. */
CHILD_SIDE static int spawn_child(void *arg) {
        struct spawn_job *job = arg;
        int r;

        r = spawn_child_setup(job);
        if (r >= 0)
                r = spawn_child_exec(CHILD_SHELL, job->argv, job->envp);
        spawn_child_fail(job, r);
}

/* The mini-shell's word to the server, on the page they share: its setup's
 * error (0: set up), then the wake for a server that waits. */
CHILD_SIDE static void spawn_report_started(struct pad_word *word, int err) {
        word->err = err;
        __atomic_store_n(&word->pending, 0, __ATOMIC_RELEASE);
        (void) RAWSYS5(SYS_futex, &word->pending, FUTEX_WAKE, 1, NULL, 0);
}

/* The direct path's child: a plain fork of the server, on its own copy of
 * our memory and of its pad's stack, set up like the shell's child, that
 * then is direct.h's mini-shell. */
CHILD_SIDE static int spawn_mini_shell(void *arg) {
        struct spawn_job *job = arg;
        const struct spawn_env *env = job->env;
        int r;

        r = spawn_child_setup(job);
        spawn_report_started(job->word, r < 0 ? r : 0);
        if (r < 0)
                _exit(127);
        /* The program's child runs on the lower half of our copy of the
         * stack: we run on the upper one. */
        direct_run(env->direct, job->stack_low, job->argv, job->envp);
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

/* Whether a CLONE_VM child may run beside us: every call it makes is a raw
 * one (rawsys.h), and valgrind does not run us (it aborts the program at a
 * clone(CLONE_VM) that is no thread and no vfork). Else it is a vfork's,
 * and we wait for its exec. */
static bool spawn_beside(void) {
        return RAWSYS_NATIVE && !spawn_under_valgrind();
}

/* Clones fn(job) on f's stack, sharing our memory, beside us (the kernel
 * clears f's word at its exec or death) or as a vfork (done when this
 * returns). Every signal of ours is blocked. Its pid, or -errno. */
static pid_t spawn_clone_vm(struct pad *f, int (*fn)(void *), struct spawn_job *job, int *pidfd) {
        int flags = CLONE_VM | SIGCHLD | (pidfd ? CLONE_PIDFD : 0);
        pid_t pid;

        if (spawn_beside()) {
                pid = clone(fn, f->stack_top, flags | CLONE_CHILD_CLEARTID, job, pidfd, NULL,
                            &f->word->pending);
                if (pid >= 0 || errno != EINVAL)
                        return pid < 0 ? -errno : pid;
        }
        /* A kernel that refuses the flags gets a vfork too. */
        pid = clone(fn, f->stack_top, flags | CLONE_VFORK, job, pidfd);
        if (pid < 0)
                return -errno;
        __atomic_store_n(&f->word->pending, 0, __ATOMIC_RELEASE);
        return pid;
}

/* The environment's entries that the next command rewrites in place. */
static bool spawn_env_changes(const struct spawn_env *env, const char *entry) {
        if (entry == env->path || entry == env->tmpdir || entry == env->remote_addr ||
            entry == env->remote_port)
                return true;
        for (size_t i = 0; i < 4; i++)
                if (entry == env->login_vars[i])
                        return true;
        return false;
}

/* A shell child's job in f's data: whom it becomes, argv with a copy of
 * command, env->envp with copies of the entries that change. -E2BIG: a
 * command of more than SPAWN_COMMAND_MAX bytes. */
static int spawn_pad_fill(const struct spawn_env *env, struct pad *f, const char *command,
                          const struct spawn_job *job, struct spawn_job **ret) {
        struct spawn_pad_data *d = f->data;
        size_t len = strlen(command) + 1, i;
        char *p = (char *) (d->envp + env->count + SPAWN_ENV_PER_COMMAND);

        if (len > SPAWN_COMMAND_MAX)
                return -E2BIG;
        d->job = *job;
        d->creds = *job->creds;
        d->job.creds = &d->creds;
        d->job.tmpdir = NULL;
        memcpy(p, command, len);
        d->argv[0] = (char *) "sh";
        d->argv[1] = (char *) "-c";
        d->argv[2] = p;
        d->argv[3] = NULL;
        p += len;
        for (i = 0; env->envp[i]; i++) {
                d->envp[i] = env->envp[i];
                if (!spawn_env_changes(env, env->envp[i]))
                        continue;
                len = strlen(env->envp[i]) + 1;
                memcpy(p, env->envp[i], len);
                d->envp[i] = p;
                if (env->envp[i] == env->tmpdir)
                        d->job.tmpdir = p + strlen("TMPDIR=");
                p += len;
        }
        d->envp[i] = NULL;
        d->job.argv = d->argv;
        d->job.envp = d->envp;
        d->job.word = f->word;
        *ret = &d->job;
        return 0;
}

/* Clones the child of job on f: the mini-shell, a fork on its copy of our
 * memory (job may be ours); the shell's child, on ours (job in f). Its pid,
 * or -errno; f is the child's until launchpad.h frees it. */
static pid_t spawn_clone_child(struct spawn_env *env, struct pad *f, bool direct,
                               struct spawn_job *job, int *pidfd) {
        sigset_t all, saved;
        pid_t pid;
        int r;

        /* No handler of ours may run in the child while it shares our memory. */
        sigfillset(&all);
        r = -pthread_sigmask(SIG_SETMASK, &all, &saved);
        if (r < 0) {
                launchpad_started(&env->pads, f, -1, false, false, false);
                return r;
        }
        /* CLONE_PIDFD gives the pidfd (close-on-exec) without a pidfd_open() per command. */
        if (direct) {
                pid = clone(spawn_mini_shell, f->stack_top, CLONE_PIDFD | SIGCHLD, job, pidfd);
                pid = pid < 0 ? -errno : pid;
        } else
                pid = spawn_clone_vm(f, spawn_child, job, pidfd);
        launchpad_started(&env->pads, f, pid, !direct, job->creds->change, true);
        (void) pthread_sigmask(SIG_SETMASK, &saved, NULL);
        return pid;
}

int spawn_command(struct spawn_env *env, const char *command, const struct spawn_io *io,
                  struct spawn_child *ret) {
        char *argv[] = {(char *) "sh", (char *) "-c", (char *) command, NULL};
        struct spawn_job job =
                                 {
                                         .env = env,
                                         .argv = argv,
                                         .envp = env->envp,
                                         .conn_fd = io->conn_fd,
                                         .conn_stdin = io->conn_stdin,
                                         .err_fd = io->err_fd,
                                         .cgroup_procs_fd = io->cgroup_procs_fd,
                                         .creds = io->user ? io->user->creds : &env->creds,
                                         .tmpdir = io->tmpdir,
                                         .tmpdir_kept = io->tmpdir_kept,
                                         .tmpdir_seal = io->tmpdir_seal,
                                 },
                         *run = &job;
        struct pad *f;
        bool direct;
        unsigned present;
        pid_t pid;
        int r, pidfd = -1;

        r = spawn_make_blocking(io->conn_fd);
        if (r >= 0 && io->err_fd >= 0)
                r = spawn_make_blocking(io->err_fd);
        if (r < 0)
                return r;
        present = spawn_env_set_command(env, io->peer, io->tmpdir);
        spawn_env_set_user(env, io->user);
        direct = !env->always_shell && env->direct && direct_plan(env->direct, command, present);
        job.reset = spawn_signals_to_reset(env);
        /* The mini-shell: a fork (its own copy of our memory), since it stays
         * to wait for its program; the shell: a child on our memory, no page
         * tables copied, which reads what it needs in its pad. */
        f = launchpad_take(&env->pads, direct);
        if (!f)
                return -errno;
        job.word = f->word;
        job.stack_low = f->stack_top - LAUNCHPAD_STACK_SIZE / 2;
        if (!direct && (r = spawn_pad_fill(env, f, command, &job, &run)) < 0) {
                launchpad_started(&env->pads, f, -1, false, false, false);
                return r;
        }
        pid = spawn_clone_child(env, f, direct, run, &pidfd);
        if (pid < 0)
                return pid;
        *ret = (struct spawn_child){
                .pid = pid, .pidfd = pidfd, .direct = direct, .pad = launchpad_index(&env->pads, f)};
        return 0;
}

bool spawn_watch_starts(struct spawn_env *env) {
        return launchpad_watch(&env->pads);
}

int spawn_env_expect(struct spawn_env *env, size_t n) {
        return launchpad_expect(&env->pads, n);
}

int spawn_child_started(struct spawn_env *env, const struct spawn_child *child) {
        return launchpad_collect(&env->pads, child->pad, child->pid);
}

int spawn_kill_command(pid_t pid, int sig) {
        int r = spawn_kill_group(pid, sig);

        /* No group yet: the main, not reaped (so still our child's pid), has
         * not made it. Once it has, the group's signal was the main's too. */
        if (r == -ESRCH && kill(pid, sig) == 0)
                return 0;
        return r;
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

/* The remover's child: /dev/null for fds 0-2, a session of its own, the
 * commands' user, then rm. */
CHILD_SIDE static int spawn_remover(void *arg) {
        struct spawn_job *job = arg;
        long r;

        r = RAWSYS(SYS_setsid, 0, 0, 0);
        if (r >= 0)
                r = spawn_child_fds(job->conn_fd, false, -1, job->env->null_fd);
        if (r >= 0)
                r = spawn_child_credentials(job->creds, job->env->creds.drop_caps);
        if (r >= 0)
                r = spawn_child_exec("/bin/rm", job->argv, job->envp);
        spawn_child_fail(job, (int) r);
}

int spawn_remove_tree(struct spawn_env *env, const struct spawn_creds *creds, const char *path,
                      pid_t *ret) {
        char *argv[] = {(char *) "rm", (char *) "-rf", (char *) "--", (char *) path, NULL};
        char *envp[] = {(char *) SPAWN_PATH, NULL};
        struct spawn_job job = {.env = env,
                                .argv = argv,
                                .envp = envp,
                                .conn_fd = env->null_fd,
                                .err_fd = -1,
                                .cgroup_procs_fd = -1,
                                .creds = creds ? creds : &env->creds};
        sigset_t all, saved;
        struct pad *f;
        pid_t pid;
        int r;

        if (env->null_fd < 0)
                return -EBADF;
        f = launchpad_take(&env->pads, false);
        if (!f)
                return -errno;
        job.word = f->word;
        sigfillset(&all);
        r = -pthread_sigmask(SIG_SETMASK, &all, &saved);
        if (r < 0) {
                launchpad_started(&env->pads, f, -1, false, false, false);
                return r;
        }
        pid = spawn_clone_vm(f, spawn_remover, &job, NULL);
        launchpad_started(&env->pads, f, pid, true, job.creds->change, false);
        (void) pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (pid < 0)
                return pid;
        /* Rare (a TMPDIR left with something in it): its start is waited
         * for, its job being on our stack. */
        r = launchpad_wait(&env->pads, f);
        if (r < 0) {
                (void) waitpid(pid, NULL, 0);
                return r;
        }
        *ret = pid;
        return 0;
}

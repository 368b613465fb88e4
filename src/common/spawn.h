/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Starts /bin/sh -c COMMAND (or, when the shell would only fork and exec
 * it, direct.h's mini-shell, which does just that) onto a connection as
 * doc/protocol.md's "What the command sees" says: fd 0 /dev/null, fds 1 and 2
 * the connection (fd 2 the stderr channel, when there is one) in blocking mode, no other descriptor, default signals and
 * an empty mask, a session of its own, a clean environment (a login's, see
 * struct spawn_login) plus REMOTE_ADDR and REMOTE_PORT, and the user it runs
 * as (struct spawn_creds) with no capability. Also: killing a command's
 * process group and turning its end into an NBNET status. Never logs, never
 * exits.
 */

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "launchpad.h"
#include "sock.h"
#include "status.h"

/* Resource limits applied to each command before exec; 0 leaves one alone. */
struct spawn_limits {
        rlim_t cpu;   /* seconds */
        rlim_t as;    /* bytes */
        rlim_t nproc; /* processes of the user */
        rlim_t fsize; /* bytes */
};

struct direct_state;

/* Supplementary groups a command may have; a user in more is refused at start. */
#define SPAWN_MAX_GROUPS 64

/* Whom the child becomes before exec: numbers only, resolved at start (the
 * child may not take a lock, and NSS may be LDAP). */
struct spawn_creds {
        bool change;    /* setgroups, setresgid, setresuid to these in the child */
        bool drop_caps; /* the server holds capabilities: clear ambient, capset() empty */
        uid_t uid;
        gid_t gid;
        size_t n_groups;
        gid_t groups[SPAWN_MAX_GROUPS];
};

/* What a command's environment is made of, as a login would set it: PATH (a
 * fixed default), HOME, USER, LOGNAME and SHELL of the user it runs as
 * (NULL: not set), the server's LANG, LANGUAGE, LC_* and TZ, then the values
 * of pass_env's names that the server has, then setenv's NAME=VALUE entries;
 * a later entry replaces an earlier one of the same name. */
struct spawn_login {
        struct spawn_creds creds;
        const char *user, *home, *shell;
        const char *const *pass_env; /* names */
        size_t n_pass_env;
        const char *const *setenv; /* NAME=VALUE, kept as given: they must outlive env */
        size_t n_setenv;
};

/* A command's own user (--run-as-requester), in place of the server's
 * command user: the numbers the child switches to (capabilities dropped as
 * for every command), and its login's strings for HOME, USER, LOGNAME and
 * SHELL (at most SPAWN_USER_NAME_MAX bytes for the name and PATH_MAX for the
 * others, NULs included); PATH is root's for uid 0. */
struct spawn_user {
        const struct spawn_creds *creds;
        const char *user, *home, *shell;
};

#define SPAWN_USER_NAME_MAX 64

/* PATH of a command: a login's default (login.defs' ENV_PATH, ENV_SUPATH). */
#define SPAWN_PATH "PATH=/usr/local/bin:/usr/bin:/bin"
#define SPAWN_PATH_ROOT "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The longest command line a command can be, NUL included: the protocol's
 * limit (frame.h's FRAME_MAX_COMMAND_LIMIT) and its NUL. */
#define SPAWN_COMMAND_MAX ((size_t) 128 * 1024)

/* The longest TMPDIR a command can be given: a directory the server made
 * (at most 64 bytes, e.g. /tmp/nbnet.XXXXXX) and a name of 16 characters. */
#define SPAWN_TMPDIR_MAX 96

/* What every command gets, built once: its environment, user and limits.
 * It points into itself (the direct path's environment holds tmpdir,
 * remote_addr and remote_port): use it where spawn_env_init() put it, never a copy. */
struct spawn_env {
        /* Set by the caller after spawn_env_init. */
        struct spawn_limits limits;
        bool always_shell; /* no direct path: /bin/sh -c runs every command */
        /* spawn.c's. */
        struct spawn_creds creds;
        /* The login's variables (count), then the per-command slots: one
         * kept for a TMPDIR of the command's own, REMOTE_ADDR, REMOTE_PORT. */
        char **envp;
        size_t count;
        char tmpdir[sizeof "TMPDIR=" + SPAWN_TMPDIR_MAX];
        /* HOME, USER, LOGNAME, SHELL: ours to free, each with room for a
         * command's own user's value (spawn_user), which is written in place
         * (the direct path's environment points at them too); the command
         * user's entries, to put back; PATH likewise. */
        char *login_vars[4];
        size_t login_sizes[4]; /* login_vars' */
        char *login_defaults[4];
        char path[sizeof SPAWN_PATH_ROOT];
        bool path_root;      /* the command user's PATH is root's */
        bool login_replaced; /* the slots hold a command's own user's values */
        char remote_addr[sizeof "REMOTE_ADDR=" + sizeof(((struct sock_peer *) 0)->addr)];
        char remote_port[sizeof "REMOTE_PORT=" + sizeof(((struct sock_peer *) 0)->port)];
        struct direct_state *direct; /* direct.h; NULL: no direct path */
        int null_fd;                 /* /dev/null for the children's fd 0, or -1 */
        bool signals_known;          /* signals_to_reset read (at the first spawn) */
        uint64_t signals_to_reset;   /* bit sig - 1: not SIG_DFL here */
        struct launchpad pads;       /* what children start on (launchpad.h) */
        bool pads_ready;
};

/* A child that has not started its program this long after its clone
 * (traced, frozen, hung) is killed, and its start fails with -ETIMEDOUT;
 * one seen stopped before, too: -ECANCELED (launchpad.h). */
#define SPAWN_START_DEADLINE_SEC LAUNCHPAD_START_DEADLINE_SEC
/* Descriptors spawn_env_init keeps open: /dev/null, the children's fd 0. */
#define SPAWN_ENV_FDS 1

struct spawn_child {
        pid_t pid;   /* also the command's process group and session, once it made them */
        int pidfd;   /* close-on-exec; owned by the caller */
        bool direct; /* direct.h's mini-shell, not /bin/sh, runs the program */
        int pad;     /* what it starts on, for spawn_child_started() */
};

/* Builds env from login and the server's environment environ_: 0 or -ENOMEM. */
int spawn_env_init(struct spawn_env *env, const struct spawn_login *login, char *const *environ_);
void spawn_env_release(struct spawn_env *env);

/* A kept TMPDIR as it was found fresh: another process of its user that
 * holds it open can change it later, and any change (an entry made in it,
 * a chmod, an extended attribute, another directory in its place) moves its
 * inode or its ctime (every change since Linux 6.13's fine-grained
 * timestamps; before, one within the same clock tick could keep it). */
struct spawn_tmpdir_seal {
        uint64_t ino;
        int64_t ctime_sec;
        uint32_t ctime_nsec;
        uint32_t mode; /* the whole st_mode */
        uid_t uid;
        gid_t gid;
};

/* 1 when the directory open at fd has nothing in it but "." and "..", 0
 * when it has, or -errno. Raw system calls only: a spawn child may call it. */
int spawn_dir_is_empty(int fd);

/* Where a command goes. */
struct spawn_io {
        /* Whom it runs as: NULL for the server's command user. */
        const struct spawn_user *user;
        int conn_fd;         /* its fds 1 and 2; any descriptor, 0 included */
        bool conn_stdin;     /* the connection is fd 0 too (else /dev/null) */
        int err_fd;          /* its fd 2 instead (the stderr channel), or -1 */
        int cgroup_procs_fd; /* cgroup.procs (open for writing) of the cgroup v2 to start in, or -1 */
        const struct sock_peer *peer; /* REMOTE_ADDR and REMOTE_PORT, or NULL */
        const char *tmpdir; /* made by the child, as the command's user (mode 0700), or NULL */
        /* tmpdir is one kept from an earlier command (server/tmpdir.h): the
         * child starts the command in it only if it is still as sealed and
         * empty (else -ESTALE), and makes it if it is gone. */
        bool tmpdir_kept;
        struct spawn_tmpdir_seal tmpdir_seal;
};

/* Starts the command and returns without waiting for it to start its
 * program: the child sets itself up (its cgroup, session, limits, fds, user,
 * TMPDIR) and execs beside us, on a pad of its own. What failed there is
 * learnt once it has exited, from spawn_child_started(). -errno: no child. */
int spawn_command(struct spawn_env *env, const char *command, const struct spawn_io *io,
                  struct spawn_child *ret);

/* Looks at the children still starting (spawn_command looks at them too):
 * one stopped, or not started SPAWN_START_DEADLINE_SEC after its clone, is
 * killed, and its start fails as spawn_child_started() says. Whether any is
 * still starting: then the caller looks again within SPAWN_WATCH_USEC. */
bool spawn_watch_starts(struct spawn_env *env);
#define SPAWN_WATCH_USEC ((uint64_t) 25000)

/* At most n commands run at once (each child waits to be asked how its
 * start went until its command is over): 0 or -ENOMEM. */
int spawn_env_expect(struct spawn_env *env, size_t n);

/* Once the child of spawn_command has exited, before it is reaped (or at
 * least before the next spawn_command: its pid may be reused after): 0 if it
 * started its program, else why not: -errno of its setup or of execve,
 * -ECANCELED (seen stopped before it started) or -ETIMEDOUT (not started
 * SPAWN_START_DEADLINE_SEC after its clone), both killed; -ESRCH (it died
 * before it said). Its pad is free after the first call. */
int spawn_child_started(struct spawn_env *env, const struct spawn_child *child);

/* Starts `rm -rf -- PATH` as the command's user, creds (NULL: env's; what a
 * command left in its TMPDIR is that user's to remove), in a session of its
 * own, fds 0-2 /dev/null; *ret its pid, the caller's to reap. */
int spawn_remove_tree(struct spawn_env *env, const struct spawn_creds *creds, const char *path,
                      pid_t *ret);

/* kill(-pid, sig); -ESRCH once the group is empty. */
int spawn_kill_group(pid_t pid, int sig);

/* The command whose main, pid, is not reaped yet: its group, or the main
 * itself while it has not made its group (it starts beside us). */
int spawn_kill_command(pid_t pid, int sig);

/* Whether any process, zombies included, is left in the group. */
bool spawn_group_alive(pid_t pid);

/* Reaps the group's members that are our children: with PR_SET_CHILD_SUBREAPER
 * the orphans of a command are ours, and a zombie would count as alive. */
void spawn_reap_group(pid_t pid);

/* The NBNET status of a child's end as waitid() reports it: 0-255 like $?. */
int spawn_status_of(const siginfo_t *si);

/* waitid() on a pidfd: Linux 5.4; glibc 2.36 names it in an enum, older ones not at all. */
#include <sys/wait.h>
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

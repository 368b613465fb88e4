/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Starts /bin/sh -c COMMAND (or, when the shell would only fork and exec
 * it, direct.h's mini-shell, which does just that) onto a connection as
 * doc/protocol.md's "What the command sees" says: fd 0 /dev/null, fds 1 and 2
 * the connection in blocking mode, no other descriptor, default signals and
 * an empty mask, a session of its own, the server's environment minus
 * systemd's activation variables plus REMOTE_ADDR and REMOTE_PORT. Also:
 * killing a command's process group and turning its end into an NBNET
 * status. Never logs, never exits.
 */

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

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

/* What every command gets, built once: the server's environment, its limits.
 * It points into itself (the direct path's environment holds remote_addr and
 * remote_port): use it where spawn_env_init() put it, never a copy. */
struct spawn_env {
        /* Set by the caller after spawn_env_init. */
        struct spawn_limits limits;
        bool always_shell; /* no direct path: /bin/sh -c runs every command */
        /* spawn.c's. */
        char **envp; /* filtered environment, then two slots for REMOTE_* */
        size_t count;
        char remote_addr[sizeof "REMOTE_ADDR=" + sizeof(((struct sock_peer *) 0)->addr)];
        char remote_port[sizeof "REMOTE_PORT=" + sizeof(((struct sock_peer *) 0)->port)];
        struct direct_state *direct; /* direct.h; NULL: no direct path */
        int null_fd;                 /* /dev/null for the children's fd 0, or -1 */
        bool signals_known;          /* signals_to_reset read (at the first spawn) */
        uint64_t signals_to_reset;   /* bit sig - 1: not SIG_DFL here */
        char *stack;                 /* the child's until it execs: SPAWN_STACK_SIZE bytes */
};

#define SPAWN_STACK_SIZE ((size_t) 64 * 1024)
/* Descriptors spawn_env_init keeps open: /dev/null, the children's fd 0. */
#define SPAWN_ENV_FDS 1
/* Descriptors spawn_command holds while a command starts: the report pipe. */
#define SPAWN_START_FDS 2

struct spawn_child {
        pid_t pid;   /* also the command's process group and session */
        int pidfd;   /* close-on-exec; owned by the caller */
        bool direct; /* direct.h's mini-shell, not /bin/sh, runs the program */
};

int spawn_env_init(struct spawn_env *env, char *const *environ_);
void spawn_env_release(struct spawn_env *env);

/* Where a command goes. */
struct spawn_io {
        int conn_fd;                  /* its fds 1 and 2; any descriptor, 0 included */
        bool conn_stdin;              /* the connection is fd 0 too (else /dev/null) */
        int cgroup_fd;                /* a cgroup v2 directory to start in, or -1 */
        const struct sock_peer *peer; /* REMOTE_ADDR and REMOTE_PORT, or NULL */
};

int spawn_command(struct spawn_env *env, const char *command, const struct spawn_io *io,
                  struct spawn_child *ret);

/* kill(-pid, sig); -ESRCH once the group is empty. */
int spawn_kill_group(pid_t pid, int sig);

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

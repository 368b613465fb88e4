/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Starts /bin/sh -c COMMAND (or, when the shell would only fork and exec
 * it, a mini-shell that does just that: command.h, shenv.h, spawn.c) onto a
 * connection as doc/protocol.md's "What the command sees" says: fd 0 /dev/null, fds 1 and 2 the connection in blocking
 * mode, no other descriptor, default signals and an empty mask, a session of
 * its own, the server's environment minus systemd's activation variables plus
 * REMOTE_ADDR and REMOTE_PORT. Also: killing a command's process group and
 * turning its end into an NBNET status. Never logs, never exits.
 */

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "sock.h"

/* Resource limits applied to each command before exec; 0 leaves one alone. */
struct spawn_limits {
        rlim_t cpu;   /* seconds */
        rlim_t as;    /* bytes */
        rlim_t nproc; /* processes of the user */
        rlim_t fsize; /* bytes */
};

#define SPAWN_NOTE_SIZE 64
#define SPAWN_NOTE_SIGNALS 64 /* signals 1-64 */

/* What every command gets, built once: the server's environment, its limits.
 * It points into itself (sh_order holds remote_addr, remote_port, pwd): use
 * it where spawn_env_init() put it, never a copy. */
struct spawn_env {
        struct spawn_limits limits; /* set by the caller after spawn_env_init */
        char **envp;                /* filtered environment, then two slots for REMOTE_* */
        size_t count;
        char remote_addr[sizeof "REMOTE_ADDR=" + sizeof(((struct sock_peer *) 0)->addr)];
        char remote_port[sizeof "REMOTE_PORT=" + sizeof(((struct sock_peer *) 0)->port)];
        /* The direct path: a line without shell syntax is exec'd without the
         * shell, with the environment the shell would pass (shenv.h). */
        bool always_shell;     /* set by the caller after spawn_env_init */
        char **sh_order;       /* envp as dash exports it, or NULL: no direct path */
        char **direct_envp;    /* sh_order without the REMOTE_* of a peerless spawn */
        const char *path;      /* PATH's value, which dash searches */
        const char *pwd_value; /* PWD from the environment, or NULL */
        char pwd[PATH_MAX + sizeof "PWD="];
        char exe[PATH_MAX];
        char *words; /* the words of the line, grown as needed */
        char **argv;
        size_t words_size;
        int null_fd;               /* /dev/null for the children's fd 0, or -1 */
        bool signals_known;        /* signals_to_reset read (at the first spawn) */
        uint64_t signals_to_reset; /* bit sig - 1: not SIG_DFL here */
        bool cwd_known;            /* cwd holds stat("."): the server never chdirs */
        struct stat cwd;
        char *stack; /* the child's until it execs: SPAWN_STACK_SIZE bytes */
        /* spawn_signal_note() of each signal, for the mini-shell (spawn.c). */
        char notes[SPAWN_NOTE_SIGNALS][SPAWN_NOTE_SIZE];
        uint8_t notes_len[SPAWN_NOTE_SIGNALS];
};

#define SPAWN_STACK_SIZE ((size_t) 64 * 1024)

struct spawn_child {
        pid_t pid;   /* also the command's process group and session */
        int pidfd;   /* close-on-exec; owned by the caller */
        bool direct; /* a mini-shell, not /bin/sh, runs the program (spawn.c) */
};

/* NBNET statuses that the server itself gives (doc/protocol.md). */
#define SPAWN_STATUS_TIMEOUT 124
#define SPAWN_STATUS_NOT_RUN 125
#define SPAWN_STATUS_REFUSED 126

int spawn_env_init(struct spawn_env *env, char *const *environ_);
void spawn_env_release(struct spawn_env *env);

/* Starts the command; conn_fd may be any descriptor, 0 included. */
int spawn_command(struct spawn_env *env, const char *command, int conn_fd,
                  const struct sock_peer *peer, struct spawn_child *ret);

/* kill(-pid, sig); -ESRCH once the group is empty. */
int spawn_kill_group(pid_t pid, int sig);

/* Whether any process, zombies included, is left in the group. */
bool spawn_group_alive(pid_t pid);

/* Reaps the group's members that are our children: with PR_SET_CHILD_SUBREAPER
 * the orphans of a command are ours, and a zombie would count as alive. */
void spawn_reap_group(pid_t pid);

/* What /bin/sh writes to stderr when the command it waits for dies of a
 * signal ("Terminated\n", "Segmentation fault (core dumped)\n"), which the
 * mini-shell of a child.direct command writes as well. Its length, or 0 (an
 * exit, SIGINT, SIGPIPE: the shell says nothing). */
size_t spawn_signal_note(const siginfo_t *si, char note[static SPAWN_NOTE_SIZE]);

/* The NBNET status of a child's end as waitid() reports it: 0-255 like $?. */
int spawn_status_of(const siginfo_t *si);

/* waitid() on a pidfd: Linux 5.4; glibc 2.36 names it in an enum, older ones not at all. */
#include <sys/wait.h>
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A TMPDIR of its own for each command. The server makes one directory at
 * start, mode 01733: every user may make an entry in it, none may list it,
 * and only its owner, the server, may remove another's (the sticky bit).
 * Each command is given an unguessable name in it, which its child makes as
 * the command's user, mode 0700 (spawn_io.tmpdir). Once the command is over
 * the server removes it: an empty one with rmdir, one with something in it
 * through `rm -rf` run as the commands' user, whose files they are.
 *
 * An rmdir frees the directory's block, which on a file system mounted with
 * `discard` waits for the disk (about 0.2 ms per command on a virtio disk):
 * a server that serves many (tmpdir_init given its event loop) hands each
 * removal to a worker thread, which does nothing but rmdir, and sends what it
 * could not remove back to the loop through an eventfd, for a remover or a
 * warning. Never logs: errors come back as -errno (or to the warn callback),
 * and as text where it helps.
 *
 * And a mkdir and an rmdir per command cost more than the rest of a short
 * command's spawn on such a disk (ext4: some 30 and 80 us of a journal's
 * work, where a rename costs 9). So the worker keeps the directory of a
 * command that is wholly over (its cgroup empty: no process of it is left to
 * write there) for the next command of the same user, when it is as a new
 * one would be: renamed first to a new unguessable name (the old path is
 * gone, as promised, and who only learnt the name cannot follow), then
 * found empty, mode 0700, its user's, no extended attribute, the size and
 * inode flags of a directory made here. Anything else is removed as before.
 * Another process of that user that held it open could still change it
 * while it is kept: the next command's child checks it against the seal
 * taken then (spawn_tmpdir_seal) before its program starts. Nothing is kept
 * where /tmp is in memory: a mkdir and an rmdir cost less there than the
 * look.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "spawn.h"

/* Removers running at once, at most; a command whose TMPDIR would need one
 * more waits for none: its directory stays (and is said to). */
#define TMPDIR_MAX_REMOVERS 64
/* Removals the worker holds at once; one more is done on the loop. */
#define TMPDIR_QUEUE 256
/* Descriptors tmpdir_init keeps open with a worker: the eventfd. */
#define TMPDIR_FDS 1
/* Empty directories the worker keeps ready for the next commands; when
 * full, the one kept longest goes for a new one. */
#define TMPDIR_READY 32

/* A directory to remove, as its command's user (creds) would. */
struct tmpdir_job {
        char path[SPAWN_TMPDIR_MAX];
        bool own_creds; /* creds holds the command's own user; else env's */
        struct spawn_creds creds;
        bool reuse; /* its command is wholly over: it may serve the next */
        uid_t uid;  /* its owner, the user its command ran as */
        gid_t gid;
        struct spawn_tmpdir_seal seal; /* as the worker found it fresh */
        int err;                       /* what the worker's rmdir gave, for the loop */
};

/* A directory ready for the next command of its user (seal.uid, seal.gid). */
struct tmpdir_ready {
        char path[SPAWN_TMPDIR_MAX];
        struct spawn_tmpdir_seal seal;
};

/* What a directory made in the server's looks like: what one kept for
 * another command must look like too. */
struct tmpdir_fresh {
        off_t size;
        nlink_t nlink;
        int flags;       /* FS_IOC_GETFLAGS (chattr), or 0 */
        int flags_err;   /* its errno where the file system has none */
        uint32_t xflags; /* FS_IOC_FSGETXATTR's, or 0 */
        uint32_t projid; /* its project (quota), which the owner may set */
        int fsxattr_err; /* its errno where the file system has none */
};

/* Jobs in a fixed ring, oldest first. */
struct tmpdir_ring {
        struct tmpdir_job *jobs; /* TMPDIR_QUEUE */
        size_t head, count;
};

/* What could not be removed, and why: path and a negative errno. */
typedef void (*tmpdir_warn_fn)(const char *path, int err);

struct tmpdir_base {
        char path[64]; /* e.g. /tmp/nbnet.Ab3xYz; "" until made */
        pid_t removers[TMPDIR_MAX_REMOVERS];
        size_t n_removers;
        struct spawn_env *env; /* for the removers the loop starts */
        tmpdir_warn_fn warn;
        uid_t server_uid; /* whom a command runs as when env's creds do not change */
        gid_t server_gid;
        uid_t cmd_uid; /* whom a command runs as without creds of its own (env's) */
        gid_t cmd_gid;
        /* The worker, when there is one: */
        bool worker;
        pthread_t thread;
        int efd; /* readable when back has jobs */
        sd_event_source *back_src;
        pthread_mutex_t lock;
        pthread_cond_t wake;
        /* Under lock: */
        struct tmpdir_ring todo; /* the worker's to rmdir */
        struct tmpdir_ring back; /* not removed: the loop's */
        size_t doing;            /* taken from todo, not yet in back: 0 or 1 */
        bool quit;
        /* Reuse: with a worker, not in memory (tmpfs), and where a directory
         * made here has no extended attribute (an SELinux label would differ
         * from user to user): */
        bool reuse;
        bool cannot_look; /* setfsuid to the commands' user refused (a system call filter) */
        struct tmpdir_fresh fresh;
        struct tmpdir_ready *ready; /* TMPDIR_READY, under lock */
        size_t n_ready;
};

/* Makes the server's directory under /tmp; err says why it could not. With
 * event (not NULL), removals go to a worker thread and what it could not
 * remove comes back on event; env starts the removers, warn says what stays. */
int tmpdir_init(struct tmpdir_base *b, sd_event *event, struct spawn_env *env, tmpdir_warn_fn warn,
                char *err, size_t err_size);

/* An unguessable name in it for the next command, into path (SPAWN_TMPDIR_MAX bytes). */
int tmpdir_name(const struct tmpdir_base *b, char *path, size_t size);

/* The next command's, as creds' user (NULL: env's), into path
 * (SPAWN_TMPDIR_MAX bytes): 1, a directory kept for that user, as seal says
 * it was (spawn_io.tmpdir_kept and tmpdir_seal: its child checks it); 0, a
 * new name for its child to make; or -errno. */
int tmpdir_take(struct tmpdir_base *b, const struct spawn_creds *creds, char *path, size_t size,
                struct spawn_tmpdir_seal *seal);

/* The command is over: its directory goes, now, through the worker, or
 * through a remover that runs as the command's user (creds; NULL: env's); or,
 * whole (no process of the command is left), it is kept for the next of that
 * user. 0 (gone, kept, never made, or being removed), or -errno: -EBUSY when
 * TMPDIR_MAX_REMOVERS run already. */
int tmpdir_remove(struct tmpdir_base *b, const struct spawn_creds *creds, const char *path,
                  bool whole);

/* Reaps the removers that are done (a SIGCHLD came). */
void tmpdir_reap(struct tmpdir_base *b);

/* At exit: lets the worker finish, waits for the removers, wait_usec at
 * most, then removes the server's directory: 0, 1 when something was left
 * in it, or -errno. */
int tmpdir_release(struct tmpdir_base *b, uint64_t wait_usec);

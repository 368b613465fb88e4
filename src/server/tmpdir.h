/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A TMPDIR of its own for each command. The server makes one directory at
 * start, mode 01733: every user may make an entry in it, none may list it,
 * and only its owner, the server, may remove another's (the sticky bit).
 * Each command is given an unguessable name in it, which its child makes as
 * the command's user, mode 0700 (spawn_io.tmpdir). Once the command is over
 * the server removes it: an empty one at once (rmdir), one with something
 * in it through `rm -rf` run as the commands' user, whose files they are.
 * Never logs: errors come back as -errno, and text where it helps.
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "spawn.h"

/* Removers running at once, at most; a command whose TMPDIR would need one
 * more waits for none: its directory stays (and is said to). */
#define TMPDIR_MAX_REMOVERS 64

struct tmpdir_base {
        char path[64]; /* e.g. /tmp/nbnet.Ab3xYz; "" until made */
        pid_t removers[TMPDIR_MAX_REMOVERS];
        size_t n_removers;
};

/* Makes the server's directory under /tmp; err says why it could not. */
int tmpdir_init(struct tmpdir_base *b, char *err, size_t err_size);

/* An unguessable name in it for the next command, into path (SPAWN_TMPDIR_MAX bytes). */
int tmpdir_name(const struct tmpdir_base *b, char *path, size_t size);

/* The command is over: its directory goes, now or through a remover that
 * runs as the command's user (creds; NULL: env's). 0 (gone, never made, or
 * being removed), or -errno: -EBUSY when TMPDIR_MAX_REMOVERS run already. */
int tmpdir_remove(struct tmpdir_base *b, struct spawn_env *env, const struct spawn_creds *creds,
                  const char *path);

/* Reaps the removers that are done (a SIGCHLD came). */
void tmpdir_reap(struct tmpdir_base *b);

/* At exit: waits for the removers, wait_usec at most, then removes the
 * server's directory: 0, 1 when something was left in it, or -errno. */
int tmpdir_release(struct tmpdir_base *b, uint64_t wait_usec);

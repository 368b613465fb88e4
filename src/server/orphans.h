/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * nbnetd's children that no command's pidfd accounts for, where commands
 * have no cgroup: as a subreaper it inherits every orphan of every command.
 * This set knows which children are running commands' main processes (each
 * watched through its pidfd), so that the rest, orphans and escapees, can be
 * reaped, signalled, or said to be there; and which orphans hold no socket
 * at all, so that daemons a command left behind are looked at once, not at
 * every request. Preallocated at init; no allocation while serving.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Descriptors orphans_init keeps open: /proc's list of our children. */
#define ORPHANS_FDS 1

struct orphans {
        pid_t *mains; /* the running commands' main processes */
        size_t n_mains, max_mains;
        pid_t *scratch; /* one /proc listing of our children */
        pid_t *clean;   /* open addressing: orphans seen holding no socket (0: empty) */
        size_t n_clean;
};

/* Room for max_mains running commands; opens /proc's list of our children. */
int orphans_init(struct orphans *o, size_t max_mains);
void orphans_release(struct orphans *o);

/* A command's main process started, or was reaped through its pidfd. */
void orphans_add_main(struct orphans *o, pid_t pid);
void orphans_remove_main(struct orphans *o, pid_t pid);
bool orphans_is_main(const struct orphans *o, pid_t pid);

/* Reaps our exited orphans, up to the first exited main (its pidfd's
 * callback reaps that one); a few system calls per zombie, none per living child. */
void orphans_reap(struct orphans *o);

/* Reaps, then tells whether a child is left that no running command's main
 * is (or whether that cannot be told: more children than one listing holds). */
bool orphans_any(struct orphans *o);

/* Sends sig to each orphan that holds the socket of inode ino (it left its
 * command's group, yet would hold the connection open); how many there were.
 * An orphan seen with no socket at all is not looked at again. */
unsigned orphans_signal_holders(struct orphans *o, ino_t ino, int sig);

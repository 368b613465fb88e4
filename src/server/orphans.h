/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * nbnetd's children that no command's pidfd accounts for, where commands
 * have no cgroup: as a subreaper it inherits every orphan of every command.
 * This set knows which children are running commands' main processes (each
 * watched through its pidfd), so that the rest, orphans and escapees, can be
 * reaped and, when they hold an ended command's connection, signalled.
 *
 * Listing our children (/proc) costs in proportion to how many there are,
 * and the kernel tells nobody when an orphan is handed over: a census lists
 * them, and looks at the descriptors only of children it has not seen
 * before, or that came after the command whose connection is in question
 * (sockets come by fork: a daemon that was there before a command started
 * cannot hold its connection). A daemon a command left is looked at once,
 * not at every request. A server that serves many commands defers the
 * census and runs it at most every so often, as long as it took times 100,
 * so that daemons left behind cost a bounded share of its time whatever
 * their number, and nothing per request. Preallocated; no allocation
 * while serving.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

/* Descriptors orphans_init keeps open: /proc's list of our children. */
#define ORPHANS_FDS 1

struct orphan_known;
struct orphan_pending {
        ino_t ino;          /* a connection whose command ended */
        uint64_t start_gen; /* the census generation at that command's start */
};

struct orphans {
        pid_t *mains; /* the running commands' main processes */
        size_t n_mains, max_mains;
        pid_t *scratch; /* one /proc listing of our children */
        /* Open addressing, two tables swapped at each census: what each
         * child was found to hold; a slot of another census is empty. */
        struct orphan_known *known, *next;
        uint64_t gen; /* censuses so far */
        struct orphan_pending *pending;
        size_t n_pending, max_pending;
        ino_t *inos; /* the pending connections one child may hold */
        /* Deferred censuses (NULL: each runs when asked, in full). */
        sd_event *event;
        sd_event_source *census_src;
        uint64_t census_at;   /* when the next one is due; 0: none */
        uint64_t census_gap;  /* the least time between two */
        uint64_t census_last; /* when the last one ended */
        uint64_t grace_usec;  /* from SIGTERM to SIGKILL for a holder */
        uint64_t kill_at;     /* the next SIGKILL a census owes a holder */
};

/* Room for max_mains running commands; opens /proc's list of our children.
 * With an event loop, censuses are deferred (orphans_signal_holders) and a
 * holder gets SIGTERM, then SIGKILL after grace_usec; without, each runs at
 * once. 0 or -errno. */
int orphans_init(struct orphans *o, size_t max_mains, sd_event *deferred_on, uint64_t grace_usec);
void orphans_release(struct orphans *o);

/* A command's main process started, or was reaped through its pidfd. */
void orphans_add_main(struct orphans *o, pid_t pid);
void orphans_remove_main(struct orphans *o, pid_t pid);
bool orphans_is_main(const struct orphans *o, pid_t pid);

/* Reaps our exited orphans, up to the first exited main (its pidfd's
 * callback reaps that one); a few system calls per zombie, none per living child. */
void orphans_reap(struct orphans *o);

/* The generation a command starts in: orphans_signal_holders looks at the
 * descriptors of those children only that it may have left. */
uint64_t orphans_generation(const struct orphans *o);

/* The orphans that hold the socket of inode ino, of a command started in
 * generation gen (it left its command's group, yet would hold the
 * connection open). Deferred: noted for the next census, which sends them
 * SIGTERM, SIGKILL after the grace; 0. Else a census now sends them sig,
 * and says how many there were. */
unsigned orphans_signal_holders(struct orphans *o, ino_t ino, uint64_t gen, int sig);

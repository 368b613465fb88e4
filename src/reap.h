/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The orphans a subreaper inherits: with PR_SET_CHILD_SUBREAPER every
 * orphaned descendant of a command becomes our child, including the ones
 * that left their command's process group (setsid), which neither a group
 * wait nor a group kill can find. Never logs, never exits.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Opens /proc/self/task/PID/children once, for every reap_children after
 * (reap_children opens it itself when this was not called); 0 or -errno. */
int reap_open(void);

/* Closes what reap_open opened (at exit: no descriptor of ours left open). */
void reap_close(void);

/* Our children, zombies included, at most max of them; returns how many. */
size_t reap_children(pid_t *pids, size_t max);

/* Reaps pid if it has exited (true); never waits. */
bool reap_if_exited(pid_t pid);

/* Whether pid has the socket of inode ino open (as one of its descriptors). */
bool reap_holds_socket(pid_t pid, ino_t ino);

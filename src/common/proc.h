/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What /proc tells of our children: with PR_SET_CHILD_SUBREAPER every
 * orphaned descendant of a command becomes our child, including the ones
 * that left their command's process group (setsid), which neither a group
 * wait nor a group kill can find; and whether one holds a given socket.
 * Never logs, never exits.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Opens /proc/self/task/PID/children once, for every proc_children after
 * (proc_children opens it itself when this was not called); 0 or -errno. */
int proc_open(void);

/* Closes what proc_open opened (at exit: no descriptor of ours left open). */
void proc_close(void);

/* Our children, zombies included, at most max of them; returns how many. */
size_t proc_children(pid_t *pids, size_t max);

/* What pid holds among its descriptors: the socket of one of the n_inos
 * inodes inos, other sockets only, or no socket at all (or it is gone). */
enum proc_sockets { PROC_NO_SOCKET, PROC_OTHER_SOCKETS, PROC_HOLDS_SOCKET };
enum proc_sockets proc_socket_use(pid_t pid, const ino_t *inos, size_t n_inos);

/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Reaping of the orphans a subreaper inherits: with PR_SET_CHILD_SUBREAPER
 * every orphaned descendant of a command becomes our child, including the
 * ones that left their command's process group (setsid), which no group
 * wait can find. Never logs, never exits.
 */

#include <stdbool.h>
#include <sys/types.h>

/* Reaps every exited child of ours for which tracked(pid) is false: the
 * tracked ones are main processes that the event loop reaps itself. */
void reap_orphans(bool (*tracked)(pid_t pid, void *userdata), void *userdata);

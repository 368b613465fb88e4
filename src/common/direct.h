/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The direct path: a line that `/bin/sh -c` (dash) would only fork and exec
 * (shsyntax.h) runs without the shell, with the environment dash would pass
 * (shenv.h), dash's PATH search and PWD, and dash's end (its status, its
 * note on a signal). spawn.c forks a mini-shell and sets it up as it sets up
 * the shell; direct_run() is what the mini-shell does then. The state is
 * made once, at direct_init(). Never logs, never exits (the mini-shell aside).
 */

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#define DIRECT_NOTE_SIZE 64

/* direct.c's: words, argv, the environment in dash's order, PATH, PWD, notes. */
struct direct_state;

/* Entries a command may have or not (its TMPDIR, REMOTE_ADDR, REMOTE_PORT). */
#define DIRECT_PER_COMMAND_MAX 4

/* The state for commands run with ENVP (COUNT entries) and, as each command
 * has them, the caller's N_PER_COMMAND entries PER_COMMAND, whose values it
 * fills in before each direct_plan(). *ret stays NULL (/bin/sh -c for every
 * command) when /bin/sh is no dash or dash would rewrite the environment
 * (shenv_order()). 0, -E2BIG or -ENOMEM. */
int direct_init(char *const *envp, size_t count, char *const *per_command, size_t n_per_command,
                struct direct_state **ret);

/* Frees d (NULL included). */
void direct_release(struct direct_state *d);

/* Whether LINE may skip the shell; then d holds what `sh -c LINE` would
 * execve(), with per_command[i] where bit i of PRESENT is set, for direct_run(). */
bool direct_plan(struct direct_state *d, const char *line, unsigned present);

/* The mini-shell, in a fork set up like the shell's child: runs d's plan in
 * a vfork-like child on STACK (its top) and ends like dash; when the program
 * cannot be exec'd, execs SH_ARGV (`sh -c LINE`) with SH_ENVP instead. */
_Noreturn void direct_run(const struct direct_state *d, char *stack, char *const *sh_argv,
                          char *const *sh_envp);

/* What /bin/sh writes to stderr when the command it waits for dies of a
 * signal ("Terminated\n", "Segmentation fault (core dumped)\n"), which the
 * mini-shell writes as well. Its length, or 0 (an exit, SIGINT, SIGPIPE: the
 * shell says nothing). */
size_t direct_signal_note(const siginfo_t *si, char note[static DIRECT_NOTE_SIZE]);

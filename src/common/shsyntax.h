/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Which command lines need no shell, as GNU make decides (job.c's sh_chars
 * and sh_cmds), for Debian's /bin/sh (dash): plain words of letters, digits
 * and % + , - . / : = @ _ separated by spaces or tabs, the first word no
 * assignment, no keyword and no builtin of dash. `/bin/sh -c LINE` runs such
 * a line as execve(WORD1, WORDS) after a PATH search; anything else (quotes,
 * backslashes, $, globs, redirections, ~, #, any other byte) is the shell's.
 */

#include <stddef.h>

/* The most words a line of LEN bytes can split into, plus the NULL. */
#define SHSYNTAX_MAX_ARGV(len) ((len) / 2 + 2)

/* Splits LINE into argv (SHSYNTAX_MAX_ARGV(strlen(line)) slots), the words
 * copied into buf (strlen(line) + 1 bytes). The number of words, or 0 when
 * the line needs the shell; argv and buf are then unspecified. */
size_t shsyntax_split(const char *line, char *buf, char **argv);

/* Whether NAME is a keyword or builtin of dash (or of make's Bourne list). */
int shsyntax_is_shell_word(const char *name);

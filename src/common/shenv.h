/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The environment /bin/sh (dash 0.5.12) hands a command it execs: dash
 * imports its environment into a hash table of 39 buckets, drops entries
 * whose name is no shell name, keeps one entry per name (the last value at
 * the first one's place), adds PWD, and exports by bucket order. A program
 * exec'd without the shell must see the same bytes in the same order.
 */

#include <stddef.h>

/* Orders VARS (NULL-terminated NAME=value strings) as dash exports them into
 * out (count(vars) + 2 slots, NULL-terminated), with PWD_ENTRY (a "PWD=..."
 * buffer the caller fills later) at PWD's place. *pwd_value: the value of
 * PWD in VARS that dash checks against ".", or NULL. The number of entries;
 * -EINVAL when VARS set a variable dash rewrites (IFS, OPTIND, PPID, ...)
 * or do not set PATH, -ENOMEM. */
int shenv_order(char *const *vars, char *pwd_entry, char **out, const char **pwd_value);

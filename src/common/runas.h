/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Whom the commands run as (--run-as USER[:GROUP], or the server's own
 * user), resolved once at start, off any event loop: NSS may be LDAP or
 * SSSD and take seconds. What comes out is numbers for the spawn child and
 * the strings of a login's environment (spawn.h's struct spawn_login), and
 * whether this process may switch to it. Never logs, never exits: errors
 * come back as text that says what was wrong and what to do.
 */

#include <stdbool.h>
#include <stddef.h>

#include "spawn.h"

struct runas_user {
        struct spawn_creds creds; /* change and drop_caps: runas_check() */
        char *name, *home, *shell;
        bool own; /* the server's own uid: its commands can signal and trace it */
};

/* SPEC is USER[:GROUP], each a name or a number, or NULL for the server's
 * own user. 0, or -errno with err_size bytes of err saying why. */
int runas_resolve(const char *spec, struct runas_user *ret, char *err, size_t err_size);

/* Decides whether the spawn child must change its credentials and drop
 * capabilities, and whether this process may: -EPERM with err naming the
 * capabilities it lacks. */
int runas_check(struct runas_user *u, char *err, size_t err_size);

/* The same for --run-as-requester, where each command runs as a user of
 * its own, whoever it is: u is the server's own user (runas_resolve(NULL)),
 * whose drop_caps it sets; -EPERM with err naming what this process lacks. */
int runas_check_requester(struct runas_user *u, char *err, size_t err_size);

void runas_release(struct runas_user *u);

/* For messages, whom commands run as: SPEC's USER part, or (spec NULL) the
 * server's own user's name (a blocking NSS lookup, as runas_resolve), or
 * "uid N" for a uid with no name. */
void runas_describe(const char *spec, char *buf, size_t size);

/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A uid's user on this host, as NSS says: its passwd entry's name, home and
 * shell, and the groups initgroups() would give it (getgrouplist). A
 * blocking look-up: NSS may be LDAP or SSSD and take seconds, so never on an
 * event loop; the servers make it on authq's thread, right after a MUNGE
 * decode, and hand the loop what it found. Never logs, never exits.
 */

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The longest user name kept (with its NUL); a longer one is -ENAMETOOLONG. */
#define USERDB_NAME_MAX 64
/* Supplementary groups kept: spawn.h's SPAWN_MAX_GROUPS. */
#define USERDB_MAX_GROUPS 64

struct userdb_user {
        /* 0: found. -ENOENT: the uid has no passwd entry here. -ENAMETOOLONG:
         * its name, home or shell does not fit. -E2BIG: it is in more than
         * USERDB_MAX_GROUPS groups. Else NSS's error (-EIO, -ETIMEDOUT...). */
        int error;
        bool looked_up; /* a look-up was made: false for a credential not decoded */
        char name[USERDB_NAME_MAX];
        char home[PATH_MAX];
        char shell[PATH_MAX];
        size_t n_groups; /* with groups asked for: getgrouplist's, gid among them */
        gid_t groups[USERDB_MAX_GROUPS];
};

/* Looks uid up into *u: its name, home and shell; with groups, also the
 * groups of that name with gid as the primary one. buf (size bytes) is the
 * look-up's scratch space; an entry that needs more gets a larger buffer for
 * that look-up alone. Returns u->error. */
int userdb_lookup(uid_t uid, gid_t gid, bool groups, struct userdb_user *u, char *buf, size_t size);

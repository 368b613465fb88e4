/* SPDX-License-Identifier: MIT */
/* A uid's user on this host, through NSS (userdb.h). */
#include "userdb.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

/* NSS answers bigger than this (an entry of many kilobytes) are an error. */
#define USERDB_BUFFER_MAX ((size_t) 1 << 20)

/* Copies s into dst (size bytes): false when it does not fit. */
static bool userdb_copy(char *dst, size_t size, const char *s) {
        size_t len = strlen(s);

        if (len >= size)
                return false;
        memcpy(dst, s, len + 1);
        return true;
}

/* The entry's strings into u, and with groups its groups: 0 or -errno. */
static int userdb_fill(const struct passwd *pw, gid_t gid, bool groups, struct userdb_user *u) {
        int n = USERDB_MAX_GROUPS;

        if (!userdb_copy(u->name, sizeof u->name, pw->pw_name) ||
            !userdb_copy(u->home, sizeof u->home, pw->pw_dir[0] ? pw->pw_dir : "/") ||
            !userdb_copy(u->shell, sizeof u->shell, pw->pw_shell[0] ? pw->pw_shell : "/bin/sh"))
                return -ENAMETOOLONG;
        if (!groups)
                return 0;
        if (getgrouplist(pw->pw_name, gid, u->groups, &n) < 0)
                return -E2BIG;
        u->n_groups = (size_t) n;
        return 0;
}

int userdb_lookup(uid_t uid, gid_t gid, bool groups, struct userdb_user *u, char *buf, size_t size) {
        struct passwd pw, *found = NULL;
        char *big = NULL;
        int r;

        u->looked_up = true;
        u->name[0] = u->home[0] = u->shell[0] = '\0';
        u->n_groups = 0;
        r = getpwuid_r(uid, &pw, buf, size, &found);
        /* A rare entry larger than the caller's buffer: one of its own, for now. */
        for (size_t grown = size * 2; r == ERANGE && grown <= USERDB_BUFFER_MAX; grown *= 2) {
                char *b = realloc(big, grown);
                if (!b) {
                        r = ENOMEM;
                        break;
                }
                big = b;
                r = getpwuid_r(uid, &pw, big, grown, &found);
        }
        if (r != 0)
                u->error = -r;
        else if (!found)
                u->error = -ENOENT;
        else
                u->error = userdb_fill(&pw, gid, groups, u);
        free(big);
        return u->error;
}

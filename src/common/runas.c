/* SPDX-License-Identifier: MIT */
/* Whom the commands run as, resolved at start, and whether we may switch to it (runas.h). */
#include "runas.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h> /* capget(): glibc has no wrapper */
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* NSS answers bigger than this (a group of many thousand members) are an error. */
#define RUNAS_BUFFER_MAX ((size_t) 1 << 22)

/* A uid or gid in decimal; (uid_t) -1 is no id. */
static bool runas_parse_id(const char *s, unsigned *ret) {
        unsigned long v = 0;

        if (*s == '\0' || strlen(s) > 10)
                return false;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return false;
                v = v * 10 + (unsigned long) (*p - '0');
        }
        if (v >= UINT32_MAX)
                return false;
        *ret = (unsigned) v;
        return true;
}

/* getpwnam_r (NAME) or getpwuid_r, with a buffer grown as NSS asks; *buf is
 * the caller's to free. 0, -ENOENT (no such user) or -errno. */
static int runas_getpw(const char *name, uid_t uid, struct passwd *pw, char **buf) {
        struct passwd *found = NULL;

        for (size_t size = 1024;; size *= 2) {
                char *b = realloc(*buf, size);
                int r;
                if (!b)
                        return -ENOMEM;
                *buf = b;
                r = name ? getpwnam_r(name, pw, b, size, &found)
                         : getpwuid_r(uid, pw, b, size, &found);
                if (r == ERANGE && size < RUNAS_BUFFER_MAX)
                        continue;
                if (r != 0)
                        return -r;
                return found ? 0 : -ENOENT;
        }
}

static int runas_getgr(const char *name, gid_t *gid) {
        struct group gr, *found = NULL;
        char *buf = NULL;

        for (size_t size = 1024;; size *= 2) {
                char *b = realloc(buf, size);
                int r;
                if (!b) {
                        free(buf);
                        return -ENOMEM;
                }
                buf = b;
                r = getgrnam_r(name, &gr, b, size, &found);
                if (r == ERANGE && size < RUNAS_BUFFER_MAX)
                        continue;
                if (r == 0 && found)
                        *gid = gr.gr_gid;
                free(buf);
                return r != 0 ? -r : found ? 0 : -ENOENT;
        }
}

/* name, home and shell: the passwd entry's, or, for a uid without one, the
 * number, / and /bin/sh. */
static int runas_set_strings(struct runas_user *u, const struct passwd *pw) {
        char number[16];

        snprintf(number, sizeof number, "%u", (unsigned) u->creds.uid);
        u->name = strdup(pw ? pw->pw_name : number);
        u->home = strdup(pw && pw->pw_dir[0] ? pw->pw_dir : "/");
        u->shell = strdup(pw && pw->pw_shell[0] ? pw->pw_shell : "/bin/sh");
        return u->name && u->home && u->shell ? 0 : -ENOMEM;
}

/* The server's own user: its effective ids and, if it has one, its passwd entry. */
static int runas_self(struct runas_user *u, char *err, size_t err_size) {
        struct passwd pw;
        char *buf = NULL;
        int r;

        u->own = true;
        u->creds.uid = geteuid();
        u->creds.gid = getegid();
        r = runas_getpw(NULL, u->creds.uid, &pw, &buf);
        if (r < 0 && r != -ENOENT) {
                snprintf(err, err_size, "looking up the server's own user (uid %u) failed: %s",
                         (unsigned) u->creds.uid, strerror(-r));
                free(buf);
                return r;
        }
        r = runas_set_strings(u, r == 0 ? &pw : NULL);
        free(buf);
        if (r < 0)
                snprintf(err, err_size, "%s", strerror(-r));
        return r;
}

/* The user's groups (getgrouplist, as initgroups would set them), at most SPAWN_MAX_GROUPS. */
static int runas_groups(struct runas_user *u, const char *spec, char *err, size_t err_size) {
        int n = SPAWN_MAX_GROUPS;

        if (getgrouplist(u->name, u->creds.gid, u->creds.groups, &n) < 0) {
                snprintf(err, err_size,
                         "--run-as %s: %s is in %d groups, more than the %d a command may have: "
                         "run commands as a user in fewer groups",
                         spec, u->name, n, SPAWN_MAX_GROUPS);
                return -E2BIG;
        }
        u->creds.n_groups = (size_t) n;
        return 0;
}

int runas_resolve(const char *spec, struct runas_user *ret, char *err, size_t err_size) {
        struct runas_user *u = ret;
        char user[256], *group;
        struct passwd pw;
        char *buf = NULL;
        unsigned id = 0;
        bool numeric, entry;
        int r;

        *u = (struct runas_user){0};
        if (!spec)
                return runas_self(u, err, err_size);
        if (strlen(spec) >= sizeof user) {
                snprintf(err, err_size, "--run-as: '%.40s...' is too long for USER[:GROUP]", spec);
                return -EINVAL;
        }
        memcpy(user, spec, strlen(spec) + 1);
        group = strchr(user, ':');
        if (group)
                *group++ = '\0';
        if (user[0] == '\0' || (group && group[0] == '\0')) {
                snprintf(err, err_size,
                         "--run-as must be USER or USER:GROUP (names or numbers), got '%s'", spec);
                return -EINVAL;
        }
        numeric = runas_parse_id(user, &id);
        r = runas_getpw(numeric ? NULL : user, (uid_t) id, &pw, &buf);
        if (r == -ENOENT && !numeric) {
                snprintf(err, err_size,
                         "--run-as %s: there is no user '%s' on this system: name an existing "
                         "user (getent passwd %s), e.g. nobody, or a uid and gid (--run-as "
                         "65534:65534)",
                         spec, user, user);
                goto fail;
        }
        if (r < 0 && r != -ENOENT) {
                snprintf(err, err_size, "--run-as %s: looking up user '%s' failed: %s", spec, user,
                         strerror(-r));
                goto fail;
        }
        entry = r == 0;
        u->creds.uid = entry ? pw.pw_uid : (uid_t) id;
        if (group) {
                if (runas_parse_id(group, &id))
                        u->creds.gid = (gid_t) id;
                else if ((r = runas_getgr(group, &u->creds.gid)) < 0) {
                        if (r == -ENOENT)
                                snprintf(err, err_size,
                                         "--run-as %s: there is no group '%s' on this system: "
                                         "name an existing group (getent group %s) or a gid",
                                         spec, group, group);
                        else
                                snprintf(err, err_size,
                                         "--run-as %s: looking up group '%s' failed: %s", spec,
                                         group, strerror(-r));
                        goto fail;
                }
        } else if (entry)
                u->creds.gid = pw.pw_gid;
        else {
                snprintf(err, err_size,
                         "--run-as %s: uid %s has no passwd entry, hence no group: give one too "
                         "(--run-as %s:GID)",
                         spec, user, user);
                r = -ENOENT;
                goto fail;
        }
        r = runas_set_strings(u, entry ? &pw : NULL);
        if (r < 0) {
                snprintf(err, err_size, "%s", strerror(-r));
                goto fail;
        }
        free(buf);
        buf = NULL;
        /* A uid without a user has no groups but its own. */
        if (!entry) {
                u->creds.groups[0] = u->creds.gid;
                u->creds.n_groups = 1;
        } else if ((r = runas_groups(u, spec, err, err_size)) < 0)
                goto fail;
        u->own = u->creds.uid == geteuid();
        return 0;
fail:
        free(buf);
        runas_release(u);
        return r < 0 ? r : -EINVAL;
}

/* Whether our supplementary groups are exactly those of u. */
static bool runas_same_groups(const struct runas_user *u) {
        gid_t ours[SPAWN_MAX_GROUPS];
        int n = getgroups(SPAWN_MAX_GROUPS, ours);

        if (n < 0 || (size_t) n != u->creds.n_groups)
                return false;
        for (size_t i = 0; i < u->creds.n_groups; i++) {
                bool found = false;
                for (int j = 0; j < n && !found; j++)
                        found = ours[j] == u->creds.groups[i];
                if (!found)
                        return false;
        }
        return true;
}

/* The capabilities a change of user needs and data's effective set lacks,
 * as "CAP_X, CAP_Y" in missing: setgroups needs CAP_SETGID; setresuid needs
 * CAP_SETUID unless to the uid we have (set_uid false); signals to the
 * command's group need CAP_KILL once it is another user's (kill). */
static void runas_missing(const struct __user_cap_data_struct *data, bool set_uid, bool kill,
                          char *missing, size_t size) {
        const struct {
                bool need;
                unsigned cap;
                const char *name;
        } caps[] = {
                {set_uid, CAP_SETUID, "CAP_SETUID"},
                {true, CAP_SETGID, "CAP_SETGID"},
                {kill, CAP_KILL, "CAP_KILL"},
        };

        missing[0] = '\0';
        for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
                if (caps[i].need && !((data[caps[i].cap / 32].effective >> (caps[i].cap % 32)) & 1))
                        snprintf(missing + strlen(missing), size - strlen(missing), "%s%s",
                                 missing[0] ? ", " : "", caps[i].name);
}

/* Our capabilities into data, and whether the commands must drop them
 * (drop_caps): 0, or -errno with err saying so. */
static int runas_caps(struct __user_cap_data_struct data[static _LINUX_CAPABILITY_U32S_3],
                      struct spawn_creds *creds, char *err, size_t err_size) {
        struct __user_cap_header_struct head = {.version = _LINUX_CAPABILITY_VERSION_3};
        int r;

        if (syscall(SYS_capget, &head, data) < 0) {
                r = -errno;
                snprintf(err, err_size, "capget: %s", strerror(-r));
                return r;
        }
        /* Ambient capabilities are permitted and inheritable ones too. */
        for (size_t i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
                if (data[i].permitted || data[i].inheritable)
                        creds->drop_caps = true;
        return 0;
}

int runas_check(struct runas_user *u, char *err, size_t err_size) {
        struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0}};
        uid_t ruid, euid, suid;
        gid_t rgid, egid, sgid;
        char missing[64];
        int r;

        r = runas_caps(data, &u->creds, err, err_size);
        if (r < 0)
                return r;
        if (getresuid(&ruid, &euid, &suid) < 0 || getresgid(&rgid, &egid, &sgid) < 0) {
                r = -errno;
                snprintf(err, err_size, "getresuid: %s", strerror(-r));
                return r;
        }
        /* The server's own ids already (or no --run-as): nothing to change. */
        u->creds.change = u->creds.n_groups > 0 &&
                          !(ruid == u->creds.uid && euid == u->creds.uid && suid == u->creds.uid &&
                            rgid == u->creds.gid && egid == u->creds.gid && sgid == u->creds.gid &&
                            runas_same_groups(u));
        if (!u->creds.change)
                return 0;
        runas_missing(data, !(ruid == u->creds.uid && euid == u->creds.uid && suid == u->creds.uid),
                      euid != u->creds.uid, missing, sizeof missing);
        if (missing[0] == '\0')
                return 0;
        snprintf(err, err_size,
                 "--run-as %s: running commands as another user needs root or the capabilities "
                 "CAP_SETUID, CAP_SETGID and CAP_KILL, and this process lacks %s: start it as "
                 "root, give it those capabilities (AmbientCapabilities= in its unit), or leave "
                 "out --run-as",
                 u->name, missing);
        return -EPERM;
}

int runas_check_requester(struct runas_user *u, char *err, size_t err_size) {
        struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0}};
        char missing[64];
        int r;

        r = runas_caps(data, &u->creds, err, err_size);
        if (r < 0)
                return r;
        /* Any requester: another uid, groups of its own, a group to signal. */
        runas_missing(data, true, true, missing, sizeof missing);
        if (missing[0] == '\0')
                return 0;
        snprintf(err, err_size,
                 "--run-as-requester: running each command as its requester needs root or the "
                 "capabilities CAP_SETUID, CAP_SETGID and CAP_KILL, and this process lacks %s: "
                 "start it as root, give it those capabilities (AmbientCapabilities= in its "
                 "unit), or leave out --run-as-requester",
                 missing);
        return -EPERM;
}

void runas_release(struct runas_user *u) {
        free(u->name);
        free(u->home);
        free(u->shell);
        u->name = u->home = u->shell = NULL;
}

void runas_describe(const char *spec, char *buf, size_t size) {
        struct passwd pw, *found = NULL;
        char storage[1024];

        if (spec) {
                snprintf(buf, size, "%.*s", (int) strcspn(spec, ":"), spec);
                return;
        }
        if (getpwuid_r(geteuid(), &pw, storage, sizeof storage, &found) == 0 && found)
                snprintf(buf, size, "%s", found->pw_name);
        else
                snprintf(buf, size, "uid %u", (unsigned) geteuid());
}

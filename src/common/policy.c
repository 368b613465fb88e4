/* SPDX-License-Identifier: MIT */
/* Who may connect and what may run: addresses, users, the command table (policy.h). */
#include "policy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "frame.h"

static int policy_parse_prefix(const char *s, unsigned max, unsigned *ret) {
        unsigned long v;

        if (args_parse_uint(s, 0, max, &v) < 0)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

int policy_add_net(struct policy *p, const char *cidr) {
        struct policy_net net = {0};
        char text[INET6_ADDRSTRLEN + 8];
        size_t n = strlen(cidr);
        char *slash;

        if (p->n_nets >= POLICY_MAX_NETS)
                return -E2BIG;
        if (n >= sizeof text)
                return -EINVAL;
        memcpy(text, cidr, n + 1);
        slash = strchr(text, '/');
        if (slash)
                *slash = '\0';
        if (inet_pton(AF_INET, text, net.addr) == 1) {
                net.family = AF_INET;
                net.prefix = 32;
        } else if (inet_pton(AF_INET6, text, net.addr) == 1) {
                net.family = AF_INET6;
                net.prefix = 128;
        } else
                return -EINVAL;
        if (slash && policy_parse_prefix(slash + 1, net.prefix, &net.prefix) < 0)
                return -EINVAL;
        p->nets[p->n_nets++] = net;
        return 0;
}

static int policy_parse_id(const char *s, unsigned long *ret) {
        return args_parse_uint(s, 0, (unsigned long) (uid_t) -2, ret);
}

int policy_add_uid(struct policy *p, const char *user) {
        unsigned long id;

        if (p->n_uids >= POLICY_MAX_IDS)
                return -E2BIG;
        if (policy_parse_id(user, &id) < 0) {
                const struct passwd *pw = getpwnam(user);
                if (!pw)
                        return -ENOENT;
                id = pw->pw_uid;
        }
        p->uids[p->n_uids++] = (uid_t) id;
        return 0;
}

int policy_add_group(struct policy *p, const char *group) {
        unsigned long id;

        if (p->n_gids >= POLICY_MAX_IDS)
                return -E2BIG;
        if (policy_parse_id(group, &id) < 0) {
                const struct group *gr = getgrnam(group);
                if (!gr)
                        return -ENOENT;
                id = gr->gr_gid;
        }
        p->gids[p->n_gids++] = (gid_t) id;
        return 0;
}

static bool policy_net_matches(const struct policy_net *net, sa_family_t family,
                               const unsigned char *addr) {
        unsigned full = net->prefix / 8, rest = net->prefix % 8;

        if (net->family != family)
                return false;
        if (memcmp(net->addr, addr, full) != 0)
                return false;
        if (rest == 0)
                return true;
        unsigned char mask = (unsigned char) (0xff << (8 - rest));
        return (net->addr[full] & mask) == (addr[full] & mask);
}

bool policy_allows_address(const struct policy *p, const struct sockaddr *sa) {
        const unsigned char *addr;
        sa_family_t family = sa->sa_family;

        if (p->n_nets == 0)
                return true;
        if (family == AF_INET)
                addr = (const unsigned char *) &((const struct sockaddr_in *) sa)->sin_addr;
        else if (family == AF_INET6) {
                const struct in6_addr *a6 = &((const struct sockaddr_in6 *) sa)->sin6_addr;
                addr = a6->s6_addr;
                if (IN6_IS_ADDR_V4MAPPED(a6)) {
                        family = AF_INET;
                        addr += 12;
                }
        } else
                return false;
        for (size_t i = 0; i < p->n_nets; i++)
                if (policy_net_matches(&p->nets[i], family, addr))
                        return true;
        return false;
}

static bool policy_has_uid(const struct policy *p, uid_t uid) {
        for (size_t i = 0; i < p->n_uids; i++)
                if (p->uids[i] == uid)
                        return true;
        return false;
}

static bool policy_has_gid(const struct policy *p, gid_t gid) {
        for (size_t i = 0; i < p->n_gids; i++)
                if (p->gids[i] == gid)
                        return true;
        return false;
}

bool policy_allows_ids(const struct policy *p, uid_t uid, gid_t gid) {
        if (p->n_uids == 0 && p->n_gids == 0)
                return true;
        return policy_has_uid(p, uid) || policy_has_gid(p, gid);
}

/* SO_PEERCRED gives the primary group; SO_PEERGROUPS the supplementary ones. */
static int policy_check_unix_peer(const struct policy *p, int fd) {
        struct ucred cred;
        socklen_t len = sizeof cred;
        gid_t groups[256];

        if (p->n_uids == 0 && p->n_gids == 0)
                return 0;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        if (policy_has_uid(p, cred.uid) || policy_has_gid(p, cred.gid))
                return 0;
        len = sizeof groups;
        if (p->n_gids > 0 && getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
                for (size_t i = 0; i < len / sizeof groups[0]; i++)
                        if (policy_has_gid(p, groups[i]))
                                return 0;
        return -EACCES;
}

int policy_check_peer(const struct policy *p, int fd) {
        struct sockaddr_storage ss = {0};
        socklen_t len = sizeof ss;

        if (getpeername(fd, (struct sockaddr *) &ss, &len) < 0)
                return -errno;
        return policy_check_peer_addr(p, fd, &ss);
}

int policy_check_peer_addr(const struct policy *p, int fd, const struct sockaddr_storage *ss) {
        if (ss->ss_family == AF_UNIX)
                return policy_check_unix_peer(p, fd);
        return policy_allows_address(p, (const struct sockaddr *) ss) ? 0 : -EACCES;
}

const char *policy_uncovered(const struct policy *p, enum policy_socket kind, bool munge) {
        bool by_address = p->n_nets > 0, by_user = p->n_uids > 0 || p->n_gids > 0;

        switch (kind) {
        case POLICY_SOCKET_UNIX:
                if (by_address && !by_user)
                        return "--allow applies to addresses, which a Unix socket's peers do not "
                               "have, and no --allow-uid or --allow-group is given: every local "
                               "user who can open the socket may run commands";
                return NULL;
        case POLICY_SOCKET_IP:
                /* With --munge every TCP request carries a uid and gid to judge. */
                if (by_user && !by_address && !munge)
                        return "--allow-uid and --allow-group apply to the local users of a Unix "
                               "socket, not to TCP peers, and no --allow is given: every address "
                               "that reaches it may run commands";
                return NULL;
        }
        return NULL;
}

static char *policy_trim(char *s) {
        char *end;

        while (isspace((unsigned char) *s))
                s++;
        end = s + strlen(s);
        while (end > s && isspace((unsigned char) end[-1]))
                *--end = '\0';
        return s;
}

static bool policy_valid_name(const char *name) {
        size_t n = strlen(name);

        if (n == 0 || n > POLICY_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) name[i]) && !strchr("_.-", name[i]))
                        return false;
        return true;
}

/* Adds name -> command: 0, or -EINVAL/-E2BIG with the reason in why. */
static int policy_add_command(struct policy_table *t, char *name, char *command, const char **why) {
        if (!policy_valid_name(name))
                return *why = "a name is 1 to 64 letters, digits, '_', '.' or '-'", -EINVAL;
        if (command[0] == '\0')
                return *why = "empty command line", -EINVAL;
        if (strlen(command) > FRAME_MAX_COMMAND_LIMIT)
                return *why = "command line longer than " FRAME_MAX_COMMAND_LIMIT_TEXT " bytes",
                       -EINVAL;
        if (policy_lookup(t, name))
                return *why = "name defined twice", -EINVAL;
        if (t->count >= POLICY_MAX_COMMANDS)
                return *why = "more than 1024 commands", -E2BIG;
        t->entries[t->count++] = (struct policy_command){.name = name, .line = command};
        return 0;
}

/* Parses one line of nbnet's form into the table: 0, or -errno with the reason in why. */
static int policy_parse_line(struct policy_table *t, char *line, const char **why) {
        char *eq;

        line = policy_trim(line);
        if (line[0] == '\0' || line[0] == '#')
                return 0;
        eq = strchr(line, '=');
        if (!eq)
                return *why = "expected 'name = command line'", -EINVAL;
        *eq = '\0';
        return policy_add_command(t, policy_trim(line), policy_trim(eq + 1), why);
}

/* Reads a whole regular file of at most POLICY_FILE_MAX bytes, NUL-terminated;
 * anything else (FIFO, device, directory) is -EINVAL, without blocking. */
static int policy_read_file(const char *path, struct policy_text **ret) {
        struct policy_text *buf = NULL;
        struct stat st;
        size_t got = 0;
        int fd, r = 0;

        /* O_NONBLOCK: open() of a FIFO with no writer would wait for one, and
         * the server with it; only a regular file gets past fstat(). */
        fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                r = -errno;
        else if (!S_ISREG(st.st_mode))
                r = -EINVAL;
        else if (st.st_size > (off_t) POLICY_FILE_MAX)
                r = -EFBIG;
        else if (!(buf = calloc(1, sizeof *buf + (size_t) st.st_size + 1)))
                r = -ENOMEM;
        while (r == 0 && got < (size_t) st.st_size) {
                ssize_t n = read(fd, buf->text + got, (size_t) st.st_size - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        r = n < 0 ? -errno : -EIO;
                else
                        got += (size_t) n;
        }
        close(fd);
        /* r == 0 means buf was allocated; clang 14's analyzer thinks fstat() or
         * read() may fail with errno 0. */
        /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker) */
        if (r == 0 && memchr(buf->text, '\0', got))
                r = -EBADMSG;
        if (r < 0) {
                free(buf);
                return r;
        }
        /* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): as above */
        buf->text[got] = '\0';
        buf->next = NULL;
        *ret = buf;
        return 0;
}

static const char *policy_file_error(int r) {
        switch (r) {
        case -EINVAL:
                return "not a regular file";
        case -EFBIG:
                return "larger than 1 MiB";
        case -EBADMSG:
                return "contains a NUL byte";
        default:
                return strerror(-r);
        }
}

/* One load: the table, where its error goes, how many files so far. */
struct policy_loader {
        struct policy_table *t;
        char *err;
        size_t err_size;
        unsigned files;
};

static int policy_load_file(struct policy_loader *l, const char *path, unsigned depth);

/* An nrpe.cfg: some line, past its blanks, starts with "command[". */
static bool policy_is_nrpe(const char *text) {
        for (const char *line = text; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
                while (*line == ' ' || *line == '\t')
                        line++;
                if (strncmp(line, "command[", 8) == 0)
                        return true;
        }
        return false;
}

/* Whether a line uses NRPE's arguments ($ARG1$..), which nbnet never passes. */
static bool policy_has_nrpe_arg(const char *line) {
        for (const char *p = strstr(line, "$ARG"); p; p = strstr(p + 1, "$ARG")) {
                const char *d = p + 4;
                while (*d >= '0' && *d <= '9')
                        d++;
                if (d > p + 4 && *d == '$')
                        return true;
        }
        return false;
}

/* Notes a skipped nrpe.cfg directive line; each name is shown once. Names
 * are valid names (no ',' nor ' '), so a match between separators is exact. */
static void policy_note_skipped(struct policy_table *t, const char *key) {
        size_t used = strlen(t->skipped), n = strlen(key);

        t->n_skipped++;
        for (const char *p = t->skipped; (p = strstr(p, key)); p++)
                if ((p == t->skipped || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
                        return;
        if (used + 2 + n + 1 <= sizeof t->skipped - 5)
                snprintf(t->skipped + used, sizeof t->skipped - used, "%s%s", used ? ", " : "", key);
        else if (!strstr(t->skipped, "..."))
                snprintf(t->skipped + used, sizeof t->skipped - used, "%s", ", ...");
}

/* include= names a file, include_dir= a folder. nrpe takes a relative name
 * from its working directory, which a daemon's is not worth meaning: here
 * it is relative to the including file's folder (absolute names agree). */
static int policy_include_path(const char *from, const char *name, char *buf, size_t size) {
        const char *slash = strrchr(from, '/');
        int n;

        if (name[0] == '/' || !slash)
                n = snprintf(buf, size, "%s", name);
        else
                n = snprintf(buf, size, "%.*s/%s", (int) (slash - from), from, name);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

static int policy_dir_filter(const struct dirent *d) {
        return d->d_name[0] != '.';
}

/* include_dir=: every *.cfg file under dir, sub-folders included, in name order. */
static int policy_load_dir(struct policy_loader *l, const char *dir, unsigned depth) {
        struct dirent **list = NULL;
        char path[PATH_MAX];
        int n, r = 0;

        n = scandir(dir, &list, policy_dir_filter, alphasort);
        if (n < 0) {
                r = -errno;
                snprintf(l->err, l->err_size, "%s: %s", dir, strerror(-r));
                return r;
        }
        for (int i = 0; i < n; i++) {
                struct stat st;
                size_t len = strlen(list[i]->d_name);

                if (r < 0)
                        goto next;
                if (snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name) >= (int) sizeof path) {
                        r = -ENAMETOOLONG;
                        snprintf(l->err, l->err_size, "%s: %s", dir, strerror(-r));
                } else if (stat(path, &st) < 0) {
                        r = -errno;
                        snprintf(l->err, l->err_size, "%s: %s", path, strerror(-r));
                } else if (S_ISDIR(st.st_mode)) {
                        if (depth >= POLICY_INCLUDE_DEPTH) {
                                r = -ELOOP;
                                snprintf(l->err, l->err_size, "%s: folders nested more than %d deep",
                                         path, POLICY_INCLUDE_DEPTH);
                        } else
                                r = policy_load_dir(l, path, depth + 1);
                } else if (S_ISREG(st.st_mode) && len > 4 &&
                           strcmp(list[i]->d_name + len - 4, ".cfg") == 0)
                        r = policy_load_file(l, path, depth + 1);
        next:
                free(list[i]);
        }
        free(list);
        return r;
}

/* include=, include_file=, include_dir=: loads it; on failure the included
 * file's message comes after "PATH:LINE: ". */
static int policy_include(struct policy_loader *l, const char *from, unsigned lineno,
                          const char *key, const char *value, unsigned depth) {
        char path[PATH_MAX], inner[512];
        char *err = l->err;
        size_t err_size = l->err_size;
        int r;

        if (depth >= POLICY_INCLUDE_DEPTH) {
                snprintf(err, err_size, "%s:%u: includes nested more than %d deep", from, lineno,
                         POLICY_INCLUDE_DEPTH);
                return -ELOOP;
        }
        if (value[0] == '\0') {
                snprintf(err, err_size, "%s:%u: %s= names no file", from, lineno, key);
                return -EINVAL;
        }
        r = policy_include_path(from, value, path, sizeof path);
        if (r < 0) {
                snprintf(err, err_size, "%s:%u: %s=%s: %s", from, lineno, key, value, strerror(-r));
                return r;
        }
        l->err = inner;
        l->err_size = sizeof inner;
        inner[0] = '\0';
        r = strcmp(key, "include_dir") == 0 ? policy_load_dir(l, path, depth + 1)
                                            : policy_load_file(l, path, depth + 1);
        l->err = err;
        l->err_size = err_size;
        if (r < 0)
                snprintf(err, err_size, "%s:%u: %s", from, lineno, inner);
        return r;
}

/* One line of an nrpe.cfg: a command, an include, or a directive nbnet skips. */
static int policy_parse_nrpe_line(struct policy_loader *l, const char *path, unsigned lineno,
                                  char *line, unsigned depth, const char **why) {
        char *eq, *key, *value, *bracket;

        line = policy_trim(line);
        if (line[0] == '\0' || line[0] == '#')
                return 0;
        eq = strchr(line, '=');
        if (!eq)
                return *why = "expected 'command[NAME]=command line' or 'directive=value'", -EINVAL;
        *eq = '\0';
        key = policy_trim(line);
        value = policy_trim(eq + 1);
        if (strncmp(key, "command[", 8) == 0) {
                bracket = key + strlen(key) - 1;
                if (*bracket != ']')
                        return *why = "expected 'command[NAME]=command line'", -EINVAL;
                *bracket = '\0';
                if (policy_has_nrpe_arg(value))
                        return *why = "$ARGn$: nbnet passes no arguments to commands (write the "
                                      "values into the line, or define one name per variant)",
                               -EINVAL;
                return policy_add_command(l->t, key + 8, value, why);
        }
        if (strcmp(key, "include") == 0 || strcmp(key, "include_file") == 0 ||
            strcmp(key, "include_dir") == 0)
                return policy_include(l, path, lineno, key, value, depth);
        if (!policy_valid_name(key))
                return *why = "expected 'command[NAME]=command line' or 'directive=value'", -EINVAL;
        policy_note_skipped(l->t, key);
        return 0;
}

/* Loads one file into l->t; its text joins the table's storage. */
static int policy_load_file(struct policy_loader *l, const char *path, unsigned depth) {
        struct policy_text *text = NULL;
        const char *why = NULL;
        char *line, *next;
        unsigned lineno = 0;
        bool nrpe;
        int r;

        if (++l->files > POLICY_MAX_FILES) {
                snprintf(l->err, l->err_size, "%s: more than %d files included", path,
                         POLICY_MAX_FILES);
                return -E2BIG;
        }
        r = policy_read_file(path, &text);
        /* clang 14's analyzer thinks open() may fail with errno 0. */
        if (r >= 0 && !text)
                r = -EIO;
        if (r < 0) {
                snprintf(l->err, l->err_size, "%s: %s", path, policy_file_error(r));
                return r;
        }
        text->next = l->t->storage;
        l->t->storage = text;
        nrpe = policy_is_nrpe(text->text);
        for (line = text->text; line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                lineno++;
                why = NULL;
                r = nrpe ? policy_parse_nrpe_line(l, path, lineno, line, depth, &why)
                         : policy_parse_line(l->t, line, &why);
                if (r < 0) {
                        /* An include wrote its own message. */
                        if (why)
                                snprintf(l->err, l->err_size, "%s:%u: %s", path, lineno, why);
                        return r;
                }
        }
        return 0;
}

int policy_load_commands(struct policy_table *t, const char *path, char *err, size_t err_size) {
        struct policy_loader l = {.t = t, .err = err, .err_size = err_size};
        int r;

        *t = (struct policy_table){0};
        t->entries = calloc(POLICY_MAX_COMMANDS, sizeof *t->entries);
        if (!t->entries) {
                snprintf(err, err_size, "%s: out of memory", path);
                return -ENOMEM;
        }
        r = policy_load_file(&l, path, 0);
        if (r < 0)
                policy_table_release(t);
        return r;
}

const char *policy_lookup(const struct policy_table *t, const char *name) {
        /* Entries below count all have a name; clang 14's analyzer loses count
         * when policy_load_commands() passes &t->storage to policy_read_file(). */
        for (size_t i = 0; i < t->count; i++)
                /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker) */
                if (strcmp(t->entries[i].name, name) == 0)
                        return t->entries[i].line;
        return NULL;
}

void policy_table_release(struct policy_table *t) {
        free(t->entries);
        while (t->storage) {
                struct policy_text *next = t->storage->next;
                free(t->storage);
                t->storage = next;
        }
        *t = (struct policy_table){0};
}

/* SPDX-License-Identifier: MIT */
#include "policy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
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

const char *policy_uncovered(const struct policy *p, enum policy_socket kind) {
        bool by_address = p->n_nets > 0, by_user = p->n_uids > 0 || p->n_gids > 0;

        switch (kind) {
        case POLICY_SOCKET_UNIX:
                if (by_address && !by_user)
                        return "--allow applies to addresses, which a Unix socket's peers do not "
                               "have, and no --allow-uid or --allow-group is given: every local "
                               "user who can open the socket may run commands";
                return NULL;
        case POLICY_SOCKET_IP:
                if (by_user && !by_address)
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

/* Parses one line into the table: 0, or -EINVAL with the reason in err. */
static int policy_parse_line(struct policy_table *t, char *line, const char **why) {
        char *eq, *name, *command;

        line = policy_trim(line);
        if (line[0] == '\0' || line[0] == '#')
                return 0;
        eq = strchr(line, '=');
        if (!eq)
                return *why = "expected 'name = command line'", -EINVAL;
        *eq = '\0';
        name = policy_trim(line);
        command = policy_trim(eq + 1);
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

/* Reads a whole regular file of at most POLICY_FILE_MAX bytes, NUL-terminated;
 * anything else (FIFO, device, directory) is -EINVAL, without blocking. */
static int policy_read_file(const char *path, char **ret) {
        struct stat st;
        char *buf = NULL;
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
        else if (!(buf = malloc((size_t) st.st_size + 1)))
                r = -ENOMEM;
        while (r == 0 && got < (size_t) st.st_size) {
                ssize_t n = read(fd, buf + got, (size_t) st.st_size - got);
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
        if (r == 0 && memchr(buf, '\0', got))
                r = -EBADMSG;
        if (r < 0) {
                free(buf);
                return r;
        }
        /* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): as above */
        buf[got] = '\0';
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

int policy_load_commands(struct policy_table *t, const char *path, char *err, size_t err_size) {
        const char *why = NULL;
        char *line, *next;
        unsigned lineno = 0;
        int r;

        *t = (struct policy_table){0};
        r = policy_read_file(path, &t->storage);
        if (r < 0) {
                snprintf(err, err_size, "%s: %s", path, policy_file_error(r));
                return r;
        }
        t->entries = calloc(POLICY_MAX_COMMANDS, sizeof *t->entries);
        if (!t->entries) {
                policy_table_release(t);
                snprintf(err, err_size, "%s: out of memory", path);
                return -ENOMEM;
        }
        for (line = t->storage; line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                lineno++;
                r = policy_parse_line(t, line, &why);
                if (r < 0) {
                        snprintf(err, err_size, "%s:%u: %s", path, lineno, why);
                        policy_table_release(t);
                        return r;
                }
        }
        return 0;
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
        free(t->storage);
        *t = (struct policy_table){0};
}

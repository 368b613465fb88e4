/* SPDX-License-Identifier: MIT */
/* Who may connect: addresses, users and groups (policy.h). */
#include "policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <string.h>

#include "args.h"

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

bool policy_has_uid(const struct policy *p, uid_t uid) {
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

bool policy_is_loopback(const struct sockaddr *sa) {
        if (sa->sa_family == AF_INET)
                return (ntohl(((const struct sockaddr_in *) sa)->sin_addr.s_addr) >> 24) == 127;
        if (sa->sa_family == AF_INET6) {
                const struct in6_addr *a6 = &((const struct sockaddr_in6 *) sa)->sin6_addr;
                return IN6_IS_ADDR_LOOPBACK(a6) ||
                       (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
        }
        return false;
}

bool policy_open_to_network(const struct policy *p, const struct policy *hosts,
                            const struct sockaddr *local, bool munge) {
        if (munge || p->n_nets > 0 || (hosts && hosts->n_nets > 0))
                return false;
        return (local->sa_family == AF_INET || local->sa_family == AF_INET6) &&
               !policy_is_loopback(local);
}

const char *policy_unused(const struct policy *p, enum policy_socket kind, bool munge) {
        bool by_user = p->n_uids > 0 || p->n_gids > 0;

        if (kind != POLICY_SOCKET_IP || !by_user || munge || p->n_nets == 0)
                return NULL;
        return "--allow-uid and --allow-group cannot apply to it: TCP carries no uid (only a "
               "MUNGE credential does), so its peers are judged by --allow alone; give --munge "
               "to judge the credential's user, or serve those users on a Unix socket "
               "(--listen PATH)";
}

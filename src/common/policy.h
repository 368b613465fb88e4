/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Who may connect: an address allow-list for IP peers, uid and group lists
 * for Unix peers (SO_PEERCRED) and for the ids a MUNGE credential vouches
 * for. What may run is the command table's (cmdtable.h). Never logs, never
 * exits: errors come back as negative errno values.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#define POLICY_MAX_NETS 64
#define POLICY_MAX_IDS 32

struct policy_net {
        sa_family_t family;
        unsigned char addr[16];
        unsigned prefix;
};

struct policy {
        struct policy_net nets[POLICY_MAX_NETS];
        size_t n_nets; /* 0: every address may connect */
        uid_t uids[POLICY_MAX_IDS];
        size_t n_uids;
        gid_t gids[POLICY_MAX_IDS];
        size_t n_gids; /* uids and gids both empty: every local user may connect */
};

/* "192.0.2.0/24", "2001:db8::/32", "127.0.0.1" (a host). -EINVAL, -E2BIG. */
int policy_add_net(struct policy *p, const char *cidr);
/* A user name or a numeric uid. -ENOENT for an unknown user. */
int policy_add_uid(struct policy *p, const char *user);
/* A group name or a numeric gid. -ENOENT for an unknown group. */
int policy_add_group(struct policy *p, const char *group);

/* Whether --allow-uid names uid itself (a group of its does not count). */
bool policy_has_uid(const struct policy *p, uid_t uid);

/* Whether an IP address may connect; IPv4-mapped IPv6 matches IPv4 rules. */
bool policy_allows_address(const struct policy *p, const struct sockaddr *sa);

/* Whether the uid and gid that a MUNGE credential carries pass --allow-uid
 * and --allow-group (both lists empty: anyone). The credential carries the
 * primary group alone: supplementary groups are not looked up. */
bool policy_allows_ids(const struct policy *p, uid_t uid, gid_t gid);

/* The kinds of socket a rule applies to, or does not. */
enum policy_socket {
        POLICY_SOCKET_IP,   /* TCP: peers have addresses (--allow) */
        POLICY_SOCKET_UNIX, /* Unix: peers have credentials (--allow-uid, --allow-group) */
};

/* Whether the rules given restrict a socket of this kind: NULL when they do
 * (or when none is given), else why not (a rule that does not apply to it,
 * and none that does: it is open to everyone). The one place that says which
 * rule applies to which kind: with munge (--munge), a credential's uid and
 * gid meet --allow-uid and --allow-group on TCP too. */
const char *policy_uncovered(const struct policy *p, enum policy_socket kind, bool munge);

/* Whether a socket's own address is loopback's (127.0.0.0/8, ::1, an
 * IPv4-mapped 127.0.0.0/8): only this host's processes can reach it. */
bool policy_is_loopback(const struct sockaddr *sa);

/* Whether a TCP socket bound to local is open to the network: beyond
 * loopback, with no address rule (--allow, or hosts: a --commands table's
 * allowed_hosts, NULL for none) and no --munge. */
bool policy_open_to_network(const struct policy *p, const struct policy *hosts,
                            const struct sockaddr *local, bool munge);

/* A rule that does nothing on a socket of this kind although another covers
 * it: NULL, or why (--allow-uid or --allow-group beside --allow on TCP,
 * without --munge: TCP carries no uid). policy_uncovered() says when no rule
 * covers it at all. */
const char *policy_unused(const struct policy *p, enum policy_socket kind, bool munge);

/* Checks the peer of a connection: 0 allowed, -EACCES refused, other
 * negative errno when the peer could not be looked up. */
int policy_check_peer(const struct policy *p, int fd);

/* The same with the peer's address that accept() returned (ss). */
int policy_check_peer_addr(const struct policy *p, int fd, const struct sockaddr_storage *ss);

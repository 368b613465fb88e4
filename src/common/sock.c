/* SPDX-License-Identifier: MIT */
/* Small facts about a connection's socket (sock.h). */
#include "sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
/* linux/tcp.h, not netinet/tcp.h: glibc's struct tcp_info lacks tcpi_bytes_sent. */
#include <linux/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

/* Idle seconds, probe interval and count: a vanished peer is found within
 * about 5 + 2 * 3 seconds of silence. */
#define KEEPALIVE_IDLE 5
#define KEEPALIVE_INTERVAL 2
#define KEEPALIVE_COUNT 3

int sock_peer_of(int fd, struct sock_peer *peer) {
        struct sockaddr_storage ss = {0};
        socklen_t len = sizeof ss;

        *peer = (struct sock_peer){.text = "unix"};
        if (getpeername(fd, (struct sockaddr *) &ss, &len) < 0)
                return -errno;
        return sock_peer_from(&ss, peer);
}

/* v in decimal at out, no terminator; returns the length (1 to 5). */
static size_t sock_put_decimal(char *out, unsigned v) {
        char digits[8];
        size_t n = 0;

        do {
                digits[sizeof digits - ++n] = (char) ('0' + v % 10);
                v /= 10;
        } while (v != 0);
        memcpy(out, digits + sizeof digits - n, n);
        return n;
}

/* What inet_ntop and snprintf would write for an IPv4 peer, without them:
 * this runs for every connection. */
static void sock_peer_ipv4(const unsigned char a[4], in_port_t port, struct sock_peer *peer) {
        size_t n = 0, p;

        for (int i = 0; i < 4; i++) {
                if (i > 0)
                        peer->addr[n++] = '.';
                n += sock_put_decimal(peer->addr + n, a[i]);
        }
        peer->addr[n] = '\0';
        p = sock_put_decimal(peer->port, ntohs(port));
        peer->port[p] = '\0';
        memcpy(peer->text, peer->addr, n);
        peer->text[n] = ':';
        memcpy(peer->text + n + 1, peer->port, p + 1);
}

int sock_peer_from(const struct sockaddr_storage *ss, struct sock_peer *peer) {
        const void *addr;
        int family;
        in_port_t port;

        *peer = (struct sock_peer){.text = "unix"};
        family = ss->ss_family;
        if (family == AF_INET) {
                const struct sockaddr_in *sin = (const struct sockaddr_in *) ss;
                addr = &sin->sin_addr;
                port = sin->sin_port;
        } else if (family == AF_INET6) {
                const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *) ss;
                addr = &sin6->sin6_addr;
                port = sin6->sin6_port;
                if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
                        family = AF_INET;
                        addr = &sin6->sin6_addr.s6_addr[12];
                }
        } else
                return 0;
        if (family == AF_INET) {
                sock_peer_ipv4(addr, port, peer);
                return 0;
        }
        if (!inet_ntop(family, addr, peer->addr, sizeof peer->addr))
                return -errno;
        snprintf(peer->port, sizeof peer->port, "%u", (unsigned) ntohs(port));
        snprintf(peer->text, sizeof peer->text, family == AF_INET6 ? "[%s]:%s" : "%s:%s",
                 peer->addr, peer->port);
        return 0;
}

/* The peer's family and address, or for a Unix socket its uid (SO_PEERCRED). */
static int sock_peer_identity(int fd, struct sock_peer *peer, uid_t *uid) {
        struct sockaddr_storage ss = {0};
        socklen_t len = sizeof ss;
        struct ucred cred;
        int r;

        *uid = (uid_t) -1;
        if (getpeername(fd, (struct sockaddr *) &ss, &len) < 0)
                return -errno;
        r = sock_peer_from(&ss, peer);
        if (r < 0)
                return r;
        if (ss.ss_family == AF_UNIX) {
                len = sizeof cred;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                        return -errno;
                *uid = cred.uid;
        }
        return ss.ss_family;
}

int sock_same_peer(int a, int b) {
        struct sock_peer pa, pb;
        uid_t ua, ub;
        int fa = sock_peer_identity(a, &pa, &ua), fb;

        if (fa < 0)
                return fa;
        fb = sock_peer_identity(b, &pb, &ub);
        if (fb < 0)
                return fb;
        if (fa == AF_UNIX || fb == AF_UNIX)
                return fa == fb && ua == ub;
        return strcmp(pa.addr, pb.addr) == 0;
}

bool sock_is_tcp(int fd) {
        int protocol;
        socklen_t len = sizeof protocol;

        return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len) == 0 &&
               protocol == IPPROTO_TCP;
}

int sock_enable_keepalive(int fd) {
        static const struct {
                int level, name, value;
        } opts[] = {
                {SOL_SOCKET, SO_KEEPALIVE, 1},
                {IPPROTO_TCP, TCP_KEEPIDLE, KEEPALIVE_IDLE},
                {IPPROTO_TCP, TCP_KEEPINTVL, KEEPALIVE_INTERVAL},
                {IPPROTO_TCP, TCP_KEEPCNT, KEEPALIVE_COUNT},
        };

        if (!sock_is_tcp(fd))
                return 0;
        for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
                if (setsockopt(fd, opts[i].level, opts[i].name, &opts[i].value,
                               sizeof opts[i].value) < 0)
                        return -errno;
        return 0;
}

int sock_bytes_sent(int fd, uint64_t *ret) {
        struct tcp_info ti = {0};
        socklen_t len = sizeof ti;
        uint64_t sent;

        if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
                return -errno;
        /* Kernels before 4.19 fill a shorter struct without these counters. */
        if (len < offsetof(struct tcp_info, tcpi_bytes_retrans) + sizeof ti.tcpi_bytes_retrans)
                return -EOPNOTSUPP;
        /* An accepted socket's acked count starts at 0 (no SYN in it) and takes
         * 1 for our FIN once acknowledged: the payload sent is its ceiling. */
        sent = ti.tcpi_bytes_sent - ti.tcpi_bytes_retrans;
        *ret = ti.tcpi_bytes_acked < sent ? ti.tcpi_bytes_acked : sent;
        return 0;
}

int sock_hold_until_sent(int fd) {
        int one = 1;

        return setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &one, sizeof one) < 0 ? -errno : 0;
}

int sock_unsent(int fd, int *ret) {
        return ioctl(fd, SIOCOUTQNSD, ret) < 0 ? -errno : 0;
}

int sock_send_all(int fd, const void *data, size_t size) {
        const char *p = data;

        while (size > 0) {
                ssize_t n = send(fd, p, size, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                p += n;
                size -= (size_t) n;
        }
        return 0;
}

/* SPDX-License-Identifier: MIT */
#pragma once

/* Small facts about a connection, and sending on one: what the servers and the clients share. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* A peer, as systemd describes it to Accept=yes services. */
struct sock_peer {
        char addr[46]; /* empty when the peer has no IP address (a Unix socket) */
        char port[6];
        char text[56]; /* "ADDR:PORT", "[ADDR]:PORT" or "unix" for logs */
};

/* Fills peer from getpeername(); an IPv4-mapped IPv6 address reads as IPv4. */
int sock_peer_of(int fd, struct sock_peer *peer);

/* The same from an address that accept() already returned: no system call. */
int sock_peer_from(const struct sockaddr_storage *ss, struct sock_peer *peer);

/* Whether two connections come from the same peer: the same IP address (an
 * IPv4-mapped one reads as IPv4; ports may differ), or for Unix sockets the
 * same peer uid (SO_PEERCRED). 1 or 0, or -errno. */
int sock_same_peer(int a, int b);

/* TCP keepalive, so that a silent command notices a peer that vanished;
 * nothing to do (0) on a socket that is not TCP. */
int sock_enable_keepalive(int fd);

/* Whether fd is a TCP socket (keepalive and TCP_INFO apply). */
bool sock_is_tcp(int fd);

/* Bytes of payload the peer of an accepted TCP connection has acknowledged
 * (TCP_INFO), in one getsockopt: read it after the drain, when the peer has
 * had all; the caller knows the socket is TCP. -EOPNOTSUPP before 4.19. */
int sock_bytes_sent(int fd, uint64_t *ret);

/* For the trailer's delivery rule (doc/protocol.md): TCP_NOTSENT_LOWAT 1
 * makes a TCP socket writable only once nothing written is unsent; set it
 * only once the command is over, since it would throttle the command's own
 * blocking writes on the shared socket. */
int sock_hold_until_sent(int fd);

/* Bytes written to a TCP socket that have not been sent yet (SIOCOUTQNSD). */
int sock_unsent(int fd, int *ret);

/* Sends all of data on a blocking socket, through EINTR; never SIGPIPE.
 * 0, or -errno of the send() that failed (-EPIPE: the peer is gone). */
int sock_send_all(int fd, const void *data, size_t size);

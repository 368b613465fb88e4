/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The listening sockets of nbnetd: the ones systemd passes (sd_listen_fds),
 * or ones bound from --listen specifications when run by hand, and whether
 * the access rules given cover each one's kind of socket. Never logs:
 * errors come back as a negative errno and a whole message to print.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "policy.h"

/* nbnetd started by its socket with a configuration that cannot work: the
 * connections already waiting on fd are told so (request_refuse_unread), at
 * most max of them, rather than left to make systemd start it again and again. */
void listen_refuse_pending(int fd, unsigned max);

/* A listener's name in messages: a Unix socket's path (108 bytes at most) or "ADDR:PORT". */
#define LISTEN_NAME_MAX 112

/* Descriptors a listener holds: its socket. */
#define LISTEN_FDS 1

/* How nbnetd makes a Unix socket's file (--socket-mode, --socket-owner). */
struct listen_unix {
        mode_t mode; /* 0666 by default, as systemd's SocketMode= */
        uid_t uid;   /* (uid_t) -1: nbnetd's own */
        gid_t gid;   /* (gid_t) -1: as made */
};

/* A Unix socket's file that nbnetd made, removed at exit if it is still
 * the same file (no other server's); path empty: none (TCP, or systemd's). */
struct listen_file {
        char path[108];
        dev_t dev;
        ino_t ino;
};

/* One listening socket as nbnetd serves it. */
struct listener {
        int fd;
        struct listen_file file;
        bool tcp; /* TCP, not a Unix socket */
        /* Accepted until EAGAIN since keepalive was set on it: every later
         * connection inherited keepalive from the listener. */
        bool drained;
        sd_event_source *source; /* readable: connections wait to be accepted */
};

/* Binds and listens on "ADDR:PORT" (IPv4), "[ADDR]:PORT" (IPv6) or a path
 * (a Unix stream socket made with u's mode and owner, and told in *made; a
 * stale socket file there, which refuses connect(), is replaced, a live one
 * is -EADDRINUSE and any other file -EEXIST). "[::]:PORT" takes IPv4 too
 * unless net.ipv6.bindv6only is set, as systemd's ListenStream= does.
 * Returns the close-on-exec, non-blocking listening fd. */
int listen_open(const char *spec, const struct listen_unix *u, struct listen_file *made, char *err,
                size_t err_size);

/* Whether spec is an address listen_open() takes, by its text alone (a
 * path's file is not looked at): 0, or -EINVAL or -ENAMETOOLONG with err
 * saying what is wrong (as listen_open() would). */
int listen_check_spec(const char *spec, char *err, size_t err_size);

/* Removes the socket file nbnetd made, unless another took its place: 0,
 * or -errno. */
int listen_remove_file(const struct listen_file *f);

/* Takes the sockets systemd passed: their count, 0 when there are none, or
 * -ENOTSOCK with err filled when one is not a listening stream socket. */
int listen_take_activated(int *fds, size_t max, char *err, size_t err_size);

/* The listening socket's name for messages into name (LISTEN_NAME_MAX bytes):
 * its Unix socket path or "ADDR:PORT", "?" when it cannot be told (and
 * -errno when getsockname fails); *unix_socket says which kind it is. */
int listen_name(int fd, char *name, size_t size, bool *unix_socket);

/* A rule that does not apply to a listener's kind of socket, with none that
 * does, would leave it open to everyone (policy_uncovered): 1 then, with err
 * saying so, else 0. The listener is a --listen spec (fd < 0) or a socket
 * systemd passed; -errno with err filled when fd's address cannot be had. */
int listen_check_rules(const struct policy *p, bool munge, const char *spec, int fd, char *err,
                       size_t err_size);

/* What a listener's rules leave doubtful, for a warning at start: a TCP
 * listener beyond loopback that nothing restricts (policy_open_to_network;
 * hosts: the --commands table's allowed_hosts, or NULL), or a uid or group
 * rule that cannot apply to its TCP peers (policy_unused). user: who its
 * commands run as. 1 with msg filled, 0 when nothing is doubtful, -errno
 * (msg filled) when fd's address cannot be had. */
int listen_check_doubts(const struct policy *p, const struct policy *hosts, bool munge, int fd,
                        const char *user, char *msg, size_t msg_size);

/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The listening sockets of nbnetd: the ones systemd passes (sd_listen_fds),
 * or ones bound from --listen specifications when run by hand. Never logs:
 * errors come back as a negative errno and a whole message to print.
 */

#include <stddef.h>

/* Binds and listens on "ADDR:PORT" (IPv4), "[ADDR]:PORT" (IPv6) or a path
 * (a Unix stream socket; a stale socket file there is replaced, a live one is
 * -EADDRINUSE and any other file -EEXIST). "[::]:PORT"
 * takes IPv4 too unless net.ipv6.bindv6only is set, as systemd's ListenStream=
 * does. Returns the close-on-exec, non-blocking listening fd. */
int listen_open(const char *spec, char *err, size_t err_size);

/* Takes the sockets systemd passed: their count, 0 when there are none, or
 * -ENOTSOCK with err filled when one is not a listening stream socket. */
int listen_take_activated(int *fds, size_t max, char *err, size_t err_size);

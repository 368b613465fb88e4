/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Where a client connects: "HOST", "HOST:PORT", "[IPV6]", "[IPV6]:PORT", a
 * bare IPv6 literal (no port then), or "unix:PATH". Parsing, resolving with
 * getaddrinfo, connecting with a timeout, and the name messages give it.
 * Never logs, never exits.
 */

#include <stdbool.h>
#include <stdint.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>

#define TARGET_DEFAULT_PORT "9079"

struct target {
        bool is_unix;
        int family;     /* AF_UNSPEC (0: any), AF_INET or AF_INET6: the addresses tried */
        char host[256]; /* name or literal, without brackets */
        char port[6];
        struct sockaddr_un unix_addr;
        socklen_t unix_addr_len;
        char text[sizeof "[]:65535" + 256]; /* "HOST:PORT", "[IPV6]:PORT" or "unix:PATH", for messages */
};

/* default_port is used when s names none. -EINVAL for bad syntax or port,
 * -ENAMETOOLONG for a host or path that does not fit. */
int target_parse(const char *s, const char *default_port, struct target *t);

/* Every TCP address of the target (of its family), in getaddrinfo's order; freeaddrinfo() it.
 * On failure returns -EHOSTUNREACH and sets *error to getaddrinfo's reason. */
int target_resolve(const struct target *t, struct addrinfo **ret, const char **error);

/* Connects to the first address that answers, each given timeout_usec (0: no
 * limit); returns a blocking, close-on-exec socket or the last address's
 * negative errno (-ETIMEDOUT for a timeout). *error as for target_resolve. */
int target_connect(const struct target *t, uint64_t timeout_usec, const char **error);

/* Connects to one address within timeout_usec (0: no limit): a blocking,
 * close-on-exec socket, or -errno (-ETIMEDOUT for a timeout). */
int target_connect_address(const struct sockaddr *addr, socklen_t len, uint64_t timeout_usec);

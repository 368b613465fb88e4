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
        int family;     /* AF_UNSPEC (0, target_parse's), or AF_INET or AF_INET6 alone */
        char host[256]; /* name or literal, without brackets */
        char port[6];
        struct sockaddr_un unix_addr;
        socklen_t unix_addr_len;
        char text[sizeof "[]:65535" + 256]; /* "HOST:PORT", "[IPV6]:PORT" or "unix:PATH", for messages */
};

/* default_port is used when s names none. -EINVAL for bad syntax or port,
 * -ENAMETOOLONG for a host or path that does not fit. */
int target_parse(const char *s, const char *default_port, struct target *t);

/* Every TCP address of the target (of its family alone, when set), in
 * getaddrinfo's order; freeaddrinfo() it. On failure returns -EHOSTUNREACH and sets *error to getaddrinfo's reason. */
int target_resolve(const struct target *t, struct addrinfo **ret, const char **error);

/* Connects to the first address that answers, each given timeout_usec (0: no
 * limit); returns a blocking, close-on-exec socket or the last address's
 * negative errno (-ETIMEDOUT for a timeout). *error as for target_resolve. */
int target_connect(const struct target *t, uint64_t timeout_usec, const char **error);

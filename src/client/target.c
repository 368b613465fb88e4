/* SPDX-License-Identifier: MIT */
/* Where a client connects: a host and port, or a Unix socket (target.h). */
#include "target.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "args.h"

static int copy_part(char *dst, size_t size, const char *src, size_t len) {
        if (len == 0)
                return -EINVAL;
        if (len >= size)
                return -ENAMETOOLONG;
        memcpy(dst, src, len);
        dst[len] = '\0';
        return 0;
}

static int parse_port(const char *s, struct target *t) {
        unsigned long v;

        if (args_parse_uint(s, 1, 65535, &v) < 0)
                return -EINVAL;
        snprintf(t->port, sizeof t->port, "%lu", v);
        return 0;
}

static int parse_unix(const char *path, struct target *t) {
        size_t len = strlen(path);

        if (len == 0)
                return -EINVAL;
        if (len >= sizeof t->unix_addr.sun_path)
                return -ENAMETOOLONG;
        t->is_unix = true;
        t->unix_addr.sun_family = AF_UNIX;
        memcpy(t->unix_addr.sun_path, path, len + 1);
        t->unix_addr_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len + 1);
        snprintf(t->text, sizeof t->text, "unix:%s", path);
        return 0;
}

int target_parse(const char *s, const char *default_port, struct target *t) {
        const char *colon, *port = NULL;
        int r;

        memset(t, 0, sizeof *t);
        if (strncmp(s, "unix:", 5) == 0)
                return parse_unix(s + 5, t);
        if (s[0] == '[') {
                const char *end = strchr(s, ']');
                if (!end || (end[1] != '\0' && end[1] != ':'))
                        return -EINVAL;
                r = copy_part(t->host, sizeof t->host, s + 1, (size_t) (end - s - 1));
                if (end[1] == ':')
                        port = end + 2;
        } else if ((colon = strchr(s, ':')) && !strchr(colon + 1, ':')) {
                r = copy_part(t->host, sizeof t->host, s, (size_t) (colon - s));
                port = colon + 1;
        } else
                /* No colon, or two: a bare IPv6 literal, which cannot carry a port. */
                r = copy_part(t->host, sizeof t->host, s, strlen(s));
        if (r < 0)
                return r;
        r = parse_port(port ? port : default_port, t);
        if (r < 0)
                return r;
        snprintf(t->text, sizeof t->text, strchr(t->host, ':') ? "[%s]:%s" : "%s:%s", t->host,
                 t->port);
        return 0;
}

int target_resolve(const struct target *t, struct addrinfo **ret, const char **error) {
        /* No AI_ADDRCONFIG: on a host with only loopback it would drop ::1 and 127.0.0.1. */
        const struct addrinfo hints = {.ai_family = t->family,
                                       .ai_socktype = SOCK_STREAM,
                                       .ai_protocol = IPPROTO_TCP,
                                       .ai_flags = AI_NUMERICSERV};
        int r = getaddrinfo(t->host, t->port, &hints, ret);

        if (r != 0) {
                *error = r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r);
                return -EHOSTUNREACH;
        }
        return 0;
}

/* Waits for a non-blocking connect; 0 or a negative errno. */
static int finish_connect(int fd, uint64_t timeout_usec) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int timeout_ms = timeout_usec ? (int) ((timeout_usec + 999) / 1000) : -1;
        int r, err = 0;
        socklen_t len = sizeof err;

        do
                r = poll(&p, 1, timeout_ms);
        while (r < 0 && errno == EINTR);
        if (r < 0)
                return -errno;
        if (r == 0)
                return -ETIMEDOUT;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                return -errno;
        return -err;
}

int target_connect_address(const struct sockaddr *addr, socklen_t len, uint64_t timeout_usec) {
        int fd, flags, r = 0;

        fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, addr, len) < 0)
                r = errno == EINPROGRESS ? finish_connect(fd, timeout_usec) : -errno;
        /* The caller does blocking I/O; its whole-command timeout is its own business. */
        if (r == 0 &&
            ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0))
                r = -errno;
        if (r < 0) {
                close(fd);
                return r;
        }
        return fd;
}

int target_connect(const struct target *t, uint64_t timeout_usec, const char **error) {
        struct addrinfo *list;
        int r;

        if (t->is_unix)
                return target_connect_address((const struct sockaddr *) &t->unix_addr,
                                              t->unix_addr_len, timeout_usec);
        r = target_resolve(t, &list, error);
        if (r < 0)
                return r;
        r = -EADDRNOTAVAIL;
        for (const struct addrinfo *a = list; a; a = a->ai_next) {
                r = target_connect_address(a->ai_addr, a->ai_addrlen, timeout_usec);
                if (r >= 0)
                        break;
        }
        freeaddrinfo(list);
        return r;
}

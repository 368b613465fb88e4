/* SPDX-License-Identifier: MIT */
/* nbnetd's listening sockets: systemd's, or --listen's, and the rules that cover them (listen.h). */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "request.h"
#include "sock.h"

/* The kernel caps it at net.core.somaxconn; clients past --max-connections wait here. */
#define LISTEN_BACKLOG 4096

/* Fills err with the whole message (listen_error_errno adds strerror(-r)) and returns r. */
static int listen_error(int r, char *err, size_t err_size, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static int listen_error(int r, char *err, size_t err_size, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
        return r;
}

static int listen_error_errno(int r, char *err, size_t err_size, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static int listen_error_errno(int r, char *err, size_t err_size, const char *fmt, ...) {
        va_list ap;
        size_t n;

        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
        n = strlen(err);
        snprintf(err + n, err_size - n, ": %s", strerror(-r));
        return r;
}

/* A --listen spec names a Unix socket by a path, which starts with / or . */
static bool listen_spec_is_path(const char *spec) {
        return spec[0] == '/' || spec[0] == '.';
}

/* "[ADDR]:PORT" or "ADDR:PORT" into a socket address. */
static int listen_parse_inet(const char *spec, struct sockaddr_storage *ss, socklen_t *len,
                             char *err, size_t err_size) {
        char host[INET6_ADDRSTRLEN + 2];
        const char *colon = strrchr(spec, ':');
        size_t host_len;
        char *end;
        unsigned long port;

        struct in_addr a4;
        size_t spec_len = strlen(spec);

        if (spec[0] == '[' && spec_len > 2 && spec[spec_len - 1] == ']')
                return listen_error(-EINVAL, err, err_size, "%s: no port; use %s:9079", spec, spec);
        if (!colon && inet_pton(AF_INET, spec, &a4) == 1)
                return listen_error(-EINVAL, err, err_size, "%s: no port; use %s:9079", spec, spec);
        if (!colon || colon == spec)
                return listen_error(-EINVAL, err, err_size,
                                    "'%s' is not ADDR:PORT, [ADDR]:PORT or a socket path (a Unix "
                                    "socket path must start with / or ./)",
                                    spec);
        errno = 0;
        port = strtoul(colon + 1, &end, 10);
        if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 || port < 1 || port > 65535)
                return listen_error(-EINVAL, err, err_size, "'%s': the port must be 1..65535", spec);
        host_len = (size_t) (colon - spec);
        if (spec[0] == '[') {
                if (host_len < 3 || spec[host_len - 1] != ']')
                        return listen_error(-EINVAL, err, err_size,
                                            "'%s': an IPv6 address needs [ADDR]:PORT", spec);
                spec++;
                host_len -= 2;
        }
        if (host_len >= sizeof host)
                return listen_error(-EINVAL, err, err_size, "'%s': the address is too long", spec);
        memcpy(host, spec, host_len);
        host[host_len] = '\0';
        memset(ss, 0, sizeof *ss);
        if (inet_pton(AF_INET, host, &((struct sockaddr_in *) ss)->sin_addr) == 1) {
                struct sockaddr_in *sin = (struct sockaddr_in *) ss;
                sin->sin_family = AF_INET;
                sin->sin_port = htons((uint16_t) port);
                *len = sizeof *sin;
                return 0;
        }
        if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *) ss)->sin6_addr) == 1) {
                struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) ss;
                sin6->sin6_family = AF_INET6;
                sin6->sin6_port = htons((uint16_t) port);
                *len = sizeof *sin6;
                return 0;
        }
        return listen_error(-EINVAL, err, err_size,
                            "'%s': not an IPv4 address or a bracketed IPv6 address (no host names)",
                            host);
}

/* 1 when something accepts connections on the Unix socket, 0 when nothing
 * listens there any more (a stale file), -errno when that cannot be told. */
static int listen_unix_in_use(const struct sockaddr_storage *ss, socklen_t len) {
        int fd, r;

        /* Non-blocking: a blocking connect() would wait for a busy or
         * stopped server's full backlog, with no timeout. */
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        r = connect(fd, (const struct sockaddr *) ss, len) == 0 ? 1 : -errno;
        close(fd);
        /* EAGAIN: a live listener whose backlog is full (a Unix connect()
         * never answers EINPROGRESS). */
        if (r == -EAGAIN)
                return 1;
        return r == -ECONNREFUSED ? 0 : r;
}

static int listen_check_path_length(const char *path, char *err, size_t err_size) {
        if (strlen(path) >= sizeof(((struct sockaddr_un *) NULL)->sun_path))
                return listen_error(-ENAMETOOLONG, err, err_size,
                                    "'%s': the socket path is too long", path);
        return 0;
}

static int listen_parse_unix(const char *path, struct sockaddr_storage *ss, socklen_t *len,
                             char *err, size_t err_size) {
        struct sockaddr_un *sun = (struct sockaddr_un *) ss;
        size_t n = strlen(path);
        struct stat st;
        int r;

        r = listen_check_path_length(path, err, err_size);
        if (r < 0)
                return r;
        memset(ss, 0, sizeof *ss);
        sun->sun_family = AF_UNIX;
        memcpy(sun->sun_path, path, n + 1);
        *len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n + 1);
        if (lstat(path, &st) < 0)
                return errno == ENOENT
                               ? 0
                               : listen_error_errno(-errno, err, err_size, "lstat '%s'", path);
        if (!S_ISSOCK(st.st_mode))
                return listen_error(-EEXIST, err, err_size,
                                    "'%s' exists and is not a socket; remove it or choose "
                                    "another path",
                                    path);
        /* A socket file left by an earlier run would make bind() fail with
         * EADDRINUSE; one a live server listens on must be left to it, as TCP does. */
        r = listen_unix_in_use(ss, *len);
        if (r > 0)
                return listen_error(-EADDRINUSE, err, err_size,
                                    "'%s': a server is already listening there; stop it or "
                                    "choose another path",
                                    path);
        if (r < 0)
                return listen_error_errno(r, err, err_size, "connect to the existing socket '%s'",
                                          path);
        if (unlink(path) < 0)
                return listen_error_errno(-errno, err, err_size, "unlink stale socket '%s'", path);
        return 0;
}

/* The socket file's owner and mode, set before anyone may connect: it is
 * made with mode 0 (the umask) and opened up only after chown. */
static int listen_unix_file(const char *path, const struct listen_unix *u, struct listen_file *made,
                            char *err, size_t err_size) {
        struct stat st;

        if ((u->uid != (uid_t) -1 || u->gid != (gid_t) -1) && chown(path, u->uid, u->gid) < 0)
                return listen_error_errno(-errno, err, err_size, "chown '%s' (--socket-owner)", path);
        if (chmod(path, u->mode) < 0)
                return listen_error_errno(-errno, err, err_size, "chmod '%s' (--socket-mode)", path);
        if (lstat(path, &st) < 0)
                return listen_error_errno(-errno, err, err_size, "lstat '%s'", path);
        snprintf(made->path, sizeof made->path, "%s", path);
        made->dev = st.st_dev;
        made->ino = st.st_ino;
        return 0;
}

static int listen_bind(const struct sockaddr_storage *ss, socklen_t len, const char *spec,
                       const struct listen_unix *u, struct listen_file *made, char *err,
                       size_t err_size) {
        const char *path = ((const struct sockaddr_un *) ss)->sun_path;
        bool unix_socket = ss->ss_family == AF_UNIX;
        int one = 1, fd, r;
        mode_t umask_was = 0;

        fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return listen_error_errno(-errno, err, err_size, "socket for '%s'", spec);
        if (ss->ss_family != AF_UNIX &&
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
                r = listen_error_errno(-errno, err, err_size, "setsockopt SO_REUSEADDR on '%s'",
                                       spec);
                goto fail;
        }
        /* The umask is the process's: nbnetd makes no other file meanwhile. */
        if (unix_socket)
                umask_was = umask(0777);
        r = bind(fd, (const struct sockaddr *) ss, len) < 0 ? -errno : 0;
        if (unix_socket)
                (void) umask(umask_was);
        if (r < 0) {
                if (r == -EADDRINUSE)
                        listen_error(r, err, err_size,
                                     "bind '%s': %s; another server is on that address: stop "
                                     "it or choose another port",
                                     spec, strerror(EADDRINUSE));
                else
                        listen_error_errno(r, err, err_size, "bind '%s'", spec);
                goto fail;
        }
        if (listen(fd, LISTEN_BACKLOG) < 0) {
                r = listen_error_errno(-errno, err, err_size, "listen on '%s'", spec);
                goto unlink;
        }
        if (unix_socket) {
                r = listen_unix_file(path, u, made, err, err_size);
                if (r < 0)
                        goto unlink;
        }
        return fd;
unlink:
        if (unix_socket)
                (void) unlink(path);
fail:
        close(fd);
        return r;
}

int listen_check_spec(const char *spec, char *err, size_t err_size) {
        struct sockaddr_storage ss = {0};
        socklen_t len = 0;

        /* A path's file is looked at when it is bound, not now. */
        return listen_spec_is_path(spec) ? listen_check_path_length(spec, err, err_size)
                                         : listen_parse_inet(spec, &ss, &len, err, err_size);
}

int listen_open(const char *spec, const struct listen_unix *u, struct listen_file *made, char *err,
                size_t err_size) {
        struct sockaddr_storage ss = {0};
        socklen_t len = 0;
        bool is_path = listen_spec_is_path(spec);
        int r;

        r = is_path ? listen_parse_unix(spec, &ss, &len, err, err_size)
                    : listen_parse_inet(spec, &ss, &len, err, err_size);
        if (r < 0)
                return r;
        *made = (struct listen_file){0};
        return listen_bind(&ss, len, spec, u, made, err, err_size);
}

int listen_remove_file(const struct listen_file *f) {
        struct stat st;

        if (!f->path[0])
                return 0;
        if (lstat(f->path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        /* Another server's file now (ours was removed and replaced): its own. */
        if (!S_ISSOCK(st.st_mode) || st.st_dev != f->dev || st.st_ino != f->ino)
                return 0;
        return unlink(f->path) < 0 && errno != ENOENT ? -errno : 0;
}

void listen_refuse_pending(int fd, unsigned max) {
        for (unsigned i = 0; i < max; i++) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                int c;

                /* poll first: a socket systemd passed may still be blocking. */
                if (poll(&p, 1, 0) <= 0)
                        return;
                c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0)
                        return;
                request_refuse_unread(c, REQUEST_MISCONFIGURED, 100);
        }
}

int listen_take_activated(int *fds, size_t max, char *err, size_t err_size) {
        int n = sd_listen_fds(true);

        if (n < 0)
                return listen_error_errno(n, err, err_size, "LISTEN_FDS is set but invalid");
        if ((size_t) n > max)
                return listen_error(-E2BIG, err, err_size,
                                    "got %d sockets, at most %zu are supported", n, max);
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                int flags;

                if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0)
                        return listen_error(
                                -ENOTSOCK, err, err_size,
                                "fd %d is not a listening stream socket: the socket unit needs "
                                "Accept=no (for Accept=yes, run nbnet-handler)",
                                fd);
                /* accept() must not block when another process took the connection first. */
                flags = fcntl(fd, F_GETFL);
                if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                        return listen_error_errno(-errno, err, err_size,
                                                  "fcntl O_NONBLOCK on fd %d", fd);
                fds[i] = fd;
        }
        return n;
}

int listen_name(int fd, char *name, size_t size, bool *unix_socket) {
        struct sockaddr_storage ss = {0};
        socklen_t len = sizeof ss;
        struct sock_peer p;

        snprintf(name, size, "?");
        *unix_socket = false;
        if (getsockname(fd, (struct sockaddr *) &ss, &len) < 0)
                return -errno;
        *unix_socket = ss.ss_family == AF_UNIX;
        if (*unix_socket)
                snprintf(name, size, "%s", ((const struct sockaddr_un *) &ss)->sun_path);
        else if (sock_peer_from(&ss, &p) == 0)
                snprintf(name, size, "%s", p.text);
        return 0;
}

int listen_check_rules(const struct policy *p, bool munge, const char *spec, int fd, char *err,
                       size_t err_size) {
        char name[LISTEN_NAME_MAX];
        bool unix_socket;
        const char *why;

        if (fd >= 0) {
                int r = listen_name(fd, name, sizeof name, &unix_socket);
                if (r < 0)
                        return listen_error(r, err, err_size, "getsockname on listener fd %d", fd);
                spec = name;
        } else
                unix_socket = listen_spec_is_path(spec);
        why = policy_uncovered(p, unix_socket ? POLICY_SOCKET_UNIX : POLICY_SOCKET_IP, munge);
        if (!why)
                return 0;
        return listen_error(1, err, err_size, "the listener %s (%s) would be open to anyone: %s",
                            spec, unix_socket ? "a Unix socket" : "TCP", why);
}

int listen_check_doubts(const struct policy *p, const struct policy *hosts, bool munge, int fd,
                        const char *user, char *msg, size_t msg_size) {
        struct sockaddr_storage ss = {0};
        socklen_t len = sizeof ss;
        char name[LISTEN_NAME_MAX];
        bool unix_socket;
        const char *why;
        int r;

        r = listen_name(fd, name, sizeof name, &unix_socket);
        if (r < 0 || getsockname(fd, (struct sockaddr *) &ss, &len) < 0)
                return listen_error_errno(r < 0 ? r : -errno, msg, msg_size,
                                          "getsockname on listener fd %d", fd);
        if (unix_socket)
                return 0;
        if (policy_open_to_network(p, hosts, (const struct sockaddr *) &ss, munge))
                return listen_error(1, msg, msg_size,
                                    "the listener %s accepts connections from the network with "
                                    "no --allow rule and no --munge: anyone who reaches it runs "
                                    "commands as %s; give --allow CIDR or --munge",
                                    name, user);
        why = policy_unused(p, POLICY_SOCKET_IP, munge);
        if (why)
                return listen_error(1, msg, msg_size, "the listener %s (TCP): %s", name, why);
        return 0;
}

/* SPDX-License-Identifier: MIT */
/* nbnet-handler's meeting place for a request and its stderr channel (rendezvous.h). */
#include "rendezvous.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

#define RENDEZVOUS_REQUEST 'r'
#define RENDEZVOUS_CHANNEL_BYTE 'c'
/* bind lost, then connect refused: the other side left in between; try again a few times. */
#define RENDEZVOUS_TRIES 3

static socklen_t rendezvous_address(const struct rendezvous *r, struct sockaddr_un *sun) {
        int n;

        *sun = (struct sockaddr_un){.sun_family = AF_UNIX};
        /* sun_path[0] is '\0': an abstract name, its length the address's. */
        n = snprintf(sun->sun_path + 1, sizeof sun->sun_path - 1, "nbnet-channel/%u/%s",
                     (unsigned) geteuid(), r->token);
        return (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + (size_t) n);
}

static void rendezvous_close_peer(struct rendezvous *r) {
        r->peer_src = sd_event_source_disable_unref(r->peer_src);
        if (r->peer_fd >= 0)
                close(r->peer_fd);
        r->peer_fd = -1;
}

static void rendezvous_close_listener(struct rendezvous *r) {
        r->listen_src = sd_event_source_disable_unref(r->listen_src);
        if (r->listen_fd >= 0)
                close(r->listen_fd);
        r->listen_fd = -1;
}

void rendezvous_release(struct rendezvous *r) {
        rendezvous_close_peer(r);
        rendezvous_close_listener(r);
}

static int rendezvous_begin(struct rendezvous *r);

/* The peer is done with, for good or not: a listener listens on, a side that
 * connected starts over (the name may be free now). */
static void rendezvous_next(struct rendezvous *r) {
        int e;

        rendezvous_close_peer(r);
        if (!r->waiting(r->userdata)) {
                rendezvous_release(r);
                return;
        }
        if (r->listen_fd >= 0) {
                e = sd_event_source_set_enabled(r->listen_src, SD_EVENT_ON);
                if (e < 0)
                        log_error_errno(e, "the stderr channel's rendezvous: listening again");
                return;
        }
        e = rendezvous_begin(r);
        if (e < 0)
                log_error_errno(e, "the stderr channel's rendezvous: starting over");
}

/* The other side's one byte, and with 'c' the channel's connection. */
static int rendezvous_on_peer(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct rendezvous *r = userdata;
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {0};
        char byte = 0;
        struct iovec iov = {.iov_base = &byte, .iov_len = 1};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = control.buf,
                             .msg_controllen = sizeof control.buf};
        struct cmsghdr *cm;
        ssize_t n;
        int got = -1;

        (void) s;
        (void) revents;
        n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        for (cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL; cm; cm = CMSG_NXTHDR(&msg, cm))
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
                    cm->cmsg_len == CMSG_LEN(sizeof(int)))
                        memcpy(&got, CMSG_DATA(cm), sizeof got);
        if (n <= 0) {
                /* The other side left before saying anything. */
                rendezvous_next(r);
                return 0;
        }
        if ((byte == RENDEZVOUS_CHANNEL_BYTE) == r->channel) {
                /* Two of one kind: the newcomer (the side that connected) is the bad one. */
                if (got >= 0)
                        close(got);
                if (r->listen_fd >= 0) {
                        rendezvous_next(r);
                        return 0;
                }
                rendezvous_release(r);
                (void) r->done(r->userdata, RENDEZVOUS_IN_USE, -1);
                return 0;
        }
        if (r->channel) {
                if (got >= 0)
                        close(got);
                rendezvous_release(r);
                (void) r->done(r->userdata, RENDEZVOUS_HANDED, -1);
                return 0;
        }
        if (got < 0) {
                log_error("the stderr channel's rendezvous: a channel's message came without "
                          "its connection");
                rendezvous_next(r);
                return 0;
        }
        if (r->done(r->userdata, RENDEZVOUS_CHANNEL, got))
                rendezvous_next(r);
        else
                rendezvous_release(r);
        return 0;
}

/* A peer met, by accept or connect: another handler of this server only,
 * then our one byte (a channel's with its connection), then theirs. */
static int rendezvous_meet(struct rendezvous *r, int fd) {
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {0};
        char byte = r->channel ? RENDEZVOUS_CHANNEL_BYTE : RENDEZVOUS_REQUEST;
        struct iovec iov = {.iov_base = &byte, .iov_len = 1};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
        struct ucred cred;
        socklen_t len = sizeof cred;
        int e;

        r->peer_fd = fd;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        if (cred.uid != geteuid()) {
                log_error("the stderr channel's rendezvous: a process of uid %u (pid %d) holds "
                          "or reached its name, not a handler of this server (uid %u)",
                          (unsigned) cred.uid, (int) cred.pid, (unsigned) geteuid());
                return -EPERM;
        }
        if (r->channel) {
                struct cmsghdr *cm;
                msg.msg_control = control.buf;
                msg.msg_controllen = sizeof control.buf;
                cm = CMSG_FIRSTHDR(&msg);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(cm), &r->conn_fd, sizeof(int));
        }
        if (sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) != 1)
                return -errno;
        e = sd_event_add_io(r->event, &r->peer_src, fd, EPOLLIN, rendezvous_on_peer, r);
        return e < 0 ? e : 0;
}

static int rendezvous_on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct rendezvous *r = userdata;
        int peer, e;

        (void) s;
        (void) revents;
        peer = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (peer < 0) {
                if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                        log_error_errno(errno, "the stderr channel's rendezvous: accept");
                return 0;
        }
        if (!r->waiting(r->userdata)) {
                close(peer);
                rendezvous_release(r);
                return 0;
        }
        /* One peer at a time: the next waits in the backlog. */
        e = sd_event_source_set_enabled(r->listen_src, SD_EVENT_OFF);
        if (e >= 0)
                e = rendezvous_meet(r, peer);
        if (e < 0) {
                if (e != -EPERM)
                        log_error_errno(e, "the stderr channel's rendezvous: meeting a peer");
                rendezvous_next(r);
        }
        return 0;
}

static int rendezvous_socket(void) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        return fd < 0 ? -errno : fd;
}

/* Listens on the name, or, when another holds it, connects to that one. */
static int rendezvous_begin(struct rendezvous *r) {
        struct sockaddr_un sun;
        socklen_t len = rendezvous_address(r, &sun);
        int fd, e = -EADDRINUSE;

        for (int i = 0; i < RENDEZVOUS_TRIES; i++) {
                fd = rendezvous_socket();
                if (fd < 0)
                        return fd;
                if (bind(fd, (struct sockaddr *) &sun, len) == 0) {
                        if (listen(fd, 4) < 0) {
                                e = -errno;
                                close(fd);
                                return e;
                        }
                        r->listen_fd = fd;
                        return sd_event_add_io(r->event, &r->listen_src, fd, EPOLLIN,
                                               rendezvous_on_accept, r);
                }
                e = -errno;
                if (e != -EADDRINUSE) {
                        close(fd);
                        return e;
                }
                if (connect(fd, (struct sockaddr *) &sun, len) == 0) {
                        e = rendezvous_meet(r, fd);
                        if (e == -EPERM)
                                rendezvous_close_peer(r);
                        return e;
                }
                e = -errno;
                close(fd);
                /* Refused: the one that listened has just left; its name is free again. */
                if (e != -ECONNREFUSED)
                        return e;
        }
        return e;
}

int rendezvous_start(struct rendezvous *r, sd_event *event, const char *token, bool channel,
                     int conn_fd) {
        r->event = event;
        snprintf(r->token, sizeof r->token, "%s", token);
        r->channel = channel;
        r->conn_fd = conn_fd;
        r->listen_fd = r->peer_fd = -1;
        r->listen_src = r->peer_src = NULL;
        return rendezvous_begin(r);
}

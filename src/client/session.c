/* SPDX-License-Identifier: MIT */
/* One request's connections for nbnet and check_nbnet: connect, send, read, abort, time out. */
#include "session.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "sock.h"

/* What the signal handlers need: the connection to reset, and the timer's say. */
static volatile sig_atomic_t handler_fd = -1;
static volatile sig_atomic_t handler_channel = -1;
static volatile sig_atomic_t timer_deferred;
static volatile sig_atomic_t timer_fired;
static char timer_message[512];
static size_t timer_message_len;
static int timer_message_fd = -1;
static int timer_status;

static void reset_and_close(int fd) {
        struct linger l = {.l_onoff = 1, .l_linger = 0};

        /* Should it fail, the close is a FIN: the server still ends the command at EOF. */
        (void) setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        (void) close(fd);
}

int session_connect(struct session *s, const struct target *t, uint64_t timeout_usec, bool raw,
                    const char **resolve_error) {
        int fd;

        s->target = t;
        s->fd = s->channel = -1;
        s->raw = raw;
        s->timed_connect = timeout_usec > 0;
        s->eof = s->drained = false;
        response_init(&s->response);
        fd = target_connect(t, timeout_usec, resolve_error);
        if (fd < 0)
                return fd;
        /* Taken now: once the server has answered and closed, getpeername fails. */
        s->peer_len = sizeof s->peer;
        if (getpeername(fd, (struct sockaddr *) &s->peer, &s->peer_len) < 0)
                s->peer_len = 0;
        s->fd = fd;
        handler_fd = fd;
        return 0;
}

const char *session_connect_error(const struct session *s, int r, const char *resolve_error,
                                  char *buf, size_t size) {
        if (r == -EHOSTUNREACH && resolve_error)
                (void) snprintf(buf, size, "cannot resolve the host: %s", resolve_error);
        else if (r == -ECONNREFUSED)
                (void) snprintf(buf, size, "connection refused");
        else if (r == -ETIMEDOUT && s->timed_connect)
                (void) snprintf(buf, size, "timed out connecting (--connect-timeout)");
        else if (r == -ENOENT && s->target->is_unix)
                (void) snprintf(buf, size, "no such socket");
        else
                (void) snprintf(buf, size, "cannot connect: %s", strerror(-r));
        return buf;
}

int session_open_channel(struct session *s, const char *token, uint64_t timeout_usec) {
        char req[FRAME_CHANNEL_SIZE];
        int fd, r;

        r = frame_channel_request(token, req);
        if (r < 0)
                return r;
        /* The address the request went to, not the name again: the server pairs
         * the two on one host, and a name may resolve to several. */
        if (s->target->is_unix)
                fd = target_connect_address((const struct sockaddr *) &s->target->unix_addr,
                                            s->target->unix_addr_len, timeout_usec);
        else if (s->peer_len == 0)
                return -ENOTCONN;
        else
                fd = target_connect_address((const struct sockaddr *) &s->peer, s->peer_len,
                                            timeout_usec);
        if (fd < 0)
                return fd;
        r = sock_send_all(fd, req, sizeof req);
        if (r < 0) {
                reset_and_close(fd);
                return r;
        }
        s->channel = fd;
        handler_channel = fd;
        return 0;
}

int session_send(struct session *s, const void *req, size_t size, bool more_follows) {
        int r = sock_send_all(s->fd, req, size);

        /* Nothing more to send: a FIN after the frame is fine, the command runs on. */
        if (r == 0 && !more_follows && shutdown(s->fd, SHUT_WR) < 0)
                r = -errno;
        if (r < 0)
                session_abort(s);
        return r;
}

int session_read(struct session *s, bool wait, struct iovec out[static 2]) {
        ssize_t n;

        do
                n = recv(s->fd, s->buf, sizeof s->buf, wait ? 0 : MSG_DONTWAIT);
        while (n < 0 && errno == EINTR && wait);
        if (n < 0 && errno == EINTR)
                return 0;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                /* Nothing waiting: a tail that could only begin the trailer goes out once due. */
                s->drained = true;
                if (s->raw)
                        return 0;
                return response_release(&s->response, false, clock_now_usec(), &out[0]);
        }
        if (n < 0)
                return -errno;
        s->drained = false;
        if (n == 0) {
                s->eof = true;
                return 0;
        }
        if (s->raw) {
                s->response.output_bytes += (uint64_t) n;
                out[0] = (struct iovec){.iov_base = s->buf, .iov_len = (size_t) n};
                return 1;
        }
        return response_feed(&s->response, s->buf, (size_t) n, clock_now_usec(), out);
}

uint64_t session_release_due(const struct session *s) {
        return s->raw ? 0 : response_release_due(&s->response);
}

int session_release_all(struct session *s, struct iovec *out) {
        return s->raw ? 0 : response_release(&s->response, true, 0, out);
}

int session_finish(struct session *s, struct iovec *leftover) {
        handler_fd = handler_channel = -1;
        if (s->fd >= 0)
                (void) close(s->fd); /* the response is in: nothing to lose */
        if (s->channel >= 0)
                (void) close(s->channel);
        s->fd = s->channel = -1;
        *leftover = (struct iovec){0};
        return s->raw ? 0 : response_finish(&s->response, leftover);
}

void session_abort(struct session *s) {
        /* Taken from the signal handlers first: they must not reset a reused descriptor. */
        handler_fd = handler_channel = -1;
        if (s->fd >= 0)
                reset_and_close(s->fd);
        if (s->channel >= 0)
                reset_and_close(s->channel);
        s->fd = s->channel = -1;
}

void session_abort_from_handler(void) {
        int fd = handler_fd, channel = handler_channel;

        handler_fd = handler_channel = -1;
        if (fd >= 0)
                reset_and_close(fd);
        if (channel >= 0)
                reset_and_close(channel);
}

void session_say_timeout(void) {
        if (timer_message_len > 0)
                (void) !write(timer_message_fd, timer_message, timer_message_len);
}

static void on_alarm(int sig) {
        (void) sig;
        if (timer_deferred) { /* the caller prints what it holds, then exits */
                timer_fired = 1;
                return;
        }
        session_abort_from_handler();
        session_say_timeout();
        _exit(timer_status);
}

int session_start_timer(uint64_t usec, const char *message, int message_fd, int status) {
        struct sigaction sa = {.sa_handler = on_alarm};
        struct itimerval it = {0};
        size_t n = message ? strlen(message) : 0;

        timer_message_len = n < sizeof timer_message ? n : sizeof timer_message - 1;
        memcpy(timer_message, message ? message : "", timer_message_len);
        timer_message_fd = message_fd;
        timer_status = status;
        if (sigaction(SIGALRM, &sa, NULL) < 0)
                return -errno;
        it.it_value.tv_sec = (time_t) (usec / 1000000);
        it.it_value.tv_usec = (suseconds_t) (usec % 1000000);
        return setitimer(ITIMER_REAL, &it, NULL) < 0 ? -errno : 0;
}

void session_defer_timer(bool defer) {
        timer_deferred = defer;
}

bool session_timed_out(void) {
        return timer_fired;
}

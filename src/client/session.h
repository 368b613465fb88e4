/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * One request's connections, for nbnet and check_nbnet: connect to the target
 * within a timeout, send the request, open the stderr channel when the request
 * names one ('&'), read the response through response.c (the trailer held
 * back by the delivery rule), and end with a close, or with a reset that
 * makes the server kill the command. A process has one session
 * at a time: the timer (SIGALRM) and the caller's own signal handlers reach
 * its connection through here. Prints nothing but the timer's message; the
 * callers word every other message, each in its own format.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "response.h"
#include "target.h"

struct session {
        const struct target *target;
        int fd;                       /* -1 when there is no connection */
        int channel;                  /* the stderr channel ('&'), -1 when there is none */
        struct sockaddr_storage peer; /* the address connected to, for the channel */
        socklen_t peer_len;
        bool raw;           /* a plain request: no trailer, every byte is output */
        bool timed_connect; /* connected with a timeout (-t) of our own */
        bool eof;           /* the server closed its side */
        bool drained;       /* the last read said EAGAIN; the caller clears it on POLLIN */
        struct response response;
        char buf[128 * 1024]; /* the last bytes read */
};

/* Connects to t, each address given timeout_usec (0: the kernel's limit).
 * Returns 0, or -errno (see session_connect_error). */
int session_connect(struct session *s, const struct target *t, uint64_t timeout_usec, bool raw,
                    const char **resolve_error);

/* What a failed session_connect means, for a message: "connection refused". */
const char *session_connect_error(const struct session *s, int r, const char *resolve_error,
                                  char *buf, size_t size);

/* Opens the stderr channel: a second connection to the address the session
 * is connected to, on which it sends '=' and token, and nothing else. Returns
 * 0 or -errno; the session stays as it was on failure. */
int session_open_channel(struct session *s, const char *token, uint64_t timeout_usec);

/* Sends the request whole, then a FIN unless more follows (stdin with '<').
 * Returns 0, or -errno after aborting the connection. */
int session_send(struct session *s, const void *req, size_t size, bool more_follows);

/* One read: with wait, blocking; else MSG_DONTWAIT, and at EAGAIN (s->drained)
 * a held beginning of the trailer that is due comes out. Fills out with the
 * output it gave (0..2 slices, valid until the next call); s->eof at EOF.
 * Returns the slice count or -errno. */
int session_read(struct session *s, bool wait, struct iovec out[static 2]);

/* When a held beginning of the trailer is due (clock_now_usec's clock), 0 when none is. */
uint64_t session_release_due(const struct session *s);

/* Whatever is held back, a whole trailer too, as output (-T, a cut connection):
 * 1 with the slice in *out, or 0. */
int session_release_all(struct session *s, struct iovec *out);

/* At EOF: closes the connections; returns the status, 0 for a raw request, or
 * -EBADMSG with the held bytes in *leftover, which are output after all. */
int session_finish(struct session *s, struct iovec *leftover);

/* A reset of both connections, not a FIN: the server kills the command at
 * once, even a silent one. */
void session_abort(struct session *s);

/* For a signal handler: resets the session's connections, if any (async-signal-safe). */
void session_abort_from_handler(void);

/* After usec, the SIGALRM handler resets the connection, writes message (when
 * not NULL) to message_fd and _exit()s with status; while deferred, it only
 * notes the time out (session_timed_out). Returns 0 or -errno. */
int session_start_timer(uint64_t usec, const char *message, int message_fd, int status);

/* Defers the timer's exit to the caller (true), or lets the next alarm exit (false). */
void session_defer_timer(bool defer);
bool session_timed_out(void);

/* Writes the timer's message, as the handler would. */
void session_say_timeout(void);

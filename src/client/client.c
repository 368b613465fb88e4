/* SPDX-License-Identifier: MIT */
/*
 * nbnet: runs one command on an nbnet server and exits with its status, as
 * ssh does: the output streams to stdout as it comes, and 255 (with one line
 * on stderr) means nbnet itself failed, never the command.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "clock.h"
#include "cmdline.h"
#include "credential.h"
#include "frame.h"
#include "response.h"
#include "serverline.h"
#include "session.h"
#include "status.h"
#include "target.h"
#include "token.h"

#define PROGRAM "nbnet"
#define EXIT_USAGE 2
#define EXIT_TIMEOUT 124
#define EXIT_LOCAL 255

static bool quiet;
static int verbose;

static void message(const struct target *t, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static void message(const struct target *t, const char *fmt, ...) {
        va_list ap;

        if (quiet)
                return;
        fprintf(stderr, PROGRAM ": %s: ", t->text);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

/* -v: what nbnet does, on stderr. */
static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...) {
        va_list ap;

        if (quiet || verbose == 0)
                return;
        fputs(PROGRAM ": ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

/* The request for the command words; NULL with a message, errno kept
 * (EINVAL: a usage error; anything else: 255). */
static char *build_request(const struct options *o, unsigned flags, const struct frame_names *names,
                           size_t *ret_size) {
        char why[512];
        int err;
        char *req = o->munge ? credential_request(o->argv, o->argc, flags, names,
                                                  credential_socket(), ret_size, why, sizeof why)
                             : frame_build_named(o->argv, o->argc, flags, names, ret_size);

        if (req)
                return req;
        err = errno;
        if (errno == EACCES)
                fprintf(stderr, PROGRAM ": cannot get a MUNGE credential: %s\n", why);
        else if (errno == EINVAL)
                args_usage_error(PROGRAM, "the command is empty");
        else if (errno == E2BIG)
                fprintf(stderr, PROGRAM ": the command is over %u bytes; no server takes it\n",
                        FRAME_MAX_COMMAND_LIMIT);
        else
                fprintf(stderr, PROGRAM ": cannot build the request: %s\n", strerror(errno));
        errno = err;
        return NULL;
}

/* SIGINT, SIGTERM, SIGHUP: reset the connection so that the server kills the
 * command (ssh without -t would leave it running), then die of the signal. */
static void on_fatal_signal(int sig) {
        sigset_t set;

        session_abort_from_handler();
        (void) signal(sig, SIG_DFL);
        (void) raise(sig);
        sigemptyset(&set);
        sigaddset(&set, sig);
        (void) sigprocmask(SIG_UNBLOCK, &set, NULL);
        _exit(128 + sig);
}

/* A signal ignored when nbnet started stays ignored, as nohup and a
 * non-interactive shell's background jobs expect; ssh does the same. */
static int catch_signals(void) {
        static const int fatal[] = {SIGINT, SIGTERM, SIGHUP};
        struct sigaction sa = {.sa_handler = on_fatal_signal}, old;

        /* EPIPE instead: a broken stdout ends us through end_by_sigpipe, a
         * broken connection through the status check. */
        if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
                return -errno;
        sigemptyset(&sa.sa_mask);
        sigaddset(&sa.sa_mask, SIGALRM);
        for (size_t i = 0; i < sizeof fatal / sizeof *fatal; i++)
                sigaddset(&sa.sa_mask, fatal[i]);
        for (size_t i = 0; i < sizeof fatal / sizeof *fatal; i++) {
                if (sigaction(fatal[i], NULL, &old) < 0)
                        return -errno;
                if (old.sa_handler == SIG_IGN)
                        continue;
                if (sigaction(fatal[i], &sa, NULL) < 0)
                        return -errno;
        }
        return 0;
}

/* --timeout: a timer whose handler exits, so that it also ends a blocked getaddrinfo,
 * connect or send; once the relay loop runs, it only tells the loop, which
 * also knows the deadline itself. Returns the deadline, 0 for none. */
static int start_timeout(const struct options *o, uint64_t *ret_deadline) {
        char text[512];

        *ret_deadline = 0;
        if (o->timeout_usec == 0)
                return 0;
        (void) snprintf(text, sizeof text, PROGRAM ": %s: timed out after %s%s (--timeout)\n",
                        o->target.text, o->timeout_text,
                        strspn(o->timeout_text, "0123456789.") == strlen(o->timeout_text) ? " s"
                                                                                          : "");
        *ret_deadline = clock_now_usec() + o->timeout_usec;
        return session_start_timer(o->timeout_usec, quiet ? NULL : text, STDERR_FILENO, EXIT_TIMEOUT);
}

/* The reader of our stdout went away (| head): end as a filter does, quietly. */
static _Noreturn void end_by_sigpipe(void) {
        session_abort_from_handler();
        /* Should either fail, the status is still the one a shell gives a SIGPIPE death. */
        (void) signal(SIGPIPE, SIG_DFL);
        (void) raise(SIGPIPE);
        _exit(128 + SIGPIPE);
}

/* Whether fd is /dev/null: its input is nothing, with '<' or without. */
static bool is_dev_null(int fd) {
        struct stat st;

        return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

/* Whether writes to fd can be asked not to block (RWF_NOWAIT): pipes and
 * sockets, whose reader may be waiting for our stdin. A terminal or a file
 * drains by itself and takes blocking writes. */
static bool nowait_writes(int fd) {
        struct stat st;

        return fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

/*
 * One request's relay, ssh style: one poll loop over stdin, the connection,
 * the stderr channel, stdout and stderr, so that no direction waits for
 * another and an interactive program on either end never waits on bytes
 * nbnet holds. stdout's and stderr's file status flags are shared with other
 * processes: O_NONBLOCK is never set on them; writes that must not block ask
 * so per call instead.
 */
struct sink {
        int fd;
        struct iovec out[4]; /* not yet written: slices of the session's, the relay's buffers */
        int count;
        bool nowait; /* RWF_NOWAIT writes, until the kernel says it cannot */
        bool full;   /* the last write said EAGAIN: wait for POLLOUT */
        bool broken; /* stderr's reader went away: what comes for it is dropped */
};

struct relay {
        const struct options *o;
        struct session session;
        struct sink out, err;
        struct serverline line;         /* a server's line at the start of the response */
        struct serverline channel_line; /* an old server's complaint at the channel's start */
        bool channel_eof;
        uint64_t channel_bytes; /* what came on the channel */
        uint64_t eof_usec;      /* when the response ended, 0 before */
        bool forwarding;        /* stdin to the socket, until its EOF has been passed on */
        bool stdin_eof;
        char in[64 * 1024]; /* stdin read, not yet sent */
        size_t in_len, in_off;
        char channel_buf[64 * 1024]; /* the last bytes read from the channel */
        uint64_t deadline_usec;      /* --timeout, 0: none */
};

/* How long the channel may stay open once the response is over: the server
 * closes it before it sends the trailer, so only a stray holder keeps it. */
#define CHANNEL_LINGER_USEC ((uint64_t) 1000000)

/* Writes what is pending; with wait, all of it, else what the fd takes now.
 * Returns -errno on an error other than EPIPE, -EAGAIN when the fd is full. */
static int flush_sink(struct sink *k, bool wait) {
        while (k->count > 0) {
                ssize_t n;
                size_t done;

                if (k->nowait && !wait) {
                        n = pwritev2(k->fd, k->out, k->count, -1, RWF_NOWAIT);
                        if (n < 0 && (errno == EOPNOTSUPP || errno == EINVAL)) {
                                k->nowait = false; /* an older kernel: block instead */
                                continue;
                        }
                } else
                        n = writev(k->fd, k->out, k->count);
                if (n < 0 && errno == EINTR) {
                        if (session_timed_out() && !wait)
                                return -EINTR;
                        continue;
                }
                if (n < 0 && errno == EPIPE && k->fd == STDOUT_FILENO)
                        end_by_sigpipe();
                if (n < 0 && errno == EPIPE) { /* stderr: the command goes on without it */
                        k->broken = true;
                        k->count = 0;
                        return 0;
                }
                if (n < 0)
                        return -errno;
                for (done = (size_t) n; k->count > 0 && done >= k->out[0].iov_len;) {
                        done -= k->out[0].iov_len;
                        memmove(k->out, k->out + 1, (size_t) (k->count - 1) * sizeof *k->out);
                        k->count--;
                }
                if (k->count > 0) {
                        k->out[0].iov_base = (char *) k->out[0].iov_base + done;
                        k->out[0].iov_len -= done;
                }
        }
        return 0;
}

static void add_output(struct sink *k, const struct iovec *iov, int count) {
        for (int i = 0; i < count; i++)
                if (!k->broken && iov[i].iov_len > 0)
                        k->out[k->count++] = iov[i];
}

/* Everything received and not yet written, held bytes included, written out,
 * blocking: for --timeout and for a cut connection. */
static void output_everything(struct relay *rl) {
        struct iovec held;

        /* First what is pending: it may point into the buffers read next. */
        (void) flush_sink(&rl->out, true);
        (void) flush_sink(&rl->err, true);
        if (serverline_release(&rl->line, &held) == 1) {
                add_output(&rl->out, &held, 1);
                (void) flush_sink(&rl->out, true);
        }
        if (session_release_all(&rl->session, &held) == 1) {
                add_output(&rl->out, &held, 1);
                (void) flush_sink(&rl->out, true);
        }
        if (serverline_release(&rl->channel_line, &held) == 1) {
                add_output(&rl->err, &held, 1);
                (void) flush_sink(&rl->err, true);
        }
}

/* One read of the connection; the caller has written all output before. */
static int read_socket(struct relay *rl) {
        struct iovec iov[2], out[3];
        int k = session_read(&rl->session, false, iov);

        if (k < 0)
                return k;
        if (rl->session.raw)
                add_output(&rl->out, iov, k);
        else
                add_output(&rl->out, out, serverline_feed(&rl->line, iov, k, clock_now_usec(), out));
        if (rl->session.eof && rl->eof_usec == 0)
                rl->eof_usec = clock_now_usec();
        return 0;
}

/* One read of the stderr channel, to stderr; its end or error closes it for reading. */
static void read_channel(struct relay *rl) {
        struct iovec iov, out[3];
        ssize_t n = recv(rl->session.channel, rl->channel_buf, sizeof rl->channel_buf, MSG_DONTWAIT);

        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return;
        if (n <= 0) {
                if (n < 0)
                        note("the stderr channel: %s", strerror(errno));
                rl->channel_eof = true;
                return;
        }
        rl->channel_bytes += (uint64_t) n;
        iov = (struct iovec){.iov_base = rl->channel_buf, .iov_len = (size_t) n};
        add_output(&rl->err, out, serverline_feed(&rl->channel_line, &iov, 1, clock_now_usec(), out));
}

/* stdin's EOF is the command's: a FIN, once all of stdin has been sent. */
static void end_forwarding(struct relay *rl) {
        rl->forwarding = false;
        rl->in_len = rl->in_off = 0;
        /* Should it fail, the connection is gone: the response says the rest. */
        (void) shutdown(rl->session.fd, SHUT_WR);
}

static void read_stdin(struct relay *rl) {
        ssize_t n = read(STDIN_FILENO, rl->in, sizeof rl->in);

        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return;
        if (n <= 0) { /* an error reading stdin ends it, as ssh takes it */
                rl->stdin_eof = true;
                end_forwarding(rl);
                return;
        }
        rl->in_len = (size_t) n;
        rl->in_off = 0;
}

static void send_stdin(struct relay *rl) {
        ssize_t n = send(rl->session.fd, rl->in + rl->in_off, rl->in_len - rl->in_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return;
        if (n < 0) {
                /* The server no longer takes input; the response says the rest. */
                rl->forwarding = false;
                rl->in_len = rl->in_off = 0;
                return;
        }
        rl->in_off += (size_t) n;
        if (rl->in_off == rl->in_len)
                rl->in_len = rl->in_off = 0;
}

static bool channel_reading(const struct relay *rl) {
        return rl->session.channel >= 0 && !rl->channel_eof;
}

/* The earliest of: --timeout's deadline, a held beginning of the trailer due,
 * held lines due, the channel's linger after the response's end. */
static uint64_t next_due(const struct relay *rl) {
        uint64_t due[] = {
                rl->deadline_usec, session_release_due(&rl->session), serverline_due(&rl->line),
                channel_reading(rl) ? serverline_due(&rl->channel_line) : 0,
                rl->eof_usec && channel_reading(rl) ? rl->eof_usec + CHANNEL_LINGER_USEC : 0};
        uint64_t until = 0;

        for (size_t i = 0; i < sizeof due / sizeof *due; i++)
                if (due[i] && (until == 0 || due[i] < until))
                        until = due[i];
        return until;
}

static int poll_timeout(const struct relay *rl) {
        uint64_t now, until;

        /* More to do at once: write, read the socket until EAGAIN, or end (a
         * channel still open after the response waits for its linger). */
        if ((rl->out.count > 0 && !rl->out.full) || (rl->err.count > 0 && !rl->err.full) ||
            (!rl->session.eof && !rl->session.drained && rl->out.count == 0) ||
            (rl->session.eof && !channel_reading(rl)))
                return 0;
        until = next_due(rl);
        if (until == 0)
                return -1;
        now = clock_now_usec();
        if (now >= until)
                return 0;
        return (int) ((until - now + 999) / 1000);
}

/* Held lines whose time has come are passed on: no prompt waits on them. */
static void release_due_lines(struct relay *rl, uint64_t now) {
        struct iovec held;
        uint64_t due = serverline_due(&rl->line);

        /* At the response's end the line waits for the status, which tells whose it is. */
        if (due && now >= due && !rl->session.eof && serverline_release(&rl->line, &held) == 1)
                add_output(&rl->out, &held, 1);
        due = serverline_due(&rl->channel_line);
        if (due && now >= due && channel_reading(rl) &&
            serverline_release(&rl->channel_line, &held) == 1)
                add_output(&rl->err, &held, 1);
}

static int timed_out_exit(struct relay *rl) {
        struct itimerval backstop = {.it_value = {.tv_sec = 2}};

        /* From here the alarm ends nbnet at once: a stalled stdout cannot hold it. */
        session_defer_timer(false);
        (void) setitimer(ITIMER_REAL, &backstop, NULL);
        session_abort(&rl->session);
        output_everything(rl);
        session_say_timeout();
        return EXIT_TIMEOUT;
}

static int relay_error(struct relay *rl, int r, const char *what, const char *why) {
        session_abort(&rl->session);
        output_everything(rl); /* what came is output, as at --timeout */
        message(&rl->o->target, "%s: %s%s", what, strerror(-r), why);
        return EXIT_LOCAL;
}

/* Whether the response is a server's line about a flag it does not know
 * (its bad header at '&' or '~'): then the server predates the flag. */
static bool refused_flag(const struct serverline *l, char flag) {
        char at[] = {'\'', flag, '\'', '\0'};

        return serverline_complete(l) && memmem(l->held, l->len, "bad header", 10) &&
               memmem(l->held, l->len, at, 3);
}

/* At the end, with the status: a server's line is said on stderr, not output;
 * an old server is told apart; statuses the command did not give itself are
 * explained. Returns the exit status. */
static int conclude(struct relay *rl, int status, bool sent_channel) {
        const struct target *t = &rl->o->target;
        struct iovec held;
        bool server_line = (status == NBNET_STATUS_NOT_RUN || status == NBNET_STATUS_REFUSED) &&
                           serverline_complete(&rl->line);
        bool old_server = false;

        if (server_line && sent_channel && refused_flag(&rl->line, FRAME_FLAG_TOKEN)) {
                old_server = true;
                /* Its complaint about the channel's '=' is no news: drop it. */
                if (serverline_complete(&rl->channel_line))
                        note("the server said on the channel: %.*s", (int) rl->channel_line.len - 1,
                             rl->channel_line.held);
                rl->channel_line.len = 0;
        }
        if (!server_line && serverline_release(&rl->line, &held) == 1)
                add_output(&rl->out, &held, 1);
        if (serverline_release(&rl->channel_line, &held) == 1)
                add_output(&rl->err, &held, 1);
        (void) flush_sink(&rl->out, true);
        (void) flush_sink(&rl->err, true);
        note("status %d", status);
        if (old_server) {
                note("the server said: %.*s", (int) rl->line.len - 1, rl->line.held);
                message(t, "the server is too old for a stderr of the command's own (the '&' "
                           "flag): give --merge-stderr (-M) to have stderr in the output");
        } else if (server_line && !sent_channel && rl->o->user &&
                   refused_flag(&rl->line, FRAME_FLAG_USER)) {
                note("the server said: %.*s", (int) rl->line.len - 1, rl->line.held);
                message(t,
                        "the server is too old to take a user (%s %s): it runs commands as "
                        "its own user; drop the user to run as that one",
                        rl->o->user_from, rl->o->user);
        } else if (server_line)
                /* The server's own words, which nbnet -q does not hide: they were output once. */
                fprintf(stderr, PROGRAM ": %s: %.*s\n", t->text,
                        (int) (rl->line.len - rl->line.prefix_len - 1),
                        rl->line.held + rl->line.prefix_len);
        else if (status == NBNET_STATUS_TIMEOUT)
                message(t, "the command ran into the server's command timeout (status 124), or "
                           "exited 124 itself");
        else if (status == NBNET_STATUS_NOT_RUN && rl->channel_bytes == 0)
                message(t, "the server could not run the command (status 125); its log says why");
        else if (status == NBNET_STATUS_REFUSED && rl->channel_bytes == 0)
                message(t, "the server refused the command (status 126); its log says why");
        else if (status > 128 && status < 128 + NSIG) {
                const char *name = sigabbrev_np(status - 128);
                message(t, "the command was killed by SIG%s (status %d)%s", name ? name : "?", status,
                        status == 128 + SIGTERM
                                ? ": a server that stops or restarts ends its commands so"
                                : "");
        }
        return status;
}

/* Streams the response to stdout, the channel to stderr, and stdin to the
 * command; returns the exit status nbnet ends with. */
static int relay(struct relay *rl, bool sent_channel) {
        struct iovec iov;
        int r;

        for (;;) {
                struct pollfd p[5] = {
                        {.fd = -1}, {.fd = rl->session.fd}, {.fd = -1}, {.fd = -1}, {.fd = -1}};
                uint64_t now, due;

                if (session_timed_out() ||
                    (rl->deadline_usec && clock_now_usec() >= rl->deadline_usec))
                        return timed_out_exit(rl);
                r = flush_sink(&rl->out, false);
                rl->out.full = r == -EAGAIN;
                if (r < 0 && r != -EAGAIN && r != -EINTR) {
                        rl->out.count = 0;
                        return relay_error(rl, r, "writing the output to stdout", "");
                }
                r = flush_sink(&rl->err, false);
                rl->err.full = r == -EAGAIN;
                if (r < 0 && r != -EAGAIN && r != -EINTR)
                        rl->err.broken = true, rl->err.count = 0; /* as a reader gone */
                now = clock_now_usec();
                if (rl->out.count == 0 && rl->err.count == 0 && rl->session.eof &&
                    (!channel_reading(rl) || now >= rl->eof_usec + CHANNEL_LINGER_USEC))
                        break;
                if (rl->out.count == 0 && !rl->session.eof && !rl->session.drained) {
                        r = read_socket(rl);
                        if (r < 0)
                                return relay_error(rl, r, "reading the response",
                                                   r == -ECONNRESET
                                                           ? " (the server or the network dropped "
                                                             "the connection; the command may "
                                                             "have been killed)"
                                                           : " (connection cut)");
                }
                if (rl->forwarding && !rl->stdin_eof && rl->in_len == 0) {
                        p[0].fd = STDIN_FILENO;
                        p[0].events = POLLIN;
                }
                p[1].events = (short) ((rl->out.count == 0 && !rl->session.eof ? POLLIN : 0) |
                                       (rl->forwarding && rl->in_len > 0 ? POLLOUT : 0));
                if (rl->out.count > 0) {
                        p[2].fd = STDOUT_FILENO;
                        p[2].events = POLLOUT;
                }
                if (channel_reading(rl) && rl->err.count == 0) {
                        p[3].fd = rl->session.channel;
                        p[3].events = POLLIN;
                }
                if (rl->err.count > 0) {
                        p[4].fd = STDERR_FILENO;
                        p[4].events = POLLOUT;
                }
                if (poll(p, 5, poll_timeout(rl)) < 0) {
                        if (errno == EINTR)
                                continue;
                        return relay_error(rl, -errno, "poll", "");
                }
                now = clock_now_usec();
                due = session_release_due(&rl->session);
                if ((p[1].revents & (POLLIN | POLLERR | POLLHUP)) || (due && now >= due))
                        rl->session.drained = false; /* read: more bytes, or EAGAIN and release */
                if (p[1].revents & POLLOUT)
                        send_stdin(rl);
                if (p[0].revents)
                        read_stdin(rl);
                if (p[3].revents)
                        read_channel(rl);
                if (rl->out.count == 0 && rl->err.count == 0)
                        release_due_lines(rl, now);
        }
        if (channel_reading(rl))
                note("the stderr channel was still open %.1f s after the response ended: "
                     "closed",
                     (double) CHANNEL_LINGER_USEC / 1e6);
        r = session_finish(&rl->session, &iov);
        if (r >= 0)
                return conclude(rl, r, sent_channel);
        /* The held-back bytes were output after all, a held line first. */
        {
                struct iovec line;
                if (serverline_release(&rl->line, &line) == 1)
                        add_output(&rl->out, &line, 1);
                add_output(&rl->out, &iov, 1);
                (void) flush_sink(&rl->out, true);
                output_everything(rl);
        }
        message(&rl->o->target,
                "response ended without a status (server too old, or connection cut)");
        return EXIT_LOCAL;
}

/* The flags as sent, for -v: "+<&~alice". */
static void note_request(const struct options *o, unsigned flags, const char *token) {
        note("request: %s%s%s%s%s%s, command: %d word%s", flags & FRAME_WANT_STATUS ? "+" : "",
             flags & FRAME_STDIN ? "<" : "", token ? "&" : "", o->user ? "~" : "",
             o->user ? o->user : "", o->munge ? "@" : "", o->argc, o->argc == 1 ? "" : "s");
        if (token)
                note("stderr channel token %s", token);
}

static void note_peer(const char *what, int fd) {
        struct sockaddr_storage peer = {.ss_family = AF_UNSPEC};
        socklen_t len = sizeof peer;
        char host[NI_MAXHOST], port[NI_MAXSERV];

        if (verbose == 0 || getpeername(fd, (struct sockaddr *) &peer, &len) < 0 ||
            peer.ss_family == AF_UNIX ||
            getnameinfo((struct sockaddr *) &peer, len, host, sizeof host, port, sizeof port,
                        NI_NUMERICHOST | NI_NUMERICSERV) != 0)
                return;
        note("%s %s port %s", what, host, port);
}

static int run(const struct options *o) {
        static struct relay rl; /* a few hundred KiB of buffers: not on the stack */
        const char *resolve_error = NULL;
        char why[512], token[FRAME_TOKEN_HEX + 1];
        bool forward = !o->no_stdin && !o->raw && !is_dev_null(STDIN_FILENO);
        bool channel = !o->raw && !o->merge_stderr;
        unsigned flags = (o->raw ? 0 : FRAME_WANT_STATUS) | (forward ? FRAME_STDIN : 0);
        struct frame_names names = {.token = channel ? token : NULL, .user = o->user};
        uint64_t deadline;
        size_t size;
        char *req;
        int r;

        if (channel && (r = token_make(token)) < 0) {
                message(&o->target, "cannot make the stderr channel's token: getrandom: %s",
                        strerror(-r));
                return EXIT_LOCAL;
        }
        req = build_request(o, flags, &names, &size);
        if (!req)
                return errno == EINVAL ? EXIT_USAGE : EXIT_LOCAL;
        r = start_timeout(o, &deadline);
        if (r < 0) {
                free(req);
                message(&o->target, "cannot start the --timeout timer: %s", strerror(-r));
                return EXIT_LOCAL;
        }
        note("connecting to %s (port from %s)%s%s", o->target.text, o->port_from,
             o->config ? ", config file " : "", o->config ? o->config : "");
        r = session_connect(&rl.session, &o->target, o->connect_timeout_usec, o->raw, &resolve_error);
        if (r < 0) {
                free(req);
                message(&o->target, "%s",
                        session_connect_error(&rl.session, r, resolve_error, why, sizeof why));
                return EXIT_LOCAL;
        }
        note_peer("connected to", rl.session.fd);
        note_request(o, flags, channel ? token : NULL);
        r = session_send(&rl.session, req, size, forward);
        free(req);
        if (r < 0) {
                message(&o->target, "sending the request: %s", strerror(-r));
                return EXIT_LOCAL;
        }
        if (channel) {
                r = session_open_channel(&rl.session, token, o->connect_timeout_usec);
                if (r < 0) {
                        session_abort(&rl.session);
                        message(&o->target,
                                "cannot open the stderr channel (a second connection): %s; "
                                "--merge-stderr (-M) does without it",
                                session_connect_error(&rl.session, r, NULL, why, sizeof why));
                        return EXIT_LOCAL;
                }
                note_peer("stderr channel to", rl.session.channel);
        }
        rl.o = o;
        rl.out = (struct sink){.fd = STDOUT_FILENO, .nowait = nowait_writes(STDOUT_FILENO)};
        rl.err = (struct sink){.fd = STDERR_FILENO, .nowait = nowait_writes(STDERR_FILENO)};
        serverline_init(&rl.line, "nbnet: ");
        serverline_init(&rl.channel_line, "nbnet: bad header: ");
        rl.forwarding = forward;
        rl.deadline_usec = deadline;
        session_defer_timer(true);
        return relay(&rl, channel);
}

/* A closed fd 1 or 2 would be taken by the socket, and the output with it. */
static int ensure_std_fds(void) {
        for (int fd = 0; fd <= 2; fd++) {
                if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
                        continue;
                int null = open("/dev/null", O_RDWR);
                if (null < 0)
                        return -errno;
                if (null != fd)
                        return -EBADF;
        }
        return 0;
}

int main(int argc, char **argv) {
        struct options o;
        int r;

        if (ensure_std_fds() < 0)
                return EXIT_LOCAL;
        r = cmdline_parse(argc, argv, &o);
        if (r != 0)
                return r > 0 ? EXIT_SUCCESS : r == -EINVAL ? EXIT_USAGE : EXIT_LOCAL;
        quiet = o.quiet;
        verbose = o.verbose;
        for (int i = 0; i < o.ignored_count; i++)
                note("ignored ssh's -%c%s%s: nothing to do here", o.ignored[i].flag,
                     o.ignored[i].arg ? " " : "", o.ignored[i].arg ? o.ignored[i].arg : "");
        r = catch_signals();
        if (r < 0) {
                message(&o.target, "sigaction: %s", strerror(-r));
                return EXIT_LOCAL;
        }
        return run(&o);
}

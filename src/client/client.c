/* SPDX-License-Identifier: MIT */
/*
 * nbnet: runs one command on an nbnet server and exits with its status, as
 * ssh does: the output streams to stdout as it comes, and 255 (with one line
 * on stderr) means nbnet itself failed, never the command.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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
#include "credential.h"
#include "frame.h"
#include "response.h"
#include "session.h"
#include "target.h"

#define PROGRAM "nbnet"
#define EXIT_USAGE 2
#define EXIT_TIMEOUT 124
#define EXIT_LOCAL 255

struct options {
        struct target target;
        const char *port;
        char **argv; /* COMMAND [ARG...] */
        int argc;
        uint64_t connect_timeout_usec;
        uint64_t timeout_usec; /* 0: none */
        const char *timeout_text;
        bool raw;
        bool no_stdin; /* -n */
        bool quiet;
        bool munge; /* --munge or NBNET_MUNGE=1: the command goes in a credential */
};

static bool quiet;

static void usage(FILE *out) {
        fprintf(out,
                "Usage: " PROGRAM " [OPTIONS] HOST[:PORT] COMMAND [ARG...]\n"
                "       " PROGRAM " [OPTIONS] unix:PATH COMMAND [ARG...]\n"
                "Run COMMAND (its words joined with spaces, as ssh does) on an nbnet server,\n"
                "with nbnet's stdin as its stdin; stream its output to stdout as it comes and\n"
                "exit with its status. SIGINT, SIGTERM and SIGHUP reset the connection, which\n"
                "kills the command, and end nbnet by the same signal.\n"
                "\n"
                "  -p PORT          port when HOST:PORT names none (default " TARGET_DEFAULT_PORT ")\n"
                "  -t SEC           connect timeout for each address (default 10)\n"
                "  -T SEC           give up on the whole command after SEC: print what came,\n"
                "                   reset the connection (the command is killed), exit 124\n"
                "  -n, --no-stdin   the command's stdin is /dev/null, not nbnet's stdin\n"
                "                   (also when nbnet's stdin is /dev/null already)\n"
                "  -r, --raw        plain request without a status trailer, for servers that\n"
                "                   answer only the plain form; exit 0 at end of output;\n"
                "                   implies -n\n"
                "  -q, --quiet      no messages of nbnet's own on stderr\n"
                "      --munge      send the command in a MUNGE credential of the local\n"
                "                   munged (also NBNET_MUNGE=1; its socket: NBNET_MUNGE_SOCKET)\n"
                "  -h, --help       show this help\n"
                "  -V, --version    show the version\n"
                "\n"
                "HOST is a name, an IPv4 address or an IPv6 address in brackets ([::1]:9079).\n"
                "Exit status: the command's (0-255; 124 when a timeout killed it), 255 when\n"
                "nbnet could not connect or the response ended without a status, 2 for a\n"
                "usage error. See nbnet(1).\n");
}

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

#define usage_error(...) args_usage_error(PROGRAM, __VA_ARGS__)

/* Returns 0 to go on, 1 to exit 0 (help, version), -EINVAL to exit 2. */
static int parse_options(int argc, char **argv, struct options *o) {
        static const struct option longopts[] = {
                {"raw", no_argument, NULL, 'r'},
                {"no-stdin", no_argument, NULL, 'n'},
                {"quiet", no_argument, NULL, 'q'},
                {"munge", no_argument, NULL, 'M'},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {0},
        };
        unsigned long v;
        int c, r;

        *o = (struct options){.port = TARGET_DEFAULT_PORT,
                              .connect_timeout_usec = 10000000,
                              .munge = credential_wanted()};
        /* '+': stop at HOST, so that "nbnet host ls -l" keeps -l for ls. */
        /* getopt's own messages start with argv[0]: make it the name the others use. */
        argv[0] = (char *) PROGRAM;
        while ((c = getopt_long(argc, argv, "+p:t:T:nrqhV", longopts, NULL)) >= 0) {
                switch (c) {
                case 'p':
                        if (args_parse_uint(optarg, 1, 65535, &v) < 0)
                                return usage_error("-p must be a port, 1..65535, got '%s'", optarg);
                        o->port = optarg;
                        break;
                case 't':
                        if (args_parse_seconds(optarg, 0.001, 86400, &o->connect_timeout_usec) < 0)
                                return usage_error("-t must be 0.001..86400 seconds, got '%s'",
                                                   optarg);
                        break;
                case 'T':
                        if (args_parse_seconds(optarg, 0.001, 31536000, &o->timeout_usec) < 0)
                                return usage_error("-T must be 0.001..31536000 seconds, got '%s'",
                                                   optarg);
                        o->timeout_text = optarg;
                        break;
                case 'n':
                        o->no_stdin = true;
                        break;
                case 'r':
                        o->raw = true;
                        break;
                case 'q':
                        o->quiet = true;
                        break;
                case 'M':
                        o->munge = true;
                        break;
                default: /* -h, -V, and getopt's '?' */
                        if ((r = args_common_option(c, PROGRAM, NBNET_VERSION, usage)) != 0)
                                return r;
                }
        }
        if (argc - optind < 2)
                return usage_error("%s", argc == optind ? "no HOST and COMMAND given"
                                                        : "no COMMAND given");
        r = target_parse(argv[optind], o->port, &o->target);
        if (r == -ENAMETOOLONG)
                return usage_error("'%s': the host name or socket path is too long", argv[optind]);
        if (r < 0)
                return usage_error("'%s' is not HOST, HOST:PORT, [IPV6]:PORT or unix:PATH",
                                   argv[optind]);
        o->argv = argv + optind + 1;
        o->argc = argc - optind - 1;
        return 0;
}

/* The request for the command words; NULL with a message, errno kept
 * (EINVAL: a usage error; anything else: 255). */
static char *build_request(const struct options *o, unsigned flags, size_t *ret_size) {
        char why[512];
        int err;
        char *req = o->munge ? credential_request(o->argv, o->argc, flags, credential_socket(),
                                                  ret_size, why, sizeof why)
                             : frame_build(o->argv, o->argc, flags, ret_size);

        if (req)
                return req;
        err = errno;
        if (errno == EACCES)
                fprintf(stderr, PROGRAM ": cannot get a MUNGE credential: %s\n", why);
        else if (errno == EINVAL)
                usage_error("the command is empty");
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

/* -T: a timer whose handler exits, so that it also ends a blocked getaddrinfo,
 * connect or send; once the relay loop runs, it only tells the loop, which
 * also knows the deadline itself. Returns the deadline, 0 for none. */
static int start_timeout(const struct options *o, uint64_t *ret_deadline) {
        char text[512];

        *ret_deadline = 0;
        if (o->timeout_usec == 0)
                return 0;
        (void) snprintf(text, sizeof text, PROGRAM ": %s: timed out after %s s (-T)\n",
                        o->target.text, o->timeout_text);
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
 * One connection's relay, ssh style: one poll loop over stdin, the socket and
 * stdout, so that neither direction waits for the other and an interactive
 * program on either end never waits on bytes nbnet holds. stdout's file
 * status flags are shared with other processes: O_NONBLOCK is never set on
 * it; writes that must not block ask so per call instead.
 */
struct relay {
        const struct options *o;
        struct session session;
        struct iovec out[2]; /* output not yet written: slices of the session's buffers */
        int out_count;
        bool stdout_nowait; /* RWF_NOWAIT writes, until the kernel says it cannot */
        bool stdout_full;   /* the last write said EAGAIN: wait for POLLOUT */
        bool forwarding;    /* stdin to the socket, until its EOF has been passed on */
        bool stdin_eof;
        char in[64 * 1024]; /* stdin read, not yet sent */
        size_t in_len, in_off;
        uint64_t deadline_usec; /* -T, 0: none */
};

/* Writes the pending output; with wait, all of it, else what stdout takes
 * now. Returns -errno on an error other than EPIPE, -EAGAIN when stdout is full. */
static int flush_output(struct relay *rl, bool wait) {
        while (rl->out_count > 0) {
                ssize_t n;
                size_t done;

                if (rl->stdout_nowait && !wait) {
                        n = pwritev2(STDOUT_FILENO, rl->out, rl->out_count, -1, RWF_NOWAIT);
                        if (n < 0 && (errno == EOPNOTSUPP || errno == EINVAL)) {
                                rl->stdout_nowait = false; /* an older kernel: block instead */
                                continue;
                        }
                } else
                        n = writev(STDOUT_FILENO, rl->out, rl->out_count);
                if (n < 0 && errno == EINTR) {
                        if (session_timed_out() && !wait)
                                return -EINTR;
                        continue;
                }
                if (n < 0 && errno == EPIPE)
                        end_by_sigpipe();
                if (n < 0)
                        return -errno;
                for (done = (size_t) n; rl->out_count > 0 && done >= rl->out[0].iov_len;) {
                        done -= rl->out[0].iov_len;
                        rl->out[0] = rl->out[1];
                        rl->out_count--;
                }
                if (rl->out_count > 0) {
                        rl->out[0].iov_base = (char *) rl->out[0].iov_base + done;
                        rl->out[0].iov_len -= done;
                }
        }
        return 0;
}

/* Appends slices to the pending output. */
static void add_output(struct relay *rl, const struct iovec *iov, int count) {
        for (int i = 0; i < count; i++)
                rl->out[rl->out_count++] = iov[i];
}

/* Everything received and not yet written, held bytes included, written
 * out, blocking: for -T and for a cut connection. */
static void output_everything(struct relay *rl) {
        struct iovec held;

        /* First what is pending: it may point into the response's buffer. */
        if (flush_output(rl, true) < 0)
                return;
        if (session_release_all(&rl->session, &held) == 1) {
                add_output(rl, &held, 1);
                (void) flush_output(rl, true);
        }
}

/* One read of the socket; the caller has written all output before. */
static int read_socket(struct relay *rl) {
        struct iovec iov[2];
        int k = session_read(&rl->session, false, iov);

        if (k > 0)
                add_output(rl, iov, k);
        return k < 0 ? k : 0;
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

/* Until the first of -T's deadline and a held beginning of the trailer due. */
static int poll_timeout(const struct relay *rl) {
        uint64_t now, due = session_release_due(&rl->session), until = rl->deadline_usec;

        if (rl->session.eof || (rl->out_count > 0 && !rl->stdout_full) ||
            (!rl->session.drained && rl->out_count == 0))
                return 0; /* more to do at once: write, or read the socket until EAGAIN */
        if (due && (until == 0 || due < until))
                until = due;
        if (until == 0)
                return -1;
        now = clock_now_usec();
        if (now >= until)
                return 0;
        return (int) ((until - now + 999) / 1000);
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
        output_everything(rl); /* what came is output, as at -T */
        message(&rl->o->target, "%s: %s%s", what, strerror(-r), why);
        return EXIT_LOCAL;
}

/* Streams the response to stdout, and stdin to the command; returns the exit
 * status nbnet ends with. */
static int relay(struct relay *rl) {
        struct iovec iov;
        int r;

        for (;;) {
                struct pollfd p[3] = {{.fd = -1}, {.fd = rl->session.fd}, {.fd = -1}};
                uint64_t due;

                if (session_timed_out() ||
                    (rl->deadline_usec && clock_now_usec() >= rl->deadline_usec))
                        return timed_out_exit(rl);
                r = flush_output(rl, false);
                rl->stdout_full = r == -EAGAIN;
                if (r < 0 && r != -EAGAIN && r != -EINTR) {
                        rl->out_count = 0;
                        return relay_error(rl, r, "writing the output to stdout", "");
                }
                if (rl->out_count == 0 && rl->session.eof)
                        break;
                if (rl->out_count == 0 && !rl->session.drained) {
                        r = read_socket(rl);
                        if (r < 0)
                                return relay_error(rl, r, "reading the response",
                                                   " (connection cut)");
                }
                if (rl->forwarding && !rl->stdin_eof && rl->in_len == 0) {
                        p[0].fd = STDIN_FILENO;
                        p[0].events = POLLIN;
                }
                p[1].events = (short) ((rl->out_count == 0 && !rl->session.eof ? POLLIN : 0) |
                                       (rl->forwarding && rl->in_len > 0 ? POLLOUT : 0));
                if (rl->out_count > 0) {
                        p[2].fd = STDOUT_FILENO;
                        p[2].events = POLLOUT;
                }
                if (poll(p, 3, poll_timeout(rl)) < 0) {
                        if (errno == EINTR)
                                continue;
                        return relay_error(rl, -errno, "poll", "");
                }
                due = session_release_due(&rl->session);
                if ((p[1].revents & (POLLIN | POLLERR | POLLHUP)) || (due && clock_now_usec() >= due))
                        rl->session.drained = false; /* read: more bytes, or EAGAIN and release */
                if (p[1].revents & POLLOUT)
                        send_stdin(rl);
                if (p[0].revents)
                        read_stdin(rl);
        }
        r = session_finish(&rl->session, &iov);
        if (r >= 0)
                return r;
        /* The held-back bytes were output after all. */
        add_output(rl, &iov, 1);
        (void) flush_output(rl, true);
        message(&rl->o->target,
                "response ended without a status (server too old, or connection cut)");
        return EXIT_LOCAL;
}

static int run(const struct options *o) {
        static struct relay rl; /* 192 KiB of buffers: not on the stack */
        const char *resolve_error = NULL;
        char why[512];
        bool forward = !o->no_stdin && !o->raw && !is_dev_null(STDIN_FILENO);
        unsigned flags = (o->raw ? 0 : FRAME_WANT_STATUS) | (forward ? FRAME_STDIN : 0);
        uint64_t deadline;
        size_t size;
        char *req;
        int r;

        req = build_request(o, flags, &size);
        if (!req)
                return errno == EINVAL ? EXIT_USAGE : EXIT_LOCAL;
        r = start_timeout(o, &deadline);
        if (r < 0) {
                free(req);
                message(&o->target, "cannot start the -T timer: %s", strerror(-r));
                return EXIT_LOCAL;
        }
        r = session_connect(&rl.session, &o->target, o->connect_timeout_usec, o->raw, &resolve_error);
        if (r < 0) {
                free(req);
                message(&o->target, "%s",
                        session_connect_error(&rl.session, r, resolve_error, why, sizeof why));
                return EXIT_LOCAL;
        }
        r = session_send(&rl.session, req, size, forward);
        free(req);
        if (r < 0) {
                message(&o->target, "sending the request: %s", strerror(-r));
                return EXIT_LOCAL;
        }
        rl.o = o;
        rl.forwarding = forward;
        rl.stdout_nowait = nowait_writes(STDOUT_FILENO);
        rl.deadline_usec = deadline;
        session_defer_timer(true);
        return relay(&rl);
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
        r = parse_options(argc, argv, &o);
        if (r != 0)
                return r > 0 ? EXIT_SUCCESS : EXIT_USAGE;
        quiet = o.quiet;
        r = catch_signals();
        if (r < 0) {
                message(&o.target, "sigaction: %s", strerror(-r));
                return EXIT_LOCAL;
        }
        return run(&o);
}

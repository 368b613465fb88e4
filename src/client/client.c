/* SPDX-License-Identifier: MIT */
/*
 * nbnet: runs one command on an nbnet server and exits with its status, as
 * ssh does: the output streams to stdout as it comes, and 255 (with one line
 * on stderr) means nbnet itself failed, never the command.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "args.h"
#include "frame.h"
#include "response.h"
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
        bool quiet;
};

/* What the SIGALRM handler of -T needs; set before the timer starts. */
static volatile int alarm_fd = -1;
static char alarm_message[512];
static size_t alarm_message_len;

static bool quiet;

static void usage(FILE *out) {
        fprintf(out,
                "Usage: " PROGRAM " [OPTIONS] HOST[:PORT] COMMAND [ARG...]\n"
                "       " PROGRAM " [OPTIONS] unix:PATH COMMAND [ARG...]\n"
                "Run COMMAND (its words joined with spaces, as ssh does) on an nbnet server,\n"
                "stream its output to stdout and exit with its status.\n"
                "\n"
                "  -p PORT          port when HOST:PORT names none (default " TARGET_DEFAULT_PORT ")\n"
                "  -t SEC           connect timeout for each address (default 10)\n"
                "  -T SEC           give up on the whole command after SEC; exit 124\n"
                "  -r, --raw        plain request without a status trailer, for servers that\n"
                "                   answer only the plain form; exit 0 at end of output\n"
                "  -q, --quiet      no messages of nbnet's own on stderr\n"
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
                {"quiet", no_argument, NULL, 'q'},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {0},
        };
        unsigned long v;
        int c, r;

        *o = (struct options){.port = TARGET_DEFAULT_PORT, .connect_timeout_usec = 10000000};
        /* '+': stop at HOST, so that "nbnet host ls -l" keeps -l for ls. */
        /* getopt's own messages start with argv[0]: make it the name the others use. */
        argv[0] = (char *) PROGRAM;
        while ((c = getopt_long(argc, argv, "+p:t:T:rqhV", longopts, NULL)) >= 0) {
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
                case 'r':
                        o->raw = true;
                        break;
                case 'q':
                        o->quiet = true;
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

/* The request for the command words; NULL with a message. */
static char *build_request(const struct options *o, size_t *ret_size) {
        char *req = frame_build(o->argv, o->argc, o->raw ? 0 : FRAME_WANT_STATUS, ret_size);

        if (req)
                return req;
        if (errno == EINVAL)
                usage_error("the command is empty");
        else if (errno == E2BIG)
                fprintf(stderr, PROGRAM ": the command is over %u bytes; no server takes it\n",
                        FRAME_MAX_COMMAND_LIMIT);
        else
                fprintf(stderr, PROGRAM ": cannot build the request: %s\n", strerror(errno));
        return NULL;
}

/* A reset, not a FIN: the server kills the command at once, even a silent one. */
static void abort_connection(int fd) {
        struct linger l = {.l_onoff = 1, .l_linger = 0};

        (void) setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        close(fd);
}

static void on_alarm(int sig) {
        (void) sig;
        if (alarm_fd >= 0)
                abort_connection(alarm_fd);
        if (!quiet)
                (void) !write(STDERR_FILENO, alarm_message, alarm_message_len);
        _exit(EXIT_TIMEOUT);
}

/* -T: a timer whose handler exits, so that it also ends a blocked getaddrinfo,
 * connect or write to a stalled stdout. */
static int start_timeout(const struct options *o) {
        struct itimerval it = {0};
        struct sigaction sa = {.sa_handler = on_alarm};
        int n;

        if (o->timeout_usec == 0)
                return 0;
        n = snprintf(alarm_message, sizeof alarm_message,
                     PROGRAM ": %s: timed out after %s s (-T)\n", o->target.text, o->timeout_text);
        alarm_message_len = n < 0                               ? 0
                            : (size_t) n < sizeof alarm_message ? (size_t) n
                                                                : sizeof alarm_message - 1;
        if (sigaction(SIGALRM, &sa, NULL) < 0)
                return -errno;
        it.it_value.tv_sec = (time_t) (o->timeout_usec / 1000000);
        it.it_value.tv_usec = (suseconds_t) (o->timeout_usec % 1000000);
        if (setitimer(ITIMER_REAL, &it, NULL) < 0)
                return -errno;
        return 0;
}

/* The reader of our stdout went away (| head): end as a filter does, quietly. */
static _Noreturn void end_by_sigpipe(int fd) {
        if (fd >= 0)
                abort_connection(fd);
        /* Should either fail, the status is still the one a shell gives a SIGPIPE death. */
        (void) signal(SIGPIPE, SIG_DFL);
        (void) raise(SIGPIPE);
        _exit(128 + SIGPIPE);
}

/* Writes every slice to stdout; -errno on an error other than EPIPE. */
static int write_out(int fd, struct iovec *iov, int count) {
        while (count > 0) {
                ssize_t n = writev(STDOUT_FILENO, iov, count);
                size_t done;

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EPIPE)
                        end_by_sigpipe(fd);
                if (n < 0)
                        return -errno;
                for (done = (size_t) n; count > 0 && done >= iov->iov_len; iov++, count--)
                        done -= iov->iov_len;
                if (count > 0) {
                        iov->iov_base = (char *) iov->iov_base + done;
                        iov->iov_len -= done;
                }
        }
        return 0;
}

static int send_all(int fd, const char *p, size_t size) {
        while (size > 0) {
                ssize_t n = send(fd, p, size, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                p += n;
                size -= (size_t) n;
        }
        return 0;
}

/* Streams the response to stdout; returns the exit status nbnet ends with. */
static int relay_response(int fd, const struct options *o) {
        static char buf[128 * 1024];
        struct response resp;
        struct iovec iov[2];
        int n_iov, r;

        response_init(&resp);
        for (;;) {
                ssize_t n = recv(fd, buf, sizeof buf, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        abort_connection(fd);
                        message(&o->target, "reading the response: %s (connection cut)",
                                strerror(-r));
                        return EXIT_LOCAL;
                }
                if (n == 0)
                        break;
                if (o->raw) {
                        iov[0] = (struct iovec){.iov_base = buf, .iov_len = (size_t) n};
                        n_iov = 1;
                } else
                        n_iov = response_feed(&resp, buf, (size_t) n, iov);
                r = write_out(fd, iov, n_iov);
                if (r < 0) {
                        abort_connection(fd);
                        message(&o->target, "writing the output to stdout: %s", strerror(-r));
                        return EXIT_LOCAL;
                }
        }
        alarm_fd = -1; /* -T must not reset a descriptor number that is no longer ours */
        close(fd);
        if (o->raw)
                return 0;
        r = response_finish(&resp, &iov[0]);
        if (r >= 0)
                return r;
        /* The held-back bytes were output after all; an error on them changes nothing now. */
        (void) write_out(-1, iov, 1); /* -1: the connection is closed already */
        message(&o->target, "response ended without a status (server too old, or connection cut)");
        return EXIT_LOCAL;
}

static int connect_error(const struct options *o, int r, const char *resolve_error) {
        if (r == -EHOSTUNREACH && resolve_error)
                message(&o->target, "cannot resolve the host: %s", resolve_error);
        else if (r == -ECONNREFUSED)
                message(&o->target, "connection refused");
        else if (r == -ETIMEDOUT)
                message(&o->target, "timed out connecting (-t)");
        else if (r == -ENOENT && o->target.is_unix)
                message(&o->target, "no such socket");
        else
                message(&o->target, "cannot connect: %s", strerror(-r));
        return EXIT_LOCAL;
}

static int run(const struct options *o) {
        const char *resolve_error = NULL;
        size_t size;
        char *req;
        int fd, r;

        req = build_request(o, &size);
        if (!req)
                return EXIT_USAGE;
        r = start_timeout(o);
        if (r < 0) {
                free(req);
                message(&o->target, "cannot start the -T timer: %s", strerror(-r));
                return EXIT_LOCAL;
        }
        fd = target_connect(&o->target, o->connect_timeout_usec, &resolve_error);
        if (fd < 0) {
                free(req);
                return connect_error(o, fd, resolve_error);
        }
        alarm_fd = fd;
        r = send_all(fd, req, size);
        free(req);
        /* Nothing more to send: a FIN after the frame is fine, the command runs on. */
        if (r == 0 && shutdown(fd, SHUT_WR) < 0)
                r = -errno;
        if (r < 0) {
                abort_connection(fd);
                message(&o->target, "sending the request: %s", strerror(-r));
                return EXIT_LOCAL;
        }
        return relay_response(fd, o);
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
        /* EPIPE instead: a broken stdout ends us through end_by_sigpipe, a
         * broken connection through the status check. */
        if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
                message(&o.target, "signal SIGPIPE: %s", strerror(errno));
                return EXIT_LOCAL;
        }
        return run(&o);
}

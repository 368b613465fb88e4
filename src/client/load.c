/* SPDX-License-Identifier: MIT */
/*
 * nbnet-load: a closed-loop load generator in the manner of wrk. C slots
 * each run requests back to back, one connection per request (a connection
 * carries one command), and every response's trailer is checked.
 *
 * With --stderr-channel each request carries '&' and a fresh token, and its
 * slot opens the stderr channel beside it (a second connection that sends
 * '=' and the token): the request ends when both have closed.
 *
 * One epoll loop over a fixed array of slots, not sd-event: the only events
 * are socket readiness and a coarse tick, and at tens of thousands of
 * connections a second, sd-event's allocation of a source per connection
 * would cost more than the work it schedules.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "clock.h"
#include "credential.h"
#include "frame.h"
#include "histogram.h"
#include "report.h"
#include "response.h"
#include "target.h"
#include "token.h"

#define PROGRAM "nbnet-load"
#define MAX_CONNS 1000u
#define MAX_REQUESTS 10000000ul
#define MAX_DURATION_SEC 3600.0
/* Timeouts and progress are checked on this tick, not per connection. */
#define TICK_USEC (100 * 1000ull)

/* SLOT_WAITING: the response is in, the stderr channel not closed yet. */
enum slot_state { SLOT_IDLE, SLOT_CONNECTING, SLOT_SENDING, SLOT_READING, SLOT_WAITING };
enum channel_state { CHANNEL_CONNECTING, CHANNEL_READING };

struct slot {
        enum slot_state state;
        int fd;
        uint32_t events;     /* what epoll watches for this fd */
        uint32_t generation; /* in the epoll cookie: an event for a closed connection is ignored */
        size_t sent;         /* of the request, then of the --stdin payload */
        uint64_t start_usec;
        struct response response;
        char *request; /* this request's own: a credential and a token are single-use */
        size_t request_size;
        int status; /* SLOT_WAITING: the response's */
        /* --stderr-channel: the channel's connection (-1 when none) and what it sends. */
        int channel;
        enum channel_state channel_state;
        uint32_t channel_events;
        size_t channel_sent;
        char channel_request[FRAME_CHANNEL_SIZE];
};

struct options {
        struct target target;
        const char *port;
        char **argv; /* COMMAND [ARG...] */
        int argc;
        unsigned conns;
        unsigned long requests; /* 0 with a duration */
        uint64_t duration_usec; /* 0 with a request count */
        uint64_t timeout_usec;  /* per request */
        bool raw;
        bool json;
        bool munge;             /* each request in a fresh MUNGE credential */
        bool channel;           /* --stderr-channel */
        bool ok_status[256];    /* --ok-status */
        const char *ok_text;    /* as given, for the report */
        const char *stdin_path; /* --stdin */
};

struct load {
        const struct options *o;
        struct sockaddr_storage addr;
        socklen_t addr_len;
        char *request;
        size_t request_size;
        const char *payload; /* --stdin: the file, mapped; sent after every request */
        size_t payload_size;
        int epfd;
        struct slot *slots;
        uint64_t started;
        struct report res;
        uint64_t start_usec;
};

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig) {
        (void) sig;
        interrupted = 1;
}

static void usage(FILE *out) {
        fprintf(out,
                "Usage: " PROGRAM
                " [OPTIONS] (-n REQUESTS | -d DURATION) HOST[:PORT] COMMAND [ARG...]\n"
                "Run COMMAND on an nbnet server over and over from CONNS clients at once, each\n"
                "starting its next request when the last one ends, and report the rate, the\n"
                "latency percentiles and the statuses. HOST may be unix:PATH.\n"
                "\n"
                "  -c CONNS         concurrent clients, 1..%u (default 1)\n"
                "  -n REQUESTS      stop after REQUESTS requests, 1..%lu\n"
                "  -d DURATION      stop after DURATION, 0.001..%.0f seconds; 2, 2s, 500ms, 1.5m\n"
                "  -p PORT          port when HOST:PORT names none (default " TARGET_DEFAULT_PORT ")\n"
                "  -t DURATION      give up on one request after DURATION (default 30s)\n"
                "      --ok-status LIST\n"
                "                   the statuses that count as ok, as 0,1 or 0-2 (default 0);\n"
                "                   any other is a failed request\n"
                "      --stdin FILE send FILE as every command's stdin ('<'), then end it\n"
                "      --stderr-channel\n"
                "                   the command's stderr apart, on a second connection per\n"
                "                   request ('&'), as nbnet does; without it, in the output\n"
                "  -r, --raw        plain requests, counted by clean EOF, for servers that\n"
                "                   cannot send a status trailer\n"
                "      --json       the report as one JSON object\n"
                "      --munge      each request in a fresh MUNGE credential of the local\n"
                "                   munged (its socket: NBNET_MUNGE_SOCKET)\n"
                "  -h, --help       show this help\n"
                "  -V, --version    show the version\n"
                "\n"
                "See nbnet-load(1).\n",
                MAX_CONNS, MAX_REQUESTS, MAX_DURATION_SEC);
}

#define usage_error(...) args_usage_error(PROGRAM, __VA_ARGS__)

/* "0,1", "0-2,126": each status of the list set in ok (which it clears first). */
static int parse_status_list(const char *s, bool ok[static 256]) {
        memset(ok, 0, 256 * sizeof *ok);
        for (;;) {
                unsigned long lo, hi;
                char *end;

                if (*s < '0' || *s > '9')
                        return -EINVAL;
                lo = hi = strtoul(s, &end, 10);
                if (*end == '-') {
                        s = end + 1;
                        if (*s < '0' || *s > '9')
                                return -EINVAL;
                        hi = strtoul(s, &end, 10);
                }
                if (lo > hi || hi > 255)
                        return -ERANGE;
                for (unsigned long v = lo; v <= hi; v++)
                        ok[v] = true;
                if (*end == '\0')
                        return 0;
                if (*end != ',')
                        return -EINVAL;
                s = end + 1;
        }
}

/* Returns 0 to go on, 1 to exit 0 (help, version), -EINVAL to exit 2. */
static int parse_options(int argc, char **argv, struct options *o) {
        enum { OPT_JSON = 256, OPT_OK_STATUS, OPT_STDIN, OPT_MUNGE, OPT_STDERR_CHANNEL };
        static const struct option longopts[] = {
                {"raw", no_argument, NULL, 'r'},
                {"json", no_argument, NULL, OPT_JSON},
                {"ok-status", required_argument, NULL, OPT_OK_STATUS},
                {"stdin", required_argument, NULL, OPT_STDIN},
                {"munge", no_argument, NULL, OPT_MUNGE},
                {"stderr-channel", no_argument, NULL, OPT_STDERR_CHANNEL},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {0},
        };
        unsigned long v;
        int c, r;

        *o = (struct options){.port = TARGET_DEFAULT_PORT,
                              .conns = 1,
                              .timeout_usec = 30 * USEC_PER_SEC,
                              .ok_status = {[0] = true},
                              .ok_text = "0"};
        /* getopt's own messages start with argv[0]: make it the name the others use. */
        argv[0] = (char *) PROGRAM;
        while ((c = getopt_long(argc, argv, "+c:n:d:p:t:rhV", longopts, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        if (args_parse_uint(optarg, 1, MAX_CONNS, &v) < 0)
                                return usage_error("-c must be 1..%u, got '%s'", MAX_CONNS, optarg);
                        o->conns = (unsigned) v;
                        break;
                case 'n':
                        if (args_parse_uint(optarg, 1, MAX_REQUESTS, &o->requests) < 0)
                                return usage_error("-n must be 1..%lu, got '%s'", MAX_REQUESTS,
                                                   optarg);
                        break;
                case 'd':
                        if (args_parse_duration(optarg, 0.001, MAX_DURATION_SEC, &o->duration_usec) <
                            0)
                                return usage_error("-d must be 0.001..%.0f seconds (2, 2s, 500ms, "
                                                   "1.5m), got '%s'",
                                                   MAX_DURATION_SEC, optarg);
                        break;
                case 'p':
                        if (args_parse_uint(optarg, 1, 65535, &v) < 0)
                                return usage_error("-p must be a port, 1..65535, got '%s'", optarg);
                        o->port = optarg;
                        break;
                case 't':
                        if (args_parse_duration(optarg, 0.001, 86400, &o->timeout_usec) < 0)
                                return usage_error("-t must be 0.001..86400 seconds (2, 2s, 500ms, "
                                                   "1.5m), got '%s'",
                                                   optarg);
                        break;
                case 'r':
                        o->raw = true;
                        break;
                case OPT_JSON:
                        o->json = true;
                        break;
                case OPT_OK_STATUS:
                        if (parse_status_list(optarg, o->ok_status) < 0)
                                return usage_error(
                                        "--ok-status must be statuses 0..255 and ranges, "
                                        "as 0,1 or 0-2,126; got '%s'",
                                        optarg);
                        o->ok_text = optarg;
                        break;
                case OPT_STDIN:
                        o->stdin_path = optarg;
                        break;
                case OPT_MUNGE:
                        o->munge = true;
                        break;
                case OPT_STDERR_CHANNEL:
                        o->channel = true;
                        break;
                default: /* -h, -V, and getopt's '?' */
                        if ((r = args_common_option(c, PROGRAM, NBNET_VERSION, usage)) != 0)
                                return r;
                }
        }
        if (o->raw && o->stdin_path)
                return usage_error("--stdin needs the '<' flag, which --raw requests do not have");
        if (o->raw && o->channel)
                return usage_error(
                        "--stderr-channel needs the '&' flag, which --raw requests do not have");
        if ((o->requests == 0) == (o->duration_usec == 0))
                return usage_error(
                        "give exactly one of -n REQUESTS and -d SECONDS: the run must end");
        if (argc - optind < 2)
                return usage_error("%s", argc == optind ? "no HOST and COMMAND given"
                                                        : "no COMMAND given");
        r = target_parse(argv[optind], o->port, &o->target);
        if (r < 0)
                return usage_error("'%s' is not HOST, HOST:PORT, [IPV6]:PORT or unix:PATH",
                                   argv[optind]);
        o->argv = argv + optind + 1;
        o->argc = argc - optind - 1;
        return 0;
}

/* The first address of the target: a benchmark measures one server. */
static int resolve(struct load *ld) {
        const struct target *t = &ld->o->target;
        const char *error = NULL;
        struct addrinfo *list;
        int r;

        if (t->is_unix) {
                memcpy(&ld->addr, &t->unix_addr, t->unix_addr_len);
                ld->addr_len = t->unix_addr_len;
                return 0;
        }
        r = target_resolve(t, &list, &error);
        if (r < 0) {
                fprintf(stderr, PROGRAM ": %s: cannot resolve the host: %s\n", t->text, error);
                return r;
        }
        memcpy(&ld->addr, list->ai_addr, list->ai_addrlen);
        ld->addr_len = list->ai_addrlen;
        freeaddrinfo(list);
        return 0;
}

/* Each slot holds one socket; make room for them under RLIMIT_NOFILE. */
static int ensure_fd_limit(unsigned conns) {
        struct rlimit rl;
        rlim_t need = conns + 16;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return -errno;
        if (rl.rlim_cur >= need)
                return 0;
        if (rl.rlim_max < need) {
                fprintf(stderr,
                        PROGRAM ": -c %u needs %lu descriptors, the hard limit is %lu; "
                                "raise it (ulimit -Hn) or lower -c\n",
                        conns, (unsigned long) need, (unsigned long) rl.rlim_max);
                return -EMFILE;
        }
        rl.rlim_cur = need;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                return -errno;
        return 0;
}

static bool budget_left(const struct load *ld) {
        if (interrupted)
                return false;
        if (ld->o->requests)
                return ld->started < ld->o->requests;
        return clock_now_usec() < ld->start_usec + ld->o->duration_usec;
}

/* The generation, the slot's index, and whether the event is its channel's. */
static uint64_t cookie(const struct load *ld, const struct slot *s, bool channel) {
        return (uint64_t) s->generation << 32 | (uint64_t) (s - ld->slots) << 1 | channel;
}

/* Unregister before close: a later event in the batch must not find the fd. */
static void close_fd(struct load *ld, int *fd) {
        if (*fd < 0)
                return;
        if (epoll_ctl(ld->epfd, EPOLL_CTL_DEL, *fd, NULL) < 0 && errno != ENOENT && errno != EBADF)
                fprintf(stderr, PROGRAM ": epoll_ctl DEL: %s\n", strerror(errno));
        close(*fd);
        *fd = -1;
}

static void close_slot(struct load *ld, struct slot *s) {
        close_fd(ld, &s->fd);
        close_fd(ld, &s->channel);
        s->state = SLOT_IDLE;
        s->generation++;
}

static int watch_fd(struct load *ld, struct slot *s, bool channel, int op, uint32_t events) {
        uint32_t *watched = channel ? &s->channel_events : &s->events;
        struct epoll_event ev = {.events = events, .data.u64 = cookie(ld, s, channel)};

        if (op == EPOLL_CTL_MOD && *watched == events)
                return 0;
        *watched = events;
        return epoll_ctl(ld->epfd, op, channel ? s->channel : s->fd, &ev) < 0 ? -errno : 0;
}

static int watch(struct load *ld, struct slot *s, int op, uint32_t events) {
        return watch_fd(ld, s, false, op, events);
}

/* The request's flags: '+' unless --raw, '<' with --stdin. */
static unsigned load_flags(const struct options *o) {
        return (o->raw ? 0 : FRAME_WANT_STATUS) | (o->stdin_path ? FRAME_STDIN : 0);
}

/* A request of the slot's own: with --munge a fresh credential from munged
 * (one round trip), with --stderr-channel a fresh token (the server refuses
 * a token already waiting) and the channel's '=' and token. */
static int slot_new_request(struct load *ld, struct slot *s) {
        char why[512], token[FRAME_TOKEN_HEX + 1];
        struct frame_names names = {0};
        int r;

        if (ld->o->channel) {
                if ((r = token_make(token)) < 0 ||
                    (r = frame_channel_request(token, s->channel_request)) < 0)
                        return r;
                names.token = token;
        }
        free(s->request);
        s->request = ld->o->munge ? credential_request(ld->o->argv, ld->o->argc, load_flags(ld->o),
                                                       &names, credential_socket(),
                                                       &s->request_size, why, sizeof why)
                                  : frame_build_named(ld->o->argv, ld->o->argc, load_flags(ld->o),
                                                      &names, &s->request_size);
        return s->request ? 0 : -errno;
}

/* A non-blocking connection to the target, under way; -errno when it failed at once. */
static int connect_target(const struct load *ld, int *ret_fd) {
        int fd = socket(ld->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return -errno;
        if (connect(fd, (const struct sockaddr *) &ld->addr, ld->addr_len) < 0 &&
            errno != EINPROGRESS) {
                int r = -errno;
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

/* Opens the connection of a new request (and its channel); -errno when it failed at once. */
static int start_request(struct load *ld, struct slot *s) {
        int r;

        if ((ld->o->munge || ld->o->channel) && (r = slot_new_request(ld, s)) < 0)
                return r;
        ld->started++;
        s->start_usec = clock_now_usec();
        s->sent = 0;
        response_init(&s->response);
        r = connect_target(ld, &s->fd);
        if (r < 0)
                return r;
        s->state = SLOT_CONNECTING;
        s->events = 0;
        r = watch(ld, s, EPOLL_CTL_ADD, EPOLLOUT);
        if (r == 0 && ld->o->channel) {
                s->channel_state = CHANNEL_CONNECTING;
                s->channel_sent = 0;
                s->channel_events = 0;
                r = connect_target(ld, &s->channel);
                if (r == 0)
                        r = watch_fd(ld, s, true, EPOLL_CTL_ADD, EPOLLOUT);
        }
        if (r < 0)
                close_slot(ld, s);
        return r;
}

/* Closed loop: a slot starts its next request as soon as one ends. */
static void next_request(struct load *ld, struct slot *s) {
        while (budget_left(ld)) {
                int r = start_request(ld, s);
                if (r == 0)
                        return;
                ld->res.last_errno = -r;
                ld->res.connect_errors++;
                ld->res.finished++;
        }
}

enum outcome { OUT_OK, OUT_CONNECT_ERROR, OUT_READ_ERROR, OUT_NO_STATUS, OUT_TIMEOUT };

/* The slot's request: its own (a fresh MUNGE credential), or the shared one. */
static const char *slot_request(const struct load *ld, const struct slot *s, size_t *ret_size) {
        *ret_size = s->request ? s->request_size : ld->request_size;
        return s->request ? s->request : ld->request;
}

/* How much of the --stdin payload went out. */
static size_t payload_sent(const struct load *ld, const struct slot *s) {
        size_t request_size;

        (void) slot_request(ld, s, &request_size);
        return s->sent > request_size ? s->sent - request_size : 0;
}

static void end_request(struct load *ld, struct slot *s, enum outcome out, int status) {
        ld->res.finished++;
        ld->res.output_bytes += s->response.output_bytes;
        ld->res.input_bytes += payload_sent(ld, s);
        switch (out) {
        case OUT_OK:
                if (status >= 0)
                        ld->res.statuses[status]++;
                /* A status the run was not told is fine is a failure, fast or not. */
                if (status >= 0 && !ld->o->ok_status[status]) {
                        ld->res.bad_status++;
                        break;
                }
                ld->res.ok++;
                histogram_add(&ld->res.latency, clock_now_usec() - s->start_usec);
                break;
        case OUT_CONNECT_ERROR:
                ld->res.connect_errors++;
                break;
        case OUT_READ_ERROR:
                ld->res.read_errors++;
                break;
        case OUT_NO_STATUS:
                ld->res.no_status++;
                break;
        case OUT_TIMEOUT:
                ld->res.timeouts++;
                break;
        }
        close_slot(ld, s);
        next_request(ld, s);
}

/* The response is in; with the stderr channel still open, the request ends
 * when that closes too (the server closes it just before the trailer). */
static void response_done(struct load *ld, struct slot *s, enum outcome out, int status) {
        if (out == OUT_OK && s->channel >= 0) {
                close_fd(ld, &s->fd);
                s->status = status;
                s->state = SLOT_WAITING;
                return;
        }
        end_request(ld, s, out, status);
}

static void on_connecting(struct load *ld, struct slot *s) {
        int err = 0;
        socklen_t len = sizeof err;

        if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                err = errno;
        if (err != 0) {
                ld->res.last_errno = err;
                return end_request(ld, s, OUT_CONNECT_ERROR, -1);
        }
        s->state = SLOT_SENDING;
}

/* The request, then the --stdin payload, as the socket takes them; the
 * response is read meanwhile, so that a command that echoes its input never
 * waits on us. No shutdown(SHUT_WR) after a frame without payload: the server
 * then closes first, and TIME_WAIT lands on its side rather than eating our
 * ephemeral ports. With a payload, the FIN is the command's EOF. */
static void on_sending(struct load *ld, struct slot *s) {
        size_t request_size;
        const char *request = slot_request(ld, s, &request_size);
        size_t total = request_size + ld->payload_size;
        int r;

        while (s->sent < total) {
                const char *p = s->sent < request_size ? request + s->sent
                                                       : ld->payload + payload_sent(ld, s);
                size_t left = s->sent < request_size ? request_size - s->sent : total - s->sent;
                ssize_t n = send(s->fd, p, left, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN) {
                        r = watch(ld, s, EPOLL_CTL_MOD, EPOLLIN | EPOLLOUT);
                        if (r < 0) {
                                ld->res.last_errno = -r;
                                end_request(ld, s, OUT_READ_ERROR, -1);
                        }
                        return;
                }
                if (n < 0) {
                        ld->res.last_errno = errno;
                        return end_request(ld, s, OUT_READ_ERROR, -1);
                }
                s->sent += (size_t) n;
        }
        if (ld->o->stdin_path && shutdown(s->fd, SHUT_WR) < 0) {
                ld->res.last_errno = errno;
                return end_request(ld, s, OUT_READ_ERROR, -1);
        }
        s->state = SLOT_READING;
        r = watch(ld, s, EPOLL_CTL_MOD, EPOLLIN);
        if (r < 0) {
                ld->res.last_errno = -r;
                end_request(ld, s, OUT_READ_ERROR, -1);
        }
}

/* One recv() of fd (the connection or the channel), EINTR retried: its
 * length, 0 at the end; -EAGAIN when nothing is there yet, or -EIO once a
 * read error has ended the request. */
static ssize_t recv_some(struct load *ld, struct slot *s, int fd, char *buf, size_t size) {
        for (;;) {
                ssize_t n = recv(fd, buf, size, 0);
                if (n >= 0)
                        return n;
                if (errno == EINTR)
                        continue;
                if (errno == EAGAIN)
                        return -EAGAIN;
                ld->res.last_errno = errno;
                end_request(ld, s, OUT_READ_ERROR, -1);
                return -EIO;
        }
}

/* A few reads per event, so that one fast stream cannot starve the others;
 * epoll is level-triggered and comes back for the rest. */
static void on_reading(struct load *ld, struct slot *s) {
        static char discard[256 * 1024];
        struct iovec unused[2];
        int status;

        for (int i = 0; i < 4; i++) {
                ssize_t n = recv_some(ld, s, s->fd, discard, sizeof discard);
                if (n < 0)
                        return;
                if (n == 0) {
                        if (ld->o->raw)
                                return end_request(ld, s, OUT_OK, -1);
                        status = response_finish(&s->response, unused);
                        return response_done(ld, s, status >= 0 ? OUT_OK : OUT_NO_STATUS, status);
                }
                if (ld->o->raw)
                        s->response.output_bytes += (uint64_t) n;
                else
                        (void) response_feed(&s->response, discard, (size_t) n, clock_now_usec(),
                                             unused);
        }
}

/* The stderr channel: once connected, '=' and the token, then read (and
 * count) what the command writes to its stderr until the server closes it. */
static void on_channel(struct load *ld, struct slot *s) {
        static char discard[64 * 1024];
        int err = 0, r;
        socklen_t len = sizeof err;

        if (s->channel_state == CHANNEL_CONNECTING) {
                if (getsockopt(s->channel, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                        err = errno;
                if (err != 0) {
                        ld->res.last_errno = err;
                        return end_request(ld, s, OUT_CONNECT_ERROR, -1);
                }
                while (s->channel_sent < sizeof s->channel_request) {
                        ssize_t n = send(s->channel, s->channel_request + s->channel_sent,
                                         sizeof s->channel_request - s->channel_sent, MSG_NOSIGNAL);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0 && errno == EAGAIN)
                                return; /* EPOLLOUT comes back */
                        if (n < 0) {
                                ld->res.last_errno = errno;
                                return end_request(ld, s, OUT_READ_ERROR, -1);
                        }
                        s->channel_sent += (size_t) n;
                }
                s->channel_state = CHANNEL_READING;
                r = watch_fd(ld, s, true, EPOLL_CTL_MOD, EPOLLIN);
                if (r < 0) {
                        ld->res.last_errno = -r;
                        end_request(ld, s, OUT_READ_ERROR, -1);
                }
                return;
        }
        for (int i = 0; i < 4; i++) {
                ssize_t n = recv_some(ld, s, s->channel, discard, sizeof discard);
                if (n < 0)
                        return;
                if (n == 0) {
                        close_fd(ld, &s->channel);
                        if (s->state == SLOT_WAITING)
                                end_request(ld, s, OUT_OK, s->status);
                        return;
                }
                ld->res.stderr_bytes += (uint64_t) n;
        }
}

static void on_event(struct load *ld, const struct epoll_event *ev) {
        uint32_t low = (uint32_t) ev->data.u64, generation = (uint32_t) (ev->data.u64 >> 32);
        uint32_t index = low >> 1;
        struct slot *s;

        if (index >= ld->o->conns)
                return;
        s = &ld->slots[index];
        if (s->generation != generation)
                return;
        if (low & 1) {
                if (s->channel >= 0)
                        on_channel(ld, s);
                return;
        }
        if (s->fd < 0)
                return;
        switch (s->state) {
        case SLOT_CONNECTING:
                on_connecting(ld, s);
                if (s->state == SLOT_SENDING)
                        on_sending(ld, s);
                break;
        case SLOT_SENDING:
                /* The response may come while input is still going out. */
                if (ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                        on_reading(ld, s);
                if (s->state == SLOT_SENDING && s->generation == generation && (ev->events & EPOLLOUT))
                        on_sending(ld, s);
                break;
        case SLOT_READING:
                on_reading(ld, s);
                break;
        case SLOT_IDLE:
        case SLOT_WAITING:
                break;
        }
}

static void expire_requests(struct load *ld, uint64_t now) {
        for (unsigned i = 0; i < ld->o->conns; i++) {
                struct slot *s = &ld->slots[i];
                if (s->state != SLOT_IDLE && now - s->start_usec >= ld->o->timeout_usec)
                        end_request(ld, s, OUT_TIMEOUT, -1);
        }
}

static void show_progress(const struct load *ld, uint64_t now, uint64_t *last_usec,
                          uint64_t *last_count) {
        double rate;

        if (now - *last_usec < USEC_PER_SEC)
                return;
        rate = (double) (ld->res.finished - *last_count) * 1e6 / (double) (now - *last_usec);
        fprintf(stderr, "\r" PROGRAM ": %llu requests, %.0f/s   ",
                (unsigned long long) ld->res.finished, rate);
        *last_usec = now;
        *last_count = ld->res.finished;
}

static bool finished(const struct load *ld, uint64_t now) {
        if (interrupted)
                return true;
        if (ld->o->requests)
                return ld->res.finished >= ld->o->requests;
        return now >= ld->start_usec + ld->o->duration_usec;
}

static int run_loop(struct load *ld) {
        struct epoll_event events[64];
        bool progress = isatty(STDERR_FILENO);
        uint64_t now, next_tick, last_usec, last_count = 0;
        int n;

        ld->start_usec = last_usec = clock_now_usec();
        next_tick = ld->start_usec + TICK_USEC;
        for (unsigned i = 0; i < ld->o->conns; i++)
                next_request(ld, &ld->slots[i]);
        for (now = clock_now_usec(); !finished(ld, now); now = clock_now_usec()) {
                uint64_t wake = next_tick;
                int timeout_ms;

                if (ld->o->duration_usec && ld->start_usec + ld->o->duration_usec < wake)
                        wake = ld->start_usec + ld->o->duration_usec;
                timeout_ms = wake > now ? (int) ((wake - now + 999) / 1000) : 0;
                n = epoll_wait(ld->epfd, events, 64, timeout_ms);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                for (int i = 0; i < n; i++)
                        on_event(ld, &events[i]);
                now = clock_now_usec();
                if (now >= next_tick) {
                        next_tick = now + TICK_USEC;
                        expire_requests(ld, now);
                        if (progress)
                                show_progress(ld, now, &last_usec, &last_count);
                }
        }
        ld->res.elapsed_usec = now - ld->start_usec;
        ld->res.interrupted = interrupted;
        if (progress)
                fprintf(stderr, "\r%60s\r", "");
        return 0;
}

/* --stdin: the file, mapped once and sent with every request. */
static int map_payload(struct load *ld) {
        const char *path = ld->o->stdin_path;
        struct stat st;
        void *p;
        int fd, r;

        if (!path)
                return 0;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return r = -errno,
                       fprintf(stderr, PROGRAM ": --stdin %s: %s\n", path, strerror(-r)), r;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                fprintf(stderr,
                        PROGRAM ": --stdin %s: not a regular file (it is sent whole with every "
                                "request)\n",
                        path);
                return -EINVAL;
        }
        ld->payload_size = (size_t) st.st_size;
        if (ld->payload_size == 0) {
                close(fd);
                return 0;
        }
        p = mmap(NULL, ld->payload_size, PROT_READ, MAP_PRIVATE, fd, 0);
        r = p == MAP_FAILED ? -errno : 0;
        close(fd);
        if (r < 0)
                return fprintf(stderr, PROGRAM ": --stdin %s: mmap: %s\n", path, strerror(-r)), r;
        ld->payload = p;
        return 0;
}

static int setup(struct load *ld) {
        struct sigaction sa = {.sa_handler = on_interrupt}; /* no SA_RESTART: epoll_wait returns */
        char why[512] = "";
        int r;

        /* With --munge, this first credential only shows that munged answers. */
        ld->request = ld->o->munge ? credential_request(ld->o->argv, ld->o->argc, load_flags(ld->o),
                                                        NULL, credential_socket(),
                                                        &ld->request_size, why, sizeof why)
                                   : frame_build(ld->o->argv, ld->o->argc, load_flags(ld->o),
                                                 &ld->request_size);
        if (!ld->request && errno == EACCES)
                return fprintf(stderr, PROGRAM ": cannot get a MUNGE credential: %s\n", why), -EACCES;
        if (!ld->request) {
                r = -errno;
                fprintf(stderr, PROGRAM ": %s\n",
                        r == -EINVAL  ? "the command is empty"
                        : r == -E2BIG ? "the command is too long for any server"
                                      : strerror(-r));
                return r;
        }
        r = map_payload(ld);
        if (r < 0)
                return r;
        r = resolve(ld);
        if (r < 0)
                return r;
        r = ensure_fd_limit(ld->o->conns);
        if (r < 0)
                return r == -EMFILE
                               ? r
                               : (fprintf(stderr, PROGRAM ": setrlimit: %s\n", strerror(-r)), r);
        ld->slots = calloc(ld->o->conns, sizeof *ld->slots);
        if (!ld->slots)
                return fprintf(stderr, PROGRAM ": out of memory for %u slots\n", ld->o->conns),
                       -ENOMEM;
        for (unsigned i = 0; i < ld->o->conns; i++)
                ld->slots[i].fd = ld->slots[i].channel = -1;
        histogram_init(&ld->res.latency);
        ld->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (ld->epfd < 0)
                return r = -errno, fprintf(stderr, PROGRAM ": epoll_create1: %s\n", strerror(-r)), r;
        if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0 ||
            signal(SIGPIPE, SIG_IGN) == SIG_ERR)
                return r = -errno, fprintf(stderr, PROGRAM ": sigaction: %s\n", strerror(-r)), r;
        return 0;
}

static void release(struct load *ld) {
        if (ld->slots)
                for (unsigned i = 0; i < ld->o->conns; i++) {
                        if (ld->slots[i].fd >= 0 || ld->slots[i].channel >= 0)
                                close_slot(ld, &ld->slots[i]);
                        free(ld->slots[i].request);
                }
        if (ld->epfd >= 0)
                close(ld->epfd);
        free(ld->slots);
        free(ld->request);
        if (ld->payload)
                munmap((void *) ld->payload, ld->payload_size);
}

int main(int argc, char **argv) {
        struct load ld = {.epfd = -1}; /* 128 KiB with the histogram: fine on an 8 MiB stack */
        struct options o;
        int r;

        r = parse_options(argc, argv, &o);
        if (r != 0)
                return r > 0 ? EXIT_SUCCESS : 2;
        ld.o = &o;
        ld.res = (struct report){.target = o.target.text,
                                 .command = o.argv,
                                 .command_words = o.argc,
                                 .conns = o.conns,
                                 .raw = o.raw,
                                 .ok_statuses = o.ok_text,
                                 .ok_status = o.ok_status,
                                 .with_stdin = o.stdin_path != NULL,
                                 .stderr_channel = o.channel};
        r = setup(&ld);
        if (r == 0) {
                r = run_loop(&ld);
                if (r < 0)
                        fprintf(stderr, PROGRAM ": epoll_wait: %s\n", strerror(-r));
        }
        if (r == 0) {
                if (o.json)
                        report_json(&ld.res, stdout);
                else
                        report_text(&ld.res, stdout);
        }
        release(&ld);
        if (r < 0)
                return r == -EACCES ? 255 : EXIT_FAILURE;
        /* Anything but a clean run is worth a non-zero status to a script. */
        return ld.res.ok == ld.res.finished && !interrupted ? EXIT_SUCCESS : EXIT_FAILURE;
}

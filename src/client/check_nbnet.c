/* SPDX-License-Identifier: MIT */
/*
 * check_nbnet: a Nagios/Icinga plugin with check_nrpe's flags. It asks an
 * nbnet server in restricted mode (--commands) to run the table's NAME and
 * passes the plugin's output and status 0-3 through; nbnet's own failures
 * become one line in the plugin format and CRITICAL or UNKNOWN, as
 * check_nrpe's do. With -H alone it checks that the server answers, as
 * check_nrpe -H alone asks NRPE for its version.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "args.h"
#include "clock.h"
#include "frame.h"
#include "session.h"
#include "target.h"

#define PROGRAM "check_nbnet"
/* Nagios's states. */
#define STATE_OK 0
#define STATE_CRITICAL 2
#define STATE_UNKNOWN 3
/* NRPE passes at most 64 KiB of a plugin's output; so do we. */
#define OUTPUT_MAX ((size_t) 64 * 1024)
/* What the server tells for a request that did not run (doc/protocol.md). */
#define STATUS_NOT_RUN 125
#define STATUS_REFUSED 126
/* What -H alone asks a server to run: harmless, and refused by a command table. */
#define PROBE_COMMAND "true"
/* A restricted server's answer for a name its table lacks: it answers all the same. */
#define NOT_ALLOWED_LINE "nbnet: command not allowed\n"

struct options {
        struct target target;
        const char *host;
        const char *port;
        const char *name; /* NULL: -H alone, does the server answer */
        uint64_t timeout_usec;
        char timeout_text[32]; /* -t's seconds, as given */
        int timeout_state;     /* what a timeout is: CRITICAL, or -t SEC:STATE's */
        int connect_state;     /* what a connection problem is: CRITICAL, UNKNOWN with -u */
};

static const char *const state_names[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};

static const char *state_name(int state) {
        return state >= STATE_OK && state <= STATE_UNKNOWN ? state_names[state] : "UNKNOWN";
}

static void usage(FILE *out) {
        fprintf(out,
                "Usage: " PROGRAM " -H HOST [-c NAME] [-p PORT] [-t SEC[:STATE]] [-u] [-4|-6]\n"
                "Run the command NAME of an nbnet server's --commands table (an nrpe.cfg\n"
                "will do) and report its output and status, as check_nrpe does; without\n"
                "-c, check that the server answers.\n"
                "\n"
                "  -H, --host HOST      name or address of the nbnet server\n"
                "  -p, --port PORT      its port (default " TARGET_DEFAULT_PORT ")\n"
                "  -c, --command NAME   the command's name in the server's table\n"
                "  -t, --timeout SEC[:STATE]  give up after SEC seconds (default 10) with\n"
                "                       CRITICAL, or STATE (OK, WARNING, CRITICAL, UNKNOWN)\n"
                "  -u, --unknown-timeout  a timeout or connection problem is UNKNOWN, not\n"
                "                       CRITICAL\n"
                "  -4, --ipv4           connect over IPv4 only\n"
                "  -6, --ipv6           connect over IPv6 only\n"
                "  -n, --no-ssl         accepted for check_nrpe's sake: nbnet has no TLS\n"
                "  -h, --help           show this help\n"
                "  -V, --version        show the version\n"
                "check_nrpe's -2 -3 -b -d -f -g -s -A -C -D -E -K -L -P -S are accepted and\n"
                "ignored with a note on stderr; -a is refused: nbnet passes no arguments.\n"
                "\n"
                "Exit status: the remote plugin's, 0-3; 2 (CRITICAL) when the server cannot\n"
                "be reached in time; 3 (UNKNOWN) when the response is cut, the request is\n"
                "refused or not run (statuses 125, 126), or the remote status is above 3.\n"
                "Without -c: 0 (OK) when the server answers, 2 when it does not.\n"
                "See check_nbnet(1).\n");
}

/* One line in the plugin format, and the state to exit with. */
static int report(int state, const struct options *o, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int report(int state, const struct options *o, const char *fmt, ...) {
        va_list ap;

        printf("NBNET %s - %s: ", state_name(state), o->target.text[0] ? o->target.text : "-");
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        return state;
}

/* A usage error is UNKNOWN, as for every plugin. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
        va_list ap;

        printf("NBNET UNKNOWN - usage: ");
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("; try '" PROGRAM " --help'\n");
        return -EINVAL;
}

/* A state by name or number, as check_nrpe's -t takes it: "UNKNOWN", "unknown", "3". */
static int parse_state(const char *s) {
        for (int i = 0; i < 4; i++)
                if (strcasecmp(s, state_names[i]) == 0 || (s[0] == '0' + i && s[1] == '\0'))
                        return i;
        return -1;
}

/* -t SEC, SEC:STATE or :STATE (the default 10 s), as check_nrpe takes it. */
static int parse_timeout(const char *arg, struct options *o) {
        const char *colon = strchr(arg, ':');
        size_t n = colon ? (size_t) (colon - arg) : strlen(arg);

        if (n >= sizeof o->timeout_text)
                return -EINVAL;
        if (n > 0) {
                memcpy(o->timeout_text, arg, n);
                o->timeout_text[n] = '\0';
                if (args_parse_seconds(o->timeout_text, 0.001, 86400, &o->timeout_usec) < 0)
                        return -EINVAL;
        }
        if (colon && (o->timeout_state = parse_state(colon + 1)) < 0)
                return -EINVAL;
        return 0;
}

/* check_nrpe's flags that mean nothing here: why each is ignored, or NULL. */
static const char *ignored_flag(int c) {
        switch (c) {
        case '2':
        case '3':
                return "nbnet has no NRPE packet versions";
        case 'S':
        case 'L':
        case 'C':
        case 'K':
        case 'A':
        case 'd':
        case 's':
                return "nbnet has no TLS";
        case 'P':
                return "nbnet has no fixed payload size (the first 64 KiB of output are passed on)";
        case 'b':
                return "check_nbnet does not bind to a local address";
        case 'f':
                return "check_nbnet reads no configuration file: give its options on the command "
                       "line";
        case 'g':
                return "check_nbnet writes no log file";
        case 'D':
                return "check_nbnet logs nothing to syslog";
        case 'E':
                return "check_nbnet's own messages always go to stdout";
        default:
                return NULL;
        }
}

/* Returns 0 to go on, 1 to exit 0 (help, version), -EINVAL to exit UNKNOWN. */
static int parse_options(int argc, char **argv, struct options *o) {
        static const struct option longopts[] = {
                {"host", required_argument, NULL, 'H'},
                {"port", required_argument, NULL, 'p'},
                {"command", required_argument, NULL, 'c'},
                {"timeout", required_argument, NULL, 't'},
                {"unknown-timeout", no_argument, NULL, 'u'},
                {"no-ssl", no_argument, NULL, 'n'},
                {"ipv4", no_argument, NULL, '4'},
                {"ipv6", no_argument, NULL, '6'},
                {"args", required_argument, NULL, 'a'},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {"license", no_argument, NULL, 'l'},
                /* check_nrpe's, ignored with a note (ignored_flag) */
                {"v2-packets-only", no_argument, NULL, '2'},
                {"v3-packets-only", no_argument, NULL, '3'},
                {"bind", required_argument, NULL, 'b'},
                {"use-adh", required_argument, NULL, 'd'},
                {"config-file", required_argument, NULL, 'f'},
                {"log-file", required_argument, NULL, 'g'},
                {"ssl-logging", required_argument, NULL, 's'},
                {"ca-cert-file", required_argument, NULL, 'A'},
                {"client-cert", required_argument, NULL, 'C'},
                {"disable-syslog", no_argument, NULL, 'D'},
                {"stderr-to-stdout", no_argument, NULL, 'E'},
                {"key-file", required_argument, NULL, 'K'},
                {"cipher-list", required_argument, NULL, 'L'},
                {"payload-size", required_argument, NULL, 'P'},
                {"ssl-version", required_argument, NULL, 'S'},
                {0},
        };
        const char *why;
        bool unknown = false;
        unsigned long v;
        int c, r, family = AF_UNSPEC;

        *o = (struct options){
                .port = TARGET_DEFAULT_PORT,
                .timeout_usec = 10000000,
                .timeout_text = "10",
                .timeout_state = -1,
        };
        argv[0] = (char *) PROGRAM;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":H:p:c:t:una:hVl46b:d:f:g:s:A:C:K:L:P:S:23DE",
                                longopts, NULL)) >= 0) {
                switch (c) {
                case 'H':
                        o->host = optarg;
                        break;
                case 'p':
                        if (args_parse_uint(optarg, 1, 65535, &v) < 0)
                                return usage_error("-p must be a port, 1..65535, got '%s'", optarg);
                        o->port = optarg;
                        break;
                case 'c':
                        if (optarg[0] == '\0')
                                return usage_error("-c needs a command name, got ''");
                        o->name = optarg;
                        break;
                case 't':
                        if (parse_timeout(optarg, o) < 0)
                                return usage_error("-t must be SEC (0.001..86400), SEC:STATE or "
                                                   ":STATE, STATE one of OK, WARNING, CRITICAL, "
                                                   "UNKNOWN (or 0-3), got '%s'",
                                                   optarg);
                        break;
                case 'u':
                        unknown = true;
                        break;
                case 'n':
                        break;
                case '4':
                        family = AF_INET;
                        break;
                case '6':
                        family = AF_INET6;
                        break;
                case 'a':
                        return usage_error("-a: nbnet passes no arguments; define one name per "
                                           "variant in the server's table");
                case 'l':
                        printf(PROGRAM " " NBNET_VERSION ": MIT licence (see LICENSE)\n");
                        return 1;
                case ':':
                        return usage_error("option -%c needs a value", optopt);
                case '?':
                        if (optopt && optopt != '?')
                                return usage_error("unknown option -%c", optopt);
                        return usage_error("unknown option '%s'", argv[optind - 1]);
                default: /* -h, -V, and check_nrpe's flags that mean nothing here */
                        if ((why = ignored_flag(c))) {
                                fprintf(stderr, PROGRAM ": -%c ignored: %s\n", c, why);
                                break;
                        }
                        if ((r = args_common_option(c, PROGRAM, NBNET_VERSION, usage)) != 0)
                                return r;
                }
        }
        if (optind < argc)
                return usage_error("unexpected argument '%s' (every value follows its option, "
                                   "as -c NAME)",
                                   argv[optind]);
        if (!o->host)
                return usage_error("no -H HOST given");
        r = target_parse(o->host, o->port, &o->target);
        if (r < 0)
                return usage_error("-H '%s' is not a host name or address", o->host);
        if (family != AF_UNSPEC && o->target.is_unix)
                fprintf(stderr, PROGRAM ": -%c ignored: %s is a Unix socket\n",
                        family == AF_INET ? '4' : '6', o->target.text);
        else
                o->target.family = family;
        o->connect_state = unknown ? STATE_UNKNOWN : STATE_CRITICAL;
        if (o->timeout_state < 0)
                o->timeout_state = o->connect_state;
        return 0;
}

/* -t covers everything, a blocked getaddrinfo included: the timer's handler exits. */
static int start_timeout(const struct options *o) {
        char text[512];

        (void) snprintf(text, sizeof text, "NBNET %s - %s: no response within %s s (-t)\n",
                        state_name(o->timeout_state), o->target.text, o->timeout_text);
        return session_start_timer(o->timeout_usec, text, STDOUT_FILENO, o->timeout_state);
}

/* The plugin's output, the first OUTPUT_MAX bytes of it. */
struct output {
        char data[OUTPUT_MAX + 1];
        size_t len;
};

static void output_add(struct output *out, const struct iovec *iov, int count) {
        for (int i = 0; i < count; i++) {
                size_t n = iov[i].iov_len, room = OUTPUT_MAX - out->len;
                memcpy(out->data + out->len, iov[i].iov_base, n < room ? n : room);
                out->len += n < room ? n : room;
        }
        out->data[out->len] = '\0';
}

/* Reads the response to EOF: the status, or -EBADMSG when it was cut, or -errno. */
static int read_response(struct session *session, struct output *out) {
        struct iovec iov[2];
        int k;

        out->len = 0;
        out->data[0] = '\0';
        while (!session->eof) {
                k = session_read(session, true, iov);
                if (k < 0) {
                        (void) session_finish(session, &iov[0]); /* closes it: no status now */
                        return k;
                }
                output_add(out, iov, k);
        }
        k = session_finish(session, &iov[0]);
        if (k < 0)
                output_add(out, iov, 1);
        return k;
}

/* The output's first line, without "nbnet: ", for a message. */
static const char *first_line(char *text) {
        char *nl = strchr(text, '\n');

        if (nl)
                *nl = '\0';
        if (strncmp(text, "nbnet: ", 7) == 0)
                text += 7;
        return text[0] ? text : "no output";
}

/* What the remote status means to Nagios. */
static int judge(const struct options *o, int status, struct output *out) {
        if (status <= STATE_UNKNOWN) {
                (void) fwrite(out->data, 1, out->len, stdout);
                return status;
        }
        if (status == STATUS_REFUSED)
                return report(STATE_UNKNOWN, o, "'%s' refused: %s (status 126)", o->name,
                              first_line(out->data));
        if (status == STATUS_NOT_RUN)
                return report(STATE_UNKNOWN, o, "'%s' not run: %s (status 125)", o->name,
                              first_line(out->data));
        return report(STATE_UNKNOWN, o, "'%s' ended with status %d, not 0-3: %s", o->name, status,
                      first_line(out->data));
}

/* -H alone: whether the server answered. A table's refusal of the probe is an answer too. */
static int judge_probe(const struct options *o, int status, struct output *out, uint64_t usec) {
        unsigned long long ms = (unsigned long long) ((usec + 500) / 1000);

        if (status == 0) {
                printf("NBNET OK - nbnet server at %s answers (%llu ms)\n", o->target.text, ms);
                return STATE_OK;
        }
        if (status == STATUS_REFUSED && strcmp(out->data, NOT_ALLOWED_LINE) == 0) {
                printf("NBNET OK - nbnet server at %s answers (%llu ms; its command table "
                       "refused '" PROBE_COMMAND "', as it should)\n",
                       o->target.text, ms);
                return STATE_OK;
        }
        if (status == STATUS_REFUSED)
                return report(STATE_CRITICAL, o, "refused the check: %s (status 126)",
                              first_line(out->data));
        if (status == STATUS_NOT_RUN)
                return report(STATE_CRITICAL, o, "answers, but runs nothing: %s (status 125)",
                              first_line(out->data));
        return report(STATE_CRITICAL, o, "answers, but '" PROBE_COMMAND "' ended with status %d: %s",
                      status, first_line(out->data));
}

/* With -H alone: the server closed (or reset) the connection before it answered. */
#define CLOSED_UNANSWERED \
        "closed the connection without an answer (an address it does not allow, or not an " \
        "nbnet server)"

static bool closed_unanswered(int r) {
        return r == -EBADMSG || r == -ECONNRESET || r == -EPIPE || r == -ENOTCONN;
}

static int run(const struct options *o) {
        static struct output out;
        static struct session session; /* 128 KiB of buffer: not on the stack */
        char *words[] = {(char *) (o->name ? o->name : PROBE_COMMAND)};
        const char *resolve_error = NULL;
        uint64_t start;
        char why[512];
        size_t size;
        char *req;
        int r;

        /* No '&': one connection, and the plugin's stderr in its output, in the order written. */
        req = frame_build(words, 1, FRAME_WANT_STATUS, &size);
        if (!req)
                return report(STATE_UNKNOWN, o, "cannot build the request: %s", strerror(errno));
        r = start_timeout(o);
        if (r < 0) {
                free(req);
                return report(STATE_UNKNOWN, o, "cannot start the -t timer: %s", strerror(-r));
        }
        start = clock_now_usec();
        r = session_connect(&session, &o->target, 0, false, &resolve_error);
        if (r < 0) {
                free(req);
                return report(o->connect_state, o, "%s%s",
                              session_connect_error(&session, r, resolve_error, why, sizeof why),
                              o->target.family == AF_INET    ? " (-4: IPv4 only)"
                              : o->target.family == AF_INET6 ? " (-6: IPv6 only)"
                                                             : "");
        }
        r = session_send(&session, req, size, false);
        free(req);
        if (r < 0 && !o->name && closed_unanswered(r))
                return report(STATE_CRITICAL, o, "%s", CLOSED_UNANSWERED);
        if (r < 0)
                return report(o->connect_state, o, "sending the request: %s", strerror(-r));
        r = read_response(&session, &out);
        if (r < 0 && !o->name && closed_unanswered(r))
                return report(STATE_CRITICAL, o, "%s", CLOSED_UNANSWERED);
        if (r == -EBADMSG)
                return report(STATE_UNKNOWN, o,
                              "response ended without a status (connection cut, or not an "
                              "nbnet server)");
        if (r < 0)
                return report(o->connect_state, o, "reading the response: %s", strerror(-r));
        if (!o->name)
                return judge_probe(o, r, &out, clock_now_usec() - start);
        return judge(o, r, &out);
}

int main(int argc, char **argv) {
        struct options o;
        int r;

        r = parse_options(argc, argv, &o);
        if (r != 0)
                return r > 0 ? STATE_OK : STATE_UNKNOWN;
        if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
                return report(STATE_UNKNOWN, &o, "signal SIGPIPE: %s", strerror(errno));
        r = run(&o);
        (void) fflush(stdout);
        return r;
}

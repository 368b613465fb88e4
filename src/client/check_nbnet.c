/* SPDX-License-Identifier: MIT */
/*
 * check_nbnet: a Nagios/Icinga plugin with check_nrpe's flags. It asks an
 * nbnet server in restricted mode (--commands) to run the table's NAME and
 * passes the plugin's output and status 0-3 through; nbnet's own failures
 * become one line in the plugin format and CRITICAL or UNKNOWN, as
 * check_nrpe's do.
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

struct options {
        struct target target;
        const char *host;
        const char *port;
        const char *name;
        uint64_t timeout_usec;
        const char *timeout_text;
        int timeout_state; /* what a timeout is: CRITICAL, or -t SEC:STATE's */
        int connect_state; /* what a connection problem is: CRITICAL, UNKNOWN with -u */
};

static const char *const state_names[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};

static const char *state_name(int state) {
        return state >= STATE_OK && state <= STATE_UNKNOWN ? state_names[state] : "UNKNOWN";
}

static void usage(FILE *out) {
        fprintf(out, "Usage: " PROGRAM " -H HOST -c NAME [-p PORT] [-t SEC[:STATE]] [-u]\n"
                     "Run the command NAME of an nbnet server's --commands table (an nrpe.cfg\n"
                     "will do) and report its output and status, as check_nrpe does.\n"
                     "\n"
                     "  -H, --host HOST      name or address of the nbnet server\n"
                     "  -p, --port PORT      its port (default " TARGET_DEFAULT_PORT ")\n"
                     "  -c, --command NAME   the command's name in the server's table\n"
                     "  -t, --timeout SEC[:STATE]  give up after SEC seconds (default 10) with\n"
                     "                       CRITICAL, or STATE (OK, WARNING, CRITICAL, UNKNOWN)\n"
                     "  -u, --unknown-timeout  a timeout or connection problem is UNKNOWN, not\n"
                     "                       CRITICAL\n"
                     "  -n, --no-ssl         accepted for check_nrpe's sake: nbnet has no TLS\n"
                     "  -h, --help           show this help\n"
                     "  -V, --version        show the version\n"
                     "\n"
                     "Exit status: the remote plugin's, 0-3; 2 (CRITICAL) when the server cannot\n"
                     "be reached in time; 3 (UNKNOWN) when the response is cut, the request is\n"
                     "refused or not run (statuses 125, 126), or the remote status is above 3.\n"
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

static int parse_state(const char *s) {
        for (int i = 0; i < 4; i++)
                if (strcasecmp(s, state_names[i]) == 0)
                        return i;
        return -1;
}

/* -t SEC or SEC:STATE, as check_nrpe takes it. */
static int parse_timeout(const char *arg, struct options *o) {
        char sec[32];
        const char *colon = strchr(arg, ':');
        size_t n = colon ? (size_t) (colon - arg) : strlen(arg);

        if (n >= sizeof sec)
                return -EINVAL;
        memcpy(sec, arg, n);
        sec[n] = '\0';
        if (args_parse_seconds(sec, 0.001, 86400, &o->timeout_usec) < 0)
                return -EINVAL;
        if (colon && (o->timeout_state = parse_state(colon + 1)) < 0)
                return -EINVAL;
        o->timeout_text = arg;
        return 0;
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
                {"args", required_argument, NULL, 'a'},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {0},
        };
        bool unknown = false;
        unsigned long v;
        int c, r;

        *o = (struct options){
                .port = TARGET_DEFAULT_PORT,
                .timeout_usec = 10000000,
                .timeout_text = "10",
                .timeout_state = -1,
        };
        argv[0] = (char *) PROGRAM;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":H:p:c:t:una:hV", longopts, NULL)) >= 0) {
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
                        o->name = optarg;
                        break;
                case 't':
                        if (parse_timeout(optarg, o) < 0)
                                return usage_error("-t must be SEC (0.001..86400) or SEC:STATE "
                                                   "(OK, WARNING, CRITICAL, UNKNOWN), got '%s'",
                                                   optarg);
                        break;
                case 'u':
                        unknown = true;
                        break;
                case 'n':
                        break;
                case 'a':
                        return usage_error("-a: nbnet passes no arguments; define one name per "
                                           "variant in the server's table");
                case ':':
                        return usage_error("option -%c needs a value", optopt);
                case '?':
                        return usage_error("unknown option '%s'", argv[optind - 1]);
                default: /* -h, -V */
                        if ((r = args_common_option(c, PROGRAM, NBNET_VERSION, usage)) != 0)
                                return r;
                }
        }
        if (optind < argc)
                return usage_error("unexpected argument '%s'", argv[optind]);
        if (!o->host)
                return usage_error("no -H HOST given");
        if (!o->name)
                return usage_error("no -c NAME given");
        r = target_parse(o->host, o->port, &o->target);
        if (r < 0)
                return usage_error("-H '%s' is not a host name or address", o->host);
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

static int run(const struct options *o) {
        static struct output out;
        static struct session session; /* 128 KiB of buffer: not on the stack */
        char *words[] = {(char *) o->name};
        const char *resolve_error = NULL;
        char why[512];
        size_t size;
        char *req;
        int r;

        req = frame_build(words, 1, true, &size);
        if (!req)
                return report(STATE_UNKNOWN, o, "cannot build the request: %s", strerror(errno));
        r = start_timeout(o);
        if (r < 0) {
                free(req);
                return report(STATE_UNKNOWN, o, "cannot start the -t timer: %s", strerror(-r));
        }
        r = session_connect(&session, &o->target, 0, false, &resolve_error);
        if (r < 0) {
                free(req);
                return report(o->connect_state, o, "%s",
                              session_connect_error(&session, r, resolve_error, why, sizeof why));
        }
        r = session_send(&session, req, size, false);
        free(req);
        if (r < 0)
                return report(o->connect_state, o, "sending the request: %s", strerror(-r));
        r = read_response(&session, &out);
        if (r == -EBADMSG)
                return report(STATE_UNKNOWN, o,
                              "response ended without a status (connection cut, or not an "
                              "nbnet server)");
        if (r < 0)
                return report(o->connect_state, o, "reading the response: %s", strerror(-r));
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

/* SPDX-License-Identifier: MIT */
/*
 * nbnet-handler: serves one NBNET/1 connection, then exits. The connection
 * is fd 3 under systemd's Accept=yes (LISTEN_FDS=1), or fd 0 under inetd,
 * xinetd, tcpserver or systemd-socket-activate --inetd. It finds the
 * connection, applies its rules, and runs the one request on an event loop
 * through the connection state machine that nbnetd runs for each of its own
 * (conn.c): the two servers answer alike because the same code answers.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "args.h"
#include "clock.h"
#include "conffile.h"
#include "conn.h"
#include "listen.h"
#include "log.h"
#include "options.h"
#include "policy.h"
#include "pairing.h"
#include "request.h"
#include "runas.h"
#include "sock.h"

#define PROGRAM "nbnet-handler"

extern char **environ;

/* The one connection and what its state machine is given. */
struct handler {
        struct serve_options opt;
        struct request_table table;
        struct conn_shared shared;
        sd_event *event;
        struct conn_config cfg;
        struct conn conn;
        struct pairing pairing; /* with its stderr channel's or request's process */
        int fd;
        struct sock_peer peer;
        uint64_t start_usec;
};

static void usage(FILE *out) {
        fprintf(out, "Usage: " PROGRAM " [OPTIONS]\n"
                     "Serve one NBNET/1 connection: read a length-prefixed command, run it as\n"
                     "/bin/sh -c would (a line without shell syntax runs without the shell, with\n"
                     "the same result; see --always-shell) onto the connection, then exit. The\n"
                     "connection is fd 3 under systemd's Accept=yes (LISTEN_FDS=1) or fd 0\n"
                     "under inetd and friends.\n"
                     "\n");
        serve_options_help(out);
        fprintf(out, "  -h, --help             show this help\n"
                     "  -V, --version          show the version\n"
                     "\n"
                     "See nbnet-handler(8), and protocol.md in the documentation directory\n"
                     "(/usr/share/doc/nbnet, or /usr/local/share/doc/nbnet after make install).\n");
}

/* One option, from the command line or the --config file (who says which). */
static int parse_one(int c, const char *arg, const char *who, void *userdata) {
        switch (c) {
        case 'h':
        case 'V':
        case '?':
                return args_common_option(c, PROGRAM, NBNET_VERSION, usage);
        default:
                return serve_options_parse(userdata, c, arg, who) < 0 ? -EINVAL : 0;
        }
}

/* The command line, then the --config file for what it did not give.
 * Returns 0 to go on, 1 to exit 0 (help, version), -EINVAL to exit 2 (a
 * usage error, or -EBADMSG: one in the file). cf holds the file's values. */
static int parse_options(int argc, char **argv, struct serve_options *o, struct conffile *cf) {
        static const struct option longopts[] = {
                SERVE_LONG_OPTIONS,
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {0},
        };
        const struct conffile_args args = {
                .program = PROGRAM,
                .longopts = longopts,
                .shortopts = "hV",
                .config_opt = OPT_CONFIG,
                .fn = parse_one,
                .userdata = o,
        };
        int r;

        serve_options_init(o);
        argv[0] = (char *) PROGRAM; /* getopt's messages name the program, not its path */
        r = conffile_parse_options(&args, argc, argv, cf);
        if (r != 0)
                return r;
        return serve_options_check(o, PROGRAM);
}

/* Under xinetd fds 0, 1 and 2 are all the connection: what the options say
 * (a --config file's path and line, say) must reach the log, not the
 * client. Their messages go to a memfd meanwhile (/dev/null without one),
 * then to the log. */
static int parse_options_logged(int argc, char **argv, struct serve_options *o, struct conffile *cf) {
        char text[4096] = "", *line, *next;
        int sink, saved, r;
        bool mem = true;
        ssize_t n;

        if (sd_is_socket(STDERR_FILENO, AF_UNSPEC, 0, 0) <= 0)
                return parse_options(argc, argv, o, cf);
        sink = memfd_create("nbnet-handler-options", MFD_CLOEXEC);
        if (sink < 0) {
                mem = false;
                sink = open("/dev/null", O_WRONLY | O_CLOEXEC);
        }
        saved = sink < 0 ? -1 : fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
        if (saved < 0 || dup2(sink, STDERR_FILENO) < 0) {
                if (sink >= 0)
                        close(sink);
                if (saved >= 0)
                        close(saved);
                return -EBADF; /* no way to keep the messages from the client */
        }
        r = parse_options(argc, argv, o, cf);
        if (dup2(saved, STDERR_FILENO) < 0)
                r = -EBADF;
        close(saved);
        n = mem ? pread(sink, text, sizeof text - 1, 0) : 0;
        close(sink);
        text[n > 0 ? n : 0] = '\0';
        log_init(PROGRAM, STDERR_FILENO); /* stderr is the connection: the journal or syslog */
        for (line = text; *line; line = next) {
                next = strchrnul(line, '\n');
                if (*next)
                        *next++ = '\0';
                if (strncmp(line, PROGRAM ": ", sizeof PROGRAM + 1) == 0)
                        line += sizeof PROGRAM + 1;
                log_error("%s", line);
        }
        return r;
}

/* A configuration that cannot work, told to the client too (when there is
 * one: not when run by hand), as nbnetd tells those who came meanwhile. */
static void refuse_misconfigured(void) {
        int n = sd_listen_fds(true);
        int fd = n == 1 ? SD_LISTEN_FDS_START : n == 0 ? STDIN_FILENO : -1;

        if (fd >= 0 && sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 0) > 0 &&
            request_prepare_server(false) == 0)
                request_refuse_unread(fd, REQUEST_MISCONFIGURED, 100);
}

/* fd 3 under Accept=yes, fd 0 under inetd; -ENOTSOCK with a message otherwise. */
static int find_connection(void) {
        int n = sd_listen_fds(true);

        if (n < 0)
                return log_error_errno(n, "LISTEN_FDS is set but invalid");
        if (n == 1) {
                if (sd_is_socket(SD_LISTEN_FDS_START, AF_UNSPEC, SOCK_STREAM, 0) > 0)
                        return SD_LISTEN_FDS_START;
                fprintf(stderr,
                        PROGRAM ": fd 3 is not a connected stream socket: "
                                "the socket unit needs Accept=yes (for Accept=no, run nbnetd)\n");
                return -ENOTSOCK;
        }
        if (n > 1) {
                fprintf(stderr,
                        PROGRAM ": got %d sockets, expected one connection: "
                                "the socket unit needs Accept=yes (for Accept=no, run nbnetd)\n",
                        n);
                return -EINVAL;
        }
        if (sd_is_socket(STDIN_FILENO, AF_UNSPEC, SOCK_STREAM, 0) > 0)
                return STDIN_FILENO;
        fprintf(stderr,
                PROGRAM ": no connection: expected a connected stream socket on fd 3 "
                        "(systemd Accept=yes) or fd 0 (inetd); to serve a port by hand, run nbnetd "
                        "or systemd-socket-activate --accept " PROGRAM "\n");
        return -ENOTSOCK;
}

/* A peer refused before its request was read: no byte written, one record. */
static void log_refused(const struct handler *h, const char *reason) {
        log_connection_closed(h->peer.text, NBNET_STATUS_REFUSED, reason,
                              clock_now_usec() - h->start_usec);
}

/* Said per connection, one process each: a door open to the network, or a
 * rule that does nothing on this kind of socket; in nbnetd's words. */
static void warn_doubts(const struct handler *h) {
        const struct policy *hosts =
                request_table_has_hosts(&h->table) ? &h->table.table.hosts : NULL;
        char user[64], msg[1024];

        runas_describe(h->opt.run_as, user, sizeof user);
        if (listen_check_doubts(&h->opt.policy, hosts, h->opt.munge, h->fd, user, msg, sizeof msg) > 0)
                log_warning("%s: %s", h->peer.text, msg);
}

/* The handler learns its socket's kind only now: a rule that does not apply
 * to it, with none that does, would serve anyone. The log says which rule is
 * missing. Then the peer's own check, by --allow and by the --commands
 * table's allowed_hosts: both apply. */
static bool peer_allowed(const struct handler *h, bool *misconfigured) {
        struct sockaddr_storage ss = {0}, peer_ss = {0};
        socklen_t len = sizeof ss;
        const char *why = NULL;
        bool unix_socket;
        int r;

        *misconfigured = true;
        if (getsockname(h->fd, (struct sockaddr *) &ss, &len) < 0) {
                log_error_errno(errno, "getsockname");
                return false;
        }
        unix_socket = ss.ss_family == AF_UNIX;
        why = policy_uncovered(&h->opt.policy, unix_socket ? POLICY_SOCKET_UNIX : POLICY_SOCKET_IP,
                               h->opt.munge);
        *misconfigured = why != NULL;
        if (why) {
                log_error("%s: connection refused: the rules given do not apply to this socket "
                          "kind (%s): %s; give a rule for it",
                          h->peer.text, unix_socket ? "a Unix socket" : "TCP", why);
                log_refused(h, "no rule given applies to this socket kind");
                return false;
        }
        warn_doubts(h);
        len = sizeof peer_ss;
        r = getpeername(h->fd, (struct sockaddr *) &peer_ss, &len) < 0 ? -errno : 0;
        if (r == 0)
                r = policy_check_peer_addr(&h->opt.policy, h->fd, &peer_ss);
        if (r == 0 && !request_table_allows_peer(&h->table, &peer_ss)) {
                log_refused(h, "peer not allowed (allowed_hosts of --commands)");
                return false;
        }
        if (r == 0)
                return true;
        if (r != -EACCES)
                log_error_errno(r, "%s: getpeername or SO_PEERCRED", h->peer.text);
        log_refused(h, r == -EACCES ? "peer not allowed" : "peer could not be checked");
        return false;
}

/* What the connection reports: a complete request runs at once (one
 * connection, no queue); once it is closed, the handler is done. */
static void handler_on_conn(void *owner, struct conn *c, enum conn_event event) {
        struct handler *h = owner;

        switch (event) {
        case CONN_EVENT_READY:
                (void) conn_start(c); /* on failure the client was told, and it closes */
                break;
        case CONN_EVENT_CLOSED:
                pairing_release(&h->pairing);
                (void) sd_event_exit(h->event, 0);
                break;
        case CONN_EVENT_PAIR:
                pairing_start(&h->pairing, h->event, c, h->start_usec);
                break;
        case CONN_EVENT_LEFT_QUEUE:
        case CONN_EVENT_QUEUE_TIMEOUT:
        case CONN_EVENT_ENDED:
        case CONN_EVENT_NOT_STARTED:
                break;
        }
}

/* Stopped by inetd, systemd-socket-activate or Ctrl-C, we end the command
 * first: in a session of its own, it would not get the signal. */
static int handler_on_stop(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct handler *h = userdata;

        (void) s;
        (void) si;
        conn_stop(&h->conn);
        conn_kill(&h->conn, REQUEST_STOPPED_RUNNING);
        return 0;
}

static int handler_init_loop(struct handler *h) {
        static const int stop_signals[] = {SIGTERM, SIGINT, SIGHUP};
        int r;

        r = sd_event_new(&h->event);
        if (r < 0)
                return log_error_errno(r, "sd_event_new");
        r = request_block_signals(stop_signals, sizeof stop_signals / sizeof stop_signals[0]);
        if (r < 0)
                return r;
        for (size_t i = 0; i < sizeof stop_signals / sizeof stop_signals[0]; i++) {
                r = sd_event_add_signal(h->event, NULL, stop_signals[i], handler_on_stop, h);
                if (r < 0)
                        return log_error_errno(r, "sd_event_add_signal %s",
                                               strsignal(stop_signals[i]));
        }
        r = conn_shared_init(&h->shared, h->event, &h->opt, 1, false, environ);
        if (r != 0)
                return r;
        conn_shared_warn(&h->shared);
        h->cfg = (struct conn_config){
                .event = h->event,
                .opt = &h->opt,
                .table = &h->table,
                .shared = &h->shared,
                .report = handler_on_conn,
                .owner = h,
        };
        return 0;
}

/* Runs the request to its end: the connection is closed and logged. */
static int handler_serve(struct handler *h) {
        int r = conn_open(&h->conn, &h->cfg, h->fd, &h->peer, sock_is_tcp(h->fd));

        if (r < 0) {
                close(h->fd);
                return r;
        }
        r = sd_event_loop(h->event);
        return r < 0 ? log_error_errno(r, "sd_event_loop") : 0;
}

static void handler_release(struct handler *h) {
        pairing_release(&h->pairing);
        /* A decode that munged still holds would keep the exit waiting for
         * libmunge's timeout: the process ends, and the thread with it. */
        conn_shared_release(&h->shared, false);
        request_table_release(&h->table);
        h->event = sd_event_unref(h->event);
}

/* The handler's life; cf holds the --config file's values until its end. */
static int handler_main(int argc, char **argv, struct conffile *cf) {
        struct handler h = {.start_usec = clock_now_usec(),
                            .fd = -1,
                            .pairing.rendezvous = {.listen_fd = -1, .peer_fd = -1}};
        bool misconfigured;
        int r;

        r = parse_options_logged(argc, argv, &h.opt, cf);
        if (r != 0) {
                if (r < 0)
                        refuse_misconfigured();
                return r > 0 ? EXIT_SUCCESS : 2;
        }
        if (request_prepare_server(true) < 0)
                return EXIT_FAILURE;
        h.fd = find_connection();
        if (h.fd < 0)
                return 2;
        log_init(PROGRAM, h.fd);
        r = sock_peer_of(h.fd, &h.peer);
        if (r < 0)
                log_error_errno(r, "getpeername");
        r = sock_enable_keepalive(h.fd);
        if (r < 0)
                log_error_errno(r, "%s: setsockopt keepalive", h.peer.text);
        /* Before the peer's check: an nrpe.cfg's allowed_hosts is a rule of it. */
        (void) request_table_load(&h.table, h.opt.commands_path,
                                  "the request is refused, and every one until it is fixed");
        if (!peer_allowed(&h, &misconfigured)) {
                close(h.fd);
                request_table_release(&h.table);
                /* A misconfigured unit fails, visibly; a refused peer is the peer's doing. */
                return misconfigured ? 2 : EXIT_SUCCESS;
        }
        r = handler_init_loop(&h);
        if (r == 0)
                r = handler_serve(&h);
        else if (r > 0)
                request_refuse_unread(h.fd, REQUEST_MISCONFIGURED, 100);
        else
                close(h.fd);
        /* A bad table still answers the client, then fails the unit visibly. */
        if (r == 0 && !h.table.ok)
                r = 1;
        handler_release(&h);
        /* As nbnetd: 2 for a configuration that cannot work, 1 for a failure. */
        return r > 0 ? 2 : r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(int argc, char **argv) {
        struct conffile cf;
        int r = handler_main(argc, argv, &cf);

        conffile_release(&cf);
        return r;
}

/* SPDX-License-Identifier: MIT */
/*
 * nbnet-handler: serves one NBNET/1 connection, then exits. The connection
 * is fd 3 under systemd's Accept=yes (LISTEN_FDS=1), or fd 0 under inetd,
 * xinetd, tcpserver or systemd-socket-activate --inetd.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "frame.h"
#include "log.h"
#include "options.h"
#include "policy.h"
#include "proc.h"
#include "request.h"
#include "sock.h"
#include "spawn.h"

#define PROGRAM "nbnet-handler"
#define USEC_PER_SEC REQUEST_USEC_PER_SEC
#define KILL_GRACE_USEC REQUEST_KILL_GRACE_USEC

extern char **environ;

/* How the request ended, what ran, and its status (-1: none). */
struct outcome {
        enum request_end end;
        int status;
        pid_t pid;
        char reason[160]; /* the log's reason when the end has no text of its own */
};

struct connection {
        int fd;
        int stop_fd; /* signalfd: SIGTERM, SIGINT, SIGHUP stop the server */
        struct sock_peer peer;
        struct frame frame;
        struct request_identity who; /* from the MUNGE credential, when there is one */
        uint64_t start_usec;
};

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* Milliseconds left until deadline, for poll(); -1 for no deadline. */
static int poll_timeout(uint64_t deadline) {
        uint64_t now;

        if (deadline == 0)
                return -1;
        now = now_usec();
        if (deadline <= now)
                return 0;
        /* poll() takes an int: a longer wait is cut, and the caller waits again. */
        return (deadline - now) / 1000 >= INT_MAX ? INT_MAX : (int) ((deadline - now + 999) / 1000);
}

static void usage(FILE *out) {
        fprintf(out, "Usage: " PROGRAM " [OPTIONS]\n"
                     "Serve one NBNET/1 connection: read a length-prefixed command, run it as\n"
                     "/bin/sh -c would (a line without shell syntax runs without the shell, with\n"
                     "the same result; see --always-shell) onto the connection, then exit. The\n"
                     "connection is fd 3 under systemd's Accept=yes (LISTEN_FDS=1) or fd 0\n"
                     "under inetd and friends.\n"
                     "\n");
        server_options_help(out);
        fprintf(out, "  -h, --help             show this help\n"
                     "  -V, --version          show the version\n"
                     "\n"
                     "See nbnet-handler(8), and protocol.md in the documentation directory\n"
                     "(/usr/share/doc/nbnet, or /usr/local/share/doc/nbnet after make install).\n");
}

/* Returns 0 to go on, 1 to exit 0 (help, version), -EINVAL to exit 2. */
static int parse_options(int argc, char **argv, struct server_options *o) {
        static const struct option longopts[] = {
                SERVER_LONG_OPTIONS,
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {0},
        };
        int c;

        server_options_init(o);
        argv[0] = (char *) PROGRAM; /* getopt's messages name the program, not its path */
        while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) >= 0) {
                switch (c) {
                case 'h':
                case 'V':
                case '?':
                        return args_common_option(c, PROGRAM, NBNET_VERSION, usage);
                default:
                        if (server_options_parse(o, c, optarg, PROGRAM) < 0)
                                return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, PROGRAM ": unexpected argument '%s'; try '" PROGRAM " --help'.\n",
                        argv[optind]);
                return -EINVAL;
        }
        return 0;
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

/* poll() until an event or the deadline (0: none), through EINTR and the
 * int limit of poll's timeout. Returns > 0 on an event, 0 at the deadline. */
static int poll_until(struct pollfd *p, nfds_t n, uint64_t deadline) {
        for (;;) {
                int r = poll(p, n, poll_timeout(deadline));
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -errno;
                if (r > 0 || now_usec() >= deadline)
                        return r;
        }
}

/* The trailer in one write; after a command, only once nothing it wrote is
 * unsent, so that it travels in a segment of its own (the delivery rule).
 * A client that reads nothing for REQUEST_SEND_USEC does not get it. */
static void send_trailer(const struct connection *c, int status, bool after_command) {
        uint64_t deadline = now_usec() + REQUEST_SEND_USEC;
        char trailer[FRAME_TRAILER_SIZE];
        int unsent = 0;

        if (after_command && sock_is_tcp(c->fd)) {
                int r = sock_hold_until_sent(c->fd);
                if (r < 0)
                        log_error_errno(r, "%s: setsockopt TCP_NOTSENT_LOWAT", c->peer.text);
                while (sock_unsent(c->fd, &unsent) == 0 && unsent > 0) {
                        struct pollfd p = {.fd = c->fd, .events = POLLOUT};
                        if (poll_until(&p, 1, deadline) <= 0 || (p.revents & (POLLERR | POLLHUP)))
                                return;
                }
        }
        frame_format_trailer(trailer, status);
        (void) sock_send_all(c->fd, trailer, sizeof trailer); /* a peer gone has nothing to read */
}

/* Reads until the frame is complete or failed. -ETIMEDOUT at the deadline,
 * -ECONNRESET when the client closed or reset first, -ECANCELED on a stop signal. */
static int read_request(struct connection *c, uint64_t deadline) {
        char buf[16384];

        while (c->frame.state == FRAME_NEED_MORE) {
                struct pollfd p[2] = {{.fd = c->fd, .events = POLLIN},
                                      {.fd = c->stop_fd, .events = POLLIN}};
                int r = poll_until(p, 2, deadline);
                ssize_t n;

                if (r < 0)
                        return r;
                if (r == 0)
                        return -ETIMEDOUT;
                if (p[1].revents)
                        return -ECANCELED;
                /* Never past the frame: with '<', what follows is the command's input. */
                n = recv(c->fd, buf, frame_readable(&c->frame, sizeof buf), MSG_DONTWAIT);
                if (n < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -ECONNRESET;
                (void) frame_feed(&c->frame, buf, (size_t) n);
        }
        return 0;
}

/* Waits for the main process to exit, the peer to go, the deadline or a stop
 * signal. Returns 0 when the process exited, -ECONNRESET, -ETIMEDOUT, -ECANCELED. */
static int wait_command(const struct connection *c, const struct spawn_child *child,
                        uint64_t deadline) {
        /* events 0 on the connection: only errors and hang-ups, never a FIN alone. */
        struct pollfd p[3] = {
                {.fd = child->pidfd, .events = POLLIN},
                {.fd = c->fd, .events = 0},
                {.fd = c->stop_fd, .events = POLLIN},
        };

        for (;;) {
                int r = poll_until(p, 3, deadline);
                if (r < 0)
                        return r;
                if (r == 0)
                        return -ETIMEDOUT;
                if (p[0].revents)
                        return 0;
                if (p[1].revents & (POLLERR | POLLHUP | POLLNVAL))
                        return -ECONNRESET;
                if (p[2].revents)
                        return -ECANCELED;
        }
}

static bool wait_pidfd(int pidfd, uint64_t usec) {
        struct pollfd p = {.fd = pidfd, .events = POLLIN};

        return poll_until(&p, 1, now_usec() + usec) > 0;
}

/* Gives what is left of a group that got SIGTERM the grace, then SIGKILL,
 * and waits (boundedly) until it is gone. */
static void end_group(pid_t pid) {
        uint64_t kill_at = now_usec() + KILL_GRACE_USEC, give_up = kill_at + KILL_GRACE_USEC;
        bool killed = false;

        for (spawn_reap_group(pid); spawn_group_alive(pid); spawn_reap_group(pid)) {
                uint64_t now = now_usec();
                if (now >= give_up)
                        return;
                if (now >= kill_at && !killed)
                        killed = spawn_kill_group(pid, SIGKILL) == 0;
                (void) usleep(5000);
        }
}

/* Ends whatever the command left that escaped its group (a daemon started with
 * setsid still holds the connection): SIGTERM, then SIGKILL after the grace. */
static void end_escapees(void) {
        uint64_t kill_at = now_usec() + KILL_GRACE_USEC, give_up = kill_at + KILL_GRACE_USEC;
        pid_t pids[256];
        size_t n;

        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
        while ((n = proc_children(pids, sizeof pids / sizeof pids[0])) > 0 && now_usec() < give_up) {
                int sig = now_usec() >= kill_at ? SIGKILL : SIGTERM;
                for (size_t i = 0; i < n; i++)
                        (void) kill(pids[i], sig);
                (void) usleep(5000);
                while (waitpid(-1, NULL, WNOHANG) > 0)
                        ;
        }
}

/* Tells the client why its request will not run: "nbnet: line" (the
 * trailer, when asked, follows in serve). line NULL: the end's own. */
static void refuse(struct connection *c, struct outcome *out, enum request_end end, const char *line) {
        const struct request_end_info *info = request_end_info(end);
        char buf[256];

        out->end = end;
        out->status = info->status;
        line = line ? line : info->line;
        if (!info->log)
                snprintf(out->reason, sizeof out->reason, "%s", line + strlen("nbnet: "));
        (void) sock_send_all(c->fd, buf, request_format_refusal(buf, sizeof buf, line, false, 0));
}

/* Runs the frame's command to its end: its NBNET status in out. */
static void run_command(struct connection *c, struct spawn_env *env, const char *command,
                        const struct server_options *o, struct outcome *out) {
        struct spawn_child child;
        siginfo_t si = {0};
        int r, status;

        r = spawn_command(env, command,
                          &(struct spawn_io){.conn_fd = c->fd,
                                             .conn_stdin = c->frame.want_stdin,
                                             .cgroup_fd = -1,

                                             .peer = &c->peer},
                          &child);
        if (r < 0) {
                char line[256];
                log_error_errno(r, "%s: spawn /bin/sh -c", c->peer.text);
                snprintf(line, sizeof line, "nbnet: cannot run the command: %s", strerror(-r));
                refuse(c, out, REQUEST_SPAWN_FAILED, line);
                return;
        }
        out->pid = child.pid;
        r = wait_command(c, &child,
                         o->command_timeout_usec ? now_usec() + o->command_timeout_usec : 0);
        if (r < 0) {
                out->end = r == -ETIMEDOUT   ? REQUEST_COMMAND_TIMEOUT
                           : r == -ECANCELED ? REQUEST_STOPPED_RUNNING
                                             : REQUEST_PEER_GONE;
                /* The main process first, so that its own exit ends the wait below. */
                (void) spawn_kill_group(child.pid, SIGTERM);
                if (!wait_pidfd(child.pidfd, KILL_GRACE_USEC))
                        (void) spawn_kill_group(child.pid, SIGKILL);
        }
        /* WNOWAIT: the zombie keeps the group's id from being reused while we kill it. */
        if (waitid((idtype_t) P_PIDFD, (id_t) child.pidfd, &si, WEXITED | WNOWAIT) < 0)
                log_error_errno(errno, "waitid pidfd %d", child.pidfd);
        status = r == -ETIMEDOUT ? NBNET_STATUS_TIMEOUT : spawn_status_of(&si);
        /* Background children must not hold the connection open. */
        (void) spawn_kill_group(child.pid, SIGTERM);
        (void) waitid((idtype_t) P_PIDFD, (id_t) child.pidfd, &si, WEXITED);
        close(child.pidfd);
        /* Any member left keeps the group's id from being reused. */
        end_group(child.pid);
        end_escapees();
        out->status = status;
}

/* Shut the write side, read what the client still sends, close: closing with
 * unread bytes would send a RST that can destroy output in flight. What the
 * client acknowledged is known only once the drain is over. */
static void finish_connection(int fd, struct log_record *rec) {
        uint64_t deadline = now_usec() + REQUEST_DRAIN_USEC;
        char buf[16384];

        if (shutdown(fd, SHUT_WR) < 0 && errno != ENOTCONN)
                log_error_errno(errno, "shutdown");
        for (;;) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (poll_until(&p, 1, deadline) <= 0 || recv(fd, buf, sizeof buf, MSG_DONTWAIT) <= 0)
                        break;
        }
        rec->has_bytes_sent = sock_is_tcp(fd) && sock_bytes_sent(fd, &rec->bytes_sent) >= 0;
        close(fd);
}

/* Runs the complete request: who asks first (a MUNGE credential, when there
 * is one), then its own command line, or in restricted mode the table's line
 * for the name it gives. */
static void run_request(struct connection *c, const struct server_options *o,
                        const struct request_commands *commands, struct outcome *out) {
        enum request_end end;
        const char *command;
        struct spawn_env env;
        char line[160];

        if (!request_authenticate(o, &c->frame, &c->who, &end, line, sizeof line))
                return refuse(c, out, end, line);
        command = request_command(commands, &c->frame, &c->who, &end);
        if (!command)
                return refuse(c, out, end, NULL);
        if (spawn_env_init(&env, environ) < 0)
                return refuse(c, out, REQUEST_NO_MEMORY, NULL);
        env.limits = o->limits;
        env.always_shell = o->always_shell;
        run_command(c, &env, command, o, out);
        spawn_env_release(&env);
}

static void serve(struct connection *c, const struct server_options *o,
                  const struct request_commands *commands) {
        struct outcome out = {.end = REQUEST_RAN, .status = -1};
        struct log_record rec = {.peer = c->peer.text};
        char message[256];
        int r;

        r = read_request(c, c->start_usec + o->request_timeout_usec);
        if (r == -ETIMEDOUT)
                out.end = REQUEST_FRAME_TIMEOUT;
        else if (r == -ECANCELED)
                out.end = REQUEST_STOPPED_READING;
        else if (r == -ECONNRESET)
                out.end = REQUEST_CLIENT_LEFT;
        else if (r < 0) {
                out.end = REQUEST_READ_FAILED;
                rec.reason = strerror(-r);
        } else if (frame_failed(&c->frame)) {
                frame_error_message(&c->frame, message, sizeof message);
                refuse(c, &out, REQUEST_BAD_FRAME, message);
        } else
                run_request(c, o, commands, &out);
        if (request_wants_trailer(&c->frame, out.end, out.status))
                send_trailer(c, out.status, out.pid != 0);
        rec.command = request_logged_command(&c->frame, &c->who);
        rec.command_length = rec.command ? c->frame.length : 0;
        rec.status = out.status;
        rec.pid = out.pid;
        rec.has_ids = c->who.known;
        rec.uid = c->who.uid;
        rec.gid = c->who.gid;
        rec.user = c->who.user;
        if (!rec.reason)
                rec.reason = request_end_info(out.end)->log;
        if (!rec.reason && out.reason[0])
                rec.reason = out.reason;
        /* The drain protects output in flight; a request that never ran has none. */
        if (r < 0) {
                rec.has_bytes_sent =
                        sock_is_tcp(c->fd) && sock_bytes_sent(c->fd, &rec.bytes_sent) >= 0;
                close(c->fd);
        } else
                finish_connection(c->fd, &rec);
        rec.duration_usec = now_usec() - c->start_usec;
        log_connection(&rec);
}

/* A refused peer gets no byte at all: closed at once, and logged. */
static bool peer_allowed(const struct connection *c, const struct server_options *o) {
        int r = policy_check_peer(&o->policy, c->fd);

        if (r == 0)
                return true;
        log_connection(&(struct log_record){
                .peer = c->peer.text,
                .status = NBNET_STATUS_REFUSED,
                .reason = r == -EACCES ? "peer not allowed" : "peer could not be checked",
                .duration_usec = now_usec() - c->start_usec,
        });
        if (r != -EACCES)
                log_error_errno(r, "%s: getpeername or SO_PEERCRED", c->peer.text);
        return false;
}

/* The handler learns its socket's kind only now: a rule that does not apply
 * to it, with none that does, would serve anyone. The peer is closed, no byte
 * written, and the log says which rule is missing. */
static bool rules_apply(const struct connection *c, const struct server_options *o) {
        struct sockaddr_storage ss = {0};
        socklen_t len = sizeof ss;
        bool unix_socket;
        const char *why;

        if (getsockname(c->fd, (struct sockaddr *) &ss, &len) < 0) {
                log_error_errno(errno, "getsockname");
                return false;
        }
        unix_socket = ss.ss_family == AF_UNIX;
        why = policy_uncovered(&o->policy, unix_socket ? POLICY_SOCKET_UNIX : POLICY_SOCKET_IP,
                               o->munge);
        if (!why)
                return true;
        log_error("%s: connection refused: the rules given do not apply to this socket kind (%s): "
                  "%s; give a rule for it",
                  c->peer.text, unix_socket ? "a Unix socket" : "TCP", why);
        log_connection(&(struct log_record){
                .peer = c->peer.text,
                .status = NBNET_STATUS_REFUSED,
                .reason = "no rule given applies to this socket kind",
                .duration_usec = now_usec() - c->start_usec,
        });
        return false;
}

static int open_stop_signals(void) {
        sigset_t mask;
        int fd;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        return fd < 0 ? -errno : fd;
}

int main(int argc, char **argv) {
        struct connection c = {.start_usec = now_usec()};
        struct request_commands commands;
        struct server_options o;
        int r;

        r = parse_options(argc, argv, &o);
        if (r != 0)
                return r > 0 ? EXIT_SUCCESS : 2;
        if (request_prepare_server(true) < 0)
                return EXIT_FAILURE;
        /* Stopped by inetd, systemd-socket-activate or Ctrl-C, we end the command
         * first: in a session of its own, it would not get the signal. */
        c.stop_fd = open_stop_signals();
        if (c.stop_fd < 0)
                return log_error_errno(c.stop_fd, "signalfd SIGTERM SIGINT SIGHUP"), EXIT_FAILURE;
        c.fd = find_connection();
        if (c.fd < 0)
                return 2;
        log_init(PROGRAM, c.fd);
        r = sock_peer_of(c.fd, &c.peer);
        if (r < 0)
                log_error_errno(r, "getpeername");
        r = sock_enable_keepalive(c.fd);
        if (r < 0)
                log_error_errno(r, "%s: setsockopt keepalive", c.peer.text);
        /* A misconfigured unit: it fails, visibly, and serves nobody. */
        if (!rules_apply(&c, &o)) {
                close(c.fd);
                return EXIT_FAILURE;
        }
        if (!peer_allowed(&c, &o)) {
                close(c.fd);
                return EXIT_SUCCESS;
        }
        request_commands_load(&commands, o.commands_path, "it is fixed");
        r = frame_init(&c.frame, o.max_command);
        if (r < 0)
                return log_error_errno(r, "frame_init"), EXIT_FAILURE;
        /* A bad table still answers the client, then fails the unit visibly. */
        serve(&c, &o, &commands);
        frame_release(&c.frame);
        r = commands.ok ? EXIT_SUCCESS : EXIT_FAILURE;
        request_commands_release(&commands);
        return r;
}

/* SPDX-License-Identifier: MIT */
/*
 * nbnetd: serves NBNET/1 on every listening socket systemd passes
 * (Accept=no) or that --listen names, from one event loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>
#include <sys/socket.h>
#include <unistd.h>

#include "args.h"
#include "clock.h"
#include "conffile.h"
#include "listen.h"
#include "log.h"
#include "options.h"
#include "request.h"
#include "server.h"

#define PROGRAM "nbnetd"
#define COUNT_LIMIT 65536u
/* The descriptor budget: each module says what it holds (server.h: per
 * connection, and the server's own; spawn.h: to start a command; log.h:
 * later; listen.h: per listener), and a margin for the rest (stdio,
 * listeners, the journal): a quarter of the limit, at least FDS_MARGIN_MIN
 * and at most FDS_MARGIN_MAX, so that a small limit still serves several
 * connections at once. */
#define FDS_MARGIN_MIN 24
#define FDS_MARGIN_MAX 64
/* Connections told of a configuration that cannot work, at most, on the way out. */
#define REFUSE_PENDING_MAX 64

extern char **environ;

struct options {
        struct serve_options server; /* shared with nbnet-handler (options.h) */
        struct server_limits limits;
        const char *listen[SERVER_MAX_LISTENERS];
        size_t n_listen;
        const char *metrics_file;
        const char *metrics_instance; /* NULL: where it listens */
        struct listen_unix unix_file; /* --socket-mode, --socket-owner */
        bool unix_file_given;
};

enum {
        OPT_LISTEN = OPT_SERVE_LAST,
        OPT_MAX_CONNECTIONS,
        OPT_MAX_RUNNING,
        OPT_MAX_PER_SOURCE,
        OPT_STOP_TIMEOUT,
        OPT_CGROUPS,
        OPT_LIMIT_MEMORY,
        OPT_LIMIT_TASKS,
        OPT_METRICS_FILE,
        OPT_METRICS_INSTANCE,
        OPT_SOCKET_MODE,
        OPT_SOCKET_OWNER,
};

static void usage(FILE *out) {
        fprintf(out,
                "Usage: " PROGRAM " [OPTIONS]\n"
                "Serve NBNET/1 from one event loop: read a length-prefixed command on each\n"
                "connection, run it with /bin/sh -c with the connection as its stdout and\n"
                "stderr, and close when it is over. A line without shell syntax runs without\n"
                "the shell, exactly as the shell would run it (see --always-shell).\n"
                "\n"
                "The listening sockets come from systemd (a socket unit with Accept=no, or\n"
                "systemd-socket-activate without --accept); when there are none, from --listen.\n"
                "\n"
                "  --listen ADDR:PORT     listen on an IPv4 address, e.g. 127.0.0.1:9079\n"
                "  --listen [ADDR]:PORT   listen on an IPv6 address, e.g. [::1]:9079\n"
                "  --listen PATH          listen on a Unix stream socket (PATH starts with /\n"
                "                         or .); repeatable, at most %d in all\n"
                "  --max-connections N    connections served at once (1..%u; default 1024);\n"
                "                         at the cap, a new client evicts the one that has\n"
                "                         waited longest for its request\n"
                "  --max-running N        commands running at once (1..%u; default 128);\n"
                "                         further complete requests wait in FIFO order, for\n"
                "                         the request timeout at most, then get 'nbnet: busy'\n"
                "                         and status 125\n"
                "  --max-per-source N     connections from one IP address (1..%u; default:\n"
                "                         as --max-connections); more are closed at once,\n"
                "                         unanswered; lower it when clients are many hosts\n"
                "  --stop-timeout SEC     on SIGTERM or SIGINT, how long running commands may\n"
                "                         finish before their groups are killed (default 5)\n"
                "  --cgroups auto|off     auto (default): each command in a cgroup of its own\n"
                "                         where nbnetd can have one (Delegate=yes, or root),\n"
                "                         so that every process it starts ends with it\n"
                "  --limit-memory SIZE    memory.max of each command's cgroup (K, M, G, T);\n"
                "                         needs the memory controller delegated\n"
                "  --limit-tasks N        pids.max of each command's cgroup: its own\n"
                "                         processes; needs the pids controller delegated\n"
                "  --metrics-file PATH    write Prometheus metrics to PATH every 5 s and at\n"
                "                         exit (for node_exporter's textfile collector: PATH\n"
                "                         ends in .prom; PATH.tmp is written, then renamed),\n"
                "                         and at SIGHUP\n"
                "  --metrics-instance NAME\n"
                "                         the value of the nbnetd label every series has\n"
                "                         (default: the addresses it listens on), so that\n"
                "                         several nbnetds can share a textfile folder\n"
                "  --socket-mode MODE     the mode of the Unix sockets --listen makes, in\n"
                "                         octal (default 0666, as systemd's SocketMode=);\n"
                "                         nbnetd removes them at exit\n"
                "  --socket-owner USER[:GROUP]\n"
                "                         their owner and group (as root only)\n",
                SERVER_MAX_LISTENERS, COUNT_LIMIT, COUNT_LIMIT, COUNT_LIMIT);
        serve_options_help(out);
        fprintf(out,
                "  -h, --help             show this help\n"
                "  -V, --version          show the version\n"
                "\n"
                "Signals: SIGTERM and SIGINT stop accepting, refuse requests not yet running\n"
                "and exit 0 once the running commands are over (a second signal kills them at\n"
                "once); SIGHUP reads the --commands table again and logs the live counts.\n"
                "Under systemd, nbnetd reports READY=1, STATUS= and STOPPING=1, and pings\n"
                "the watchdog (WatchdogSec=).\n"
                "\n"
                "Exit status: 0 after a stop, 1 on a fatal error, 2 on a usage error.\n"
                "See nbnetd(8), nbnet-handler(8), and protocol.md and README.md in the\n"
                "documentation directory (/usr/share/doc/nbnet, or /usr/local/share/doc/nbnet\n"
                "after make install).\n");
}

static int parse_count(const char *who, const char *name, const char *arg, unsigned *ret) {
        unsigned long v;

        if (args_parse_uint(arg, 1, COUNT_LIMIT, &v) < 0) {
                fprintf(stderr, "%s: --%s must be 1..%u, got '%s'\n", who, name, COUNT_LIMIT, arg);
                return -EINVAL;
        }
        *ret = (unsigned) v;
        return 0;
}

static int parse_listen(struct options *o, const char *who, const char *arg) {
        char err[512];

        if (o->n_listen == SERVER_MAX_LISTENERS) {
                fprintf(stderr, "%s: --listen may be given at most %d times\n", who,
                        SERVER_MAX_LISTENERS);
                return -EINVAL;
        }
        /* Told here, where who names the configuration file's line. */
        if (listen_check_spec(arg, err, sizeof err) < 0) {
                fprintf(stderr, "%s: --listen %s\n", who, err);
                return -EINVAL;
        }
        o->listen[o->n_listen++] = arg;
        return 0;
}

static int parse_socket_mode(const char *who, const char *arg, mode_t *ret) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(arg, &end, 8);
        if (arg[0] < '0' || arg[0] > '7' || *end != '\0' || errno != 0 || v > 0777) {
                fprintf(stderr,
                        "%s: --socket-mode must be an octal mode 0..0777 (e.g. 0660), got '%s'\n",
                        who, arg);
                return -EINVAL;
        }
        *ret = (mode_t) v;
        return 0;
}

/* A user or group name, or a number: -1 when unknown. */
static long parse_owner_id(const char *name, bool group) {
        unsigned long v;

        if (args_parse_uint(name, 0, (unsigned long) (uid_t) -2, &v) == 0)
                return (long) v;
        if (group) {
                const struct group *gr = getgrnam(name);
                return gr ? (long) gr->gr_gid : -1;
        }
        const struct passwd *pw = getpwnam(name);
        return pw ? (long) pw->pw_uid : -1;
}

/* USER[:GROUP], as chown(1) takes it: USER alone leaves the group as made. */
static int parse_socket_owner(const char *who, const char *arg, struct listen_unix *u) {
        char user[256];
        const char *colon = strchr(arg, ':');
        size_t n = colon ? (size_t) (colon - arg) : strlen(arg);
        long uid, gid = -1;

        if (geteuid() != 0) {
                fprintf(stderr,
                        "%s: --socket-owner needs root (only root may give a file away); run "
                        "nbnetd as root, or leave the socket its own and choose its mode "
                        "with --socket-mode\n",
                        who);
                return -EINVAL;
        }
        if (n == 0 || n >= sizeof user || (colon && colon[1] == '\0')) {
                fprintf(stderr, "%s: --socket-owner must be USER or USER:GROUP, got '%s'\n", who,
                        arg);
                return -EINVAL;
        }
        memcpy(user, arg, n);
        user[n] = '\0';
        uid = parse_owner_id(user, false);
        if (uid >= 0 && colon)
                gid = parse_owner_id(colon + 1, true);
        if (uid < 0 || (colon && gid < 0)) {
                fprintf(stderr, "%s: --socket-owner: unknown %s '%s'\n", who,
                        uid < 0 ? "user" : "group", uid < 0 ? user : colon + 1);
                return -EINVAL;
        }
        u->uid = (uid_t) uid;
        u->gid = colon ? (gid_t) gid : (gid_t) -1;
        return 0;
}

/* A label's value: printable, and short enough for every series to carry it. */
static int parse_metrics_instance(const char *who, const char *arg, const char **ret) {
        size_t n = strlen(arg);

        for (size_t i = 0; i < n; i++)
                if ((unsigned char) arg[i] < 0x20 || arg[i] == 0x7f)
                        n = 0;
        if (n == 0 || n > METRICS_INSTANCE_MAX) {
                fprintf(stderr,
                        "%s: --metrics-instance must be 1..%d bytes with no control characters, "
                        "got '%s'\n",
                        who, METRICS_INSTANCE_MAX, arg);
                return -EINVAL;
        }
        *ret = arg;
        return 0;
}

/* One option, from the command line or the --config file (who says which):
 * 0, 1 to exit 0 (help, version), -EINVAL to exit 2. */
static int parse_one(int c, const char *arg, const char *who, void *userdata) {
        struct options *o = userdata;
        struct server_limits *l = &o->limits;

        switch (c) {
        case OPT_LISTEN:
                return parse_listen(o, who, arg);
        case OPT_MAX_CONNECTIONS:
                return parse_count(who, "max-connections", arg, &l->max_connections);
        case OPT_MAX_RUNNING:
                return parse_count(who, "max-running", arg, &l->max_running);
        case OPT_MAX_PER_SOURCE:
                return parse_count(who, "max-per-source", arg, &l->max_per_source);
        case OPT_STOP_TIMEOUT:
                if (args_parse_seconds(arg, 0, 86400, &l->stop_timeout_usec) < 0) {
                        fprintf(stderr,
                                "%s: --stop-timeout must be 0..86400 seconds, in decimal (e.g. "
                                "2.5), got '%s'\n",
                                who, arg);
                        return -EINVAL;
                }
                return 0;
        case OPT_CGROUPS:
                if (strcmp(arg, "auto") != 0 && strcmp(arg, "off") != 0) {
                        fprintf(stderr, "%s: --cgroups must be auto or off, got '%s'\n", who, arg);
                        return -EINVAL;
                }
                l->no_cgroups = strcmp(arg, "off") == 0;
                return 0;
        case OPT_LIMIT_MEMORY: {
                unsigned long long v;
                if (args_parse_bytes(arg, 1 << 20, &v) < 0) {
                        fprintf(stderr,
                                "%s: --limit-memory must be a size of at least 1M (a number, "
                                "with K, M, G or T), got '%s'\n",
                                who, arg);
                        return -EINVAL;
                }
                l->cgroup.memory_max = v;
                return 0;
        }
        case OPT_LIMIT_TASKS: {
                unsigned long v;
                if (args_parse_uint(arg, 1, 4194304, &v) < 0) {
                        fprintf(stderr, "%s: --limit-tasks must be 1..4194304, got '%s'\n", who, arg);
                        return -EINVAL;
                }
                l->cgroup.tasks_max = v;
                return 0;
        }
        case OPT_METRICS_FILE:
                if (arg[0] == '\0') {
                        fprintf(stderr, "%s: --metrics-file needs a file name\n", who);
                        return -EINVAL;
                }
                o->metrics_file = arg;
                return 0;
        case OPT_METRICS_INSTANCE:
                return parse_metrics_instance(who, arg, &o->metrics_instance);
        case OPT_SOCKET_MODE:
                o->unix_file_given = true;
                return parse_socket_mode(who, arg, &o->unix_file.mode);
        case OPT_SOCKET_OWNER:
                o->unix_file_given = true;
                return parse_socket_owner(who, arg, &o->unix_file);
        case 'h':
        case 'V':
        case '?':
                return args_common_option(c, PROGRAM, NBNET_VERSION, usage);
        default:
                return serve_options_parse(&o->server, c, arg, who) < 0 ? -EINVAL : 0;
        }
}

/* The command line, then the --config file for what it did not give.
 * Returns 0 to go on, 1 to exit 0 (help, version), -EINVAL to exit 2 (a
 * usage error, or -EBADMSG: one in the file). cf holds the file's values. */
static int parse_options(int argc, char **argv, struct options *o, struct conffile *cf) {
        static const struct option longopts[] = {
                SERVE_LONG_OPTIONS,
                {"listen", required_argument, NULL, OPT_LISTEN},
                {"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
                {"max-running", required_argument, NULL, OPT_MAX_RUNNING},
                {"max-per-source", required_argument, NULL, OPT_MAX_PER_SOURCE},
                {"stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT},
                {"cgroups", required_argument, NULL, OPT_CGROUPS},
                {"limit-memory", required_argument, NULL, OPT_LIMIT_MEMORY},
                {"limit-tasks", required_argument, NULL, OPT_LIMIT_TASKS},
                {"metrics-file", required_argument, NULL, OPT_METRICS_FILE},
                {"metrics-instance", required_argument, NULL, OPT_METRICS_INSTANCE},
                {"socket-mode", required_argument, NULL, OPT_SOCKET_MODE},
                {"socket-owner", required_argument, NULL, OPT_SOCKET_OWNER},
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

        *o = (struct options){
                .limits.max_connections = 1024,
                .limits.max_running = 128,
                .limits.stop_timeout_usec = 5 * USEC_PER_SEC,
                .unix_file = {.mode = 0666, .uid = (uid_t) -1, .gid = (gid_t) -1},
        };
        serve_options_init(&o->server);
        /* getopt's own messages start with argv[0]: make it the name the others use. */
        argv[0] = (char *) PROGRAM;
        r = conffile_parse_options(&args, argc, argv, cf);
        if (r != 0)
                return r;
        /* On loopback every client is one source: by default the two limits are one. */
        if (o->limits.max_per_source == 0)
                o->limits.max_per_source = o->limits.max_connections;
        return serve_options_check(&o->server, PROGRAM);
}

/* Each connection holds a socket and a pidfd: raise the soft limit towards the
 * hard one so that --max-connections can be reached, and lower the count to
 * what fits. Accepting past it would leave no descriptor for the command's
 * pidfd: every request would fail "cannot run the command: Too many open files". */
static rlim_t fd_margin(rlim_t limit) {
        rlim_t m = limit / 4;

        return m < FDS_MARGIN_MIN ? FDS_MARGIN_MIN : m > FDS_MARGIN_MAX ? FDS_MARGIN_MAX : m;
}

/* The soft limit once fit_fd_limit has raised it as far as it may go. */
static rlim_t fd_limit(void) {
        struct rlimit rl;

        return getrlimit(RLIMIT_NOFILE, &rl) < 0 ? RLIM_INFINITY : rl.rlim_cur;
}

/* Under systemd the limit is the unit's; by hand, the shell's. */
static const char *fd_limit_hint(void) {
        return getenv("INVOCATION_ID") || getenv("LISTEN_FDS") ? "raise LimitNOFILE="
                                                               : "raise ulimit -n";
}

/* Returns how many connections fit; *limited when that is fewer than asked
 * (told by check_fd_room, once the server is set up). */
static unsigned fit_fd_limit(unsigned max_connections, bool *limited) {
        rlim_t want = (rlim_t) max_connections * SERVER_FDS_PER_CONNECTION + FDS_MARGIN_MAX;
        struct rlimit rl;
        rlim_t margin;
        unsigned fit;

        *limited = false;
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
                return max_connections;
        rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
                log_error_errno(errno, "setrlimit RLIMIT_NOFILE %llu",
                                (unsigned long long) rl.rlim_cur);
                if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                        return max_connections;
        }
        if (rl.rlim_cur >= want)
                return max_connections;
        margin = fd_margin(rl.rlim_cur);
        fit = rl.rlim_cur > margin + SERVER_FDS_PER_CONNECTION
                      ? (unsigned) ((rl.rlim_cur - margin) / SERVER_FDS_PER_CONNECTION)
                      : 1;
        /* The smaller reserve of a small limit may leave room for them all:
         * never serve more than --max-connections. */
        if (fit >= max_connections)
                return max_connections;
        *limited = true;
        return fit;
}

/* Descriptors open now (fd numbers below the limit: the only ones that count). */
static rlim_t fds_open(rlim_t limit) {
        rlim_t n = 0;

        for (rlim_t fd = 0; fd < limit && fd <= INT_MAX; fd++)
                if (fcntl((int) fd, F_GETFD) >= 0)
                        n++;
        return n;
}

/* The limit must leave room, beside what is open (and to_open, what the
 * server will still open for itself), for one connection and its command;
 * otherwise nbnetd would start and serve nobody. */
static int check_fd_room(rlim_t to_open) {
        rlim_t limit = fd_limit();
        rlim_t open_now = fds_open(limit) + to_open;
        rlim_t need = open_now + SERVER_FDS_PER_CONNECTION + LOG_FDS;

        if (limit >= need)
                return 0;
        log_error("the descriptor limit %llu is too low to serve one connection: nbnetd needs at "
                  "least %llu (%llu open at start, %d per connection, %d for the log); %s",
                  (unsigned long long) limit, (unsigned long long) need,
                  (unsigned long long) open_now, SERVER_FDS_PER_CONNECTION, LOG_FDS, fd_limit_hint());
        return -EMFILE;
}

/* Once the server is set up: the exact check, then what a short limit costs. */
static int report_fd_limit(const struct server_limits *lim, unsigned asked) {
        int r = check_fd_room(0);

        if (r < 0)
                return r;
        log_warning("the descriptor limit %llu is below what %u connections need (%llu): "
                    "serving %u at once; %s or lower --max-connections",
                    (unsigned long long) fd_limit(), asked,
                    (unsigned long long) asked * SERVER_FDS_PER_CONNECTION + FDS_MARGIN_MAX,
                    lim->max_connections, fd_limit_hint());
        return 0;
}

/* A listener that the rules given would leave open to anyone is a usage
 * error naming it (1), told before anything is opened or bound. */
static int check_listener_rules(const struct options *o, const char *spec, int fd, char *err,
                                size_t err_size) {
        int r = listen_check_rules(&o->server.policy, o->server.munge, spec, fd, err, err_size);

        if (r > 0)
                fprintf(stderr, PROGRAM ": %s\n", err);
        else if (r < 0)
                log_error_errno(r, "%s", err);
        return r;
}

/* Adds systemd's sockets or, without any, the --listen ones. Returns 0, 1
 * for a usage error (told on stderr), or -errno for a fatal one (logged). */
static int add_listeners(struct server *s, const struct options *o) {
        int fds[SERVER_MAX_LISTENERS];
        char err[1024];
        int n, r;

        n = listen_take_activated(fds, SERVER_MAX_LISTENERS, err, sizeof err);
        if (n < 0) {
                fprintf(stderr, PROGRAM ": %s\n", err);
                return n;
        }
        if (n > 0 && o->n_listen > 0)
                log_warning("--listen ignored: systemd passed %d listening sockets", n);
        if (n > 0 && o->unix_file_given)
                log_warning("--socket-mode and --socket-owner ignored: systemd made the sockets "
                            "(set SocketMode=, SocketUser= and SocketGroup= in the socket unit)");
        for (int i = 0; i < n; i++) {
                r = check_listener_rules(o, NULL, fds[i], err, sizeof err);
                if (r != 0) {
                        for (int j = i; j < n; j++)
                                close(fds[j]);
                        return r;
                }
                r = server_listen(s, fds[i], NULL);
                if (r < 0)
                        return r;
        }
        if (n > 0)
                return 0;
        if (o->n_listen == 0) {
                fprintf(stderr,
                        PROGRAM ": nothing to listen on: give --listen ADDR:PORT (e.g. "
                                "--listen 127.0.0.1:9079), or start it from a socket unit with "
                                "Accept=no; try '" PROGRAM " --help'.\n");
                return 1;
        }
        for (size_t i = 0; i < o->n_listen; i++) {
                r = check_listener_rules(o, o->listen[i], -1, err, sizeof err);
                if (r != 0)
                        return r;
        }
        for (size_t i = 0; i < o->n_listen; i++) {
                struct listen_file made;
                int fd = listen_open(o->listen[i], &o->unix_file, &made, err, sizeof err);
                /* listen_open's parse errors: what was given cannot be an address. */
                if (fd == -EINVAL || fd == -ENAMETOOLONG) {
                        fprintf(stderr, PROGRAM ": --listen %s\n", err);
                        return 1;
                }
                if (fd < 0) {
                        fprintf(stderr, PROGRAM ": --listen %s\n", err);
                        return fd;
                }
                r = server_listen(s, fd, &made);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Whoever came meanwhile to the sockets systemd passed is told that the
 * configuration cannot work, rather than left to start us again. */
static void refuse_pending(int activated) {
        for (int i = 0; i < activated; i++)
                listen_refuse_pending(SD_LISTEN_FDS_START + i, REFUSE_PENDING_MAX);
}

/* sd_watchdog_enabled() fails on an empty WATCHDOG_PID=, and
 * sd_event_set_watchdog() with it: empty is unset, as for any variable systemd sets. */
static void watchdog_env_clean(void) {
        const char *pid = getenv("WATCHDOG_PID");

        if (pid && pid[0] == '\0')
                (void) unsetenv("WATCHDOG_PID");
}

int main(int argc, char **argv) {
        struct conffile cf;
        struct options o;
        struct server s;
        unsigned asked;
        bool limited;
        int activated, r;

        /* Counted now: taking them over (add_listeners) unsets LISTEN_FDS. */
        activated = sd_listen_fds(false);
        r = parse_options(argc, argv, &o, &cf);
        if (r != 0) {
                if (r < 0)
                        refuse_pending(activated);
                conffile_release(&cf);
                return r > 0 ? EXIT_SUCCESS : 2;
        }
        log_init(PROGRAM, -1);
        /* A long-running server's lines want a time, but the journal's have one. */
        log_stderr_times(true);
        watchdog_env_clean();
        asked = o.limits.max_connections;
        o.limits.max_connections = fit_fd_limit(asked, &limited);
        /* Before the server's own descriptors, lest their failure hide the reason. */
        if (limited && check_fd_room(SERVER_FDS + o.n_listen * LISTEN_FDS) < 0) {
                conffile_release(&cf);
                return EXIT_FAILURE;
        }
        r = server_init(&s, &o.server, &o.limits, environ);
        if (r == 0)
                server_set_metrics_file(&s, o.metrics_file, o.metrics_instance);
        if (r == 0)
                r = add_listeners(&s, &o);
        if (r == 0 && limited)
                r = report_fd_limit(&o.limits, asked);
        if (r == 0)
                r = server_run(&s);
        if (r > 0)
                refuse_pending(activated);
        server_release(&s);
        conffile_release(&cf);
        if (r > 0)
                return 2;
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

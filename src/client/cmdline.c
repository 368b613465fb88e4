/* SPDX-License-Identifier: MIT */
/* nbnet's command line, read as ssh reads its own (cmdline.h). */
#include "cmdline.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "args.h"
#include "config.h"
#include "credential.h"
#include "frame.h"

#define PROGRAM "nbnet"

#define usage_error(...) args_usage_error(PROGRAM, __VA_ARGS__)

enum { OPT_CONNECT_TIMEOUT = 1000, OPT_TIMEOUT, OPT_MUNGE };

void cmdline_usage(FILE *out) {
        fprintf(out,
                "Usage: " PROGRAM " [OPTIONS] [USER@]HOST[:PORT] [OPTIONS] COMMAND [ARG...]\n"
                "       " PROGRAM " [OPTIONS] unix:PATH [OPTIONS] COMMAND [ARG...]\n"
                "Run COMMAND (its words joined with spaces, as ssh does) on an nbnet server,\n"
                "with nbnet's stdin as its stdin; stream its stdout to stdout and its stderr\n"
                "to stderr as they come and exit with its status. SIGINT, SIGTERM and SIGHUP\n"
                "reset the connection, which kills the command, and end nbnet by the same signal.\n"
                "Options go before HOST and after it, up to the command's first word.\n"
                "\n"
                "  -p PORT          port when HOST:PORT names none (default: NBNET_PORT, the\n"
                "                   config file's Port, " TARGET_DEFAULT_PORT ")\n"
                "  -l USER          run the command as USER (as USER@HOST): a server that\n"
                "                   would run it as another user refuses it (126)\n"
                "  -4, -6           connect over IPv4 only, IPv6 only\n"
                "  -M, --merge-stderr\n"
                "                   the command's stderr in the output, for servers too old\n"
                "                   for a stderr of its own\n"
                "      --connect-timeout TIME\n"
                "                   for each address (default 10s); TIME: 500ms, 10, 10s, 2m, 1h\n"
                "      --timeout TIME\n"
                "                   give up on the whole command after TIME: print what came,\n"
                "                   reset the connection (the command is killed), exit 124\n"
                "  -n, --no-stdin   the command's stdin is /dev/null, not nbnet's stdin\n"
                "                   (also when nbnet's stdin is /dev/null already)\n"
                "  -r, --raw        plain request without a status trailer, for servers that\n"
                "                   answer only the plain form; exit 0 at end of output;\n"
                "                   implies -n and -M\n"
                "  -F FILE          the config file (default ~/.config/nbnet/config, else\n"
                "                   ~/.nbnet/config): Host blocks with Port and User\n"
                "  -v, --verbose    say where nbnet connects, what it sends and ignores\n"
                "  -q, --quiet      no messages of nbnet's own on stderr\n"
                "      --munge      send the command in a MUNGE credential of the local\n"
                "                   munged (also NBNET_MUNGE=1; its socket: NBNET_MUNGE_SOCKET)\n"
                "  -t, -T, -x, -a, -C, -oKEY=VALUE\n"
                "                   ssh's, as scp and rsync pass them: ignored (-o reads\n"
                "                   Port, User, ConnectTimeout and AddressFamily)\n"
                "  -h, --help       show this help\n"
                "  -V, --version    show the version\n"
                "\n"
                "HOST is a name, an IPv4 address or an IPv6 address in brackets ([::1]:9079).\n"
                "Exit status: the command's (0-255; 124 when a timeout killed it), 255 when\n"
                "nbnet could not connect or the response ended without a status, 2 for a\n"
                "usage error. See nbnet(1).\n");
}

/* What the passes over the options found, before the defaults fill the rest. */
struct found {
        const char *port; /* -p or -oPort, the last given */
        const char *config_path;
};

static void ignore(struct options *o, char flag, const char *arg) {
        if (o->ignored_count < CMDLINE_IGNORED_MAX)
                o->ignored[o->ignored_count++] = (struct ignored_option){flag, arg};
}

static int set_user(struct options *o, const char *user, const char *from) {
        if (!frame_user_valid(user))
                return usage_error("%s '%s': a user name is 1-%d letters, digits, '_', '-' or '.'",
                                   from, user, FRAME_USER_MAX);
        if (!o->user) { /* the first one given wins, as with ssh */
                o->user = user;
                o->user_from = from;
        }
        return 0;
}

static int parse_port(const char *s, const char *from) {
        unsigned long v;

        if (args_parse_uint(s, 1, 65535, &v) < 0)
                return usage_error("%s must be a port, 1..65535, got '%s'", from, s);
        return 0;
}

static int parse_time(const char *s, double max, uint64_t *usec, const char *from) {
        if (args_parse_duration(s, 0.001, max, usec) < 0)
                return usage_error("%s must be a time of 1ms..%.0fs (500ms, 10, 10s, 2m, 1h), "
                                   "got '%s'",
                                   from, max, s);
        return 0;
}

/* -oKEY=VALUE (or "KEY VALUE"): the few that mean something here, the rest ignored. */
static int ssh_option(struct options *o, struct found *f, char *arg) {
        size_t klen = strcspn(arg, "= \t");
        char *value = arg + klen;

        value += strspn(value, " \t");
        if (*value == '=')
                value += 1 + strspn(value + 1, " \t");
        if (strncasecmp(arg, "Port", klen) == 0 && klen == 4) {
                f->port = value;
                return parse_port(value, "-oPort");
        }
        if (strncasecmp(arg, "User", klen) == 0 && klen == 4)
                return set_user(o, value, "-oUser");
        if (strncasecmp(arg, "ConnectTimeout", klen) == 0 && klen == 14)
                return parse_time(value, 86400, &o->connect_timeout_usec, "-oConnectTimeout");
        if (strncasecmp(arg, "AddressFamily", klen) == 0 && klen == 13) {
                if (strcasecmp(value, "inet") == 0)
                        o->target.family = AF_INET;
                else if (strcasecmp(value, "inet6") == 0)
                        o->target.family = AF_INET6;
                else if (strcasecmp(value, "any") == 0)
                        o->target.family = AF_UNSPEC;
                else
                        return usage_error("-oAddressFamily must be inet, inet6 or any, got '%s'",
                                           value);
                return 0;
        }
        ignore(o, 'o', arg);
        return 0;
}

/* One run of getopt over argv (argv[0] is not an option: the program, or HOST). */
static int parse_pass(int argc, char **argv, struct options *o, struct found *f) {
        static const struct option longopts[] = {
                {"raw", no_argument, NULL, 'r'},
                {"no-stdin", no_argument, NULL, 'n'},
                {"quiet", no_argument, NULL, 'q'},
                {"verbose", no_argument, NULL, 'v'},
                {"merge-stderr", no_argument, NULL, 'M'},
                {"munge", no_argument, NULL, OPT_MUNGE},
                {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
                {"timeout", required_argument, NULL, OPT_TIMEOUT},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {0},
        };
        int c, r;

        /* '+': stop at the first word that is no option, as ssh does. 0: start afresh. */
        optind = 0;
        while ((c = getopt_long(argc, argv, "+p:l:o:F:46vqnrMxatTCksh", longopts, NULL)) >= 0) {
                r = 0;
                switch (c) {
                case 'p':
                        f->port = optarg;
                        r = parse_port(optarg, "-p");
                        break;
                case 'l':
                        r = set_user(o, optarg, "-l");
                        break;
                case 'o':
                        r = ssh_option(o, f, optarg);
                        break;
                case 'F':
                        f->config_path = optarg;
                        break;
                case '4':
                        o->target.family = AF_INET;
                        break;
                case '6':
                        o->target.family = AF_INET6;
                        break;
                case 'v':
                        o->verbose++;
                        break;
                case 'q':
                        o->quiet = true;
                        break;
                case 'n':
                        o->no_stdin = true;
                        break;
                case 'r':
                        o->raw = true;
                        break;
                case 'M':
                        o->merge_stderr = true;
                        break;
                case OPT_MUNGE:
                        o->munge = true;
                        break;
                case OPT_CONNECT_TIMEOUT:
                        r = parse_time(optarg, 86400, &o->connect_timeout_usec, "--connect-timeout");
                        break;
                case OPT_TIMEOUT:
                        r = parse_time(optarg, 31536000, &o->timeout_usec, "--timeout");
                        o->timeout_text = optarg;
                        break;
                case 't': /* ssh: a tty, or none; nbnet never has one */
                case 'T':
                case 'x': /* ssh: no X11 or agent forwarding, compression, no GSSAPI delegation */
                case 'a':
                case 'C':
                case 'k':
                        ignore(o, (char) c, NULL);
                        break;
                case 's':
                        return usage_error("-s asks for an ssh subsystem (scp's default SFTP mode "
                                           "does); nbnet runs commands only: give scp -O");
                default: /* -h, -V, and getopt's '?' */
                        r = args_common_option(c, PROGRAM, NBNET_VERSION, cmdline_usage);
                }
                if (r != 0)
                        return r;
        }
        return 0;
}

/* -t and -T took a time here before they were ssh's tty flags: "-T 30 host
 * cmd" must not go to host "30". A time right after a word of flags that
 * ends in one is refused. */
static int check_old_time_flag(char **argv, int word) {
        const char *flags = argv[word - 1];
        size_t len = strlen(flags);
        uint64_t usec;
        bool tty;

        if (len < 2 || flags[0] != '-' || flags[1] == '-' ||
            strspn(flags + 1, "46vqnrMxatTCk") != len - 1 ||
            args_parse_duration(argv[word], 0, 1e9, &usec) < 0)
                return 0;
        tty = flags[len - 1] == 'T';
        if (!tty && flags[len - 1] != 't')
                return 0;
        return usage_error("-%c takes no time any more: it is ssh's tty flag, ignored; "
                           "give %s %s",
                           flags[len - 1], tty ? "--timeout" : "--connect-timeout", argv[word]);
}

/* USER@HOST: the user part, kept apart from HOST. */
static int split_user(struct options *o, const char *arg, const char **host) {
        const char *at = strrchr(arg, '@');
        size_t len;

        *host = arg;
        if (!at || strncmp(arg, "unix:", 5) == 0)
                return 0;
        len = (size_t) (at - arg);
        if (len == 0 || at[1] == '\0')
                return usage_error("'%s' is not USER@HOST", arg);
        if (len >= sizeof o->user_buf)
                return usage_error("'%s': the user name is over %d bytes", arg, FRAME_USER_MAX);
        memcpy(o->user_buf, arg, len);
        o->user_buf[len] = '\0';
        *host = at + 1;
        return set_user(o, o->user_buf, "USER@HOST");
}

static int parse_target(const char *host, const char *port, struct target *t) {
        int family = t->family, r = target_parse(host, port, t);

        t->family = family;
        if (r == -ENAMETOOLONG)
                return usage_error("'%s': the host name or socket path is too long", host);
        if (r < 0)
                return usage_error("'%s' is not HOST, HOST:PORT, [IPV6]:PORT or unix:PATH", host);
        return 0;
}

/* The configuration file's Port and User for the target; -errno when it cannot be read. */
static int read_config(struct options *o, const struct found *f, struct config_host *ch) {
        char why[4200];
        const char *path = f->config_path;
        int r;

        *ch = (struct config_host){.port = ""};
        if (!path)
                path = config_default_path(o->config_buf, sizeof o->config_buf);
        if (!path)
                return 0;
        r = config_lookup(path, o->target.is_unix ? o->target.text : o->target.host, ch, why,
                          sizeof why);
        if (r < 0) {
                fprintf(stderr, PROGRAM ": %s\n", why);
                return r == -EINVAL ? -EBADMSG : r; /* not a usage error: 255 */
        }
        o->config = path;
        return 0;
}

int cmdline_parse(int argc, char **argv, struct options *o) {
        struct found f = {0};
        struct config_host ch;
        const char *host, *env_port = getenv("NBNET_PORT"), *port;
        int r, host_at, rest;

        *o = (struct options){.connect_timeout_usec = 10000000, .munge = credential_wanted()};
        /* getopt's own messages start with argv[0]: make it the name the others use. */
        argv[0] = (char *) PROGRAM;
        r = parse_pass(argc, argv, o, &f);
        if (r != 0)
                return r;
        host_at = optind;
        if (host_at >= argc)
                return usage_error("no HOST and COMMAND given");
        r = check_old_time_flag(argv, host_at);
        if (r < 0)
                return r;
        r = split_user(o, argv[host_at], &host);
        if (r < 0)
                return r;
        /* After HOST, options again up to the command, unless "--" came before HOST. */
        rest = host_at + 1;
        if (rest < argc && strcmp(argv[host_at - 1], "--") != 0) {
                argv[host_at] = (char *) PROGRAM; /* getopt's messages: "nbnet: ..." */
                r = parse_pass(argc - host_at, argv + host_at, o, &f);
                if (r != 0)
                        return r;
                rest = host_at + optind;
                if (rest < argc && rest > host_at + 1 && (r = check_old_time_flag(argv, rest)) < 0)
                        return r;
        }
        if (rest >= argc)
                return usage_error("no COMMAND given");
        o->argv = argv + rest;
        o->argc = argc - rest;

        r = parse_target(host, TARGET_DEFAULT_PORT, &o->target);
        if (r < 0)
                return r;
        r = read_config(o, &f, &ch);
        if (r < 0)
                return r;
        if (env_port && env_port[0] && parse_port(env_port, "NBNET_PORT") < 0)
                return -EINVAL;
        if (f.port)
                port = f.port, o->port_from = "-p";
        else if (env_port && env_port[0])
                port = env_port, o->port_from = "NBNET_PORT";
        else if (ch.port[0])
                port = ch.port, o->port_from = "the config file";
        else
                port = TARGET_DEFAULT_PORT, o->port_from = "the default";
        r = parse_target(host, port, &o->target);
        if (r < 0)
                return r;
        if (!o->user && ch.user[0]) {
                memcpy(o->user_buf, ch.user, sizeof ch.user);
                o->user = o->user_buf;
                o->user_from = "the config file";
        }
        if (o->raw && o->user)
                return usage_error("--raw sends no flags, so no user (%s %s): drop one of them",
                                   o->user_from, o->user);
        return 0;
}

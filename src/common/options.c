/* SPDX-License-Identifier: MIT */
/* The options both servers take (options.h). */
#include "options.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "args.h"
#include "clock.h"
#include "frame.h"

void serve_options_init(struct serve_options *o) {
        *o = (struct serve_options){
                .max_command = FRAME_MAX_COMMAND_DEFAULT,
                .request_timeout_usec = 10 * USEC_PER_SEC,
        };
}

void serve_options_help(FILE *out) {
        fprintf(out,
                "  --max-command N        longest command accepted, in bytes (1..%u;\n"
                "                         default %u)\n"
                "  --request-timeout SEC  time for the whole request to arrive (default 10)\n"
                "  --command-timeout SEC  kill the command's process group after SEC seconds;\n"
                "                         status 124 (default 0: no limit)\n"
                "  --allow CIDR           only peers in CIDR may connect (repeatable; IPv4 or\n"
                "                         IPv6; IPv4-mapped peers match IPv4 rules)\n"
                "  --allow-uid USER       only this user may connect on a Unix socket, or ask\n"
                "                         with a MUNGE credential (repeatable)\n"
                "  --allow-group GROUP    the same for members of GROUP (a credential's\n"
                "                         primary group); a rule must cover each kind of\n"
                "                         socket served\n"
                "  --commands FILE        restricted mode: a request names a command of FILE\n"
                "                         ('name = command line' lines); nothing else runs\n"
                "  --limit-cpu SEC        CPU seconds per command (SIGXCPU, then SIGKILL)\n"
                "  --limit-as BYTES       address space per command (K, M, G suffixes; at\n"
                "                         least 16M)\n"
                "  --limit-nproc N        processes of the command's user (not for root)\n"
                "  --limit-fsize BYTES    largest file a command may write (K, M, G)\n"
                "  --always-shell         run every command with /bin/sh -c, even one without\n"
                "                         shell syntax (default: exec that one directly)\n"
                "  --munge                require a MUNGE credential ('@' requests, nbnet\n"
                "                         --munge); refuse others with status 126\n"
                "  --munge-socket PATH    munged's socket (default: libmunge's,\n"
                "                         /run/munge/munge.socket.2)\n"
                "  --run-as USER[:GROUP]  run every command as USER (its group, or GROUP; names\n"
                "                         or numbers) with USER's groups and no capability;\n"
                "                         needs root or CAP_SETUID, CAP_SETGID and CAP_KILL.\n"
                "                         Without it commands run as the server's own user,\n"
                "                         and can signal, trace and stop the server\n"
                "  --run-as-requester     with --munge: run each command as its credential's\n"
                "                         uid and gid, with that uid's local groups, HOME and\n"
                "                         SHELL (as rsh and mrsh do); a uid unknown here is\n"
                "                         refused, and root unless --allow-uid root\n"
                "  --setenv NAME=VALUE    set NAME in every command's environment (repeatable;\n"
                "                         it replaces a variable of the same name)\n"
                "  --pass-env NAME        pass the server's NAME on to every command, if set\n"
                "                         (repeatable). Commands otherwise get only PATH,\n"
                "                         HOME, USER, LOGNAME, SHELL, the server's LANG,\n"
                "                         LANGUAGE, LC_* and TZ, REMOTE_ADDR and REMOTE_PORT\n"
                "  --config FILE          read options from FILE, one 'name = value' a line\n"
                "                         (the long options without their dashes; '#'\n"
                "                         comments); an option given here replaces its lines\n",
                FRAME_MAX_COMMAND_LIMIT, FRAME_MAX_COMMAND_DEFAULT);
}

/* A portable variable name: letters, digits, '_', no digit first. */
static bool options_env_name(const char *s, size_t len) {
        if (len == 0 || (s[0] >= '0' && s[0] <= '9'))
                return false;
        for (size_t i = 0; i < len; i++)
                if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                      (s[i] >= '0' && s[i] <= '9')))
                        return false;
        /* Each command's own: the peer's address and port. */
        return !((len == 11 && memcmp(s, "REMOTE_ADDR", 11) == 0) ||
                 (len == 11 && memcmp(s, "REMOTE_PORT", 11) == 0));
}

/* Says on stderr what the option takes and what it got; returns -EINVAL. */
static int options_refuse_value(const char *program, const char *option, const char *allowed,
                                const char *arg) {
        fprintf(stderr, "%s: %s must be %s, got '%s'\n", program, option, allowed, arg);
        return -EINVAL;
}

static int parse_count(const char *arg, rlim_t *ret) {
        unsigned long v;

        if (args_parse_uint(arg, 1, 1UL << 30, &v) < 0)
                return -EINVAL;
        *ret = (rlim_t) v;
        return 0;
}

/* -ERANGE: a size, below min (or past 2^64); -EINVAL: no size. */
static int parse_size(const char *arg, unsigned long long min, rlim_t *ret) {
        unsigned long long v;
        int r = args_parse_bytes(arg, min, &v);

        if (r < 0)
                return r;
        *ret = (rlim_t) v;
        return 0;
}

int serve_options_parse(struct serve_options *o, int opt, const char *arg, const char *program) {
        unsigned long v;
        int r;

        switch (opt) {
        case OPT_MAX_COMMAND:
                if (args_parse_uint(arg, 1, FRAME_MAX_COMMAND_LIMIT, &v) < 0)
                        return options_refuse_value(program, "--max-command",
                                                    "1.." FRAME_MAX_COMMAND_LIMIT_TEXT, arg);
                o->max_command = (uint32_t) v;
                return 0;
        case OPT_REQUEST_TIMEOUT:
                if (args_parse_seconds(arg, 0.001, 86400, &o->request_timeout_usec) < 0)
                        return options_refuse_value(program, "--request-timeout",
                                                    "0.001..86400 seconds, in decimal (e.g. 2.5)",
                                                    arg);
                return 0;
        case OPT_COMMAND_TIMEOUT:
                if (args_parse_seconds(arg, 0, 31536000, &o->command_timeout_usec) < 0)
                        return options_refuse_value(program, "--command-timeout",
                                                    "0..31536000 seconds, in decimal (0: no limit)",
                                                    arg);
                return 0;
        case OPT_ALLOW:
                r = policy_add_net(&o->policy, arg);
                if (r == -E2BIG)
                        return options_refuse_value(program, "--allow", "given at most 64 times",
                                                    arg);
                if (r < 0)
                        return options_refuse_value(
                                program, "--allow",
                                "an address or CIDR (192.0.2.0/24, 2001:db8::/32)", arg);
                return 0;
        case OPT_ALLOW_UID:
                r = policy_add_uid(&o->policy, arg);
                if (r < 0)
                        return options_refuse_value(program, "--allow-uid",
                                                    r == -E2BIG ? "given at most 32 times"
                                                                : "a known user name or a uid",
                                                    arg);
                return 0;
        case OPT_ALLOW_GROUP:
                r = policy_add_group(&o->policy, arg);
                if (r < 0)
                        return options_refuse_value(program, "--allow-group",
                                                    r == -E2BIG ? "given at most 32 times"
                                                                : "a known group name or a gid",
                                                    arg);
                return 0;
        case OPT_COMMANDS:
                o->commands_path = arg;
                return 0;
        case OPT_LIMIT_CPU:
                if (parse_count(arg, &o->limits.cpu) < 0)
                        return options_refuse_value(program, "--limit-cpu", "1..1073741824 seconds",
                                                    arg);
                return 0;
        case OPT_LIMIT_AS:
                r = parse_size(arg, SERVE_LIMIT_AS_MIN, &o->limits.as);
                if (r == -ERANGE && parse_size(arg, 0, &(rlim_t){0}) == 0)
                        return options_refuse_value(
                                program, "--limit-as",
                                "at least 16M (below it /bin/sh itself cannot start: every "
                                "command would die of SIGSEGV, status 139)",
                                arg);
                if (r < 0)
                        return options_refuse_value(program, "--limit-as", "a size like 512M or 2G",
                                                    arg);
                return 0;
        case OPT_LIMIT_NPROC:
                if (parse_count(arg, &o->limits.nproc) < 0)
                        return options_refuse_value(program, "--limit-nproc", "1..1073741824", arg);
                return 0;
        case OPT_LIMIT_FSIZE:
                if (parse_size(arg, 1, &o->limits.fsize) < 0)
                        return options_refuse_value(program, "--limit-fsize",
                                                    "a size like 1M or 10G", arg);
                return 0;
        case OPT_ALWAYS_SHELL:
                o->always_shell = true;
                return 0;
        case OPT_MUNGE:
                o->munge = true;
                return 0;
        case OPT_MUNGE_SOCKET:
                if (arg[0] != '/')
                        return options_refuse_value(program, "--munge-socket",
                                                    "an absolute path (munged's --socket)", arg);
                o->munge_socket = arg;
                return 0;
        case OPT_RUN_AS:
                /* Resolved at start (runas.h), where a missing user is told. */
                o->run_as = arg;
                return 0;
        case OPT_RUN_AS_REQUESTER:
                o->run_as_requester = true;
                return 0;
        case OPT_SETENV:
                if (o->n_setenv == SERVE_MAX_ENV)
                        return options_refuse_value(program, "--setenv", "given at most 64 times",
                                                    arg);
                if (!strchr(arg, '=') || !options_env_name(arg, strcspn(arg, "=")))
                        return options_refuse_value(
                                program, "--setenv",
                                "NAME=VALUE, NAME of letters, digits and _ (not REMOTE_ADDR or "
                                "REMOTE_PORT)",
                                arg);
                o->setenv[o->n_setenv++] = arg;
                return 0;
        case OPT_PASS_ENV:
                if (o->n_pass_env == SERVE_MAX_ENV)
                        return options_refuse_value(program, "--pass-env", "given at most 64 times",
                                                    arg);
                if (!options_env_name(arg, strlen(arg)))
                        return options_refuse_value(program, "--pass-env",
                                                    "a NAME of letters, digits and _ (not "
                                                    "REMOTE_ADDR or REMOTE_PORT)",
                                                    arg);
                o->pass_env[o->n_pass_env++] = arg;
                return 0;
        default:
                /* OPT_CONFIG included: conffile_parse_options() reads it. */
                return -ENOENT;
        }
}

int serve_options_check(const struct serve_options *o, const char *program) {
        if (o->run_as_requester && !o->munge) {
                fprintf(stderr,
                        "%s: --run-as-requester needs --munge: only a MUNGE credential says "
                        "who the requester is; give --munge too\n",
                        program);
                return -EINVAL;
        }
        if (o->run_as_requester && o->run_as) {
                fprintf(stderr,
                        "%s: --run-as %s and --run-as-requester both say whom commands run as; "
                        "give one of them\n",
                        program, o->run_as);
                return -EINVAL;
        }
        return 0;
}

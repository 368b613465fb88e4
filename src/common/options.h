/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The options both servers take (nbnet-handler and nbnetd): request limits,
 * timeouts, who may connect (and MUNGE, who asks), what may run, per-command resource limits,
 * whom commands run as and what environment they get.
 * Each program adds its own options beside SERVE_LONG_OPTIONS and passes
 * the ones it does not know to serve_options_parse().
 */

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "policy.h"
#include "spawn.h"

enum {
        OPT_MAX_COMMAND = 0x100,
        OPT_REQUEST_TIMEOUT,
        OPT_COMMAND_TIMEOUT,
        OPT_ALLOW,
        OPT_ALLOW_UID,
        OPT_ALLOW_GROUP,
        OPT_COMMANDS,
        OPT_LIMIT_CPU,
        OPT_LIMIT_AS,
        OPT_LIMIT_NPROC,
        OPT_LIMIT_FSIZE,
        OPT_ALWAYS_SHELL,
        OPT_MUNGE,
        OPT_MUNGE_SOCKET,
        OPT_RUN_AS,
        OPT_RUN_AS_REQUESTER,
        OPT_SETENV,
        OPT_PASS_ENV,
        OPT_CONFIG,
        OPT_SERVE_LAST, /* a program's own options start here */
};

/* clang-format reads these braces as one initializer and re-indents them. */
/* clang-format off */
#define SERVE_LONG_OPTIONS                                                     \
        {"max-command", required_argument, NULL, OPT_MAX_COMMAND},              \
        {"request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT},      \
        {"command-timeout", required_argument, NULL, OPT_COMMAND_TIMEOUT},      \
        {"allow", required_argument, NULL, OPT_ALLOW},                          \
        {"allow-uid", required_argument, NULL, OPT_ALLOW_UID},                  \
        {"allow-group", required_argument, NULL, OPT_ALLOW_GROUP},              \
        {"commands", required_argument, NULL, OPT_COMMANDS},                    \
        {"limit-cpu", required_argument, NULL, OPT_LIMIT_CPU},                  \
        {"limit-as", required_argument, NULL, OPT_LIMIT_AS},                    \
        {"limit-nproc", required_argument, NULL, OPT_LIMIT_NPROC},              \
        {"limit-fsize", required_argument, NULL, OPT_LIMIT_FSIZE},              \
        {"always-shell", no_argument, NULL, OPT_ALWAYS_SHELL},                  \
        {"munge", no_argument, NULL, OPT_MUNGE},                                \
        {"munge-socket", required_argument, NULL, OPT_MUNGE_SOCKET},            \
        {"run-as", required_argument, NULL, OPT_RUN_AS},                        \
        {"run-as-requester", no_argument, NULL, OPT_RUN_AS_REQUESTER},          \
        {"setenv", required_argument, NULL, OPT_SETENV},                        \
        {"pass-env", required_argument, NULL, OPT_PASS_ENV},                    \
        {"config", required_argument, NULL, OPT_CONFIG}
/* clang-format on */

/* --setenv and --pass-env may each be given this many times. */
#define SERVE_MAX_ENV 64
/* The smallest --limit-as: below it /bin/sh itself cannot start, and every
 * command would die of SIGSEGV (status 139) with no word of why. */
#define SERVE_LIMIT_AS_MIN (16ull << 20)

struct serve_options {
        uint32_t max_command;
        uint64_t request_timeout_usec;
        uint64_t command_timeout_usec; /* 0: none */
        const char *commands_path;     /* restricted mode's table, or NULL */
        struct policy policy;
        struct spawn_limits limits;
        bool always_shell;        /* no direct exec: /bin/sh -c runs every command */
        bool munge;               /* a MUNGE credential ('@') is required */
        const char *munge_socket; /* munged's socket; NULL: libmunge's default */
        const char *run_as;       /* USER[:GROUP] the commands run as; NULL: the server's */
        bool run_as_requester;    /* each command runs as its MUNGE credential's user */
        const char *setenv[SERVE_MAX_ENV]; /* NAME=VALUE for every command */
        size_t n_setenv;
        const char *pass_env[SERVE_MAX_ENV]; /* names of the server's variables passed on */
        size_t n_pass_env;
};

void serve_options_init(struct serve_options *o);

/* Handles one of the SERVE_LONG_OPTIONS but --config (conffile.h reads it):
 * 0, or -EINVAL after printing what is allowed to stderr, after who ("nbnetd",
 * or the program and the configuration file's line). -ENOENT: not a server option. */
int serve_options_parse(struct serve_options *o, int opt, const char *arg, const char *who);

/* What the options say together, once all are parsed: 0, or -EINVAL after
 * printing to stderr what does not go together and what to give. */
int serve_options_check(const struct serve_options *o, const char *program);

/* The --help lines of the server options. */
void serve_options_help(FILE *out);

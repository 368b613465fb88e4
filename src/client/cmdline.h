/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * nbnet's command line, read with ssh's habits: options before HOST and after
 * it, up to the first word that is not one (the command's first; "--" before
 * HOST ends them there), USER@HOST and -l, -p, -4/-6, -v, -q, -F; the ssh
 * options scp and rsync pass that mean nothing here (-x, -a, -t, -T, -C,
 * -oKey=Value) taken and ignored. The port and user fall back on NBNET_PORT
 * and the configuration file (config.h). Messages go to stderr.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "target.h"

#define CMDLINE_IGNORED_MAX 16

/* An ssh option taken and ignored: -x, or -o and its argument. */
struct ignored_option {
        char flag;
        const char *arg; /* NULL for a flag without one */
};

struct options {
        struct target target;
        char **argv; /* COMMAND [ARG...] */
        int argc;
        const char *user;      /* the user asked for ('~'), NULL for none */
        const char *user_from; /* where it came from, for messages: "-l", "the config file" */
        const char *port_from; /* where the port came from, for -v */
        const char *config;    /* the configuration file read, NULL for none */
        uint64_t connect_timeout_usec;
        uint64_t timeout_usec; /* 0: none */
        const char *timeout_text;
        bool raw;
        bool no_stdin;     /* -n */
        bool quiet;        /* -q */
        int verbose;       /* -v, once or more */
        bool munge;        /* --munge or NBNET_MUNGE=1: the command goes in a credential */
        bool merge_stderr; /* -M: no channel, stderr in the stream */
        struct ignored_option ignored[CMDLINE_IGNORED_MAX]; /* for -v */
        int ignored_count;
        char user_buf[64];
        char config_buf[4096];
};

/* Returns 0 to go on, 1 to exit 0 (help, version), -EINVAL for a usage error
 * (exit 2), another -errno when the configuration file cannot be read (255);
 * the message is out. */
int cmdline_parse(int argc, char **argv, struct options *o);

/* Prints the usage to out. */
void cmdline_usage(FILE *out);

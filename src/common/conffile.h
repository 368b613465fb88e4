/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A server's configuration file (--config, e.g. /etc/nbnet/nbnetd.conf):
 * one long option a line, "name = value", or "name" alone (or "= yes",
 * "= no") for an option that takes no value; '#' starts a comment line.
 * And how it joins the command line: an option given there replaces every
 * line of the file for it. The same parser for both servers; it never logs
 * and never exits: errors come back as a message naming file, line and key.
 */

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

/* A configuration file larger than this is a mistake, not a configuration. */
#define CONFFILE_SIZE_MAX ((size_t) 64 * 1024)

struct conffile_entry {
        unsigned line;
        int index;         /* into the longopts the file was read against */
        const char *value; /* NULL for an option without value */
};

/* The file's entries, in its order; values point into text. */
struct conffile {
        const char *path;
        char *text;
        struct conffile_entry *entries;
        size_t n;
};

/* Reads path against longopts (its keys: their names, but help, version
 * and config). 0, or -errno with "PATH:LINE: what is wrong" in err (for the
 * file as a whole, "--config PATH: why it cannot be read"), cf left empty. */
int conffile_load(struct conffile *cf, const char *path, const struct option *longopts, char *err,
                  size_t err_size);

void conffile_release(struct conffile *cf);

/* One option for a program: getopt's opt, its argument (NULL for none), and
 * who to name in a message ("nbnetd", or "nbnetd: FILE:LINE" for a line of
 * the file). 0; 1 to exit 0 (--help, --version); -EINVAL after telling stderr. */
typedef int (*conffile_option_fn)(int opt, const char *arg, const char *who, void *userdata);

struct conffile_args {
        const char *program;
        const struct option *longopts; /* with {"config", required_argument, ..., config_opt} */
        const char *shortopts;
        int config_opt;
        conffile_option_fn fn;
        void *userdata;
};

/* The command line, then the --config file's lines for the options it did
 * not give. Returns 0; 1 to exit 0; -EINVAL for a usage error on the command
 * line; -EBADMSG for an error in the file, or a file that cannot be read
 * (both told on stderr). cf holds the values the options point to: release
 * it at exit. */
int conffile_parse_options(const struct conffile_args *a, int argc, char **argv, struct conffile *cf);

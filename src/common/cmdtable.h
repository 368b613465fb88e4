/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The restricted mode's command table (--commands FILE): names a frame may
 * give, each with the line /bin/sh -c runs for it, in nbnet's form
 * (NAME = LINE) or as NRPE's nrpe.cfg (command[NAME]=LINE, include=,
 * include_dir=, allowed_hosts=). Never logs, never exits: errors come back as negative
 * errno values and a message.
 */

#include <stddef.h>

#include "policy.h"

#define CMDTABLE_MAX_COMMANDS 1024
#define CMDTABLE_NAME_MAX 64
/* A command table larger than this is a mistake, not a configuration. */
#define CMDTABLE_FILE_MAX ((size_t) 1024 * 1024)
/* nrpe.cfg's include= and include_dir=: how deep, and how many files in all. */
#define CMDTABLE_INCLUDE_DEPTH 8
#define CMDTABLE_MAX_FILES 256

struct cmdtable_entry {
        const char *name;
        const char *line; /* run with /bin/sh -c */
};

/* One file's text; a table's entries point into its files' texts. */
struct cmdtable_text {
        struct cmdtable_text *next;
        char *text; /* readfile.h's */
};

/* The command table. skipped names the nrpe.cfg directives that were skipped
 * (server_port, nrpe_user...), for the caller to warn about once. hosts is
 * an nrpe.cfg's allowed_hosts (its last line, as NRPE reads it): an address
 * rule beside --allow, none when hosts.n_nets is 0. */
struct cmdtable {
        struct cmdtable_entry *entries;
        size_t count;
        struct cmdtable_text *storage;
        unsigned n_skipped;  /* directive lines */
        char skipped[160];   /* "server_port, nrpe_user", cut with "..." */
        struct policy hosts; /* allowed_hosts: addresses and networks (no names) */
};

/* Loads a command table; on error fills err with "PATH:LINE: what is wrong"
 * (an included file's error after the include's "PATH:LINE: ") and leaves t
 * empty. A file with a command[NAME]= line is an nrpe.cfg: see nbnetd(8). */
int cmdtable_load(struct cmdtable *t, const char *path, char *err, size_t err_size);

/* The command line for a name, or NULL when the name is not in the table. */
const char *cmdtable_lookup(const struct cmdtable *t, const char *name);

void cmdtable_release(struct cmdtable *t);

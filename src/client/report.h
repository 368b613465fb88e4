/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * nbnet-load's results and their two forms: text for people, one JSON
 * object for scripts, valid UTF-8 whatever bytes the command or target hold.
 * Reads the counts, never changes them. Requests per second count the ok
 * requests only.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "histogram.h"

struct report {
        const char *target;   /* "HOST:PORT", "[IPV6]:PORT" or "unix:PATH" */
        char *const *command; /* the words of the command */
        int command_words;
        unsigned conns;
        bool raw;
        bool interrupted;
        const char *ok_statuses; /* --ok-status, as given ("0" by default) */
        const bool *ok_status;   /* 256: the statuses it lets through; NULL: 0 alone */
        bool with_stdin;         /* --stdin: input_bytes counts */
        bool stderr_channel;     /* --stderr-channel: stderr_bytes counts */
        uint64_t elapsed_usec;
        uint64_t finished;     /* requests that ended, well or not */
        uint64_t ok;           /* with a status in --ok-status (or, raw, a clean EOF) */
        uint64_t output_bytes; /* trailers excluded */
        uint64_t input_bytes;  /* of --stdin, sent */
        uint64_t stderr_bytes; /* read on the stderr channels */
        uint64_t statuses[256];
        uint64_t connect_errors;
        uint64_t read_errors;
        uint64_t no_status;
        uint64_t bad_status; /* a status not in --ok-status */
        uint64_t timeouts;
        int last_errno;           /* of the last connect or read error; 0 when none */
        struct histogram latency; /* microseconds, of the requests that ended well */
};

void report_text(const struct report *r, FILE *out);
void report_json(const struct report *r, FILE *out);

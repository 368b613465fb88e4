/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * nbnetd's counts in Prometheus's text exposition format, for
 * node_exporter's textfile collector (--metrics-file): requests by status
 * class and by the way they ended, refused peers, request durations as a
 * fixed-bucket histogram, the live gauges, the build and the time of the
 * write. Every series carries the label nbnetd="NAME" (--metrics-instance,
 * or where it listens), so that several nbnetds can share one textfile
 * folder. The counts are the server's; this file counts into them, formats
 * them, and writes the file whole (a temporary file of a random name, then
 * rename). Only the file's writer (struct metrics_file) logs: a failure to
 * write once, and its end.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "request.h"

/* Status classes: the command's 0, its other exits, 124, 125, 126, signals, none. */
enum metrics_class {
        METRICS_OK,
        METRICS_FAILED,
        METRICS_TIMEOUT,
        METRICS_NOT_RUN,
        METRICS_REFUSED,
        METRICS_SIGNALED,
        METRICS_NO_STATUS,
        METRICS_CLASS_COUNT,
};

/* Upper bounds of the duration buckets, in seconds; +Inf comes after them. */
#define METRICS_BUCKETS 14
/* The longest instance name, in bytes (a Unix socket's path is 107 at most). */
#define METRICS_INSTANCE_MAX 256

struct metrics {
        uint64_t start_realtime_usec;
        unsigned long long accepted;      /* connections taken */
        unsigned long long peers_refused; /* closed unanswered at accept */
        unsigned long long by_class[METRICS_CLASS_COUNT];
        unsigned long long by_end[REQUEST_END_COUNT];
        unsigned long long buckets[METRICS_BUCKETS + 1]; /* not cumulative; the last is +Inf */
        unsigned long long duration_count;
        uint64_t duration_sum_usec;
        uint64_t cpu_usec; /* of the commands, from their cgroups */
};

/* The live gauges at the time of writing. */
struct metrics_gauges {
        bool up; /* false in the last write, at exit */
        unsigned connections, running, queued;
        unsigned max_connections, max_running;
};

void metrics_init(struct metrics *m, uint64_t start_realtime_usec);

/* A connection closed: how it ended, its status (-1: none), accept to close,
 * its command's CPU time (0 without a cgroup per command). */
void metrics_count_closed(struct metrics *m, enum request_end end, int status,
                          uint64_t duration_usec, uint64_t cpu_usec);

enum metrics_class metrics_class_of(int status);

/* The exposition text into buf, every series labelled nbnetd="instance" and
 * the time of writing now_realtime_usec; its length, or -ENOBUFS when it
 * does not fit. */
int metrics_format(const struct metrics *m, const struct metrics_gauges *g, const char *instance,
                   uint64_t now_realtime_usec, char *buf, size_t size);

/* Writes the text to a new file PATH.XXXXXX, then renames it to PATH; 0 or -errno. */
int metrics_write(const char *path, const char *instance, const struct metrics *m,
                  const struct metrics_gauges *g);

/* Fills the live gauges at the time of a write. */
typedef void (*metrics_gauges_fn)(void *userdata, struct metrics_gauges *g);

/* --metrics-file, written every few seconds and when asked. */
struct metrics_file {
        const char *path;                        /* NULL: none */
        char instance[METRICS_INSTANCE_MAX + 1]; /* the nbnetd label's value */
        const struct metrics *m;
        metrics_gauges_fn gauges;
        void *userdata;
        sd_event_source *timer;
        bool failing; /* the last write failed and was logged */
};

/* With a path: the timer on event, then a first write; 0 or -errno (the
 * timer could not be had). Without: nothing. */
int metrics_file_start(struct metrics_file *f, sd_event *event);

/* Writes the file now (up: false in the last write, at exit); nothing without
 * a path. A failure is logged once, and the next success too. */
void metrics_file_write(struct metrics_file *f, bool up);

void metrics_file_release(struct metrics_file *f);

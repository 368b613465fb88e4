/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The state nbnetd shares between connections: its options, the event loop,
 * the listeners, the connection table (preallocated, --max-connections
 * slots), the restricted mode's command table, the FIFO of complete
 * requests waiting for a running slot, and the live counts it reports to
 * systemd. The per-connection state machine is conn.c, which reports to
 * this file; this file alone decides when a connection may be accepted and
 * when its command may run, and alone keeps the counts, queue and lists.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "authq.h"
#include "cgroup.h"
#include "conn.h"
#include "list.h"
#include "listen.h"
#include "metrics.h"
#include "notices.h"
#include "options.h"
#include "orphans.h"
#include "pairs.h"
#include "request.h"
#include "spawn.h"

#define SERVER_MAX_LISTENERS 16
/* The event loop's descriptors: epoll, two signalfds (SIGCHLD has a priority
 * of its own, and sd-event a signalfd per priority), the monotonic timerfd. */
#define SERVER_LOOP_FDS 4
/* Descriptors server_init opens and keeps (listeners apart, LISTEN_FDS each). */
#define SERVER_FDS (SERVER_LOOP_FDS + ORPHANS_FDS + SPAWN_ENV_FDS + AUTHQ_FDS + TMPDIR_FDS)
/* Descriptors per connection: its own and its command's cgroup slot. The
 * slots are as many as --max-running at most, and memory.peak
 * (CGROUP_SLOT_PEAK_FDS) is not counted: this is the count nbnetd always used. */
#define SERVER_FDS_PER_CONNECTION (CONN_FDS + CGROUP_SLOT_FDS)

/* nbnetd's own limits, beside the options it shares with nbnet-handler. */
struct server_limits {
        unsigned max_connections;    /* accepted at once; at the cap a new one evicts the
                                     * longest-waiting request being read, or waits in the backlog */
        unsigned max_running;        /* commands at once; more requests wait in the queue */
        unsigned max_per_source;     /* connections from one IP address */
        uint64_t stop_timeout_usec;  /* after SIGTERM, before commands are killed */
        bool no_cgroups;             /* --cgroups off: process groups even where cgroups work */
        struct cgroup_limits cgroup; /* --limit-memory, --limit-tasks: need cgroups */
};

/* The connections still reading their request, oldest first: the next to
 * evict is the head. Indices into conns; links of slots that left the
 * reading state are dropped lazily, at the head. Not a list.h list: a
 * conn's one pair of links is the queue's or the free list's, and every
 * step here wants the slot number, to reach conns[]. */
struct server_idle {
        unsigned prev, next;
        bool linked;
};

struct server {
        struct serve_options opt; /* options.h: request limits, policy, resource limits */
        struct server_limits lim;
        struct request_table table;  /* restricted mode (--commands) */
        struct conn_config conn_cfg; /* what every connection is given */
        sd_event *event;
        struct listener listeners[SERVER_MAX_LISTENERS];
        size_t n_listeners;
        bool listening;                    /* the listener sources are enabled */
        bool accept_paused;                /* out of descriptors: retry on a timer */
        struct conn *conns;                /* lim.max_connections slots */
        LIST_HEAD(struct conn) free_slots; /* through conn->prev and next */
        LIST_HEAD(struct conn) queue;      /* complete requests waiting to run, oldest first */
        struct server_idle *idle;          /* lim.max_connections, beside conns */
        struct pairs pairs; /* requests with '&' and stderr channels waiting, by token */
        unsigned idle_head, idle_tail;
        struct notices notices; /* turned-away connections, rate-limited in the log */
        unsigned connections, running, queued;
        unsigned long long served, refused; /* refused: evictions too */
        struct conn_shared shared;          /* the commands' environment, orphans, MUNGE decodes */
        struct cgroup_pool cgroups;         /* a cgroup per command, where one can be had */
        bool stopping;
        sd_event_source *retry_timer, *stop_timer, *status_timer;
        sd_event_source *signals[4];
        char status[160];       /* the last STATUS= sent */
        char cgroup_note[4200]; /* how commands end, for the startup line */
        struct metrics metrics;
        struct metrics_file metrics_file; /* --metrics-file */
};

/* Sets up the loop, the connection table, the signals; listeners come with
 * server_listen, the command table with server_run. 0, 1 for a configuration
 * that cannot work here (logged: no retry helps), or -errno. */
int server_init(struct server *s, const struct serve_options *opt, const struct server_limits *lim,
                char **environ_);

/* Serves the listening socket fd (taken over: closed by server_release);
 * file, when not NULL, is its socket file that nbnetd made, removed then. */
int server_listen(struct server *s, int fd, const struct listen_file *file);

/* --metrics-file: server_run writes it every few seconds and at exit, its
 * series labelled instance (NULL: the addresses it listens on). */
void server_set_metrics_file(struct server *s, const char *path, const char *instance);

/* Loads the --commands table, logs where it listens, and runs until SIGTERM
 * or SIGINT and every connection is closed; 0, 1 for a table that will not
 * load (logged), or -errno. */
int server_run(struct server *s);

void server_release(struct server *s);

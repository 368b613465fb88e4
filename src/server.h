/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The state nbnetd shares between connections: its options, the event loop,
 * the listeners, the connection table (preallocated, --max-connections
 * slots), the restricted mode's command table, the FIFO of complete requests waiting for a running slot, and the
 * live counts it reports to systemd. The per-connection state machine is
 * conn.c; this file decides when a connection may be accepted and when its
 * command may run.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "options.h"
#include "policy.h"
#include "spawn.h"

#define SERVER_MAX_LISTENERS 16

struct conn;

/* nbnetd's own limits, beside the options it shares with nbnet-handler. */
struct server_limits {
        unsigned max_connections;   /* accepted at once; more wait in the kernel's backlog */
        unsigned max_running;       /* commands at once; more requests wait in the queue */
        unsigned max_per_source;    /* connections from one IP address */
        uint64_t stop_timeout_usec; /* after SIGTERM, before commands are killed */
};

struct server {
        struct server_options opt; /* options.h: request limits, policy, resource limits */
        struct server_limits lim;
        struct policy_table table; /* restricted mode (--commands) */
        bool table_ok;             /* false: the table would not load; requests are refused */
        sd_event *event;
        int listen_fds[SERVER_MAX_LISTENERS];
        sd_event_source *listen_sources[SERVER_MAX_LISTENERS];
        bool listen_tcp[SERVER_MAX_LISTENERS]; /* TCP, not a Unix socket */
        /* Accepted until EAGAIN since keepalive was set on it: every later
         * connection inherited keepalive from the listener. */
        bool listen_drained[SERVER_MAX_LISTENERS];
        size_t n_listeners;
        bool listening;          /* the listener sources are enabled */
        bool accept_paused;      /* out of descriptors: retry on a timer */
        struct conn *conns;      /* lim.max_connections slots */
        struct conn *free_slots; /* through conn->next */
        struct conn *queue_head, *queue_tail;
        unsigned connections, running, queued;
        unsigned mains;          /* commands whose main process is not reaped yet */
        struct conn *mains_head; /* those commands' connections, through conn->main_next */
        unsigned long long served, refused;
        struct spawn_env env;
        bool stopping;
        sd_event_source *retry_timer, *stop_timer, *status_timer;
        sd_event_source *signals[4];
        char status[160]; /* the last STATUS= sent */
};

/* Sets up the loop, the connection table, the signals;
 * listeners come with server_listen, the command table with server_run. */
int server_init(struct server *s, const struct server_options *opt, const struct server_limits *lim,
                char **environ_);

/* Serves the listening socket fd (taken over: closed by server_release). */
int server_listen(struct server *s, int fd);

/* Loads the --commands table, logs where it listens, and runs until SIGTERM
 * or SIGINT and every connection is closed; 0 or -errno. */
int server_run(struct server *s);

void server_release(struct server *s);

/* For conn.c: the request of c is complete; run it now or queue it. */
void server_want_run(struct server *s, struct conn *c);

/* For conn.c: c leaves the queue (queue timeout, reset) without running. */
void server_unqueue(struct server *s, struct conn *c);

/* For conn.c: c's command started (its main is our child), or its main was reaped. */
void server_main_started(struct server *s, struct conn *c);
void server_main_reaped(struct server *s, struct conn *c);

/* For conn.c: a command and its group are over; its running slot is free. */
void server_command_ended(struct server *s);

/* For conn.c: reaps our exited orphans, then tells whether a child was
 * there that no running command's main is: an orphan or an escapee, of any
 * command (or whether that cannot be told: more children than the list
 * holds). One read of /proc when there is none. */
bool server_has_untracked(const struct server *s);

/* For conn.c: sends sig to each orphan of ours that holds the socket of
 * inode ino (it left its command's group, yet would hold the connection
 * open); returns how many there were. */
unsigned server_signal_holders(struct server *s, ino_t ino, int sig);

/* For conn.c: c is closed; its slot goes back to the table. */
void server_conn_closed(struct server *s, struct conn *c);

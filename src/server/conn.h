/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * One request's connection, as a state machine driven by its event sources,
 * for both servers: nbnetd runs one per accepted connection, nbnet-handler
 * runs one for the connection it was given. Entering a state sets what is
 * watched on the socket and when its timer fires (conn_enter), as systemd's
 * service_set_state does; the kill phases are states of their own:
 *
 *   reading -> (pairing) -> (decoding) -> (queued) -> running -> [stop_sigterm -> stop_sigkill]
 *     -> final_sigterm -> final_sigkill | final_cgroup -> (sending) -> draining -> closed
 *
 * A stderr channel ('=' and a token) is a connection too: reading -> channel
 * (waiting for its request) -> closed, handed to its request's process
 * (nbnet-handler) or lent to its request (nbnetd: channel_lent, until the
 * request is done with it). A request with '&' waits in pairing for its
 * channel, whose socket it then holds as its command's fd 2.
 *
 * It behaves on the wire as doc/protocol.md says, without ever blocking: the
 * socket stays in blocking mode for the command, and every recv/send of ours
 * passes MSG_DONTWAIT. It is told what it needs when it opens (struct
 * conn_config) and reports what happened to its owner (enum conn_event); it
 * never touches the owner's counters or lists.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "authq.h"
#include "cgroup.h"
#include "frame.h"
#include "list.h"
#include "notices.h"
#include "options.h"
#include "orphans.h"
#include "request.h"
#include "sock.h"
#include "spawn.h"
#include "tmpdir.h"

enum conn_state {
        CONN_FREE,          /* an unused slot of the table */
        CONN_READING,       /* reading the frame, until the request timeout */
        CONN_DECODING,      /* its MUNGE credential at authq's thread, until the request timeout */
        CONN_QUEUED,        /* complete, waiting for a running slot (--max-running) */
        CONN_RUNNING,       /* the command's main process runs; errors and resets watched */
        CONN_STOP_SIGTERM,  /* the main still runs; its group got SIGTERM, for the grace */
        CONN_STOP_SIGKILL,  /* the main still runs; its group (or cgroup) got SIGKILL */
        CONN_FINAL_SIGTERM, /* the main is gone; what is left of its group got SIGTERM */
        CONN_FINAL_SIGKILL, /* the main is gone; what is left got SIGKILL, for one more grace */
        CONN_FINAL_CGROUP,  /* the main is gone; its cgroup was killed, until it is empty */
        CONN_SENDING,       /* our line or trailer waits for room in the socket */
        CONN_DRAINING,      /* write side shut; input read and dropped until EOF */
        CONN_PAIRING,       /* a request with '&', until its channel comes (request timeout) */
        CONN_CHANNEL,       /* a stderr channel, until its request comes (request timeout) */
        CONN_CHANNEL_LENT,  /* a stderr channel whose socket its request holds (nbnetd) */
        CONN_STATE_COUNT,
};

/* What a connection tells its owner. */
enum conn_event {
        CONN_EVENT_READY,         /* complete and allowed: conn_start() or conn_queue() it */
        CONN_EVENT_LEFT_QUEUE,    /* queued, and its peer went: it leaves the queue */
        CONN_EVENT_QUEUE_TIMEOUT, /* queued for the request timeout: conn_refuse_queued() it */
        CONN_EVENT_ENDED,         /* its command and group are over: a running slot is free */
        CONN_EVENT_NOT_STARTED,   /* its command's main ended before it started the command:
                                   * a running slot is free, and the request is refused */
        CONN_EVENT_CLOSED,        /* closed and logged: its slot is free */
        CONN_EVENT_PAIR,          /* a request with '&' or a channel waits: pair it by token */
};

struct conn;

/* Descriptors a connection holds: its socket and, while its command runs, the pidfd. */
#define CONN_FDS 2

/* What a server's connections share, made once at its start: the commands'
 * environment and limits, the children it inherits as a subreaper, and the
 * thread that decodes MUNGE credentials off the loop. */
struct conn_shared {
        struct spawn_env env;
        char command_user[SPAWN_USER_NAME_MAX]; /* the --run-as user's name, which '~' may name */
        char warning[320]; /* whom commands run as, when it is the server: conn_shared_warn() */
        struct orphans orphans;
        struct authq authq;
        struct tmpdir_base tmpdirs; /* each command's TMPDIR is made in it */
        sd_event_source *starts;    /* a timer while a command's child is starting */
};

/* Makes them for a server of opt on event, with room for max_running
 * commands at once; serves_many (nbnetd): what can wait is kept off a
 * request's path: orphans that hold an ended command's connection are looked
 * for at the next census (orphans.h), not before its trailer, and TMPDIRs are
 * removed by a thread (tmpdir.h); logs what failed. 0; 1 when the configuration cannot
 * work (an unknown --run-as user, no right to switch to it); -errno.
 * conn_shared_release undoes it, failed or not. */
int conn_shared_init(struct conn_shared *sh, sd_event *event, const struct serve_options *opt,
                     size_t max_running, bool serves_many, char **environ_);

/* Logs, once the server is up, that its commands run as itself, if they do. */
void conn_shared_warn(const struct conn_shared *sh);

/* wait_decode: a decode that munged still holds is waited for (up to
 * libmunge's timeout); else the process is about to exit, and the thread with it. */
void conn_shared_release(struct conn_shared *sh, bool wait_decode);

/* What every connection is given, owned by the server; the connections only read it.
 * nbnet-handler gives no cgroup pool: its unit's cgroup is the command's. */
struct conn_config {
        sd_event *event;
        const struct serve_options *opt;
        const struct request_table *table; /* replaced in place at SIGHUP */
        struct conn_shared *shared;
        struct cgroup_pool *cgroups; /* a cgroup per command when on; else process groups */
        /* nbnetd's rate limit of the records of connections that made no
         * request (notices.h); NULL: each is logged (nbnet-handler serves one
         * connection a process, so a limit there would count to one). */
        struct notices *notices;
        void (*report)(void *owner, struct conn *c, enum conn_event event);
        void *owner;
};

struct conn {
        const struct conn_config *cfg;
        enum conn_state state;
        int fd;                  /* -1 once a channel's socket is lent to its request */
        int err_fd;              /* the stderr channel's socket, once paired; -1 without */
        sd_event_source *err_io; /* errors on err_fd, until the command is over */
        struct conn *lender;     /* nbnetd: the channel's connection whose socket err_fd is */
        bool paired;             /* its stderr went to a channel: the log says so */
        bool tcp;                /* TCP_INFO applies */
        ino_t ino;               /* the socket's, to find processes that hold it; 0 until needed */
        struct sock_peer peer;
        struct frame frame;
        struct request_identity who; /* from the MUNGE credential, when there is one */
        struct authq_job *auth_job;  /* its decode, while decoding */
        uint64_t start_usec;
        uint64_t grace_end_usec; /* of the SIGTERM's grace, in the final states */
        sd_event_source *io, *timer;
        sd_event_source *child;      /* the main process's pidfd, readable once it exits */
        struct cgroup_slot *slot;    /* the command's cgroup, from start until it is empty */
        sd_event_source *cgroup_src; /* its cgroup.events, while ending */
        bool has_cpu, has_memory_peak;
        uint64_t cpu_usec, memory_peak;
        pid_t pid;             /* the command's, also its process group */
        int pad;               /* what its main started on, for spawn_child_started() */
        uint64_t orphans_gen;  /* the orphans' census generation at its start */
        bool group_gone;       /* its process group was seen empty: never signal its id again */
        bool trailer_waits;    /* until nothing the command wrote is unsent */
        bool unlogged;         /* evicted: the owner logs it, rate-limited */
        int status;            /* NBNET status, -1 when none */
        enum request_end end;  /* how it ended, when not by its command alone */
        char reason_text[160]; /* the log's reason when the end has no text of its own */
        char tmpdir[SPAWN_TMPDIR_MAX]; /* the command's TMPDIR, "" before it starts */
        bool whole; /* its cgroup was empty at its end: none of its processes is left */
        char out[256 + FRAME_TRAILER_SIZE]; /* our own line and trailer */
        size_t out_len, out_sent;
        LIST_FIELDS(struct conn); /* the owner's: its queue or its free slots */
};

/* Takes over the accepted socket fd; on failure the slot is free again and
 * the caller closes fd. */
int conn_open(struct conn *c, const struct conn_config *cfg, int fd, const struct sock_peer *peer,
              bool tcp);

/* Starts the command of a complete request; -errno when it could not run
 * (the client has then been told, and the connection is closing). */
int conn_start(struct conn *c);

/* The request waits for a running slot, until the request timeout at most. */
void conn_queue(struct conn *c);

/* A queued request that will not run: busy (running: the commands that run)
 * or stopping (end is REQUEST_BUSY or REQUEST_STOPPED_QUEUED). */
void conn_refuse_queued(struct conn *c, enum request_end end, unsigned running);

/* The server stops: a request still being read is dropped; one whose
 * credential is being decoded is told the server stops (125). */
void conn_stop(struct conn *c);

/* The server is full and this request, still being read, has waited longest:
 * closed at once with no record of its own (the owner counts evictions). */
void conn_evict(struct conn *c);

/* After CONN_EVENT_PAIR, c waits (pairing or channel state) until the
 * request timeout; its owner finds the partner by c->frame.token. Pairs the
 * request req with the stderr channel's socket fd, its command's fd 2 and
 * where every line of the server's about it goes: lender is nbnetd's channel
 * connection, whose socket is lent until req is done with it; NULL when fd
 * is req's own (nbnet-handler: it came from the channel's process). 0, or
 * -EACCES when fd's peer is not req's (nothing taken: refuse the channel). */
int conn_pair(struct conn *req, int fd, struct conn *lender);

/* A request or channel that will not be paired (end: REQUEST_TOKEN_IN_USE,
 * REQUEST_CHANNEL_MISMATCH): told end's line, when it has one, and closed. */
void conn_unpaired(struct conn *c, enum request_end end);

/* nbnet-handler: this channel's socket went to its request's process: it
 * is closed here (no shutdown: it is the command's stderr there), unlogged. */
void conn_handed_over(struct conn *c);

/* Kills a running command's group (the server stops, or its stop timeout passed). */
void conn_kill(struct conn *c, enum request_end end);

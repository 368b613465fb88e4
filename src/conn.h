/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * One nbnetd connection, as a state machine driven by its event sources:
 * reading -> (queued) -> running -> ending -> (sending) -> draining -> closed.
 * It behaves on the wire as nbnet-handler does (doc/protocol.md), without
 * ever blocking: the socket stays in blocking mode for the command, and
 * every recv/send of ours passes MSG_DONTWAIT.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "frame.h"
#include "sock.h"

struct server;

enum conn_state {
        CONN_FREE,     /* an unused slot of the table */
        CONN_READING,  /* reading the frame, until the request timeout */
        CONN_QUEUED,   /* complete, waiting for a running slot (--max-running) */
        CONN_RUNNING,  /* the command's main process runs; errors and resets watched */
        CONN_ENDING,   /* the main process is gone; its group gets the grace */
        CONN_SENDING,  /* our line or trailer waits for room in the socket */
        CONN_DRAINING, /* write side shut; input read and dropped until EOF */
};

struct conn {
        struct server *server;
        enum conn_state state;
        int fd;
        bool tcp;  /* TCP_INFO applies */
        ino_t ino; /* the socket's, to find processes that hold it; 0 until needed */
        struct sock_peer peer;
        struct frame frame;
        uint64_t start_usec;
        uint64_t deadline_usec; /* of the group's grace while ending */
        sd_event_source *io, *timer;
        sd_event_source *child; /* the main process's pidfd, readable once it exits */
        pid_t pid;              /* the command's, also its process group */
        bool killing;           /* its group was sent SIGTERM before the main exited */
        bool timed_out;         /* the command timeout killed it: status 124 */
        bool group_gone;        /* its process group was seen empty */
        int status;             /* NBNET status, -1 when none */
        const char *reason;     /* why it was refused or cut, for the log */
        char reason_text[160];
        char out[256 + FRAME_TRAILER_SIZE]; /* our own line and trailer */
        size_t out_len, out_sent;
        struct conn *prev, *next;           /* the queue, or the free slots */
        struct conn *main_prev, *main_next; /* server's mains: while CONN_RUNNING */
};

/* Takes over the accepted socket fd; on failure the slot is free again and
 * the caller closes fd. */
int conn_open(struct conn *c, struct server *s, int fd, const struct sock_peer *peer);

/* Starts the command of a complete request; -errno when it could not run
 * (the client has then been told, and the connection is closing). */
int conn_start(struct conn *c);

/* The request waits in the server's queue, until the request timeout at most. */
void conn_wait(struct conn *c);

/* The server stops: a request not yet running is refused. */
void conn_stop(struct conn *c);

/* The stop timeout passed: a running command's group is killed. */
void conn_kill(struct conn *c, const char *reason);

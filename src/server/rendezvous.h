/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * nbnet-handler's meeting place for a request with '&' and its stderr
 * channel, which systemd (Accept=yes) or inetd hands to two processes of the
 * same server: an abstract Unix socket named by the server's uid and the
 * token, "\0nbnet-channel/UID/TOKEN" (no file; per network namespace, which
 * the instances of one Accept=yes socket share).
 *
 * Whichever of the two comes first binds the name and listens; the second
 * finds it taken (EADDRINUSE) and connects. bind() is the atomic test, so
 * either order of arrival works and nothing polls. Each side checks that
 * the other runs as its own uid (SO_PEERCRED: another handler of this
 * server), then sends one byte: 'r' from a request, 'c' from a channel with
 * the channel's connection attached (SCM_RIGHTS). The request's process
 * runs the command with it; the channel's is done once the request's 'r'
 * came. Two of the same kind: the one that connected is told the token is
 * in use, and the one that listens waits on.
 */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "frame.h"

enum rendezvous_result {
        RENDEZVOUS_CHANNEL, /* a request's: the channel's socket came (fd) */
        RENDEZVOUS_HANDED,  /* a channel's: the request's process has its socket */
        RENDEZVOUS_IN_USE,  /* one of the same kind waits with the token */
};

struct rendezvous {
        sd_event *event;
        char token[FRAME_TOKEN_HEX + 1];
        bool channel; /* this side is the channel */
        int conn_fd;  /* the channel's connection, sent to the request's process */
        int listen_fd, peer_fd;
        sd_event_source *listen_src, *peer_src;
        /* What came; for RENDEZVOUS_CHANNEL, fd is the callee's to take or
         * close. true: go on waiting (the channel was refused). */
        bool (*done)(void *userdata, enum rendezvous_result result, int fd);
        /* Whether the connection still waits: a peer met after its wait is sent away. */
        bool (*waiting)(void *userdata);
        void *userdata;
};

/* Meets the other side for token: r's callbacks and userdata set, the rest
 * filled in here. 0, or -errno (logged by the caller; its wait times out). */
int rendezvous_start(struct rendezvous *r, sd_event *event, const char *token, bool channel,
                     int conn_fd);

/* Closes what is open; the name is free again. */
void rendezvous_release(struct rendezvous *r);

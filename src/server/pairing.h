/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * nbnet-handler's pairing of its one connection with the other half of its
 * request: a request with '&' and its stderr channel come to two processes
 * of the same server, which meet through the rendezvous (rendezvous.h). The
 * request's process gets the channel's socket and runs the command with it;
 * the channel's process is done once it handed it over. A channel this
 * process will not use is closed and logged here, since the process that
 * accepted it is gone.
 */

#include <stdint.h>
#include <systemd/sd-event.h>

#include "conn.h"
#include "rendezvous.h"

struct pairing {
        struct rendezvous rendezvous;
        struct conn *conn;
        uint64_t start_usec; /* when the handler started: a dropped channel's record */
};

/* c waits for its other half (CONN_EVENT_PAIR), for the request timeout at
 * most (conn.c); the rendezvous brings it, or says why not. */
void pairing_start(struct pairing *p, sd_event *event, struct conn *c, uint64_t start_usec);

/* Closes what the rendezvous holds. */
void pairing_release(struct pairing *p);

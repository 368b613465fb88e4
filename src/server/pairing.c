/* SPDX-License-Identifier: MIT */
/* nbnet-handler's pairing of a request and its stderr channel (pairing.h). */
#include "pairing.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "request.h"
#include "sock.h"

static bool pairing_waiting(void *userdata) {
        const struct pairing *p = userdata;

        return p->conn->state == CONN_PAIRING || p->conn->state == CONN_CHANNEL;
}

/* A channel this request's process will not use: closed, and its record
 * logged here, since its own process is gone (it handed it over). */
static void pairing_drop_channel(const struct pairing *p, int fd, enum request_end end) {
        struct sock_peer peer;
        char reason[160];

        if (sock_peer_of(fd, &peer) < 0)
                snprintf(peer.text, sizeof peer.text, "?");
        snprintf(reason, sizeof reason, "stderr channel: %s", request_end_info(end)->log);
        close(fd);
        log_connection_closed(peer.text, -1, reason, clock_now_usec() - p->start_usec);
}

/* What the rendezvous brought (rendezvous.h); true: wait on for another channel. */
static bool pairing_on_rendezvous(void *userdata, enum rendezvous_result result, int fd) {
        struct pairing *p = userdata;
        int r;

        switch (result) {
        case RENDEZVOUS_CHANNEL:
                if (!pairing_waiting(p)) {
                        pairing_drop_channel(p, fd, REQUEST_CHANNEL_UNPAIRED);
                        return false;
                }
                r = conn_pair(p->conn, fd, NULL);
                if (r >= 0)
                        return false;
                pairing_drop_channel(
                        p, fd, r == -EACCES ? REQUEST_CHANNEL_MISMATCH : REQUEST_CHANNEL_UNPAIRED);
                return true;
        case RENDEZVOUS_HANDED:
                conn_handed_over(p->conn);
                return false;
        case RENDEZVOUS_IN_USE:
                conn_unpaired(p->conn, REQUEST_TOKEN_IN_USE);
                return false;
        }
        return false;
}

void pairing_start(struct pairing *p, sd_event *event, struct conn *c, uint64_t start_usec) {
        int r;

        p->conn = c;
        p->start_usec = start_usec;
        p->rendezvous.done = pairing_on_rendezvous;
        p->rendezvous.waiting = pairing_waiting;
        p->rendezvous.userdata = p;
        r = rendezvous_start(&p->rendezvous, event, c->frame.token, c->frame.channel, c->fd);
        if (r < 0)
                log_error_errno(r,
                                "%s: the stderr channel's rendezvous (an abstract Unix socket); "
                                "the %s waits until the request timeout",
                                c->peer.text, c->frame.channel ? "channel" : "request");
}

void pairing_release(struct pairing *p) {
        rendezvous_release(&p->rendezvous);
}

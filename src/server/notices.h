/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * nbnetd's notices of connections that never made a request: turned away
 * (refused at accept, or evicted), or closed before their frame was whole
 * and good (the client closed or reset it, the frame was bad or late). The
 * first of each reason in a quiet second is logged in full, as its
 * connection's record; the rest are counted into one line a second per
 * reason, with the first peer's address, so that a flood of them cannot
 * flood the log. A request that ran, or was refused for what it asked, is
 * never among them: its record is the audit trail. One timer on the loop,
 * armed only while a second has something to say.
 */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "log.h"
#include "request.h"
#include "sock.h"

/* Why a connection was turned away. */
enum notice {
        NOTICE_NOT_ALLOWED,   /* the policy refuses the peer */
        NOTICE_UNCHECKED,     /* the peer could not be checked */
        NOTICE_NOT_IN_HOSTS,  /* the --commands table's allowed_hosts refuses the peer */
        NOTICE_PER_SOURCE,    /* --max-per-source */
        NOTICE_NO_MEMORY,     /* no slot could be had */
        NOTICE_EVICTED,       /* full, and it had waited longest for its request */
        NOTICE_CLIENT_LEFT,   /* closed before a whole frame: none, or half of one */
        NOTICE_READ_FAILED,   /* reset (or another error) before a whole frame */
        NOTICE_FRAME_TIMEOUT, /* the frame did not come within the request timeout */
        NOTICE_BAD_FRAME,     /* refused for its frame (a bad header, too long...) */
        NOTICE_COUNT,
};

struct notice_counts {
        bool open;                /* logged in full this second: the rest are counted */
        unsigned long long count; /* counted since the last line */
        char addr[56];            /* the first counted peer's address (or "unix") */
        bool several;             /* counted peers had other addresses too */
};

struct notices {
        sd_event *event;
        sd_event_source *timer;
        struct notice_counts counts[NOTICE_COUNT];
};

/* The timer on event, off until a notice arms it; 0 or -errno. */
int notices_init(struct notices *n, sd_event *event);

/* The reason as a log record and the summary line give it. */
const char *notices_reason(enum notice k);

/* The notice of a connection that ended so without making a request; false
 * for every other end (its record is logged whatever comes). */
bool notices_of_end(enum request_end end, enum notice *k);

/* A connection from peer turned away for k: rec logged now, or counted. */
void notices_note(struct notices *n, enum notice k, const struct sock_peer *peer,
                  const struct log_record *rec);

void notices_release(struct notices *n);

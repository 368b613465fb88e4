/* SPDX-License-Identifier: MIT */
/* Connections that made no request, logged once a second per reason with counts (notices.h). */
#include "notices.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"

/* One line per reason per this, with counts. */
#define NOTICE_INTERVAL_USEC USEC_PER_SEC

/* What each notice's summary line says. */
static const struct {
        const char *verb;
        const char *reason;
} notices_text[NOTICE_COUNT] = {
        [NOTICE_NOT_ALLOWED] = {"refused", "peer not allowed"},
        [NOTICE_UNCHECKED] = {"refused", "peer could not be checked"},
        [NOTICE_NOT_IN_HOSTS] = {"refused", "peer not allowed (allowed_hosts of --commands)"},
        [NOTICE_PER_SOURCE] = {"refused",
                               "too many connections from this address (--max-per-source)"},
        [NOTICE_NO_MEMORY] = {"refused", "out of memory"},
        [NOTICE_EVICTED] = {"evicted", "the server was full (--max-connections) and each "
                                       "had waited longest for its request"},
        [NOTICE_CLIENT_LEFT] = {"closed", "client closed before sending a whole frame"},
        [NOTICE_READ_FAILED] = {"closed", "reset or failed before a whole frame came"},
        [NOTICE_FRAME_TIMEOUT] = {"closed", "request timeout: the frame did not arrive in time"},
        [NOTICE_BAD_FRAME] = {"refused", "bad frame (status 125)"},
};

bool notices_of_end(enum request_end end, enum notice *k) {
        switch (end) {
        case REQUEST_CLIENT_LEFT:
                *k = NOTICE_CLIENT_LEFT;
                return true;
        case REQUEST_READ_FAILED:
                *k = NOTICE_READ_FAILED;
                return true;
        case REQUEST_FRAME_TIMEOUT:
                *k = NOTICE_FRAME_TIMEOUT;
                return true;
        case REQUEST_BAD_FRAME:
                *k = NOTICE_BAD_FRAME;
                return true;
        default:
                return false;
        }
}

const char *notices_reason(enum notice k) {
        return notices_text[k].reason;
}

static void notices_arm(struct notices *n) {
        uint64_t now = 0;
        int r;

        (void) sd_event_now(n->event, CLOCK_MONOTONIC, &now);
        r = sd_event_source_set_time(n->timer, now + NOTICE_INTERVAL_USEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(n->timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "sd_event_source_set_time for the notices");
}

void notices_note(struct notices *n, enum notice k, const struct sock_peer *peer,
                  const struct log_record *rec) {
        struct notice_counts *c = &n->counts[k];
        const char *addr = peer->addr[0] ? peer->addr : peer->text;
        bool armed = false;

        if (!c->open) {
                for (size_t i = 0; i < NOTICE_COUNT; i++)
                        armed = armed || n->counts[i].open;
                c->open = true;
                log_connection(rec);
                if (!armed)
                        notices_arm(n);
                return;
        }
        if (c->count++ == 0)
                snprintf(c->addr, sizeof c->addr, "%s", addr);
        else if (!c->several && strcmp(c->addr, addr) != 0)
                c->several = true;
}

static int notices_on_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        struct notices *n = userdata;
        bool open = false;

        (void) src;
        (void) usec;
        for (size_t i = 0; i < NOTICE_COUNT; i++) {
                struct notice_counts *c = &n->counts[i];
                if (c->count == 0) {
                        c->open = false; /* a quiet second: the next is logged in full */
                        continue;
                }
                log_warning("%s %llu connection%s from %s%s in the last second: %s",
                            notices_text[i].verb, c->count, c->count == 1 ? "" : "s", c->addr,
                            c->several ? " and other addresses" : "", notices_text[i].reason);
                c->count = 0;
                c->several = false;
                open = true;
        }
        if (open)
                notices_arm(n);
        return 0;
}

int notices_init(struct notices *n, sd_event *event) {
        int r;

        *n = (struct notices){.event = event};
        r = sd_event_add_time(event, &n->timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, notices_on_timer,
                              n);
        if (r >= 0)
                r = sd_event_source_set_enabled(n->timer, SD_EVENT_OFF);
        return r;
}

void notices_release(struct notices *n) {
        n->timer = sd_event_source_disable_unref(n->timer);
}

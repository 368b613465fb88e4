/* SPDX-License-Identifier: MIT */
/* nbnetd's shared state: listeners, connection table, queue, counts (server.h). */
#include "server.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "runas.h"
#include "sock.h"

/* Connections taken per wake-up of a listener, so that one cannot starve the rest. */
#define ACCEPT_BATCH 64
/* Out of descriptors or memory: how long the listeners rest before accept() again. */
#define ACCEPT_RETRY_USEC (100 * USEC_PER_MSEC)
#define STATUS_INTERVAL_USEC USEC_PER_SEC
#define IDLE_NONE UINT_MAX
/* Connections with input waiting that one eviction passes over, at most. */
#define EVICT_SKIPS 16
/* A connection younger than this is not idle yet: its frame may still be on
 * its way (a burst of clients is read, not evicted by its own tail). While
 * idle connections flood a full server, this age paces the evictions: a new
 * client waits in the backlog for those ahead of it (2,000 held against
 * 1,024 slots: about the age), and one slow to send its frame has the age
 * times held over slots to do it. 5 ms evicted clients that a loaded
 * machine kept from sending for 20 ms; 100 ms made every client wait 100. */
#define EVICT_MIN_AGE_USEC (25 * USEC_PER_MSEC)

static const int server_signals[] = {SIGTERM, SIGINT, SIGHUP, SIGCHLD};

/* "1 connection", "2 connections". */
static const char *server_plural(unsigned long long n) {
        return n == 1 ? "" : "s";
}

static uint64_t server_now(const struct server *s) {
        uint64_t now = 0;

        (void) sd_event_now(s->event, CLOCK_MONOTONIC, &now);
        return now;
}

static unsigned server_slot(const struct server *s, const struct conn *c) {
        return (unsigned) (c - s->conns);
}

static void server_idle_push(struct server *s, struct conn *c) {
        unsigned i = server_slot(s, c);

        s->idle[i] = (struct server_idle){.prev = s->idle_tail, .next = IDLE_NONE, .linked = true};
        if (s->idle_tail != IDLE_NONE)
                s->idle[s->idle_tail].next = i;
        else
                s->idle_head = i;
        s->idle_tail = i;
}

static void server_idle_remove(struct server *s, unsigned i) {
        struct server_idle *e = &s->idle[i];

        if (!e->linked)
                return;
        if (e->prev != IDLE_NONE)
                s->idle[e->prev].next = e->next;
        else
                s->idle_head = e->next;
        if (e->next != IDLE_NONE)
                s->idle[e->next].prev = e->prev;
        else
                s->idle_tail = e->prev;
        *e = (struct server_idle){.prev = IDLE_NONE, .next = IDLE_NONE};
}

/* The connection that has waited longest for its request, if one is still
 * reading; never one whose credential is being decoded (its frame came
 * whole), or whose command runs or waits in the queue. */
static struct conn *server_evictable(struct server *s) {
        for (int i = 0; i < EVICT_SKIPS; i++) {
                struct conn *c;
                int unread = 0;

                while (s->idle_head != IDLE_NONE && s->conns[s->idle_head].state != CONN_READING)
                        server_idle_remove(s, s->idle_head);
                if (s->idle_head == IDLE_NONE)
                        return NULL;
                c = &s->conns[s->idle_head];
                if (c->start_usec + EVICT_MIN_AGE_USEC > server_now(s))
                        return NULL;
                /* Bytes wait unread: it is about to be read, not idle. */
                if (ioctl(c->fd, FIONREAD, &unread) == 0 && unread == 0)
                        return c;
                if (s->idle_head == s->idle_tail)
                        return NULL;
                server_idle_remove(s, server_slot(s, c));
                server_idle_push(s, c);
        }
        return NULL;
}

/* Full, and the longest-waiting connection still too young to evict: the
 * listeners rest until it is old enough (the retry timer wakes them). */
static void server_wait_to_evict(struct server *s) {
        uint64_t at;

        if (s->stopping || s->connections < s->lim.max_connections || s->idle_head == IDLE_NONE)
                return;
        at = s->conns[s->idle_head].start_usec + EVICT_MIN_AGE_USEC;
        (void) sd_event_source_set_time(s->retry_timer, at);
        (void) sd_event_source_set_enabled(s->retry_timer, SD_EVENT_ONESHOT);
}

/* A slot is free, or one can be freed by eviction. */
static bool server_can_take(struct server *s) {
        return s->connections < s->lim.max_connections || server_evictable(s);
}

/* Listeners are polled only while a connection can be taken: at the cap with
 * every connection's command running or queued, new clients wait in the
 * kernel's backlog instead of being accepted and dropped. */
static void server_update_listeners(struct server *s) {
        bool want = !s->stopping && !s->accept_paused && server_can_take(s);

        if (!want && !s->accept_paused)
                server_wait_to_evict(s);
        if (want == s->listening)
                return;
        for (size_t i = 0; i < s->n_listeners; i++) {
                int r = sd_event_source_set_enabled(s->listeners[i].source,
                                                    want ? SD_EVENT_ON : SD_EVENT_OFF);
                if (r < 0)
                        log_error_errno(r, "sd_event_source_set_enabled on listener fd %d",
                                        s->listeners[i].fd);
        }
        s->listening = want;
}

static unsigned server_count_source(const struct server *s, const char *addr) {
        unsigned n = 0;

        for (unsigned i = 0; i < s->lim.max_connections; i++)
                if (s->conns[i].state != CONN_FREE && strcmp(s->conns[i].peer.addr, addr) == 0)
                        n++;
        return n;
}

static void server_refuse(struct server *s, int fd, const struct sock_peer *peer, int status,
                          enum notice k) {
        struct log_record rec = {.peer = peer->text, .status = status, .reason = notices_reason(k)};

        s->refused++;
        s->metrics.peers_refused++;
        close(fd);
        notices_note(&s->notices, k, peer, &rec);
}

/* Full: the request that has waited longest for its frame makes room. One
 * whose bytes wait unread in its socket is about to be read, not idle: it
 * goes to the back (a batch of accepts could otherwise evict a client that
 * sent its frame at once), a few times at most. */
static void server_evict(struct server *s) {
        struct conn *c = server_evictable(s);
        struct log_record rec;

        if (!c)
                return;
        rec = (struct log_record){
                .peer = c->peer.text,
                .status = -1,
                .reason = request_end_info(REQUEST_EVICTED)->log,
                .duration_usec = server_now(s) - c->start_usec,
        };
        notices_note(&s->notices, NOTICE_EVICTED, &c->peer, &rec);
        s->refused++;
        conn_evict(c);
}

/* peer_ss is the address accept() returned; tcp tells whether the listener is
 * TCP, and so the connection: it inherited keepalive from the listener. */
static void server_take(struct server *s, int fd, const struct sockaddr_storage *peer_ss, bool tcp) {
        struct sock_peer peer;
        struct conn *c;
        int r;

        r = sock_peer_from(peer_ss, &peer);
        if (r < 0) {
                log_error_errno(r, "inet_ntop of a new connection's address");
                close(fd);
                return;
        }
        /* Nothing is written to a peer that the policy or a limit on addresses refuses. */
        r = policy_check_peer_addr(&s->opt.policy, fd, peer_ss);
        if (r < 0) {
                if (r != -EACCES)
                        log_error_errno(r, "%s: SO_PEERCRED", peer.text);
                server_refuse(s, fd, &peer, NBNET_STATUS_REFUSED,
                              r == -EACCES ? NOTICE_NOT_ALLOWED : NOTICE_UNCHECKED);
                return;
        }
        /* Both rules apply: an nrpe.cfg's allowed_hosts (as reloaded at SIGHUP) too. */
        if (!request_table_allows_peer(&s->table, peer_ss)) {
                server_refuse(s, fd, &peer, NBNET_STATUS_REFUSED, NOTICE_NOT_IN_HOSTS);
                return;
        }
        /* Fewer than max_connections are open here: with max_per_source at
         * least that (the default), no address can be over it, and the
         * table is not scanned. */
        if (peer.addr[0] && s->lim.max_per_source < s->lim.max_connections &&
            server_count_source(s, peer.addr) >= s->lim.max_per_source) {
                server_refuse(s, fd, &peer, -1, NOTICE_PER_SOURCE);
                return;
        }
        if (LIST_IS_EMPTY(s->free_slots))
                server_evict(s);
        if (LIST_IS_EMPTY(s->free_slots)) {
                server_refuse(s, fd, &peer, -1, NOTICE_NO_MEMORY);
                return;
        }
        c = s->free_slots.first;
        LIST_REMOVE(s->free_slots, c);
        s->connections++;
        r = conn_open(c, &s->conn_cfg, fd, &peer, tcp);
        if (r < 0) {
                LIST_PREPEND(s->free_slots, c);
                s->connections--;
                server_refuse(s, fd, &peer, -1, NOTICE_NO_MEMORY);
                return;
        }
        s->metrics.accepted++;
        server_idle_push(s, c);
}

/* accept(2): Linux reports a pending network error of the new connection
 * from accept() itself; that client is gone, the next one may not be. */
static bool server_accept_error_is_client(int err) {
        switch (err) {
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
        case EPERM:
        case ENETDOWN:
        case ENOPROTOOPT:
        case EHOSTDOWN:
        case ENONET:
        case EHOSTUNREACH:
        case EOPNOTSUPP:
        case ENETUNREACH:
                return true;
        default:
                return false;
        }
}

static void server_pause_accept(struct server *s, int err) {
        log_error_errno(err, "accept4: pausing the listeners for %llu ms",
                        (unsigned long long) (ACCEPT_RETRY_USEC / USEC_PER_MSEC));
        s->accept_paused = true;
        server_update_listeners(s);
        if (sd_event_source_set_time(s->retry_timer, server_now(s) + ACCEPT_RETRY_USEC) < 0 ||
            sd_event_source_set_enabled(s->retry_timer, SD_EVENT_ONESHOT) < 0)
                s->accept_paused = false; /* better to retry at once than never */
}

/* A connection queued before keepalive was set on its listener (systemd
 * queues them while we start) did not inherit it: set it on its own. */
static void server_keepalive_queued(const struct listener *l, int fd) {
        int r;

        if (!l->tcp || l->drained)
                return;
        r = sock_enable_keepalive(fd);
        if (r < 0)
                log_error_errno(r, "setsockopt keepalive on a queued connection, fd %d", fd);
}

static int server_on_listener(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        struct server *s = userdata;
        struct listener *l = s->listeners;

        (void) revents;
        while (l + 1 < s->listeners + s->n_listeners && l->source != src)
                l++;
        for (int i = 0; i < ACCEPT_BATCH && server_can_take(s); i++) {
                struct sockaddr_storage ss = {0};
                socklen_t len = sizeof ss;
                int cfd = accept4(fd, (struct sockaddr *) &ss, &len, SOCK_CLOEXEC);
                if (cfd >= 0) {
                        server_keepalive_queued(l, cfd);
                        server_take(s, cfd, &ss, l->tcp);
                        continue;
                }
                if (errno == EAGAIN) {
                        l->drained = true;
                        break;
                }
                if (!server_accept_error_is_client(errno)) {
                        /* Out of descriptors or memory, or worse: the listener stays
                         * readable, and a level-triggered loop would spin on it. */
                        server_pause_accept(s, errno);
                        break;
                }
        }
        server_update_listeners(s);
        return 0;
}

static int server_on_retry(sd_event_source *src, uint64_t usec, void *userdata) {
        struct server *s = userdata;

        (void) src;
        (void) usec;
        s->accept_paused = false;
        server_update_listeners(s);
        return 0;
}

static void server_notify_status(struct server *s) {
        char status[sizeof s->status];

        snprintf(status, sizeof status,
                 "STATUS=%u connection%s, %u running, %u queued, %llu served, %llu refused",
                 s->connections, server_plural(s->connections), s->running, s->queued, s->served,
                 s->refused);
        if (strcmp(status, s->status) == 0)
                return;
        memcpy(s->status, status, sizeof status);
        (void) sd_notify(0, status);
}

static int server_on_status(sd_event_source *src, uint64_t usec, void *userdata) {
        struct server *s = userdata;

        server_notify_status(s);
        (void) sd_event_source_set_time(src, usec + STATUS_INTERVAL_USEC);
        return 0;
}

/* Takes a running slot and starts c's command; the slot is free again when it cannot run. */
static void server_start(struct server *s, struct conn *c) {
        s->running++;
        if (conn_start(c) < 0)
                s->running--;
}

/* The request of c is complete: it runs now, or waits in the FIFO. */
static void server_want_run(struct server *s, struct conn *c) {
        server_idle_remove(s, server_slot(s, c));
        server_update_listeners(s);
        if (s->running < s->lim.max_running && LIST_IS_EMPTY(s->queue)) {
                server_start(s, c);
                return;
        }
        /* FIFO: the oldest complete request runs first. */
        LIST_APPEND(s->queue, c);
        s->queued++;
        conn_queue(c);
}

static void server_unqueue(struct server *s, struct conn *c) {
        LIST_REMOVE(s->queue, c);
        s->queued--;
}

/* A queued request that will not run: busy, or the server stops. */
static void server_refuse_queued(struct server *s, struct conn *c, enum request_end end) {
        server_unqueue(s, c);
        conn_refuse_queued(c, end, s->running);
}

/* A running slot is free: the queue's oldest runs. served: the command ran. */
static void server_command_ended(struct server *s, bool served) {
        s->running--;
        if (served)
                s->served++;
        while (!s->stopping && !LIST_IS_EMPTY(s->queue) && s->running < s->lim.max_running) {
                struct conn *c = s->queue.first;
                server_unqueue(s, c);
                server_start(s, c);
        }
}

/* A request the server answered instead of running it (125 or 126: a bad
 * frame, not allowed, busy, spawn failed...) is a refusal, however it came. */
static bool server_was_refused(const struct conn *c) {
        int status = request_end_info(c->end)->status;

        return status == NBNET_STATUS_NOT_RUN || status == NBNET_STATUS_REFUSED;
}

static void server_conn_closed(struct server *s, struct conn *c) {
        /* A channel given to its request is part of that request's record. */
        if (c->end != REQUEST_CHANNEL_PAIRED)
                metrics_count_closed(&s->metrics, c->end, c->status, server_now(s) - c->start_usec,
                                     c->has_cpu ? c->cpu_usec : 0);
        pairs_remove(&s->pairs, server_slot(s, c));
        if (server_was_refused(c))
                s->refused++;
        server_idle_remove(s, server_slot(s, c));
        LIST_PREPEND(s->free_slots, c);
        s->connections--;
        server_update_listeners(s);
        if (s->stopping && s->connections == 0)
                (void) sd_event_exit(s->event, 0);
}

/* A request with '&' or a stderr channel: paired with its partner when that
 * waits, else it waits in the table (until the request timeout: conn.c's
 * timer). Either may come first; a second of the same kind with the token
 * is a bad request; a channel from another peer than its request's is
 * refused, and the request waits on for one from its own. */
static void server_pair(struct server *s, struct conn *c) {
        uint32_t slot = server_slot(s, c), other = pairs_find(&s->pairs, c->frame.token);
        struct conn *req, *chan;
        int r;

        /* One that left its wait (timed out, refused) is dropped when found. */
        if (other != PAIRS_NONE && s->conns[other].state != CONN_PAIRING &&
            s->conns[other].state != CONN_CHANNEL) {
                pairs_remove(&s->pairs, other);
                other = PAIRS_NONE;
        }
        if (other == PAIRS_NONE) {
                pairs_add(&s->pairs, slot, c->frame.token);
                return;
        }
        if (s->conns[other].frame.channel == c->frame.channel) {
                conn_unpaired(c, REQUEST_TOKEN_IN_USE);
                return;
        }
        pairs_remove(&s->pairs, other);
        req = c->frame.channel ? &s->conns[other] : c;
        chan = c->frame.channel ? c : &s->conns[other];
        r = conn_pair(req, chan->fd, chan);
        if (r >= 0)
                return;
        conn_unpaired(chan, r == -EACCES ? REQUEST_CHANNEL_MISMATCH : REQUEST_NO_MEMORY);
        if (req->state == CONN_PAIRING)
                pairs_add(&s->pairs, server_slot(s, req), req->frame.token);
}

/* What a connection reports (conn.h). */
static void server_on_conn(void *owner, struct conn *c, enum conn_event event) {
        struct server *s = owner;

        switch (event) {
        case CONN_EVENT_READY:
                server_want_run(s, c);
                break;
        case CONN_EVENT_LEFT_QUEUE:
                server_unqueue(s, c);
                break;
        case CONN_EVENT_QUEUE_TIMEOUT:
                server_refuse_queued(s, c, REQUEST_BUSY);
                break;
        case CONN_EVENT_ENDED:
        case CONN_EVENT_NOT_STARTED:
                server_command_ended(s, event == CONN_EVENT_ENDED);
                break;
        case CONN_EVENT_CLOSED:
                server_conn_closed(s, c);
                break;
        case CONN_EVENT_PAIR:
                server_pair(s, c);
                break;
        }
}

static void server_kill_all(struct server *s, enum request_end end) {
        for (unsigned i = 0; i < s->lim.max_connections; i++)
                conn_kill(&s->conns[i], end);
}

static int server_on_stop_timeout(sd_event_source *src, uint64_t usec, void *userdata) {
        (void) src;
        (void) usec;
        server_kill_all(userdata, REQUEST_STOP_TIMEOUT);
        return 0;
}

static void server_close_listeners(struct server *s) {
        for (size_t i = 0; i < s->n_listeners; i++) {
                struct listener *l = &s->listeners[i];
                int r;

                l->source = sd_event_source_disable_unref(l->source);
                close(l->fd);
                /* New clients find no file rather than a socket nobody serves. */
                r = listen_remove_file(&l->file);
                if (r < 0)
                        log_error_errno(r, "removing the socket file %s; remove it by hand",
                                        l->file.path);
        }
        s->n_listeners = 0;
        s->listening = false;
}

/* Stop accepting, refuse what has not started, give commands the stop timeout. */
static void server_stop(struct server *s) {
        int r;

        if (s->stopping) {
                /* A second signal: no more waiting, and the log says it was that. */
                log_info("stopping: a second stop signal: killing the %u command%s running",
                         s->running, server_plural(s->running));
                server_kill_all(s, REQUEST_STOP_AGAIN);
                return;
        }
        s->stopping = true;
        (void) sd_notify(0, "STOPPING=1");
        log_info("stopping: %u command%s running, %llu ms for them to finish", s->running,
                 server_plural(s->running),
                 (unsigned long long) (s->lim.stop_timeout_usec / USEC_PER_MSEC));
        server_close_listeners(s);
        while (!LIST_IS_EMPTY(s->queue))
                server_refuse_queued(s, s->queue.first, REQUEST_STOPPED_QUEUED);
        for (unsigned i = 0; i < s->lim.max_connections; i++)
                conn_stop(&s->conns[i]);
        r = sd_event_add_time_relative(s->event, &s->stop_timer, CLOCK_MONOTONIC,
                                       s->lim.stop_timeout_usec, USEC_PER_MSEC,
                                       server_on_stop_timeout, s);
        if (r < 0) {
                log_error_errno(r, "sd_event_add_time_relative for the stop timeout");
                server_on_stop_timeout(NULL, 0, s);
        }
        if (s->connections == 0)
                (void) sd_event_exit(s->event, 0);
}

/* A door left open, or a rule that does nothing there: a warning per listener. */
static void server_warn_listeners(const struct server *s) {
        const struct policy *hosts =
                request_table_has_hosts(&s->table) ? &s->table.table.hosts : NULL;
        char user[64], msg[1024];

        runas_describe(s->opt.run_as, user, sizeof user);
        for (size_t i = 0; i < s->n_listeners; i++) {
                int r = listen_check_doubts(&s->opt.policy, hosts, s->opt.munge, s->listeners[i].fd,
                                            user, msg, sizeof msg);
                if (r > 0)
                        log_warning("%s", msg);
                else if (r < 0)
                        log_error_errno(r, "%s", msg);
        }
}

static int server_on_signal(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata) {
        struct server *s = userdata;

        (void) src;
        switch (si->ssi_signo) {
        case SIGCHLD:
                /* A running command's main: its pidfd callback reaps it, and
                 * the census of orphans that follows reaps those whose SIGCHLD
                 * this one absorbed. Anything else: an orphan, reaped now. */
                /* With cgroups we are no subreaper: our children are the
                 * mains, each reaped through its pidfd, and the removers of
                 * TMPDIRs, reaped here. */
                if (!cgroup_pool_on(&s->cgroups) &&
                    !orphans_is_main(&s->shared.orphans, (pid_t) si->ssi_pid))
                        orphans_reap(&s->shared.orphans);
                tmpdir_reap(&s->shared.tmpdirs);
                break;
        case SIGHUP: {
                bool had_hosts = request_table_has_hosts(&s->table);
                request_table_reload(&s->table);
                /* A new table without allowed_hosts may have opened a door. */
                if (had_hosts && !request_table_has_hosts(&s->table))
                        server_warn_listeners(s);
                log_info("%u connection%s, %u running, %u queued, %llu served, %llu refused",
                         s->connections, server_plural(s->connections), s->running, s->queued,
                         s->served, s->refused);
                metrics_file_write(&s->metrics_file, true);
                break;
        }
        default:
                server_stop(s);
                break;
        }
        return 0;
}

static int server_init_conns(struct server *s) {
        s->conns = calloc(s->lim.max_connections, sizeof *s->conns);
        s->idle = calloc(s->lim.max_connections, sizeof *s->idle);
        if (!s->conns || !s->idle || pairs_init(&s->pairs, s->lim.max_connections) < 0)
                return log_error_errno(ENOMEM, "calloc %u connection slots", s->lim.max_connections);
        s->idle_head = s->idle_tail = IDLE_NONE;
        for (unsigned i = s->lim.max_connections; i-- > 0;) {
                s->conns[i].fd = -1;
                LIST_PREPEND(s->free_slots, &s->conns[i]);
        }
        return 0;
}

static int server_init_signals(struct server *s) {
        int r = request_block_signals(server_signals,
                                      sizeof server_signals / sizeof server_signals[0]);

        if (r < 0)
                return r;
        for (size_t i = 0; i < sizeof server_signals / sizeof server_signals[0]; i++) {
                r = sd_event_add_signal(s->event, &s->signals[i], server_signals[i],
                                        server_on_signal, s);
                /* A main's SIGCHLD comes with its pidfd: handled first, it finds
                 * the main still tracked, and no scan of our children is made
                 * for it (the census after the main's end reaps for both). */
                if (r >= 0 && server_signals[i] == SIGCHLD)
                        r = sd_event_source_set_priority(s->signals[i], SD_EVENT_PRIORITY_IMPORTANT);
                if (r < 0)
                        return log_error_errno(r, "sd_event_add_signal %s",
                                               strsignal(server_signals[i]));
        }
        return 0;
}

static int server_init_timers(struct server *s) {
        int r;

        r = sd_event_add_time(s->event, &s->retry_timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC,
                              server_on_retry, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->retry_timer, SD_EVENT_OFF);
        if (r < 0)
                return log_error_errno(r, "sd_event_add_time for the accept retry");
        r = notices_init(&s->notices, s->event);
        if (r < 0)
                return log_error_errno(r, "sd_event_add_time for the notices");
        r = sd_event_add_time_relative(s->event, &s->status_timer, CLOCK_MONOTONIC,
                                       STATUS_INTERVAL_USEC, STATUS_INTERVAL_USEC / 10,
                                       server_on_status, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->status_timer, SD_EVENT_ON);
        if (r < 0)
                return log_error_errno(r, "sd_event_add_time for the status");
        return 0;
}

/* A stale tree of a dead nbnetd, removed or not. */
static void server_report_stale(const char *path, int r, void *userdata) {
        (void) userdata;
        if (r < 0)
                log_error_errno(r, "removing %s, the cgroup tree of an nbnetd that is gone", path);
        else
                log_info("removed %s, the cgroup tree of an nbnetd that is gone (its processes "
                         "killed)",
                         path);
}

/* A cgroup per command where one can be had; without, process groups (and
 * we become the subreaper of the commands' orphans). A limit that needs a
 * cgroup controller it cannot have is a configuration error: 1, logged. */
static int server_init_cgroups(struct server *s) {
        const struct cgroup_limits *l = &s->lim.cgroup;
        bool need = l->memory_max || l->tasks_max;
        char why[512] = "";
        int r = -ENOENT;

        s->cgroups = (struct cgroup_pool){.base_fd = -1};
        if (s->lim.no_cgroups && need) {
                log_error("--limit-memory and --limit-tasks need cgroups, and --cgroups off was "
                          "given");
                return 1;
        }
        if (!s->lim.no_cgroups)
                r = cgroup_pool_init(&s->cgroups, s->lim.max_running, l, server_report_stale, NULL,
                                     why, sizeof why);
        if (r >= 0) {
                snprintf(s->cgroup_note, sizeof s->cgroup_note, "a cgroup per command under %s",
                         s->cgroups.base);
                return request_prepare_server(false);
        }
        if (need) {
                log_error("--limit-memory/--limit-tasks cannot be enforced: %s", why);
                return 1; /* what was asked cannot work here: no retry will help */
        }
        snprintf(s->cgroup_note, sizeof s->cgroup_note, "process groups, no cgroups (%s)",
                 s->lim.no_cgroups ? "--cgroups off" : why);
        return request_prepare_server(true);
}

/* The live gauges, for each write of --metrics-file. */
static void server_gauges(void *userdata, struct metrics_gauges *g) {
        const struct server *s = userdata;

        *g = (struct metrics_gauges){
                .connections = s->connections,
                .running = s->running,
                .queued = s->queued,
                .max_connections = s->lim.max_connections,
                .max_running = s->lim.max_running,
        };
}

void server_set_metrics_file(struct server *s, const char *path, const char *instance) {
        s->metrics_file.path = path;
        if (instance)
                snprintf(s->metrics_file.instance, sizeof s->metrics_file.instance, "%s", instance);
}

int server_init(struct server *s, const struct serve_options *opt, const struct server_limits *lim,
                char **environ_) {
        int r;

        *s = (struct server){.opt = *opt, .lim = *lim};
        metrics_init(&s->metrics, clock_realtime_usec());
        s->metrics_file =
                (struct metrics_file){.m = &s->metrics, .gauges = server_gauges, .userdata = s};
        r = server_init_conns(s);
        if (r < 0)
                return r;
        r = sd_event_new(&s->event);
        if (r < 0)
                return log_error_errno(r, "sd_event_new");
        r = server_init_cgroups(s);
        if (r != 0)
                return r;
        r = conn_shared_init(&s->shared, s->event, &s->opt, s->lim.max_running, true, environ_);
        if (r != 0)
                return r;
        s->conn_cfg = (struct conn_config){
                .event = s->event,
                .opt = &s->opt,
                .table = &s->table,
                .shared = &s->shared,
                .cgroups = &s->cgroups,
                .notices = &s->notices,
                .report = server_on_conn,
                .owner = s,
        };
        r = server_init_signals(s);
        if (r < 0)
                return r;
        r = server_init_timers(s);
        if (r < 0)
                return r;
        /* Pings at half of WatchdogSec= while the loop turns; nothing without it. */
        r = sd_event_set_watchdog(s->event, true);
        if (r < 0)
                return log_error_errno(r, "sd_event_set_watchdog");
        return 0;
}

int server_listen(struct server *s, int fd, const struct listen_file *file) {
        struct listener *l;
        int r;

        if (s->n_listeners == SERVER_MAX_LISTENERS) {
                close(fd);
                if (file)
                        (void) listen_remove_file(file);
                return log_error_errno(E2BIG, "more than %d listeners", SERVER_MAX_LISTENERS);
        }
        /* Accepted TCP sockets inherit SO_KEEPALIVE and TCP_KEEP* from their
         * listener: set once here, not per connection. */
        l = &s->listeners[s->n_listeners];
        *l = (struct listener){.fd = fd, .tcp = sock_is_tcp(fd)};
        if (file)
                l->file = *file;
        r = sock_enable_keepalive(fd);
        if (r < 0)
                log_error_errno(r, "setsockopt keepalive on listener fd %d", fd);
        r = sd_event_add_io(s->event, &l->source, fd, EPOLLIN, server_on_listener, s);
        if (r < 0) {
                close(fd);
                (void) listen_remove_file(&l->file);
                return log_error_errno(r, "sd_event_add_io on listener fd %d", fd);
        }
        s->n_listeners++;
        s->listening = true;
        return 0;
}

/* The listeners' names, joined by sep, into buf (cut at its size). */
static void server_listener_names(const struct server *s, const char *sep, char *buf, size_t size) {
        size_t used = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < s->n_listeners && used < size; i++) {
                char text[LISTEN_NAME_MAX];
                bool unix_socket;

                (void) listen_name(s->listeners[i].fd, text, sizeof text, &unix_socket);
                used += (size_t) snprintf(buf + used, size - used, "%s%s", i > 0 ? sep : "", text);
        }
}

/* One line at start: where, how much at once, and the command table served. */
static void server_log_start(const struct server *s) {
        char where[SERVER_MAX_LISTENERS * LISTEN_NAME_MAX], table[PATH_MAX + 64] = "";

        server_listener_names(s, ", ", where, sizeof where);
        if (s->table.path && s->table.ok)
                snprintf(table, sizeof table, "; serving the %zu command%s of --commands %s",
                         s->table.table.count, s->table.table.count == 1 ? "" : "s", s->table.path);
        else if (s->table.path)
                snprintf(table, sizeof table,
                         "; --commands %s did not load: every request is refused", s->table.path);
        log_info("listening on %s; at most %u connection%s, %u running; %s%s", where,
                 s->lim.max_connections, server_plural(s->lim.max_connections), s->lim.max_running,
                 s->cgroup_note, table);
}

int server_run(struct server *s) {
        int r;

        /* After the listeners: a usage error is told first and alone. A
         * table that will not load is one too: exit 2, not retried. */
        if (request_table_load(&s->table, s->opt.commands_path,
                               "nbnetd does not start: fix the table, then start it again") < 0)
                return 1;
        server_warn_listeners(s);
        server_log_start(s);
        conn_shared_warn(&s->shared);
        server_notify_status(s);
        /* The label that tells this nbnetd's series from another's in one folder. */
        if (!s->metrics_file.instance[0])
                server_listener_names(s, ",", s->metrics_file.instance,
                                      sizeof s->metrics_file.instance);
        r = metrics_file_start(&s->metrics_file, s->event);
        if (r < 0)
                return log_error_errno(r, "sd_event_add_time for --metrics-file");
        (void) sd_notify(0, "READY=1");
        r = sd_event_loop(s->event);
        /* The last counts, and nbnet_up 0: a stopped server is not a stale one. */
        metrics_file_write(&s->metrics_file, false);
        if (r < 0)
                return log_error_errno(r, "sd_event_loop");
        return 0;
}

void server_release(struct server *s) {
        server_close_listeners(s);
        s->retry_timer = sd_event_source_disable_unref(s->retry_timer);
        s->stop_timer = sd_event_source_disable_unref(s->stop_timer);
        s->status_timer = sd_event_source_disable_unref(s->status_timer);
        metrics_file_release(&s->metrics_file);
        notices_release(&s->notices);
        for (size_t i = 0; i < sizeof s->signals / sizeof s->signals[0]; i++)
                s->signals[i] = sd_event_source_disable_unref(s->signals[i]);
        if (authq_decoding(&s->shared.authq))
                log_info("stopping: waiting for munged to answer the credential being decoded "
                         "(libmunge gives up after about 10 s)");
        conn_shared_release(&s->shared, true);
        free(s->conns);
        s->conns = NULL;
        free(s->idle);
        s->idle = NULL;
        pairs_release(&s->pairs);
        request_table_release(&s->table);
        cgroup_pool_release(&s->cgroups);
        s->event = sd_event_unref(s->event);
}

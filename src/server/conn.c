/* SPDX-License-Identifier: MIT */
/* One request's connection state machine, for both servers (conn.h). */
#include "conn.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "runas.h"

#define KILL_GRACE_USEC REQUEST_KILL_GRACE_USEC
/* How often an ending group is looked at during its grace. */
#define GROUP_POLL_USEC (5 * USEC_PER_MSEC)
#define TIMER_ACCURACY_USEC USEC_PER_MSEC
/* How long an exiting server waits for the removers of its commands' TMPDIRs. */
#define TMPDIR_RELEASE_USEC (2 * USEC_PER_SEC)
/* Reads per wake-up while draining, so that a flood cannot hog the loop. */
#define DRAIN_READS 4
/* The socket is not watched at all (WATCH_ERRORS still reports errors and hang-ups). */
#define WATCH_OFF UINT32_MAX
#define WATCH_ERRORS 0u

/* One buffer for every recv: only the loop's thread reads, and it never keeps input. */
static char conn_buf[16384];

/* What each state watches on the socket. Errors and hang-ups are reported
 * whatever is asked (WATCH_ERRORS): that is how a waiting request is watched,
 * since a FIN alone would spin a level-triggered loop. Once the command is
 * over (or being killed), a reset changes nothing, so nothing is watched. */
static const uint32_t conn_watches[CONN_STATE_COUNT] = {
        [CONN_FREE] = WATCH_OFF,          [CONN_READING] = EPOLLIN,
        [CONN_DECODING] = WATCH_ERRORS,   [CONN_QUEUED] = WATCH_ERRORS,
        [CONN_RUNNING] = WATCH_ERRORS,    [CONN_STOP_SIGTERM] = WATCH_OFF,
        [CONN_STOP_SIGKILL] = WATCH_OFF,  [CONN_FINAL_SIGTERM] = WATCH_OFF,
        [CONN_FINAL_SIGKILL] = WATCH_OFF, [CONN_FINAL_CGROUP] = WATCH_OFF,
        [CONN_SENDING] = EPOLLOUT,        [CONN_DRAINING] = EPOLLIN,
        [CONN_PAIRING] = WATCH_ERRORS,    [CONN_CHANNEL] = WATCH_ERRORS,
        [CONN_CHANNEL_LENT] = WATCH_OFF,
};

static uint64_t conn_now(const struct conn *c) {
        uint64_t now = 0;

        (void) sd_event_now(c->cfg->event, CLOCK_MONOTONIC, &now);
        return now;
}

/* Enters state: the socket's watch as conn_watches says, the timer at
 * timer_usec (CLOCK_MONOTONIC; 0: off). The one place either is set. */
static void conn_enter(struct conn *c, enum conn_state state, uint64_t timer_usec) {
        uint32_t events = conn_watches[state];
        int r = 0;

        c->state = state;
        if (events == WATCH_OFF)
                (void) sd_event_source_set_enabled(c->io, SD_EVENT_OFF);
        else {
                r = sd_event_source_set_io_events(c->io, events);
                if (r >= 0)
                        r = sd_event_source_set_enabled(c->io, SD_EVENT_ON);
                if (r < 0)
                        log_error_errno(r, "%s: sd_event_source_set_io_events", c->peer.text);
        }
        if (timer_usec == 0) {
                (void) sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
                return;
        }
        r = sd_event_source_set_time(c->timer, timer_usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "%s: sd_event_source_set_time", c->peer.text);
}

/* The credential's decode is not wanted any more: its callback never comes. */
static void conn_cancel_decode(struct conn *c) {
        if (!c->auth_job)
                return;
        authq_cancel(&c->cfg->shared->authq, c->auth_job);
        c->auth_job = NULL;
}

/* The request's one log record: how it ended, what ran, who asked, its cost. */
static void conn_log(const struct conn *c) {
        const char *reason = request_end_info(c->end)->log;
        char channel_reason[sizeof c->reason_text + 32];
        enum notice kind;
        struct log_record rec = {
                .peer = c->peer.text,
                .status = c->status,
                .reason = reason              ? reason
                          : c->reason_text[0] ? c->reason_text
                                              : NULL,
                .pid = c->pid,
                .has_ids = c->who.known,
                .uid = c->who.uid,
                .gid = c->who.gid,
                .user = c->who.user,
                .has_cpu = c->has_cpu,
                .cpu_usec = c->cpu_usec,
                .has_memory_peak = c->has_memory_peak,
                .memory_peak = c->memory_peak,
                .channel = c->paired,
        };

        /* A channel's own record is one of a connection that failed to pair. */
        if (c->frame.channel) {
                snprintf(channel_reason, sizeof channel_reason, "stderr channel: %s",
                         rec.reason ? rec.reason : "closed");
                rec.reason = channel_reason;
        }

        rec.command = request_logged_command(&c->frame, &c->who);
        rec.command_length = rec.command ? c->frame.length : 0;
        /* What the client acknowledged is known only once the drain is over. */
        rec.has_bytes_sent = c->tcp && sock_bytes_sent(c->fd, &rec.bytes_sent) >= 0;
        rec.duration_usec = conn_now(c) - c->start_usec;
        /* One that made no request is nbnetd's to rate-limit: a loop of
         * connect-and-close must not flood the log. */
        if (c->cfg->notices && notices_of_end(c->end, &kind))
                notices_note(c->cfg->notices, kind, &c->peer, &rec);
        else
                log_connection(&rec);
}

static void conn_close(struct conn *c);

/* The stderr channel is done with (the command is over, or will not run):
 * shut its write side, drop what its client sent past its 33 bytes (closing
 * with unread input would send a RST that can destroy stderr in flight),
 * close; a lender's slot is free then. */
static void conn_channel_close(struct conn *c) {
        struct conn *lender = c->lender;

        if (c->err_fd < 0)
                return;
        c->err_io = sd_event_source_disable_unref(c->err_io);
        if (shutdown(c->err_fd, SHUT_WR) < 0 && errno != ENOTCONN)
                log_error_errno(errno, "%s: shutdown of the stderr channel", c->peer.text);
        for (int i = 0; i < DRAIN_READS; i++)
                if (recv(c->err_fd, conn_buf, sizeof conn_buf, MSG_DONTWAIT) <= 0)
                        break;
        close(c->err_fd);
        c->err_fd = -1;
        c->lender = NULL;
        if (lender)
                conn_close(lender);
}

/* Sources are unregistered before the fd is closed: no event may name a
 * descriptor number that the next accept() could hand out again. */
static void conn_close(struct conn *c) {
        if (!c->unlogged)
                conn_log(c);
        conn_cancel_decode(c);
        conn_channel_close(c);
        c->io = sd_event_source_disable_unref(c->io);
        c->timer = sd_event_source_disable_unref(c->timer);
        c->child = sd_event_source_disable_unref(c->child);
        if (c->fd >= 0)
                close(c->fd);
        c->fd = -1;
        frame_release(&c->frame);
        c->state = CONN_FREE;
        c->cfg->report(c->cfg->owner, c, CONN_EVENT_CLOSED);
}

/* Shut the write side, read what the client still sends, close: closing with
 * unread bytes would send a RST that can destroy output in flight. */
static void conn_finish(struct conn *c) {
        if (shutdown(c->fd, SHUT_WR) < 0 && errno != ENOTCONN)
                log_error_errno(errno, "%s: shutdown", c->peer.text);
        conn_enter(c, CONN_DRAINING, conn_now(c) + REQUEST_DRAIN_USEC);
}

/* Reads and drops input until EOF or an error, then closes; a client that
 * still sends is read on at the next wake-up, until the drain timeout. */
static void conn_drain(struct conn *c) {
        for (int i = 0; i < DRAIN_READS; i++) {
                ssize_t n = recv(c->fd, conn_buf, sizeof conn_buf, MSG_DONTWAIT);
                if (n > 0 || (n < 0 && errno == EINTR))
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                conn_close(c);
                return;
        }
}

/* Our last bytes wait for room in the socket, for REQUEST_SEND_USEC at most. */
static void conn_wait_writable(struct conn *c) {
        if (c->state != CONN_SENDING)
                conn_enter(c, CONN_SENDING, conn_now(c) + REQUEST_SEND_USEC);
}

/* Sends what is left of c->out without blocking; then the connection finishes.
 * On TCP with MSG_MORE: conn_finish's shutdown() follows, and the kernel puts
 * our FIN on the segment that carries these bytes, so that the client gets
 * the trailer and its EOF in one segment, one wake-up, not two. */
static void conn_flush(struct conn *c) {
        int more = c->tcp ? MSG_MORE : 0;
        int unsent = 0;

        /* The trailer after a command waits until nothing the command wrote is
         * unsent (TCP_NOTSENT_LOWAT makes EPOLLOUT say so): a segment of its own. */
        if (c->trailer_waits && sock_unsent(c->fd, &unsent) == 0 && unsent > 0) {
                conn_wait_writable(c);
                return;
        }
        c->trailer_waits = false;
        while (c->out_sent < c->out_len) {
                ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent,
                                 MSG_DONTWAIT | MSG_NOSIGNAL | more);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN) {
                        conn_wait_writable(c);
                        return;
                }
                if (n <= 0)
                        break; /* the peer is gone; nothing more to tell it */
                c->out_sent += (size_t) n;
        }
        conn_finish(c);
}

/* "line\n" on a stderr channel, in one send that never waits: the channel's
 * buffer is empty before the command runs. A client gone has nothing to read. */
static void conn_channel_say(const struct conn *c, int fd, const char *line) {
        char buf[256];
        size_t n = request_format_refusal(buf, sizeof buf, line, false, 0);

        if (send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EPIPE && errno != ECONNRESET)
                log_error_errno(errno, "%s: sending to the stderr channel", c->peer.text);
}

/* Answers a request that will not run with "nbnet: line\n" (plus the
 * trailer for '+') and finishes; line NULL: the end's own. With a stderr
 * channel, the line goes there and the main connection gets only the trailer. */
static void conn_refuse(struct conn *c, enum request_end end, const char *line) {
        const struct request_end_info *info = request_end_info(end);

        c->end = end;
        c->status = info->status;
        line = line ? line : info->line;
        if (!info->log)
                snprintf(c->reason_text, sizeof c->reason_text, "%s", request_line_reason(line));
        if (c->err_fd >= 0) {
                /* Paired: the line is stderr's, the main connection has only the trailer. */
                conn_channel_say(c, c->err_fd, line);
                conn_channel_close(c);
                c->out_len = 0;
                if (request_wants_trailer(&c->frame, end, c->status)) {
                        frame_format_trailer(c->out, c->status);
                        c->out_len = FRAME_TRAILER_SIZE;
                }
        } else
                c->out_len = request_format_refusal(c->out, sizeof c->out, line,
                                                    request_wants_trailer(&c->frame, end, c->status),
                                                    c->status);
        conn_flush(c);
}

/* Who asks is known (d: the decode of the frame's credential, NULL without
 * '@'): its command may run (the owner decides when), or it is refused. */
static void conn_judge(struct conn *c, struct auth_decoded *d) {
        char line[sizeof c->reason_text];
        enum request_end end;

        if (!request_authorize(c->cfg->opt, &c->frame, d, c->cfg->shared->command_user, &c->who,
                               &end, line, sizeof line))
                conn_refuse(c, end, line);
        else if (request_run_line(c->cfg->table, &c->frame, &c->who, &end))
                c->cfg->report(c->cfg->owner, c, CONN_EVENT_READY);
        else
                conn_refuse(c, end, NULL);
}

static void conn_on_decoded(void *userdata, struct auth_decoded *d) {
        struct conn *c = userdata;

        /* Delivered: authq frees the job once this returns. */
        c->auth_job = NULL;
        conn_judge(c, d);
}

/* munged did not answer by the request timeout: 125, as when it cannot be
 * reached, and the decode, whenever it ends, goes nowhere. */
static void conn_decode_timeout(struct conn *c) {
        const char *sock = c->cfg->opt->munge_socket;
        struct auth_decoded d = {.result = AUTH_UNAVAILABLE,
                                 .reason = "munged did not answer in time"};

        conn_cancel_decode(c);
        snprintf(d.detail, sizeof d.detail,
                 "munged (%s) did not answer within the request timeout (%llu ms)",
                 sock ? sock : "libmunge's default socket",
                 (unsigned long long) (c->cfg->opt->request_timeout_usec / USEC_PER_MSEC));
        conn_judge(c, &d);
}

/* A MUNGE credential goes to the decoding thread: a round trip to munged,
 * which a stalled munged holds for libmunge's timeout, must not stall the
 * loop. Meanwhile the socket is not read (with '<', what follows the frame is
 * the command's input), a reset is still seen, and the request timer runs on. */
static void conn_decode(struct conn *c) {
        int r = authq_submit(&c->cfg->shared->authq, c->frame.command, (size_t) c->frame.length,
                             conn_on_decoded, c, &c->auth_job);

        if (r < 0) {
                /* Judged as munged out of reach: request_authorize logs it and words the line. */
                struct auth_decoded d = {.result = AUTH_UNAVAILABLE};
                snprintf(d.reason, sizeof d.reason, "%s", strerror(-r));
                snprintf(d.detail, sizeof d.detail, "%s: cannot hand it to the decoding thread: %s",
                         c->peer.text, strerror(-r));
                conn_judge(c, &d);
                return;
        }
        conn_enter(c, CONN_DECODING, c->start_usec + c->cfg->opt->request_timeout_usec);
}

/* A complete frame: a credential to decode first, or judged at once. */
static void conn_request(struct conn *c) {
        char line[sizeof c->reason_text];

        if (frame_failed(&c->frame)) {
                frame_error_message(&c->frame, line, sizeof line);
                conn_refuse(c, REQUEST_BAD_FRAME, line);
        } else if (c->frame.has_token) {
                /* A request with '&' or a channel: it waits, and its owner pairs it. */
                conn_enter(c, c->frame.channel ? CONN_CHANNEL : CONN_PAIRING,
                           c->start_usec + c->cfg->opt->request_timeout_usec);
                c->cfg->report(c->cfg->owner, c, CONN_EVENT_PAIR);
        } else if (c->frame.munge)
                conn_decode(c);
        else
                conn_judge(c, NULL);
}

static void conn_read(struct conn *c) {
        /* Never past the frame: with '<', what follows is the command's input. */
        ssize_t n = recv(c->fd, conn_buf, frame_readable(&c->frame, sizeof conn_buf), MSG_DONTWAIT);

        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return;
        if (n <= 0) {
                if (n == 0)
                        c->end = REQUEST_CLIENT_LEFT;
                else {
                        c->end = REQUEST_READ_FAILED;
                        snprintf(c->reason_text, sizeof c->reason_text, "%s", strerror(errno));
                }
                /* Nothing ran, so no output is in flight for a drain to protect. */
                conn_close(c);
                return;
        }
        /* Without '<', bytes after the frame are not the command's input: dropped. */
        (void) frame_feed(&c->frame, conn_buf, (size_t) n);
        if (c->frame.state != FRAME_NEED_MORE)
                conn_request(c);
}

/* The main still runs and must end (end says why): its group gets SIGTERM,
 * then SIGKILL when the grace runs out before the main exits. */
static void conn_stop_command(struct conn *c, enum request_end end) {
        c->end = end;
        (void) spawn_kill_command(c->pid, SIGTERM);
        conn_enter(c, CONN_STOP_SIGTERM, conn_now(c) + KILL_GRACE_USEC);
}

static void conn_stop_grace_over(struct conn *c) {
        if (c->slot)
                (void) cgroup_kill(c->slot);
        (void) spawn_kill_command(c->pid, SIGKILL);
        conn_enter(c, CONN_STOP_SIGKILL, 0);
}

static const char *conn_tmpdir_error(int r) {
        return r == -EBUSY ? "too many are being removed at once" : strerror(-r);
}

/* What tmpdir's worker could not remove, once its command is gone. */
static void conn_tmpdir_stays(const char *path, int r) {
        log_warning("a command's TMPDIR %s stays: %s", path, conn_tmpdir_error(r));
}

/* Whom the command runs as, for its TMPDIR: NULL for the server's command user. */
static const struct spawn_creds *conn_tmpdir_creds(const struct conn *c) {
        return c->who.runs_as_requester ? &c->who.creds : NULL;
}

/* The command's TMPDIR, and whatever it left there, goes with it (or, when
 * nothing of the command is left, may serve the next one: tmpdir.h). */
static void conn_remove_tmpdir(struct conn *c) {
        int r;

        if (!c->tmpdir[0])
                return;
        r = tmpdir_remove(&c->cfg->shared->tmpdirs, conn_tmpdir_creds(c), c->tmpdir, c->whole);
        if (r < 0)
                log_warning("%s: the command's TMPDIR %s stays: %s", c->peer.text, c->tmpdir,
                            conn_tmpdir_error(r));
        c->tmpdir[0] = '\0';
        c->whole = false;
}

/* The command's cgroup slot back to the pool, with its figures: CPU time
 * and peak memory, for the log and the metrics. */
static void conn_release_cgroup(struct conn *c) {
        c->has_cpu = cgroup_cpu_usec(c->slot, &c->cpu_usec) >= 0;
        c->has_memory_peak = cgroup_memory_peak(c->slot, &c->memory_peak) >= 0;
        cgroup_give_back(c->cfg->cgroups, c->slot);
        c->slot = NULL;
}

/* The group and its escapees are gone, or their last grace ran out: the
 * trailer first, since the client waits for nothing else of ours; then the
 * cgroup slot and the TMPDIR go back, and the end lets a queued command
 * start (in its slot). */
static void conn_command_done(struct conn *c) {
        /* Closed before the trailer goes out: the client has all of stderr by then. */
        conn_channel_close(c);
        c->out_len = c->out_sent = 0;
        if (request_wants_trailer(&c->frame, c->end, c->status)) {
                frame_format_trailer(c->out, c->status);
                c->out_len = FRAME_TRAILER_SIZE;
                if (c->tcp) {
                        int r = sock_hold_until_sent(c->fd);
                        if (r < 0)
                                log_error_errno(r, "%s: setsockopt TCP_NOTSENT_LOWAT", c->peer.text);
                        c->trailer_waits = r >= 0;
                }
        }
        conn_flush(c);
        if (c->slot)
                conn_release_cgroup(c);
        conn_remove_tmpdir(c);
        c->cfg->report(c->cfg->owner, c, CONN_EVENT_ENDED);
}

/* Signals what is left of the command: its group (until seen empty) and
 * whatever left the group but still holds the connection (nbnetd: at its
 * next census of orphans). Whether any was left. */
static bool conn_signal_leftovers(struct conn *c, int sig) {
        bool left = false;

        /* Once seen empty, the group's id is free for reuse: never signal it
         * again. A group's zombies that are our children keep kill() finding
         * it: reaped first (a scan of our children), when it seems alive. */
        if (!c->group_gone && spawn_group_alive(c->pid)) {
                spawn_reap_group(c->pid);
                c->group_gone = !spawn_group_alive(c->pid);
        } else
                c->group_gone = true;
        if (!c->group_gone) {
                left = true;
                if (sig == SIGKILL)
                        (void) spawn_kill_group(c->pid, SIGKILL);
        }
        if (c->ino == 0) {
                struct stat st;
                if (fstat(c->fd, &st) < 0)
                        log_error_errno(errno, "%s: fstat", c->peer.text);
                else
                        c->ino = st.st_ino;
        }
        if (c->ino != 0 &&
            orphans_signal_holders(&c->cfg->shared->orphans, c->ino, c->orphans_gen, sig) > 0)
                left = true;
        return left;
}

/* In the final states, looked at every GROUP_POLL_USEC: the group, and
 * whatever left it but still holds the connection, get SIGTERM, then SIGKILL
 * after the grace; the trailer waits until they are gone, or one more grace
 * after the SIGKILL. */
static void conn_end_group(struct conn *c) {
        uint64_t now = conn_now(c);
        bool kill = now >= c->grace_end_usec;

        if (!conn_signal_leftovers(c, kill ? SIGKILL : SIGTERM) ||
            now >= c->grace_end_usec + KILL_GRACE_USEC) {
                conn_command_done(c);
                return;
        }
        conn_enter(c, kill ? CONN_FINAL_SIGKILL : CONN_FINAL_SIGTERM, now + GROUP_POLL_USEC);
}

/* The command's cgroup is empty (or would not empty in time): whether the
 * memory limit ended it, which the trailer says, then the trailer. */
static void conn_cgroup_done(struct conn *c) {
        c->cgroup_src = sd_event_source_disable_unref(c->cgroup_src);
        if (cgroup_oom_killed(c->slot) && c->end == REQUEST_RAN)
                c->end = REQUEST_MEMORY_LIMIT;
        conn_command_done(c);
}

static int conn_on_cgroup(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct conn *c = userdata;

        (void) s;
        (void) fd;
        (void) revents;
        /* The read also rearms the notification: no spin on a level-triggered loop. */
        if (cgroup_populated(c->slot) == 0)
                conn_cgroup_done(c);
        return 0;
}

/* Every process the command started ends with it: cgroup.kill, and the
 * trailer once cgroup.events says the slot is empty (or after two graces). */
static void conn_end_cgroup(struct conn *c) {
        int r = cgroup_populated(c->slot);

        c->whole = r == 0;
        if (r > 0) {
                r = cgroup_kill(c->slot);
                if (r < 0)
                        log_error_errno(r, "%s: cgroup.kill of the command's cgroup", c->peer.text);
                else
                        r = sd_event_add_io(c->cfg->event, &c->cgroup_src, c->slot->events_fd,
                                            EPOLLPRI, conn_on_cgroup, c);
                if (r >= 0) {
                        conn_enter(c, CONN_FINAL_CGROUP, conn_now(c) + 2 * KILL_GRACE_USEC);
                        return;
                }
                log_error_errno(r, "%s: watching the command's cgroup.events", c->peer.text);
        }
        conn_cgroup_done(c);
}

static int conn_spawn_failed(struct conn *c, int r) {
        char line[160];

        /* The two ends spawn_command gives a child it killed, with their reason. */
        if (r == -ETIMEDOUT)
                snprintf(line, sizeof line,
                         "nbnet: cannot run the command: its process had not started it after "
                         "%d s (traced, frozen or hung), and was killed",
                         SPAWN_START_DEADLINE_SEC);
        else if (r == -ECANCELED)
                snprintf(line, sizeof line,
                         "nbnet: cannot run the command: its process was stopped before it "
                         "started it, and was killed");
        else if (r == -ESTALE)
                snprintf(line, sizeof line,
                         "nbnet: cannot run the command: its TMPDIR, kept from an earlier command "
                         "of its user, was changed since by another process; try again");
        else
                snprintf(line, sizeof line, "nbnet: cannot run the command: %s", strerror(-r));
        if (r == -ETIMEDOUT || r == -ECANCELED || r == -ESTALE)
                log_error("%s: spawn /bin/sh -c: %s", c->peer.text, line + strlen("nbnet: "));
        else
                log_error_errno(r, "%s: spawn /bin/sh -c", c->peer.text);
        conn_refuse(c, REQUEST_SPAWN_FAILED, line);
        return r;
}

/* The command did not start: its slot back, with the CPU time its child
 * spent there counted as no one's (the next command's starts after it). */
static void conn_drop_cgroup(struct conn *c) {
        if (c->slot)
                conn_release_cgroup(c);
        c->has_cpu = c->has_memory_peak = false;
}

/* Its main exited before it started the command (spawn.h starts it beside
 * us): the request ends as one whose spawn failed, its cgroup slot and
 * TMPDIR given back before the end is reported (which may start a queued
 * command in that slot). */
static void conn_not_started(struct conn *c, int pidfd, int r) {
        (void) waitid((idtype_t) P_PIDFD, (id_t) pidfd, &(siginfo_t){0}, WEXITED | WNOHANG);
        c->child = sd_event_source_disable_unref(c->child);
        if (c->slot)
                conn_drop_cgroup(c);
        else
                orphans_remove_main(&c->cfg->shared->orphans, c->pid);
        conn_remove_tmpdir(c);
        c->cfg->report(c->cfg->owner, c, CONN_EVENT_NOT_STARTED);
        (void) conn_spawn_failed(c, r);
}

/* The main process exited: its pidfd is readable. Its zombie, not reaped
 * yet, keeps the process group's id from being reused while the group gets
 * SIGTERM (nothing, when the group is the zombie alone). Then the zombie is
 * reaped, and conn_end_group takes over: the trailer goes out at once when
 * the group is empty, which costs a kill() and no scan of our children. */
static int conn_on_child(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct conn *c = userdata;
        siginfo_t si = {0};
        int r;

        (void) s;
        (void) revents;
        if (waitid((idtype_t) P_PIDFD, (id_t) fd, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
                log_error_errno(errno, "%s: waitid on the pidfd of %d", c->peer.text, (int) c->pid);
                si = (siginfo_t){0};
        } else if (si.si_pid == 0)
                return 0; /* not exited after all */
        r = spawn_child_started(&c->cfg->shared->env,
                                &(struct spawn_child){.pid = c->pid, .pad = c->pad});
        if (r < 0) {
                conn_not_started(c, fd, r);
                return 0;
        }
        c->status = c->end == REQUEST_COMMAND_TIMEOUT ? NBNET_STATUS_TIMEOUT : spawn_status_of(&si);
        if (c->slot) {
                (void) waitid((idtype_t) P_PIDFD, (id_t) fd, &si, WEXITED | WNOHANG);
                c->child = sd_event_source_disable_unref(c->child);
                conn_end_cgroup(c);
                return 0;
        }
        /* Background children must not hold the connection open. */
        (void) spawn_kill_group(c->pid, SIGTERM);
        (void) waitid((idtype_t) P_PIDFD, (id_t) fd, &si, WEXITED | WNOHANG);
        c->child = sd_event_source_disable_unref(c->child);
        orphans_remove_main(&c->cfg->shared->orphans, c->pid);
        c->grace_end_usec = conn_now(c) + KILL_GRACE_USEC;
        conn_end_group(c);
        return 0;
}

/* A reset or socket error while the request waits or runs. */
static void conn_on_error(struct conn *c) {
        switch (c->state) {
        case CONN_DECODING:
                conn_cancel_decode(c);
                c->end = REQUEST_PEER_GONE;
                conn_finish(c);
                break;
        case CONN_QUEUED:
                c->cfg->report(c->cfg->owner, c, CONN_EVENT_LEFT_QUEUE);
                c->end = REQUEST_PEER_GONE;
                conn_finish(c);
                break;
        case CONN_RUNNING:
                conn_stop_command(c, REQUEST_PEER_GONE);
                break;
        case CONN_PAIRING:
                c->end = REQUEST_PEER_GONE;
                conn_finish(c);
                break;
        case CONN_CHANNEL:
                c->end = REQUEST_PEER_GONE;
                conn_close(c);
                break;
        default:
                break;
        }
}

static int conn_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct conn *c = userdata;

        (void) s;
        (void) fd;
        switch (c->state) {
        case CONN_READING:
                conn_read(c);
                break;
        case CONN_SENDING:
                if (revents & (EPOLLERR | EPOLLHUP))
                        conn_finish(c);
                else
                        conn_flush(c);
                break;
        case CONN_DRAINING:
                conn_drain(c);
                break;
        default:
                if (revents & (EPOLLERR | EPOLLHUP))
                        conn_on_error(c);
                break;
        }
        return 0;
}

static int conn_on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct conn *c = userdata;

        (void) s;
        (void) usec;
        switch (c->state) {
        case CONN_READING:
                c->end = REQUEST_FRAME_TIMEOUT;
                conn_close(c);
                break;
        case CONN_DECODING:
                conn_decode_timeout(c);
                break;
        case CONN_QUEUED:
                c->cfg->report(c->cfg->owner, c, CONN_EVENT_QUEUE_TIMEOUT);
                break;
        case CONN_RUNNING:
                conn_stop_command(c, REQUEST_COMMAND_TIMEOUT);
                break;
        case CONN_STOP_SIGTERM:
                conn_stop_grace_over(c);
                break;
        case CONN_FINAL_SIGTERM:
        case CONN_FINAL_SIGKILL:
                conn_end_group(c);
                break;
        case CONN_FINAL_CGROUP:
                log_warning("%s: the command's cgroup is not empty %llu ms after "
                            "cgroup.kill; its slot waits before reuse",
                            c->peer.text, (unsigned long long) (2 * KILL_GRACE_USEC / USEC_PER_MSEC));
                conn_cgroup_done(c);
                break;
        case CONN_SENDING:
                c->end = REQUEST_RESPONSE_UNREAD;
                conn_finish(c);
                break;
        case CONN_DRAINING:
                conn_close(c);
                break;
        case CONN_PAIRING:
                conn_refuse(c, REQUEST_NO_CHANNEL, NULL);
                break;
        case CONN_CHANNEL:
                c->end = REQUEST_CHANNEL_UNPAIRED;
                conn_finish(c);
                break;
        case CONN_CHANNEL_LENT:
        case CONN_FREE:
        case CONN_STOP_SIGKILL:
        case CONN_STATE_COUNT:
                break;
        }
        return 0;
}

/* Whom commands run as (and, in warning, that it is the server's own user)
 * and their environment; with --run-as-requester, the server's own user's
 * until each command's own user replaces it. */
static int conn_shared_init_env(struct conn_shared *sh, char *warning, size_t warning_size,
                                const struct serve_options *opt, char **environ_) {
        struct spawn_env *env = &sh->env;
        struct runas_user user;
        char err[512];
        int r;

        /* Either failure is the configuration's: no retry helps (1). */
        r = runas_resolve(opt->run_as, &user, err, sizeof err);
        if (r < 0) {
                log_error("%s", err);
                return 1;
        }
        r = opt->run_as_requester ? runas_check_requester(&user, err, sizeof err)
                                  : runas_check(&user, err, sizeof err);
        if (r < 0) {
                log_error("%s", err);
                runas_release(&user);
                return 1;
        }
        snprintf(sh->command_user, sizeof sh->command_user, "%s", user.name);
        /* With --run-as-requester no command runs as the server. */
        if (opt->run_as_requester)
                warning[0] = '\0';
        else if (user.own && user.creds.uid == 0)
                snprintf(warning, warning_size,
                         "commands run as root, as the server does: any command can signal, "
                         "trace and stop the server, read its memory and environment, and do "
                         "anything on this host; give --run-as USER (e.g. --run-as nobody), or "
                         "use the packaged units");
        else if (user.own)
                snprintf(warning, warning_size,
                         "commands run as the server's own user (%s, uid %u): a command can "
                         "signal, trace and stop the server and read its memory and "
                         "environment; give --run-as USER, or use the packaged units",
                         user.name, (unsigned) user.creds.uid);
        r = spawn_env_init(env,
                           &(struct spawn_login){
                                   .creds = user.creds,
                                   .user = user.name,
                                   .home = user.home,
                                   .shell = user.shell,
                                   .pass_env = opt->pass_env,
                                   .n_pass_env = opt->n_pass_env,
                                   .setenv = opt->setenv,
                                   .n_setenv = opt->n_setenv,
                           },
                           environ_);
        runas_release(&user);
        return r < 0 ? log_error_errno(r, "spawn_env_init") : 0;
}

/* A command's child still starting is looked at within SPAWN_WATCH_USEC
 * even when no other command starts (spawn_command looks too): one stopped
 * or hung before its exec is killed, and its request refused. */
static int conn_on_starts(sd_event_source *s, uint64_t usec, void *userdata) {
        struct conn_shared *sh = userdata;

        (void) usec;
        if (spawn_watch_starts(&sh->env)) {
                (void) sd_event_source_set_time_relative(s, SPAWN_WATCH_USEC);
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        }
        return 0;
}

/* The watch over starting children, armed unless it is. */
static void conn_watch_starts(struct conn_shared *sh) {
        int enabled = SD_EVENT_OFF;

        if (!sh->starts || sd_event_source_get_enabled(sh->starts, &enabled) < 0 ||
            enabled != SD_EVENT_OFF)
                return;
        if (sd_event_source_set_time_relative(sh->starts, SPAWN_WATCH_USEC) < 0 ||
            sd_event_source_set_enabled(sh->starts, SD_EVENT_ONESHOT) < 0)
                log_error("the watch over starting commands cannot be armed: a command stopped "
                          "before its exec is killed only at the next command's start");
}

int conn_shared_init(struct conn_shared *sh, sd_event *event, const struct serve_options *opt,
                     size_t max_running, bool serves_many, char **environ_) {
        char err[256];
        int r;

        *sh = (struct conn_shared){0};
        r = conn_shared_init_env(sh, sh->warning, sizeof sh->warning, opt, environ_);
        if (r != 0)
                return r;
        sh->env.limits = opt->limits;
        sh->env.always_shell = opt->always_shell;
        if (spawn_env_expect(&sh->env, max_running) < 0)
                return log_error_errno(-ENOMEM, "calloc for the record of failed starts");
        r = sd_event_add_time_relative(event, &sh->starts, CLOCK_MONOTONIC, SPAWN_WATCH_USEC,
                                       TIMER_ACCURACY_USEC, conn_on_starts, sh);
        if (r >= 0)
                r = sd_event_source_set_enabled(sh->starts, SD_EVENT_OFF);
        if (r < 0)
                return log_error_errno(r, "sd_event_add_time for the watch over starting commands");
        r = orphans_init(&sh->orphans, max_running, serves_many ? event : NULL, KILL_GRACE_USEC);
        if (r == -ENOMEM)
                return log_error_errno(r, "calloc for the orphans' census");
        if (r < 0)
                return log_error_errno(r, "open /proc/self/task/PID/children (is /proc mounted?)");
        r = authq_init(&sh->authq, event, opt->munge_socket, opt->run_as_requester);
        if (r < 0)
                return log_error_errno(r, "setting up the MUNGE decoding queue (eventfd)");
        r = tmpdir_init(&sh->tmpdirs, serves_many ? event : NULL, &sh->env, conn_tmpdir_stays, err,
                        sizeof err);
        if (r < 0)
                log_error("%s: is /tmp there and writable?", err);
        else if (sh->tmpdirs.cannot_look)
                log_warning(
                        "setfsuid/setfsgid to the commands' user refused (a system call filter?): "
                        "each command's TMPDIR is made and removed, none kept for the next; "
                        "allow them to save a mkdir and an rmdir per command");
        return r;
}

void conn_shared_warn(const struct conn_shared *sh) {
        if (sh->warning[0])
                log_warning("%s", sh->warning);
}

void conn_shared_release(struct conn_shared *sh, bool wait_decode) {
        char path[sizeof sh->tmpdirs.path];
        int r;

        memcpy(path, sh->tmpdirs.path, sizeof path);
        r = tmpdir_release(&sh->tmpdirs, TMPDIR_RELEASE_USEC);
        if (r != 0)
                log_warning("removing the commands' TMPDIR %s: %s", path,
                            r > 0 ? "something of a command is still in it" : strerror(-r));
        if (wait_decode || !authq_decoding(&sh->authq))
                authq_release(&sh->authq);
        orphans_release(&sh->orphans);
        sh->starts = sd_event_source_disable_unref(sh->starts);
        spawn_env_release(&sh->env);
}

int conn_open(struct conn *c, const struct conn_config *cfg, int fd, const struct sock_peer *peer,
              bool tcp) {
        int r;

        *c = (struct conn){
                .cfg = cfg,
                .state = CONN_READING,
                .fd = fd,
                .err_fd = -1,
                .tcp = tcp,
                .peer = *peer,
                .status = -1,
                .end = REQUEST_RAN,
        };
        (void) sd_event_now(cfg->event, CLOCK_MONOTONIC, &c->start_usec);
        r = frame_init(&c->frame, cfg->opt->max_command);
        if (r < 0)
                goto fail;
        r = sd_event_add_io(cfg->event, &c->io, fd, EPOLLIN, conn_on_io, c);
        if (r < 0) {
                log_error_errno(r, "%s: sd_event_add_io", peer->text);
                goto fail;
        }
        r = sd_event_add_time(cfg->event, &c->timer, CLOCK_MONOTONIC,
                              c->start_usec + cfg->opt->request_timeout_usec, TIMER_ACCURACY_USEC,
                              conn_on_timer, c);
        if (r < 0) {
                log_error_errno(r, "%s: sd_event_add_time", peer->text);
                goto fail;
        }
        return 0;
fail:
        c->io = sd_event_source_disable_unref(c->io);
        c->state = CONN_FREE;
        c->fd = -1;
        return r;
}

/* A cgroup for the command, when the server has a pool. */
static int conn_take_cgroup(struct conn *c) {
        if (!c->cfg->cgroups || !cgroup_pool_on(c->cfg->cgroups))
                return 0;
        c->slot = cgroup_take(c->cfg->cgroups);
        return c->slot ? 0 : -errno;
}

/* Watches the spawned main's pidfd (taken over): readable once it exits. A
 * plain io source: sd_event_add_child_pidfd would read /proc/self/fdinfo for
 * the pid we already know, and scan with waitid on every SIGCHLD. */
static int conn_watch_child(struct conn *c, struct spawn_child *child) {
        int r = sd_event_add_io(c->cfg->event, &c->child, child->pidfd, EPOLLIN, conn_on_child, c);

        if (r >= 0)
                r = sd_event_source_set_io_fd_own(c->child, true);
        if (r >= 0)
                return 0;
        log_error_errno(r, "%s: sd_event_add_io on the command's pidfd", c->peer.text);
        (void) spawn_kill_command(child->pid, SIGKILL);
        if (c->slot)
                (void) cgroup_kill(c->slot);
        (void) waitid((idtype_t) P_PIDFD, (id_t) child->pidfd, &(siginfo_t){0}, WEXITED);
        (void) spawn_child_started(&c->cfg->shared->env, child);
        c->child = sd_event_source_disable_unref(c->child);
        close(child->pidfd);
        return r;
}

int conn_start(struct conn *c) {
        enum request_end end;
        /* Looked up again: SIGHUP may have replaced the table while it was queued. */
        const char *command = request_run_line(c->cfg->table, &c->frame, &c->who, &end);
        struct spawn_child child;
        struct spawn_tmpdir_seal seal = {0};
        struct spawn_user user;
        int r, kept = 0;

        if (!command) {
                conn_refuse(c, end, NULL);
                return -EACCES;
        }
        r = conn_take_cgroup(c);
        if (r < 0)
                return conn_spawn_failed(c, r);
        r = kept = tmpdir_take(&c->cfg->shared->tmpdirs, conn_tmpdir_creds(c), c->tmpdir,
                               sizeof c->tmpdir, &seal);
        if (r < 0) {
                conn_drop_cgroup(c);
                return conn_spawn_failed(c, r);
        }
        r = spawn_command(&c->cfg->shared->env, command,
                          &(struct spawn_io){.conn_fd = c->fd,
                                             .conn_stdin = c->frame.want_stdin,
                                             .user = request_spawn_user(&c->who, &user),
                                             .err_fd = c->err_fd,
                                             .cgroup_procs_fd = c->slot ? c->slot->procs_fd : -1,
                                             .peer = &c->peer,
                                             .tmpdir = c->tmpdir,
                                             .tmpdir_kept = kept > 0,
                                             .tmpdir_seal = seal},
                          &child);
        if (r >= 0)
                r = conn_watch_child(c, &child);
        if (r < 0) {
                conn_drop_cgroup(c);
                conn_remove_tmpdir(c);
                return conn_spawn_failed(c, r);
        }
        c->pid = child.pid;
        c->pad = child.pad;
        conn_watch_starts(c->cfg->shared);
        /* In a cgroup, the command's orphans are not ours (we are no subreaper). */
        if (!c->slot) {
                orphans_add_main(&c->cfg->shared->orphans, c->pid);
                c->orphans_gen = orphans_generation(&c->cfg->shared->orphans);
        }
        conn_enter(c, CONN_RUNNING,
                   c->cfg->opt->command_timeout_usec ? conn_now(c) + c->cfg->opt->command_timeout_usec
                                                     : 0);
        return 0;
}

void conn_queue(struct conn *c) {
        conn_enter(c, CONN_QUEUED, conn_now(c) + c->cfg->opt->request_timeout_usec);
}

void conn_refuse_queued(struct conn *c, enum request_end end, unsigned running) {
        char line[128];

        if (end != REQUEST_BUSY)
                return conn_refuse(c, end, NULL);
        snprintf(line, sizeof line, "nbnet: busy (%u commands running); try again later", running);
        conn_refuse(c, end, line);
}

void conn_stop(struct conn *c) {
        if (c->state == CONN_DECODING || c->state == CONN_PAIRING) {
                conn_cancel_decode(c);
                conn_refuse(c, REQUEST_STOPPED_QUEUED, NULL);
                return;
        }
        if (c->state == CONN_CHANNEL) {
                c->end = REQUEST_STOPPED_READING;
                conn_close(c);
                return;
        }
        if (c->state != CONN_READING)
                return;
        c->end = REQUEST_STOPPED_READING;
        conn_close(c);
}

/* Never one whose credential is being decoded: its whole frame came, so it is not idle. */
void conn_evict(struct conn *c) {
        if (c->state != CONN_READING)
                return;
        c->end = REQUEST_EVICTED;
        c->unlogged = true;
        conn_close(c);
}

void conn_kill(struct conn *c, enum request_end end) {
        if (c->state == CONN_RUNNING)
                conn_stop_command(c, end);
}

/* The stderr channel reset or failed: a running command is killed, as for
 * the main connection (its client is gone, or half gone); one that has not
 * run yet will not. Either way the channel is closed at once, which also
 * stops this level-triggered source (a child still starting has its own
 * copy of our descriptors: no CLONE_FILES). */
static int conn_on_err_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct conn *c = userdata;

        (void) s;
        (void) fd;
        (void) revents;
        switch (c->state) {
        case CONN_RUNNING:
                conn_channel_close(c);
                conn_stop_command(c, REQUEST_CHANNEL_GONE);
                break;
        case CONN_DECODING:
                conn_cancel_decode(c);
                conn_refuse(c, REQUEST_CHANNEL_LOST, NULL);
                break;
        case CONN_QUEUED:
                c->cfg->report(c->cfg->owner, c, CONN_EVENT_LEFT_QUEUE);
                conn_refuse(c, REQUEST_CHANNEL_LOST, NULL);
                break;
        default:
                conn_channel_close(c);
                break;
        }
        return 0;
}

/* The request goes on as one without '&' would, its lines now the channel's. */
int conn_pair(struct conn *req, int fd, struct conn *lender) {
        int r;

        if (req->state != CONN_PAIRING)
                return -EINVAL;
        r = sock_same_peer(req->fd, fd);
        if (r < 0)
                log_error_errno(r, "%s: comparing the stderr channel's peer", req->peer.text);
        if (r <= 0)
                return -EACCES;
        /* sd-event takes one source per descriptor: the channel's own goes first. */
        if (lender)
                lender->io = sd_event_source_disable_unref(lender->io);
        r = sd_event_add_io(req->cfg->event, &req->err_io, fd, WATCH_ERRORS, conn_on_err_io, req);
        if (r < 0) {
                log_error_errno(r, "%s: sd_event_add_io on the stderr channel", req->peer.text);
                if (lender) {
                        lender->end = REQUEST_NO_MEMORY;
                        conn_close(lender);
                }
                return r;
        }
        if (lender) {
                /* The slot stays taken (it counts for the limits) until the request closes it. */
                (void) sd_event_source_set_enabled(lender->timer, SD_EVENT_OFF);
                lender->fd = -1;
                lender->state = CONN_CHANNEL_LENT;
                lender->end = REQUEST_CHANNEL_PAIRED;
                lender->unlogged = true;
        }
        req->err_fd = fd;
        req->lender = lender;
        req->paired = true;
        if (req->frame.munge)
                conn_decode(req);
        else
                conn_judge(req, NULL);
        return 0;
}

void conn_unpaired(struct conn *c, enum request_end end) {
        const struct request_end_info *info = request_end_info(end);

        if (c->state != CONN_PAIRING && c->state != CONN_CHANNEL)
                return;
        if (!c->frame.channel) {
                conn_refuse(c, end, NULL);
                return;
        }
        if (info->line)
                conn_channel_say(c, c->fd, info->line);
        c->end = end;
        c->status = info->status;
        conn_finish(c);
}

void conn_handed_over(struct conn *c) {
        c->end = REQUEST_CHANNEL_PAIRED;
        c->unlogged = true;
        conn_close(c);
}

/* SPDX-License-Identifier: MIT */
/* cmocka tests of nbnetd's connection state machine (conn.c), alone: a real
 * sd_event loop, spawn_env, orphans and command table, a fake owner that
 * records what the connection reports, and the client's end of a loopback
 * TCP pair (or a socketpair) in the test's hands. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth.h"
#include "conn.h"
#include "log.h"
#include "proc.h"

extern char **environ;

/* The test's munged, in place of auth.c: auth_decode, on the decoding thread,
 * waits for the test's answer, a byte on a pipe ('y': the credential
 * "MUNGE:LINE:" is valid, its payload LINE; anything else: munged could not
 * be asked), for 5 s at most. It says when it starts (a byte on asked) and
 * keeps what it was given, which the test reads once the decode is delivered. */
static struct {
        int answer[2];
        int asked[2]; /* a byte each time a decode starts */
        char got[256];
} fake_munged = {{-1, -1}, {-1, -1}, ""};

enum auth_result auth_decode(const char *socket_path, const char *cred, struct auth_decoded *out) {
        struct pollfd p = {.fd = fake_munged.answer[0], .events = POLLIN};
        const char *line = cred + strlen("MUNGE:");
        char answer = 'n';

        (void) socket_path;
        *out = (struct auth_decoded){.result = AUTH_UNAVAILABLE};
        snprintf(fake_munged.got, sizeof fake_munged.got, "%s", cred);
        if (write(fake_munged.asked[1], "a", 1) != 1)
                return AUTH_UNAVAILABLE;
        if (poll(&p, 1, 5000) == 1 && read(p.fd, &answer, 1) == 1 && answer == 'y' &&
            strncmp(cred, "MUNGE:", strlen("MUNGE:")) == 0 && strrchr(line, ':')) {
                out->result = AUTH_OK;
                out->cred = (struct auth_credential){
                        .uid = getuid(),
                        .gid = getgid(),
                        .payload = strndup(line, (size_t) (strrchr(line, ':') - line)),
                };
                out->cred.length = strlen(out->cred.payload);
                return AUTH_OK;
        }
        snprintf(out->reason, sizeof out->reason, "Socket communication error");
        snprintf(out->detail, sizeof out->detail, "the test's munged said no");
        return AUTH_UNAVAILABLE;
}

void auth_credential_release(struct auth_credential *c) {
        free(c->payload);
        *c = (struct auth_credential){0};
}

/* The test's NSS, in place of userdb.c: userdb_lookup, which the decoding
 * thread calls after a valid decode, finds every uid as "nbtest-fake"; when
 * stall is set it first says it was asked (a byte on asked) and waits for the
 * test's byte on answer, 5 s at most. It keeps the thread it ran on. */
static struct {
        bool stall;
        int answer[2], asked[2];
        bool called;
        pthread_t thread;
} fake_nss = {false, {-1, -1}, {-1, -1}, false, 0};

int userdb_lookup(uid_t uid, gid_t gid, bool groups, struct userdb_user *u, char *buf, size_t size) {
        struct pollfd p = {.fd = fake_nss.answer[0], .events = POLLIN};
        char answer;

        (void) uid;
        (void) groups;
        (void) buf;
        (void) size;
        fake_nss.thread = pthread_self();
        fake_nss.called = true;
        if (fake_nss.stall && (write(fake_nss.asked[1], "a", 1) != 1 || poll(&p, 1, 5000) != 1 ||
                               read(p.fd, &answer, 1) != 1))
                u->error = -ETIMEDOUT;
        else
                u->error = 0;
        u->looked_up = true;
        snprintf(u->name, sizeof u->name, "nbtest-fake");
        snprintf(u->home, sizeof u->home, "/nonexistent");
        snprintf(u->shell, sizeof u->shell, "/bin/sh");
        u->groups[0] = gid;
        u->n_groups = 1;
        return u->error;
}

/* The test's munged answers: 'y' (valid) or 'n' (could not be asked). */
static void munged_answer(char answer) {
        assert_int_equal(write(fake_munged.answer[1], &answer, 1), 1);
}

/* Waits until the worker is inside a decode, for 2 s at most (the loop
 * must have read the frame: see run_until_decoding). */
static void munged_wait_asked(void) {
        struct pollfd p = {.fd = fake_munged.asked[0], .events = POLLIN};
        char byte;

        if (poll(&p, 1, 2000) != 1)
                fail_msg("the decoding thread did not ask munged within 2 s");
        assert_int_equal(read(p.fd, &byte, 1), 1);
}

#define MAX_EVENTS 16
#define TRAILER_0 "\x1eNBNET-STATUS 000\n"

/* What the fake owner does when the request is complete. */
enum on_ready {
        READY_START,
        READY_QUEUE,
};

struct harness {
        sd_event *event;
        struct serve_options opt;
        struct request_table table;
        struct conn_shared shared;
        struct conn_config cfg;
        struct conn conn;
        bool opened;
        int peer; /* the client's end */
        enum on_ready on_ready;
        int start_result;
        enum conn_event events[MAX_EVENTS];
        size_t n_events;
        char table_path[64]; /* a --commands file, when a test writes one */
};

static const char *event_name(enum conn_event e) {
        switch (e) {
        case CONN_EVENT_READY:
                return "READY";
        case CONN_EVENT_LEFT_QUEUE:
                return "LEFT_QUEUE";
        case CONN_EVENT_QUEUE_TIMEOUT:
                return "QUEUE_TIMEOUT";
        case CONN_EVENT_ENDED:
                return "ENDED";
        case CONN_EVENT_NOT_STARTED:
                return "NOT_STARTED";
        case CONN_EVENT_CLOSED:
                return "CLOSED";
        case CONN_EVENT_PAIR:
                return "PAIR";
        }
        return "?";
}

static const char *state_name(enum conn_state s) {
        static const char *const names[CONN_STATE_COUNT] = {
                "FREE",         "READING",      "DECODING",      "QUEUED",        "RUNNING",
                "STOP_SIGTERM", "STOP_SIGKILL", "FINAL_SIGTERM", "FINAL_SIGKILL", "FINAL_CGROUP",
                "SENDING",      "DRAINING",     "PAIRING",       "CHANNEL",       "CHANNEL_LENT"};
        return (size_t) s < sizeof names / sizeof names[0] ? names[s] : "?";
}

/* The events so far, "READY,ENDED,CLOSED", for comparisons and failure messages. */
static const char *events_text(const struct harness *h) {
        static char buf[MAX_EVENTS * 16];
        size_t len = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < h->n_events; i++)
                len += (size_t) snprintf(buf + len, sizeof buf - len, "%s%s", i ? "," : "",
                                         event_name(h->events[i]));
        return buf;
}

static void owner_report(void *owner, struct conn *c, enum conn_event event) {
        struct harness *h = owner;

        assert_ptr_equal(c, &h->conn);
        assert_true(h->n_events < MAX_EVENTS);
        h->events[h->n_events++] = event;
        if (event != CONN_EVENT_READY)
                return;
        if (h->on_ready == READY_START)
                h->start_result = conn_start(c);
        else
                conn_queue(c);
}

static bool has_event(const struct harness *h, enum conn_event e) {
        for (size_t i = 0; i < h->n_events; i++)
                if (h->events[i] == e)
                        return true;
        return false;
}

/* Turns the loop until the event was reported, for ms at most; how long it took. */
static uint64_t run_until_event(struct harness *h, enum conn_event e, unsigned ms) {
        uint64_t start = clock_now_usec(), deadline = start + ms * 1000ull;

        while (!has_event(h, e)) {
                uint64_t now = clock_now_usec();
                if (now >= deadline)
                        fail_msg("waited %u ms for %s: events so far '%s', state %s", ms,
                                 event_name(e), events_text(h), state_name(h->conn.state));
                assert_true(sd_event_run(h->event, deadline - now) >= 0);
        }
        return clock_now_usec() - start;
}

static void run_until_state(struct harness *h, enum conn_state s, unsigned ms) {
        uint64_t deadline = clock_now_usec() + ms * 1000ull;

        while (h->conn.state != s) {
                uint64_t now = clock_now_usec();
                if (now >= deadline)
                        fail_msg("waited %u ms for state %s: state %s, events '%s'", ms,
                                 state_name(s), state_name(h->conn.state), events_text(h));
                assert_true(sd_event_run(h->event, deadline - now) >= 0);
        }
}

/* Turns the loop for ms, whatever happens (to show that nothing does). */
static void run_for(struct harness *h, unsigned ms) {
        uint64_t deadline = clock_now_usec() + ms * 1000ull;

        for (uint64_t now = clock_now_usec(); now < deadline; now = clock_now_usec())
                assert_true(sd_event_run(h->event, deadline - now) >= 0);
}

static void assert_events(const struct harness *h, const char *want) {
        if (strcmp(events_text(h), want) != 0)
                fail_msg("events: expected '%s', got '%s'", want, events_text(h));
}

/* What the peer reads until EOF, within 2 s, while the loop turns (the
 * connection may be waiting for room to send); NUL-terminated. When more
 * comes than buf holds, the oldest bytes go and only the last ones are kept;
 * *total counts them all. */
static size_t read_all(struct harness *h, char *buf, size_t size, size_t *total) {
        uint64_t deadline = clock_now_usec() + 2000000u;
        size_t got = 0, all = 0;

        for (;;) {
                struct pollfd p = {.fd = h->peer, .events = POLLIN};
                ssize_t n;
                if (clock_now_usec() >= deadline)
                        fail_msg("no EOF within 2 s (%zu bytes read), state %s, events '%s'", all,
                                 state_name(h->conn.state), events_text(h));
                assert_true(sd_event_run(h->event, 0) >= 0);
                if (poll(&p, 1, 5) < 0 && errno != EINTR)
                        fail_msg("poll: %s", strerror(errno));
                if (got > size / 2) {
                        memmove(buf, buf + got - 64, 64);
                        got = 64;
                }
                n = recv(h->peer, buf + got, size - 1 - got, MSG_DONTWAIT);
                if (n == 0 || (n < 0 && errno == ECONNRESET))
                        break;
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        continue;
                assert_true(n > 0);
                got += (size_t) n;
                all += (size_t) n;
        }
        buf[got] = '\0';
        if (total)
                *total = all;
        return got;
}

static void assert_output(struct harness *h, const char *want, size_t want_len) {
        char got[1024];
        size_t n = read_all(h, got, sizeof got, NULL);

        if (n != want_len || memcmp(got, want, n) != 0)
                fail_msg("the peer read %zu bytes '%s', expected %zu bytes '%s'", n, got, want_len,
                         want);
}

static void assert_output_ends_with(struct harness *h, const char *tail) {
        char got[1024];
        size_t n = read_all(h, got, sizeof got, NULL), len = strlen(tail);

        if (n < len || memcmp(got + n - len, tail, len) != 0)
                fail_msg("the peer read %zu bytes '%s', expected them to end with '%s'", n, got,
                         tail);
}

static void peer_send(struct harness *h, const char *data) {
        size_t len = strlen(data);

        assert_int_equal(send(h->peer, data, len, MSG_NOSIGNAL), (ssize_t) len);
}

/* A whole request, then our side of it done, as `nc -N` does. */
static void peer_request(struct harness *h, const char *frame) {
        peer_send(h, frame);
        assert_int_equal(shutdown(h->peer, SHUT_WR), 0);
}

/* A '+' request for command, its length counted. */
static void peer_command(struct harness *h, const char *command) {
        char frame[256];

        snprintf(frame, sizeof frame, "+%010zu%s", strlen(command), command);
        peer_request(h, frame);
}

/* Goes away with a RST: SO_LINGER 0, then close. */
static void peer_reset(struct harness *h) {
        struct linger l = {.l_onoff = 1, .l_linger = 0};

        assert_int_equal(setsockopt(h->peer, SOL_SOCKET, SO_LINGER, &l, sizeof l), 0);
        assert_int_equal(close(h->peer), 0);
        h->peer = -1;
}

/* A loopback TCP pair, accepted as nbnetd accepts: blocking, close-on-exec. */
static void tcp_pair(int *server_fd, int *client_fd) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof sa;
        int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(l >= 0);
        assert_int_equal(bind(l, (struct sockaddr *) &sa, sizeof sa), 0);
        assert_int_equal(listen(l, 1), 0);
        assert_int_equal(getsockname(l, (struct sockaddr *) &sa, &len), 0);
        *client_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(*client_fd >= 0);
        assert_int_equal(connect(*client_fd, (struct sockaddr *) &sa, sizeof sa), 0);
        *server_fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        assert_true(*server_fd >= 0);
        close(l);
}

/* The connection opens on a TCP pair (tcp) or a Unix socketpair. */
static void open_conn(struct harness *h, bool tcp) {
        struct sock_peer peer;
        int fd, sv[2];

        if (tcp)
                tcp_pair(&fd, &h->peer);
        else {
                assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
                fd = sv[0];
                h->peer = sv[1];
        }
        assert_int_equal(sock_peer_of(fd, &peer), 0);
        h->cfg.table = &h->table;
        if (conn_open(&h->conn, &h->cfg, fd, &peer, tcp) < 0) {
                close(fd);
                fail_msg("conn_open failed");
        }
        h->opened = true;
        assert_int_equal(h->conn.state, CONN_READING);
}

/* Writes a --commands table of one line into a file of the test's own. */
static void write_table(struct harness *h, const char *text) {
        int fd;

        if (!h->table_path[0]) {
                strcpy(h->table_path, "/tmp/test-conn-table.XXXXXX");
                fd = mkstemp(h->table_path);
        } else
                fd = open(h->table_path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
}

/* serves_many: nbnetd's census of orphans (orphans.h) and TMPDIR worker
 * (tmpdir.h), not nbnet-handler's. */
static int setup_with(void **state, bool serves_many) {
        struct harness *h = calloc(1, sizeof *h);

        if (!h)
                return -1;
        h->peer = -1;
        h->conn.fd = -1;
        serve_options_init(&h->opt);
        request_table_load(&h->table, NULL, "");
        if (sd_event_new(&h->event) < 0 ||
            conn_shared_init(&h->shared, h->event, &h->opt, 16, serves_many, environ) < 0 ||
            pipe2(fake_munged.answer, O_CLOEXEC) < 0 || pipe2(fake_munged.asked, O_CLOEXEC) < 0 ||
            pipe2(fake_nss.answer, O_CLOEXEC) < 0 || pipe2(fake_nss.asked, O_CLOEXEC) < 0)
                return -1;
        fake_munged.got[0] = '\0';
        fake_nss.stall = fake_nss.called = false;
        h->cfg = (struct conn_config){
                .event = h->event,
                .opt = &h->opt,
                .table = &h->table,
                .shared = &h->shared,
                .report = owner_report,
                .owner = h,
        };
        *state = h;
        return 0;
}

static int setup(void **state) {
        return setup_with(state, false);
}

static int setup_deferred(void **state) {
        return setup_with(state, true);
}

/* Even after a failed test: the command's group killed, the connection's
 * sources and socket released, every child reaped. */
static int teardown(void **state) {
        struct harness *h = *state;
        struct conn *c = &h->conn;

        if (h->opened && c->state != CONN_FREE) {
                if (c->pid > 0)
                        (void) kill(-c->pid, SIGKILL);
                c->io = sd_event_source_disable_unref(c->io);
                c->timer = sd_event_source_disable_unref(c->timer);
                c->child = sd_event_source_disable_unref(c->child);
                close(c->fd);
                frame_release(&c->frame);
        }
        while (waitpid(-1, NULL, __WALL) > 0)
                ;
        /* A command cut short: its TMPDIR, which its end would have removed. */
        if (h->opened && c->tmpdir[0] &&
            tmpdir_remove(&h->shared.tmpdirs, NULL, c->tmpdir, false) == 0)
                while (waitpid(-1, NULL, __WALL) > 0)
                        ;
        if (h->peer >= 0)
                close(h->peer);
        if (h->table_path[0])
                unlink(h->table_path);
        /* A decode that still waits for its answer ends: the worker can be joined. */
        munged_answer('n');
        assert_int_equal(write(fake_nss.answer[1], "n", 1), 1);
        conn_shared_release(&h->shared, true);
        for (int i = 0; i < 2; i++) {
                close(fake_munged.answer[i]);
                close(fake_munged.asked[i]);
                close(fake_nss.answer[i]);
                close(fake_nss.asked[i]);
                fake_munged.answer[i] = fake_munged.asked[i] = -1;
                fake_nss.answer[i] = fake_nss.asked[i] = -1;
        }
        request_table_release(&h->table);
        sd_event_unref(h->event);
        free(h);
        return 0;
}

static void test_a_complete_request_runs_and_gets_output_and_trailer(void **state) {
        struct harness *h = *state;

        open_conn(h, true);
        peer_command(h, "echo hello");
        run_until_event(h, CONN_EVENT_CLOSED, 2000);
        assert_events(h, "READY,ENDED,CLOSED");
        assert_int_equal(h->start_result, 0);
        assert_int_equal(h->conn.status, 0);
        assert_output(h, "hello\n" TRAILER_0, strlen("hello\n" TRAILER_0));
}

static void test_a_request_runs_on_a_unix_socket_too(void **state) {
        struct harness *h = *state;

        open_conn(h, false);
        peer_command(h, "echo out; exit 3");
        run_until_event(h, CONN_EVENT_CLOSED, 2000);
        assert_events(h, "READY,ENDED,CLOSED");
        assert_output(h, "out\n\x1eNBNET-STATUS 003\n", strlen("out\n\x1eNBNET-STATUS 003\n"));
}

static void test_a_request_without_plus_gets_no_trailer(void **state) {
        struct harness *h = *state;

        open_conn(h, true);
        peer_request(h, "0000000010echo hello");
        run_until_event(h, CONN_EVENT_CLOSED, 2000);
        assert_events(h, "READY,ENDED,CLOSED");
        assert_output(h, "hello\n", strlen("hello\n"));
}

static void test_the_command_is_running_between_ready_and_ended(void **state) {
        struct harness *h = *state;

        open_conn(h, true);
        peer_command(h, "sleep 30");
        run_until_event(h, CONN_EVENT_READY, 1000);
        assert_int_equal(h->start_result, 0);
        assert_int_equal(h->conn.state, CONN_RUNNING);
        assert_true(h->conn.pid > 0);
        /* Running: no end, no close, however long the loop turns. */
        run_for(h, 100);
        assert_events(h, "READY");
        assert_int_equal(kill(h->conn.pid, 0), 0);
}

static void test_a_bad_header_is_refused_with_status_125(void **state) {
        struct harness *h = *state;
        const char *trailer = "\n\x1eNBNET-STATUS 125\n";
        char got[512];
        size_t n;

        open_conn(h, true);
        peer_request(h, "+00000x0004true");
        run_until_event(h, CONN_EVENT_CLOSED, 1000);
        assert_events(h, "CLOSED");
        assert_int_equal(h->conn.end, REQUEST_BAD_FRAME);
        n = read_all(h, got, sizeof got, NULL);
        if (strncmp(got, "nbnet: bad header: byte 7 is 'x', not a digit", 45) != 0 ||
            n < strlen(trailer) || strcmp(got + n - strlen(trailer), trailer) != 0)
                fail_msg("expected 'nbnet: bad header: byte 7 is 'x'...' and trailer 125, got '%s'",
                         got);
}

static void test_a_too_long_command_is_refused_before_it_is_sent(void **state) {
        struct harness *h = *state;
        const char *want = "nbnet: command too long (100 > 16)\n\x1eNBNET-STATUS 125\n";

        h->opt.max_command = 16;
        open_conn(h, true);
        /* Only the header: the refusal must not wait for the 100 bytes. */
        peer_request(h, "+0000000100");
        run_until_event(h, CONN_EVENT_CLOSED, 1000);
        assert_events(h, "CLOSED");
        assert_output(h, want, strlen(want));
}

static void test_a_name_outside_the_commands_table_is_refused_with_126(void **state) {
        struct harness *h = *state;
        const char *want = "nbnet: command not allowed\n\x1eNBNET-STATUS 126\n";

        write_table(h, "hello = echo hi\n");
        request_table_load(&h->table, h->table_path, "never");
        assert_true(h->table.ok);
        open_conn(h, true);
        peer_request(h, "+0000000005other");
        run_until_event(h, CONN_EVENT_CLOSED, 1000);
        assert_events(h, "CLOSED");
        assert_int_equal(h->conn.end, REQUEST_NOT_ALLOWED);
        assert_output(h, want, strlen(want));
}

static void test_a_name_of_the_commands_table_runs_its_line(void **state) {
        struct harness *h = *state;

        write_table(h, "hello = echo hi\n");
        request_table_load(&h->table, h->table_path, "never");
        open_conn(h, true);
        peer_command(h, "hello");
        run_until_event(h, CONN_EVENT_CLOSED, 2000);
        assert_events(h, "READY,ENDED,CLOSED");
        assert_output(h, "hi\n" TRAILER_0, strlen("hi\n" TRAILER_0));
}

/* conn_start looks the name up again: SIGHUP may have replaced the table
 * while the request waited in the queue. */
static void test_a_queued_name_that_a_reload_removed_is_refused_at_start(void **state) {
        struct harness *h = *state;
        const char *want = "nbnet: command not allowed\n\x1eNBNET-STATUS 126\n";

        write_table(h, "hello = echo hi\n");
        request_table_load(&h->table, h->table_path, "never");
        h->on_ready = READY_QUEUE;
        open_conn(h, true);
        peer_command(h, "hello");
        run_until_state(h, CONN_QUEUED, 1000);
        write_table(h, "other = echo other\n");
        request_table_reload(&h->table);
        assert_int_equal(conn_start(&h->conn), -EACCES);
        run_until_event(h, CONN_EVENT_CLOSED, 1000);
        assert_events(h, "READY,CLOSED");
        assert_output(h, want, strlen(want));
}

static void test_a_table_that_would_not_load_refuses_with_125(void **state) {
        struct harness *h = *state;
        const char *want = "nbnet: server misconfigured (see its log)\n\x1eNBNET-STATUS 125\n";

        request_table_load(&h->table, "/nonexistent/test-conn-table", "never");
        assert_false(h->table.ok);
        open_conn(h, true);
        peer_command(h, "hello");
        run_until_event(h, CONN_EVENT_CLOSED, 1000);
        assert_events(h, "CLOSED");
        assert_output(h, want, strlen(want));
}

static void test_a_frame_in_one_byte_pieces_is_ready_once(void **state) {
        struct harness *h = *state;
        const char *frame = "+0000000007echo hi";

        open_conn(h, true);
        for (const char *p = frame; *p; p++) {
                char one[2] = {*p, '\0'};
                assert_events(h, "");
                peer_send(h, one);
                run_for(h, 2);
        }
        assert_int_equal(shutdown(h->peer, SHUT_WR), 0);
        run_until_event(h, CONN_EVENT_CLOSED, 2000);
        assert_events(h, "READY,ENDED,CLOSED");
        assert_output(h, "hi\n" TRAILER_0, strlen("hi\n" TRAILER_0));
}

static void test_a_peer_that_closes_while_reading_is_closed_without_ready(void **state) {
        struct harness *h = *state;

        open_conn(h, true);
        peer_send(h, "+00000");
        assert_int_equal(shutdown(h->peer, SHUT_WR), 0);
        run_until_event(h, CONN_EVENT_CLOSED, 1000);
        assert_events(h, "CLOSED");
        assert_int_equal(h->conn.end, REQUEST_CLIENT_LEFT);
        assert_output(h, "", 0);
}

static void test_a_peer_reset_while_reading_is_closed_without_ready(void **state) {
        struct harness *h = *state;

        open_conn(h, true);
        peer_send(h, "+00000");
        run_for(h, 20);
        assert_int_equal(h->conn.frame.consumed, 6);
        peer_reset(h);
        run_until_event(h, CONN_EVENT_CLOSED, 1000);
        assert_events(h, "CLOSED");
        assert_int_equal(h->conn.end, REQUEST_READ_FAILED);
}

static void test_a_peer_reset_while_running_kills_the_command_within_a_second(void **state) {
        struct harness *h = *state;
        pid_t pid;

        open_conn(h, true);
        peer_command(h, "sleep 30");
        run_until_state(h, CONN_RUNNING, 1000);
        pid = h->conn.pid;
        peer_reset(h);
        run_until_event(h, CONN_EVENT_CLOSED, 1000);
        assert_events(h, "READY,ENDED,CLOSED");
        assert_int_equal(h->conn.end, REQUEST_PEER_GONE);
        assert_int_equal(h->conn.status, 128 + SIGTERM);
        /* Reaped through its pidfd: not even a zombie is left. */
        assert_int_equal(kill(pid, 0), -1);
        assert_int_equal(errno, ESRCH);
}

static void test_a_peer_reset_while_queued_leaves_the_queue(void **state) {
        struct harness *h = *state;

        h->on_ready = READY_QUEUE;
        open_conn(h, true);
        peer_command(h, "true");
        run_until_state(h, CONN_QUEUED, 1000);
        assert_events(h, "READY");
        peer_reset(h);
        run_until_event(h, CONN_EVENT_CLOSED, 1000);
        assert_events(h, "READY,LEFT_QUEUE,CLOSED");
        assert_int_equal(h->conn.end, REQUEST_PEER_GONE);
        assert_int_equal(h->conn.pid, 0);
}

static void test_a_frame_that_does_not_arrive_in_time_is_closed(void **state) {
        struct harness *h = *state;
        uint64_t took;

        h->opt.request_timeout_usec = 150 * 1000;
        open_conn(h, true);
        peer_send(h, "+00000");
        took = run_until_event(h, CONN_EVENT_CLOSED, 2000);
        assert_events(h, "CLOSED");
        assert_int_equal(h->conn.end, REQUEST_FRAME_TIMEOUT);
        /* Not before the timeout: 150 ms from conn_open, less the set-up before the loop. */
        assert_true(took >= 100 * 1000);
        assert_output(h, "", 0);
}

static void test_a_queued_request_times_out_and_is_told_busy(void **state) {
        struct harness *h = *state;
        const char *want =
                "nbnet: busy (3 commands running); try again later\n\x1eNBNET-STATUS 125\n";

        h->opt.request_timeout_usec = 150 * 1000;
        h->on_ready = READY_QUEUE;
        open_conn(h, true);
        peer_command(h, "true");
        run_until_state(h, CONN_QUEUED, 1000);
        run_until_event(h, CONN_EVENT_QUEUE_TIMEOUT, 2000);
        assert_events(h, "READY,QUEUE_TIMEOUT");
        /* The owner decides: until it does, the connection waits in the queue. */
        assert_int_equal(h->conn.state, CONN_QUEUED);
        conn_refuse_queued(&h->conn, REQUEST_BUSY, 3);
        run_until_event(h, CONN_EVENT_CLOSED, 1000);
        assert_events(h, "READY,QUEUE_TIMEOUT,CLOSED");
        assert_output(h, want, strlen(want));
}

static void test_a_queued_request_starts_when_the_owner_says(void **state) {
        struct harness *h = *state;

        h->on_ready = READY_QUEUE;
        open_conn(h, true);
        peer_command(h, "echo later");
        run_until_state(h, CONN_QUEUED, 1000);
        run_for(h, 50);
        assert_int_equal(h->conn.state, CONN_QUEUED);
        assert_int_equal(conn_start(&h->conn), 0);
        run_until_event(h, CONN_EVENT_CLOSED, 2000);
        assert_events(h, "READY,ENDED,CLOSED");
        assert_output(h, "later\n" TRAILER_0, strlen("later\n" TRAILER_0));
}

static void test_a_command_over_its_timeout_gets_status_124(void **state) {
        struct harness *h = *state;

        h->opt.command_timeout_usec = 150 * 1000;
        open_conn(h, true);
        peer_command(h, "sleep 30");
        run_until_event(h, CONN_EVENT_CLOSED, 2000);
        assert_events(h, "READY,ENDED,CLOSED");
        assert_int_equal(h->conn.end, REQUEST_COMMAND_TIMEOUT);
        assert_output_ends_with(h, "\x1eNBNET-STATUS 124\n");
}

static void test_a_command_that_ignores_sigterm_is_killed_after_the_grace(void **state) {
        struct harness *h = *state;
        uint64_t took;

        h->opt.command_timeout_usec = 100 * 1000;
        open_conn(h, true);
        peer_command(h, "trap '' TERM; sleep 30");
        took = run_until_event(h, CONN_EVENT_CLOSED, 2000);
        assert_events(h, "READY,ENDED,CLOSED");
        /* The timeout, then the SIGKILL at the end of the grace. */
        assert_true(took >= 100 * 1000 + REQUEST_KILL_GRACE_USEC - 50 * 1000);
        assert_output_ends_with(h, "\x1eNBNET-STATUS 124\n");
}

static void test_a_background_child_of_the_command_ends_with_it(void **state) {
        struct harness *h = *state;
        uint64_t took;

        open_conn(h, true);
        peer_command(h, "sleep 30 & echo x");
        took = run_until_event(h, CONN_EVENT_CLOSED, 2000);
        assert_events(h, "READY,ENDED,CLOSED");
        /* SIGTERM at once, not the SIGKILL of the grace. */
        assert_true(took < REQUEST_KILL_GRACE_USEC);
        assert_output(h, "x\n" TRAILER_0, strlen("x\n" TRAILER_0));
}

/* Reaps what exited; whether no child is left (this process is a subreaper). */
static bool no_child_left(void) {
        pid_t pids[4];

        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
        return proc_children(pids, 4) == 0;
}

/* setsid: out of the command's group, which a group kill cannot reach, but
 * still holding the connection; as our orphan it is found by its socket. */
static void test_an_escaped_child_that_holds_the_connection_is_killed(void **state) {
        struct harness *h = *state;
        uint64_t took;

        open_conn(h, true);
        peer_command(h, "setsid sleep 30 & echo x");
        took = run_until_event(h, CONN_EVENT_CLOSED, 2000);
        assert_events(h, "READY,ENDED,CLOSED");
        assert_true(took < REQUEST_KILL_GRACE_USEC);
        assert_output(h, "x\n" TRAILER_0, strlen("x\n" TRAILER_0));
        assert_true(no_child_left());
}

/* nbnetd defers its census of orphans: the escaped child that holds the
 * connection does not hold the trailer back (the connection is shut down);
 * the census after sends it SIGTERM, and it is gone. */
static void test_a_deferred_census_ends_an_escaped_holder_after_the_trailer(void **state) {
        struct harness *h = *state;
        uint64_t deadline;

        open_conn(h, true);
        peer_command(h, "setsid sleep 30 & echo x");
        (void) run_until_event(h, CONN_EVENT_CLOSED, 2000);
        assert_events(h, "READY,ENDED,CLOSED");
        assert_output(h, "x\n" TRAILER_0, strlen("x\n" TRAILER_0));
        deadline = clock_now_usec() + 2 * USEC_PER_SEC;
        while (!no_child_left() && clock_now_usec() < deadline)
                assert_true(sd_event_run(h->event, 10 * USEC_PER_MSEC) >= 0);
        assert_true(no_child_left());
}

/* Fills the connection's socket as a command's output would, while the
 * peer reads nothing, until a send would block. On a Unix socket: TCP may
 * still take a few bytes after an EAGAIN (ACKs in flight, the send buffer's
 * growth), and the trailer would then not wait. */
static void fill_socket(struct harness *h) {
        static const char zeros[65536];

        while (send(h->conn.fd, zeros, sizeof zeros, MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
                ;
        assert_int_equal(errno, EAGAIN);
}

/* A client that reads nothing: the trailer waits for room (SENDING), and
 * goes once the peer reads. */
static void test_the_trailer_waits_for_room_in_the_socket(void **state) {
        struct harness *h = *state;
        static char got[65536];
        size_t n, total;

        open_conn(h, false);
        peer_command(h, "sleep 0.2");
        run_until_state(h, CONN_RUNNING, 1000);
        fill_socket(h);
        run_until_state(h, CONN_SENDING, 2000);
        assert_events(h, "READY,ENDED");
        n = read_all(h, got, sizeof got, &total);
        assert_events(h, "READY,ENDED,CLOSED");
        assert_true(total > FRAME_TRAILER_SIZE);
        assert_true(n >= FRAME_TRAILER_SIZE);
        assert_memory_equal(got + n - FRAME_TRAILER_SIZE, TRAILER_0, FRAME_TRAILER_SIZE);
}

/* Not the send timeout (10 s): a reset ends the wait for room at once. */
static void test_a_peer_reset_while_sending_closes_at_once(void **state) {
        struct harness *h = *state;

        open_conn(h, false);
        peer_command(h, "sleep 0.2");
        run_until_state(h, CONN_RUNNING, 1000);
        fill_socket(h);
        run_until_state(h, CONN_SENDING, 2000);
        peer_reset(h);
        run_until_event(h, CONN_EVENT_CLOSED, 1000);
        assert_events(h, "READY,ENDED,CLOSED");
}

/* Its response sent, the connection reads until the client's EOF: closing
 * earlier, with input unread, would send a RST. */
static void test_the_connection_drains_until_the_peer_closes(void **state) {
        struct harness *h = *state;

        open_conn(h, true);
        peer_send(h, "+0000000007echo hitrailing bytes");
        run_until_event(h, CONN_EVENT_ENDED, 2000);
        run_for(h, 100);
        assert_int_equal(h->conn.state, CONN_DRAINING);
        assert_events(h, "READY,ENDED");
        assert_int_equal(shutdown(h->peer, SHUT_WR), 0);
        run_until_event(h, CONN_EVENT_CLOSED, 1000);
        assert_output(h, "hi\n" TRAILER_0, strlen("hi\n" TRAILER_0));
}

static void test_conn_stop_while_reading_closes_at_once(void **state) {
        struct harness *h = *state;

        open_conn(h, true);
        peer_send(h, "+00000");
        run_for(h, 20);
        assert_int_equal(h->conn.frame.consumed, 6);
        conn_stop(&h->conn);
        assert_events(h, "CLOSED");
        assert_int_equal(h->conn.state, CONN_FREE);
        assert_int_equal(h->conn.end, REQUEST_STOPPED_READING);
        assert_output(h, "", 0);
}

static void test_conn_stop_leaves_a_running_command_alone(void **state) {
        struct harness *h = *state;

        open_conn(h, true);
        peer_command(h, "sleep 30");
        run_until_state(h, CONN_RUNNING, 1000);
        conn_stop(&h->conn);
        run_for(h, 50);
        assert_int_equal(h->conn.state, CONN_RUNNING);
        assert_events(h, "READY");
}

static void test_conn_kill_while_running_gives_status_143(void **state) {
        struct harness *h = *state;

        open_conn(h, true);
        peer_command(h, "sleep 30");
        run_until_state(h, CONN_RUNNING, 1000);
        conn_kill(&h->conn, REQUEST_STOP_TIMEOUT);
        run_until_event(h, CONN_EVENT_CLOSED, 1500);
        assert_events(h, "READY,ENDED,CLOSED");
        assert_int_equal(h->conn.status, 128 + SIGTERM);
        assert_output_ends_with(h, "\x1eNBNET-STATUS 143\n");
}

/* Its TMPDIR: made for it (0700, its own), gone with what it left there
 * once the command is over. */
static void test_a_command_gets_a_tmpdir_of_its_own_that_goes_with_it(void **state) {
        struct harness *h = *state;
        char got[1024], path[SPAWN_TMPDIR_MAX];
        struct stat st;
        size_t n;

        open_conn(h, true);
        peer_command(
                h, "echo \"$TMPDIR\"; stat -c %a \"$TMPDIR\"; mkdir $TMPDIR/d; touch $TMPDIR/d/f");
        run_until_state(h, CONN_RUNNING, 1000);
        memcpy(path, h->conn.tmpdir, sizeof path);
        assert_int_equal(strncmp(path, h->shared.tmpdirs.path, strlen(h->shared.tmpdirs.path)), 0);
        n = read_all(h, got, sizeof got, NULL);
        assert_true(n > strlen(path));
        assert_memory_equal(got, path, strlen(path));
        assert_memory_equal(got + strlen(path), "\n700\n", 5);
        /* The remover runs as the command's user; reaped here as nbnetd would on SIGCHLD. */
        for (int i = 0; i < 200 && stat(path, &st) == 0; i++) {
                tmpdir_reap(&h->shared.tmpdirs);
                run_for(h, 10);
        }
        assert_int_equal(stat(path, &st), -1);
        assert_int_equal(errno, ENOENT);
}

/* A command whose child cannot set itself up (here its TMPDIR: the
 * server's directory is gone) fails after the spawn returned: the client
 * is told why, 125, and the running slot is given back as not started. */
static void test_a_command_whose_child_cannot_set_up_is_told_and_125(void **state) {
        struct harness *h = *state;

        assert_int_equal(rmdir(h->shared.tmpdirs.path), 0);
        open_conn(h, true);
        peer_command(h, "echo not reached");
        assert_output(
                h, "nbnet: cannot run the command: No such file or directory\n\x1eNBNET-STATUS 125\n",
                strlen("nbnet: cannot run the command: No such file or directory\n") +
                        FRAME_TRAILER_SIZE);
        run_until_event(h, CONN_EVENT_CLOSED, 1000);
        assert_events(h, "READY,NOT_STARTED,CLOSED");
        assert_int_equal(h->conn.end, REQUEST_SPAWN_FAILED);
        assert_int_equal(h->conn.status, NBNET_STATUS_NOT_RUN);
}

/* A command that ignores SIGTERM: the grace, then SIGKILL, each a state. */
static void test_conn_kill_of_a_command_that_ignores_sigterm_gives_137(void **state) {
        struct harness *h = *state;
        uint64_t took;

        open_conn(h, true);
        peer_command(h, "trap '' TERM; echo ready; sleep 30");
        run_until_state(h, CONN_RUNNING, 1000);
        run_for(h, 100);
        conn_kill(&h->conn, REQUEST_STOP_TIMEOUT);
        assert_int_equal(h->conn.state, CONN_STOP_SIGTERM);
        took = run_until_event(h, CONN_EVENT_ENDED, 2000);
        assert_true(took >= REQUEST_KILL_GRACE_USEC - 50 * USEC_PER_MSEC);
        run_until_event(h, CONN_EVENT_CLOSED, 1000);
        assert_int_equal(h->conn.status, 128 + SIGKILL);
        assert_int_equal(h->conn.end, REQUEST_STOP_TIMEOUT);
        assert_output(h, "ready\n\x1eNBNET-STATUS 137\n", strlen("ready\n\x1eNBNET-STATUS 137\n"));
}

/* The main exits while a background child ignores SIGTERM: the final
 * states give it the grace, then SIGKILL; the trailer waits for its end. */
static void test_a_background_child_that_ignores_sigterm_ends_in_the_final_states(void **state) {
        struct harness *h = *state;

        open_conn(h, true);
        peer_command(h, "(trap '' TERM; sleep 30) & sleep 0.1; echo main done");
        run_until_state(h, CONN_FINAL_SIGTERM, 2000);
        assert_events(h, "READY");
        run_until_state(h, CONN_FINAL_SIGKILL, 1000);
        run_until_event(h, CONN_EVENT_CLOSED, 2000);
        assert_events(h, "READY,ENDED,CLOSED");
        assert_int_equal(h->conn.status, 0);
        assert_output(h, "main done\n" TRAILER_0, strlen("main done\n" TRAILER_0));
}

/* A reset while the command is being killed changes neither why it ended nor
 * its status: the command timeout's 124 stands. */
static void test_a_reset_while_stopping_keeps_the_timeout(void **state) {
        struct harness *h = *state;

        h->opt.command_timeout_usec = 100 * USEC_PER_MSEC;
        open_conn(h, true);
        peer_command(h, "trap '' TERM; sleep 30");
        run_until_state(h, CONN_STOP_SIGTERM, 1000);
        peer_reset(h);
        run_until_event(h, CONN_EVENT_CLOSED, 2000);
        assert_int_equal(h->conn.end, REQUEST_COMMAND_TIMEOUT);
        assert_int_equal(h->conn.status, NBNET_STATUS_TIMEOUT);
}

/* A '+@' request for LINE, as the fake munged's credential "MUNGE:LINE:",
 * then what follows (the command's input with '<'), then our side done. */
static void peer_credential(struct harness *h, const char *flags, const char *line,
                            const char *after) {
        char frame[256];
        int n = snprintf(frame, sizeof frame, "+%s%010zuMUNGE:%s:%s", flags,
                         strlen("MUNGE:") + strlen(line) + 1, line, after);

        assert_true(n > 0 && (size_t) n < sizeof frame);
        peer_request(h, frame);
}

/* The loop has read the frame and the worker asks munged. */
static void run_until_decoding(struct harness *h) {
        run_until_state(h, CONN_DECODING, 1000);
        munged_wait_asked();
}

/* The connection closed while its decode went on: munged's answer, when it
 * comes, goes nowhere and nothing runs. */
static void assert_late_answer_goes_nowhere(struct harness *h) {
        assert_null(h->conn.auth_job);
        munged_answer('y');
        run_for(h, 100);
        assert_events(h, "CLOSED");
        assert_int_equal(h->conn.pid, 0);
}

/* A connection whose credential for LINE (then AFTER) the worker is decoding. */
static void open_decoding(struct harness *h, const char *flags, const char *line, const char *after) {
        open_conn(h, true);
        peer_credential(h, flags, line, after);
        run_until_decoding(h);
}

static void test_a_credential_is_decoded_off_the_loop_then_its_command_runs(void **state) {
        struct harness *h = *state;

        open_decoding(h, "@", "echo hi", "");
        /* The loop turns while the decode waits: nothing is ready, nothing read. */
        run_for(h, 50);
        assert_int_equal(h->conn.state, CONN_DECODING);
        assert_events(h, "");
        assert_string_equal(fake_munged.got, "MUNGE:echo hi:");
        munged_answer('y');
        run_until_event(h, CONN_EVENT_CLOSED, 2000);
        assert_events(h, "READY,ENDED,CLOSED");
        assert_true(h->conn.who.known);
        assert_int_equal(h->conn.who.uid, getuid());
        assert_null(h->conn.auth_job);
        assert_output(h, "hi\n" TRAILER_0, strlen("hi\n" TRAILER_0));
}

/* With '<', what follows the frame is the command's: the decode must not eat it. */
static void test_the_input_after_a_credential_is_left_for_the_command(void **state) {
        struct harness *h = *state;

        open_decoding(h, "<@", "cat", "the input");
        run_for(h, 50);
        munged_answer('y');
        run_until_event(h, CONN_EVENT_CLOSED, 2000);
        assert_events(h, "READY,ENDED,CLOSED");
        assert_output(h, "the input" TRAILER_0, strlen("the input" TRAILER_0));
}

static void test_munged_that_cannot_be_asked_gives_125(void **state) {
        struct harness *h = *state;
        const char *want = "nbnet: cannot check the MUNGE credential: Socket communication "
                           "error\n\x1eNBNET-STATUS 125\n";

        open_decoding(h, "@", "echo hi", "");
        munged_answer('n');
        run_until_event(h, CONN_EVENT_CLOSED, 2000);
        assert_events(h, "CLOSED");
        assert_int_equal(h->conn.end, REQUEST_MUNGE_UNAVAILABLE);
        assert_false(h->conn.who.known);
        assert_output(h, want, strlen(want));
}

static void test_a_peer_reset_while_decoding_cancels_the_decode(void **state) {
        struct harness *h = *state;

        open_decoding(h, "@", "echo hi", "");
        run_for(h, 20);
        assert_int_equal(h->conn.state, CONN_DECODING);
        peer_reset(h);
        run_until_event(h, CONN_EVENT_CLOSED, 1000);
        assert_events(h, "CLOSED");
        assert_int_equal(h->conn.end, REQUEST_PEER_GONE);
        assert_late_answer_goes_nowhere(h);
}

static void test_a_decode_past_the_request_timeout_is_refused_125(void **state) {
        struct harness *h = *state;
        const char *want = "nbnet: cannot check the MUNGE credential: munged did not answer in "
                           "time\n\x1eNBNET-STATUS 125\n";
        uint64_t start = clock_now_usec(), took;

        h->opt.request_timeout_usec = 150 * 1000;
        open_conn(h, true);
        /* The frame's tail 100 ms late: the timeout still counts from conn_open. */
        peer_send(h, "+@0000000014MUNGE:");
        run_for(h, 100);
        peer_request(h, "echo hi:");
        run_until_decoding(h);
        run_until_event(h, CONN_EVENT_CLOSED, 2000);
        took = clock_now_usec() - start;
        assert_events(h, "CLOSED");
        assert_int_equal(h->conn.end, REQUEST_MUNGE_UNAVAILABLE);
        if (took < 150 * 1000 || took >= 230 * 1000)
                fail_msg("refused %llu ms after conn_open, expected 150 ms (the request timeout)",
                         (unsigned long long) (took / 1000));
        assert_output(h, want, strlen(want));
        assert_late_answer_goes_nowhere(h);
}

static void test_conn_stop_while_decoding_says_the_server_stops(void **state) {
        struct harness *h = *state;
        const char *want = "nbnet: busy (the server is stopping)\n\x1eNBNET-STATUS 125\n";

        open_decoding(h, "@", "echo hi", "");
        run_for(h, 20);
        conn_stop(&h->conn);
        assert_null(h->conn.auth_job);
        run_until_event(h, CONN_EVENT_CLOSED, 1000);
        assert_events(h, "CLOSED");
        assert_int_equal(h->conn.end, REQUEST_STOPPED_QUEUED);
        assert_output(h, want, strlen(want));
        assert_late_answer_goes_nowhere(h);
}

/* The requester's user is looked up (NSS: maybe LDAP, seconds) on the
 * decoding thread, after the decode: the loop turns on meanwhile, and the
 * name it found is the log's. */
static void test_the_requesters_user_is_looked_up_off_the_loop(void **state) {
        struct harness *h = *state;
        struct pollfd p = {.fd = fake_nss.asked[0], .events = POLLIN};
        pthread_t loop = pthread_self();
        char byte;

        fake_nss.stall = true;
        open_decoding(h, "@", "echo hi", "");
        munged_answer('y');
        if (poll(&p, 1, 2000) != 1)
                fail_msg("the decoding thread did not look the user up within 2 s");
        assert_int_equal(read(p.fd, &byte, 1), 1);
        /* NSS stalls: the loop still turns, and the request still waits. */
        run_for(h, 50);
        assert_int_equal(h->conn.state, CONN_DECODING);
        assert_events(h, "");
        assert_true(fake_nss.called);
        assert_false(pthread_equal(fake_nss.thread, loop));
        assert_int_equal(write(fake_nss.answer[1], "y", 1), 1);
        run_until_event(h, CONN_EVENT_CLOSED, 2000);
        assert_events(h, "READY,ENDED,CLOSED");
        assert_string_equal(h->conn.who.user, "nbtest-fake");
        assert_false(h->conn.who.runs_as_requester);
        assert_output(h, "hi\n" TRAILER_0, strlen("hi\n" TRAILER_0));
}

/* A request without '@' is judged on the loop at once: nothing is looked up. */
static void test_a_plain_request_looks_nobody_up(void **state) {
        struct harness *h = *state;

        open_conn(h, true);
        peer_command(h, "echo plain");
        run_until_event(h, CONN_EVENT_CLOSED, 2000);
        assert_output(h, "plain\n" TRAILER_0, strlen("plain\n" TRAILER_0));
        assert_false(fake_nss.called);
}

/* '~' names the user a command would run as (the server's, here): it runs;
 * another user: refused 126, nothing run. */
static void test_a_tilde_user_runs_only_as_the_command_user(void **state) {
        struct harness *h = *state;
        char frame[128], want[128];

        open_conn(h, true);
        snprintf(frame, sizeof frame, "+~%02zu%s%010zu%s", strlen(h->shared.command_user),
                 h->shared.command_user, strlen("echo same"), "echo same");
        peer_request(h, frame);
        run_until_event(h, CONN_EVENT_CLOSED, 2000);
        assert_output(h, "same\n" TRAILER_0, strlen("same\n" TRAILER_0));
        close(h->peer);
        h->peer = -1;
        h->n_events = 0;
        open_conn(h, true);
        peer_request(h, "+~08nbtest-x0000000007echo no");
        run_until_event(h, CONN_EVENT_CLOSED, 2000);
        assert_events(h, "CLOSED");
        assert_int_equal(h->conn.end, REQUEST_WRONG_USER);
        snprintf(want, sizeof want, "nbnet: cannot run as nbtest-x here\n\x1eNBNET-STATUS 126\n");
        assert_output(h, want, strlen(want));
}

static void count_decoded(void *userdata, struct auth_decoded *d) {
        int *count = userdata;

        assert_int_equal(d->result, AUTH_OK);
        (*count)++;
}

/* authq alone: a job the worker has not taken yet is freed at once and never
 * decoded; the one being decoded is delivered. */
static void test_a_job_cancelled_before_the_worker_takes_it_is_never_decoded(void **state) {
        struct harness *h = *state;
        struct authq_job *first, *second;
        int first_done = 0, second_done = 0;
        struct pollfd p = {.fd = fake_munged.asked[0], .events = POLLIN};

        assert_int_equal(authq_submit(&h->shared.authq, "MUNGE:true:", 11, count_decoded,
                                      &first_done, &first),
                         0);
        munged_wait_asked();
        assert_int_equal(authq_submit(&h->shared.authq, "MUNGE:false:", 12, count_decoded,
                                      &second_done, &second),
                         0);
        authq_cancel(&h->shared.authq, second);
        munged_answer('y');
        while (first_done == 0)
                assert_true(sd_event_run(h->event, 2000 * 1000) > 0);
        run_for(h, 50);
        assert_int_equal(first_done, 1);
        assert_int_equal(second_done, 0);
        /* The second was never asked for. */
        assert_int_equal(poll(&p, 1, 0), 0);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                TEST(test_a_complete_request_runs_and_gets_output_and_trailer),
                TEST(test_a_request_runs_on_a_unix_socket_too),
                TEST(test_a_request_without_plus_gets_no_trailer),
                TEST(test_the_command_is_running_between_ready_and_ended),
                TEST(test_a_bad_header_is_refused_with_status_125),
                TEST(test_a_too_long_command_is_refused_before_it_is_sent),
                TEST(test_a_name_outside_the_commands_table_is_refused_with_126),
                TEST(test_a_name_of_the_commands_table_runs_its_line),
                TEST(test_a_queued_name_that_a_reload_removed_is_refused_at_start),
                TEST(test_a_table_that_would_not_load_refuses_with_125),
                TEST(test_a_frame_in_one_byte_pieces_is_ready_once),
                TEST(test_a_peer_that_closes_while_reading_is_closed_without_ready),
                TEST(test_a_peer_reset_while_reading_is_closed_without_ready),
                TEST(test_a_peer_reset_while_running_kills_the_command_within_a_second),
                TEST(test_a_peer_reset_while_queued_leaves_the_queue),
                TEST(test_a_frame_that_does_not_arrive_in_time_is_closed),
                TEST(test_a_queued_request_times_out_and_is_told_busy),
                TEST(test_a_queued_request_starts_when_the_owner_says),
                TEST(test_a_command_over_its_timeout_gets_status_124),
                TEST(test_a_command_that_ignores_sigterm_is_killed_after_the_grace),
                TEST(test_a_background_child_of_the_command_ends_with_it),
                TEST(test_an_escaped_child_that_holds_the_connection_is_killed),
                cmocka_unit_test_setup_teardown(
                        test_a_deferred_census_ends_an_escaped_holder_after_the_trailer,
                        setup_deferred, teardown),
                TEST(test_the_trailer_waits_for_room_in_the_socket),
                TEST(test_a_peer_reset_while_sending_closes_at_once),
                TEST(test_the_connection_drains_until_the_peer_closes),
                TEST(test_conn_stop_while_reading_closes_at_once),
                TEST(test_conn_stop_leaves_a_running_command_alone),
                TEST(test_conn_kill_while_running_gives_status_143),
                TEST(test_a_command_gets_a_tmpdir_of_its_own_that_goes_with_it),
                TEST(test_a_command_whose_child_cannot_set_up_is_told_and_125),
                TEST(test_conn_kill_of_a_command_that_ignores_sigterm_gives_137),
                TEST(test_a_background_child_that_ignores_sigterm_ends_in_the_final_states),
                TEST(test_a_reset_while_stopping_keeps_the_timeout),
                TEST(test_a_credential_is_decoded_off_the_loop_then_its_command_runs),
                TEST(test_the_input_after_a_credential_is_left_for_the_command),
                TEST(test_munged_that_cannot_be_asked_gives_125),
                TEST(test_a_peer_reset_while_decoding_cancels_the_decode),
                TEST(test_a_decode_past_the_request_timeout_is_refused_125),
                TEST(test_conn_stop_while_decoding_says_the_server_stops),
                TEST(test_a_job_cancelled_before_the_worker_takes_it_is_never_decoded),
                TEST(test_the_requesters_user_is_looked_up_off_the_loop),
                TEST(test_a_plain_request_looks_nobody_up),
                TEST(test_a_tilde_user_runs_only_as_the_command_user),
        };

        /* As nbnetd's main: a client that goes away must not kill us, and the
         * orphans of commands are ours to find (conn_on_child relies on it). */
        if (signal(SIGPIPE, SIG_IGN) == SIG_ERR || prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
                perror("test-conn: set-up");
                return 1;
        }
        log_init("test-conn", -1);
        return cmocka_run_group_tests_name("conn", tests, NULL, NULL);
}

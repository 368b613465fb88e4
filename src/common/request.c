/* SPDX-License-Identifier: MIT */
#include "request.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "log.h"
#include "spawn.h"

#define LINE_PREFIX "nbnet: "

static const struct request_end_info request_ends[REQUEST_END_COUNT] = {
        [REQUEST_RAN] = {NULL, NULL, -1, true},
        [REQUEST_CLIENT_LEFT] = {"client closed before sending a whole frame", NULL, -1, false},
        [REQUEST_READ_FAILED] = {NULL, NULL, -1, false},
        [REQUEST_FRAME_TIMEOUT] = {"request timeout: the frame did not arrive in time", NULL, -1,
                                   false},
        [REQUEST_STOPPED_READING] = {"server stopping before the frame arrived", NULL, -1, false},
        [REQUEST_BAD_FRAME] = {NULL, NULL, SPAWN_STATUS_NOT_RUN, true},
        [REQUEST_MISCONFIGURED] = {"server misconfigured (see its log)",
                                   LINE_PREFIX "server misconfigured (see its log)",
                                   SPAWN_STATUS_NOT_RUN, true},
        [REQUEST_NOT_ALLOWED] = {"command not allowed", LINE_PREFIX "command not allowed",
                                 SPAWN_STATUS_REFUSED, true},
        [REQUEST_NO_MUNGE] = {"MUNGE credential, and no MUNGE support",
                              LINE_PREFIX "this server does not check MUNGE credentials ('@')",
                              SPAWN_STATUS_NOT_RUN, true},
        [REQUEST_NO_MEMORY] = {"server out of memory", LINE_PREFIX "server out of memory",
                               SPAWN_STATUS_NOT_RUN, true},
        /* The line names the errno: the caller builds it. */
        [REQUEST_SPAWN_FAILED] = {"spawn failed", NULL, SPAWN_STATUS_NOT_RUN, true},
        /* The line names the running count: the caller builds it. */
        [REQUEST_BUSY] = {"busy: the queue wait exceeded the request timeout", NULL,
                          SPAWN_STATUS_NOT_RUN, true},
        [REQUEST_STOPPED_QUEUED] = {"server stopping", LINE_PREFIX "busy (the server is stopping)",
                                    SPAWN_STATUS_NOT_RUN, true},
        /* Nobody is there to read a trailer. */
        [REQUEST_PEER_GONE] = {"peer reset or connection error", NULL, -1, false},
        [REQUEST_COMMAND_TIMEOUT] = {"command timeout", NULL, SPAWN_STATUS_TIMEOUT, true},
        [REQUEST_STOPPED_RUNNING] = {"server stopping: command killed", NULL, -1, true},
        [REQUEST_STOP_TIMEOUT] = {"server stopping: --stop-timeout passed", NULL, -1, true},
        [REQUEST_RESPONSE_UNREAD] = {"the client did not read its response", NULL, -1, true},
        [REQUEST_EVICTED] = {"evicted: the server was full (--max-connections) and it had waited "
                             "longest for its request",
                             NULL, -1, false},
};

const struct request_end_info *request_end_info(enum request_end end) {
        return &request_ends[end < REQUEST_END_COUNT ? end : REQUEST_RAN];
}

bool request_wants_trailer(const struct frame *f, enum request_end end, int status) {
        return f->want_status && status >= 0 && request_end_info(end)->trailer;
}

size_t request_format_refusal(char *buf, size_t size, const char *line, bool with_trailer,
                              int status) {
        size_t room = size - (with_trailer ? FRAME_TRAILER_SIZE : 0);
        int n = snprintf(buf, room, "%s\n", line);
        size_t len = n < 0 ? 0 : (size_t) n;

        if (len >= room) {
                /* Cut, but still one line. */
                len = room - 1;
                buf[len - 1] = '\n';
        }
        if (with_trailer) {
                frame_format_trailer(buf + len, status);
                len += FRAME_TRAILER_SIZE;
        }
        return len;
}

int request_prepare_server(void) {
        if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
                return log_error_errno(errno, "signal SIGPIPE");
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                return log_error_errno(errno, "prctl PR_SET_CHILD_SUBREAPER");
        return 0;
}

void request_commands_load(struct request_commands *c, const char *path, const char *until) {
        char why[512];
        int r;

        *c = (struct request_commands){.path = path, .ok = true};
        if (!path)
                return;
        r = policy_load_commands(&c->table, path, why, sizeof why);
        /* why names the file, the line and the cause: no errno text after it. */
        if (r < 0)
                log_error("--commands %s; every request is refused until %s", why, until);
        c->ok = r >= 0;
}

void request_commands_reload(struct request_commands *c) {
        struct policy_table table;
        char why[512];
        int r;

        if (!c->path)
                return;
        r = policy_load_commands(&table, c->path, why, sizeof why);
        if (r < 0) {
                log_warning("SIGHUP: --commands %s; %s", why,
                            c->ok ? "keeping the table in force"
                                  : "still no table: requests are refused");
                return;
        }
        policy_table_release(&c->table);
        c->table = table;
        c->ok = true;
        log_info("SIGHUP: --commands %s reloaded, %zu command%s", c->path, table.count,
                 table.count == 1 ? "" : "s");
}

void request_commands_release(struct request_commands *c) {
        policy_table_release(&c->table);
        c->ok = false;
}

const char *request_command(const struct request_commands *c, const struct frame *f,
                            enum request_end *end) {
        const char *command;

        *end = REQUEST_RAN;
        if (f->munge) {
                *end = REQUEST_NO_MUNGE;
                return NULL;
        }
        if (!c->path)
                return f->command;
        if (!c->ok) {
                *end = REQUEST_MISCONFIGURED;
                return NULL;
        }
        command = policy_lookup(&c->table, f->command);
        if (!command)
                *end = REQUEST_NOT_ALLOWED;
        return command;
}

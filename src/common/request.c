/* SPDX-License-Identifier: MIT */
/* What a request is, for both servers (request.h). */
#include "request.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth.h"
#include "log.h"
#include "policy.h"
#include "spawn.h"

#define LINE_PREFIX "nbnet: "

static const struct request_end_info request_ends[REQUEST_END_COUNT] = {
        [REQUEST_RAN] = {"ran", NULL, NULL, -1, true},
        [REQUEST_CLIENT_LEFT] = {"client_left", "client closed before sending a whole frame", NULL,
                                 -1, false},
        [REQUEST_READ_FAILED] = {"read_failed", NULL, NULL, -1, false},
        [REQUEST_FRAME_TIMEOUT] = {"frame_timeout",
                                   "request timeout: the frame did not arrive in time", NULL, -1,
                                   false},
        [REQUEST_STOPPED_READING] = {"stopped_reading", "server stopping before the frame arrived",
                                     NULL, -1, false},
        [REQUEST_BAD_FRAME] = {"bad_frame", NULL, NULL, NBNET_STATUS_NOT_RUN, true},
        [REQUEST_MISCONFIGURED] = {"misconfigured", "server misconfigured (see its log)",
                                   LINE_PREFIX "server misconfigured (see its log)",
                                   NBNET_STATUS_NOT_RUN, true},
        [REQUEST_NOT_ALLOWED] = {"not_allowed", "command not allowed",
                                 LINE_PREFIX "command not allowed", NBNET_STATUS_REFUSED, true},
        [REQUEST_AUTH_REQUIRED] = {"auth_required", "no MUNGE credential, and --munge requires one",
                                   LINE_PREFIX "authentication required", NBNET_STATUS_REFUSED, true},
        /* The line is MUNGE's own reason (munge_strerror): the caller builds it. */
        [REQUEST_MUNGE_REFUSED] = {"munge_refused", NULL, NULL, NBNET_STATUS_REFUSED, true},
        [REQUEST_MUNGE_UNAVAILABLE] = {"munge_unavailable", NULL, NULL, NBNET_STATUS_NOT_RUN, true},
        [REQUEST_USER_NOT_ALLOWED] = {"user_not_allowed",
                                      "user not allowed (--allow-uid, --allow-group)",
                                      LINE_PREFIX "user not allowed", NBNET_STATUS_REFUSED, true},
        [REQUEST_ROOT_REFUSED] = {"root_refused",
                                  "root's commands refused (--run-as-requester without "
                                  "--allow-uid root)",
                                  LINE_PREFIX
                                  "root's commands are refused here (--allow-uid root allows them)",
                                  NBNET_STATUS_REFUSED, true},
        /* The lines name the uid or the user: the caller builds them. */
        [REQUEST_USER_UNKNOWN] = {"user_unknown",
                                  "the credential's uid has no user here (--run-as-requester)",
                                  NULL, NBNET_STATUS_REFUSED, true},
        [REQUEST_LOOKUP_FAILED] = {"user_lookup_failed", NULL, NULL, NBNET_STATUS_NOT_RUN, true},
        [REQUEST_WRONG_USER] = {"wrong_user", "'~' names a user the command would not run as", NULL,
                                NBNET_STATUS_REFUSED, true},
        [REQUEST_NO_MEMORY] = {"no_memory", "server out of memory",
                               LINE_PREFIX "server out of memory", NBNET_STATUS_NOT_RUN, true},
        /* The line names the errno: the caller builds it. */
        [REQUEST_SPAWN_FAILED] = {"spawn_failed", "spawn failed", NULL, NBNET_STATUS_NOT_RUN, true},
        /* The line names the running count: the caller builds it. */
        [REQUEST_BUSY] = {"busy", "busy: the queue wait exceeded the request timeout", NULL,
                          NBNET_STATUS_NOT_RUN, true},
        [REQUEST_STOPPED_QUEUED] = {"stopped_queued", "server stopping",
                                    LINE_PREFIX "busy (the server is stopping)",
                                    NBNET_STATUS_NOT_RUN, true},
        /* Nobody is there to read a trailer. */
        [REQUEST_PEER_GONE] = {"peer_gone", "peer reset or connection error", NULL, -1, false},
        [REQUEST_COMMAND_TIMEOUT] = {"command_timeout", "command timeout", NULL,
                                     NBNET_STATUS_TIMEOUT, true},
        [REQUEST_MEMORY_LIMIT] = {"memory_limit", "out of memory: killed at --limit-memory", NULL,
                                  -1, true},
        [REQUEST_STOPPED_RUNNING] = {"stopped_running", "server stopping: command killed", NULL, -1,
                                     true},
        [REQUEST_STOP_TIMEOUT] = {"stop_timeout", "server stopping: --stop-timeout passed", NULL,
                                  -1, true},
        [REQUEST_STOP_AGAIN] = {"stop_again",
                                "server stopping: a second stop signal killed the command", NULL,
                                -1, true},
        [REQUEST_RESPONSE_UNREAD] = {"response_unread", "the client did not read its response",
                                     NULL, -1, true},
        [REQUEST_EVICTED] = {"evicted",
                             "evicted: the server was full (--max-connections) and it had waited "
                             "longest for its request",
                             NULL, -1, false},
        [REQUEST_NO_CHANNEL] = {"no_channel",
                                "the stderr channel did not arrive within the request timeout",
                                LINE_PREFIX "the stderr channel did not arrive",
                                NBNET_STATUS_NOT_RUN, true},
        [REQUEST_TOKEN_IN_USE] = {"token_in_use",
                                  "bad request: a connection with its token already waits",
                                  LINE_PREFIX "bad request: the token is already in use",
                                  NBNET_STATUS_NOT_RUN, true},
        [REQUEST_CHANNEL_LOST] = {"channel_lost",
                                  "the stderr channel was reset before the command "
                                  "ran",
                                  LINE_PREFIX "the stderr channel was reset", NBNET_STATUS_NOT_RUN,
                                  true},
        [REQUEST_CHANNEL_GONE] = {"channel_gone", "the stderr channel was reset: command killed",
                                  NULL, -1, true},
        /* A channel's own records: conn.c puts "stderr channel: " before the text. */
        [REQUEST_CHANNEL_PAIRED] = {"channel", "given to its request", NULL, -1, false},
        [REQUEST_CHANNEL_UNPAIRED] = {"channel_unpaired",
                                      "no request with its token came within the request timeout",
                                      NULL, -1, false},
        /* Nothing is written to it, as to a peer the address policy refuses. */
        [REQUEST_CHANNEL_MISMATCH] = {"channel_mismatch",
                                      "refused: not from its request's peer address", NULL, -1, false},
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

void request_refuse_unread(int fd, enum request_end end, int wait_ms) {
        const struct request_end_info *info = request_end_info(end);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char out[256], first = 0, drop[512];
        size_t n;

        if (poll(&p, 1, wait_ms) > 0 && recv(fd, &first, 1, MSG_PEEK | MSG_DONTWAIT) < 0)
                first = 0;
        n = request_format_refusal(out, sizeof out, info->line, first == '+', info->status);
        (void) send(fd, out, n, MSG_NOSIGNAL | MSG_DONTWAIT); /* a peer gone has nothing to read */
        /* Closing with unread input would send a RST that could destroy the line. */
        if (shutdown(fd, SHUT_WR) == 0)
                while (poll(&p, 1, wait_ms) > 0 && recv(fd, drop, sizeof drop, MSG_DONTWAIT) > 0)
                        ;
        (void) close(fd);
}

const char *request_line_reason(const char *line) {
        return strncmp(line, LINE_PREFIX, strlen(LINE_PREFIX)) == 0 ? line + strlen(LINE_PREFIX)
                                                                    : line;
}

int request_block_signals(const int *sigs, size_t n) {
        sigset_t mask;

        sigemptyset(&mask);
        for (size_t i = 0; i < n; i++)
                sigaddset(&mask, sigs[i]);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "sigprocmask SIG_BLOCK");
        return 0;
}

int request_prepare_server(bool subreaper) {
        if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
                return log_error_errno(errno, "signal SIGPIPE");
        if (subreaper && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                return log_error_errno(errno, "prctl PR_SET_CHILD_SUBREAPER");
        return 0;
}

/* One warning per load for what an nrpe.cfg held besides its commands. */
static void request_commands_warn_skipped(const char *path, const struct cmdtable *t) {
        if (t->n_skipped == 0)
                return;
        log_warning("--commands %s: skipped %u nrpe.cfg directive line%s that nbnet does not use "
                    "(its own options do their jobs): %s",
                    path, t->n_skipped, t->n_skipped == 1 ? "" : "s", t->skipped);
}

int request_table_load(struct request_table *c, const char *path, const char *then) {
        char why[512];
        int r;

        *c = (struct request_table){.path = path, .ok = true};
        if (!path)
                return 0;
        r = cmdtable_load(&c->table, path, why, sizeof why);
        /* why names the file, the line and the cause: no errno text after it. */
        if (r < 0)
                log_error("--commands %s; %s", why, then);
        else
                request_commands_warn_skipped(path, &c->table);
        if (r >= 0 && c->table.count == 0)
                log_warning("--commands %s: no command in it: every request is refused "
                            "(command not allowed, status 126)",
                            path);
        c->ok = r >= 0;
        return r < 0 ? r : 0;
}

void request_table_reload(struct request_table *c) {
        struct cmdtable table;
        char why[512];
        int r;

        if (!c->path)
                return;
        r = cmdtable_load(&table, c->path, why, sizeof why);
        /* An empty table refuses every request: more likely a file caught
         * half-written, or emptied by mistake, than what was meant. */
        if (r >= 0 && table.count == 0) {
                cmdtable_release(&table);
                snprintf(why, sizeof why,
                         "%s: no command in it (to refuse every request, stop the "
                         "server)",
                         c->path);
                r = -ENODATA;
        }
        if (r < 0) {
                log_warning("SIGHUP: --commands %s; %s", why,
                            c->ok ? "keeping the table in force"
                                  : "still no table: requests are refused");
                return;
        }
        request_commands_warn_skipped(c->path, &table);
        cmdtable_release(&c->table);
        c->table = table;
        c->ok = true;
        log_info("SIGHUP: --commands %s reloaded, %zu command%s", c->path, table.count,
                 table.count == 1 ? "" : "s");
}

void request_table_release(struct request_table *c) {
        cmdtable_release(&c->table);
        c->ok = false;
}

bool request_table_has_hosts(const struct request_table *c) {
        return c->path && c->ok && c->table.hosts.n_nets > 0;
}

bool request_table_allows_peer(const struct request_table *c, const struct sockaddr_storage *ss) {
        if (!request_table_has_hosts(c) || ss->ss_family == AF_UNIX)
                return true;
        return policy_allows_address(&c->table.hosts, (const struct sockaddr *) ss);
}

_Static_assert(USERDB_MAX_GROUPS == SPAWN_MAX_GROUPS, "a looked-up user's groups fit a spawn's");
_Static_assert(sizeof(((struct request_identity *) 0)->home) ==
                       sizeof(((struct userdb_user *) 0)->home),
               "home fits");

/* What a failed look-up says, for the client and the log, into buf. */
static const char *request_lookup_error(int error, char *buf, size_t size) {
        if (error == -E2BIG)
                snprintf(buf, size, "the user is in more than %d groups", SPAWN_MAX_GROUPS);
        else if (error == -ENAMETOOLONG)
                snprintf(buf, size, "the user's name, home or shell is too long");
        else
                snprintf(buf, size, "%s", strerror(-error));
        return buf;
}

/* --run-as-requester: the command runs as the credential's user, as found on
 * this host by authq's look-up (u). */
static bool request_take_requester(const struct serve_options *o, const struct userdb_user *u,
                                   struct request_identity *who, enum request_end *end, char *line,
                                   size_t line_size) {
        int error = u->looked_up ? u->error : -EIO;
        char why[64];

        if (who->uid == 0 && !policy_has_uid(&o->policy, 0)) {
                *end = REQUEST_ROOT_REFUSED;
                snprintf(line, line_size, "%s", request_end_info(*end)->line);
                return false;
        }
        if (error == -ENOENT) {
                *end = REQUEST_USER_UNKNOWN;
                snprintf(line, line_size, LINE_PREFIX "user %u unknown here", (unsigned) who->uid);
                return false;
        }
        if (error < 0) {
                log_error("cannot look up uid %u, a MUNGE credential's, to run its command as "
                          "that user: %s",
                          (unsigned) who->uid, request_lookup_error(error, why, sizeof why));
                *end = REQUEST_LOOKUP_FAILED;
                snprintf(line, line_size, LINE_PREFIX "cannot look up user %u here: %s",
                         (unsigned) who->uid, why);
                return false;
        }
        who->runs_as_requester = true;
        who->creds = (struct spawn_creds){
                .change = true, .uid = who->uid, .gid = who->gid, .n_groups = u->n_groups};
        memcpy(who->creds.groups, u->groups, u->n_groups * sizeof u->groups[0]);
        memcpy(who->home, u->home, strlen(u->home) + 1);
        memcpy(who->shell, u->shell, strlen(u->shell) + 1);
        return true;
}

/* '~': the user named must be the one the command would run as anyway. */
static bool request_judge_user(const struct frame *f, const char *runs_as, enum request_end *end,
                               char *line, size_t line_size) {
        if (!f->want_user || (runs_as && strcmp(f->user, runs_as) == 0))
                return true;
        *end = REQUEST_WRONG_USER;
        snprintf(line, line_size, LINE_PREFIX "cannot run as %s here", f->user);
        return false;
}

const struct spawn_user *request_spawn_user(const struct request_identity *who, struct spawn_user *u) {
        if (!who->runs_as_requester)
                return NULL;
        *u = (struct spawn_user){
                .creds = &who->creds, .user = who->user, .home = who->home, .shell = who->shell};
        return u;
}

/* The decoded payload replaces the credential as the frame's command. */
static bool request_take_payload(struct frame *f, struct auth_credential *cred, char *line,
                                 size_t line_size) {
        if (cred->length == 0 || memchr(cred->payload, '\0', cred->length)) {
                snprintf(line, line_size, LINE_PREFIX "%s in the MUNGE credential",
                         cred->length == 0 ? "empty command" : "command contains a NUL byte");
                return false;
        }
        free(f->command);
        f->command = cred->payload;
        f->length = cred->length;
        *cred = (struct auth_credential){0};
        return true;
}

bool request_authorize(const struct serve_options *o, struct frame *f, struct auth_decoded *d,
                       const char *command_user, struct request_identity *who,
                       enum request_end *end, char *line, size_t line_size) {
        /* Not the whole of *who: its home and shell are filled only to be used. */
        who->known = who->runs_as_requester = false;
        who->uid = 0;
        who->gid = 0;
        who->user[0] = '\0';
        *end = REQUEST_RAN;
        if (!f->munge) {
                if (!o->munge)
                        return request_judge_user(f, command_user, end, line, line_size);
                *end = REQUEST_AUTH_REQUIRED;
                snprintf(line, line_size, "%s", request_end_info(*end)->line);
                return false;
        }
        if (d->result == AUTH_UNAVAILABLE) {
                log_error("cannot check a MUNGE credential: %s", d->detail);
                *end = REQUEST_MUNGE_UNAVAILABLE;
                snprintf(line, line_size, LINE_PREFIX "cannot check the MUNGE credential: %s",
                         d->reason);
                return false;
        }
        if (d->result == AUTH_REFUSED) {
                *end = REQUEST_MUNGE_REFUSED;
                snprintf(line, line_size, LINE_PREFIX "%s", d->reason);
                return false;
        }
        who->known = true;
        who->uid = d->cred.uid;
        who->gid = d->cred.gid;
        /* Looked up on authq's thread: NSS may be LDAP, never on the loop. */
        if (d->user.looked_up)
                memcpy(who->user, d->user.name, sizeof who->user);
        if (!request_take_payload(f, &d->cred, line, line_size)) {
                auth_credential_release(&d->cred);
                *end = REQUEST_BAD_FRAME;
                return false;
        }
        if (!policy_allows_ids(&o->policy, who->uid, who->gid)) {
                *end = REQUEST_USER_NOT_ALLOWED;
                snprintf(line, line_size, "%s", request_end_info(*end)->line);
                return false;
        }
        if (o->run_as_requester && !request_take_requester(o, &d->user, who, end, line, line_size))
                return false;
        return request_judge_user(f, who->runs_as_requester ? who->user : command_user, end, line,
                                  line_size);
}

const char *request_logged_command(const struct frame *f, const struct request_identity *who) {
        if (f->state != FRAME_COMPLETE || (f->munge && !who->known))
                return NULL;
        return f->command;
}

const char *request_run_line(const struct request_table *c, const struct frame *f,
                             const struct request_identity *who, enum request_end *end) {
        const char *command;

        *end = REQUEST_RAN;
        /* Never the credential's own text: only a decoded payload runs. */
        if (f->munge && !who->known) {
                *end = REQUEST_AUTH_REQUIRED;
                return NULL;
        }
        if (!c->path)
                return f->command;
        if (!c->ok) {
                *end = REQUEST_MISCONFIGURED;
                return NULL;
        }
        command = cmdtable_lookup(&c->table, f->command);
        if (!command)
                *end = REQUEST_NOT_ALLOWED;
        return command;
}

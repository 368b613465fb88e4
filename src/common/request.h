/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What a request is, for both servers (doc/protocol.md): who asks (a MUNGE
 * credential, when the frame carries one), the ways one ends
 * other than by its command's own exit, each with its text, its status and
 * whether a '+' request still gets the trailer; what a complete frame runs
 * (its own line, or in restricted mode the --commands table's line for the
 * name it gives); the table's loading and reloading; the timings of a
 * command's end. Both servers serve a request through one state machine
 * (src/server/conn.c), built on this.
 */

#include <stdbool.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "auth.h"
#include "clock.h"
#include "cmdtable.h"
#include "frame.h"
#include "options.h"
#include "spawn.h"
#include "userdb.h"

/* How long a killed group gets between SIGTERM and SIGKILL. */
#define REQUEST_KILL_GRACE_USEC (500 * USEC_PER_MSEC)
/* How long a client that reads nothing may keep our last bytes waiting. */
#define REQUEST_SEND_USEC (10 * USEC_PER_SEC)
/* How long the client gets to finish sending after our FIN (see Closing). */
#define REQUEST_DRAIN_USEC (2 * USEC_PER_SEC)

/* How a request ended, when not simply by its command's exit. */
enum request_end {
        REQUEST_RAN,               /* the command ran and ended by itself */
        REQUEST_CLIENT_LEFT,       /* closed before sending a whole frame */
        REQUEST_READ_FAILED,       /* recv() failed before the frame was whole */
        REQUEST_FRAME_TIMEOUT,     /* the frame did not arrive in time */
        REQUEST_STOPPED_READING,   /* the server stops before the frame arrived */
        REQUEST_BAD_FRAME,         /* the frame's own error (frame_error_message) */
        REQUEST_MISCONFIGURED,     /* the --commands table would not load */
        REQUEST_NOT_ALLOWED,       /* not a name of the --commands table */
        REQUEST_AUTH_REQUIRED,     /* --munge, and the frame carries no credential */
        REQUEST_MUNGE_REFUSED,     /* expired, rewound, replayed, invalid (MUNGE's reason) */
        REQUEST_MUNGE_UNAVAILABLE, /* munged could not be asked: nothing may run */
        REQUEST_USER_NOT_ALLOWED,  /* the credential's uid and gid fail --allow-uid/-group */
        REQUEST_ROOT_REFUSED,      /* --run-as-requester, uid 0, and no --allow-uid root */
        REQUEST_USER_UNKNOWN,      /* --run-as-requester, and the uid has no passwd entry here */
        REQUEST_LOOKUP_FAILED,     /* --run-as-requester, and NSS failed (or no room for it) */
        REQUEST_WRONG_USER,        /* '~' names a user the command would not run as */
        REQUEST_NO_MEMORY,         /* the server could not prepare the command */
        REQUEST_SPAWN_FAILED,      /* spawn_command() failed */
        REQUEST_BUSY,              /* queued longer than the request timeout */
        REQUEST_STOPPED_QUEUED,    /* the server stops while it waits in the queue or for munged */
        REQUEST_PEER_GONE,         /* reset or socket error once the frame is complete */
        REQUEST_COMMAND_TIMEOUT,   /* killed at --command-timeout */
        REQUEST_MEMORY_LIMIT,      /* killed by the kernel at nbnetd's --limit-memory */
        REQUEST_STOPPED_RUNNING,   /* killed because the server stops */
        REQUEST_STOP_TIMEOUT,      /* killed once nbnetd's --stop-timeout passed */
        REQUEST_STOP_AGAIN,        /* killed at a second SIGTERM or SIGINT, before it passed */
        REQUEST_RESPONSE_UNREAD,   /* the client left our last bytes unread */
        REQUEST_EVICTED,           /* nbnetd was full, and it had waited longest for its frame */
        REQUEST_NO_CHANNEL,        /* '&', and its stderr channel did not come in time */
        REQUEST_TOKEN_IN_USE,      /* a request or channel with its token already waits */
        REQUEST_CHANNEL_LOST,      /* its stderr channel reset before the command ran */
        REQUEST_CHANNEL_GONE,      /* its stderr channel reset while the command ran: killed */
        REQUEST_CHANNEL_PAIRED,    /* a stderr channel given to its request: no record of its own */
        REQUEST_CHANNEL_UNPAIRED,  /* a stderr channel whose request did not come in time */
        REQUEST_CHANNEL_MISMATCH,  /* a stderr channel from another peer than its request's */
        REQUEST_END_COUNT,
};

struct request_end_info {
        const char *name; /* a word for it, as metrics label it: "peer_gone" */
        const char *log;  /* the log record's reason; NULL: the caller's text (or none) */
        const char *line; /* what the client is told before anything ran, or NULL */
        int status;       /* the NBNET status it sets; -1: the command's own, or none */
        bool trailer;     /* a '+' request gets the trailer */
};

const struct request_end_info *request_end_info(enum request_end end);

/* Whether a '+' response ends with the trailer: a status is known and the
 * way the request ended leaves the client there to read it. */
bool request_wants_trailer(const struct frame *f, enum request_end end, int status);

/* "nbnet: LINE\n" and, when asked, the trailer with status, into buf; returns
 * the length (the line is cut to fit, the trailer never is). */
size_t request_format_refusal(char *buf, size_t size, const char *line, bool with_trailer,
                              int status);

/* For a server that cannot serve at all (its configuration cannot work):
 * answers a connection whose request it will not read with end's line, and
 * the trailer when the request's first byte, if one comes within wait_ms,
 * is '+'; then shuts the write side, drains for wait_ms at most, closes fd. */
void request_refuse_unread(int fd, enum request_end end, int wait_ms);

/* The reason a refusal line gives, without its "nbnet: " prefix: for the log. */
const char *request_line_reason(const char *line);

/* What a server process does before it serves: SIGPIPE ignored (a client
 * that goes away must not kill it mid-write; commands get it back at spawn)
 * and, unless its commands have cgroups, child subreaper (a command's orphans
 * become its children, so that it can reap them and see a group gone). Logs
 * what failed; 0 or -errno. */
int request_prepare_server(bool subreaper);

/* Blocks the n signals sigs, as sd-event's signal sources want them
 * (commands get an empty mask from spawn). Logs what failed; 0 or -errno. */
int request_block_signals(const int *sigs, size_t n);

/* The --commands table of restricted mode. */
struct request_table {
        const char *path; /* NULL: not restricted; every frame runs its own line */
        struct cmdtable table;
        bool ok; /* false: the table would not load, and requests are refused */
};

/* Loads the table (when path is set). A table that will not load is logged,
 * then says what the server does about it, and leaves every request refused:
 * -errno. An empty one is a warning. */
int request_table_load(struct request_table *c, const char *path, const char *then);

/* SIGHUP: reads the table again; a bad or empty new table is logged and the
 * one in force is kept. */
void request_table_reload(struct request_table *c);

void request_table_release(struct request_table *c);

/* Whether the table's allowed_hosts (an nrpe.cfg's) admit the peer at ss, as
 * --allow must too: true without the directive, for a Unix socket's peer
 * (the directive names addresses), and without a table in force. */
bool request_table_allows_peer(const struct request_table *c, const struct sockaddr_storage *ss);

/* Whether the table in force has an allowed_hosts rule. */
bool request_table_has_hosts(const struct request_table *c);

/* Who asks: the uid and gid a MUNGE credential vouches for, and, with
 * --run-as-requester, the user its command runs as. */
struct request_identity {
        bool known; /* the frame carried a valid credential */
        uid_t uid;
        gid_t gid;
        char user[USERDB_NAME_MAX]; /* the uid's name on this host, or "" when it has none */
        bool runs_as_requester;     /* the command runs as creds, home and shell */
        struct spawn_creds creds;   /* the uid, gid and the local user's groups */
        char home[PATH_MAX];
        char shell[PATH_MAX];
};

/* Who asks, once the frame's credential is decoded and its uid looked up
 * (off the loop, on authq.h's thread: a round trip to munged, then NSS). d is
 * the decode of f's credential (NULL when f has no '@'); its payload becomes
 * f->command, under the frame's own rules (not empty, no NUL), and its ids
 * *who, which --allow-uid and --allow-group then judge; d's payload is taken
 * or freed. Without '@', --munge refuses. With --run-as-requester, the
 * command runs as the credential's user: root only with --allow-uid root,
 * and a uid only with a passwd entry here. '~' must name the user it runs
 * as: that one, or command_user (the --run-as user's name). false when
 * nothing may run: *end says why and line gets the client's "nbnet: ..."
 * text; 125s are logged here. */
bool request_authorize(const struct serve_options *o, struct frame *f, struct auth_decoded *d,
                       const char *command_user, struct request_identity *who,
                       enum request_end *end, char *line, size_t line_size);

/* The user a command runs as when it is not the server's command user: *u
 * filled from who (pointing into it), or NULL. */
const struct spawn_user *request_spawn_user(const struct request_identity *who, struct spawn_user *u);

/* The command a log record may show: NULL for a credential that was not
 * decoded, which someone who reads the log could otherwise still use. */
const char *request_logged_command(const struct frame *f, const struct request_identity *who);

/* What a complete, authenticated frame runs: its own line, or the table's line
 * for the name it gives. NULL when nothing may run; *end then says why. */
const char *request_run_line(const struct request_table *c, const struct frame *f,
                             const struct request_identity *who, enum request_end *end);

/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Where a program's messages go: the journal, as structured records, when
 * stderr is connected to it or when stderr is the client's connection
 * (inetd), since a line there would land in the client's output; a plain
 * line on stderr otherwise.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <sys/types.h>

/* One record per connection: what came, what ran, how it ended. */
struct log_record {
        const char *peer;    /* "ADDR:PORT", or "unix" */
        const char *command; /* NULL when no command was read */
        size_t command_length;
        int status;         /* NBNET status, or -1 when none was given */
        const char *reason; /* why it was refused or cut; NULL when it ran */
        uint64_t duration_usec;
        pid_t pid;           /* the command's pid, 0 when none ran */
        bool has_bytes_sent; /* bytes_sent is known (TCP) */
        uint64_t bytes_sent;
        bool has_cpu;      /* cpu_usec is known (the command had a cgroup) */
        uint64_t cpu_usec; /* CPU time of all the command's processes */
        bool has_memory_peak;
        uint64_t memory_peak; /* bytes, with the memory controller */
        bool has_ids;         /* a MUNGE credential said who asks: uid, gid */
        bool channel;         /* its stderr went to a stderr channel ('&') */
        uid_t uid;
        gid_t gid;
        const char *user; /* the uid's name, or NULL or "" when it has none */
};

/* A record as journal fields ("KEY=value"), MESSAGE first. */
#define LOG_FIELDS_MAX 20
struct log_fields {
        struct iovec iov[LOG_FIELDS_MAX];
        size_t n;
        size_t used;
        char buf[16384];
};

/* Builds the fields of a record: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER and the
 * NBNET_* fields; the command is cut at 1 KiB, its true length beside it. */
void log_record_fields(const struct log_record *r, struct log_fields *f);

/* Descriptors the log opens, once, at its first line: the journal's socket. */
#define LOG_FDS 1

/* conn_fd: the connection, or -1; messages never go to it. */
void log_init(const char *program, int conn_fd);

/* Lines on stderr (never the journal's, which has its own) start with the
 * local time, as 2026-12-07T14:03:59.123+01:00: for a long-running server. */
void log_stderr_times(bool on);

void log_connection(const struct log_record *r);

/* The record of a connection closed before anything ran for it: its peer,
 * status (-1: none), reason and how long it was open. */
void log_connection_closed(const char *peer, int status, const char *reason, uint64_t duration_usec);

/* Logs "program: message: strerror(err)" at error priority and returns -err. */
int log_error_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* At error priority, for a message that already says why (no errno). */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

/* Commands are logged up to this many bytes; the true length goes beside. */
#define LOG_COMMAND_MAX 1024

static const char *log_program = "nbnet";
static bool log_to_journal;

/* systemd sets JOURNAL_STREAM=DEV:INODE when stderr is a stream to the journal. */
static bool log_stderr_is_journal(const struct stat *st) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        char *end;

        if (!e)
                return false;
        errno = 0;
        dev = strtoull(e, &end, 10);
        if (errno != 0 || end == e || *end != ':')
                return false;
        e = end + 1;
        ino = strtoull(e, &end, 10);
        if (errno != 0 || end == e || *end != '\0')
                return false;
        return st->st_dev == dev && st->st_ino == ino;
}

static bool log_same_file(int a, int b) {
        struct stat sa, sb;

        return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
               sa.st_ino == sb.st_ino;
}

void log_init(const char *program, int conn_fd) {
        struct stat st;

        log_program = program;
        if (fstat(STDERR_FILENO, &st) < 0)
                log_to_journal = true; /* no stderr at all */
        else
                log_to_journal = log_stderr_is_journal(&st) ||
                                 (conn_fd >= 0 && log_same_file(conn_fd, STDERR_FILENO));
}

static void log_line(int priority, const char *line) {
        if (!log_to_journal)
                fprintf(stderr, "%s: %s\n", log_program, line);
        else if (sd_journal_send("MESSAGE=%s", line, "PRIORITY=%i", priority,
                                 "SYSLOG_IDENTIFIER=%s", log_program, NULL) < 0)
                syslog(priority, "%s", line);
}

static void log_vline(int priority, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));
static void log_vline(int priority, const char *fmt, va_list ap) {
        char line[2048];

        vsnprintf(line, sizeof line, fmt, ap);
        log_line(priority, line);
}

int log_error_errno(int err, const char *fmt, ...) {
        char msg[1024], line[1200];
        va_list ap;

        err = err < 0 ? -err : err;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        snprintf(line, sizeof line, "%s: %s", msg, strerror(err));
        log_line(LOG_ERR, line);
        return -err;
}

void log_info(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        log_vline(LOG_INFO, fmt, ap);
        va_end(ap);
}

void log_warning(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        log_vline(LOG_WARNING, fmt, ap);
        va_end(ap);
}

/* A command on one log line: control bytes, quotes and backslashes escaped,
 * cut at LOG_COMMAND_MAX bytes of the original. */
static void log_escape(const char *s, size_t len, char *out, size_t size) {
        size_t o = 0;

        if (len > LOG_COMMAND_MAX)
                len = LOG_COMMAND_MAX;
        for (size_t i = 0; i < len && o + 5 < size; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c == '"' || c == '\\') {
                        out[o++] = '\\';
                        out[o++] = (char) c;
                } else if (c < 0x20 || c == 0x7f)
                        o += (size_t) snprintf(out + o, size - o, "\\x%02x", c);
                else
                        out[o++] = (char) c;
        }
        out[o] = '\0';
}

static int log_priority_of(const struct log_record *r) {
        if (r->reason)
                return LOG_WARNING;
        return r->status == 0 ? LOG_INFO : LOG_NOTICE;
}

/* Appends "KEY=value" to the record's fields; values beyond the buffer are cut. */
static void log_field(struct log_fields *f, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static void log_field(struct log_fields *f, const char *fmt, ...) {
        size_t room = sizeof f->buf - f->used;
        va_list ap;
        int n;

        if (f->n >= LOG_FIELDS_MAX || room < 2)
                return;
        va_start(ap, fmt);
        n = vsnprintf(f->buf + f->used, room, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        if ((size_t) n >= room)
                n = (int) room - 1;
        f->iov[f->n++] = (struct iovec){.iov_base = f->buf + f->used, .iov_len = (size_t) n};
        f->used += (size_t) n + 1;
}

void log_record_fields(const struct log_record *r, struct log_fields *f) {
        char cmd[LOG_COMMAND_MAX * 4 + 8] = "", status[16] = "-", sent[32] = "";
        size_t shown = r->command_length < LOG_COMMAND_MAX ? r->command_length : LOG_COMMAND_MAX;

        f->n = f->used = 0;
        if (r->command)
                log_escape(r->command, r->command_length, cmd, sizeof cmd);
        if (r->status >= 0)
                snprintf(status, sizeof status, "%d", r->status);
        if (r->has_bytes_sent)
                snprintf(sent, sizeof sent, ", %" PRIu64 " bytes sent", r->bytes_sent);
        log_field(f, "MESSAGE=%s %s%s%s%s status %s in %" PRIu64 ".%03" PRIu64 " ms%s%s%s", r->peer,
                  r->command ? "\"" : "-", cmd, r->command_length > LOG_COMMAND_MAX ? "..." : "",
                  r->command ? "\"" : "", status, r->duration_usec / 1000, r->duration_usec % 1000,
                  sent, r->reason ? ": " : "", r->reason ? r->reason : "");
        log_field(f, "PRIORITY=%d", log_priority_of(r));
        log_field(f, "SYSLOG_IDENTIFIER=%s", log_program);
        log_field(f, "NBNET_PEER=%s", r->peer);
        if (r->command) {
                log_field(f, "NBNET_COMMAND=%.*s", (int) shown, r->command);
                log_field(f, "NBNET_COMMAND_LENGTH=%zu", r->command_length);
        }
        if (r->status >= 0)
                log_field(f, "NBNET_STATUS=%d", r->status);
        if (r->reason)
                log_field(f, "NBNET_REASON=%s", r->reason);
        log_field(f, "NBNET_DURATION_USEC=%" PRIu64, r->duration_usec);
        if (r->has_bytes_sent)
                log_field(f, "NBNET_BYTES_SENT=%" PRIu64, r->bytes_sent);
        if (r->pid > 0)
                log_field(f, "NBNET_PID=%d", (int) r->pid);
}

void log_connection(const struct log_record *r) {
        static struct log_fields f; /* large: kept off the stack */
        const char *message;

        log_record_fields(r, &f);
        message = (const char *) f.iov[0].iov_base + strlen("MESSAGE=");
        if (!log_to_journal)
                fprintf(stderr, "%s: %s\n", log_program, message);
        else if (sd_journal_sendv(f.iov, (int) f.n) < 0)
                syslog(log_priority_of(r), "%s", message);
}

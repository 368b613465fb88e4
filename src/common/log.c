/* SPDX-License-Identifier: MIT */
/* One record per connection, to the journal or stderr (log.h). */
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
#include <time.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

/* Commands are logged up to this many bytes; the true length goes beside. */
#define LOG_COMMAND_MAX 1024

static const char *log_program = "nbnet";
static bool log_to_journal;
static bool log_times;

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

void log_stderr_times(bool on) {
        log_times = on;
}

/* "TIME " when times are on, else "", into buf (LOG_TIME_MAX bytes). */
#define LOG_TIME_MAX 40
static const char *log_time(char *buf) {
        struct timespec ts;
        struct tm tm;
        size_t n;

        buf[0] = '\0';
        if (!log_times || clock_gettime(CLOCK_REALTIME, &ts) < 0 || !localtime_r(&ts.tv_sec, &tm))
                return buf;
        n = strftime(buf, LOG_TIME_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
        n += (size_t) snprintf(buf + n, LOG_TIME_MAX - n, ".%03ld", ts.tv_nsec / 1000000);
        /* %z is +0100; RFC 3339 wants +01:00. */
        if (strftime(buf + n, LOG_TIME_MAX - n, "%z", &tm) == 5)
                snprintf(buf + n + 3, LOG_TIME_MAX - n - 3, ":%c%c ", buf[n + 3], buf[n + 4]);
        else
                snprintf(buf + n, LOG_TIME_MAX - n, " ");
        return buf;
}

static void log_line(int priority, const char *line) {
        char when[LOG_TIME_MAX];

        if (!log_to_journal)
                fprintf(stderr, "%s%s: %s\n", log_time(when), log_program, line);
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

void log_error(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        log_vline(LOG_ERR, fmt, ap);
        va_end(ap);
}

/* One field of a record being built in f->buf: appends are cut at the end
 * of the buffer. No printf: this runs for every connection. */
struct log_out {
        char *buf;
        size_t size, len; /* size > len always: room for the '\0' */
};

static void log_put(struct log_out *o, const char *s, size_t len) {
        if (len > o->size - 1 - o->len)
                len = o->size - 1 - o->len;
        memcpy(o->buf + o->len, s, len);
        o->len += len;
}

static void log_puts(struct log_out *o, const char *s) {
        log_put(o, s, strlen(s));
}

static void log_putc(struct log_out *o, char c) {
        if (o->len + 1 < o->size)
                o->buf[o->len++] = c;
}

/* v in decimal, at least min_digits of them (zero-padded). */
static void log_put_u64(struct log_out *o, uint64_t v, int min_digits) {
        char digits[24];
        size_t n = 0;

        do {
                digits[sizeof digits - ++n] = (char) ('0' + v % 10);
                v /= 10;
        } while (v != 0 || (int) n < min_digits);
        log_put(o, digits + sizeof digits - n, n);
}

static void log_put_int(struct log_out *o, int v) {
        if (v < 0) {
                log_putc(o, '-');
                log_put_u64(o, (uint64_t) - (int64_t) v, 1);
        } else
                log_put_u64(o, (uint64_t) v, 1);
}

/* A command on one log line: control bytes, quotes and backslashes escaped,
 * cut at LOG_COMMAND_MAX bytes of the original. */
static void log_put_escaped(struct log_out *o, const char *s, size_t len) {
        static const char hex[] = "0123456789abcdef";

        if (len > LOG_COMMAND_MAX)
                len = LOG_COMMAND_MAX;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c == '"' || c == '\\') {
                        log_putc(o, '\\');
                        log_putc(o, (char) c);
                } else if (c < 0x20 || c == 0x7f) {
                        const char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 0xf]};
                        log_put(o, esc, sizeof esc);
                } else
                        log_putc(o, (char) c);
        }
}

static int log_priority_of(const struct log_record *r) {
        if (r->reason)
                return LOG_WARNING;
        return r->status == 0 ? LOG_INFO : LOG_NOTICE;
}

/* Starts a field "KEY=..." in f; false when f is full (the field is left out). */
static bool log_begin(struct log_fields *f, struct log_out *o, const char *key) {
        size_t room = sizeof f->buf - f->used;

        if (f->n >= LOG_FIELDS_MAX || room < 2)
                return false;
        *o = (struct log_out){.buf = f->buf + f->used, .size = room};
        log_puts(o, key);
        return true;
}

static void log_end(struct log_fields *f, struct log_out *o) {
        o->buf[o->len] = '\0';
        f->iov[f->n++] = (struct iovec){.iov_base = o->buf, .iov_len = o->len};
        f->used += o->len + 1;
}

static void log_field_str(struct log_fields *f, const char *key, const char *value, size_t len) {
        struct log_out o;

        if (log_begin(f, &o, key)) {
                log_put(&o, value, len);
                log_end(f, &o);
        }
}

static void log_field_u64(struct log_fields *f, const char *key, uint64_t value) {
        struct log_out o;

        if (log_begin(f, &o, key)) {
                log_put_u64(&o, value, 1);
                log_end(f, &o);
        }
}

static void log_field_int(struct log_fields *f, const char *key, int value) {
        struct log_out o;

        if (log_begin(f, &o, key)) {
                log_put_int(&o, value);
                log_end(f, &o);
        }
}

/* "uid=N(name) gid=N " as id(1) writes them, the name when there is one. */
static void log_put_ids(struct log_out *o, const struct log_record *r) {
        log_puts(o, "uid=");
        log_put_u64(o, r->uid, 1);
        if (r->user && r->user[0]) {
                log_putc(o, '(');
                log_puts(o, r->user);
                log_putc(o, ')');
        }
        log_puts(o, " gid=");
        log_put_u64(o, r->gid, 1);
        log_putc(o, ' ');
}

/* MESSAGE=PEER [uid=N(name) gid=N ]"COMMAND" status N in MS.USEC ms[, N bytes sent]
 * [, cpu MS.USEC ms][, stderr on its channel][, memory peak N bytes][: REASON] */
static void log_message(struct log_fields *f, const struct log_record *r) {
        struct log_out o;

        if (!log_begin(f, &o, "MESSAGE="))
                return;
        log_puts(&o, r->peer);
        log_putc(&o, ' ');
        if (r->has_ids)
                log_put_ids(&o, r);
        if (r->command) {
                log_putc(&o, '"');
                log_put_escaped(&o, r->command, r->command_length);
                if (r->command_length > LOG_COMMAND_MAX)
                        log_puts(&o, "...");
                log_putc(&o, '"');
        } else
                log_putc(&o, '-');
        log_puts(&o, " status ");
        if (r->status >= 0)
                log_put_int(&o, r->status);
        else
                log_putc(&o, '-');
        log_puts(&o, " in ");
        log_put_u64(&o, r->duration_usec / 1000, 1);
        log_putc(&o, '.');
        log_put_u64(&o, r->duration_usec % 1000, 3);
        log_puts(&o, " ms");
        if (r->has_bytes_sent) {
                log_puts(&o, ", ");
                log_put_u64(&o, r->bytes_sent, 1);
                log_puts(&o, " bytes sent");
        }
        if (r->has_cpu) {
                log_puts(&o, ", cpu ");
                log_put_u64(&o, r->cpu_usec / 1000, 1);
                log_putc(&o, '.');
                log_put_u64(&o, r->cpu_usec % 1000, 3);
                log_puts(&o, " ms");
        }
        if (r->channel)
                log_puts(&o, ", stderr on its channel");
        if (r->has_memory_peak) {
                log_puts(&o, ", memory peak ");
                log_put_u64(&o, r->memory_peak, 1);
                log_puts(&o, " bytes");
        }
        if (r->reason) {
                log_puts(&o, ": ");
                log_puts(&o, r->reason);
        }
        log_end(f, &o);
}

void log_record_fields(const struct log_record *r, struct log_fields *f) {
        size_t shown = r->command_length < LOG_COMMAND_MAX ? r->command_length : LOG_COMMAND_MAX;

        f->n = f->used = 0;
        log_message(f, r);
        log_field_int(f, "PRIORITY=", log_priority_of(r));
        log_field_str(f, "SYSLOG_IDENTIFIER=", log_program, strlen(log_program));
        log_field_str(f, "NBNET_PEER=", r->peer, strlen(r->peer));
        if (r->command) {
                /* Up to a NUL, as %.*s did. */
                log_field_str(f, "NBNET_COMMAND=", r->command, strnlen(r->command, shown));
                log_field_u64(f, "NBNET_COMMAND_LENGTH=", r->command_length);
        }
        if (r->status >= 0)
                log_field_int(f, "NBNET_STATUS=", r->status);
        if (r->reason)
                log_field_str(f, "NBNET_REASON=", r->reason, strlen(r->reason));
        log_field_u64(f, "NBNET_DURATION_USEC=", r->duration_usec);
        if (r->has_bytes_sent)
                log_field_u64(f, "NBNET_BYTES_SENT=", r->bytes_sent);
        if (r->has_cpu)
                log_field_u64(f, "NBNET_CPU_USEC=", r->cpu_usec);
        if (r->has_memory_peak)
                log_field_u64(f, "NBNET_MEMORY_PEAK=", r->memory_peak);
        if (r->pid > 0)
                log_field_int(f, "NBNET_PID=", (int) r->pid);
        if (r->channel)
                log_field_str(f, "NBNET_STDERR=", "channel", strlen("channel"));
        if (r->has_ids) {
                log_field_u64(f, "NBNET_UID=", r->uid);
                log_field_u64(f, "NBNET_GID=", r->gid);
                if (r->user && r->user[0])
                        log_field_str(f, "NBNET_USER=", r->user, strlen(r->user));
        }
}

/* "program: line\n" on stderr, as fprintf would write it, without its
 * formatting: one write() for the whole line unless it is cut short. */
static void log_stderr_line(const char *line, size_t len) {
        static char buf[sizeof((struct log_fields *) 0)->buf + 64]; /* large: off the stack */
        struct log_out o = {.buf = buf, .size = sizeof buf};
        char when[LOG_TIME_MAX];
        size_t done = 0;

        log_puts(&o, log_time(when));
        log_puts(&o, log_program);
        log_put(&o, ": ", 2);
        log_put(&o, line, len);
        log_putc(&o, '\n');
        while (done < o.len) {
                ssize_t n = write(STDERR_FILENO, buf + done, o.len - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return;
                done += (size_t) n;
        }
}

void log_connection(const struct log_record *r) {
        static struct log_fields f; /* large: kept off the stack */
        const char *message;

        log_record_fields(r, &f);
        message = (const char *) f.iov[0].iov_base + strlen("MESSAGE=");
        if (!log_to_journal)
                log_stderr_line(message, f.iov[0].iov_len - strlen("MESSAGE="));
        else if (sd_journal_sendv(f.iov, (int) f.n) < 0)
                syslog(log_priority_of(r), "%s", message);
}

void log_connection_closed(const char *peer, int status, const char *reason, uint64_t duration_usec) {
        log_connection(&(struct log_record){
                .peer = peer,
                .status = status,
                .reason = reason,
                .duration_usec = duration_usec,
        });
}

/* SPDX-License-Identifier: MIT */
/* nbnetd's counts for Prometheus (metrics.h). */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

/* Some 70 series, each with an instance name of up to METRICS_INSTANCE_MAX. */
#define METRICS_TEXT_MAX (64 * 1024)
/* node_exporter is scraped every 15 s or so: the file is never staler than this. */
#define METRICS_INTERVAL_USEC (5 * USEC_PER_SEC)

static const char *const metrics_class_names[METRICS_CLASS_COUNT] = {
        [METRICS_OK] = "ok",           [METRICS_FAILED] = "failed",
        [METRICS_TIMEOUT] = "timeout", [METRICS_NOT_RUN] = "not_run",
        [METRICS_REFUSED] = "refused", [METRICS_SIGNALED] = "signaled",
        [METRICS_NO_STATUS] = "none",
};

/* In microseconds, and as the le label shows them. */
static const uint64_t metrics_bounds_usec[METRICS_BUCKETS] = {
        1000,   2500,   5000,    10000,   25000,   50000,    100000,
        250000, 500000, 1000000, 2500000, 5000000, 10000000, 60000000,
};
static const char *const metrics_bounds_text[METRICS_BUCKETS] = {
        "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
        "0.25",  "0.5",    "1",     "2.5",  "5",     "10",   "60",
};

void metrics_init(struct metrics *m, uint64_t start_realtime_usec) {
        *m = (struct metrics){.start_realtime_usec = start_realtime_usec};
}

enum metrics_class metrics_class_of(int status) {
        if (status < 0)
                return METRICS_NO_STATUS;
        if (status == 0)
                return METRICS_OK;
        if (status == 124)
                return METRICS_TIMEOUT;
        if (status == 125)
                return METRICS_NOT_RUN;
        if (status == 126)
                return METRICS_REFUSED;
        if (status > 128)
                return METRICS_SIGNALED;
        return METRICS_FAILED;
}

void metrics_count_closed(struct metrics *m, enum request_end end, int status,
                          uint64_t duration_usec, uint64_t cpu_usec) {
        size_t b = 0;

        m->cpu_usec += cpu_usec;
        m->by_class[metrics_class_of(status)]++;
        m->by_end[end < REQUEST_END_COUNT ? end : REQUEST_RAN]++;
        while (b < METRICS_BUCKETS && duration_usec > metrics_bounds_usec[b])
                b++;
        m->buckets[b]++;
        m->duration_count++;
        m->duration_sum_usec += duration_usec;
}

struct metrics_text {
        char *buf;
        size_t size, len;
        bool full;
};

static void metrics_printf(struct metrics_text *t, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static void metrics_printf(struct metrics_text *t, const char *fmt, ...) {
        va_list ap;
        int n;

        if (t->full)
                return;
        va_start(ap, fmt);
        n = vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t) n >= t->size - t->len)
                t->full = true;
        else
                t->len += (size_t) n;
}

static void metrics_head(struct metrics_text *t, const char *name, const char *type,
                         const char *help) {
        metrics_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label's value as the text format wants it: \, " and newline escaped. */
static void metrics_escape(const char *value, char *buf, size_t size) {
        size_t n = 0;

        for (const char *c = value; *c && n + 3 < size; c++) {
                if (*c == '\\' || *c == '"' || *c == '\n')
                        buf[n++] = '\\';
                if (*c == '\n')
                        buf[n++] = 'n';
                else
                        buf[n++] = *c;
        }
        buf[n] = '\0';
}

/* A gauge of one unsigned value: its HELP, TYPE and sample. */
static void metrics_gauge(struct metrics_text *t, const char *label, const char *name,
                          const char *help, unsigned value) {
        metrics_head(t, name, "gauge", help);
        metrics_printf(t, "%s{%s} %u\n", name, label, value);
}

/* A counter of one value. */
static void metrics_counter(struct metrics_text *t, const char *label, const char *name,
                            const char *help, unsigned long long value) {
        metrics_head(t, name, "counter", help);
        metrics_printf(t, "%s{%s} %llu\n", name, label, value);
}

/* Microseconds as seconds, exactly. */
#define METRICS_SEC(usec) \
        (unsigned long long) ((usec) / 1000000), (unsigned long long) ((usec) % 1000000)

/* Labels go in the order node_exporter serves them: by name (class, nbnetd,
 * reason, version), but a histogram's le last. */
int metrics_format(const struct metrics *m, const struct metrics_gauges *g, const char *instance,
                   uint64_t now_realtime_usec, char *buf, size_t size) {
        struct metrics_text t = {.buf = buf, .size = size};
        char value[2 * METRICS_INSTANCE_MAX + 1], label[sizeof value + 16];
        unsigned long long cumulative = 0;

        metrics_escape(instance, value, sizeof value);
        snprintf(label, sizeof label, "nbnetd=\"%s\"", value);
        metrics_head(&t, "nbnet_up", "gauge",
                     "1 while nbnetd serves, 0 in the file it writes as it stops (a file that "
                     "still says 1 while nbnet_metrics_written_timestamp_seconds stays behind is "
                     "one whose nbnetd died).");
        metrics_printf(&t, "nbnet_up{%s} %d\n", label, g->up ? 1 : 0);
        metrics_head(&t, "nbnet_build_info", "gauge", "Always 1; its version label is nbnetd's.");
        metrics_printf(&t, "nbnet_build_info{%s,version=\"%s\"} 1\n", label, NBNET_VERSION);
        metrics_head(&t, "nbnet_metrics_written_timestamp_seconds", "gauge",
                     "When nbnetd wrote this file, in seconds since the Epoch: every 5 s while "
                     "it runs.");
        metrics_printf(&t, "nbnet_metrics_written_timestamp_seconds{%s} %llu.%06llu\n", label,
                       METRICS_SEC(now_realtime_usec));
        metrics_head(&t, "nbnet_start_time_seconds", "gauge",
                     "When nbnetd started, in seconds since the Epoch.");
        metrics_printf(&t, "nbnet_start_time_seconds{%s} %llu.%06llu\n", label,
                       METRICS_SEC(m->start_realtime_usec));
        metrics_gauge(&t, label, "nbnet_connections", "Connections open now.", g->connections);
        metrics_gauge(&t, label, "nbnet_connections_max",
                      "The limit on connections open at once: --max-connections, or fewer when "
                      "the descriptor limit allows fewer.",
                      g->max_connections);
        metrics_gauge(&t, label, "nbnet_running", "Commands running now.", g->running);
        metrics_gauge(&t, label, "nbnet_running_max",
                      "The limit on commands running at once (--max-running).", g->max_running);
        metrics_gauge(&t, label, "nbnet_queued",
                      "Complete requests waiting now for a running slot.", g->queued);
        metrics_counter(&t, label, "nbnet_connections_accepted_total",
                        "Connections accepted, whatever became of them.", m->accepted);
        metrics_counter(&t, label, "nbnet_peers_refused_total",
                        "Connections closed unanswered at accept (--allow, --max-per-source).",
                        m->peers_refused);
        metrics_head(&t, "nbnet_requests_total", "counter",
                     "Connections closed, by the class of their status: ok 0, failed 1-123 "
                     "and 127, timeout 124, not_run 125, refused 126, signaled 129 and up, "
                     "none (no status).");
        for (size_t i = 0; i < METRICS_CLASS_COUNT; i++)
                metrics_printf(&t, "nbnet_requests_total{class=\"%s\",%s} %llu\n",
                               metrics_class_names[i], label, m->by_class[i]);
        metrics_head(&t, "nbnet_request_ends_total", "counter",
                     "Connections closed, by how they ended (ran: by the command's own exit).");
        for (size_t i = 0; i < REQUEST_END_COUNT; i++)
                metrics_printf(&t, "nbnet_request_ends_total{%s,reason=\"%s\"} %llu\n", label,
                               request_end_info((enum request_end) i)->name, m->by_end[i]);
        metrics_head(&t, "nbnet_request_duration_seconds", "histogram",
                     "From accept to close, per connection.");
        for (size_t i = 0; i <= METRICS_BUCKETS; i++) {
                cumulative += m->buckets[i];
                metrics_printf(&t, "nbnet_request_duration_seconds_bucket{%s,le=\"%s\"} %llu\n",
                               label, i < METRICS_BUCKETS ? metrics_bounds_text[i] : "+Inf",
                               cumulative);
        }
        metrics_printf(&t, "nbnet_request_duration_seconds_sum{%s} %llu.%06llu\n", label,
                       METRICS_SEC(m->duration_sum_usec));
        metrics_printf(&t, "nbnet_request_duration_seconds_count{%s} %llu\n", label,
                       m->duration_count);
        metrics_head(&t, "nbnet_command_cpu_seconds_total", "counter",
                     "CPU time of the commands and every process they started (their cgroups).");
        metrics_printf(&t, "nbnet_command_cpu_seconds_total{%s} %llu.%06llu\n", label,
                       METRICS_SEC(m->cpu_usec));
        return t.full ? -ENOBUFS : (int) t.len;
}

int metrics_write(const char *path, const char *instance, const struct metrics *m,
                  const struct metrics_gauges *g) {
        static char text[METRICS_TEXT_MAX]; /* large: off the stack; only the loop writes */
        char tmp[PATH_MAX];
        int fd, len, r;

        len = metrics_format(m, g, instance, clock_realtime_usec(), text, sizeof text);
        if (len < 0)
                return len;
        /* A name nobody can guess, made with O_CREAT|O_EXCL: nothing another user
         * planted in the folder (a FIFO, a link) is opened or followed, so the
         * file is a new regular file of ours. node_exporter reads *.prom only. */
        if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int) sizeof tmp)
                return -ENAMETOOLONG;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* Readable by node_exporter's user whatever our umask (the unit's is 0077). */
        r = fchmod(fd, 0644) < 0 ? -errno : 0;
        /* A regular file takes the whole of a write but when it is full. */
        if (r == 0) {
                ssize_t n = write(fd, text, (size_t) len);
                r = n == len ? 0 : n < 0 ? -errno : -ENOSPC;
        }
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

void metrics_file_write(struct metrics_file *f, bool up) {
        struct metrics_gauges g = {0};
        int r;

        if (!f->path)
                return;
        f->gauges(f->userdata, &g);
        g.up = up;
        r = metrics_write(f->path, f->instance, f->m, &g);
        if (r < 0 && !f->failing)
                log_error_errno(r,
                                "--metrics-file %s: cannot write it (is its folder there and "
                                "writable?); trying again every %llu s",
                                f->path, METRICS_INTERVAL_USEC / USEC_PER_SEC);
        else if (r == 0 && f->failing)
                log_info("--metrics-file %s written again", f->path);
        f->failing = r < 0;
}

static int metrics_file_on_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        struct metrics_file *f = userdata;

        metrics_file_write(f, true);
        (void) sd_event_source_set_time(src, usec + METRICS_INTERVAL_USEC);
        return 0;
}

int metrics_file_start(struct metrics_file *f, sd_event *event) {
        int r;

        if (!f->path)
                return 0;
        r = sd_event_add_time_relative(event, &f->timer, CLOCK_MONOTONIC, METRICS_INTERVAL_USEC,
                                       METRICS_INTERVAL_USEC / 10, metrics_file_on_timer, f);
        if (r >= 0)
                r = sd_event_source_set_enabled(f->timer, SD_EVENT_ON);
        if (r < 0)
                return r;
        metrics_file_write(f, true);
        return 0;
}

void metrics_file_release(struct metrics_file *f) {
        f->timer = sd_event_source_disable_unref(f->timer);
}

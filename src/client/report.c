/* SPDX-License-Identifier: MIT */
/* nbnet-load's report, as text or JSON (report.h). */
#include "report.h"

#include <string.h>

/* The length of the valid UTF-8 sequence at s (1..4), or 0: no overlong
 * forms, no surrogates, nothing over U+10FFFF (RFC 3629). */
static size_t utf8_length(const unsigned char *s) {
        size_t len;
        unsigned char lo = 0x80, hi = 0xbf;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                len = 2;
        else if (s[0] >= 0xe0 && s[0] <= 0xef) {
                len = 3;
                lo = s[0] == 0xe0 ? 0xa0 : 0x80;
                hi = s[0] == 0xed ? 0x9f : 0xbf;
        } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
                len = 4;
                lo = s[0] == 0xf0 ? 0x90 : 0x80;
                hi = s[0] == 0xf4 ? 0x8f : 0xbf;
        } else
                return 0;
        if (s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < len; i++) /* a NUL stops here too: it is no continuation byte */
                if (s[i] < 0x80 || s[i] > 0xbf)
                        return 0;
        return len;
}

/* The inside of a JSON string: what JSON forbids raw, escaped; a byte that is
 * not part of valid UTF-8 as the code point of its value (\u00XX), so that the
 * report stays valid UTF-8 and says which byte it was. */
static void json_chars(FILE *out, const char *s) {
        for (const unsigned char *c = (const unsigned char *) s; *c;) {
                size_t len = utf8_length(c);

                if (len == 0 || *c < 0x20 || *c == 0x7f)
                        fprintf(out, "\\u%04x", *c++);
                else if (*c == '"' || *c == '\\')
                        fprintf(out, "\\%c", *c++);
                else {
                        (void) fwrite(c, 1, len, out);
                        c += len;
                }
        }
}

/* The command's words as one JSON string, joined as the request joins them. */
static void json_words(FILE *out, char *const *words, int count) {
        fputc('"', out);
        for (int i = 0; i < count; i++) {
                if (i > 0)
                        fputc(' ', out);
                json_chars(out, words[i]);
        }
        fputc('"', out);
}

/* What the report derives from the counts. */
struct summary {
        double elapsed_s;
        double rate;
        double mb_per_s;
        double input_mb_per_s;
        double stdev;
        uint64_t min, p50, p90, p99, max, mean;
};

static void summarize(const struct report *r, struct summary *m) {
        const struct histogram *h = &r->latency;

        /* A run of no measurable time still gives finite rates. */
        m->elapsed_s = r->elapsed_usec > 0 ? (double) r->elapsed_usec / 1e6 : 1e-6;
        /* Failures are counted apart: a refused connect is fast, not throughput. */
        m->rate = (double) r->ok / m->elapsed_s;
        m->mb_per_s = (double) r->output_bytes / 1e6 / m->elapsed_s;
        m->input_mb_per_s = (double) r->input_bytes / 1e6 / m->elapsed_s;
        m->min = h->min;
        m->p50 = histogram_percentile(h, 50);
        m->p90 = histogram_percentile(h, 90);
        m->p99 = histogram_percentile(h, 99);
        m->max = h->max;
        m->mean = h->count ? h->sum / h->count : 0;
        m->stdev = histogram_stdev(h);
}

void report_json(const struct report *r, FILE *out) {
        struct summary m;
        bool first = true;

        summarize(r, &m);
        fprintf(out, "{\"target\": \"");
        json_chars(out, r->target);
        fprintf(out, "\", \"command\": ");
        json_words(out, r->command, r->command_words);
        fprintf(out, ", \"connections\": %u, \"raw\": %s, \"interrupted\": %s,\n", r->conns,
                r->raw ? "true" : "false", r->interrupted ? "true" : "false");
        fprintf(out, " \"ok_statuses\": \"");
        json_chars(out, r->ok_statuses ? r->ok_statuses : "0");
        fprintf(out, "\",\n");
        fprintf(out, " \"requests\": %llu, \"ok\": %llu, \"elapsed_s\": %.6f, \"requests_per_s\": %.1f,\n",
                (unsigned long long) r->finished, (unsigned long long) r->ok, m.elapsed_s, m.rate);
        fprintf(out, " \"output_bytes\": %llu, \"output_mb_per_s\": %.3f,\n",
                (unsigned long long) r->output_bytes, m.mb_per_s);
        fprintf(out, " \"input_bytes\": %llu, \"input_mb_per_s\": %.3f,\n",
                (unsigned long long) r->input_bytes, m.input_mb_per_s);
        fprintf(out, " \"stderr_channel\": %s, \"stderr_bytes\": %llu,\n",
                r->stderr_channel ? "true" : "false", (unsigned long long) r->stderr_bytes);
        fprintf(out,
                " \"latency_us\": {\"min\": %llu, \"p50\": %llu, \"p90\": %llu, \"p99\": %llu, "
                "\"max\": %llu, \"mean\": %llu, \"stdev\": %.1f},\n",
                (unsigned long long) m.min, (unsigned long long) m.p50, (unsigned long long) m.p90,
                (unsigned long long) m.p99, (unsigned long long) m.max, (unsigned long long) m.mean,
                m.stdev);
        fprintf(out, " \"statuses\": {");
        for (unsigned i = 0; i < 256; i++) {
                if (r->statuses[i] == 0)
                        continue;
                fprintf(out, "%s\"%u\": %llu", first ? "" : ", ", i,
                        (unsigned long long) r->statuses[i]);
                first = false;
        }
        fprintf(out,
                "},\n \"errors\": {\"connect\": %llu, \"read\": %llu, \"no_status\": %llu, "
                "\"timeout\": %llu, \"bad_status\": %llu, \"last\": ",
                (unsigned long long) r->connect_errors, (unsigned long long) r->read_errors,
                (unsigned long long) r->no_status, (unsigned long long) r->timeouts,
                (unsigned long long) r->bad_status);
        if (r->last_errno) {
                fputc('"', out);
                json_chars(out, strerror(r->last_errno));
                fputc('"', out);
        } else
                fputs("null", out);
        fputs("}}\n", out);
}

static bool status_ok(const struct report *r, unsigned status) {
        return r->ok_status ? r->ok_status[status] : status == 0;
}

/* The statuses with ok (or not ok) as given, "N exited S" each. */
static bool text_status_group(const struct report *r, FILE *out, bool ok, bool after) {
        bool first = true;

        for (unsigned i = 0; i < 256; i++) {
                if (r->statuses[i] == 0 || status_ok(r, i) != ok)
                        continue;
                fprintf(out, "%s%llu exited %u",
                        first ? (after ? "; not ok: "
                                 : ok  ? " ok: "
                                       : " not ok: ")
                              : ", ",
                        (unsigned long long) r->statuses[i], i);
                first = false;
        }
        return !first;
}

/* "  statuses     ok: 4 exited 0, 3 exited 1; not ok: 2 exited 2 (--ok-status 0-1)" */
static void text_statuses(const struct report *r, FILE *out) {
        const char *list = r->ok_statuses ? r->ok_statuses : "0";
        bool some_ok, some_bad;

        fprintf(out, "  statuses    ");
        some_ok = text_status_group(r, out, true, false);
        some_bad = text_status_group(r, out, false, some_ok);
        if (!some_ok && !some_bad)
                fprintf(out, " none");
        /* Which statuses are ok, when it is not plain 0 or some were not. */
        if (some_bad || strcmp(list, "0") != 0)
                fprintf(out, " (--ok-status %s)", list);
        fputc('\n', out);
}

void report_text(const struct report *r, FILE *out) {
        struct summary m;

        summarize(r, &m);
        fprintf(out, "%s: %u connections, %s%s\n", r->target, r->conns,
                r->raw ? "plain requests (--raw)" : "requests with status",
                r->interrupted ? ", interrupted" : "");
        fprintf(out, "  requests     %llu (%llu ok)\n", (unsigned long long) r->finished,
                (unsigned long long) r->ok);
        fprintf(out, "  elapsed      %.3f s\n", m.elapsed_s);
        fprintf(out, "  requests/s   %.1f (ok ones)\n", m.rate);
        fprintf(out, "  output       %.3f MB, %.3f MB/s\n", (double) r->output_bytes / 1e6,
                m.mb_per_s);
        if (r->with_stdin)
                fprintf(out, "  input        %.3f MB, %.3f MB/s\n", (double) r->input_bytes / 1e6,
                        m.input_mb_per_s);
        if (r->stderr_channel)
                fprintf(out, "  stderr       %.3f MB, on a channel per request\n",
                        (double) r->stderr_bytes / 1e6);
        fprintf(out,
                "  latency      min %.3f ms, p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms\n",
                (double) m.min / 1e3, (double) m.p50 / 1e3, (double) m.p90 / 1e3,
                (double) m.p99 / 1e3, (double) m.max / 1e3);
        fprintf(out, "               mean %.3f ms, stdev %.3f ms\n", (double) r->latency.mean / 1e3,
                m.stdev / 1e3);
        if (!r->raw)
                text_statuses(r, out);
        fprintf(out, "  errors       connect %llu, read %llu, no status %llu, timeout %llu, bad status %llu",
                (unsigned long long) r->connect_errors, (unsigned long long) r->read_errors,
                (unsigned long long) r->no_status, (unsigned long long) r->timeouts,
                (unsigned long long) r->bad_status);
        if (r->last_errno)
                fprintf(out, " (last: %s)", strerror(r->last_errno));
        fputc('\n', out);
        if (r->ok < r->finished)
                fprintf(out, "FAILED: %llu of %llu requests did not end well (see errors above)\n",
                        (unsigned long long) (r->finished - r->ok), (unsigned long long) r->finished);
}

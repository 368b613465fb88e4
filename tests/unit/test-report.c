/* SPDX-License-Identifier: MIT */
/* cmocka tests of nbnet-load's report: its JSON escapes and its figures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report.h"

static struct report r;
static bool ok_status[256];

static char *render(void (*fn)(const struct report *, FILE *)) {
        char *buf = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&buf, &size);

        assert_non_null(out);
        fn(&r, out);
        assert_int_equal(fclose(out), 0);
        return buf;
}

static void setup_report(char **words, int count) {
        memset(&r, 0, sizeof r);
        histogram_init(&r.latency);
        r.target = "unix:/tmp/a\"b";
        r.command = words;
        r.command_words = count;
        r.conns = 2;
        r.elapsed_usec = 2000000;
        r.finished = r.ok = 4;
        r.output_bytes = 4000000;
        r.ok_statuses = "0,137";
        memset(ok_status, 0, sizeof ok_status);
        ok_status[0] = ok_status[137] = true;
        r.ok_status = ok_status;
        r.statuses[0] = 3;
        r.statuses[137] = 1;
        for (uint64_t v = 100; v <= 400; v += 100)
                histogram_add(&r.latency, v);
}

static void test_json_escapes_quotes_backslashes_and_controls(void **state) {
        char *words[] = {"printf", "'a\"b\\\\c\n\x1e'"};
        char *json;
        (void) state;

        setup_report(words, 2);
        json = render(report_json);
        assert_non_null(strstr(json, "\"target\": \"unix:/tmp/a\\\"b\""));
        assert_non_null(strstr(json, "\"command\": \"printf 'a\\\"b\\\\\\\\c\\u000a\\u001e'\""));
        assert_non_null(strstr(json, "\"statuses\": {\"0\": 3, \"137\": 1}"));
        assert_non_null(strstr(json, "\"requests_per_s\": 2.0"));
        assert_non_null(strstr(json, "\"output_mb_per_s\": 2.000"));
        assert_non_null(strstr(
                json, "\"min\": 100, \"p50\": 200, \"p90\": 400, \"p99\": 400, \"max\": 400"));
        assert_non_null(strstr(json, "\"timeout\": 0, \"bad_status\": 0, \"last\": null}}"));
        assert_non_null(strstr(json, "\"ok_statuses\": \"0,137\""));
        assert_non_null(strstr(json, "\"mean\": 250, \"stdev\": 111.8}"));
        free(json);
}

/* A report is valid UTF-8 whatever the command's bytes: valid sequences pass,
 * every other byte is escaped as the code point of its value. */
static void test_json_is_valid_utf8(void **state) {
        char *words[] = {"echo", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                         "\xff\xc3(\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xe2\x82"};
        char *json;
        (void) state;

        setup_report(words, 3);
        json = render(report_json);
        assert_non_null(strstr(json,
                               "\"command\": \"echo caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 "
                               "\\u00ff\\u00c3(\\u00c0\\u00af\\u00ed\\u00a0\\u0080"
                               "\\u00f4\\u0090\\u0080\\u0080\\u00e2\\u0082\""));
        free(json);
}

/* A status outside --ok-status is counted, and the request is not ok. */
static void test_bad_statuses_are_shown_and_fail_the_run(void **state) {
        char *words[] = {"false"};
        char *text, *json;
        (void) state;

        setup_report(words, 1);
        r.ok_statuses = "0";
        ok_status[137] = false;
        r.ok = 3;
        r.bad_status = 1;
        text = render(report_text);
        assert_non_null(strstr(
                text, "  statuses     ok: 3 exited 0; not ok: 1 exited 137 (--ok-status 0)\n"));
        assert_non_null(strstr(text, "timeout 0, bad status 1\n"));
        assert_non_null(strstr(text, "FAILED: 1 of 4 requests did not end well"));
        json = render(report_json);
        assert_non_null(strstr(json, "\"bad_status\": 1"));
        free(text);
        free(json);
}

static void test_text_has_every_figure(void **state) {
        char *words[] = {"true"};
        char *text;
        (void) state;

        setup_report(words, 1);
        text = render(report_text);
        assert_non_null(strstr(text, "  requests     4 (4 ok)\n"));
        assert_non_null(strstr(text, "  requests/s   2.0 (ok ones)\n"));
        assert_null(strstr(text, "FAILED"));
        assert_non_null(
                strstr(text, "  statuses     ok: 3 exited 0, 1 exited 137 (--ok-status 0,137)\n"));
        assert_non_null(strstr(text, "p50 0.200 ms"));
        assert_non_null(strstr(text, "               mean 0.250 ms, stdev 0.112 ms\n"));
        assert_null(strstr(text, "  input"));
        r.connect_errors = 1;
        r.last_errno = ECONNREFUSED;
        free(text);
        text = render(report_text);
        assert_non_null(strstr(
                text, "connect 1, read 0, no status 0, timeout 0, bad status 0 (last: Connection "
                      "refused)\n"));
        free(text);
}

/* Refused connects end fast: they must not read as throughput. */
static void test_rate_counts_ok_requests_only(void **state) {
        char *words[] = {"true"};
        char *text, *json;
        (void) state;

        setup_report(words, 1);
        r.finished = 1000;
        r.ok = 0;
        r.connect_errors = 1000;
        r.last_errno = ECONNREFUSED;
        text = render(report_text);
        assert_non_null(strstr(text, "  requests/s   0.0 (ok ones)\n"));
        assert_non_null(strstr(text, "FAILED: 1000 of 1000 requests did not end well"));
        json = render(report_json);
        assert_non_null(strstr(json, "\"requests_per_s\": 0.0"));
        free(text);
        free(json);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_json_escapes_quotes_backslashes_and_controls),
                cmocka_unit_test(test_text_has_every_figure),
                cmocka_unit_test(test_rate_counts_ok_requests_only),
                cmocka_unit_test(test_json_is_valid_utf8),
                cmocka_unit_test(test_bad_statuses_are_shown_and_fail_the_run),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/* cmocka tests of nbnet's own parts: the request's names ('&', '~'), a
 * server's line told apart at the start of a stream, the config file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "frame.h"
#include "serverline.h"

static const char TOKEN[] = "0123456789abcdef0123456789abcdef";

static void expect_request(unsigned flags, const char *token, const char *user, const char *want) {
        struct frame_names names = {.token = token, .user = user};
        size_t size;
        char *req = frame_wrap_named("ls", 2, flags, &names, &size);

        assert_non_null(req);
        assert_int_equal(size, strlen(want));
        assert_memory_equal(req, want, size);
        free(req);
}

static void test_names_in_wire_order(void **state) {
        (void) state;
        expect_request(FRAME_WANT_STATUS, NULL, NULL, "+0000000002ls");
        expect_request(FRAME_WANT_STATUS | FRAME_STDIN, TOKEN, NULL,
                       "+<&0123456789abcdef0123456789abcdef0000000002ls");
        expect_request(FRAME_WANT_STATUS, NULL, "alice", "+~05alice0000000002ls");
        expect_request(FRAME_WANT_STATUS | FRAME_STDIN | FRAME_MUNGE, TOKEN,
                       "a2345678901234567890123456789012",
                       "+<&0123456789abcdef0123456789abcdef~32a2345678901234567890123456789012@"
                       "0000000002ls");
}

static void test_bad_names_refused(void **state) {
        static const char *users[] = {"", "al ice", "a/b", "a2345678901234567890123456789012x", "é"};
        static const char *tokens[] = {"", "0123456789ABCDEF0123456789abcdef",
                                       "0123456789abcdef0123456789abcde",
                                       "0123456789abcdef0123456789abcdef0"};
        size_t size;
        char buf[FRAME_CHANNEL_SIZE];
        (void) state;

        for (size_t i = 0; i < sizeof users / sizeof *users; i++) {
                struct frame_names n = {.user = users[i]};
                errno = 0;
                assert_null(frame_wrap_named("ls", 2, 0, &n, &size));
                assert_int_equal(errno, EINVAL);
                assert_false(frame_user_valid(users[i]));
        }
        for (size_t i = 0; i < sizeof tokens / sizeof *tokens; i++) {
                struct frame_names n = {.token = tokens[i]};
                errno = 0;
                assert_null(frame_wrap_named("ls", 2, 0, &n, &size));
                assert_int_equal(errno, EINVAL);
                assert_int_equal(frame_channel_request(tokens[i], buf), -EINVAL);
        }
        assert_true(frame_user_valid("Deploy_2.x-y"));
        assert_int_equal(frame_channel_request(TOKEN, buf), 0);
        assert_memory_equal(buf, "=0123456789abcdef0123456789abcdef", FRAME_CHANNEL_SIZE);
}

/* Feeds text to l in one slice; returns what came out, joined, in out. */
static size_t feed(struct serverline *l, const char *text, uint64_t now, char *out) {
        struct iovec in = {.iov_base = (void *) text, .iov_len = strlen(text)}, o[3];
        int k = serverline_feed(l, &in, 1, now, o);
        size_t n = 0;

        for (int i = 0; i < k; i++) {
                memcpy(out + n, o[i].iov_base, o[i].iov_len);
                n += o[i].iov_len;
        }
        out[n] = '\0';
        return n;
}

static void test_server_line_held_then_told(void **state) {
        struct serverline l;
        char out[256];
        (void) state;

        serverline_init(&l, "nbnet: ");
        assert_int_equal(feed(&l, "nbnet: busy", 10, out), 0);
        assert_false(serverline_complete(&l));
        assert_int_equal(feed(&l, "\n", 20, out), 0);
        assert_true(serverline_complete(&l));
        assert_int_equal(serverline_due(&l), 20 + SERVERLINE_HOLD_USEC);
        /* A byte after the line: it was output after all, then the rest. */
        assert_int_equal(feed(&l, "more", 30, out), 16);
        assert_string_equal(out, "nbnet: busy\nmore");
        assert_false(serverline_complete(&l));
        assert_int_equal(feed(&l, "x", 40, out), 1);
        assert_int_equal(serverline_due(&l), 0);
}

static void test_other_output_passes_at_once(void **state) {
        struct serverline l;
        struct iovec held;
        char out[256];
        (void) state;

        serverline_init(&l, "nbnet: ");
        assert_int_equal(feed(&l, "hello\n", 1, out), 6);
        serverline_init(&l, "nbnet: ");
        assert_int_equal(feed(&l, "nbn", 1, out), 0);
        assert_int_equal(feed(&l, "x", 2, out), 4);
        assert_string_equal(out, "nbnx");
        /* A held prompt goes once released, and nothing is held after. */
        serverline_init(&l, "nbnet: ");
        assert_int_equal(feed(&l, "nbnet: ready? ", 1, out), 0);
        assert_int_equal(serverline_release(&l, &held), 1);
        assert_int_equal(held.iov_len, 14);
        assert_int_equal(feed(&l, "nbnet: ", 2, out), 7);
}

static void test_server_line_has_a_limit(void **state) {
        struct serverline l;
        char big[SERVERLINE_MAX + 8], out[SERVERLINE_MAX + 16];
        (void) state;

        memset(big, 'x', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        memcpy(big, "nbnet: ", 7);
        serverline_init(&l, "nbnet: ");
        assert_int_equal(feed(&l, big, 1, out), sizeof big - 1);
}

static const char *write_config(const char *text) {
        static char path[] = "/tmp/nbnet-test-config.XXXXXX";
        int fd;

        strcpy(path + sizeof path - 7, "XXXXXX");
        fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        assert_int_equal(close(fd), 0);
        return path;
}

static void test_config_first_value_wins(void **state) {
        const char *path = write_config("# fleet\n"
                                        "Host web* !web9\n"
                                        "    Port 9080\n"
                                        "\n"
                                        "  user = deploy\n"
                                        "Host *\n"
                                        "PORT=9079\n"
                                        "User nobody\n");
        struct config_host ch;
        char why[256];
        (void) state;

        assert_int_equal(config_lookup(path, "web1", &ch, why, sizeof why), 0);
        assert_string_equal(ch.port, "9080");
        assert_string_equal(ch.user, "deploy");
        assert_int_equal(config_lookup(path, "web9", &ch, why, sizeof why), 0);
        assert_string_equal(ch.port, "9079");
        assert_string_equal(ch.user, "nobody");
        unlink(path);
}

static void test_config_errors_name_the_line(void **state) {
        struct config_host ch;
        char why[512];
        const char *path;
        (void) state;

        path = write_config("Host a\nPort 0\n");
        assert_int_equal(config_lookup(path, "a", &ch, why, sizeof why), -EINVAL);
        assert_non_null(strstr(why, ":2: Port must be 1..65535, got '0'"));
        unlink(path);
        path = write_config("User bad/name\n");
        assert_int_equal(config_lookup(path, "a", &ch, why, sizeof why), -EINVAL);
        assert_non_null(strstr(why, ":1: User must be"));
        unlink(path);
        path = write_config("Host\n");
        assert_int_equal(config_lookup(path, "a", &ch, why, sizeof why), -EINVAL);
        assert_non_null(strstr(why, ":1: 'Host' needs a value"));
        unlink(path);
        assert_int_equal(config_lookup("/nonexistent/nbnet", "a", &ch, why, sizeof why), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names_in_wire_order),
                cmocka_unit_test(test_bad_names_refused),
                cmocka_unit_test(test_server_line_held_then_told),
                cmocka_unit_test(test_other_output_passes_at_once),
                cmocka_unit_test(test_server_line_has_a_limit),
                cmocka_unit_test(test_config_first_value_wins),
                cmocka_unit_test(test_config_errors_name_the_line),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

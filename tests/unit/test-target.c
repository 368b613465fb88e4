/* SPDX-License-Identifier: MIT */
/* cmocka tests of target parsing: HOST[:PORT], [IPV6]:PORT, unix:PATH. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>

#include <cmocka.h>

#include "target.h"

static void expect(const char *s, const char *host, const char *port, const char *text) {
        struct target t;

        assert_int_equal(target_parse(s, "9079", &t), 0);
        assert_false(t.is_unix);
        assert_string_equal(t.host, host);
        assert_string_equal(t.port, port);
        assert_string_equal(t.text, text);
}

static void test_host_forms(void **state) {
        (void) state;
        expect("example.org", "example.org", "9079", "example.org:9079");
        expect("example.org:22", "example.org", "22", "example.org:22");
        expect("127.0.0.1:1", "127.0.0.1", "1", "127.0.0.1:1");
        expect("[::1]", "::1", "9079", "[::1]:9079");
        expect("[::1]:65535", "::1", "65535", "[::1]:65535");
        expect("fe80::1", "fe80::1", "9079", "[fe80::1]:9079");
}

static void test_bad_forms(void **state) {
        static const char *bad[] = {"",           ":9079",   "host:",   "host:0",
                                    "host:65536", "host:9x", "host:-1", "[::1",
                                    "[::1]x",     "[]:9079", "[::1]:",  "unix:"};
        struct target t;
        (void) state;

        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
                assert_int_equal(target_parse(bad[i], "9079", &t), -EINVAL);
}

static void test_unix_path(void **state) {
        char longpath[200];
        struct target t;
        (void) state;

        assert_int_equal(target_parse("unix:/run/nbnet.sock", "9079", &t), 0);
        assert_true(t.is_unix);
        assert_string_equal(t.unix_addr.sun_path, "/run/nbnet.sock");
        assert_string_equal(t.text, "unix:/run/nbnet.sock");
        memset(longpath, 'a', sizeof longpath - 1);
        memcpy(longpath, "unix:/", 6);
        longpath[sizeof longpath - 1] = '\0';
        assert_int_equal(target_parse(longpath, "9079", &t), -ENAMETOOLONG);
}

static void test_default_port_is_used_and_checked(void **state) {
        struct target t;
        (void) state;

        assert_int_equal(target_parse("h", "8080", &t), 0);
        assert_string_equal(t.port, "8080");
        assert_int_equal(target_parse("h", "0", &t), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_host_forms),
                cmocka_unit_test(test_bad_forms),
                cmocka_unit_test(test_unix_path),
                cmocka_unit_test(test_default_port_is_used_and_checked),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

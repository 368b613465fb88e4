/* SPDX-License-Identifier: MIT */
/* cmocka tests of the numeric option values every program parses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "args.h"

static int seconds(const char *s, uint64_t *usec) {
        return args_parse_seconds(s, 0.001, 86400, usec);
}

static void test_seconds_decimal(void **state) {
        uint64_t usec = 0;

        (void) state;
        assert_int_equal(seconds("10", &usec), 0);
        assert_int_equal(usec, 10000000);
        assert_int_equal(seconds("0.5", &usec), 0);
        assert_int_equal(usec, 500000);
        assert_int_equal(seconds("0.001", &usec), 0);
        assert_int_equal(usec, 1000);
        assert_int_equal(seconds("86400", &usec), 0);
        assert_int_equal(usec, 86400000000ull);
        assert_int_equal(seconds("1.000001", &usec), 0);
        assert_int_equal(usec, 1000001);
        assert_int_equal(args_parse_seconds("0", 0, 86400, &usec), 0);
        assert_int_equal(usec, 0);
}

static void test_seconds_not_decimal(void **state) {
        static const char *const bad[] = {"0x10",  "1e-9",  "1e3",       "+5",       "-1",
                                          " 5",    "5 ",    "inf",       "nan",      ".5",
                                          "5.",    "",      "10s",       "1ms",      "1,5",
                                          "0x1p3", "1.2.3", "0.0000001", "1.0000000"};
        uint64_t usec = 42;

        (void) state;
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                if (seconds(bad[i], &usec) != -EINVAL)
                        fail_msg("'%s' was not refused as not decimal", bad[i]);
                assert_int_equal(usec, 42);
        }
}

static void test_seconds_range(void **state) {
        uint64_t usec = 42;

        (void) state;
        assert_int_equal(seconds("0", &usec), -ERANGE);
        assert_int_equal(seconds("0.0009", &usec), -ERANGE);
        assert_int_equal(seconds("86400.000001", &usec), -ERANGE);
        assert_int_equal(seconds("99999999999999999999999", &usec), -ERANGE);
        assert_int_equal(usec, 42);
}

static void test_uint_decimal_only(void **state) {
        static const char *const bad[] = {"0x10", "+5", "-1", " 5", "5 ", "1e3", "", "5k"};
        unsigned long v = 42;

        (void) state;
        assert_int_equal(args_parse_uint("010", 1, 100, &v), 0);
        assert_int_equal(v, 10);
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                if (args_parse_uint(bad[i], 0, 1000, &v) != -EINVAL)
                        fail_msg("'%s' was not refused as not decimal", bad[i]);
        assert_int_equal(args_parse_uint("0", 1, 100, &v), -ERANGE);
        assert_int_equal(args_parse_uint("99999999999999999999999", 1, 100, &v), -EINVAL);
        assert_int_equal(v, 10);
}

static void test_duration_units(void **state) {
        uint64_t usec = 0;

        (void) state;
        assert_int_equal(args_parse_duration("500ms", 0.001, 86400, &usec), 0);
        assert_int_equal(usec, 500000);
        assert_int_equal(args_parse_duration("2", 0.001, 86400, &usec), 0);
        assert_int_equal(usec, 2000000);
        assert_int_equal(args_parse_duration("1.5m", 0.001, 86400, &usec), 0);
        assert_int_equal(usec, 90000000);
        assert_int_equal(args_parse_duration("2h", 0.001, 86400, &usec), 0);
        assert_int_equal(usec, 7200000000ull);
        assert_int_equal(args_parse_duration("25h", 0.001, 86400, &usec), -ERANGE);
        assert_int_equal(args_parse_duration("2d", 0.001, 86400, &usec), -EINVAL);
        assert_int_equal(args_parse_duration("h", 0.001, 86400, &usec), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_seconds_decimal),     cmocka_unit_test(test_duration_units),
                cmocka_unit_test(test_seconds_not_decimal), cmocka_unit_test(test_seconds_range),
                cmocka_unit_test(test_uint_decimal_only),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

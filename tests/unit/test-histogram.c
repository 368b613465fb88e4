/* SPDX-License-Identifier: MIT */
/* cmocka tests of the latency histogram: exact where it says, close elsewhere. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "histogram.h"

static struct histogram h;

static void test_empty_is_zero(void **state) {
        (void) state;
        histogram_init(&h);
        assert_int_equal(histogram_percentile(&h, 50), 0);
        assert_int_equal(histogram_percentile(&h, 100), 0);
}

static void test_exact_below_1024(void **state) {
        (void) state;
        histogram_init(&h);
        for (uint64_t v = 1; v <= 1000; v++)
                histogram_add(&h, v);
        assert_int_equal(histogram_percentile(&h, 50), 500);
        assert_int_equal(histogram_percentile(&h, 90), 900);
        assert_int_equal(histogram_percentile(&h, 99), 990);
        assert_int_equal(histogram_percentile(&h, 100), 1000);
        assert_int_equal(histogram_percentile(&h, 0.01), 1);
        assert_int_equal(h.min, 1);
        assert_int_equal(h.max, 1000);
}

/* Every percentile within 0.2% of the exact order statistic, and ordered. */
static void test_close_above_1024(void **state) {
        static uint64_t v[20000];
        const size_t n = sizeof v / sizeof *v;
        (void) state;

        histogram_init(&h);
        srand(1);
        for (size_t i = 0; i < n; i++) {
                v[i] = 1024 + (uint64_t) rand() % 50000000; /* up to 50 s */
                histogram_add(&h, v[i]);
        }
        /* The exact order statistics to compare with; insertion sort is fast enough for 20000. */
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
                        uint64_t t = v[j];
                        v[j] = v[j - 1];
                        v[j - 1] = t;
                }
        for (unsigned p = 1; p <= 100; p++) {
                uint64_t exact = v[(n * p + 99) / 100 - 1], got = histogram_percentile(&h, p);
                assert_true(got >= exact);
                assert_true(got - exact <= exact / 500 + 1);
        }
        assert_true(histogram_percentile(&h, 50) <= histogram_percentile(&h, 99));
        assert_int_equal(histogram_percentile(&h, 100), v[n - 1]);
}

static void test_huge_values_are_clamped(void **state) {
        (void) state;
        histogram_init(&h);
        histogram_add(&h, UINT64_MAX);
        histogram_add(&h, 5);
        assert_int_equal(histogram_percentile(&h, 100), (UINT64_C(1) << 40) - 1);
        assert_int_equal(histogram_percentile(&h, 50), 5);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_empty_is_zero),
                cmocka_unit_test(test_exact_below_1024),
                cmocka_unit_test(test_close_above_1024),
                cmocka_unit_test(test_huge_values_are_clamped),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

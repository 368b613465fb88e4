/* SPDX-License-Identifier: MIT */
/* cmocka tests of who may connect: addresses, users and groups, per socket kind. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

static struct policy policy;

static bool allows(const char *text) {
        struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
        struct sockaddr_in sin = {.sin_family = AF_INET};

        if (inet_pton(AF_INET, text, &sin.sin_addr) == 1)
                return policy_allows_address(&policy, (struct sockaddr *) &sin);
        assert_int_equal(inet_pton(AF_INET6, text, &sin6.sin6_addr), 1);
        return policy_allows_address(&policy, (struct sockaddr *) &sin6);
}

static int reset(void **state) {
        (void) state;
        memset(&policy, 0, sizeof policy);
        return 0;
}

static void test_no_rule_allows_everyone(void **state) {
        (void) state;
        assert_true(allows("192.0.2.1"));
        assert_true(allows("2001:db8::1"));
}

static void test_ipv4_prefixes(void **state) {
        (void) state;
        assert_int_equal(policy_add_net(&policy, "192.0.2.0/25"), 0);
        assert_int_equal(policy_add_net(&policy, "10.1.2.3"), 0);
        assert_true(allows("192.0.2.0"));
        assert_true(allows("192.0.2.127"));
        assert_false(allows("192.0.2.128"));
        assert_true(allows("10.1.2.3"));
        assert_false(allows("10.1.2.4"));
        assert_false(allows("::1"));
}

static void test_ipv4_mapped_peers_match_ipv4_rules(void **state) {
        (void) state;
        assert_int_equal(policy_add_net(&policy, "127.0.0.0/8"), 0);
        assert_true(allows("::ffff:127.0.0.2"));
        assert_false(allows("::ffff:128.0.0.1"));
}

static void test_ipv6_prefixes(void **state) {
        (void) state;
        assert_int_equal(policy_add_net(&policy, "2001:db8::/33"), 0);
        assert_int_equal(policy_add_net(&policy, "::1"), 0);
        assert_true(allows("2001:db8:7fff::1"));
        assert_false(allows("2001:db8:8000::1"));
        assert_true(allows("::1"));
        assert_false(allows("127.0.0.1"));
}

static void test_zero_prefix_matches_the_family(void **state) {
        (void) state;
        assert_int_equal(policy_add_net(&policy, "0.0.0.0/0"), 0);
        assert_true(allows("203.0.113.9"));
        assert_false(allows("2001:db8::1"));
}

static void test_bad_cidrs_are_refused(void **state) {
        const char *bad[] = {"",       "10.0.0.0/33",  "10.0.0.0/",    "10.0.0.0/-1", "10.0.0/8",
                             "::/129", "host.example", "10.0.0.0/8/8", "10.0.0.0/ 8"};
        (void) state;
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                assert_int_equal(policy_add_net(&policy, bad[i]), -EINVAL);
        assert_int_equal(policy.n_nets, 0);
}

static void test_the_list_has_a_limit(void **state) {
        (void) state;
        for (int i = 0; i < POLICY_MAX_NETS; i++)
                assert_int_equal(policy_add_net(&policy, "10.0.0.1"), 0);
        assert_int_equal(policy_add_net(&policy, "10.0.0.1"), -E2BIG);
}

static void test_users_and_groups_by_name_or_number(void **state) {
        (void) state;
        assert_int_equal(policy_add_uid(&policy, "root"), 0);
        assert_int_equal(policy_add_uid(&policy, "1234"), 0);
        assert_int_equal(policy_add_uid(&policy, "no-such-user-nbnet"), -ENOENT);
        assert_int_equal(policy_add_group(&policy, "root"), 0);
        assert_int_equal(policy_add_group(&policy, "no-such-group-nbnet"), -ENOENT);
        assert_int_equal(policy.uids[0], 0);
        assert_int_equal(policy.uids[1], 1234);
        assert_int_equal(policy.gids[0], 0);
}

/* A MUNGE credential's ids: either list admits; both empty admit anyone. */
static void test_a_credentials_ids_pass_by_uid_or_by_group(void **state) {
        (void) state;
        assert_true(policy_allows_ids(&policy, 65534, 65534));
        assert_int_equal(policy_add_uid(&policy, "0"), 0);
        assert_true(policy_allows_ids(&policy, 0, 65534));
        assert_false(policy_allows_ids(&policy, 65534, 65534));
        assert_int_equal(policy_add_group(&policy, "100"), 0);
        assert_true(policy_allows_ids(&policy, 65534, 100));
        assert_false(policy_allows_ids(&policy, 1000, 1000));
}

/* A rule of one socket kind with none of the other leaves the other open. */
static void test_rules_per_socket_kind(void **state) {
        (void) state;

        assert_null(policy_uncovered(&policy, POLICY_SOCKET_IP, false));
        assert_null(policy_uncovered(&policy, POLICY_SOCKET_UNIX, false));
        assert_int_equal(policy_add_net(&policy, "10.9.9.9/32"), 0);
        assert_null(policy_uncovered(&policy, POLICY_SOCKET_IP, false));
        assert_non_null(
                strstr(policy_uncovered(&policy, POLICY_SOCKET_UNIX, false), "every local user"));
        assert_int_equal(policy_add_uid(&policy, "0"), 0);
        assert_null(policy_uncovered(&policy, POLICY_SOCKET_UNIX, false));
        assert_null(policy_uncovered(&policy, POLICY_SOCKET_IP, false));
        memset(&policy, 0, sizeof policy);
        assert_int_equal(policy_add_group(&policy, "0"), 0);
        assert_null(policy_uncovered(&policy, POLICY_SOCKET_UNIX, false));
        assert_non_null(
                strstr(policy_uncovered(&policy, POLICY_SOCKET_IP, false), "every address"));
        /* With --munge each TCP request's credential meets the group rule. */
        assert_null(policy_uncovered(&policy, POLICY_SOCKET_IP, true));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_no_rule_allows_everyone, reset),
                cmocka_unit_test_teardown(test_ipv4_prefixes, reset),
                cmocka_unit_test_teardown(test_ipv4_mapped_peers_match_ipv4_rules, reset),
                cmocka_unit_test_teardown(test_ipv6_prefixes, reset),
                cmocka_unit_test_teardown(test_zero_prefix_matches_the_family, reset),
                cmocka_unit_test_teardown(test_bad_cidrs_are_refused, reset),
                cmocka_unit_test_teardown(test_the_list_has_a_limit, reset),
                cmocka_unit_test_teardown(test_users_and_groups_by_name_or_number, reset),
                cmocka_unit_test_teardown(test_a_credentials_ids_pass_by_uid_or_by_group, reset),
                cmocka_unit_test_teardown(test_rules_per_socket_kind, reset),
        };
        return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}

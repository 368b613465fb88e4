/* SPDX-License-Identifier: MIT */
/* cmocka tests of the journal record builder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"

static struct log_fields fields;

/* The value of KEY in the built fields, or NULL. */
static const char *field(const char *key) {
        static char value[8192];
        size_t klen = strlen(key);

        for (size_t i = 0; i < fields.n; i++) {
                const char *f = fields.iov[i].iov_base;
                if (fields.iov[i].iov_len > klen && strncmp(f, key, klen) == 0 && f[klen] == '=') {
                        size_t n = fields.iov[i].iov_len - klen - 1;
                        memcpy(value, f + klen + 1, n);
                        value[n] = '\0';
                        return value;
                }
        }
        return NULL;
}

static void test_a_command_that_ran_has_every_field(void **state) {
        struct log_record r = {
                .peer = "127.0.0.1:4000",
                .command = "exit 3",
                .command_length = 6,
                .status = 3,
                .duration_usec = 1500,
                .pid = 42,
                .has_bytes_sent = true,
                .bytes_sent = 18,
        };
        (void) state;

        log_init("test", -1);
        log_record_fields(&r, &fields);
        assert_string_equal(
                fields.iov[0].iov_base,
                "MESSAGE=127.0.0.1:4000 \"exit 3\" status 3 in 1.500 ms, 18 bytes sent");
        assert_string_equal(field("PRIORITY"), "5"); /* notice: non-zero exit */
        assert_string_equal(field("SYSLOG_IDENTIFIER"), "test");
        assert_string_equal(field("NBNET_PEER"), "127.0.0.1:4000");
        assert_string_equal(field("NBNET_COMMAND"), "exit 3");
        assert_string_equal(field("NBNET_COMMAND_LENGTH"), "6");
        assert_string_equal(field("NBNET_STATUS"), "3");
        assert_string_equal(field("NBNET_DURATION_USEC"), "1500");
        assert_string_equal(field("NBNET_BYTES_SENT"), "18");
        assert_string_equal(field("NBNET_PID"), "42");
        assert_null(field("NBNET_REASON"));
}

static void test_success_is_info_and_refusal_is_warning(void **state) {
        struct log_record ok = {.peer = "p", .command = "true", .command_length = 4, .status = 0};
        struct log_record refused = {.peer = "p", .status = 126, .reason = "peer not allowed"};
        (void) state;

        log_record_fields(&ok, &fields);
        assert_string_equal(field("PRIORITY"), "6");
        log_record_fields(&refused, &fields);
        assert_string_equal(field("PRIORITY"), "4");
        assert_string_equal(field("NBNET_REASON"), "peer not allowed");
        assert_string_equal(field("NBNET_STATUS"), "126");
        assert_null(field("NBNET_COMMAND"));
        assert_null(field("NBNET_PID"));
        assert_null(field("NBNET_BYTES_SENT"));
}

static void test_long_commands_are_cut_at_1_kib_with_the_true_length(void **state) {
        static char cmd[5000];
        struct log_record r = {
                .peer = "p", .command = cmd, .command_length = sizeof cmd - 1, .status = 0};
        (void) state;

        memset(cmd, 'x', sizeof cmd - 1);
        log_record_fields(&r, &fields);
        assert_int_equal(strlen(field("NBNET_COMMAND")), 1024);
        assert_string_equal(field("NBNET_COMMAND_LENGTH"), "4999");
        assert_non_null(strstr(fields.iov[0].iov_base, "xxx...\" status 0"));
}

static void test_control_bytes_are_escaped_in_the_message(void **state) {
        struct log_record r = {
                .peer = "p", .command = "echo \"a\"\nrm", .command_length = 11, .status = 0};
        (void) state;

        log_record_fields(&r, &fields);
        assert_string_equal(fields.iov[0].iov_base,
                            "MESSAGE=p \"echo \\\"a\\\"\\x0arm\" status 0 in 0.000 ms");
        assert_string_equal(field("NBNET_COMMAND"), "echo \"a\"\nrm");
}

static void test_a_credentials_ids_and_user_are_in_the_record(void **state) {
        struct log_record r = {.peer = "p",
                               .command = "id",
                               .command_length = 2,
                               .status = 0,
                               .has_ids = true,
                               .uid = 0,
                               .gid = 0,
                               .user = "root"};
        struct log_record unnamed = {.peer = "p",
                                     .status = 126,
                                     .reason = "user not allowed",
                                     .has_ids = true,
                                     .uid = 4242,
                                     .gid = 7};
        (void) state;

        log_record_fields(&r, &fields);
        assert_string_equal(fields.iov[0].iov_base,
                            "MESSAGE=p uid=0(root) gid=0 \"id\" status 0 in 0.000 ms");
        assert_string_equal(field("NBNET_UID"), "0");
        assert_string_equal(field("NBNET_GID"), "0");
        assert_string_equal(field("NBNET_USER"), "root");
        log_record_fields(&unnamed, &fields);
        assert_string_equal(fields.iov[0].iov_base,
                            "MESSAGE=p uid=4242 gid=7 - status 126 in 0.000 ms: user not allowed");
        assert_string_equal(field("NBNET_UID"), "4242");
        assert_null(field("NBNET_USER"));
}

static void test_without_a_credential_there_are_no_ids(void **state) {
        struct log_record r = {.peer = "p", .command = "id", .command_length = 2, .status = 0};
        (void) state;

        log_record_fields(&r, &fields);
        assert_null(field("NBNET_UID"));
        assert_null(field("NBNET_GID"));
        assert_null(field("NBNET_USER"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_a_command_that_ran_has_every_field),
                cmocka_unit_test(test_success_is_info_and_refusal_is_warning),
                cmocka_unit_test(test_long_commands_are_cut_at_1_kib_with_the_true_length),
                cmocka_unit_test(test_control_bytes_are_escaped_in_the_message),
                cmocka_unit_test(test_a_credentials_ids_and_user_are_in_the_record),
                cmocka_unit_test(test_without_a_credential_there_are_no_ids),
        };
        return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/* cmocka tests of the address allow-list and the command table. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy.h"

static struct policy policy;
static struct policy_table table;

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
        policy_table_release(&table);
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

/* Writes size bytes of text to a temporary file and loads it as a command
 * table; the file's path goes to path. */
static int load(const char *text, size_t size, char *path, char *err, size_t err_size) {
        int fd, r;

        strcpy(path, "/tmp/nbnet-test-commands.XXXXXX");
        fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, size), (ssize_t) size);
        close(fd);
        r = policy_load_commands(&table, path, err, err_size);
        unlink(path);
        return r;
}

static void test_a_table_maps_names_to_command_lines(void **state) {
        static const char text[] = "# comment\n\n  uptime = uptime  \nload=cat /proc/loadavg\n"
                                   "with.dots-and_under = echo a = b\r\n";
        char err[256], path[64];
        (void) state;

        assert_int_equal(load(text, sizeof text - 1, path, err, sizeof err), 0);
        assert_int_equal(table.count, 3);
        assert_string_equal(policy_lookup(&table, "uptime"), "uptime");
        assert_string_equal(policy_lookup(&table, "load"), "cat /proc/loadavg");
        assert_string_equal(policy_lookup(&table, "with.dots-and_under"), "echo a = b");
        assert_null(policy_lookup(&table, "UPTIME"));
        assert_null(policy_lookup(&table, "uptime "));
        assert_null(policy_lookup(&table, "cat /proc/loadavg"));
}

static void test_table_errors_name_the_line(void **state) {
        static const struct {
                const char *text, *message;
        } cases[] = {
                {"a = true\nno equals here\n", ":2: expected 'name = command line'"},
                {"= true\n", ":1: a name is 1 to 64 letters, digits, '_', '.' or '-'"},
                {"bad name = true\n", ":1: a name is 1 to 64 letters, digits, '_', '.' or '-'"},
                {"a =   \n", ":1: empty command line"},
                {"a = x\n\na = y\n", ":3: name defined twice"},
                {"a = x\0b = y\n", ": contains a NUL byte"},
        };
        (void) state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                char err[256], path[64];
                /* The NUL case's text goes on past its NUL. */
                size_t len = i == 5 ? 12 : strlen(cases[i].text);
                assert_true(load(cases[i].text, len, path, err, sizeof err) < 0);
                assert_true(strncmp(err, path, strlen(path)) == 0);
                assert_string_equal(err + strlen(path), cases[i].message);
                assert_int_equal(table.count, 0);
        }
}

static void test_a_missing_table_says_so(void **state) {
        char err[256];
        (void) state;

        assert_int_equal(policy_load_commands(&table, "/nonexistent/nbnet", err, sizeof err),
                         -ENOENT);
        assert_string_equal(err, "/nonexistent/nbnet: No such file or directory");
        assert_int_equal(policy_load_commands(&table, "/tmp", err, sizeof err), -EINVAL);
        assert_string_equal(err, "/tmp: not a regular file");
}

/* A folder of files for the include tests, removed by remove_dir(). */
static char dir[64];

static void write_file(const char *name, const char *text) {
        char path[128];
        FILE *f;

        snprintf(path, sizeof path, "%s/%s", dir, name);
        f = fopen(path, "w");
        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
}

static int make_dir(void **state) {
        (void) state;
        strcpy(dir, "/tmp/nbnet-test-nrpe.XXXXXX");
        assert_non_null(mkdtemp(dir));
        return 0;
}

static int remove_dir(void **state) {
        char cmd[128];

        reset(state);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
        return 0;
}

static int load_in_dir(const char *name, char *err, size_t err_size) {
        char path[128];

        snprintf(path, sizeof path, "%s/%s", dir, name);
        return policy_load_commands(&table, path, err, err_size);
}

static void test_an_nrpe_cfg_gives_its_commands_and_names_what_it_skips(void **state) {
        char err[256];
        (void) state;

        write_file("nrpe.cfg", "# nrpe.cfg\nserver_port=5666\nallowed_hosts=127.0.0.1,::1\n"
                               "command[check_load]=/usr/lib/nagios/plugins/check_load -w 15,10,5\n"
                               "  command[check_users] = check_users -w 5 -c 10\n"
                               "server_port=5667\ndont_blame_nrpe=0\ncommand[eq]=echo a=b\n");
        assert_int_equal(load_in_dir("nrpe.cfg", err, sizeof err), 0);
        assert_int_equal(table.count, 3);
        assert_string_equal(policy_lookup(&table, "check_load"),
                            "/usr/lib/nagios/plugins/check_load -w 15,10,5");
        assert_string_equal(policy_lookup(&table, "check_users"), "check_users -w 5 -c 10");
        assert_string_equal(policy_lookup(&table, "eq"), "echo a=b");
        assert_null(policy_lookup(&table, "server_port"));
        assert_int_equal(table.n_skipped, 4);
        assert_string_equal(table.skipped, "server_port, allowed_hosts, dont_blame_nrpe");
}

static void test_nrpe_arguments_are_refused_with_the_reason(void **state) {
        char err[256];
        (void) state;

        write_file("args.cfg", "command[ok]=check_dummy 0\n"
                               "command[check_disk]=check_disk -w $ARG1$ -c 10%\n");
        assert_int_equal(load_in_dir("args.cfg", err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "/args.cfg:2: $ARGn$: nbnet passes no arguments"));
        assert_int_equal(table.count, 0);
        /* A dollar that is no argument is the shell's. */
        write_file("dollar.cfg", "command[a]=echo $ARG $ARGx$ $HOME\n");
        assert_int_equal(load_in_dir("dollar.cfg", err, sizeof err), 0);
        assert_string_equal(policy_lookup(&table, "a"), "echo $ARG $ARGx$ $HOME");
}

static void test_nrpe_includes_files_and_folders(void **state) {
        char err[256], path[128];
        (void) state;

        snprintf(path, sizeof path, "%s/d", dir);
        assert_int_equal(mkdir(path, 0700), 0);
        snprintf(path, sizeof path, "%s/d/sub", dir);
        assert_int_equal(mkdir(path, 0700), 0);
        write_file("local.cfg", "command[local]=true\n");
        write_file("d/b.cfg", "command[b]=echo b\n");
        write_file("d/a.cfg", "command[a]=echo a\nlog_facility=daemon\n");
        write_file("d/readme.txt", "not a table\n");
        write_file("d/sub/c.cfg", "command[c]=echo c\n");
        snprintf(path, sizeof path, "%s/d", dir);
        write_file("main.cfg", "command[main]=true\ninclude=local.cfg\ninclude_dir=d\n");
        assert_int_equal(load_in_dir("main.cfg", err, sizeof err), 0);
        assert_int_equal(table.count, 5);
        assert_string_equal(policy_lookup(&table, "c"), "echo c");
        assert_string_equal(policy_lookup(&table, "local"), "true");
        assert_string_equal(table.skipped, "log_facility");
        policy_table_release(&table);
        /* A file of include= lines alone is nbnet's form: it needs a command[] line. */
        write_file("err.cfg", "command[x]=true\ninclude=bad.cfg\n");
        write_file("bad.cfg", "command[y]=true\ncommand[x]=false\n");
        assert_int_equal(load_in_dir("err.cfg", err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "/err.cfg:2: "));
        assert_non_null(strstr(err, "/bad.cfg:2: name defined twice"));
        assert_int_equal(table.count, 0);
        write_file("missing.cfg", "command[x]=true\ninclude=/nonexistent/nrpe.cfg\n");
        assert_int_equal(load_in_dir("missing.cfg", err, sizeof err), -ENOENT);
        assert_non_null(strstr(err, "/missing.cfg:2: /nonexistent/nrpe.cfg: No such file"));
}

static void test_includes_nest_at_most_eight_deep(void **state) {
        char err[2048], name[16], text[64];
        (void) state;

        /* f0 includes f1 ... includes f9: nine levels. */
        for (int i = 0; i <= 9; i++) {
                snprintf(name, sizeof name, "f%d.cfg", i);
                snprintf(text, sizeof text, "command[c%d]=true\ninclude=f%d.cfg\n", i, i + 1);
                write_file(name, i < 9 ? text : "command[c9]=true\n");
        }
        assert_int_equal(load_in_dir("f1.cfg", err, sizeof err), 0);
        assert_int_equal(table.count, 9);
        policy_table_release(&table);
        assert_int_equal(load_in_dir("f0.cfg", err, sizeof err), -ELOOP);
        assert_non_null(strstr(err, "/f8.cfg:2: includes nested more than 8 deep"));
        assert_int_equal(table.count, 0);
        assert_null(table.storage);
        /* A file that includes itself defines its names twice. */
        write_file("loop.cfg", "command[x]=true\ninclude=loop.cfg\n");
        assert_int_equal(load_in_dir("loop.cfg", err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "/loop.cfg:1: name defined twice"));
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

/* A FIFO with no writer: open() without O_NONBLOCK would wait for one forever. */
static void test_a_fifo_is_refused_without_blocking(void **state) {
        char fifo_dir[] = "/tmp/nbnet-fifo.XXXXXX", path[64], err[256];
        (void) state;

        assert_non_null(mkdtemp(fifo_dir));
        snprintf(path, sizeof path, "%s/commands", fifo_dir);
        assert_int_equal(mkfifo(path, 0600), 0);
        alarm(5); /* a regression hangs: make it fail instead */
        assert_int_equal(policy_load_commands(&table, path, err, sizeof err), -EINVAL);
        alarm(0);
        assert_true(strstr(err, ": not a regular file") != NULL);
        assert_int_equal(table.count, 0);
        unlink(path);
        rmdir(fifo_dir);
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
                cmocka_unit_test_teardown(test_a_table_maps_names_to_command_lines, reset),
                cmocka_unit_test_teardown(test_table_errors_name_the_line, reset),
                cmocka_unit_test_teardown(test_a_missing_table_says_so, reset),
                cmocka_unit_test_setup_teardown(
                        test_an_nrpe_cfg_gives_its_commands_and_names_what_it_skips, make_dir,
                        remove_dir),
                cmocka_unit_test_setup_teardown(test_nrpe_arguments_are_refused_with_the_reason,
                                                make_dir, remove_dir),
                cmocka_unit_test_setup_teardown(test_nrpe_includes_files_and_folders, make_dir,
                                                remove_dir),
                cmocka_unit_test_setup_teardown(test_includes_nest_at_most_eight_deep, make_dir,
                                                remove_dir),
                cmocka_unit_test_teardown(test_a_fifo_is_refused_without_blocking, reset),
                cmocka_unit_test_teardown(test_rules_per_socket_kind, reset),
        };
        return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/* cmocka tests of the --commands table: nbnet's form, nrpe.cfg, includes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmdtable.h"

static struct cmdtable table;

static int reset(void **state) {
        (void) state;
        cmdtable_release(&table);
        return 0;
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
        r = cmdtable_load(&table, path, err, err_size);
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
        assert_string_equal(cmdtable_lookup(&table, "uptime"), "uptime");
        assert_string_equal(cmdtable_lookup(&table, "load"), "cat /proc/loadavg");
        assert_string_equal(cmdtable_lookup(&table, "with.dots-and_under"), "echo a = b");
        assert_null(cmdtable_lookup(&table, "UPTIME"));
        assert_null(cmdtable_lookup(&table, "uptime "));
        assert_null(cmdtable_lookup(&table, "cat /proc/loadavg"));
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
                /* NRPE's arguments in nbnet's own form too: the shell would run "$". */
                {"a = x\nb = check -w $ARG1$\n",
                 ":2: $ARGn$: nbnet passes no arguments to commands (write the values into the "
                 "line, or define one name per variant)"},
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

        assert_int_equal(cmdtable_load(&table, "/nonexistent/nbnet", err, sizeof err), -ENOENT);
        assert_string_equal(err, "/nonexistent/nbnet: No such file or directory");
        assert_int_equal(cmdtable_load(&table, "/tmp", err, sizeof err), -EINVAL);
        assert_string_equal(err, "/tmp: not a regular file");
}

/* /proc lists its files as regular and empty: /proc/kmsg would load as an
 * empty table (and reading it would wait for the kernel's next message). */
static void test_a_proc_file_is_no_table(void **state) {
        char err[256];
        (void) state;

        assert_int_equal(cmdtable_load(&table, "/proc/self/status", err, sizeof err), -EMEDIUMTYPE);
        assert_string_equal(err, "/proc/self/status: not a regular file (a file of /proc or /sys)");
        assert_int_equal(table.count, 0);
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
        return cmdtable_load(&table, path, err, err_size);
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
        assert_string_equal(cmdtable_lookup(&table, "check_load"),
                            "/usr/lib/nagios/plugins/check_load -w 15,10,5");
        assert_string_equal(cmdtable_lookup(&table, "check_users"), "check_users -w 5 -c 10");
        assert_string_equal(cmdtable_lookup(&table, "eq"), "echo a=b");
        assert_null(cmdtable_lookup(&table, "server_port"));
        assert_int_equal(table.n_skipped, 3);
        assert_string_equal(table.skipped, "server_port, dont_blame_nrpe");
        assert_int_equal(table.hosts.n_nets, 2);
}

/* Whether the table's allowed_hosts admit an IPv4 peer. */
static bool hosts_admit(const char *addr) {
        struct sockaddr_in sin = {.sin_family = AF_INET};

        assert_int_equal(inet_pton(AF_INET, addr, &sin.sin_addr), 1);
        return policy_allows_address(&table.hosts, (const struct sockaddr *) &sin);
}

static void test_allowed_hosts_is_an_address_rule_and_the_last_line_wins(void **state) {
        char err[256];
        (void) state;

        write_file("hosts.cfg", "allowed_hosts=192.0.2.1\ncommand[ok]=true\n"
                                "allowed_hosts = 127.0.0.2, 198.51.100.0/24 ,::1\n");
        assert_int_equal(load_in_dir("hosts.cfg", err, sizeof err), 0);
        assert_int_equal(table.hosts.n_nets, 3);
        assert_true(hosts_admit("127.0.0.2"));
        assert_true(hosts_admit("198.51.100.77"));
        assert_false(hosts_admit("192.0.2.1"));
        assert_false(hosts_admit("127.0.0.1"));
        assert_int_equal(table.n_skipped, 0);
}

static void test_allowed_hosts_refuses_names_and_empty_lists(void **state) {
        char err[512];
        (void) state;

        write_file("name.cfg", "command[ok]=true\nallowed_hosts=127.0.0.1,nagios.example.com\n");
        assert_int_equal(load_in_dir("name.cfg", err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "/name.cfg:2: allowed_hosts: 'nagios.example.com' is not an "
                                    "IPv4 or IPv6 address"));
        assert_non_null(strstr(err, "write the host's addresses instead"));
        assert_int_equal(table.count, 0);
        write_file("empty.cfg", "command[ok]=true\nallowed_hosts= , \n");
        assert_int_equal(load_in_dir("empty.cfg", err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "/empty.cfg:2: allowed_hosts= names no host"));
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
        assert_string_equal(cmdtable_lookup(&table, "a"), "echo $ARG $ARGx$ $HOME");
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
        assert_string_equal(cmdtable_lookup(&table, "c"), "echo c");
        assert_string_equal(cmdtable_lookup(&table, "local"), "true");
        assert_string_equal(table.skipped, "log_facility");
        cmdtable_release(&table);
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
        cmdtable_release(&table);
        assert_int_equal(load_in_dir("f0.cfg", err, sizeof err), -ELOOP);
        assert_non_null(strstr(err, "/f8.cfg:2: includes nested more than 8 deep"));
        assert_int_equal(table.count, 0);
        assert_null(table.storage);
        /* A file that includes itself defines its names twice. */
        write_file("loop.cfg", "command[x]=true\ninclude=loop.cfg\n");
        assert_int_equal(load_in_dir("loop.cfg", err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "/loop.cfg:1: name defined twice"));
}

/* A FIFO with no writer: open() without O_NONBLOCK would wait for one forever. */
static void test_a_fifo_is_refused_without_blocking(void **state) {
        char fifo_dir[] = "/tmp/nbnet-fifo.XXXXXX", path[64], err[256];
        (void) state;

        assert_non_null(mkdtemp(fifo_dir));
        snprintf(path, sizeof path, "%s/commands", fifo_dir);
        assert_int_equal(mkfifo(path, 0600), 0);
        alarm(5); /* a regression hangs: make it fail instead */
        assert_int_equal(cmdtable_load(&table, path, err, sizeof err), -EINVAL);
        alarm(0);
        assert_true(strstr(err, ": not a regular file") != NULL);
        assert_int_equal(table.count, 0);
        unlink(path);
        rmdir(fifo_dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_a_table_maps_names_to_command_lines, reset),
                cmocka_unit_test_teardown(test_table_errors_name_the_line, reset),
                cmocka_unit_test_teardown(test_a_missing_table_says_so, reset),
                cmocka_unit_test_teardown(test_a_proc_file_is_no_table, reset),
                cmocka_unit_test_setup_teardown(
                        test_an_nrpe_cfg_gives_its_commands_and_names_what_it_skips, make_dir,
                        remove_dir),
                cmocka_unit_test_setup_teardown(test_nrpe_arguments_are_refused_with_the_reason,
                                                make_dir, remove_dir),
                cmocka_unit_test_setup_teardown(
                        test_allowed_hosts_is_an_address_rule_and_the_last_line_wins, make_dir,
                        remove_dir),
                cmocka_unit_test_setup_teardown(test_allowed_hosts_refuses_names_and_empty_lists,
                                                make_dir, remove_dir),
                cmocka_unit_test_setup_teardown(test_nrpe_includes_files_and_folders, make_dir,
                                                remove_dir),
                cmocka_unit_test_setup_teardown(test_includes_nest_at_most_eight_deep, make_dir,
                                                remove_dir),
                cmocka_unit_test_teardown(test_a_fifo_is_refused_without_blocking, reset),
        };
        return cmocka_run_group_tests_name("cmdtable", tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/* cmocka tests of the configuration file (--config) and how it joins the command line. */
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

#include "conffile.h"

enum { OPT_NUMBER = 0x100, OPT_NAME, OPT_FLAG, OPT_CONFIG, OPT_HELP };

static const struct option longopts[] = {
        {"number", required_argument, NULL, OPT_NUMBER},
        {"name", required_argument, NULL, OPT_NAME},
        {"flag", no_argument, NULL, OPT_FLAG},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"help", no_argument, NULL, OPT_HELP},
        {0},
};

static struct conffile cf;
static char path[64];

static int reset(void **state) {
        (void) state;
        conffile_release(&cf);
        if (path[0])
                unlink(path);
        path[0] = '\0';
        return 0;
}

/* Writes text (size bytes) to a temporary file, named in path. */
static void write_conf(const char *text, size_t size) {
        int fd;

        strcpy(path, "/tmp/nbnet-test-conf.XXXXXX");
        fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, size), (ssize_t) size);
        close(fd);
}

static int load(const char *text, char *err, size_t err_size) {
        write_conf(text, strlen(text));
        return conffile_load(&cf, path, longopts, err, err_size);
}

static void test_lines_become_options_in_order(void **state) {
        char err[256];
        (void) state;

        assert_int_equal(load("# comment\n\n  number = 12  \nname=a = b # not a comment\r\n"
                              "flag\nname = second\n#name = commented out\n",
                              err, sizeof err),
                         0);
        assert_int_equal(cf.n, 4);
        assert_int_equal(cf.entries[0].index, 0);
        assert_string_equal(cf.entries[0].value, "12");
        assert_int_equal(cf.entries[0].line, 3);
        assert_int_equal(cf.entries[1].index, 1);
        assert_string_equal(cf.entries[1].value, "a = b # not a comment");
        assert_int_equal(cf.entries[2].index, 2);
        assert_null(cf.entries[2].value);
        assert_int_equal(cf.entries[3].line, 6);
        assert_string_equal(cf.entries[3].value, "second");
}

static void test_a_flag_takes_yes_or_no(void **state) {
        char err[256];
        (void) state;

        assert_int_equal(load("flag = yes\nflag = no\nflag = true\nflag = off\n", err, sizeof err),
                         0);
        /* "no" and "off" set nothing. */
        assert_int_equal(cf.n, 2);
        assert_int_equal(cf.entries[0].line, 1);
        assert_int_equal(cf.entries[1].line, 3);
}

static void test_errors_name_the_file_the_line_and_the_key(void **state) {
        static const struct {
                const char *text, *message;
        } cases[] = {
                {"number = 1\nnumbr = 2\n", ":2: unknown key 'numbr': did you mean 'number'?"},
                {"colour = red\n",
                 ":1: unknown key 'colour': the keys are the long options of --help, without "
                 "their dashes"},
                {"--number = 3\n",
                 ":1: unknown key '--number': write the option's name without its dashes "
                 "('number')"},
                {"\n\nnumber\n", ":3: number needs a value: 'number = VALUE'"},
                {"name =   \n", ":1: name needs a value: 'name = VALUE'"},
                {"flag = maybe\n", ":1: flag takes no value, or yes or no; got 'maybe'"},
                /* Not configuration: they act, or would name another file. */
                {"help\n", ":1: unknown key 'help': the keys are the long options of --help, "
                           "without their dashes"},
                {"config = /etc/other.conf\n", ":1: unknown key 'config': the keys are the long "
                                               "options of --help, without their dashes"},
        };
        (void) state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                char err[256];

                assert_int_equal(load(cases[i].text, err, sizeof err), -EINVAL);
                assert_true(strncmp(err, path, strlen(path)) == 0);
                assert_string_equal(err + strlen(path), cases[i].message);
                assert_int_equal(cf.n, 0);
                reset(NULL);
        }
}

static void test_a_file_that_cannot_be_read_says_why(void **state) {
        char err[256], big[CONFFILE_SIZE_MAX + 2];
        (void) state;

        assert_int_equal(conffile_load(&cf, "/nonexistent/nbnetd.conf", longopts, err, sizeof err),
                         -ENOENT);
        assert_string_equal(err, "--config /nonexistent/nbnetd.conf: No such file or directory");
        assert_int_equal(conffile_load(&cf, "/tmp", longopts, err, sizeof err), -EINVAL);
        assert_string_equal(err, "--config /tmp: not a regular file");
        assert_int_equal(conffile_load(&cf, "/proc/self/status", longopts, err, sizeof err),
                         -EMEDIUMTYPE);
        memset(big, '#', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        write_conf(big, sizeof big - 1);
        assert_int_equal(conffile_load(&cf, path, longopts, err, sizeof err), -EFBIG);
        assert_non_null(strstr(err, ": larger than 64 KiB"));
        reset(NULL);
        write_conf("number = 1\0name = x\n", 20);
        assert_int_equal(conffile_load(&cf, path, longopts, err, sizeof err), -EBADMSG);
        assert_non_null(strstr(err, ": contains a NUL byte"));
}

/* What parse_options saw: each option's value and who named it. */
struct seen {
        char log[1024];
};

static int record(int opt, const char *arg, const char *who, void *userdata) {
        struct seen *s = userdata;
        size_t used = strlen(s->log);

        if (opt == '?')
                return -EINVAL;
        snprintf(s->log + used, sizeof s->log - used, "%s%d=%s@%s", used ? ";" : "", opt - 0x100,
                 arg ? arg : "-", strchr(who, ':') ? strrchr(who, ':') + 1 : "argv");
        /* A value the program refuses, as serve_options_parse() would. */
        return arg && strcmp(arg, "bad") == 0 ? -EINVAL : 0;
}

static int parse(struct seen *s, char **argv) {
        const struct conffile_args a = {
                .program = "test",
                .longopts = longopts,
                .shortopts = "",
                .config_opt = OPT_CONFIG,
                .fn = record,
                .userdata = s,
        };
        int argc = 0;

        while (argv[argc])
                argc++;
        optind = 0;
        *s = (struct seen){0};
        return conffile_parse_options(&a, argc, argv, &cf);
}

static void test_the_command_line_wins_over_the_file(void **state) {
        struct seen s;
        (void) state;

        write_conf("number = 1\nname = a\nname = b\nflag\n", 33);
        /* --name on the command line replaces both of the file's name lines. */
        char *argv[] = {"test", "--name", "cli", "--config", path, NULL};
        assert_int_equal(parse(&s, argv), 0);
        assert_string_equal(s.log, "1=cli@argv;0=1@1;2=-@4");
}

static void test_without_config_no_file_is_read(void **state) {
        struct seen s;
        (void) state;

        char *argv[] = {"test", "--number", "5", NULL};
        assert_int_equal(parse(&s, argv), 0);
        assert_string_equal(s.log, "0=5@argv");
        assert_null(cf.text);
}

static void test_errors_of_the_file_and_of_the_command_line_differ(void **state) {
        struct seen s;
        (void) state;

        write_conf("number = bad\n", 13);
        char *file_bad[] = {"test", "--config", path, NULL};
        assert_int_equal(parse(&s, file_bad), -EBADMSG);
        assert_string_equal(s.log, "0=bad@1");
        conffile_release(&cf);
        char *argv_bad[] = {"test", "--config", path, "--number", "bad", NULL};
        assert_int_equal(parse(&s, argv_bad), -EINVAL);
        conffile_release(&cf);
        char *missing[] = {"test", "--config", "/nonexistent/x.conf", NULL};
        assert_int_equal(parse(&s, missing), -EBADMSG);
        char *empty[] = {"test", "--config", "", NULL};
        assert_int_equal(parse(&s, empty), -EINVAL);
        char *extra[] = {"test", "stray", NULL};
        assert_int_equal(parse(&s, extra), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_lines_become_options_in_order, reset),
                cmocka_unit_test_teardown(test_a_flag_takes_yes_or_no, reset),
                cmocka_unit_test_teardown(test_errors_name_the_file_the_line_and_the_key, reset),
                cmocka_unit_test_teardown(test_a_file_that_cannot_be_read_says_why, reset),
                cmocka_unit_test_teardown(test_the_command_line_wins_over_the_file, reset),
                cmocka_unit_test_teardown(test_without_config_no_file_is_read, reset),
                cmocka_unit_test_teardown(test_errors_of_the_file_and_of_the_command_line_differ,
                                          reset),
        };
        return cmocka_run_group_tests_name("conffile", tests, NULL, NULL);
}

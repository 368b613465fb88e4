/* SPDX-License-Identifier: MIT */
/* cmocka tests of which command lines skip the shell, and how they split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shsyntax.h"

static char buf[4096];
static char *argv[SHSYNTAX_MAX_ARGV(sizeof buf)];

static size_t split(const char *line) {
        assert_true(strlen(line) < sizeof buf);
        return shsyntax_split(line, buf, argv);
}

static void test_plain_words_split_on_blanks(void **state) {
        (void) state;
        assert_int_equal(split("ls"), 1);
        assert_string_equal(argv[0], "ls");
        assert_null(argv[1]);
        assert_int_equal(split(" \t ls  -l\t/tmp  "), 3);
        assert_string_equal(argv[0], "ls");
        assert_string_equal(argv[1], "-l");
        assert_string_equal(argv[2], "/tmp");
        assert_null(argv[3]);
        assert_int_equal(split("date -u +%Y"), 3);
        assert_string_equal(argv[2], "+%Y");
        assert_int_equal(split("dd if=/dev/zero bs=1M count=1 status=none"), 5);
        assert_string_equal(argv[1], "if=/dev/zero");
        assert_int_equal(split("/usr/bin/env a,b:c@d_e.f"), 2);
}

static void test_an_empty_line_goes_to_the_shell(void **state) {
        (void) state;
        assert_int_equal(split(""), 0);
        assert_int_equal(split("  \t "), 0);
}

/* Every byte but the plain ones and the blanks, at the start, inside and
 * alone: quotes, \, $, globs, ~, #, ;, &, |, <, >, (, ), `, !, {, }, ^,
 * newline, CR, vertical tab, form feed, control and non-ASCII bytes. */
static void test_any_other_byte_goes_to_the_shell(void **state) {
        const char *plain = "%+,-./:=@_";
        char line[16];

        (void) state;
        for (int c = 1; c < 256; c++) {
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    strchr(plain, c) || c == ' ' || c == '\t')
                        continue;
                snprintf(line, sizeof line, "ls a%cb", c);
                assert_int_equal(split(line), 0);
                snprintf(line, sizeof line, "ls %c", c);
                assert_int_equal(split(line), 0);
                snprintf(line, sizeof line, "%cls", c);
                assert_int_equal(split(line), 0);
        }
}

static void test_assignments_keywords_and_builtins_go_to_the_shell(void **state) {
        static const char *const lines[] = {
                "A=1 ls",  "A= ls",  "=x",        "true",       "false",   "echo hi",  "printf x",
                "cd /",    "exit 3", "type ls",   "command ls", "exec ls", "kill 1",   "test 1",
                "pwd",     "umask",  "ulimit -n", "read x",     "wait",    "times",    "trap",
                "set",     "export", "unset x",   "eval ls",    ". x",     ": x",      "if",
                "then",    "in",     "do",        "done",       "case",    "esac",     "for",
                "while",   "until",  "local x",   "getopts",    "hash",    "alias",    "jobs",
                "fg",      "bg",     "shift",     "return",     "break",   "continue", "readonly",
                "chdir /", "login",  "logout",    "fc",
        };

        (void) state;
        for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
                if (split(lines[i]) != 0)
                        fail_msg("'%s' would be exec'd without the shell", lines[i]);
        }
        /* `sh -c -x` takes a leading '-' or '+' as an option, even when a
         * program of that name is in PATH. */
        assert_int_equal(split("-x"), 0);
        assert_int_equal(split("+e ls"), 0);
        assert_int_equal(split("- x"), 0);
        assert_int_equal(split("--version"), 0);
        assert_int_equal(split("ls -x"), 2);
        /* A builtin's name as an argument is an argument. */
        assert_int_equal(split("/usr/bin/env echo hi"), 3);
        assert_int_equal(split("/bin/true"), 1);
}

/* A builtin that also exists in PATH (echo, printf, kill, test, true ...)
 * is the dangerous kind: its program differs from it. Ask /bin/sh about
 * every program in PATH; a builtin without a program in PATH is safe
 * anyway, since a name that is not found goes to the shell. */
static void test_every_builtin_dash_knows_in_path_goes_to_the_shell(void **state) {
        const char *script = "IFS=:; for d in $PATH; do ls \"$d\" 2>/dev/null; done | sort -u |"
                             " while read -r n; do type \"$n\"; done 2>/dev/null |"
                             " sed -n \"s/ is a .*shell \\(builtin\\|keyword\\)$//p\"";
        char *cmd, name[256];
        size_t found = 0;
        FILE *in;

        (void) state;
        assert_true(asprintf(&cmd, "/bin/sh -c '%s'", script) > 0);
        in = popen(cmd, "r");
        assert_non_null(in);
        while (fgets(name, sizeof name, in)) {
                name[strcspn(name, "\n")] = '\0';
                found++;
                if (!shsyntax_is_shell_word(name))
                        fail_msg("/bin/sh has a builtin '%s' that shsyntax.c does not know", name);
        }
        assert_int_equal(pclose(in), 0);
        free(cmd);
        /* At least [, echo, false, kill, printf, pwd, test, true on Debian. */
        assert_true(found >= 5);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plain_words_split_on_blanks),
                cmocka_unit_test(test_an_empty_line_goes_to_the_shell),
                cmocka_unit_test(test_any_other_byte_goes_to_the_shell),
                cmocka_unit_test(test_assignments_keywords_and_builtins_go_to_the_shell),
                cmocka_unit_test(test_every_builtin_dash_knows_in_path_goes_to_the_shell),
        };
        return cmocka_run_group_tests_name("command", tests, NULL, NULL);
}

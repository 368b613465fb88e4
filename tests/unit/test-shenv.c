/* SPDX-License-Identifier: MIT */
/* cmocka tests of shenv_order() against /bin/sh itself: the environment a
 * command gets from `sh -c`, byte for byte and in order. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "shenv.h"

#define MAX_VARS 64

/* What `/bin/sh -c 'cat /proc/self/environ'` prints with envp VARS, as
 * newline-separated text. */
static char *sh_environ(char *const *vars) {
        static char out[16384];
        char *argv[] = {(char *) "sh", (char *) "-c", (char *) "exec cat /proc/self/environ", NULL};
        size_t len = 0;
        ssize_t n;
        int fds[2], status;
        pid_t pid;

        assert_int_equal(pipe(fds), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                (void) dup2(fds[1], STDOUT_FILENO);
                execve("/bin/sh", argv, vars);
                _exit(127);
        }
        (void) close(fds[1]);
        while ((n = read(fds[0], out + len, sizeof out - 1 - len)) > 0)
                len += (size_t) n;
        (void) close(fds[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_int_equal(status, 0);
        for (size_t i = 0; i < len; i++)
                if (out[i] == '\0')
                        out[i] = '\n';
        out[len] = '\0';
        return out;
}

/* shenv_order()'s list, with PWD filled in as dash would (cwd, unless
 * VARS's PWD names it), as newline-separated text. */
static char *model_environ(char *const *vars) {
        static char text[16384], pwd[4200] = "PWD=";
        char *out[MAX_VARS + 2];
        const char *pwd_value;
        size_t len = 0;
        int n;

        n = shenv_order(vars, pwd, out, &pwd_value);
        assert_true(n > 0);
        assert_non_null(getcwd(pwd + 4, sizeof pwd - 4));
        if (pwd_value && strcmp(pwd_value, pwd + 4) == 0)
                snprintf(pwd + 4, sizeof pwd - 4, "%s", pwd_value);
        for (int i = 0; i < n; i++)
                len += (size_t) snprintf(text + len, sizeof text - len, "%s\n", out[i]);
        assert_null(out[n]);
        return text;
}

static void check_like_sh(char *const *vars) {
        char *want = strdup(sh_environ(vars));

        assert_string_equal(model_environ(vars), want);
        free(want);
}

static void test_order_dedup_and_pwd_are_dashs(void **state) {
        char *plain[] = {"PATH=/usr/bin:/bin", "HOME=/root", "LANG=C.UTF-8", NULL};
        char *dups[] = {"A=1", "PATH=/usr/bin:/bin", "B=2", "A=3", "PATH=/bin:/usr/bin", "A=4",
                        NULL};
        char *invalid[] = {"PATH=/usr/bin:/bin",      "B-C=1", "1X=2", "NOEQUALS", "=x",
                           "BASH_FUNC_f%%=() { :; }", "_ok=3", "x9=4", NULL};
        char *pwd[] = {"PATH=/usr/bin:/bin", "PWD=/nonexistent", "OLDPWD=/x", NULL};
        char *fixed_names[] = {"TERM=xterm", "HISTSIZE=5", "PATH=/usr/bin:/bin",
                               "ENV=/e",     "HOME=/",     "SHELL=/bin/bash",
                               "TMOUT=3",    NULL};

        (void) state;
        check_like_sh(plain);
        check_like_sh(dups);
        check_like_sh(invalid);
        check_like_sh(pwd);
        check_like_sh(fixed_names);
}

/* Many names, so that every one of dash's 39 buckets holds several and
 * dash's own variables (PATH, MAIL, PS1 ...) share buckets with them. */
static void test_many_names_land_where_dash_puts_them(void **state) {
        static char storage[MAX_VARS][32];
        char *vars[MAX_VARS + 1];
        unsigned seed = 12345;

        (void) state;
        for (int round = 0; round < 20; round++) {
                int n = 0;
                vars[n++] = (char *) "PATH=/usr/bin:/bin";
                for (; n < MAX_VARS - 1; n++) {
                        int len = 1 + (int) ((seed = seed * 1103515245u + 12345u) >> 16) % 6;
                        char *p = storage[n];
                        for (int i = 0; i < len; i++) {
                                seed = seed * 1103515245u + 12345u;
                                *p++ = "ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcxyz"[(seed >> 16) % 33];
                        }
                        sprintf(p, "=%d", n);
                        vars[n] = storage[n];
                }
                vars[n] = NULL;
                check_like_sh(vars);
        }
}

static void test_variables_dash_rewrites_leave_the_shell_in_charge(void **state) {
        static const char *const names[] = {"IFS", "OPTIND", "PPID", "LINENO",  "PS1",
                                            "PS2", "PS4",    "MAIL", "MAILPATH"};
        char pwd[] = "PWD=";
        char *out[4];
        const char *pwd_value;
        char entry[32];
        char *vars[] = {(char *) "PATH=/bin", entry, NULL};
        char *no_path[] = {(char *) "HOME=/", NULL};

        (void) state;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
                snprintf(entry, sizeof entry, "%s=x", names[i]);
                assert_int_equal(shenv_order(vars, pwd, out, &pwd_value), -EINVAL);
        }
        /* Without PATH dash searches its own default: the shell's business. */
        assert_int_equal(shenv_order(no_path, pwd, out, &pwd_value), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_order_dedup_and_pwd_are_dashs),
                cmocka_unit_test(test_many_names_land_where_dash_puts_them),
                cmocka_unit_test(test_variables_dash_rewrites_leave_the_shell_in_charge),
        };
        return cmocka_run_group_tests_name("shenv", tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/* Which command lines need no shell, and their words (shsyntax.h). */
#include "shsyntax.h"

#include <stdbool.h>
#include <string.h>

/* dash 0.5.12's keywords and builtins (`type NAME` says "shell keyword" or
 * "builtin"), with GNU make's sh_cmds for the Bourne shell (login, logout
 * and fc are not dash's: the shell then says "not found", as it should). */
static const char *const shell_words[] = {
        "!",      ".",      ":",       "[",        "alias",  "bg",     "break", "case",
        "cd",     "chdir",  "command", "continue", "do",     "done",   "echo",  "elif",
        "else",   "esac",   "eval",    "exec",     "exit",   "export", "false", "fc",
        "fg",     "fi",     "for",     "getopts",  "hash",   "if",     "in",    "jobs",
        "kill",   "local",  "login",   "logout",   "printf", "pwd",    "read",  "readonly",
        "return", "set",    "shift",   "test",     "then",   "times",  "trap",  "true",
        "type",   "ulimit", "umask",   "unalias",  "unset",  "until",  "wait",  "while",
        "{",      "}",
};

int shsyntax_is_shell_word(const char *name) {
        /* The first byte first: this runs for every command. */
        for (size_t i = 0; i < sizeof shell_words / sizeof shell_words[0]; i++)
                if (name[0] == shell_words[i][0] && strcmp(name, shell_words[i]) == 0)
                        return 1;
        return 0;
}

/* Bytes that mean nothing to sh inside a word. Everything else (make's
 * sh_chars "#;\"*?[]&|<>(){}$`^~!", quotes, backslash, newline and other
 * whitespace, control and non-ASCII bytes) sends the line to the shell. */
static bool command_plain_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               strchr("%+,-./:=@_", c) != NULL;
}

static bool command_blank(char c) {
        return c == ' ' || c == '\t';
}

size_t shsyntax_split(const char *line, char *buf, char **argv) {
        size_t argc = 0;
        const char *p = line;

        for (;;) {
                while (command_blank(*p))
                        p++;
                if (*p == '\0')
                        break;
                argv[argc++] = buf;
                for (; *p != '\0' && !command_blank(*p); p++) {
                        if (!command_plain_char(*p))
                                return 0;
                        *buf++ = *p;
                }
                *buf++ = '\0';
        }
        argv[argc] = NULL;
        /* A first word with '=' is an assignment (or, like =x, a command
         * named so: the shell decides); one with a leading '-' or '+' is an
         * option to `sh -c` (-x, +e), not a command. */
        if (argc == 0 || strchr(argv[0], '=') || argv[0][0] == '-' || argv[0][0] == '+' ||
            shsyntax_is_shell_word(argv[0]))
                return 0;
        return argc;
}

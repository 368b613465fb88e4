/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the restricted command table (--commands FILE) of
 * src/common/cmdtable.c. The input is the file's text, as it is: it goes into a memfd,
 * which cmdtable_load() reads through /proc/self/fd/N, so the real
 * loader runs (file checks included) and cmdtable.c needs no second entry point.
 * The result must be the one an independent one-pass reading of the format
 * (man/nbnet-handler.8, --commands) gives, in nbnet's form or as an nrpe.cfg, and
 * the same on a second load. A text that includes others (include=,
 * include_dir=) reaches whatever files it names: then only the second load
 * and the table's own consistency are checked.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cmdtable.h"
#include "frame.h"
#include "fuzz.h"
#include "policy.h"

/* What the format says a text gives: the entries, or the line of the first error. */
struct expect {
        size_t count;
        unsigned bad_line; /* 0: accepted */
        bool has_nul;
        bool nrpe;        /* some line starts with command[ */
        bool has_include; /* an nrpe.cfg's include line was reached */
        unsigned skipped; /* nrpe.cfg directive lines skipped */
        const char *names[CMDTABLE_MAX_COMMANDS];
        size_t name_len[CMDTABLE_MAX_COMMANDS];
        const char *lines[CMDTABLE_MAX_COMMANDS];
        size_t line_len[CMDTABLE_MAX_COMMANDS];
};

static struct expect expect;

/* The C locale's isspace(): what the loader trims. */
static bool is_space(char c) {
        return c == ' ' || (c >= '\t' && c <= '\r');
}

static void trim(const char **s, size_t *n) {
        while (*n > 0 && is_space(**s)) {
                (*s)++;
                (*n)--;
        }
        while (*n > 0 && is_space((*s)[*n - 1]))
                (*n)--;
}

static bool valid_name(const char *s, size_t n) {
        if (n == 0 || n > CMDTABLE_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-'))
                        return false;
        return true;
}

static bool is_key(const char *s, size_t n, const char *key) {
        return n == strlen(key) && memcmp(s, key, n) == 0;
}

/* allowed_hosts=A,B,...: addresses and networks as policy.c reads them (its
 * grammar has tests of its own), at least one; a later line replaces it. */
static bool hosts_line(const char *v, size_t n) {
        struct policy scratch = {0};
        size_t items = 0;

        for (;;) {
                const char *comma = memchr(v, ',', n), *item = v;
                size_t len = comma ? (size_t) (comma - v) : n, item_n = len;
                char text[128];

                trim(&item, &item_n);
                if (item_n > 0) {
                        if (item_n >= sizeof text)
                                return false;
                        memcpy(text, item, item_n);
                        text[item_n] = '\0';
                        if (policy_add_net(&scratch, text) < 0)
                                return false;
                        items++;
                }
                if (!comma)
                        return items > 0;
                v = comma + 1;
                n -= len + 1;
        }
}

/* "$ARG" digits "$" somewhere in s. */
static bool has_arg(const char *s, size_t n) {
        for (size_t i = 0; i + 4 < n; i++) {
                size_t d = i + 4;
                if (memcmp(s + i, "$ARG", 4) != 0)
                        continue;
                while (d < n && s[d] >= '0' && s[d] <= '9')
                        d++;
                if (d > i + 4 && d < n && s[d] == '$')
                        return true;
        }
        return false;
}

/* One line: false when it is an error (or, in an nrpe.cfg, an include). */
static bool expect_line(struct expect *e, const char *s, size_t n) {
        const char *eq, *name, *cmd;
        size_t name_n, cmd_n;

        trim(&s, &n);
        if (n == 0 || s[0] == '#')
                return true;
        eq = memchr(s, '=', n);
        if (!eq)
                return false;
        name = s;
        name_n = (size_t) (eq - s);
        cmd = eq + 1;
        cmd_n = n - name_n - 1;
        trim(&name, &name_n);
        trim(&cmd, &cmd_n);
        if (e->nrpe) {
                if (is_key(name, name_n, "include") || is_key(name, name_n, "include_file") ||
                    is_key(name, name_n, "include_dir")) {
                        e->has_include = true;
                        return false;
                }
                if (is_key(name, name_n, "allowed_hosts"))
                        return hosts_line(cmd, cmd_n);
                if (name_n < 8 || memcmp(name, "command[", 8) != 0) {
                        if (!valid_name(name, name_n))
                                return false;
                        e->skipped++;
                        return true;
                }
                if (name[name_n - 1] != ']')
                        return false;
                name += 8;
                name_n -= 9;
        }
        /* $ARGn$ in either form: nbnet passes no arguments. */
        if (!valid_name(name, name_n) || cmd_n == 0 || cmd_n > FRAME_MAX_COMMAND_LIMIT ||
            has_arg(cmd, cmd_n))
                return false;
        for (size_t i = 0; i < e->count; i++)
                if (e->name_len[i] == name_n && memcmp(e->names[i], name, name_n) == 0)
                        return false;
        if (e->count >= CMDTABLE_MAX_COMMANDS)
                return false;
        e->names[e->count] = name;
        e->name_len[e->count] = name_n;
        e->lines[e->count] = cmd;
        e->line_len[e->count] = cmd_n;
        e->count++;
        return true;
}

/* Whether a line, past its spaces and tabs, starts with "command[". */
static bool expect_nrpe(const char *text, size_t size) {
        for (size_t i = 0; i < size;) {
                size_t j = i;
                while (j < size && (text[j] == ' ' || text[j] == '\t'))
                        j++;
                if (size - j >= 8 && memcmp(text + j, "command[", 8) == 0)
                        return true;
                while (j < size && text[j] != '\n')
                        j++;
                i = j + 1;
        }
        return false;
}

static void expect_text(struct expect *e, const char *text, size_t size) {
        const char *line = text, *end = text + size;
        unsigned lineno = 0;

        e->count = 0;
        e->bad_line = 0;
        e->skipped = 0;
        e->has_include = false;
        e->has_nul = memchr(text, '\0', size) != NULL;
        if (e->has_nul)
                return;
        e->nrpe = expect_nrpe(text, size);
        for (;;) {
                const char *nl = memchr(line, '\n', (size_t) (end - line));
                size_t n = nl ? (size_t) (nl - line) : (size_t) (end - line);
                lineno++;
                if (!expect_line(e, line, n)) {
                        e->bad_line = lineno;
                        e->count = 0;
                        return;
                }
                if (!nl)
                        return;
                line = nl + 1;
        }
}

struct result {
        int r;
        char err[512];
        struct cmdtable table;
};

static void load(const char *path, struct result *res) {
        res->err[0] = '\0';
        res->r = cmdtable_load(&res->table, path, res->err, sizeof res->err);
}

static void check_accepted(const struct result *res, const struct expect *e) {
        const struct cmdtable *t = &res->table;

        check(res->r == 0 && e->bad_line == 0 && !e->has_nul);
        check(t->count == e->count && t->count <= CMDTABLE_MAX_COMMANDS);
        check(t->n_skipped == e->skipped && (t->n_skipped == 0) == (t->skipped[0] == '\0'));
        check(strlen(t->skipped) < sizeof t->skipped);
        check(t->count == 0 || (t->entries && t->storage));
        for (size_t i = 0; i < t->count; i++) {
                const struct cmdtable_entry *c = &t->entries[i];
                size_t name_n = strlen(c->name), line_n = strlen(c->line);
                check(name_n >= 1 && name_n <= CMDTABLE_NAME_MAX);
                check(line_n >= 1 && line_n <= FRAME_MAX_COMMAND_LIMIT);
                check(!strchr(c->line, '\n') && !is_space(c->line[0]) &&
                      !is_space(c->line[line_n - 1]));
                check(name_n == e->name_len[i] && memcmp(c->name, e->names[i], name_n) == 0);
                check(line_n == e->line_len[i] && memcmp(c->line, e->lines[i], line_n) == 0);
                /* Every name finds its own entry: names are unique. */
                check(cmdtable_lookup(t, c->name) == c->line);
        }
        check(cmdtable_lookup(t, "") == NULL);
}

static void check_rejected(const struct result *res, const struct expect *e, const char *path,
                           unsigned n_lines) {
        const struct cmdtable *t = &res->table;
        size_t plen = strlen(path);
        const char *rest = res->err + plen;

        check(res->r < 0);
        check(t->count == 0 && t->entries == NULL && t->storage == NULL);
        check(strncmp(res->err, path, plen) == 0);
        if (e->has_nul) {
                check(res->r == -EBADMSG && strcmp(rest, ": contains a NUL byte") == 0);
                return;
        }
        /* "PATH:LINE: why", LINE the first bad one, within the text's lines. */
        char *end;
        check(rest[0] == ':' && rest[1] >= '1' && rest[1] <= '9');
        unsigned long line = strtoul(rest + 1, &end, 10);
        check(end[0] == ':' && end[1] == ' ' && end[2] != '\0');
        check(line >= 1 && line <= n_lines && line == e->bad_line);
        check(res->r == -EINVAL || res->r == -E2BIG);
}

/* Whatever the included files held: a table that is consistent, or an error that names our file. */
static void check_included(const struct result *res, const char *path) {
        const struct cmdtable *t = &res->table;

        if (res->r < 0) {
                check(t->count == 0 && t->entries == NULL && t->storage == NULL);
                check(strncmp(res->err, path, strlen(path)) == 0);
                return;
        }
        for (size_t i = 0; i < t->count; i++)
                check(cmdtable_lookup(t, t->entries[i].name) == t->entries[i].line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct result a, b;
        char path[64];
        unsigned n_lines = 1;
        int fd;

        /* The loader refuses more than CMDTABLE_FILE_MAX, which -max_len keeps us far below. */
        if (size > CMDTABLE_FILE_MAX)
                return 0;
        for (size_t i = 0; i < size; i++)
                n_lines += data[i] == '\n';
        fd = memfd_create("nbnet-commands-fuzz", MFD_CLOEXEC);
        check(fd >= 0);
        check(size == 0 || write(fd, data, size) == (ssize_t) size);
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);

        expect_text(&expect, (const char *) data, size);
        load(path, &a);
        load(path, &b);
        check(close(fd) == 0);

        /* The same text, the same result. */
        check(a.r == b.r && strcmp(a.err, b.err) == 0 && a.table.count == b.table.count);
        for (size_t i = 0; i < a.table.count; i++) {
                check(strcmp(a.table.entries[i].name, b.table.entries[i].name) == 0);
                check(strcmp(a.table.entries[i].line, b.table.entries[i].line) == 0);
        }
        if (expect.has_include)
                check_included(&a, path);
        else if (expect.has_nul || expect.bad_line)
                check_rejected(&a, &expect, path, n_lines);
        else
                check_accepted(&a, &expect);

        cmdtable_release(&a.table);
        cmdtable_release(&b.table);
        check(a.table.count == 0 && a.table.entries == NULL && a.table.storage == NULL);
        return 0;
}

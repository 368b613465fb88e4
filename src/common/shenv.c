/* SPDX-License-Identifier: MIT */
/* The environment dash hands a command it execs, in its order (shenv.h). */
#include "shenv.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SHENV_BUCKETS 39 /* dash's VTABSIZE */

/* dash's varinit[], which initvar() puts at the head of their buckets
 * before the environment is imported (Debian's dash: LINENO, no TERM or
 * HISTSIZE, which only a libedit build has). */
static const char *const shenv_fixed[] = {
        "IFS", "MAIL", "MAILPATH", "PATH", "PS1", "PS2", "PS4", "OPTIND", "LINENO",
};

/* Variables whose exported value dash does not take from its environment
 * (IFS, OPTIND, PPID are reset) or might not: the shell keeps those. */
static const char *const shenv_rewritten[] = {
        "IFS", "OPTIND", "PPID", "LINENO", "PS1", "PS2", "PS4", "MAIL", "MAILPATH",
};

struct shenv_var {
        const char *name; /* up to '=' or '\0' */
        char *entry;      /* NULL: dash's own, unset or not exported */
        int next;
};

static size_t shenv_name_len(const char *s) {
        return strcspn(s, "=");
}

static bool shenv_same_name(const char *a, const char *b) {
        size_t n = shenv_name_len(a);

        return n == shenv_name_len(b) && memcmp(a, b, n) == 0;
}

/* dash's hashvar(). */
static unsigned shenv_hash(const char *p) {
        unsigned h = (unsigned) (unsigned char) *p << 4;

        while (*p && *p != '=')
                h += (unsigned char) *p++;
        return h % SHENV_BUCKETS;
}

/* Whether NAME (up to '=' or the end) is a shell variable name. */
static int shenv_valid_name(const char *name) {
        const char *p = name;

        if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
                return 0;
        for (p++; *p && *p != '='; p++)
                if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9')))
                        return 0;
        return 1;
}

struct shenv_table {
        struct shenv_var *vars;
        size_t count;
        int head[SHENV_BUCKETS], tail[SHENV_BUCKETS];
};

/* dash's setvareq(): an existing name keeps its place, a new one goes last. */
static struct shenv_var *shenv_set(struct shenv_table *t, const char *name, char *entry) {
        unsigned b = shenv_hash(name);
        struct shenv_var *v;

        for (int i = t->head[b]; i >= 0; i = t->vars[i].next)
                if (shenv_same_name(t->vars[i].name, name)) {
                        t->vars[i].entry = entry;
                        return &t->vars[i];
                }
        v = &t->vars[t->count];
        *v = (struct shenv_var){.name = name, .entry = entry, .next = -1};
        if (t->tail[b] >= 0)
                t->vars[t->tail[b]].next = (int) t->count;
        else
                t->head[b] = (int) t->count;
        t->tail[b] = (int) t->count++;
        return v;
}

int shenv_order(char *const *vars, char *pwd_entry, char **out, const char **pwd_value) {
        const size_t nfixed = sizeof shenv_fixed / sizeof shenv_fixed[0];
        struct shenv_table t = {0};
        const char *path = NULL;
        size_t n = 0, k = 0;

        *pwd_value = NULL;
        while (vars[n])
                n++;
        t.vars = calloc(n + nfixed + 1, sizeof *t.vars);
        if (!t.vars)
                return -ENOMEM;
        for (int b = 0; b < SHENV_BUCKETS; b++)
                t.head[b] = t.tail[b] = -1;
        /* initvar() pushes each at the head of its bucket: reverse order. */
        for (size_t i = nfixed; i-- > 0;) {
                unsigned b = shenv_hash(shenv_fixed[i]);
                t.vars[t.count] = (struct shenv_var){.name = shenv_fixed[i], .next = t.head[b]};
                if (t.head[b] < 0)
                        t.tail[b] = (int) t.count;
                t.head[b] = (int) t.count++;
        }
        for (size_t i = 0; i < n; i++) {
                if (!shenv_valid_name(vars[i]) || vars[i][shenv_name_len(vars[i])] != '=')
                        continue;
                for (size_t r = 0; r < sizeof shenv_rewritten / sizeof shenv_rewritten[0]; r++)
                        if (shenv_same_name(vars[i], shenv_rewritten[r])) {
                                free(t.vars);
                                return -EINVAL;
                        }
                if (shenv_same_name(vars[i], "PATH"))
                        path = vars[i];
                if (shenv_same_name(vars[i], "PWD"))
                        *pwd_value = vars[i] + 4;
                (void) shenv_set(&t, vars[i], vars[i]);
        }
        (void) shenv_set(&t, "PWD", pwd_entry);
        for (int b = 0; b < SHENV_BUCKETS; b++)
                for (int i = t.head[b]; i >= 0; i = t.vars[i].next)
                        if (t.vars[i].entry)
                                out[k++] = t.vars[i].entry;
        out[k] = NULL;
        free(t.vars);
        return path ? (int) k : -EINVAL;
}

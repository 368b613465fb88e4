/* SPDX-License-Identifier: MIT */
/* A server's configuration file, and how it joins the command line (conffile.h). */
#include "conffile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readfile.h"

/* More lines than this in 64 KiB would be blank ones or comments: no limit
 * is needed beyond the file's size, but the entries are counted by it. */
#define CONFFILE_ENTRIES_MAX 1024

/* The options that are no configuration: they act, or name the file itself. */
static bool conffile_reserved(const char *name) {
        return strcmp(name, "help") == 0 || strcmp(name, "version") == 0 ||
               strcmp(name, "config") == 0;
}

static int conffile_find(const struct option *longopts, const char *key) {
        for (int i = 0; longopts[i].name; i++)
                if (strcmp(longopts[i].name, key) == 0 && !conffile_reserved(key))
                        return i;
        return -1;
}

/* Edit distance, cut off above 2: enough to find "max-conections". */
static unsigned conffile_distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);
        unsigned row[64];

        if (la >= sizeof row / sizeof row[0] || lb >= sizeof row / sizeof row[0])
                return 3;
        for (size_t j = 0; j <= lb; j++)
                row[j] = (unsigned) j;
        for (size_t i = 1; i <= la; i++) {
                unsigned diag = row[0];
                row[0] = (unsigned) i;
                for (size_t j = 1; j <= lb; j++) {
                        unsigned up = row[j];
                        unsigned best = diag + (a[i - 1] != b[j - 1]);
                        if (up + 1 < best)
                                best = up + 1;
                        if (row[j - 1] + 1 < best)
                                best = row[j - 1] + 1;
                        row[j] = best;
                        diag = up;
                }
        }
        return row[lb];
}

/* The key meant, when one is a typo away; NULL otherwise. */
static const char *conffile_suggest(const struct option *longopts, const char *key) {
        const char *best = NULL;
        unsigned best_d = 3;

        for (int i = 0; longopts[i].name; i++) {
                unsigned d = conffile_distance(longopts[i].name, key);
                if (d < best_d && !conffile_reserved(longopts[i].name)) {
                        best = longopts[i].name;
                        best_d = d;
                }
        }
        return best;
}

/* A flag's value: yes or no; -EINVAL for anything else. */
static int conffile_flag(const char *value) {
        static const char *const yes[] = {"yes", "true", "on", "1"};
        static const char *const no[] = {"no", "false", "off", "0"};

        for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
                if (strcmp(value, yes[i]) == 0)
                        return 1;
                if (strcmp(value, no[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}

/* One line: nothing (blank, comment, a flag set to no), an entry, or -EINVAL
 * with the reason in err (after "PATH:LINE: "). */
static int conffile_parse_line(struct conffile *cf, const struct option *longopts, char *line,
                               unsigned lineno, char *err, size_t err_size) {
        char *eq, *key, *value = NULL;
        int index, flag;

        line = readfile_trim(line);
        if (line[0] == '\0' || line[0] == '#')
                return 0;
        eq = strchr(line, '=');
        if (eq) {
                *eq = '\0';
                value = readfile_trim(eq + 1);
        }
        key = readfile_trim(line);
        index = conffile_find(longopts, key);
        if (index < 0) {
                const char *near = conffile_suggest(longopts, key);

                if (key[0] == '-' && conffile_find(longopts, key + strspn(key, "-")) >= 0)
                        snprintf(err, err_size,
                                 "unknown key '%s': write the option's name without "
                                 "its dashes ('%s')",
                                 key, key + strspn(key, "-"));
                else if (near)
                        snprintf(err, err_size, "unknown key '%s': did you mean '%s'?", key, near);
                else
                        snprintf(err, err_size,
                                 "unknown key '%s': the keys are the long options "
                                 "of --help, without their dashes",
                                 key);
                return -EINVAL;
        }
        if (longopts[index].has_arg == no_argument) {
                flag = value ? conffile_flag(value) : 1;
                if (flag < 0) {
                        snprintf(err, err_size, "%s takes no value, or yes or no; got '%s'", key,
                                 value);
                        return -EINVAL;
                }
                if (flag == 0)
                        return 0;
                value = NULL;
        } else if (!value || value[0] == '\0') {
                snprintf(err, err_size, "%s needs a value: '%s = VALUE'", key, key);
                return -EINVAL;
        }
        if (cf->n == CONFFILE_ENTRIES_MAX) {
                snprintf(err, err_size, "more than %d settings", CONFFILE_ENTRIES_MAX);
                return -E2BIG;
        }
        cf->entries[cf->n++] =
                (struct conffile_entry){.line = lineno, .index = index, .value = value};
        return 0;
}

int conffile_load(struct conffile *cf, const char *path, const struct option *longopts, char *err,
                  size_t err_size) {
        char why[256], buf[64];
        char *line, *next;
        unsigned lineno = 0;
        size_t len;
        int r;

        *cf = (struct conffile){.path = path};
        r = readfile_small(path, CONFFILE_SIZE_MAX, &cf->text, &len);
        if (r < 0) {
                snprintf(err, err_size, "--config %s: %s", path,
                         readfile_error(r, "64 KiB", buf, sizeof buf));
                return r;
        }
        cf->entries = calloc(CONFFILE_ENTRIES_MAX, sizeof *cf->entries);
        if (!cf->entries) {
                conffile_release(cf);
                snprintf(err, err_size, "--config %s: out of memory", path);
                return -ENOMEM;
        }
        for (line = cf->text; line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                lineno++;
                r = conffile_parse_line(cf, longopts, line, lineno, why, sizeof why);
                if (r < 0) {
                        snprintf(err, err_size, "%s:%u: %s", path, lineno, why);
                        conffile_release(cf);
                        return r;
                }
        }
        return 0;
}

void conffile_release(struct conffile *cf) {
        free(cf->entries);
        free(cf->text);
        *cf = (struct conffile){0};
}

/* The command line's options: each handed to a->fn, which ones given noted
 * in given[] (by longopts index), and the --config file named. */
static int conffile_parse_argv(const struct conffile_args *a, int argc, char **argv, bool *given,
                               const char **config) {
        int c, index, r;

        while ((index = -1, c = getopt_long(argc, argv, a->shortopts, a->longopts, &index)) >= 0) {
                if (index >= 0)
                        given[index] = true;
                if (c == a->config_opt) {
                        if (optarg[0] == '\0') {
                                fprintf(stderr, "%s: --config needs a file name\n", a->program);
                                return -EINVAL;
                        }
                        *config = optarg;
                        continue;
                }
                r = a->fn(c, optarg, a->program, a->userdata);
                if (r != 0)
                        return r;
        }
        if (optind < argc) {
                fprintf(stderr, "%s: unexpected argument '%s'; try '%s --help'.\n", a->program,
                        argv[optind], a->program);
                return -EINVAL;
        }
        return 0;
}

int conffile_parse_options(const struct conffile_args *a, int argc, char **argv, struct conffile *cf) {
        const char *config = NULL;
        bool given[128] = {false};
        char err[1024], who[1024];
        size_t n_opts = 0;
        int r;

        *cf = (struct conffile){0};
        while (a->longopts[n_opts].name)
                n_opts++;
        if (n_opts > sizeof given / sizeof given[0]) {
                fprintf(stderr, "%s: too many options to track\n", a->program);
                return -EINVAL;
        }
        r = conffile_parse_argv(a, argc, argv, given, &config);
        if (r != 0 || !config)
                return r;
        r = conffile_load(cf, config, a->longopts, err, sizeof err);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", a->program, err);
                return -EBADMSG;
        }
        for (size_t i = 0; i < cf->n; i++) {
                const struct conffile_entry *e = &cf->entries[i];

                /* The command line's --allow replaces the file's allow lines, all of them. */
                if (given[e->index])
                        continue;
                snprintf(who, sizeof who, "%s: %s:%u", a->program, config, e->line);
                r = a->fn(a->longopts[e->index].val, e->value, who, a->userdata);
                if (r != 0)
                        return -EBADMSG;
        }
        return 0;
}

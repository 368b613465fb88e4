/* SPDX-License-Identifier: MIT */
/* The --commands table: nbnet's NAME = LINE or an nrpe.cfg, loaded and looked up (cmdtable.h). */
#include "cmdtable.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frame.h"
#include "readfile.h"

static bool cmdtable_valid_name(const char *name) {
        size_t n = strlen(name);

        if (n == 0 || n > CMDTABLE_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) name[i]) && !strchr("_.-", name[i]))
                        return false;
        return true;
}

/* Whether a line uses NRPE's arguments ($ARG1$..), which nbnet never passes. */
static bool cmdtable_has_nrpe_arg(const char *line) {
        for (const char *p = strstr(line, "$ARG"); p; p = strstr(p + 1, "$ARG")) {
                const char *d = p + 4;
                while (*d >= '0' && *d <= '9')
                        d++;
                if (d > p + 4 && *d == '$')
                        return true;
        }
        return false;
}

/* Adds name -> command: 0, or -EINVAL/-E2BIG with the reason in why. */
static int cmdtable_add(struct cmdtable *t, char *name, char *command, const char **why) {
        if (!cmdtable_valid_name(name))
                return *why = "a name is 1 to 64 letters, digits, '_', '.' or '-'", -EINVAL;
        if (command[0] == '\0')
                return *why = "empty command line", -EINVAL;
        if (strlen(command) > FRAME_MAX_COMMAND_LIMIT)
                return *why = "command line longer than " FRAME_MAX_COMMAND_LIMIT_TEXT " bytes",
                       -EINVAL;
        /* In either form: the shell would run "$ARG1$" as "$", never what was meant. */
        if (cmdtable_has_nrpe_arg(command))
                return *why = "$ARGn$: nbnet passes no arguments to commands (write the values "
                              "into the line, or define one name per variant)",
                       -EINVAL;
        if (cmdtable_lookup(t, name))
                return *why = "name defined twice", -EINVAL;
        if (t->count >= CMDTABLE_MAX_COMMANDS)
                return *why = "more than 1024 commands", -E2BIG;
        t->entries[t->count++] = (struct cmdtable_entry){.name = name, .line = command};
        return 0;
}

/* Parses one line of nbnet's form into the table: 0, or -errno with the reason in why. */
static int cmdtable_parse_line(struct cmdtable *t, char *line, const char **why) {
        char *eq;

        line = readfile_trim(line);
        if (line[0] == '\0' || line[0] == '#')
                return 0;
        eq = strchr(line, '=');
        if (!eq)
                return *why = "expected 'name = command line'", -EINVAL;
        *eq = '\0';
        return cmdtable_add(t, readfile_trim(line), readfile_trim(eq + 1), why);
}

/* One file's text, to join the table's storage. */
static int cmdtable_read_file(const char *path, struct cmdtable_text **ret) {
        struct cmdtable_text *t;
        size_t len;
        char *text;
        int r;

        r = readfile_small(path, CMDTABLE_FILE_MAX, &text, &len);
        if (r < 0)
                return r;
        t = malloc(sizeof *t);
        if (!t) {
                free(text);
                return -ENOMEM;
        }
        *t = (struct cmdtable_text){.text = text};
        *ret = t;
        return 0;
}

/* One load: the table, where its error goes, how many files so far. */
struct cmdtable_loader {
        struct cmdtable *t;
        char *err;
        size_t err_size;
        unsigned files;
};

static int cmdtable_load_file(struct cmdtable_loader *l, const char *path, unsigned depth);

/* An nrpe.cfg: some line, past its blanks, starts with "command[". */
static bool cmdtable_is_nrpe(const char *text) {
        for (const char *line = text; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
                while (*line == ' ' || *line == '\t')
                        line++;
                if (strncmp(line, "command[", 8) == 0)
                        return true;
        }
        return false;
}

/* Notes a skipped nrpe.cfg directive line; each name is shown once. Names
 * are valid names (no ',' nor ' '), so a match between separators is exact. */
static void cmdtable_note_skipped(struct cmdtable *t, const char *key) {
        size_t used = strlen(t->skipped), n = strlen(key);

        t->n_skipped++;
        for (const char *p = t->skipped; (p = strstr(p, key)); p++)
                if ((p == t->skipped || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
                        return;
        if (used + 2 + n + 1 <= sizeof t->skipped - 5)
                snprintf(t->skipped + used, sizeof t->skipped - used, "%s%s", used ? ", " : "", key);
        else if (!strstr(t->skipped, "..."))
                snprintf(t->skipped + used, sizeof t->skipped - used, "%s", ", ...");
}

/* include= names a file, include_dir= a folder. nrpe takes a relative name
 * from its working directory, which a daemon's is not worth meaning: here
 * it is relative to the including file's folder (absolute names agree). */
static int cmdtable_include_path(const char *from, const char *name, char *buf, size_t size) {
        const char *slash = strrchr(from, '/');
        int n;

        if (name[0] == '/' || !slash)
                n = snprintf(buf, size, "%s", name);
        else
                n = snprintf(buf, size, "%.*s/%s", (int) (slash - from), from, name);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

static int cmdtable_dir_filter(const struct dirent *d) {
        return d->d_name[0] != '.';
}

/* include_dir=: every *.cfg file under dir, sub-folders included, in name order. */
static int cmdtable_load_dir(struct cmdtable_loader *l, const char *dir, unsigned depth) {
        struct dirent **list = NULL;
        char path[PATH_MAX];
        int n, r = 0;

        n = scandir(dir, &list, cmdtable_dir_filter, alphasort);
        if (n < 0) {
                r = -errno;
                snprintf(l->err, l->err_size, "%s: %s", dir, strerror(-r));
                return r;
        }
        for (int i = 0; i < n; i++) {
                struct stat st;
                size_t len = strlen(list[i]->d_name);

                if (r < 0)
                        goto next;
                if (snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name) >= (int) sizeof path) {
                        r = -ENAMETOOLONG;
                        snprintf(l->err, l->err_size, "%s: %s", dir, strerror(-r));
                } else if (stat(path, &st) < 0) {
                        r = -errno;
                        snprintf(l->err, l->err_size, "%s: %s", path, strerror(-r));
                } else if (S_ISDIR(st.st_mode)) {
                        if (depth >= CMDTABLE_INCLUDE_DEPTH) {
                                r = -ELOOP;
                                snprintf(l->err, l->err_size, "%s: folders nested more than %d deep",
                                         path, CMDTABLE_INCLUDE_DEPTH);
                        } else
                                r = cmdtable_load_dir(l, path, depth + 1);
                } else if (S_ISREG(st.st_mode) && len > 4 &&
                           strcmp(list[i]->d_name + len - 4, ".cfg") == 0)
                        r = cmdtable_load_file(l, path, depth + 1);
        next:
                free(list[i]);
        }
        free(list);
        return r;
}

/* include=, include_file=, include_dir=: loads it; on failure the included
 * file's message comes after "PATH:LINE: ". */
static int cmdtable_include(struct cmdtable_loader *l, const char *from, unsigned lineno,
                            const char *key, const char *value, unsigned depth) {
        char path[PATH_MAX], inner[512];
        char *err = l->err;
        size_t err_size = l->err_size;
        int r;

        if (depth >= CMDTABLE_INCLUDE_DEPTH) {
                snprintf(err, err_size, "%s:%u: includes nested more than %d deep", from, lineno,
                         CMDTABLE_INCLUDE_DEPTH);
                return -ELOOP;
        }
        if (value[0] == '\0') {
                snprintf(err, err_size, "%s:%u: %s= names no file", from, lineno, key);
                return -EINVAL;
        }
        r = cmdtable_include_path(from, value, path, sizeof path);
        if (r < 0) {
                snprintf(err, err_size, "%s:%u: %s=%s: %s", from, lineno, key, value, strerror(-r));
                return r;
        }
        l->err = inner;
        l->err_size = sizeof inner;
        inner[0] = '\0';
        r = strcmp(key, "include_dir") == 0 ? cmdtable_load_dir(l, path, depth + 1)
                                            : cmdtable_load_file(l, path, depth + 1);
        l->err = err;
        l->err_size = err_size;
        if (r < 0)
                snprintf(err, err_size, "%s:%u: %s", from, lineno, inner);
        return r;
}

/* allowed_hosts=ADDR,CIDR,...: the peers NRPE would serve. A later line
 * replaces an earlier one, as in NRPE (Debian's nrpe.d/ files override
 * nrpe.cfg's). Host names are refused, not looked up: a lookup would stall
 * nbnetd's loop at each SIGHUP and cost nbnet-handler one per connection,
 * and an allow-list must not change with DNS. */
static int cmdtable_parse_hosts(struct cmdtable_loader *l, const char *path, unsigned lineno,
                                char *value) {
        struct policy *hosts = &l->t->hosts;
        char *next;

        *hosts = (struct policy){0};
        for (char *host = value; host; host = next) {
                int r;

                next = strchr(host, ',');
                if (next)
                        *next++ = '\0';
                host = readfile_trim(host);
                if (host[0] == '\0')
                        continue;
                r = policy_add_net(hosts, host);
                if (r == -E2BIG) {
                        snprintf(l->err, l->err_size,
                                 "%s:%u: allowed_hosts: more than %d addresses and networks", path,
                                 lineno, POLICY_MAX_NETS);
                        return r;
                }
                if (r < 0) {
                        snprintf(l->err, l->err_size,
                                 "%s:%u: allowed_hosts: '%s' is not an IPv4 or IPv6 address or "
                                 "network (192.0.2.0/24); nbnet looks up no host names: write "
                                 "the host's addresses instead",
                                 path, lineno, host);
                        return -EINVAL;
                }
        }
        if (hosts->n_nets > 0)
                return 0;
        snprintf(l->err, l->err_size, "%s:%u: allowed_hosts= names no host", path, lineno);
        return -EINVAL;
}

/* One line of an nrpe.cfg: a command, an include, allowed_hosts, or a directive nbnet skips. */
static int cmdtable_parse_nrpe_line(struct cmdtable_loader *l, const char *path, unsigned lineno,
                                    char *line, unsigned depth, const char **why) {
        char *eq, *key, *value, *bracket;

        line = readfile_trim(line);
        if (line[0] == '\0' || line[0] == '#')
                return 0;
        eq = strchr(line, '=');
        if (!eq)
                return *why = "expected 'command[NAME]=command line' or 'directive=value'", -EINVAL;
        *eq = '\0';
        key = readfile_trim(line);
        value = readfile_trim(eq + 1);
        if (strncmp(key, "command[", 8) == 0) {
                bracket = key + strlen(key) - 1;
                if (*bracket != ']')
                        return *why = "expected 'command[NAME]=command line'", -EINVAL;
                *bracket = '\0';
                return cmdtable_add(l->t, key + 8, value, why);
        }
        if (strcmp(key, "include") == 0 || strcmp(key, "include_file") == 0 ||
            strcmp(key, "include_dir") == 0)
                return cmdtable_include(l, path, lineno, key, value, depth);
        if (strcmp(key, "allowed_hosts") == 0)
                return cmdtable_parse_hosts(l, path, lineno, value);
        if (!cmdtable_valid_name(key))
                return *why = "expected 'command[NAME]=command line' or 'directive=value'", -EINVAL;
        cmdtable_note_skipped(l->t, key);
        return 0;
}

/* Loads one file into l->t; its text joins the table's storage. */
static int cmdtable_load_file(struct cmdtable_loader *l, const char *path, unsigned depth) {
        struct cmdtable_text *text = NULL;
        const char *why = NULL;
        char *line, *next;
        unsigned lineno = 0;
        bool nrpe;
        int r;

        if (++l->files > CMDTABLE_MAX_FILES) {
                snprintf(l->err, l->err_size, "%s: more than %d files included", path,
                         CMDTABLE_MAX_FILES);
                return -E2BIG;
        }
        r = cmdtable_read_file(path, &text);
        if (r < 0) {
                char buf[64];
                snprintf(l->err, l->err_size, "%s: %s", path,
                         readfile_error(r, "1 MiB", buf, sizeof buf));
                return r;
        }
        text->next = l->t->storage;
        l->t->storage = text;
        nrpe = cmdtable_is_nrpe(text->text);
        for (line = text->text; line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                lineno++;
                why = NULL;
                r = nrpe ? cmdtable_parse_nrpe_line(l, path, lineno, line, depth, &why)
                         : cmdtable_parse_line(l->t, line, &why);
                if (r < 0) {
                        /* An include wrote its own message. */
                        if (why)
                                snprintf(l->err, l->err_size, "%s:%u: %s", path, lineno, why);
                        return r;
                }
        }
        return 0;
}

int cmdtable_load(struct cmdtable *t, const char *path, char *err, size_t err_size) {
        struct cmdtable_loader l = {.t = t, .err = err, .err_size = err_size};
        int r;

        *t = (struct cmdtable){0};
        t->entries = calloc(CMDTABLE_MAX_COMMANDS, sizeof *t->entries);
        if (!t->entries) {
                snprintf(err, err_size, "%s: out of memory", path);
                return -ENOMEM;
        }
        r = cmdtable_load_file(&l, path, 0);
        if (r < 0)
                cmdtable_release(t);
        return r;
}

const char *cmdtable_lookup(const struct cmdtable *t, const char *name) {
        /* Entries below count all have a name; clang 14's analyzer loses count
         * when cmdtable_load() passes &t->storage to cmdtable_read_file(). */
        for (size_t i = 0; i < t->count; i++)
                /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker) */
                if (strcmp(t->entries[i].name, name) == 0)
                        return t->entries[i].line;
        return NULL;
}

void cmdtable_release(struct cmdtable *t) {
        free(t->entries);
        while (t->storage) {
                struct cmdtable_text *next = t->storage->next;
                free(t->storage->text);
                free(t->storage);
                t->storage = next;
        }
        *t = (struct cmdtable){0};
}

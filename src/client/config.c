/* SPDX-License-Identifier: MIT */
/* nbnet's per-user configuration file: Host blocks with Port and User (config.h). */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "args.h"

#define CONFIG_LINE_MAX 1024

static bool exists(const char *path) {
        return access(path, F_OK) == 0;
}

const char *config_default_path(char *buf, size_t size) {
        const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
        int n;

        if (xdg && xdg[0] == '/') {
                n = snprintf(buf, size, "%s/nbnet/config", xdg);
                if (n > 0 && (size_t) n < size && exists(buf))
                        return buf;
        }
        if (!home || home[0] != '/')
                return NULL;
        if (!xdg || xdg[0] != '/') {
                n = snprintf(buf, size, "%s/.config/nbnet/config", home);
                if (n > 0 && (size_t) n < size && exists(buf))
                        return buf;
        }
        n = snprintf(buf, size, "%s/.nbnet/config", home);
        return n > 0 && (size_t) n < size && exists(buf) ? buf : NULL;
}

/* Whether a Host line's patterns take host: one matches, and no negated one does. */
static bool host_matches(char *patterns, const char *host) {
        bool matched = false;

        for (char *save = NULL, *p = strtok_r(patterns, " \t", &save); p;
             p = strtok_r(NULL, " \t", &save)) {
                if (p[0] == '!') {
                        if (fnmatch(p + 1, host, 0) == 0)
                                return false;
                } else if (fnmatch(p, host, 0) == 0)
                        matched = true;
        }
        return matched;
}

#define line_error(...) (snprintf(why, why_size, __VA_ARGS__), -EINVAL)

/* One line, its comment and blanks gone; *applies says whether the current
 * block is for host, and is changed by a Host line. */
static int config_line(char *line, const char *path, unsigned lineno, const char *host,
                       bool *applies, struct config_host *ret, char *why, size_t why_size) {
        char *key = line + strspn(line, " \t"), *value, *end;
        unsigned long port;
        size_t klen;

        end = key + strlen(key);
        while (end > key && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
                *--end = '\0';
        if (key[0] == '\0' || key[0] == '#')
                return 0;
        klen = strcspn(key, " \t=");
        value = key + klen;
        value += strspn(value, " \t");
        if (*value == '=')
                value += 1 + strspn(value + 1, " \t");
        key[klen] = '\0';
        if (*value == '\0')
                return line_error("%s:%u: '%s' needs a value", path, lineno, key);
        if (strcasecmp(key, "Host") == 0) {
                *applies = host_matches(value, host);
                return 0;
        }
        if (strcasecmp(key, "Port") == 0) {
                if (args_parse_uint(value, 1, 65535, &port) < 0)
                        return line_error("%s:%u: Port must be 1..65535, got '%s'", path, lineno,
                                          value);
                if (*applies && ret->port[0] == '\0')
                        (void) snprintf(ret->port, sizeof ret->port, "%lu", port);
                return 0;
        }
        if (strcasecmp(key, "User") == 0) {
                if (!frame_user_valid(value))
                        return line_error("%s:%u: User must be 1-%d letters, digits, '_', '-' "
                                          "or '.', got '%s'",
                                          path, lineno, FRAME_USER_MAX, value);
                if (*applies && ret->user[0] == '\0')
                        (void) snprintf(ret->user, sizeof ret->user, "%s", value);
                return 0;
        }
        return line_error("%s:%u: unknown keyword '%s' (nbnet reads Host, Port and User)", path,
                          lineno, key);
}

int config_lookup(const char *path, const char *host, struct config_host *ret, char *why,
                  size_t why_size) {
        char line[CONFIG_LINE_MAX + 2];
        unsigned lineno = 0;
        bool applies = true; /* before the first Host: every host */
        FILE *f;
        int r = 0;

        *ret = (struct config_host){.port = ""};
        f = fopen(path, "re");
        if (!f) {
                r = -errno;
                (void) snprintf(why, why_size, "%s: %s", path, strerror(errno));
                return r;
        }
        while (r == 0 && fgets(line, sizeof line, f)) {
                size_t len = strlen(line);
                lineno++;
                if (len > CONFIG_LINE_MAX && line[len - 1] != '\n')
                        r = line_error("%s:%u: line longer than %d bytes", path, lineno,
                                       CONFIG_LINE_MAX);
                else {
                        if (len > 0 && line[len - 1] == '\n')
                                line[len - 1] = '\0';
                        r = config_line(line, path, lineno, host, &applies, ret, why, why_size);
                }
        }
        if (r == 0 && ferror(f)) {
                r = -EIO;
                (void) snprintf(why, why_size, "%s: read error", path);
        }
        if (fclose(f) != 0 && r == 0) {
                r = -errno;
                (void) snprintf(why, why_size, "%s: %s", path, strerror(errno));
        }
        return r;
}

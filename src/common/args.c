/* SPDX-License-Identifier: MIT */
#include "args.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int args_parse_seconds(const char *s, double min, double max, uint64_t *ret_usec) {
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || end == s || *end != '\0' || !isfinite(v))
                return -EINVAL;
        if (v < min || v > max)
                return -ERANGE;
        *ret_usec = (uint64_t) (v * 1e6 + 0.5);
        return 0;
}

int args_parse_duration(const char *s, double min, double max, uint64_t *ret_usec) {
        static const struct {
                const char *suffix;
                double seconds;
        } units[] = {{"", 1}, {"s", 1}, {"ms", 0.001}, {"m", 60}};
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || end == s || !isfinite(v) || (s[0] < '0' || s[0] > '9'))
                return -EINVAL;
        for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
                if (strcmp(end, units[i].suffix) != 0)
                        continue;
                v *= units[i].seconds;
                if (v < min || v > max)
                        return -ERANGE;
                *ret_usec = (uint64_t) (v * 1e6 + 0.5);
                return 0;
        }
        return -EINVAL;
}

int args_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *ret) {
        char *end;
        unsigned long v;

        if (s[0] < '0' || s[0] > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end != '\0')
                return -EINVAL;
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

int args_parse_bytes(const char *s, unsigned long long min, unsigned long long *ret) {
        static const char suffixes[] = "KMGT";
        unsigned long long v, unit = 1;
        const char *p;
        char *end;

        if (s[0] < '0' || s[0] > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0)
                return -EINVAL;
        if (*end != '\0') {
                p = strchr(suffixes, *end);
                if (!p || end[1] != '\0')
                        return -EINVAL;
                unit <<= 10 * (p - suffixes + 1);
        }
        if (v > ~0ULL / unit)
                return -ERANGE;
        v *= unit;
        if (v < min)
                return -ERANGE;
        *ret = v;
        return 0;
}

int args_usage_error(const char *program, const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "%s: ", program);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "; try '%s --help'\n", program);
        return -EINVAL;
}

int args_common_option(int c, const char *program, const char *version, void (*usage)(FILE *out)) {
        switch (c) {
        case 'h':
                usage(stdout);
                return 1;
        case 'V':
                printf("%s %s\n", program, version);
                return 1;
        case '?':
                fprintf(stderr, "Try '%s --help'.\n", program);
                return -EINVAL;
        default:
                return 0;
        }
}

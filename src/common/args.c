/* SPDX-License-Identifier: MIT */
/* Command-line numbers, sizes and times, parsed strictly (args.h). */
#include "args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

/* Decimal only: strtod would also take "0x10", "1e-9", "inf", " 5" and "+5". */
int args_parse_seconds(const char *s, double min, double max, uint64_t *ret_usec) {
        uint64_t whole = 0, frac = 0, scale = USEC_PER_SEC;
        const char *p = s;

        if (*p < '0' || *p > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                whole = whole * 10 + (uint64_t) (*p - '0');
                if (whole > ARGS_SECONDS_MAX)
                        return -ERANGE;
        }
        if (*p == '.') {
                p++;
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                /* The microsecond is the resolution: a finer digit is refused, never rounded away. */
                for (; *p >= '0' && *p <= '9'; p++) {
                        if (scale == 1)
                                return -EINVAL;
                        scale /= 10;
                        frac += (uint64_t) (*p - '0') * scale;
                }
        }
        if (*p != '\0')
                return -EINVAL;
        whole = whole * USEC_PER_SEC + frac;
        if ((double) whole < min * 1e6 - 0.5 || (double) whole > max * 1e6 + 0.5)
                return -ERANGE;
        *ret_usec = whole;
        return 0;
}

int args_parse_duration(const char *s, double min, double max, uint64_t *ret_usec) {
        static const struct {
                const char *suffix;
                uint64_t num, den; /* the unit, in seconds: num / den */
        } units[] = {{"ms", 1, 1000}, {"s", 1, 1}, {"m", 60, 1}, {"h", 3600, 1}, {"", 1, 1}};
        size_t len = strlen(s);
        char number[64];
        uint64_t usec;

        for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
                size_t slen = strlen(units[i].suffix);
                if (len <= slen || len - slen >= sizeof number ||
                    strcmp(s + len - slen, units[i].suffix) != 0)
                        continue;
                memcpy(number, s, len - slen);
                number[len - slen] = '\0';
                /* The number as the decimal seconds parser reads it, then the unit. */
                if (args_parse_seconds(number, 0, 1e9, &usec) < 0)
                        return -EINVAL;
                usec = usec * units[i].num / units[i].den;
                if ((double) usec < min * 1e6 - 0.5 || (double) usec > max * 1e6 + 0.5)
                        return -ERANGE;
                *ret_usec = usec;
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

/* SPDX-License-Identifier: MIT */
#pragma once

/* Parsing of numeric command-line values, shared by every program. */

#include <stdint.h>
#include <stdio.h>

/* Larger than any time an option takes (a year is 31536000 s). */
#define ARGS_SECONDS_MAX 4000000000ull

/* Seconds as a decimal ("10", "0.5", at most 6 decimals) into microseconds;
 * min..max inclusive. No sign, exponent, hex, space or unit: -EINVAL; out of range: -ERANGE. */
int args_parse_seconds(const char *s, double min, double max, uint64_t *ret_usec);

/* A duration, seconds by default or with a suffix: "2", "2s", "500ms", "1.5m", "2h";
 * into microseconds; min..max seconds inclusive. */
int args_parse_duration(const char *s, double min, double max, uint64_t *ret_usec);

/* A whole decimal number in min..max: digits only (no sign, space or "0x"). */
int args_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *ret);

/* A size in bytes with an optional K, M, G or T suffix (powers of 1024), at least min. */
int args_parse_bytes(const char *s, unsigned long long min, unsigned long long *ret);

/* "PROGRAM: what is wrong; try 'PROGRAM --help'" on stderr; returns -EINVAL. */
int args_usage_error(const char *program, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The options every program has, for getopt's c: 'h' prints usage to stdout
 * and 'V' the version (1: exit 0), '?' points to --help (-EINVAL, exit 2);
 * any other c is not one of them (0). */
int args_common_option(int c, const char *program, const char *version, void (*usage)(FILE *out));

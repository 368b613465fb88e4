/* SPDX-License-Identifier: MIT */
#pragma once

/* Parsing of numeric command-line values, shared by every program. */

#include <stdint.h>

/* Seconds as a decimal ("10", "0.5") into microseconds; min..max inclusive. */
int args_parse_seconds(const char *s, double min, double max, uint64_t *ret_usec);

/* A whole number in min..max. */
int args_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *ret);

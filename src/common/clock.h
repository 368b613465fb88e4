/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Time for every program: the units nbnet counts in (microseconds) and the
 * monotonic clock that timeouts and durations are measured on, which
 * neither a change of the wall clock nor NTP's steps can move.
 */

#include <stdint.h>
#include <time.h>

#define USEC_PER_MSEC 1000ull
#define USEC_PER_SEC 1000000ull
#define NSEC_PER_USEC 1000ull

/* Microseconds of CLOCK_MONOTONIC, the clock sd-event's timers run on. */
static inline uint64_t clock_now_usec(void) {
        struct timespec ts = {0};

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

/* Microseconds since the epoch (CLOCK_REALTIME): for what is shown as a date. */
static inline uint64_t clock_realtime_usec(void) {
        struct timespec ts = {0};

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

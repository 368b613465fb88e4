/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A latency histogram in the manner of HdrHistogram: exact below 1024, then
 * 512 buckets per power of two (a value is reported within 0.2%), up to
 * 2^40 - 1 (12 days in microseconds). Fixed size: recording never allocates,
 * however long the run.
 */

#include <stdint.h>

#define HISTOGRAM_EXACT 1024u
#define HISTOGRAM_SUB_BUCKETS 512u
#define HISTOGRAM_MAX_BITS 40u
#define HISTOGRAM_BUCKETS (HISTOGRAM_EXACT + (HISTOGRAM_MAX_BITS - 10u) * HISTOGRAM_SUB_BUCKETS)

struct histogram {
        uint64_t counts[HISTOGRAM_BUCKETS];
        uint64_t count;
        uint64_t min; /* exact */
        uint64_t max; /* exact */
        uint64_t sum; /* for the mean */
        double mean;  /* running mean and sum of squared deviations (Welford): the stdev */
        double m2;
};

void histogram_init(struct histogram *h);

/* Values at or over 2^40 count as 2^40 - 1. */
void histogram_add(struct histogram *h, uint64_t value);

/* The smallest recorded value (within 0.2%) that p percent of the values do
 * not exceed, 0 < p <= 100; never outside min..max; 0 when empty. */
uint64_t histogram_percentile(const struct histogram *h, double p);

/* The standard deviation of the values (exact, not from the buckets); 0 when empty. */
double histogram_stdev(const struct histogram *h);

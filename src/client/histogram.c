/* SPDX-License-Identifier: MIT */
/* nbnet-load's latency histogram (histogram.h). */
#include "histogram.h"

#include <math.h>
#include <string.h>

#define VALUE_LIMIT ((UINT64_C(1) << HISTOGRAM_MAX_BITS) - 1)

void histogram_init(struct histogram *h) {
        memset(h, 0, sizeof *h);
}

static unsigned bit_length(uint64_t v) {
        return 64u - (unsigned) __builtin_clzll(v);
}

static unsigned bucket_of(uint64_t v) {
        unsigned top, shift;

        if (v < HISTOGRAM_EXACT)
                return (unsigned) v;
        top = bit_length(v) - 1; /* 10..39 */
        shift = top - 9;         /* keeps the 10 leading bits: 512..1023 */
        return HISTOGRAM_EXACT + (top - 10) * HISTOGRAM_SUB_BUCKETS +
               (unsigned) ((v >> shift) - HISTOGRAM_SUB_BUCKETS);
}

/* The largest value that falls in bucket b. */
static uint64_t bucket_high(unsigned b) {
        unsigned k, shift;

        if (b < HISTOGRAM_EXACT)
                return b;
        k = b - HISTOGRAM_EXACT;
        shift = k / HISTOGRAM_SUB_BUCKETS + 1;
        return ((uint64_t) (HISTOGRAM_SUB_BUCKETS + k % HISTOGRAM_SUB_BUCKETS + 1) << shift) - 1;
}

void histogram_add(struct histogram *h, uint64_t value) {
        double delta;

        if (value > VALUE_LIMIT)
                value = VALUE_LIMIT;
        h->counts[bucket_of(value)]++;
        if (h->count == 0 || value < h->min)
                h->min = value;
        if (value > h->max)
                h->max = value;
        h->count++;
        h->sum += value;
        /* Welford's update: no sum of squares to overflow or cancel. */
        delta = (double) value - h->mean;
        h->mean += delta / (double) h->count;
        h->m2 += delta * ((double) value - h->mean);
}

double histogram_stdev(const struct histogram *h) {
        return h->count > 0 ? sqrt(h->m2 / (double) h->count) : 0;
}

uint64_t histogram_percentile(const struct histogram *h, double p) {
        double want = p / 100.0 * (double) h->count;
        uint64_t rank = (uint64_t) want, seen = 0;

        if (h->count == 0)
                return 0;
        if ((double) rank < want)
                rank++;
        if (rank == 0)
                rank = 1;
        if (rank > h->count)
                rank = h->count;
        for (unsigned b = 0; b < HISTOGRAM_BUCKETS; b++) {
                seen += h->counts[b];
                if (seen >= rank) {
                        uint64_t v = bucket_high(b);
                        return v < h->min ? h->min : v > h->max ? h->max : v;
                }
        }
        return h->max;
}

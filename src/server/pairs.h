/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * nbnetd's connections that wait for their partner by token: a request with
 * '&' for its stderr channel, or a channel for its request. Chained buckets
 * over the slots of the connection table, all allocated at start: at most
 * one entry per slot, nothing allocated per request. The hash is keyed with
 * a random seed, so that clients cannot choose tokens that share a bucket.
 */

#include <stdbool.h>
#include <stdint.h>

#include "frame.h"

#define PAIRS_NONE UINT32_MAX

struct pairs_entry {
        uint32_t next; /* the next slot in its bucket, or PAIRS_NONE */
        bool linked;
        char token[FRAME_TOKEN_HEX];
};

struct pairs {
        uint32_t *heads; /* mask + 1 buckets */
        uint32_t mask;
        uint64_t seed;
        struct pairs_entry *entries; /* one per slot */
        uint32_t slots;
};

/* For slots 0..slots-1; 0 or -ENOMEM. pairs_release undoes it, failed or not. */
int pairs_init(struct pairs *p, uint32_t slots);
void pairs_release(struct pairs *p);

/* The slot that waits with token (FRAME_TOKEN_HEX bytes), or PAIRS_NONE. */
uint32_t pairs_find(const struct pairs *p, const char *token);

/* Slot waits with token; it must not be in the table already. */
void pairs_add(struct pairs *p, uint32_t slot, const char *token);

/* Slot waits no more; nothing when it was not waiting. */
void pairs_remove(struct pairs *p, uint32_t slot);

/* Whether slot waits in the table. */
bool pairs_has(const struct pairs *p, uint32_t slot);

/* SPDX-License-Identifier: MIT */
/* nbnetd's requests and stderr channels waiting for their partner (pairs.h). */
#include "pairs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* FNV-1a over the seed and the token's bytes: tokens are short, and the
 * seed keeps a client from aiming many at one bucket. */
static uint32_t pairs_bucket(const struct pairs *p, const char *token) {
        uint64_t h = 0xcbf29ce484222325ULL ^ p->seed;

        for (size_t i = 0; i < FRAME_TOKEN_HEX; i++) {
                h ^= (unsigned char) token[i];
                h *= 0x100000001b3ULL;
        }
        return (uint32_t) (h ^ (h >> 32)) & p->mask;
}

int pairs_init(struct pairs *p, uint32_t slots) {
        uint32_t buckets = 1;

        *p = (struct pairs){.slots = slots};
        while (buckets < slots && buckets < (UINT32_C(1) << 30))
                buckets <<= 1;
        p->mask = buckets - 1;
        p->heads = malloc(buckets * sizeof *p->heads);
        p->entries = calloc(slots, sizeof *p->entries);
        if (!p->heads || !p->entries)
                return -ENOMEM;
        for (uint32_t i = 0; i < buckets; i++)
                p->heads[i] = PAIRS_NONE;
        /* Not secret for long, nor needed to be: a guess costs a client nothing but time. */
        if (getrandom(&p->seed, sizeof p->seed, GRND_NONBLOCK) != (ssize_t) sizeof p->seed)
                p->seed = (uint64_t) (uintptr_t) p ^ (uint64_t) slots;
        return 0;
}

void pairs_release(struct pairs *p) {
        free(p->heads);
        free(p->entries);
        *p = (struct pairs){0};
}

uint32_t pairs_find(const struct pairs *p, const char *token) {
        for (uint32_t i = p->heads[pairs_bucket(p, token)]; i != PAIRS_NONE; i = p->entries[i].next)
                if (memcmp(p->entries[i].token, token, FRAME_TOKEN_HEX) == 0)
                        return i;
        return PAIRS_NONE;
}

void pairs_add(struct pairs *p, uint32_t slot, const char *token) {
        uint32_t b = pairs_bucket(p, token);
        struct pairs_entry *e = &p->entries[slot];

        memcpy(e->token, token, FRAME_TOKEN_HEX);
        e->next = p->heads[b];
        e->linked = true;
        p->heads[b] = slot;
}

void pairs_remove(struct pairs *p, uint32_t slot) {
        struct pairs_entry *e = &p->entries[slot];
        uint32_t *link;

        if (!e->linked)
                return;
        for (link = &p->heads[pairs_bucket(p, e->token)]; *link != slot;
             link = &p->entries[*link].next)
                ;
        *link = e->next;
        e->linked = false;
        e->next = PAIRS_NONE;
}

bool pairs_has(const struct pairs *p, uint32_t slot) {
        return p->entries[slot].linked;
}

/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A server's own line at the start of a stream. A response that is one line
 * "nbnet: REASON\n" and then a 125 or 126 trailer is the server's refusal, not
 * the command's output, and nbnet says it on stderr; an old server's complaint
 * about the stderr channel is "nbnet: bad header: ..." on the channel. So the
 * first bytes of a stream are held back while they can still be such a line
 * (the prefix, then one line, at most SERVERLINE_MAX bytes, and nothing after
 * it), and passed on as soon as they cannot, or once no byte has come for
 * SERVERLINE_HOLD_USEC: a prompt that waits for input is never kept waiting.
 * Bytes and times in, slices out: no I/O, no allocation.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define SERVERLINE_MAX 1024
/* As response.h's hold: the server writes its line and its trailer a moment apart. */
#define SERVERLINE_HOLD_USEC ((uint64_t) 200000)

struct serverline {
        const char *prefix; /* what the line begins with: "nbnet: " */
        size_t prefix_len;
        char held[SERVERLINE_MAX];
        size_t len;         /* bytes held */
        bool passing;       /* it is not such a line: every byte is passed on */
        uint64_t last_usec; /* when the last bytes came */
};

void serverline_init(struct serverline *l, const char *prefix);

/* Takes the next slices of the stream (count 0..2), which came at now_usec,
 * and fills out with what is output now, oldest first (0..3 slices, pointing
 * into in and into l, valid until the next call); returns their count. */
int serverline_feed(struct serverline *l, const struct iovec *in, int count, uint64_t now_usec,
                    struct iovec out[static 3]);

/* When the held bytes are due to be passed on; 0 when none are held. */
uint64_t serverline_due(const struct serverline *l);

/* Stops holding: 1 with the held bytes in *out, or 0. */
int serverline_release(struct serverline *l, struct iovec *out);

/* Whether the held bytes are one whole line that begins with the prefix. */
bool serverline_complete(const struct serverline *l);

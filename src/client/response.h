/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The client's side of a '+' response (doc/protocol.md): the output, then an
 * 18-byte status trailer that the server sends in a segment of its own. Only
 * a tail that is the whole trailer or could begin it is held back; all else
 * is output at once. A tail that could only begin the trailer is output too
 * once the caller sees that no more bytes are waiting (EAGAIN) and none have
 * come for RESPONSE_HOLD_USEC: the server never splits the trailer, but a
 * relay on the way (a proxy, a tunnel) may, and its pieces follow each other
 * within a round trip. Bytes and times in, slices out: no I/O, no allocation.
 * nbnet, check_nbnet and nbnet-load all read a response through this.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "frame.h"

/* How long a possible beginning of the trailer waits for the rest once no
 * more bytes are waiting: a relay's pieces come a round trip apart at most
 * (Nagle), while a prompt that ends in one waits unnoticed for a fifth of a second. */
#define RESPONSE_HOLD_USEC ((uint64_t) 200000)

struct response {
        char tail[FRAME_TRAILER_SIZE];     /* the held-back bytes */
        size_t held;                       /* how many of tail are in use */
        char released[FRAME_TRAILER_SIZE]; /* held bytes that proved to be output */
        uint64_t output_bytes;             /* output passed on so far */
        uint64_t last_usec;                /* when the last bytes came (the caller's clock) */
};

void response_init(struct response *r);

/* Takes the next size bytes of the stream, which came at now_usec (a
 * monotonic clock in microseconds). Fills out with the bytes now known to be
 * output, oldest first, and returns how many slices (0..2) it used; the slices
 * point into data and into r, valid until the next call. */
int response_feed(struct response *r, const void *data, size_t size, uint64_t now_usec,
                  struct iovec out[static 2]);

/* When a held tail that could only begin the trailer is due to be output (see
 * response_release), on the clock of response_feed; 0 when none is held. */
uint64_t response_release_due(const struct response *r);

/* The caller saw EAGAIN at now_usec: a held tail that could only begin the
 * trailer is output after all, once it is due. With everything (-T, an
 * abandoned stream), any held tail, a whole trailer too, is output at once.
 * Returns 1 with the slice in *out, or 0. */
int response_release(struct response *r, bool everything, uint64_t now_usec, struct iovec *out);

/* At EOF: the status (0..255) when the held bytes are a trailer; otherwise
 * -EBADMSG, and *leftover is the held bytes, which are output after all. */
int response_finish(struct response *r, struct iovec *leftover);

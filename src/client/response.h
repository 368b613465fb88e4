/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The client's side of a '+' response (doc/protocol.md): the output, then an
 * 18-byte status trailer that the server sends in a segment of its own. Only
 * a tail that is the whole trailer or could begin it is held back; all else
 * is output at once. A tail that could only begin the trailer is output too
 * once the caller sees that no more bytes are waiting (EAGAIN): the trailer
 * never arrives split. Bytes in, slices out: no I/O, no allocation.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "frame.h"

struct response {
        char tail[FRAME_TRAILER_SIZE];     /* the held-back bytes */
        size_t held;                       /* how many of tail are in use */
        char released[FRAME_TRAILER_SIZE]; /* held bytes that proved to be output */
        uint64_t output_bytes;             /* output passed on so far */
};

void response_init(struct response *r);

/* Takes the next size bytes of the stream. Fills out with the bytes now known
 * to be output, oldest first, and returns how many slices (0..2) it used; the
 * slices point into data and into r, valid until the next call. */
int response_feed(struct response *r, const void *data, size_t size, struct iovec out[static 2]);

/* The caller saw EAGAIN: a held tail that could only begin the trailer is
 * output after all. With everything (-T, an abandoned stream), a held whole
 * trailer is output too. Returns 1 with the slice in *out, or 0. */
int response_release(struct response *r, bool everything, struct iovec *out);

/* At EOF: the status (0..255) when the held bytes are a trailer; otherwise
 * -EBADMSG, and *leftover is the held bytes, which are output after all. */
int response_finish(struct response *r, struct iovec *leftover);

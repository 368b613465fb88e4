/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The client's side of a '+' response (doc/protocol.md): the output, then an
 * 18-byte status trailer. The newest 18 bytes are held back, since only EOF
 * tells whether they are output or the trailer; everything older is output
 * and is passed on at once. Bytes in, slices out: no I/O, no allocation.
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "frame.h"

struct response {
        char tail[FRAME_TRAILER_SIZE];     /* the newest bytes of the stream */
        size_t held;                       /* how many of tail are in use */
        char released[FRAME_TRAILER_SIZE]; /* held bytes that proved to be output */
        uint64_t output_bytes;             /* output passed on so far */
};

void response_init(struct response *r);

/* Takes the next size bytes of the stream. Fills out with the bytes now known
 * to be output, oldest first, and returns how many slices (0..2) it used; the
 * slices point into data and into r, valid until the next call. */
int response_feed(struct response *r, const void *data, size_t size, struct iovec out[static 2]);

/* At EOF: the status (0..255) when the held bytes are a trailer; otherwise
 * -EBADMSG, and *leftover is the held bytes, which are output after all. */
int response_finish(struct response *r, struct iovec *leftover);

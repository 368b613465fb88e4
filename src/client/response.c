/* SPDX-License-Identifier: MIT */
#include "response.h"

#include <errno.h>
#include <string.h>

void response_init(struct response *r) {
        memset(r, 0, sizeof *r);
}

int response_feed(struct response *r, const void *data, size_t size, struct iovec out[static 2]) {
        const char *d = data;
        size_t total = r->held + size, release, from_tail, from_data;
        int n = 0;

        if (total <= FRAME_TRAILER_SIZE) {
                memcpy(r->tail + r->held, d, size);
                r->held = total;
                return 0;
        }
        release = total - FRAME_TRAILER_SIZE;
        from_tail = release < r->held ? release : r->held;
        from_data = release - from_tail;
        if (from_tail > 0) {
                memcpy(r->released, r->tail, from_tail);
                out[n++] = (struct iovec){.iov_base = r->released, .iov_len = from_tail};
        }
        if (from_data > 0)
                out[n++] = (struct iovec){.iov_base = (void *) d, .iov_len = from_data};
        /* What stays: the rest of the old tail, then the end of data; 18 bytes in all. */
        memmove(r->tail, r->tail + from_tail, r->held - from_tail);
        memcpy(r->tail + (r->held - from_tail), d + from_data, size - from_data);
        r->held = FRAME_TRAILER_SIZE;
        r->output_bytes += release;
        return n;
}

int response_finish(struct response *r, struct iovec *leftover) {
        int status = -EBADMSG;

        if (r->held == FRAME_TRAILER_SIZE)
                status = frame_parse_trailer(r->tail);
        if (status >= 0) {
                *leftover = (struct iovec){0};
                return status;
        }
        *leftover = (struct iovec){.iov_base = r->tail, .iov_len = r->held};
        r->output_bytes += r->held;
        return -EBADMSG;
}

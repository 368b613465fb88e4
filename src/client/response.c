/* SPDX-License-Identifier: MIT */
/* The client's side of a response: what is output, what may be the trailer (response.h). */
#include "response.h"

#include <errno.h>
#include <string.h>

/* The trailer's shape; the digits stand for any digit. */
static const char trailer_shape[FRAME_TRAILER_SIZE] = "\x1eNBNET-STATUS 000\n";

static bool shape_matches(size_t i, char c) {
        if (i >= FRAME_TRAILER_SIZE - 4 && i < FRAME_TRAILER_SIZE - 1)
                return c >= '0' && c <= '9';
        return c == trailer_shape[i];
}

/* How many of the last n bytes of a stream to hold back: a suffix that is a
 * proper prefix of the trailer, or the whole trailer. Only one suffix can be:
 * it starts at the last \x1e, a byte found nowhere else in the trailer. */
static size_t hold_length(const char *last, size_t n) {
        const char *start = memrchr(last, trailer_shape[0], n);
        size_t len;

        if (!start)
                return 0;
        len = n - (size_t) (start - last);
        for (size_t i = 1; i < len; i++)
                if (!shape_matches(i, start[i]))
                        return 0;
        if (len == FRAME_TRAILER_SIZE && frame_parse_trailer(start) < 0)
                return 0; /* "NBNET-STATUS 999": output, no status can say that */
        return len;
}

void response_init(struct response *r) {
        memset(r, 0, sizeof *r);
}

int response_feed(struct response *r, const void *data, size_t size, uint64_t now_usec,
                  struct iovec out[static 2]) {
        const char *d = data;
        char last[FRAME_TRAILER_SIZE];
        size_t total = r->held + size, n, from_old, hold, release, from_tail, from_data;
        int k = 0;

        /* The newest bytes of the stream in one piece: the end of the tail, then data's. */
        n = total < FRAME_TRAILER_SIZE ? total : FRAME_TRAILER_SIZE;
        from_old = n > size ? n - size : 0;
        memcpy(last, r->tail + r->held - from_old, from_old);
        memcpy(last + from_old, d + size - (n - from_old), n - from_old);
        hold = hold_length(last, n);

        release = total - hold;
        from_tail = release < r->held ? release : r->held;
        from_data = release - from_tail;
        if (from_tail > 0) {
                memcpy(r->released, r->tail, from_tail);
                out[k++] = (struct iovec){.iov_base = r->released, .iov_len = from_tail};
        }
        if (from_data > 0)
                out[k++] = (struct iovec){.iov_base = (void *) d, .iov_len = from_data};
        memcpy(r->tail, last + n - hold, hold);
        r->held = hold;
        r->output_bytes += release;
        if (size > 0)
                r->last_usec = now_usec;
        return k;
}

uint64_t response_release_due(const struct response *r) {
        if (r->held == 0 || r->held == FRAME_TRAILER_SIZE)
                return 0;
        return r->last_usec + RESPONSE_HOLD_USEC;
}

int response_release(struct response *r, bool everything, uint64_t now_usec, struct iovec *out) {
        if (r->held == 0)
                return 0;
        if (!everything && (r->held == FRAME_TRAILER_SIZE || now_usec < response_release_due(r)))
                return 0;
        memcpy(r->released, r->tail, r->held);
        *out = (struct iovec){.iov_base = r->released, .iov_len = r->held};
        r->output_bytes += r->held;
        r->held = 0;
        return 1;
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

/* SPDX-License-Identifier: MIT */
/* A server's own line at the start of a stream, held until it is told apart (serverline.h). */
#include "serverline.h"

#include <string.h>

void serverline_init(struct serverline *l, const char *prefix) {
        *l = (struct serverline){.prefix = prefix, .prefix_len = strlen(prefix)};
}

/* Whether byte c can come at offset i of a server's line. */
static bool fits(const struct serverline *l, size_t i, char c) {
        if (i >= SERVERLINE_MAX)
                return false;
        if (i > 0 && l->held[i - 1] == '\n')
                return false; /* something after the line */
        if (i < l->prefix_len)
                return c == l->prefix[i];
        return true;
}

int serverline_feed(struct serverline *l, const struct iovec *in, int count, uint64_t now_usec,
                    struct iovec out[static 3]) {
        size_t at = l->len;
        int k = 0;

        if (!l->passing) {
                /* Checked before anything is copied: a byte that does not fit
                 * passes the held bytes on, then every slice as it came. */
                for (int i = 0; i < count && !l->passing; i++)
                        for (size_t j = 0; j < in[i].iov_len && !l->passing; j++) {
                                char c = ((const char *) in[i].iov_base)[j];
                                if (!fits(l, at, c))
                                        l->passing = true;
                                else
                                        l->held[at++] = c;
                        }
                if (!l->passing) {
                        l->len = at;
                        if (at > 0 && count > 0)
                                l->last_usec = now_usec;
                        return 0;
                }
                if (l->len > 0)
                        out[k++] = (struct iovec){.iov_base = l->held, .iov_len = l->len};
                l->len = 0;
        }
        for (int i = 0; i < count; i++)
                if (in[i].iov_len > 0)
                        out[k++] = in[i];
        return k;
}

uint64_t serverline_due(const struct serverline *l) {
        return !l->passing && l->len > 0 ? l->last_usec + SERVERLINE_HOLD_USEC : 0;
}

int serverline_release(struct serverline *l, struct iovec *out) {
        size_t len = l->len;

        l->passing = true;
        l->len = 0;
        if (len == 0)
                return 0;
        *out = (struct iovec){.iov_base = l->held, .iov_len = len};
        return 1;
}

bool serverline_complete(const struct serverline *l) {
        return !l->passing && l->len > l->prefix_len && l->held[l->len - 1] == '\n';
}

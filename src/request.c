/* SPDX-License-Identifier: MIT */
#include "request.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

char *request_build(char *const *words, int count, bool with_status, size_t *ret_size) {
        char header[REQUEST_HEADER_MAX + 1], *req;
        size_t len = 0, off;
        int n;

        for (int i = 0; i < count; i++) {
                len += strlen(words[i]) + (i > 0);
                if (len > FRAME_MAX_COMMAND_LIMIT) {
                        errno = E2BIG;
                        return NULL;
                }
        }
        if (len == 0) {
                errno = EINVAL;
                return NULL;
        }
        n = snprintf(header, sizeof header, "%s%0*zu", with_status ? "+" : "", FRAME_HEADER_DIGITS,
                     len);
        if (n < 0)
                return NULL;
        off = (size_t) n;
        req = malloc(off + len);
        if (!req)
                return NULL;
        memcpy(req, header, off);
        for (int i = 0; i < count; i++) {
                size_t w = strlen(words[i]);
                if (i > 0)
                        req[off++] = ' ';
                memcpy(req + off, words[i], w);
                off += w;
        }
        *ret_size = off;
        return req;
}

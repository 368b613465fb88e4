/* SPDX-License-Identifier: MIT */
#include "credential.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "frame.h"

const char *credential_socket(void) {
        const char *s = getenv("NBNET_MUNGE_SOCKET");

        return s && s[0] ? s : NULL;
}

bool credential_wanted(void) {
        const char *s = getenv("NBNET_MUNGE");

        return s && strcmp(s, "1") == 0;
}

/* The words joined with single spaces; NULL with errno. */
static char *credential_join(char *const *words, int count, size_t *ret_len) {
        size_t len = 0, off = 0;
        char *line;

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
        line = malloc(len + 1);
        if (!line)
                return NULL;
        for (int i = 0; i < count; i++) {
                size_t w = strlen(words[i]);
                if (i > 0)
                        line[off++] = ' ';
                memcpy(line + off, words[i], w);
                off += w;
        }
        line[off] = '\0';
        *ret_len = len;
        return line;
}

char *credential_request(char *const *words, int count, bool with_status, bool with_stdin,
                         const char *socket_path, size_t *ret_size, char *why, size_t why_size) {
        char header[FRAME_HEADER_MAX + 1], *line, *cred, *req;
        size_t len, cred_len;
        int n;

        line = credential_join(words, count, &len);
        if (!line)
                return NULL;
        cred = auth_encode(socket_path, line, len, 0, why, why_size);
        free(line);
        if (!cred) {
                errno = EACCES;
                return NULL;
        }
        cred_len = strlen(cred);
        /* The server's limit applies to the credential, which is longer than its command. */
        if (cred_len > FRAME_MAX_COMMAND_LIMIT) {
                free(cred);
                errno = E2BIG;
                return NULL;
        }
        n = snprintf(header, sizeof header, "%s%s%c%0*zu", with_status ? "+" : "",
                     with_stdin ? "<" : "", FRAME_FLAG_MUNGE, FRAME_HEADER_DIGITS, cred_len);
        req = n < 0 ? NULL : malloc((size_t) n + cred_len);
        if (req) {
                memcpy(req, header, (size_t) n);
                memcpy(req + n, cred, cred_len);
                *ret_size = (size_t) n + cred_len;
        }
        free(cred);
        return req;
}

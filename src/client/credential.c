/* SPDX-License-Identifier: MIT */
/* A client's request in a MUNGE credential (credential.h). */
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

char *credential_request(char *const *words, int count, unsigned flags,
                         const struct frame_names *names, const char *socket_path, size_t *ret_size,
                         char *why, size_t why_size) {
        char *line, *cred, *req;
        size_t len;

        line = frame_join(words, count, &len);
        if (!line)
                return NULL;
        cred = auth_encode(socket_path, line, len, 0, why, why_size);
        free(line);
        if (!cred) {
                errno = EACCES;
                return NULL;
        }
        /* The server's limit applies to the credential, which is longer than its command. */
        req = frame_wrap_named(cred, strlen(cred), flags | FRAME_MUNGE, names, ret_size);
        free(cred);
        return req;
}

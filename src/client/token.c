/* SPDX-License-Identifier: MIT */
/* The stderr channel's token: 16 random bytes in lower-case hex. */
#include "token.h"

#include <errno.h>
#include <sys/random.h>

int token_make(char token[static FRAME_TOKEN_HEX + 1]) {
        static const char hex[] = "0123456789abcdef";
        unsigned char bytes[FRAME_TOKEN_HEX / 2];
        ssize_t n;

        do
                n = getrandom(bytes, sizeof bytes, 0);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if ((size_t) n != sizeof bytes)
                return -EIO;
        for (size_t i = 0; i < sizeof bytes; i++) {
                token[2 * i] = hex[bytes[i] >> 4];
                token[2 * i + 1] = hex[bytes[i] & 15];
        }
        token[FRAME_TOKEN_HEX] = '\0';
        return 0;
}

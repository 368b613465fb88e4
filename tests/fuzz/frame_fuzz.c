/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the NBNET/1 request parser (src/common/frame.c).
 *
 * Input: byte 0 chooses the limit (0: the default, 255: FRAME_MAX_COMMAND_LIMIT,
 * else the byte's value); byte 1 % 16 is a count k; the next k bytes, each % 16
 * (so '0'..'9' are 0..9), are chunk sizes; the rest is fed to the parser in
 * chunks of those sizes in turn (a 0 is an empty feed), and once more in one
 * piece. Both runs must agree with each other and with the protocol's rules,
 * and neither may consume a byte past a stderr channel's 33.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "fuzz.h"

/* What doc/protocol.md says the parser ends in after these bytes, worked out in one pass. */
struct expect {
        enum frame_state state;
        size_t consumed;
        bool want_status, want_stdin, munge, has_token, channel, want_user;
        size_t token_at; /* where the token begins */
        char user[FRAME_USER_MAX + 1];
        size_t flags; /* header bytes before the digits */
        uint64_t length;
};

static bool is_token_digit(uint8_t b) {
        return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f');
}

/* The token after '&' or '=' from p[*i]: false when a byte is no lower-case
 * hex digit (e is then the bad header) or the bytes run out before 32. */
static bool expect_token(struct expect *e, const uint8_t *p, size_t n, size_t *i) {
        size_t end = *i + FRAME_TOKEN_HEX;

        for (; *i < n && *i < end; (*i)++)
                if (!is_token_digit(p[*i])) {
                        e->state = FRAME_BAD_HEADER;
                        e->consumed = *i + 1;
                        return false;
                }
        return *i == end;
}

static struct expect frame_expect(const uint8_t *p, size_t n, uint32_t limit) {
        struct expect e = {.state = FRAME_NEED_MORE, .consumed = n};
        size_t i = 0, header;

        /* A channel: '=' and 32 lower-case hex digits, and not a byte more. */
        if (n > 0 && p[0] == '=') {
                e.channel = e.has_token = true;
                i = e.token_at = 1;
                if (expect_token(&e, p, n, &i)) {
                        e.state = FRAME_CHANNEL;
                        e.consumed = FRAME_CHANNEL_SIZE;
                }
                return e;
        }
        /* "+<&~@", each optional, in this order; '&' with its token, '~' with 2
         * digits (01-32) and a portable name. */
        if (i < n && p[i] == '+')
                e.want_status = true, i++;
        if (i < n && p[i] == '<')
                e.want_stdin = true, i++;
        if (i < n && p[i] == '&') {
                e.has_token = true, i++;
                e.token_at = i;
                if (!expect_token(&e, p, n, &i))
                        return e;
        }
        if (i < n && p[i] == '~') {
                size_t ulen = 0;
                e.want_user = true, i++;
                for (size_t d = 0; d < FRAME_USER_DIGITS; d++, i++) {
                        if (i == n)
                                return e;
                        if (p[i] < '0' || p[i] > '9') {
                                e.state = FRAME_BAD_HEADER;
                                e.consumed = i + 1;
                                return e;
                        }
                        ulen = ulen * 10 + (size_t) (p[i] - '0');
                }
                if (ulen == 0 || ulen > FRAME_USER_MAX) {
                        e.state = FRAME_BAD_HEADER;
                        e.consumed = i;
                        return e;
                }
                for (size_t k = 0; k < ulen; k++, i++) {
                        if (i == n)
                                return e;
                        if (!(isalnum(p[i]) || p[i] == '_' || p[i] == '-' || p[i] == '.') ||
                            p[i] >= 0x80) {
                                e.state = FRAME_BAD_HEADER;
                                e.consumed = i + 1;
                                return e;
                        }
                        e.user[k] = (char) p[i];
                }
        }
        if (i < n && p[i] == '@')
                e.munge = true, i++;
        e.flags = i;
        header = i + FRAME_HEADER_DIGITS;
        for (; i < n && i < header; i++) {
                if (p[i] < '0' || p[i] > '9') {
                        e.state = FRAME_BAD_HEADER;
                        e.consumed = i + 1;
                        return e;
                }
                e.length = e.length * 10 + (uint64_t) (p[i] - '0');
        }
        if (i < header)
                return e;
        if (e.length == 0 || e.length > limit) {
                e.state = e.length == 0 ? FRAME_EMPTY : FRAME_TOO_LONG;
                e.consumed = header;
                return e;
        }
        size_t have = n - header < e.length ? n - header : (size_t) e.length;
        const uint8_t *nul = memchr(p + header, '\0', have);
        if (nul) {
                /* Like a bad header byte, the NUL is the last byte consumed. */
                e.state = FRAME_HAS_NUL;
                e.consumed = (size_t) (nul - p) + 1;
        } else if (have == e.length) {
                e.state = FRAME_COMPLETE;
                e.consumed = header + have;
        }
        return e;
}

/* Feeds a heap copy of exactly size bytes, so that ASan sees any read past them. */
static size_t feed_copy(struct frame *f, const uint8_t *p, size_t size) {
        uint8_t *copy = malloc(size);
        enum frame_state before = f->state;
        size_t used;

        check(copy);
        if (size > 0)
                memcpy(copy, p, size);
        used = frame_feed(f, copy, size);
        free(copy);
        check(used <= size);
        if (before != FRAME_NEED_MORE)
                check(used == 0 && f->state == before);
        else if (f->state == FRAME_NEED_MORE)
                check(used == size);
        return used;
}

static void check_error_message(const struct frame *f) {
        char buf[512];
        int n = frame_error_message(f, buf, sizeof buf);

        if (!frame_failed(f)) {
                check(n == -EINVAL);
                return;
        }
        check(n > 0 && (size_t) n == strlen(buf) && strncmp(buf, "nbnet: ", 7) == 0);
        char *exact = malloc((size_t) n + 1);
        check(exact);
        check(frame_error_message(f, exact, (size_t) n + 1) == n && strcmp(exact, buf) == 0);
        /* One byte short: truncated, NUL-terminated, and said so. */
        check(frame_error_message(f, exact, (size_t) n) == -ENOBUFS && exact[n - 1] == '\0');
        free(exact);
}

static void check_against_expect(const struct frame *f, const struct expect *e, const uint8_t *p,
                                 size_t fed, uint32_t limit) {
        check(f->state == e->state);
        check(f->consumed == e->consumed && f->consumed <= fed);
        check(f->want_status == e->want_status);
        check(f->channel == e->channel);
        if (f->state != FRAME_BAD_HEADER || e->consumed > e->flags)
                check(f->has_token == e->has_token);
        if (f->has_token && f->token_len == FRAME_TOKEN_HEX)
                check(strlen(f->token) == FRAME_TOKEN_HEX &&
                      memcmp(f->token, p + e->token_at, FRAME_TOKEN_HEX) == 0);
        if (f->state == FRAME_CHANNEL)
                check(f->command == NULL && f->consumed == FRAME_CHANNEL_SIZE);
        if (f->state != FRAME_BAD_HEADER || e->consumed > e->flags)
                check(f->want_stdin == e->want_stdin && f->munge == e->munge &&
                      f->want_user == e->want_user);
        if (f->state == FRAME_COMPLETE)
                check(strcmp(f->user, e->user) == 0);
        check(f->max_command == limit);
        check(frame_failed(f) == (f->state != FRAME_NEED_MORE && f->state != FRAME_COMPLETE &&
                                  f->state != FRAME_CHANNEL));
        if (f->digits == FRAME_HEADER_DIGITS)
                check(f->length == e->length);
        /* A refused length is never allocated. */
        if (f->state == FRAME_EMPTY || f->state == FRAME_TOO_LONG || f->state == FRAME_BAD_HEADER ||
            f->state == FRAME_CHANNEL)
                check(f->command == NULL);
        if (f->state == FRAME_COMPLETE) {
                size_t header = e->flags + FRAME_HEADER_DIGITS;
                check(f->length >= 1 && f->length <= limit);
                check(f->command && strlen(f->command) == f->length);
                check(memcmp(f->command, p + header, (size_t) f->length) == 0);
        }
        check_error_message(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct frame chunked, whole;
        uint8_t sizes[16];
        size_t k, pos, fed, used = 0, sum = 0;
        uint32_t limit, asked;

        if (size < 2)
                return 0;
        asked = data[0] == 255 ? FRAME_MAX_COMMAND_LIMIT : data[0];
        limit = asked ? asked : FRAME_MAX_COMMAND_DEFAULT;
        k = data[1] % 16u;
        if (k > size - 2)
                k = size - 2;
        for (size_t i = 0; i < k; i++) {
                sizes[i] = data[2 + i] % 16u;
                sum += sizes[i];
        }
        const uint8_t *p = data + 2 + k;
        size_t n = size - 2 - k;

        check(frame_init(&chunked, FRAME_MAX_COMMAND_LIMIT + 1) == -ERANGE);
        check(frame_init(&chunked, asked) == 0 && frame_init(&whole, asked) == 0);

        /* In chunks, cycling through the sizes; with none (or only zeros), the rest at once. */
        pos = 0;
        for (size_t i = 0; pos < n; i++) {
                size_t want = sum == 0 ? n - pos : sizes[i % k];
                if (sum == 0 && i < k)
                        want = 0;
                if (want > n - pos)
                        want = n - pos;
                used += feed_copy(&chunked, p + pos, want);
                check(chunked.consumed == used);
                pos += want;
        }
        fed = pos;
        check(used <= fed);

        check(feed_copy(&whole, p, n) == whole.consumed);

        struct expect e = frame_expect(p, n, limit);
        check_against_expect(&chunked, &e, p, fed, limit);
        check_against_expect(&whole, &e, p, n, limit);

        /* A reader that asks frame_readable() how much to read: a channel or a
         * '<' request is never read past its end. */
        struct frame reader;
        size_t offered = 0;
        check(frame_init(&reader, asked) == 0);
        while (reader.state == FRAME_NEED_MORE && offered < n) {
                size_t want = frame_readable(&reader, 16);
                check(want > 0 && want <= 16);
                if (want > n - offered)
                        want = n - offered;
                (void) feed_copy(&reader, p + offered, want);
                offered += want;
        }
        check(frame_readable(&reader, 16) == 0 || reader.state == FRAME_NEED_MORE);
        check(reader.state == whole.state && reader.consumed == whole.consumed);
        if (reader.state == FRAME_CHANNEL || (reader.want_stdin && reader.state == FRAME_COMPLETE))
                check(offered == reader.consumed);
        frame_release(&reader);

        /* Every chunking ends where one piece does. */
        check(chunked.state == whole.state && chunked.consumed == whole.consumed);
        check(chunked.digits == whole.digits && chunked.length == whole.length);
        check(chunked.bad_byte == whole.bad_byte);
        if (whole.state == FRAME_COMPLETE)
                check(strcmp(chunked.command, whole.command) == 0);

        frame_release(&chunked);
        frame_release(&whole);
        check(chunked.command == NULL && whole.command == NULL);
        return 0;
}

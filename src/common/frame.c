/* SPDX-License-Identifier: MIT */
/* The NBNET/1 wire format: request parser and builder, status trailer (frame.h). */
#include "frame.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The status trailer, written by the servers and parsed by the clients: this, 3 digits, "\n". */
static const char TRAILER_PREFIX[] = "\x1eNBNET-STATUS ";
_Static_assert(sizeof TRAILER_PREFIX - 1 + 3 + 1 == FRAME_TRAILER_SIZE, "trailer size");

int frame_init(struct frame *f, uint32_t max_command) {
        if (max_command > FRAME_MAX_COMMAND_LIMIT)
                return -ERANGE;
        *f = (struct frame){
                .state = FRAME_NEED_MORE,
                .max_command = max_command ? max_command : FRAME_MAX_COMMAND_DEFAULT,
        };
        return 0;
}

/* Whether the next header byte belongs to the '~' part: the name's length or the name. */
static bool frame_in_user(const struct frame *f) {
        return f->want_user && (f->user_digits < FRAME_USER_DIGITS || f->user_got < f->user_len);
}

static bool frame_user_valid_byte(unsigned char c);

size_t frame_readable(const struct frame *f, size_t buf_size) {
        size_t want;

        if (f->state != FRAME_NEED_MORE)
                return 0;
        /* A channel's client sends its 33 bytes and nothing more is ever read. */
        if (f->channel)
                want = FRAME_TOKEN_HEX - f->token_len;
        else if (f->has_token && f->token_len < FRAME_TOKEN_HEX)
                want = FRAME_TOKEN_HEX - f->token_len + FRAME_HEADER_DIGITS;
        /* Without '<', what follows the frame is dropped anyway: read freely. */
        else if (f->digits > 0 && !f->want_stdin)
                return buf_size;
        /* After '~': the rest of the name's length and at least one byte of
         * it, or the rest of the name; then ten digits at least. */
        else if (frame_in_user(f))
                want = (f->user_digits < FRAME_USER_DIGITS ? FRAME_USER_DIGITS - f->user_digits + 1
                                                           : f->user_len - f->user_got) +
                       FRAME_HEADER_DIGITS;
        else if (f->digits < FRAME_HEADER_DIGITS)
                want = FRAME_HEADER_DIGITS - f->digits;
        else
                want = (size_t) f->length - f->received;
        return want < buf_size ? want : buf_size;
}

bool frame_failed(const struct frame *f) {
        return f->state != FRAME_NEED_MORE && f->state != FRAME_COMPLETE && f->state != FRAME_CHANNEL;
}

/* Called once the tenth digit is in: every check on the length happens here,
 * before a byte of the command is buffered. */
static void frame_header_done(struct frame *f) {
        if (f->length == 0) {
                f->state = FRAME_EMPTY;
                return;
        }
        if (f->length > f->max_command) {
                f->state = FRAME_TOO_LONG;
                return;
        }
        f->command = malloc(f->length + 1);
        if (!f->command)
                f->state = FRAME_NO_MEMORY;
}

static const char FRAME_FLAGS[] = {FRAME_FLAG_STATUS, FRAME_FLAG_STDIN, FRAME_FLAG_TOKEN,
                                   FRAME_FLAG_USER, FRAME_FLAG_MUNGE};

/* A flag byte before the first digit: true when it comes in its place
 * (after the flags before it in FRAME_FLAGS, and not twice). */
static bool frame_take_flag(struct frame *f, unsigned char byte) {
        for (unsigned k = f->flags_seen; k < sizeof FRAME_FLAGS; k++)
                if (byte == (unsigned char) FRAME_FLAGS[k]) {
                        f->flags_seen = k + 1;
                        f->want_status |= byte == FRAME_FLAG_STATUS;
                        f->want_stdin |= byte == FRAME_FLAG_STDIN;
                        f->has_token |= byte == FRAME_FLAG_TOKEN;
                        f->munge |= byte == FRAME_FLAG_MUNGE;
                        f->want_user |= byte == FRAME_FLAG_USER;
                        return true;
                }
        return false;
}

/* A byte of the token: lower-case hex only (a token is compared as bytes). */
static bool frame_take_token(struct frame *f, unsigned char byte) {
        if (!((byte >= '0' && byte <= '9') || (byte >= 'a' && byte <= 'f')))
                return false;
        f->token[f->token_len++] = (char) byte;
        if (f->token_len == FRAME_TOKEN_HEX && f->channel)
                f->state = FRAME_CHANNEL;
        return true;
}

/* A byte of the '~' part: one of the name's two length digits, or of the name.
 * false when it cannot be (f->bad_user says why). */
static bool frame_take_user_byte(struct frame *f, unsigned char byte) {
        if (f->user_digits < FRAME_USER_DIGITS) {
                if (byte < '0' || byte > '9') {
                        f->bad_user = FRAME_BAD_USER_DIGIT;
                        return false;
                }
                f->user_len = f->user_len * 10 + (unsigned) (byte - '0');
                if (++f->user_digits == FRAME_USER_DIGITS &&
                    (f->user_len == 0 || f->user_len > FRAME_USER_MAX)) {
                        f->bad_user = FRAME_BAD_USER_LENGTH;
                        return false;
                }
                return true;
        }
        if (!frame_user_valid_byte(byte)) {
                f->bad_user = FRAME_BAD_USER_CHAR;
                return false;
        }
        f->user[f->user_got++] = (char) byte;
        f->user[f->user_got] = '\0';
        return true;
}

static size_t frame_feed_header(struct frame *f, const unsigned char *p, size_t size) {
        size_t i = 0;

        for (; i < size && f->digits < FRAME_HEADER_DIGITS && f->state == FRAME_NEED_MORE; i++) {
                if (f->has_token && f->token_len < FRAME_TOKEN_HEX) {
                        if (frame_take_token(f, p[i]))
                                continue;
                        f->bad_byte = p[i];
                        f->state = FRAME_BAD_HEADER;
                        return i + 1;
                }
                if (frame_in_user(f)) {
                        if (frame_take_user_byte(f, p[i]))
                                continue;
                        f->bad_byte = p[i];
                        f->state = FRAME_BAD_HEADER;
                        return i + 1;
                }
                if (f->consumed + i == 0 && p[i] == FRAME_CHANNEL_START) {
                        f->channel = f->has_token = true;
                        continue;
                }
                if (f->digits == 0 && frame_take_flag(f, p[i]))
                        continue;
                if (p[i] < '0' || p[i] > '9') {
                        f->bad_byte = p[i];
                        f->state = FRAME_BAD_HEADER;
                        return i + 1;
                }
                f->length = f->length * 10 + (uint64_t) (p[i] - '0');
                f->digits++;
        }
        if (f->digits == FRAME_HEADER_DIGITS)
                frame_header_done(f);
        return i;
}

static size_t frame_feed_command(struct frame *f, const unsigned char *p, size_t size) {
        size_t want = (size_t) f->length - f->received;
        size_t n = size < want ? size : want;

        const unsigned char *nul = memchr(p, '\0', n);
        if (nul) {
                /* As with a bad header byte, the NUL is the last byte consumed,
                 * so the count is the same however the frame was split. */
                f->state = FRAME_HAS_NUL;
                return (size_t) (nul - p) + 1;
        }
        memcpy(f->command + f->received, p, n);
        f->received += (uint32_t) n;
        if (f->received == f->length) {
                f->command[f->received] = '\0';
                f->state = FRAME_COMPLETE;
        }
        return n;
}

size_t frame_feed(struct frame *f, const void *data, size_t size) {
        const unsigned char *p = data;
        size_t used = 0;

        if (f->state == FRAME_NEED_MORE && f->digits < FRAME_HEADER_DIGITS) {
                used = frame_feed_header(f, p, size);
                f->consumed += used;
        }
        if (f->state == FRAME_NEED_MORE && f->digits == FRAME_HEADER_DIGITS && used < size) {
                size_t n = frame_feed_command(f, p + used, size - used);
                f->consumed += n;
                used += n;
        }
        return used;
}

int frame_error_message(const struct frame *f, char *buf, size_t size) {
        int n;

        switch (f->state) {
        case FRAME_BAD_HEADER: {
                char shown[8];
                const char *what = memchr(FRAME_FLAGS, f->bad_byte, sizeof FRAME_FLAGS)
                                           ? "a flag out of order or repeated"
                                           : "not a digit";
                if (f->bad_byte > 0x20 && f->bad_byte < 0x7f)
                        snprintf(shown, sizeof shown, "'%c'", f->bad_byte);
                else
                        snprintf(shown, sizeof shown, "0x%02x", f->bad_byte);
                if (f->has_token && f->token_len < FRAME_TOKEN_HEX)
                        n = snprintf(buf, size,
                                     f->channel ? "nbnet: bad channel: '=' needs %d lower-case hex "
                                                  "digits, its request's token (byte %zu is %s)"
                                                : "nbnet: bad header: the '&' flag needs %d "
                                                  "lower-case hex digits (byte %zu is %s)",
                                     FRAME_TOKEN_HEX, f->consumed, shown);
                else if (f->bad_user == FRAME_BAD_USER_LENGTH)
                        n = snprintf(buf, size,
                                     "nbnet: bad header: the user name's length after '~' is "
                                     "%02u, not 01-%d",
                                     f->user_len, FRAME_USER_MAX);
                else if (f->bad_user == FRAME_BAD_USER_DIGIT)
                        n = snprintf(buf, size,
                                     "nbnet: bad header: byte %zu is %s, not a digit of the user "
                                     "name's length ('~', 2 digits, 01-%d, then the name)",
                                     f->consumed, shown, FRAME_USER_MAX);
                else if (f->bad_user == FRAME_BAD_USER_CHAR)
                        n = snprintf(buf, size,
                                     "nbnet: bad header: byte %zu is %s, not in a portable user "
                                     "name (letters, digits, '_', '-', '.')",
                                     f->consumed, shown);
                else
                        n = snprintf(
                                buf, size,
                                "nbnet: bad header: byte %zu is %s, %s "
                                "(a request is [+][<][@], 10 digits of length, then the command)",
                                f->consumed, shown, what);
                break;
        }
        case FRAME_EMPTY:
                n = snprintf(buf, size, "nbnet: empty command (length 0)");
                break;
        case FRAME_TOO_LONG:
                n = snprintf(buf, size, "nbnet: command too long (%llu > %u)",
                             (unsigned long long) f->length, f->max_command);
                break;
        case FRAME_HAS_NUL:
                n = snprintf(buf, size, "nbnet: command contains a NUL byte");
                break;
        case FRAME_NO_MEMORY:
                n = snprintf(buf, size, "nbnet: server out of memory");
                break;
        default:
                return -EINVAL;
        }
        if (n < 0)
                return -errno;
        return (size_t) n < size ? n : -ENOBUFS;
}

void frame_release(struct frame *f) {
        free(f->command);
        f->command = NULL;
}

void frame_format_trailer(char buf[static FRAME_TRAILER_SIZE], int status) {
        const size_t h = sizeof TRAILER_PREFIX - 1;

        if (status < 0 || status > 255)
                status = 125;
        memcpy(buf, TRAILER_PREFIX, h);
        buf[h] = (char) ('0' + status / 100);
        buf[h + 1] = (char) ('0' + status / 10 % 10);
        buf[h + 2] = (char) ('0' + status % 10);
        buf[h + 3] = '\n';
}

int frame_parse_trailer(const char trailer[static FRAME_TRAILER_SIZE]) {
        const size_t h = sizeof TRAILER_PREFIX - 1;
        int status = 0;

        if (memcmp(trailer, TRAILER_PREFIX, h) != 0 || trailer[FRAME_TRAILER_SIZE - 1] != '\n')
                return -EBADMSG;
        for (size_t i = h; i < h + 3; i++) {
                if (trailer[i] < '0' || trailer[i] > '9')
                        return -EBADMSG;
                status = status * 10 + (trailer[i] - '0');
        }
        /* Three digits could say 999; an exit status is at most 255. */
        return status <= 255 ? status : -EBADMSG;
}

char *frame_join(char *const *words, int count, size_t *ret_len) {
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

/* PROTOCOL.md's portable name: ALPHA / DIGIT / "_" / "-" / ".". */
static bool frame_user_valid_byte(unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-' || c == '.';
}

bool frame_user_valid(const char *name) {
        size_t len = strnlen(name, FRAME_USER_MAX + 1);

        if (len == 0 || len > FRAME_USER_MAX)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!frame_user_valid_byte((unsigned char) name[i]))
                        return false;
        return true;
}

char *frame_wrap(const char *payload, size_t len, unsigned flags, size_t *ret_size) {
        return frame_wrap_named(payload, len, flags, NULL, ret_size);
}

char *frame_wrap_user(const char *payload, size_t len, unsigned flags, const char *user,
                      size_t *ret_size) {
        return frame_wrap_named(payload, len, flags, &(struct frame_names){.user = user}, ret_size);
}

char *frame_build(char *const *words, int count, unsigned flags, size_t *ret_size) {
        size_t len;
        char *line = frame_join(words, count, &len), *req;

        if (!line)
                return NULL;
        req = frame_wrap(line, len, flags, ret_size);
        free(line);
        return req;
}

static bool frame_token_valid(const char *token) {
        size_t len = strnlen(token, FRAME_TOKEN_HEX + 1);

        if (len != FRAME_TOKEN_HEX)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!((token[i] >= '0' && token[i] <= '9') || (token[i] >= 'a' && token[i] <= 'f')))
                        return false;
        return true;
}

char *frame_wrap_named(const char *payload, size_t len, unsigned flags,
                       const struct frame_names *names, size_t *ret_size) {
        /* +<&token~NNuser@ and the ten digits */
        char header[FRAME_HEADER_MAX + 1];
        const char *token = names ? names->token : NULL, *user = names ? names->user : NULL;
        char *req;
        int n;

        if (len > FRAME_MAX_COMMAND_LIMIT) {
                errno = E2BIG;
                return NULL;
        }
        if ((token && !frame_token_valid(token)) || (user && !frame_user_valid(user))) {
                errno = EINVAL;
                return NULL;
        }
        n = snprintf(header, sizeof header, "%s%s", flags & FRAME_WANT_STATUS ? "+" : "",
                     flags & FRAME_STDIN ? "<" : "");
        if (token)
                n += snprintf(header + n, sizeof header - (size_t) n, "&%s", token);
        if (user)
                n += snprintf(header + n, sizeof header - (size_t) n, "~%02zu%s", strlen(user), user);
        n += snprintf(header + n, sizeof header - (size_t) n, "%s%0*zu",
                      flags & FRAME_MUNGE ? "@" : "", FRAME_HEADER_DIGITS, len);
        if (n < 0 || (size_t) n >= sizeof header)
                return NULL;
        req = malloc((size_t) n + len);
        if (!req)
                return NULL;
        memcpy(req, header, (size_t) n);
        memcpy(req + n, payload, len);
        *ret_size = (size_t) n + len;
        return req;
}

char *frame_build_named(char *const *words, int count, unsigned flags,
                        const struct frame_names *names, size_t *ret_size) {
        size_t len;
        char *line = frame_join(words, count, &len), *req;

        if (!line)
                return NULL;
        req = frame_wrap_named(line, len, flags, names, ret_size);
        free(line);
        return req;
}

int frame_channel_request(const char *token, char buf[static FRAME_CHANNEL_SIZE]) {
        if (!frame_token_valid(token))
                return -EINVAL;
        buf[0] = FRAME_CHANNEL_START;
        memcpy(buf + 1, token, FRAME_TOKEN_HEX);
        return 0;
}

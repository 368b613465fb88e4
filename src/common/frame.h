/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The NBNET/1 wire format (doc/protocol.md), for the servers and the clients:
 * a request is [ "+" ] [ "<" ] [ "&" token ] [ "~" ulen user ] [ "@" ] 10DIGIT
 * payload; a '+' response ends with a trailer. A connection that starts with
 * "=" is a stderr channel: "=" and the 32 hex digits of its request's token,
 * nothing more.
 * The request parser is incremental. Bytes in, state out: it never reads a
 * socket, logs or exits. Feed it whatever read() returned; the header may
 * arrive one byte at a time. The length is checked against the limit before
 * any of the command is buffered; the only allocation is the command buffer,
 * of that length.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_HEADER_DIGITS 10
/* The flags before the digits, in this order, each at most once. */
#define FRAME_FLAG_STATUS '+' /* a status trailer ends the response */
#define FRAME_FLAG_STDIN '<'  /* the connection is the command's stdin too */
#define FRAME_FLAG_TOKEN '&'  /* then the token: stderr goes to the channel that sends it */
#define FRAME_FLAG_USER '~'   /* the user the command must run as: 2 digits, then the name */
#define FRAME_FLAG_MUNGE '@'  /* the payload is a MUNGE credential carrying the command */
/* A stderr channel's first byte, before its token. */
#define FRAME_CHANNEL_START '='
/* The token of '&' and of a channel: lower-case hex of 16 random bytes. */
#define FRAME_TOKEN_HEX 32
/* What a channel's client sends: '=' and the token, and the server reads no more. */
#define FRAME_CHANNEL_SIZE (1 + FRAME_TOKEN_HEX)
/* The user name after '~': 01-32 bytes of a portable name (letters, digits, _ - .). */
#define FRAME_USER_DIGITS 2
#define FRAME_USER_MAX 32
/* The longest header: the flags, the token, the user name with its length, the digits. */
#define FRAME_HEADER_MAX \
        (5 + FRAME_TOKEN_HEX + FRAME_USER_DIGITS + FRAME_USER_MAX + FRAME_HEADER_DIGITS)
/* The limits on a command's length, each written once as digits; _TEXT is for
 * messages built at compile time ("1.." FRAME_MAX_COMMAND_LIMIT_TEXT). */
#define FRAME_MAX_COMMAND_DEFAULT_DIGITS 65536
/* Linux's MAX_ARG_STRLEN is 128 KiB including the NUL: the command is one argument of sh -c. */
#define FRAME_MAX_COMMAND_LIMIT_DIGITS 131071
#define FRAME_MAX_COMMAND_DEFAULT FRAME_UNSIGNED_(FRAME_MAX_COMMAND_DEFAULT_DIGITS)
#define FRAME_MAX_COMMAND_LIMIT FRAME_UNSIGNED_(FRAME_MAX_COMMAND_LIMIT_DIGITS)
#define FRAME_MAX_COMMAND_LIMIT_TEXT FRAME_TEXT_(FRAME_MAX_COMMAND_LIMIT_DIGITS)
/* Two steps each, so that the argument is expanded to its digits first. */
#define FRAME_UNSIGNED_(digits) FRAME_PASTE_U_(digits)
#define FRAME_PASTE_U_(digits) digits##u
#define FRAME_TEXT_(digits) FRAME_STRINGIFY_(digits)
#define FRAME_STRINGIFY_(digits) #digits

enum frame_state {
        FRAME_NEED_MORE,  /* feed more bytes */
        FRAME_COMPLETE,   /* command ready: frame.command, frame.length */
        FRAME_BAD_HEADER, /* a byte of the header is not a digit, nor a flag in its place,
                           * nor a user name's length or byte after '~' */
        FRAME_EMPTY,      /* length 0 */
        FRAME_TOO_LONG,   /* length over the limit */
        FRAME_HAS_NUL,    /* a NUL byte in the command */
        FRAME_NO_MEMORY,  /* the command buffer could not be allocated */
        FRAME_CHANNEL,    /* a stderr channel's '=' and token are in: frame.token */
};

struct frame {
        enum frame_state state;
        bool want_status;                /* '+': the response ends with the trailer */
        bool want_stdin;                 /* '<': the connection is the command's stdin */
        bool munge;                      /* '@': the payload is a MUNGE credential */
        bool has_token;                  /* '&' (a request) or '=' (a channel): the token follows */
        bool channel;                    /* '=': a stderr channel, not a request */
        bool want_user;                  /* '~': user names the user the command must run as */
        unsigned flags_seen;             /* how far along "+<&~@" the flags have come */
        unsigned token_len;              /* hex digits of the token seen so far */
        char token[FRAME_TOKEN_HEX + 1]; /* NUL-terminated once whole */
        uint32_t max_command;            /* limit on the command's length */
        unsigned digits;                 /* header digits seen so far */
        uint64_t length;                 /* the header's value, once all ten digits are in */
        uint32_t received;               /* command bytes received */
        size_t consumed;                 /* bytes of the frame seen so far, header included */
        unsigned char bad_byte;          /* the offending byte, for FRAME_BAD_HEADER */
        unsigned char bad_user;          /* FRAME_BAD_HEADER in the '~' part: enum frame_bad_user */
        char *command;                   /* NUL-terminated when complete; owned by the frame */

        /* After '~': the digits of the name's length seen (0-2), the length,
         * the bytes of the name seen, and the name, NUL-terminated ("" without). */
        unsigned user_digits, user_len, user_got;
        char user[FRAME_USER_MAX + 1];
};

/* Where a bad header's byte was, when it was in the '~' part. */
enum frame_bad_user {
        FRAME_BAD_USER_NONE,   /* not there: a digit or a flag was expected */
        FRAME_BAD_USER_DIGIT,  /* a digit of the name's length was expected */
        FRAME_BAD_USER_LENGTH, /* the length is not 01-32 */
        FRAME_BAD_USER_CHAR,   /* not a byte of a portable user name */
};

/* max_command 0 means the default; more than FRAME_MAX_COMMAND_LIMIT is -ERANGE. */
int frame_init(struct frame *f, uint32_t max_command);

/* Consumes bytes of the frame from data and returns how many: once the state
 * is no longer FRAME_NEED_MORE, it consumes nothing more. */
size_t frame_feed(struct frame *f, const void *data, size_t size);

/* How many bytes a reader may ask for next without reading past the frame
 * (at most buf_size): past it, with '<', is the command's input. Until the
 * flags are known, the fewest bytes the rest of the header can be. */
size_t frame_readable(const struct frame *f, size_t buf_size);

/* True once the state is an error (FRAME_CHANNEL is none). */
bool frame_failed(const struct frame *f);

/* The text of the "nbnet: ..." line for an error state, without the newline. */
int frame_error_message(const struct frame *f, char *buf, size_t size);

/* Frees the command buffer; the frame may be initialised again. */
void frame_release(struct frame *f);

/* The status trailer of a '+' response: "\x1eNBNET-STATUS NNN\n". */
#define FRAME_TRAILER_SIZE 18
/* A status outside 0..255 is written as 125. */
void frame_format_trailer(char buf[static FRAME_TRAILER_SIZE], int status);
/* The status in a trailer, or -EBADMSG when the bytes are not one. */
int frame_parse_trailer(const char trailer[static FRAME_TRAILER_SIZE]);

/* The flags of a request that a client writes, in their wire order. */
enum frame_flags { FRAME_WANT_STATUS = 1 << 0, FRAME_STDIN = 1 << 1, FRAME_MUNGE = 1 << 2 };

/* The client's side. The words joined with single spaces, as ssh joins a remote
 * command: a malloc'ed NUL-terminated line and its length, or NULL with errno:
 * EINVAL for an empty command, E2BIG for one over FRAME_MAX_COMMAND_LIMIT (no
 * server takes it), ENOMEM. */
char *frame_join(char *const *words, int count, size_t *ret_len);

/* A request around PAYLOAD: the flags (enum frame_flags), the ten digits of
 * its length, the payload; malloc'ed, its size in *ret_size; NULL with errno
 * E2BIG (over FRAME_MAX_COMMAND_LIMIT) or ENOMEM. */
char *frame_wrap(const char *payload, size_t len, unsigned flags, size_t *ret_size);

/* Whether NAME can follow '~': 1-32 letters, digits, '_', '-', '.'. */
bool frame_user_valid(const char *name);

/* frame_wrap with '~' and USER (NULL: none) among the flags: the user the
 * command must run as. NULL with errno EINVAL when USER is no portable name
 * (frame_user_valid), E2BIG, ENOMEM. */
char *frame_wrap_user(const char *payload, size_t len, unsigned flags, const char *user,
                      size_t *ret_size);

/* frame_join, then frame_wrap: the request for a command's words. */
char *frame_build(char *const *words, int count, unsigned flags, size_t *ret_size);

/* What a client's request names besides enum frame_flags, each NULL when it
 * names none: the stderr channel's token ('&'), the user the command must run
 * as ('~'). */
struct frame_names {
        const char *token;
        const char *user;
};

/* frame_wrap with names: [+][<][&token][~NNuser][@], the ten digits, the
 * payload. NULL with errno EINVAL (a token that is not 32 lower-case hex
 * digits, a user that is no portable name), E2BIG or ENOMEM. */
char *frame_wrap_named(const char *payload, size_t len, unsigned flags,
                       const struct frame_names *names, size_t *ret_size);

/* frame_join, then frame_wrap_named. */
char *frame_build_named(char *const *words, int count, unsigned flags,
                        const struct frame_names *names, size_t *ret_size);

/* The channel's request, '=' and the token, into buf; -EINVAL for a bad token. */
int frame_channel_request(const char *token, char buf[static FRAME_CHANNEL_SIZE]);

/* SPDX-License-Identifier: MIT */
/* cmocka tests of the NBNET/1 wire format: the request parser, the trailer,
 * the client's request building. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"

/* Feeds data to a new frame in pieces of at most chunk bytes; returns the
 * state and how many bytes the frame consumed in all. */
static enum frame_state feed_in_chunks(struct frame *f, uint32_t limit, const char *data,
                                       size_t size, size_t chunk, size_t *consumed) {
        size_t used = 0;

        assert_int_equal(frame_init(f, limit), 0);
        for (size_t off = 0; off < size && f->state == FRAME_NEED_MORE; off += chunk) {
                size_t n = size - off < chunk ? size - off : chunk;
                size_t u = frame_feed(f, data + off, n);
                assert_true(u <= n);
                used += u;
                if (f->state == FRAME_NEED_MORE)
                        assert_int_equal(u, n);
        }
        *consumed = used;
        return f->state;
}

static void test_valid_frame_at_every_split_point(void **state) {
        static const char req[] = "+0000000011echo hello!";
        const size_t len = sizeof req - 1;
        (void) state;

        for (size_t split = 0; split <= len; split++) {
                struct frame f;
                size_t a, b = 0;
                assert_int_equal(frame_init(&f, 0), 0);
                a = frame_feed(&f, req, split);
                assert_int_equal(a, split);
                if (split < len) {
                        assert_int_equal(f.state, FRAME_NEED_MORE);
                        b = frame_feed(&f, req + split, len - split);
                }
                assert_int_equal(a + b, len);
                assert_int_equal(f.state, FRAME_COMPLETE);
                assert_true(f.want_status);
                assert_int_equal(f.length, 11);
                assert_string_equal(f.command, "echo hello!");
                frame_release(&f);
        }
}

static void test_every_chunk_size_gives_the_same_command(void **state) {
        static const char req[] = "0000000002ls";
        (void) state;

        for (size_t chunk = 1; chunk <= sizeof req; chunk++) {
                struct frame f;
                size_t used;
                assert_int_equal(feed_in_chunks(&f, 0, req, sizeof req - 1, chunk, &used),
                                 FRAME_COMPLETE);
                assert_int_equal(used, sizeof req - 1);
                assert_false(f.want_status);
                assert_string_equal(f.command, "ls");
                frame_release(&f);
        }
}

static void test_bytes_after_the_frame_are_not_consumed(void **state) {
        static const char req[] = "0000000003abcEXTRA";
        struct frame f;
        (void) state;

        assert_int_equal(frame_init(&f, 0), 0);
        assert_int_equal(frame_feed(&f, req, sizeof req - 1), 13);
        assert_int_equal(f.state, FRAME_COMPLETE);
        assert_int_equal(frame_feed(&f, "more", 4), 0);
        assert_string_equal(f.command, "abc");
        frame_release(&f);
}

static void assert_error(const char *req, size_t size, uint32_t limit, enum frame_state want,
                         const char *message) {
        for (size_t chunk = 1; chunk <= size; chunk++) {
                struct frame f;
                char buf[256];
                size_t used;
                assert_int_equal(feed_in_chunks(&f, limit, req, size, chunk, &used), want);
                assert_true(frame_failed(&f));
                assert_true(frame_error_message(&f, buf, sizeof buf) > 0);
                assert_string_equal(buf, message);
                frame_release(&f);
        }
}

static void test_bad_header(void **state) {
        (void) state;
        assert_error("00000x0004abcd", 14, 0, FRAME_BAD_HEADER,
                     "nbnet: bad header: byte 6 is 'x', not a digit (a request is [+][<][@], 10 "
                     "digits of length, then the command)");
        assert_error("++0000000001a", 13, 0, FRAME_BAD_HEADER,
                     "nbnet: bad header: byte 2 is '+', a flag out of order or repeated (a request "
                     "is [+][<][@], 10 "
                     "digits of length, then the command)");
        assert_error(" 000000001a", 11, 0, FRAME_BAD_HEADER,
                     "nbnet: bad header: byte 1 is 0x20, not a digit (a request is [+][<][@], 10 "
                     "digits of length, then the command)");
        assert_error("GET / HTTP/1.0\r\n", 16, 0, FRAME_BAD_HEADER,
                     "nbnet: bad header: byte 1 is 'G', not a digit (a request is [+][<][@], 10 "
                     "digits of length, then the command)");
}

static void test_plus_only_at_the_start(void **state) {
        (void) state;
        assert_error("00000+0001a", 11, 0, FRAME_BAD_HEADER,
                     "nbnet: bad header: byte 6 is '+', a flag out of order or repeated (a request "
                     "is [+][<][@], 10 "
                     "digits of length, then the command)");
}

static void test_flags_in_order(void **state) {
        static const struct {
                const char *req;
                bool status, in, munge;
        } cases[] = {
                {"0000000002ls", false, false, false}, {"+0000000002ls", true, false, false},
                {"<0000000002ls", false, true, false}, {"@0000000002ls", false, false, true},
                {"+<0000000002ls", true, true, false}, {"+@0000000002ls", true, false, true},
                {"<@0000000002ls", false, true, true}, {"+<@0000000002ls", true, true, true},
        };
        (void) state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct frame f;
                size_t len = strlen(cases[i].req);
                assert_int_equal(frame_init(&f, 0), 0);
                assert_int_equal(frame_feed(&f, cases[i].req, len), len);
                assert_int_equal(f.state, FRAME_COMPLETE);
                assert_string_equal(f.command, "ls");
                assert_int_equal(f.want_status, cases[i].status);
                assert_int_equal(f.want_stdin, cases[i].in);
                assert_int_equal(f.munge, cases[i].munge);
                frame_release(&f);
        }
}

static void test_flags_out_of_order_or_twice(void **state) {
        static const char *const bad[] = {"<+0000000002ls", "@<0000000002ls",  "@+0000000002ls",
                                          "<<0000000002ls", "+<+0000000002ls", "++<0000000002ls",
                                          "0<000000002ls",  "+<@@0000000002ls"};
        (void) state;
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                struct frame f;
                char buf[256];
                assert_int_equal(frame_init(&f, 0), 0);
                (void) frame_feed(&f, bad[i], strlen(bad[i]));
                assert_int_equal(f.state, FRAME_BAD_HEADER);
                assert_true(frame_error_message(&f, buf, sizeof buf) > 0);
                assert_non_null(strstr(buf, "(a request is [+][<][@], 10 digits of length"));
                frame_release(&f);
        }
}

/* '~' names the user: two digits of length, then the name, between '<' and '@'. */
static void test_user_flag_in_its_place(void **state) {
        static const struct {
                const char *req, *user;
                bool status, in, munge;
        } cases[] = {
                {"~05alice0000000002ls", "alice", false, false, false},
                {"+~01b0000000002ls", "b", true, false, false},
                {"+<~05alice@0000000002ls", "alice", true, true, true},
                {"<~32abcdefghijklmnopqrstuvwxyz012345@0000000002ls",
                 "abcdefghijklmnopqrstuvwxyz012345", false, true, true},
                {"~08n.b_t-9Z0000000002ls", "n.b_t-9Z", false, false, false},
        };
        (void) state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                size_t len = strlen(cases[i].req);
                for (size_t chunk = 1; chunk <= len; chunk++) {
                        struct frame f;
                        size_t used;
                        assert_int_equal(feed_in_chunks(&f, 0, cases[i].req, len, chunk, &used),
                                         FRAME_COMPLETE);
                        assert_int_equal(used, len);
                        assert_true(f.want_user);
                        assert_string_equal(f.user, cases[i].user);
                        assert_string_equal(f.command, "ls");
                        assert_int_equal(f.want_status, cases[i].status);
                        assert_int_equal(f.want_stdin, cases[i].in);
                        assert_int_equal(f.munge, cases[i].munge);
                        frame_release(&f);
                }
        }
}

static void test_no_user_flag_leaves_the_user_empty(void **state) {
        struct frame f;
        (void) state;
        assert_int_equal(frame_init(&f, 0), 0);
        assert_int_equal(frame_feed(&f, "+@0000000002ls", 14), 14);
        assert_int_equal(f.state, FRAME_COMPLETE);
        assert_false(f.want_user);
        assert_string_equal(f.user, "");
        frame_release(&f);
}

static void test_a_bad_user_part_is_a_bad_header(void **state) {
#define OUT_OF_PLACE \
        "a flag out of order or repeated (a request is [+][<][@], 10 digits of " \
        "length, then the command)"
#define NOT_PORTABLE "not in a portable user name (letters, digits, '_', '-', '.')"
        static const struct {
                const char *req, *message;
        } cases[] = {
                {"~00a0000000002ls",
                 "nbnet: bad header: the user name's length after '~' is 00, not 01-32"},
                {"+~33abc", "nbnet: bad header: the user name's length after '~' is 33, not 01-32"},
                {"~5alice0000000002ls", "nbnet: bad header: byte 3 is 'a', not a digit of the "
                                        "user name's length ('~', 2 digits, 01-32, then the name)"},
                {"~05al!ce0000000002ls", "nbnet: bad header: byte 6 is '!', " NOT_PORTABLE},
                {"~02a 0000000002ls", "nbnet: bad header: byte 5 is 0x20, " NOT_PORTABLE},
                {"@~05alice0000000002ls", "nbnet: bad header: byte 2 is '~', " OUT_OF_PLACE},
                {"~01a~01a0000000002ls", "nbnet: bad header: byte 5 is '~', " OUT_OF_PLACE},
                {"~01a<0000000002ls", "nbnet: bad header: byte 5 is '<', " OUT_OF_PLACE},
        };
        (void) state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
                assert_error(cases[i].req, strlen(cases[i].req), 0, FRAME_BAD_HEADER,
                             cases[i].message);
#undef OUT_OF_PLACE
#undef NOT_PORTABLE
}

/* A reader that asks for frame_readable() bytes at a time never reads past a
 * '<' frame: what follows is the command's input. */
static void test_readable_never_past_a_stdin_frame(void **state) {
        static const char *const reqs[] = {"<0000000001x",          "+<0000000003abc",
                                           "+<@0000000002ab",       "<0000000010abcdefghij",
                                           "+<~05alice0000000001x", "<~01b@0000000002ab"};
        static const char input[] = "INPUT";
        (void) state;
        for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
                char stream[64];
                size_t len = strlen(reqs[i]), off = 0;
                struct frame f;
                snprintf(stream, sizeof stream, "%s%s", reqs[i], input);
                assert_int_equal(frame_init(&f, 0), 0);
                while (f.state == FRAME_NEED_MORE) {
                        size_t want = frame_readable(&f, 16384);
                        assert_true(want > 0);
                        assert_true(off + want <= len);
                        off += frame_feed(&f, stream + off, want);
                }
                assert_int_equal(f.state, FRAME_COMPLETE);
                assert_int_equal(off, len);
                assert_int_equal(frame_readable(&f, 16384), 0);
                frame_release(&f);
        }
}

/* Without '<', once the flags are known, a reader may take a whole buffer. */
static void test_readable_without_stdin_is_the_buffer(void **state) {
        struct frame f;
        (void) state;
        assert_int_equal(frame_init(&f, 0), 0);
        assert_int_equal(frame_readable(&f, 16384), FRAME_HEADER_DIGITS);
        assert_int_equal(frame_feed(&f, "+0", 2), 2);
        assert_int_equal(frame_readable(&f, 16384), 16384);
        frame_release(&f);
}

#define TOKEN "0123456789abcdef0123456789abcdef"

/* '&' takes its token in its place among the flags, whatever the chunking. */
static void test_token_flag_in_order(void **state) {
        static const char *const reqs[] = {"&" TOKEN "0000000002ls", "+&" TOKEN "0000000002ls",
                                           "+<&" TOKEN "@0000000002ls", "<&" TOKEN "0000000002ls"};
        (void) state;
        for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
                size_t len = strlen(reqs[i]);
                for (size_t chunk = 1; chunk <= len; chunk++) {
                        struct frame f;
                        size_t used;
                        assert_int_equal(feed_in_chunks(&f, 0, reqs[i], len, chunk, &used),
                                         FRAME_COMPLETE);
                        assert_int_equal(used, len);
                        assert_true(f.has_token);
                        assert_false(f.channel);
                        assert_string_equal(f.token, TOKEN);
                        assert_string_equal(f.command, "ls");
                        frame_release(&f);
                }
        }
}

static void test_token_must_be_32_lower_case_hex_digits(void **state) {
        (void) state;
        assert_error("&0123456789abcdef0123456789ABCDEF0000000002ls", 45, 0, FRAME_BAD_HEADER,
                     "nbnet: bad header: the '&' flag needs 32 lower-case hex digits (byte 28 is "
                     "'A')");
        /* Ten digits right after '&' are taken as the token's, and the command is not hex. */
        assert_error("&0000000002ls", 13, 0, FRAME_BAD_HEADER,
                     "nbnet: bad header: the '&' flag needs 32 lower-case hex digits (byte 12 is "
                     "'l')");
        assert_error("&&" TOKEN "0000000002ls", 46, 0, FRAME_BAD_HEADER,
                     "nbnet: bad header: the '&' flag needs 32 lower-case hex digits (byte 2 is "
                     "'&')");
        assert_error("&<" TOKEN "0000000002ls", 46, 0, FRAME_BAD_HEADER,
                     "nbnet: bad header: the '&' flag needs 32 lower-case hex digits (byte 2 is "
                     "'<')");
        assert_error("@&" TOKEN "0000000002ls", 46, 0, FRAME_BAD_HEADER,
                     "nbnet: bad header: byte 2 is '&', a flag out of order or repeated (a request "
                     "is [+][<][@], 10 digits of length, then the command)");
}

/* A channel is '=' and the token: FRAME_CHANNEL, no command, no byte past it. */
static void test_channel_is_exactly_33_bytes(void **state) {
        static const char stream[] = "=" TOKEN "0000000002ls";
        (void) state;
        for (size_t chunk = 1; chunk < sizeof stream; chunk++) {
                struct frame f;
                size_t used;
                assert_int_equal(feed_in_chunks(&f, 0, stream, sizeof stream - 1, chunk, &used),
                                 FRAME_CHANNEL);
                assert_int_equal(used, FRAME_CHANNEL_SIZE);
                assert_int_equal(f.consumed, FRAME_CHANNEL_SIZE);
                assert_true(f.channel);
                assert_false(frame_failed(&f));
                assert_string_equal(f.token, TOKEN);
                assert_null(f.command);
                assert_int_equal(frame_readable(&f, 16384), 0);
                frame_release(&f);
        }
}

/* A reader that asks for frame_readable() bytes never reads past a channel's 33. */
static void test_readable_never_past_a_channel(void **state) {
        static const char stream[] = "=" TOKEN "MORE";
        struct frame f;
        size_t off = 0;
        (void) state;
        assert_int_equal(frame_init(&f, 0), 0);
        while (f.state == FRAME_NEED_MORE) {
                size_t want = frame_readable(&f, 16384);
                assert_true(want > 0);
                assert_true(off + want <= FRAME_CHANNEL_SIZE);
                off += frame_feed(&f, stream + off, want);
        }
        assert_int_equal(f.state, FRAME_CHANNEL);
        assert_int_equal(off, FRAME_CHANNEL_SIZE);
        frame_release(&f);
}

static void test_bad_channel(void **state) {
        (void) state;
        assert_error("=0123456789abcdef0123456789abcdeX", 33, 0, FRAME_BAD_HEADER,
                     "nbnet: bad channel: '=' needs 32 lower-case hex digits, its request's token "
                     "(byte 33 is 'X')");
        assert_error("==", 2, 0, FRAME_BAD_HEADER,
                     "nbnet: bad channel: '=' needs 32 lower-case hex digits, its request's token "
                     "(byte 2 is '=')");
        /* Only a connection's first byte makes it a channel. */
        assert_error("+=" TOKEN, 34, 0, FRAME_BAD_HEADER,
                     "nbnet: bad header: byte 2 is '=', not a digit (a request is [+][<][@], 10 "
                     "digits of length, then the command)");
}

static void test_empty_command(void **state) {
        (void) state;
        assert_error("0000000000", 10, 0, FRAME_EMPTY, "nbnet: empty command (length 0)");
        assert_error("+0000000000", 11, 0, FRAME_EMPTY, "nbnet: empty command (length 0)");
}

static void test_nul_in_command(void **state) {
        (void) state;
        assert_error("0000000003a\0b", 13, 0, FRAME_HAS_NUL, "nbnet: command contains a NUL byte");
        assert_error("+0000000001\0", 12, 0, FRAME_HAS_NUL, "nbnet: command contains a NUL byte");
}

/* Found by tests/fuzz: a chunk holding the NUL and more bytes consumed them all. */
static void test_nul_is_the_last_byte_consumed_in_any_chunking(void **state) {
        static const char req[] = "0000000005a\0bcd";
        (void) state;

        for (size_t chunk = 1; chunk <= sizeof req; chunk++) {
                struct frame f;
                size_t used;
                assert_int_equal(feed_in_chunks(&f, 0, req, sizeof req - 1, chunk, &used),
                                 FRAME_HAS_NUL);
                assert_int_equal(used, 12);
                assert_int_equal(f.consumed, 12);
                frame_release(&f);
        }
}

static void test_limit_is_checked_before_the_command(void **state) {
        struct frame f;
        (void) state;

        /* No command byte is needed to refuse, and nothing is allocated. */
        assert_error("9999999999", 10, 0, FRAME_TOO_LONG,
                     "nbnet: command too long (9999999999 > 65536)");
        assert_error("0000070000", 10, 0, FRAME_TOO_LONG, "nbnet: command too long (70000 > 65536)");
        assert_int_equal(frame_init(&f, 0), 0);
        frame_feed(&f, "0000065537", 10);
        assert_int_equal(f.state, FRAME_TOO_LONG);
        assert_null(f.command);
        frame_release(&f);
}

static void test_limit_at_and_around_its_edge(void **state) {
        static char req[10 + FRAME_MAX_COMMAND_LIMIT + 1];
        const uint32_t limits[] = {1, 2, 100, FRAME_MAX_COMMAND_DEFAULT, FRAME_MAX_COMMAND_LIMIT};
        (void) state;

        for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
                uint32_t limit = limits[i];
                for (uint32_t len = limit - 1; len <= limit + 1; len++) {
                        struct frame f;
                        size_t used;
                        if (len == 0)
                                continue;
                        snprintf(req, 11, "%010u", len);
                        memset(req + 10, 'x', len);
                        feed_in_chunks(&f, limit, req, 10 + (size_t) len, 4096, &used);
                        if (len <= limit) {
                                assert_int_equal(f.state, FRAME_COMPLETE);
                                assert_int_equal(strlen(f.command), len);
                        } else
                                assert_int_equal(f.state, FRAME_TOO_LONG);
                        frame_release(&f);
                }
        }
}

static void test_default_limit_and_cap(void **state) {
        struct frame f;
        (void) state;

        assert_int_equal(frame_init(&f, 0), 0);
        assert_int_equal(f.max_command, FRAME_MAX_COMMAND_DEFAULT);
        assert_int_equal(frame_init(&f, FRAME_MAX_COMMAND_LIMIT), 0);
        assert_int_equal(frame_init(&f, FRAME_MAX_COMMAND_LIMIT + 1), -ERANGE);
}

static void test_need_more_until_complete(void **state) {
        struct frame f;
        (void) state;

        assert_int_equal(frame_init(&f, 0), 0);
        frame_feed(&f, "+", 1);
        assert_int_equal(f.state, FRAME_NEED_MORE);
        assert_true(f.want_status);
        frame_feed(&f, "000000000", 9);
        assert_int_equal(f.state, FRAME_NEED_MORE);
        frame_feed(&f, "2", 1);
        assert_int_equal(f.state, FRAME_NEED_MORE);
        frame_feed(&f, "l", 1);
        assert_int_equal(f.state, FRAME_NEED_MORE);
        frame_feed(&f, "", 0);
        assert_int_equal(f.state, FRAME_NEED_MORE);
        frame_feed(&f, "s", 1);
        assert_int_equal(f.state, FRAME_COMPLETE);
        assert_string_equal(f.command, "ls");
        frame_release(&f);
}

static void test_error_message_needs_an_error(void **state) {
        struct frame f;
        char buf[8];
        (void) state;

        assert_int_equal(frame_init(&f, 0), 0);
        assert_int_equal(frame_error_message(&f, buf, sizeof buf), -EINVAL);
        frame_feed(&f, "0000000000", 10);
        assert_int_equal(frame_error_message(&f, buf, sizeof buf), -ENOBUFS);
}

static void test_trailer_format(void **state) {
        char t[FRAME_TRAILER_SIZE];
        (void) state;

        frame_format_trailer(t, 0);
        assert_memory_equal(t, "\x1eNBNET-STATUS 000\n", FRAME_TRAILER_SIZE);
        frame_format_trailer(t, 137);
        assert_memory_equal(t, "\x1eNBNET-STATUS 137\n", FRAME_TRAILER_SIZE);
        frame_format_trailer(t, 255);
        assert_memory_equal(t, "\x1eNBNET-STATUS 255\n", FRAME_TRAILER_SIZE);
        frame_format_trailer(t, 300);
        assert_memory_equal(t, "\x1eNBNET-STATUS 125\n", FRAME_TRAILER_SIZE);
}

static void test_trailer_forms(void **state) {
        (void) state;
        assert_int_equal(frame_parse_trailer("\x1eNBNET-STATUS 255\n"), 255);
        assert_int_equal(frame_parse_trailer("\x1eNBNET-STATUS 137\n"), 137);
        assert_int_equal(frame_parse_trailer("\x1eNBNET-STATUS 256\n"), -EBADMSG);
        assert_int_equal(frame_parse_trailer("\x1eNBNET-STATUS 1 3\n"), -EBADMSG);
        assert_int_equal(frame_parse_trailer("\x1eNBNET-STATUS 003 "), -EBADMSG);
        assert_int_equal(frame_parse_trailer("xNBNET-STATUS 003\n"), -EBADMSG);
        assert_int_equal(frame_parse_trailer("\x1eNBNET-STATUs 003\n"), -EBADMSG);
}

static void test_trailer_round_trip(void **state) {
        char t[FRAME_TRAILER_SIZE];
        (void) state;

        for (int s = 0; s <= 255; s++) {
                frame_format_trailer(t, s);
                assert_int_equal(frame_parse_trailer(t), s);
        }
}

static void test_build_joins_words_with_spaces(void **state) {
        char *words[] = {"echo", "a  b", "c"};
        size_t size;
        char *req;
        (void) state;

        req = frame_build(words, 3, FRAME_WANT_STATUS, &size);
        assert_non_null(req);
        assert_int_equal(size, strlen("+0000000011echo a  b c"));
        assert_memory_equal(req, "+0000000011echo a  b c", size);
        free(req);
        req = frame_build(words, 1, 0, &size);
        assert_non_null(req);
        assert_memory_equal(req, "0000000004echo", size);
        free(req);
}

/* What a MUNGE client frames: '@' after the others, the whole payload, and a
 * payload over the limit refused as no server would take it. */
static void test_wrap_puts_every_flag_in_order(void **state) {
        size_t size;
        char *req, *big;
        struct frame f;
        (void) state;

        req = frame_wrap("MUNGE:xyz:", 10, FRAME_WANT_STATUS | FRAME_STDIN | FRAME_MUNGE, &size);
        assert_non_null(req);
        assert_int_equal(size, 13 + 10);
        assert_memory_equal(req, "+<@0000000010MUNGE:xyz:", size);
        assert_int_equal(frame_init(&f, 0), 0);
        assert_int_equal(frame_feed(&f, req, size), size);
        assert_true(f.state == FRAME_COMPLETE && f.want_status && f.want_stdin && f.munge);
        frame_release(&f);
        free(req);
        big = calloc(1, FRAME_MAX_COMMAND_LIMIT + 1);
        assert_non_null(big);
        errno = 0;
        assert_null(frame_wrap(big, FRAME_MAX_COMMAND_LIMIT + 1, 0, &size));
        assert_int_equal(errno, E2BIG);
        free(big);
}

/* '~' and the name go between '<' and '@'; a name that is not portable is refused. */
static void test_wrap_user_puts_the_name_in_its_place(void **state) {
        size_t size;
        char *req;
        struct frame f;
        (void) state;

        req = frame_wrap_user("MUNGE:xyz:", 10, FRAME_WANT_STATUS | FRAME_STDIN | FRAME_MUNGE,
                              "alice", &size);
        assert_non_null(req);
        assert_memory_equal(req, "+<~05alice@0000000010MUNGE:xyz:", size);
        assert_int_equal(size, strlen("+<~05alice@0000000010MUNGE:xyz:"));
        assert_int_equal(frame_init(&f, 0), 0);
        assert_int_equal(frame_feed(&f, req, size), size);
        assert_true(f.state == FRAME_COMPLETE && f.want_user && f.munge);
        assert_string_equal(f.user, "alice");
        frame_release(&f);
        free(req);
        req = frame_wrap_user("ls", 2, 0, NULL, &size);
        assert_non_null(req);
        assert_memory_equal(req, "0000000002ls", size);
        free(req);
        static const char *const bad[] = {"", "al ice", "a:b", "abcdefghijklmnopqrstuvwxyz0123456"};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                errno = 0;
                assert_null(frame_wrap_user("ls", 2, 0, bad[i], &size));
                assert_int_equal(errno, EINVAL);
                assert_false(frame_user_valid(bad[i]));
        }
        assert_true(frame_user_valid("abcdefghijklmnopqrstuvwxyz012345"));
}

static void test_build_writes_the_flags_in_wire_order(void **state) {
        char *words[] = {"wc", "-c"};
        size_t size;
        char *req;
        (void) state;

        req = frame_build(words, 2, FRAME_WANT_STATUS | FRAME_STDIN, &size);
        assert_non_null(req);
        assert_int_equal(size, strlen("+<0000000005wc -c"));
        assert_memory_equal(req, "+<0000000005wc -c", size);
        free(req);
        req = frame_build(words, 2, FRAME_STDIN, &size);
        assert_non_null(req);
        assert_int_equal(size, strlen("<0000000005wc -c"));
        assert_memory_equal(req, "<0000000005wc -c", size);
        free(req);
}

static void test_build_refuses_empty_and_too_long(void **state) {
        char *empty[] = {""};
        char *big[1];
        size_t size;
        (void) state;

        errno = 0;
        assert_null(frame_build(empty, 1, FRAME_WANT_STATUS, &size));
        assert_int_equal(errno, EINVAL);
        big[0] = malloc(FRAME_MAX_COMMAND_LIMIT + 2);
        assert_non_null(big[0]);
        memset(big[0], 'x', FRAME_MAX_COMMAND_LIMIT + 1);
        big[0][FRAME_MAX_COMMAND_LIMIT + 1] = '\0';
        assert_null(frame_build(big, 1, FRAME_WANT_STATUS, &size));
        assert_int_equal(errno, E2BIG);
        big[0][FRAME_MAX_COMMAND_LIMIT] = '\0';
        free(frame_build(big, 1, FRAME_WANT_STATUS, &size));
        assert_int_equal(size, 1 + 10 + FRAME_MAX_COMMAND_LIMIT);
        free(big[0]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid_frame_at_every_split_point),
                cmocka_unit_test(test_every_chunk_size_gives_the_same_command),
                cmocka_unit_test(test_bytes_after_the_frame_are_not_consumed),
                cmocka_unit_test(test_bad_header),
                cmocka_unit_test(test_plus_only_at_the_start),
                cmocka_unit_test(test_flags_in_order),
                cmocka_unit_test(test_flags_out_of_order_or_twice),
                cmocka_unit_test(test_user_flag_in_its_place),
                cmocka_unit_test(test_no_user_flag_leaves_the_user_empty),
                cmocka_unit_test(test_a_bad_user_part_is_a_bad_header),
                cmocka_unit_test(test_readable_never_past_a_stdin_frame),
                cmocka_unit_test(test_readable_without_stdin_is_the_buffer),
                cmocka_unit_test(test_token_flag_in_order),
                cmocka_unit_test(test_token_must_be_32_lower_case_hex_digits),
                cmocka_unit_test(test_channel_is_exactly_33_bytes),
                cmocka_unit_test(test_readable_never_past_a_channel),
                cmocka_unit_test(test_bad_channel),
                cmocka_unit_test(test_empty_command),
                cmocka_unit_test(test_nul_in_command),
                cmocka_unit_test(test_nul_is_the_last_byte_consumed_in_any_chunking),
                cmocka_unit_test(test_limit_is_checked_before_the_command),
                cmocka_unit_test(test_limit_at_and_around_its_edge),
                cmocka_unit_test(test_default_limit_and_cap),
                cmocka_unit_test(test_need_more_until_complete),
                cmocka_unit_test(test_error_message_needs_an_error),
                cmocka_unit_test(test_trailer_format),
                cmocka_unit_test(test_trailer_forms),
                cmocka_unit_test(test_trailer_round_trip),
                cmocka_unit_test(test_build_joins_words_with_spaces),
                cmocka_unit_test(test_build_writes_the_flags_in_wire_order),
                cmocka_unit_test(test_wrap_puts_every_flag_in_order),
                cmocka_unit_test(test_wrap_user_puts_the_name_in_its_place),
                cmocka_unit_test(test_build_refuses_empty_and_too_long),
        };
        return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}

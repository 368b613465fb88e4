/* SPDX-License-Identifier: MIT */
/* cmocka tests of the client's side of a '+' response: what is held back, and when it is let go. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>

#include <cmocka.h>

#include "response.h"

/* Feeds stream in pieces of chunk bytes; collects the output; returns the status. */
static int feed_in_chunks(const char *stream, size_t size, size_t chunk, char *out, size_t *out_len) {
        struct response r;
        struct iovec iov[2], left;
        int status;

        *out_len = 0;
        response_init(&r);
        for (size_t off = 0; off < size; off += chunk) {
                size_t n = size - off < chunk ? size - off : chunk;
                int k = response_feed(&r, stream + off, n, 0, iov);
                assert_in_range(k, 0, 2);
                for (int i = 0; i < k; i++) {
                        memcpy(out + *out_len, iov[i].iov_base, iov[i].iov_len);
                        *out_len += iov[i].iov_len;
                }
        }
        status = response_finish(&r, &left);
        memcpy(out + *out_len, left.iov_base ? left.iov_base : "", left.iov_len);
        *out_len += left.iov_len;
        assert_int_equal(r.output_bytes, *out_len);
        return status;
}

static void test_output_and_status_at_every_chunk_size(void **state) {
        static const char stream[] =
                "hello\nworld, a longer line of output\n\x1eNBNET-STATUS 042\n";
        const size_t size = sizeof stream - 1, body = size - 18;
        char out[256];
        size_t len;
        (void) state;

        for (size_t chunk = 1; chunk <= size; chunk++) {
                assert_int_equal(feed_in_chunks(stream, size, chunk, out, &len), 42);
                assert_int_equal(len, body);
                assert_memory_equal(out, stream, body);
        }
}

static void test_trailer_alone_is_empty_output(void **state) {
        char out[64];
        size_t len;
        (void) state;

        assert_int_equal(feed_in_chunks("\x1eNBNET-STATUS 000\n", 18, 5, out, &len), 0);
        assert_int_equal(len, 0);
}

static void test_cut_stream_gives_all_bytes_as_output(void **state) {
        static const char stream[] = "some output, then the connection was cut";
        const size_t size = sizeof stream - 1;
        char out[128];
        size_t len;
        (void) state;

        for (size_t chunk = 1; chunk <= size; chunk++) {
                assert_int_equal(feed_in_chunks(stream, size, chunk, out, &len), -EBADMSG);
                assert_int_equal(len, size);
                assert_memory_equal(out, stream, size);
        }
        /* Shorter than a trailer. */
        assert_int_equal(feed_in_chunks("abc", 3, 1, out, &len), -EBADMSG);
        assert_int_equal(len, 3);
        assert_int_equal(feed_in_chunks("", 0, 1, out, &len), -EBADMSG);
        assert_int_equal(len, 0);
}

#define TRAILER "\x1eNBNET-STATUS 042\n"

/* Feeds data in one piece, come at now_usec; appends the output to out. */
static void feed_at(struct response *r, const char *data, size_t size, uint64_t now_usec, char *out,
                    size_t *out_len) {
        struct iovec iov[2];
        int k = response_feed(r, data, size, now_usec, iov);

        assert_in_range(k, 0, 2);
        for (int i = 0; i < k; i++) {
                memcpy(out + *out_len, iov[i].iov_base, iov[i].iov_len);
                *out_len += iov[i].iov_len;
        }
}

static void feed(struct response *r, const char *data, size_t size, char *out, size_t *out_len) {
        feed_at(r, data, size, 0, out, out_len);
}

static void test_every_proper_prefix_is_released_at_eagain_once_due(void **state) {
        char out[64];
        struct iovec iov;
        (void) state;

        for (size_t k = 1; k < FRAME_TRAILER_SIZE; k++) {
                for (size_t chunk = 1; chunk <= 5 + k; chunk++) {
                        char stream[64];
                        struct response r;
                        size_t len = 0, size = 5 + k;

                        memcpy(stream, "out: ", 5);
                        memcpy(stream + 5, TRAILER, k);
                        response_init(&r);
                        for (size_t off = 0; off < size; off += chunk)
                                feed(&r, stream + off, size - off < chunk ? size - off : chunk, out,
                                     &len);
                        /* The prefix is held until the caller saw EAGAIN with nothing come
                         * for RESPONSE_HOLD_USEC, then comes out. */
                        assert_int_equal(len, 5);
                        assert_memory_equal(out, "out: ", 5);
                        assert_int_equal(response_release_due(&r), RESPONSE_HOLD_USEC);
                        assert_int_equal(response_release(&r, false, RESPONSE_HOLD_USEC - 1, &iov),
                                         0);
                        assert_int_equal(response_release(&r, false, RESPONSE_HOLD_USEC, &iov), 1);
                        assert_int_equal(iov.iov_len, k);
                        assert_memory_equal(iov.iov_base, TRAILER, k);
                        assert_int_equal(r.output_bytes, size);
                        assert_int_equal(response_release_due(&r), 0);
                        assert_int_equal(response_release(&r, false, RESPONSE_HOLD_USEC, &iov), 0);
                        /* A trailer that follows later is still one. */
                        len = 0;
                        feed(&r, TRAILER, FRAME_TRAILER_SIZE, out, &len);
                        assert_int_equal(len, 0);
                        assert_int_equal(response_finish(&r, &iov), 42);
                }
        }
}

static void test_a_whole_trailer_is_held_at_eagain_and_gives_the_status_at_eof(void **state) {
        struct response r;
        struct iovec iov;
        char out[64];
        size_t len = 0;
        (void) state;

        response_init(&r);
        feed(&r, "done\n", 5, out, &len);
        feed(&r, TRAILER, FRAME_TRAILER_SIZE, out, &len);
        assert_int_equal(len, 5);
        assert_int_equal(response_release_due(&r), 0);
        assert_int_equal(response_release(&r, false, UINT64_MAX, &iov), 0);
        assert_int_equal(response_finish(&r, &iov), 42);
        assert_int_equal(iov.iov_len, 0);
        assert_int_equal(r.output_bytes, 5);
}

static void test_release_of_everything_gives_a_held_trailer_as_output(void **state) {
        struct response r;
        struct iovec iov;
        char out[64];
        size_t len = 0;
        (void) state;

        response_init(&r);
        feed(&r, TRAILER, FRAME_TRAILER_SIZE, out, &len);
        assert_int_equal(len, 0);
        assert_int_equal(response_release(&r, true, 0, &iov), 1);
        assert_int_equal(iov.iov_len, FRAME_TRAILER_SIZE);
        assert_memory_equal(iov.iov_base, TRAILER, FRAME_TRAILER_SIZE);
        assert_int_equal(r.output_bytes, FRAME_TRAILER_SIZE);
}

static void test_output_with_a_record_separator_mid_stream_passes_at_once(void **state) {
        static const char *const streams[] = {
                "a\x1e!",
                "\x1eNBNET-X",
                "x\x1eNBNET-STATUS 0a",
                "\x1eNBNET-STATUS 042 ",
                "\x1eNBNET-STATUS 999\n", /* no status can say 999 */
                "\x1eNBNET-STATUS 042\nand more output",
        };
        char out[64];
        (void) state;

        for (size_t i = 0; i < sizeof streams / sizeof *streams; i++) {
                struct response r;
                size_t len = 0, size = strlen(streams[i]);

                response_init(&r);
                feed(&r, streams[i], size, out, &len);
                assert_int_equal(len, size);
                assert_memory_equal(out, streams[i], size);
                assert_int_equal(r.held, 0);
        }
}

static void test_a_held_prefix_that_goes_on_as_output_is_released_with_it(void **state) {
        struct response r;
        char out[64];
        size_t len = 0;
        (void) state;

        response_init(&r);
        feed(&r, "50%\x1eNBNET", 9, out, &len);
        assert_int_equal(len, 3);
        feed(&r, "-STATUS", 7, out, &len);
        assert_int_equal(len, 3);
        feed(&r, "!\n", 2, out, &len);
        assert_int_equal(len, 18);
        assert_memory_equal(out, "50%\x1eNBNET-STATUS!\n", 18);
}

/* A relay may split the trailer the server sent whole: its pieces, EAGAIN
 * between each, come within the hold and are still the trailer. */
static void test_a_trailer_in_one_byte_pieces_with_eagain_between_is_still_one(void **state) {
        static const char stream[] = "split\n" TRAILER;
        const size_t size = sizeof stream - 1, body = size - FRAME_TRAILER_SIZE;
        const uint64_t step = RESPONSE_HOLD_USEC / 4;
        struct response r;
        struct iovec iov;
        char out[64];
        size_t len = 0;
        uint64_t now = 1000000;
        (void) state;

        response_init(&r);
        for (size_t i = 0; i < size; i++, now += step) {
                feed_at(&r, stream + i, 1, now, out, &len);
                /* EAGAIN after every byte, a while later but before the hold is over. */
                if (response_release(&r, false, now + step - 1, &iov) == 1) {
                        memcpy(out + len, iov.iov_base, iov.iov_len);
                        len += iov.iov_len;
                }
        }
        assert_int_equal(len, body);
        assert_memory_equal(out, "split\n", body);
        assert_int_equal(response_finish(&r, &iov), 42);
        assert_int_equal(iov.iov_len, 0);
        assert_int_equal(r.output_bytes, body);
}

/* A prompt that ends in what could begin a trailer is not held past the hold. */
static void test_a_possible_beginning_is_output_once_nothing_came_for_the_hold(void **state) {
        struct response r;
        struct iovec iov;
        char out[64];
        size_t len = 0;
        (void) state;

        response_init(&r);
        feed_at(&r, "prompt\x1eNB", 9, 5000, out, &len);
        feed_at(&r, "NET", 3, 6000, out, &len);
        assert_int_equal(len, 6);
        /* The hold counts from the last bytes that came. */
        assert_int_equal(response_release_due(&r), 6000 + RESPONSE_HOLD_USEC);
        assert_int_equal(response_release(&r, false, 5000 + RESPONSE_HOLD_USEC, &iov), 0);
        assert_int_equal(response_release(&r, false, 6000 + RESPONSE_HOLD_USEC, &iov), 1);
        assert_int_equal(iov.iov_len, 6);
        assert_memory_equal(iov.iov_base, "\x1eNBNET", 6);
        assert_int_equal(response_finish(&r, &iov), -EBADMSG);
        assert_int_equal(iov.iov_len, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_output_and_status_at_every_chunk_size),
                cmocka_unit_test(test_trailer_alone_is_empty_output),
                cmocka_unit_test(test_cut_stream_gives_all_bytes_as_output),
                cmocka_unit_test(test_every_proper_prefix_is_released_at_eagain_once_due),
                cmocka_unit_test(test_a_whole_trailer_is_held_at_eagain_and_gives_the_status_at_eof),
                cmocka_unit_test(test_release_of_everything_gives_a_held_trailer_as_output),
                cmocka_unit_test(test_output_with_a_record_separator_mid_stream_passes_at_once),
                cmocka_unit_test(test_a_held_prefix_that_goes_on_as_output_is_released_with_it),
                cmocka_unit_test(test_a_trailer_in_one_byte_pieces_with_eagain_between_is_still_one),
                cmocka_unit_test(test_a_possible_beginning_is_output_once_nothing_came_for_the_hold),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

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
                int k = response_feed(&r, stream + off, n, iov);
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

/* Feeds data in one piece; appends the output to out. */
static void feed(struct response *r, const char *data, size_t size, char *out, size_t *out_len) {
        struct iovec iov[2];
        int k = response_feed(r, data, size, iov);

        assert_in_range(k, 0, 2);
        for (int i = 0; i < k; i++) {
                memcpy(out + *out_len, iov[i].iov_base, iov[i].iov_len);
                *out_len += iov[i].iov_len;
        }
}

static void test_every_proper_prefix_is_released_at_eagain(void **state) {
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
                        /* The prefix is held until the caller saw EAGAIN, then comes out. */
                        assert_int_equal(len, 5);
                        assert_memory_equal(out, "out: ", 5);
                        assert_int_equal(response_release(&r, false, &iov), 1);
                        assert_int_equal(iov.iov_len, k);
                        assert_memory_equal(iov.iov_base, TRAILER, k);
                        assert_int_equal(r.output_bytes, size);
                        assert_int_equal(response_release(&r, false, &iov), 0);
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
        assert_int_equal(response_release(&r, false, &iov), 0);
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
        assert_int_equal(response_release(&r, true, &iov), 1);
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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_output_and_status_at_every_chunk_size),
                cmocka_unit_test(test_trailer_alone_is_empty_output),
                cmocka_unit_test(test_cut_stream_gives_all_bytes_as_output),
                cmocka_unit_test(test_every_proper_prefix_is_released_at_eagain),
                cmocka_unit_test(test_a_whole_trailer_is_held_at_eagain_and_gives_the_status_at_eof),
                cmocka_unit_test(test_release_of_everything_gives_a_held_trailer_as_output),
                cmocka_unit_test(test_output_with_a_record_separator_mid_stream_passes_at_once),
                cmocka_unit_test(test_a_held_prefix_that_goes_on_as_output_is_released_with_it),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

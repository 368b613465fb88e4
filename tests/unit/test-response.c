/* SPDX-License-Identifier: MIT */
/* cmocka tests of the client's side of a '+' response: the held-back trailer. */
#include <setjmp.h>
#include <stdarg.h>
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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_output_and_status_at_every_chunk_size),
                cmocka_unit_test(test_trailer_alone_is_empty_output),
                cmocka_unit_test(test_cut_stream_gives_all_bytes_as_output),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

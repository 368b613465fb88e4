/* SPDX-License-Identifier: MIT */
/* cmocka tests of the client's side of the protocol: request framing and the
 * held-back trailer of a '+' response. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "request.h"
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

static void test_request_joins_words_with_spaces(void **state) {
        char *words[] = {"echo", "a  b", "c"};
        size_t size;
        char *req;
        (void) state;

        req = request_build(words, 3, true, &size);
        assert_non_null(req);
        assert_int_equal(size, strlen("+0000000011echo a  b c"));
        assert_memory_equal(req, "+0000000011echo a  b c", size);
        free(req);
        req = request_build(words, 1, false, &size);
        assert_non_null(req);
        assert_memory_equal(req, "0000000004echo", size);
        free(req);
}

static void test_request_refuses_empty_and_too_long(void **state) {
        char *empty[] = {""};
        char *big[1];
        size_t size;
        (void) state;

        errno = 0;
        assert_null(request_build(empty, 1, true, &size));
        assert_int_equal(errno, EINVAL);
        big[0] = malloc(FRAME_MAX_COMMAND_LIMIT + 2);
        assert_non_null(big[0]);
        memset(big[0], 'x', FRAME_MAX_COMMAND_LIMIT + 1);
        big[0][FRAME_MAX_COMMAND_LIMIT + 1] = '\0';
        assert_null(request_build(big, 1, true, &size));
        assert_int_equal(errno, E2BIG);
        big[0][FRAME_MAX_COMMAND_LIMIT] = '\0';
        free(request_build(big, 1, true, &size));
        assert_int_equal(size, 1 + 10 + FRAME_MAX_COMMAND_LIMIT);
        free(big[0]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_output_and_status_at_every_chunk_size),
                cmocka_unit_test(test_trailer_alone_is_empty_output),
                cmocka_unit_test(test_cut_stream_gives_all_bytes_as_output),
                cmocka_unit_test(test_request_joins_words_with_spaces),
                cmocka_unit_test(test_request_refuses_empty_and_too_long),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

#!/usr/bin/env bats
# The '<' flag (doc/protocol.md, Request): the connection is the command's
# stdin too, the server reads exactly the frame, the client's FIN is the
# command's EOF; and the trailer's delivery rule (Response). Runs once per
# server mode, as protocol.bats does.

bats_require_minimum_version 1.5.0

load helpers

NBSTDIN="python3 $TOP/tests/lib/nbstdin.py"

setup() {
        start_server --request-timeout 2
}

teardown() {
        stop_server
}

@test "with <, the input sent behind the frame is the command's stdin, to the byte" {
        run --separate-stderr $NBSTDIN "$PORT" --flags "<" -c "cat" --input 'INPUT right behind the frame'
        assert_success
        assert_output "INPUT right behind the frame"
}

@test "with +<, wc -c counts the input and the trailer says 0" {
        $NBSTDIN "$PORT" --flags "+<" -c "wc -c" --input "hello" >"$BATS_TEST_TMPDIR/out"
        assert_equal "$(head -c -18 "$BATS_TEST_TMPDIR/out")" "5"
        assert_equal "$(trailer_status "$BATS_TEST_TMPDIR/out")" "0"
}

@test "with <, the shell path reads the input too" {
        run --separate-stderr $NBSTDIN "$PORT" --flags "<" -c 'read a; read b; echo "$b $a"' --input 'one
two
'
        assert_success
        assert_output "two one"
}

@test "20 MB of input arrive intact (sha256)" {
        head -c 20000000 /dev/urandom >"$BATS_TEST_TMPDIR/in"
        run --separate-stderr $NBSTDIN "$PORT" --flags "<" -c "sha256sum" --input-file "$BATS_TEST_TMPDIR/in"
        assert_success
        assert_output "$(sha256sum <"$BATS_TEST_TMPDIR/in" | cut -d' ' -f1)  -"
}

@test "the client's FIN is the command's EOF, and the command runs on after it" {
        run --separate-stderr $NBSTDIN "$PORT" --flags "+<" -c 'cat >/dev/null; sleep 0.5; echo after-eof' --input "x"
        assert_success
        assert_output --partial "after-eof"
}

@test "a frame dripped one byte at a time with < still leaves the input to the command" {
        local req
        req=$(frame cat '<')
        run --separate-stderr $NBCLIENT "$PORT" --raw "${req}IN" --one-byte 0.01 --half-close
        assert_success
        assert_output "IN"
}

@test "a reset while a < command waits for input kills it within a second" {
        local marker
        marker=$(unique_sleep)
        $NBSTDIN "$PORT" --flags "<" -c "cat | ($marker)" --reset-after 0.3 || true
        wait_until 1 no_process "$marker"
}

@test "without <, stdin is /dev/null even when the client sends input" {
        run --separate-stderr $NBSTDIN "$PORT" --flags "" -c "wc -c" --input "ignored input"
        assert_success
        assert_output "0"
}

@test "flags out of order get a bad header line and run nothing" {
        run --separate-stderr $NBCLIENT "$PORT" --raw "<+0000000024touch $BATS_TEST_TMPDIR/ran"
        assert_success
        assert_output "nbnet: bad header: byte 2 is '+', a flag out of order or repeated (a request is [+][<][@], 10 digits of length, then the command)"
        [ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "a repeated < with + gets its line and status 125" {
        $NBCLIENT "$PORT" --raw "+<<0000000004true" >"$BATS_TEST_TMPDIR/out"
        run head -c -18 "$BATS_TEST_TMPDIR/out"
        assert_output "nbnet: bad header: byte 3 is '<', a flag out of order or repeated (a request is [+][<][@], 10 digits of length, then the command)"
        assert_equal "$(trailer_status "$BATS_TEST_TMPDIR/out")" "125"
}

# nbsegments.py watches lo with an AF_PACKET socket (CAP_NET_RAW) whose
# buffer it sets with SO_RCVBUFFORCE (CAP_NET_ADMIN).
@test "a trailer after output piled up in the socket travels in a segment of its own" {
        needs_caps "watching loopback segments (AF_PACKET, SO_RCVBUFFORCE)" net_raw net_admin
        run --separate-stderr python3 "$TOP/tests/lib/nbsegments.py" "$PORT" -c "head -c 4000000 /dev/zero" --read-delay 0.5
        assert_success
        assert_line "last-is-trailer yes"
}

@test "the trailer after a short output is a segment of its own too" {
        needs_caps "watching loopback segments (AF_PACKET, SO_RCVBUFFORCE)" net_raw net_admin
        run --separate-stderr python3 "$TOP/tests/lib/nbsegments.py" "$PORT" -c "printf abc"
        assert_success
        assert_line "last-is-trailer yes"
}

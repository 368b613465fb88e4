#!/usr/bin/env bats
# nbnet-handler as a program: options, usage errors, where it finds the connection.

bats_require_minimum_version 1.5.0

load helpers

teardown() {
        stop_server
}

@test "--help describes the options and exits 0" {
        run "$NBNET_BIN/nbnet-handler" --help
        assert_success
        assert_output --partial "--max-command N"
        assert_output --partial "--request-timeout SEC"
        assert_output --partial "--command-timeout SEC"
}

@test "--version prints the version and exits 0" {
        run "$NBNET_BIN/nbnet-handler" --version
        assert_success
        assert_output --regexp '^nbnet-handler [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "an unknown option is a usage error: exit 2 and a hint" {
        run --separate-stderr "$NBNET_BIN/nbnet-handler" --bogus
        assert_failure 2
        [[ "$stderr" == *"--help"* ]]
}

@test "a bad --max-command value says what is allowed and exits 2" {
        run --separate-stderr "$NBNET_BIN/nbnet-handler" --max-command 200000
        assert_failure 2
        assert_equal "$stderr" "nbnet-handler: --max-command must be 1..131071, got '200000'"
}

@test "a bad --request-timeout value exits 2" {
        run --separate-stderr "$NBNET_BIN/nbnet-handler" --request-timeout soon
        assert_failure 2
        [[ "$stderr" == *"--request-timeout must be"*"'soon'"* ]]
}

@test "run by hand with no connection, it explains itself and exits 2" {
        run --separate-stderr "$NBNET_BIN/nbnet-handler" </dev/null
        assert_failure 2
        [[ "$stderr" == *"no connection"*"fd 3"*"fd 0"* ]]
}

@test "LISTEN_FDS=1 with fd 3 not a socket is a clear error" {
        run --separate-stderr env LISTEN_FDS=1 LISTEN_PID=self bash -c \
                'export LISTEN_PID=$$; exec 3</dev/null; exec "$0"' "$NBNET_BIN/nbnet-handler"
        assert_failure 2
        [[ "$stderr" == *"fd 3 is not a connected stream socket"* ]]
}

@test "a raised --max-command takes a longer command" {
        NBNET_MODE=accept start_server --max-command 100000
        local cmd
        cmd="echo long #$(head -c 99000 /dev/zero | tr '\0' x)"
        run sh -c "$(declare -f frame); frame \"\$1\" | nc -N 127.0.0.1 $PORT" _ "$cmd"
        assert_output "long"
}

@test "a lowered --max-command refuses what is over it" {
        NBNET_MODE=accept start_server --max-command 10
        run $NBCLIENT "$PORT" --command "echo 12345678"
        assert_output "nbnet: command too long (13 > 10)"
}

@test "IPv6: the handler serves a connection on ::1" {
        PORT=$(free_port)
        systemd-socket-activate -l "[::1]:$PORT" --accept "$NBNET_BIN/nbnet-handler" 2>/dev/null &
        SERVER_PID=$!
        wait_until 5 port_open "$PORT" ::1
        run $NBCLIENT "$PORT" --host ::1 --command 'echo "$REMOTE_ADDR"'
        assert_output "::1"
}

@test "a Unix stream socket carries the same protocol" {
        local sock=$BATS_TEST_TMPDIR/nbnet.sock
        systemd-socket-activate -l "$sock" --accept "$NBNET_BIN/nbnet-handler" 2>/dev/null &
        SERVER_PID=$!
        wait_until 5 test -S "$sock"
        run $NBCLIENT --unix "$sock" --command 'echo "unix:${REMOTE_ADDR:-none}"' --plus
        assert_output $'unix:none\n\x1eNBNET-STATUS 000'
}

@test "time options are decimal seconds: 0x10, 1e-9, +5 and 10s are usage errors" {
        local bad
        for bad in 0x10 1e-9 +5 " 5" 10s 0.0000001; do
                run --separate-stderr "$NBNET_BIN/nbnet-handler" --request-timeout "$bad"
                assert_failure 2
                assert_equal "$stderr" "nbnet-handler: --request-timeout must be 0.001..86400 seconds, in decimal (e.g. 2.5), got '$bad'"
        done
        run --separate-stderr "$NBNET_BIN/nbnet-handler" --command-timeout 1e3
        assert_failure 2
        [[ "$stderr" == *"--command-timeout must be 0..31536000 seconds, in decimal"* ]]
}

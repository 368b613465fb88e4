#!/usr/bin/env bats
# nbnet, the client, end to end against a real server: exit statuses, the
# messages of its own, addresses, byte-exact output, a closed stdout.
# Runs once per server mode: NBNET_MODE=accept, inetd (see helpers.bash).

bats_require_minimum_version 1.5.0

load helpers
load servers

setup() {
        start_server --command-timeout 3
        NBNET=$NBNET_BIN/nbnet
}

teardown() {
        local failed=0
        stop_extra_servers || failed=1
        stop_server || failed=1
        [ -z "${SOCK_DIR:-}" ] || rm -rf "$SOCK_DIR"
        return "$failed"
}

@test "a command that succeeds: exit 0 and its output" {
        run --separate-stderr "$NBNET" "127.0.0.1:$PORT" echo hello
        assert_success
        assert_output "hello"
        assert_equal "$stderr" ""
}

@test "the command's exit status 3 is nbnet's exit status" {
        run "$NBNET" "127.0.0.1:$PORT" 'echo before; exit 3'
        assert_failure 3
        assert_output "before"
}

@test "a command killed by SIGKILL gives 137" {
        run "$NBNET" "127.0.0.1:$PORT" 'kill -9 $$'
        assert_failure 137
}

@test "the server's command timeout gives 124" {
        run "$NBNET" "127.0.0.1:$PORT" "$(unique_sleep)"
        assert_failure 124
}

@test "-T gives 124 and a message, and the remote command is gone within a second" {
        local marker
        marker=$(unique_sleep)
        run --separate-stderr "$NBNET" -T 0.5 "127.0.0.1:$PORT" "$marker"
        assert_failure 124
        assert_equal "$stderr" "nbnet: 127.0.0.1:$PORT: timed out after 0.5 s (-T)"
        wait_until 1 no_process "$marker"
}

@test "a refused connection exits 255 with 'connection refused'" {
        local closed
        closed=$(free_port)
        run --separate-stderr "$NBNET" "127.0.0.1:$closed" true
        assert_failure 255
        assert_equal "$stderr" "nbnet: 127.0.0.1:$closed: connection refused"
}

@test "-q keeps nbnet's own messages off stderr, not its status" {
        local closed
        closed=$(free_port)
        run --separate-stderr "$NBNET" -q "127.0.0.1:$closed" true
        assert_failure 255
        assert_equal "$stderr" ""
}

@test "a name that does not resolve exits 255 and says so" {
        run --separate-stderr "$NBNET" no-such-host.invalid true
        assert_failure 255
        [[ $stderr == "nbnet: no-such-host.invalid:9079: cannot resolve the host: "* ]]
}

@test "-p gives the port when HOST has none" {
        run "$NBNET" -p "$PORT" 127.0.0.1 echo via -p
        assert_success
        assert_output "via -p"
}

@test "words are joined with single spaces, and options after HOST are the command's" {
        run "$NBNET" "127.0.0.1:$PORT" echo 'a  b' c
        assert_output "a b c"
        run "$NBNET" "127.0.0.1:$PORT" ls -d /
        assert_output "/"
}

@test "an IPv6 literal in brackets" {
        local port
        port=$(free_port)
        serve_extra "[::1]:$port"
        run "$NBNET" "[::1]:$port" 'echo "from $REMOTE_ADDR"'
        assert_success
        assert_output "from ::1"
}

@test "a Unix socket server" {
        SOCK_DIR=$(mktemp -d /tmp/nbnet-test.XXXXXX)
        serve_extra "$SOCK_DIR/nbnet.sock"
        run "$NBNET" "unix:$SOCK_DIR/nbnet.sock" 'echo over unix; exit 5'
        assert_failure 5
        assert_output "over unix"
}

@test "20 MB of output arrive byte-exact through the client" {
        local want got
        want=$(seq 1 2600000 | sha256sum)
        got=$("$NBNET" "127.0.0.1:$PORT" seq 1 2600000 | sha256sum)
        assert_equal "$got" "$want"
}

@test "binary output and a line without a newline arrive exact" {
        "$NBNET" "127.0.0.1:$PORT" "printf 'a\\000b\\377\\036NBNET-STATUS 001'" >"$BATS_TEST_TMPDIR/out"
        printf 'a\000b\377\036NBNET-STATUS 001' | cmp - "$BATS_TEST_TMPDIR/out"
}

@test "'| head -1' ends nbnet quietly and the remote command is gone within a second" {
        local n=$((1000000000 + RANDOM))
        run --separate-stderr bash -c "'$NBNET' 127.0.0.1:$PORT 'seq $n' | head -1; echo \${PIPESTATUS[0]}"
        assert_output "1
141"
        assert_equal "$stderr" ""
        wait_until 1 no_process "seq $n"
}

@test "--raw sends the plain request and exits 0 at EOF" {
        run "$NBNET" --raw "127.0.0.1:$PORT" 'echo plain; exit 3'
        assert_success
        assert_output "plain"
}

@test "a response without a status exits 255 with the message, after the output" {
        local port old
        port=$(free_port)
        # A server too old for '+': it answers with output only. The first
        # connections may be port_open's probes, which send nothing.
        python3 -c '
import socket, sys
s = socket.create_server(("127.0.0.1", int(sys.argv[1])))
for _ in range(20):
    c, _ = s.accept()
    if c.recv(100):
        c.sendall(b"old output\n")
        c.shutdown(socket.SHUT_WR)
        c.recv(100)
        break
    c.close()
' "$port" &
        old=$!
        wait_until 5 port_open "$port"
        run --separate-stderr "$NBNET" "127.0.0.1:$port" true
        wait "$old"
        assert_failure 255
        assert_output "old output"
        assert_equal "$stderr" "nbnet: 127.0.0.1:$port: response ended without a status (server too old, or connection cut)"
}

@test "a server's refusal line comes through with its status 125" {
        run "$NBNET" "127.0.0.1:$PORT" "$(head -c 70000 /dev/zero | tr '\0' x)"
        assert_failure 125
        assert_output "nbnet: command too long (70000 > 65536)"
}

@test "usage errors exit 2; --help and --version exit 0" {
        run "$NBNET"
        assert_failure 2
        run "$NBNET" "127.0.0.1:$PORT"
        assert_failure 2
        run "$NBNET" -p 0 127.0.0.1 true
        assert_failure 2
        run "$NBNET" "127.0.0.1:$PORT" ''
        assert_failure 2
        run "$NBNET" --help
        assert_success
        assert_line --index 0 --partial "Usage: nbnet"
        run "$NBNET" --version
        assert_success
        assert_output --regexp '^nbnet [0-9]'
}

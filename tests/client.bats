#!/usr/bin/env bats
# nbnet, the client, end to end against a real server: exit statuses, the
# messages of its own, addresses, byte-exact output, a closed stdout; output
# passed on as it comes, -T, signals; stdin ('<') against the stand-in server
# of stdin.bash until the real ones honour it.
# Runs once per server mode: NBNET_MODE=accept, inetd (see helpers.bash).

bats_require_minimum_version 1.5.0

load helpers
load servers
load stdin

# The tests through NBINTERACT against the real server give nbnet -n: its
# stdin is a pipe there, and they are about output and signals, not input.
setup() {
        start_server --command-timeout 3
        NBNET=$NBNET_BIN/nbnet
        # nbnet forwards its stdin; the tests that are not about it give it
        # none, as cron or systemd would (and then no '<' is sent).
        exec </dev/null
}

teardown() {
        local failed=0
        stop_stdin_server
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

@test "output is passed on as it comes: 'tick 1' within a second, before the command's sleep" {
        run $NBINTERACT --within 1 'expect=tick 1\n' -- \
                "$NBNET" -n "127.0.0.1:$PORT" 'echo "tick 1"; sleep 2; echo "tick 2"'
        assert_success
        assert_output "tick 1
tick 2"
}

@test "a progress line without a newline is seen before the command ends" {
        run $NBINTERACT --within 1 'expect=Downloading 45%... ' -- \
                "$NBNET" -n "127.0.0.1:$PORT" 'printf "Downloading 45%%... "; sleep 2; echo done'
        assert_success
        assert_output "Downloading 45%... done"
}

@test "-T prints everything that came, a held-back beginning of a trailer too, then exits 124" {
        "$NBNET" -T 1 "127.0.0.1:$PORT" 'echo "step 1 done"; printf "x\036NBNET"; sleep 5' \
                >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" || echo $? >"$BATS_TEST_TMPDIR/rc"
        assert_equal "$(cat "$BATS_TEST_TMPDIR/rc")" 124
        printf 'step 1 done\nx\036NBNET' | cmp - "$BATS_TEST_TMPDIR/out"
        assert_equal "$(cat "$BATS_TEST_TMPDIR/err")" "nbnet: 127.0.0.1:$PORT: timed out after 1 s (-T)"
}

@test "SIGINT resets the connection: nbnet dies of it (130) and the remote command is gone within a second" {
        local marker
        marker=$(unique_sleep)
        run $NBINTERACT 'expect=started\n' signal=INT -- "$NBNET" -n "127.0.0.1:$PORT" "echo started; $marker"
        assert_failure 130
        wait_until 1 no_process "$marker"
}

@test "SIGTERM and SIGHUP: 143 and 129, and the remote command is gone within a second" {
        local marker
        marker=$(unique_sleep)
        run $NBINTERACT 'expect=started\n' signal=TERM -- "$NBNET" -n "127.0.0.1:$PORT" "echo started; $marker"
        assert_failure 143
        wait_until 1 no_process "$marker"
        marker=$(unique_sleep)
        run $NBINTERACT 'expect=started\n' signal=HUP -- "$NBNET" -n "127.0.0.1:$PORT" "echo started; $marker"
        assert_failure 129
        wait_until 1 no_process "$marker"
}

@test "a SIGHUP ignored when nbnet started stays ignored (nohup)" {
        run $NBINTERACT 'expect=started\n' signal=HUP -- \
                nohup "$NBNET" -n "127.0.0.1:$PORT" 'echo started; sleep 1; echo still here'
        assert_success
        assert_output "started
still here"
}

@test "stdin is the command's: 'echo data | nbnet HOST wc -c' says 5" {
        start_stdin_server
        run bash -c "echo data | '$NBNET' 127.0.0.1:$STDIN_PORT 'wc -c'"
        assert_success
        assert_output "5"
}

@test "5 MB of stdin reach the command byte-exact, and its EOF ends the command" {
        start_stdin_server
        head -c 5000000 /dev/urandom >"$BATS_TEST_TMPDIR/in"
        run bash -c "'$NBNET' 127.0.0.1:$STDIN_PORT sha256sum <'$BATS_TEST_TMPDIR/in'"
        assert_success
        assert_output "$(sha256sum <"$BATS_TEST_TMPDIR/in")"
}

@test "-n gives the command /dev/null, whatever nbnet's stdin holds" {
        start_stdin_server
        run timeout 10 bash -c "yes | '$NBNET' -n 127.0.0.1:$STDIN_PORT 'wc -c; readlink /proc/\$\$/fd/0'"
        assert_success
        assert_output "0
/dev/null"
}

@test "the request has '<' only when there is stdin to forward: not with -n, -r or /dev/null" {
        local port
        port=$(free_port)
        # A listener that answers every request with status 0 and keeps its flags.
        python3 -c '
import socket, sys
s = socket.create_server(("127.0.0.1", int(sys.argv[1])))
with open(sys.argv[2], "ab") as log:
    while True:
        c, _ = s.accept()
        head = c.recv(12)
        if head:
            log.write(b"[" + head.split(b"0000")[0] + b"]\n")
            log.flush()
            c.sendall(b"\x1eNBNET-STATUS 000\n")
            c.shutdown(socket.SHUT_WR)
            while c.recv(4096):
                pass
        c.close()
' "$port" "$BATS_TEST_TMPDIR/heads" &
        EXTRA_SERVER_PIDS+=("$!")
        wait_until 5 port_open "$port"
        "$NBNET" "127.0.0.1:$port" true </dev/null
        echo | "$NBNET" "127.0.0.1:$port" true
        echo | "$NBNET" -n "127.0.0.1:$port" true
        echo | "$NBNET" -r "127.0.0.1:$port" true >/dev/null
        assert_equal "$(cat "$BATS_TEST_TMPDIR/heads")" "[+]
[+<]
[+]
[]"
}

@test "every proper prefix of the trailer, printed before a wait for input, is passed on: no stall" {
        local rest='NBNET-STATUS 042' k part
        start_stdin_server
        for ((k = 1; k < 18; k++)); do
                part=${rest:0:k-1}
                run $NBINTERACT --within 2 "expect=\\x1e$part" 'send=go\n' close -- \
                        "$NBNET" "127.0.0.1:$STDIN_PORT" "printf '\\036$part'; read x; echo \"got \$x\""
                assert_success
                assert_output "$(printf '\036%s' "$part")got go"
        done
}

# start_relay PIECE PAUSE: RELAY_PORT relays to the test's server, the
# response in pieces of PIECE bytes, PAUSE seconds apart (tests/lib/nbrelay.py).
start_relay() {
        RELAY_PORT=$(free_port)
        python3 "$TOP/tests/lib/nbrelay.py" "$RELAY_PORT" "$PORT" --piece "$1" --pause "$2" \
                >"$BATS_TEST_TMPDIR/relay.out" &
        EXTRA_SERVER_PIDS+=("$!")
        wait_until 5 grep -q listening "$BATS_TEST_TMPDIR/relay.out"
}

@test "a trailer that a relay splits into 1-byte pieces is still the status, not output" {
        start_relay 1 0.02
        run --separate-stderr "$NBNET" "127.0.0.1:$RELAY_PORT" 'echo split; exit 3'
        assert_failure 3
        assert_output "split"
        assert_equal "$stderr" ""
}

@test "a trailer that a relay splits in two, 0.1 s apart, is still the status, not output" {
        start_relay 12 0.1
        run --separate-stderr "$NBNET" "127.0.0.1:$RELAY_PORT" 'printf "%s" 0123456789; exit 7'
        assert_failure 7
        assert_output "0123456789"
        assert_equal "$stderr" ""
}

@test "an interactive exchange: each line is answered before the next is sent" {
        start_stdin_server
        run $NBINTERACT --within 2 'send=1\n' 'expect=2\n' 'send=5\n' 'expect=6\n' close -- \
                "$NBNET" "127.0.0.1:$STDIN_PORT" 'while read n; do echo $((n + 1)); done; echo end'
        assert_success
        assert_output "2
6
end"
}

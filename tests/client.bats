#!/usr/bin/env bats
# nbnet, the client, end to end against a real server: exit statuses, the
# messages of its own, addresses, byte-exact output, a closed stdout; output
# passed on as it comes, --timeout, signals; stdin ('<') against the stand-in
# server of stdin.bash until the real ones honour it; stderr apart (the '&'
# channel) and the user asked for ('~') against channel.bash's stand-in until
# the real ones do (NBNET_CHANNEL_SERVER=real runs them against the real
# server); ssh's command line, NBNET_PORT and the config file; rsync and scp.
# Runs once per server mode: NBNET_MODE=accept, inetd (see helpers.bash).

bats_require_minimum_version 1.5.0

load helpers
load servers
load stdin
load channel

# The tests through NBINTERACT against the real server give nbnet -n: its
# stdin is a pipe there, and they are about output and signals, not input.
setup() {
        start_server --command-timeout 3
        # The real nbnet (channel.bash: with the stand-in, --merge-stderr).
        NBNET=$(nbnet_for_real_servers)
        # nbnet forwards its stdin; the tests that are not about it give it
        # none, as cron or systemd would (and then no '<' is sent).
        exec </dev/null
}

teardown() {
        local failed=0
        stop_stdin_server
        stop_channel_server
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

@test "a command killed by SIGKILL gives 137, and nbnet says so on stderr" {
        run --separate-stderr "$NBNET" "127.0.0.1:$PORT" 'kill -9 $$'
        assert_failure 137
        assert_equal "$stderr" "nbnet: 127.0.0.1:$PORT: the command was killed by SIGKILL (status 137)"
}

@test "the server's command timeout gives 124, and nbnet says so on stderr" {
        run --separate-stderr "$NBNET" "127.0.0.1:$PORT" "$(unique_sleep)"
        assert_failure 124
        assert_output ""
        assert_equal "$stderr" "nbnet: 127.0.0.1:$PORT: the command ran into the server's command timeout (status 124), or exited 124 itself"
}

@test "--timeout gives 124 and a message, and the remote command is gone within a second" {
        local marker
        marker=$(unique_sleep)
        run --separate-stderr "$NBNET" --timeout 0.5 "127.0.0.1:$PORT" "$marker"
        assert_failure 124
        assert_equal "$stderr" "nbnet: 127.0.0.1:$PORT: timed out after 0.5 s (--timeout)"
        wait_until 1 no_process "$marker"
        marker=$(unique_sleep)
        run --separate-stderr "$NBNET" --timeout 500ms "127.0.0.1:$PORT" "$marker"
        assert_failure 124
        assert_equal "$stderr" "nbnet: 127.0.0.1:$PORT: timed out after 500ms (--timeout)"
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
        NBNET="$NBNET_BIN/nbnet -M" # the listener below takes no channel
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
        run --separate-stderr $NBNET "127.0.0.1:$port" true
        wait "$old"
        assert_failure 255
        assert_output "old output"
        assert_equal "$stderr" "nbnet: 127.0.0.1:$port: response ended without a status (server too old, or connection cut)"
}

@test "a server's refusal line goes to stderr, not stdout, with its status 125" {
        run --separate-stderr "$NBNET" "127.0.0.1:$PORT" "$(head -c 70000 /dev/zero | tr '\0' x)"
        assert_failure 125
        assert_output ""
        assert_equal "$stderr" "nbnet: 127.0.0.1:$PORT: command too long (70000 > 65536)"
}

@test "a command's own 'nbnet: ' line with more output, or another status, stays on stdout" {
        run --separate-stderr "$NBNET" "127.0.0.1:$PORT" 'echo "nbnet: mine"; exit 126'
        assert_failure 126
        assert_output "" # one line and 126: taken as the server's
        assert_equal "$stderr" "nbnet: 127.0.0.1:$PORT: mine"
        run --separate-stderr "$NBNET" "127.0.0.1:$PORT" 'echo "nbnet: mine"; echo more; exit 125'
        assert_failure 125
        assert_output "nbnet: mine
more"
        run --separate-stderr "$NBNET" "127.0.0.1:$PORT" 'echo "nbnet: mine"; exit 1'
        assert_failure 1
        assert_output "nbnet: mine"
        assert_equal "$stderr" ""
}

@test "a prompt that begins like a server's line is not held: seen before the command ends" {
        run $NBINTERACT --within 1 'expect=nbnet: ready? ' -- \
                "$NBNET" -n "127.0.0.1:$PORT" 'printf "nbnet: ready? "; sleep 2; echo yes'
        assert_success
        assert_output "nbnet: ready? yes"
}

@test "usage errors exit 2; --help and --version exit 0" {
        run "$NBNET"
        assert_failure 2
        run "$NBNET" "127.0.0.1:$PORT"
        assert_failure 2
        run "$NBNET" -p 0 127.0.0.1 true
        assert_failure 2
        run "$NBNET" --timeout 2d 127.0.0.1 true
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

@test "--timeout prints everything that came, a held-back beginning of a trailer too, then exits 124" {
        "$NBNET" --timeout 1 "127.0.0.1:$PORT" 'echo "step 1 done"; printf "x\036NBNET"; sleep 5' \
                >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" || echo $? >"$BATS_TEST_TMPDIR/rc"
        assert_equal "$(cat "$BATS_TEST_TMPDIR/rc")" 124
        printf 'step 1 done\nx\036NBNET' | cmp - "$BATS_TEST_TMPDIR/out"
        assert_equal "$(cat "$BATS_TEST_TMPDIR/err")" "nbnet: 127.0.0.1:$PORT: timed out after 1 s (--timeout)"
}

# dies_of SIG STATUS: nbnet, given SIG while its remote command runs, ends
# with STATUS, and the command is gone within a second.
dies_of() {
        local marker
        marker=$(unique_sleep)
        run $NBINTERACT 'expect=started\n' signal="$1" -- "$NBNET" -n "127.0.0.1:$PORT" "echo started; $marker"
        assert_failure "$2"
        wait_until 1 no_process "$marker"
}

@test "SIGINT resets the connection: nbnet dies of it (130) and the remote command is gone within a second" {
        dies_of INT 130
}

@test "SIGTERM and SIGHUP: 143 and 129, and the remote command is gone within a second" {
        dies_of TERM 143
        dies_of HUP 129
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
        # -M: the listener takes no channel.
        "$NBNET_BIN/nbnet" -M "127.0.0.1:$port" true </dev/null
        echo | "$NBNET_BIN/nbnet" -M "127.0.0.1:$port" true
        echo | "$NBNET_BIN/nbnet" -M -n "127.0.0.1:$port" true
        echo | "$NBNET_BIN/nbnet" -r "127.0.0.1:$port" true >/dev/null
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
        # -M: the relay serves one connection at a time, and a channel is a second.
        run --separate-stderr "$NBNET_BIN/nbnet" -M "127.0.0.1:$RELAY_PORT" 'echo split; exit 3'
        assert_failure 3
        assert_output "split"
        assert_equal "$stderr" ""
}

@test "a trailer that a relay splits in two, 0.1 s apart, is still the status, not output" {
        start_relay 12 0.1
        run --separate-stderr "$NBNET_BIN/nbnet" -M "127.0.0.1:$RELAY_PORT" 'printf "%s" 0123456789; exit 7'
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

# The stderr channel ('&') and the user asked for ('~'), against the real
# server; the tests that read what was sent, against channel.bash's stand-in.

@test "stdout and stderr apart: out on stdout only, err on stderr only" {
        start_channel_server
        run --separate-stderr "$NBNET_BIN/nbnet" "127.0.0.1:$CHANNEL_PORT" 'echo out; echo err >&2; exit 3'
        assert_failure 3
        assert_output "out"
        assert_equal "$stderr" "err"
}

@test "stderr is live: a line on stderr arrives while the command still runs" {
        start_channel_server
        # The command writes late only once the test says go, or 2.5 s after
        # early: within the server's --command-timeout 3 (setup) either way.
        local go=$BATS_TEST_TMPDIR/go
        "$NBNET_BIN/nbnet" "127.0.0.1:$CHANNEL_PORT" \
                "echo early >&2; i=0; while [ ! -e $go ] && [ \$i -lt 25 ]; do sleep 0.1; i=\$((i + 1)); done; echo late" \
                >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
        local client=$!
        wait_until 2.5 grep -q early "$BATS_TEST_TMPDIR/err"
        # No late yet: early came while the command still ran.
        assert_equal "$(cat "$BATS_TEST_TMPDIR/out")" ""
        touch "$go"
        wait "$client"
        assert_equal "$(cat "$BATS_TEST_TMPDIR/out")" "late"
}

@test "stdin, stdout and stderr at once: 5 MB through the command, its complaints apart" {
        start_channel_server
        head -c 5000000 /dev/urandom >"$BATS_TEST_TMPDIR/in"
        run --separate-stderr bash -c "'$NBNET_BIN/nbnet' 127.0.0.1:$CHANNEL_PORT 'echo reading >&2; sha256sum; echo done >&2' <'$BATS_TEST_TMPDIR/in'"
        assert_success
        assert_output "$(sha256sum <"$BATS_TEST_TMPDIR/in")"
        assert_equal "$stderr" "reading
done"
}

@test "--merge-stderr gives the old stream: stderr in the output, no '&' sent" {
        run --separate-stderr "$NBNET_BIN/nbnet" --merge-stderr "127.0.0.1:$PORT" 'echo out; echo err >&2'
        assert_success
        assert_output "out
err"
        assert_equal "$stderr" ""
        needs_channel_log
        start_channel_server
        "$NBNET_BIN/nbnet" -M "127.0.0.1:$CHANNEL_PORT" true
        assert_equal "$(grep -c '^request +&' "$CHANNEL_LOG")" 0
}

@test "USER@HOST and -l send '~USER'; the server's own user runs" {
        needs_channel_log
        start_channel_server
        local me
        me=$(id -un)
        run "$NBNET_BIN/nbnet" "$me@127.0.0.1:$CHANNEL_PORT" echo as me
        assert_success
        assert_output "as me"
        run "$NBNET_BIN/nbnet" -l "$me" "127.0.0.1:$CHANNEL_PORT" echo as me
        assert_success
        assert_equal "$(grep -c "^request +&~$me echo as me" "$CHANNEL_LOG")" 2
}

@test "a user the server does not run as: 126 and 'cannot run as USER here' on stderr" {
        start_channel_server
        local other=nbnet-no-such-user
        run --separate-stderr "$NBNET_BIN/nbnet" "$other@127.0.0.1:$CHANNEL_PORT" echo never
        assert_failure 126
        assert_output ""
        assert_equal "$stderr" "nbnet: cannot run as $other here"
        # Without the channel the server's line comes on the connection: still on stderr.
        run --separate-stderr "$NBNET_BIN/nbnet" -M -l "$other" "127.0.0.1:$CHANNEL_PORT" echo never
        assert_failure 126
        assert_output ""
        assert_equal "$stderr" "nbnet: 127.0.0.1:$CHANNEL_PORT: cannot run as $other here"
}

@test "a user name that is no portable name is a usage error, and so is -l with --raw" {
        run --separate-stderr "$NBNET_BIN/nbnet" -l 'bad user' "127.0.0.1:$PORT" true
        assert_failure 2
        [[ $stderr == "nbnet: -l 'bad user': a user name is 1-32 letters, digits, '_', '-' or '.'; try 'nbnet --help'" ]]
        run "$NBNET_BIN/nbnet" "$(printf 'x%.0s' {1..33})@127.0.0.1:$PORT" true
        assert_failure 2
        run "$NBNET_BIN/nbnet" "@127.0.0.1:$PORT" true
        assert_failure 2
        run "$NBNET_BIN/nbnet" -r -l root "127.0.0.1:$PORT" true
        assert_failure 2
}

@test "a server too old for '&': exit 125 and a message that names --merge-stderr" {
        start_channel_server --old
        run --separate-stderr "$NBNET_BIN/nbnet" "127.0.0.1:$CHANNEL_PORT" echo never
        assert_failure 125
        assert_output ""
        assert_equal "$stderr" "nbnet: 127.0.0.1:$CHANNEL_PORT: the server is too old for a stderr of the command's own (the '&' flag): give --merge-stderr (-M) to have stderr in the output"
        run --separate-stderr "$NBNET_BIN/nbnet" -M -l root "127.0.0.1:$CHANNEL_PORT" echo never
        assert_failure 125
        assert_equal "$stderr" "nbnet: 127.0.0.1:$CHANNEL_PORT: the server is too old to take a user (-l root): it runs commands as its own user; drop the user to run as that one"
        run "$NBNET_BIN/nbnet" -M "127.0.0.1:$CHANNEL_PORT" echo runs
        assert_success
        assert_output "runs"
}

@test "a stderr channel that cannot connect: exit 255 and a message that says so" {
        local port
        port=$(free_port)
        # A listener that never accepts, with room for one connection: the
        # request's. The channel's SYN finds the queue full and goes unanswered.
        python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(0)
print("listening", flush=True)
time.sleep(10)
' "$port" >"$BATS_TEST_TMPDIR/listener.out" &
        EXTRA_SERVER_PIDS+=("$!")
        wait_until 5 grep -q listening "$BATS_TEST_TMPDIR/listener.out"
        run --separate-stderr "$NBNET_BIN/nbnet" --connect-timeout 300ms "127.0.0.1:$port" true
        assert_failure 255
        assert_equal "$stderr" "nbnet: 127.0.0.1:$port: cannot open the stderr channel (a second connection): timed out connecting (--connect-timeout); --merge-stderr (-M) does without it"
}

# ssh's command line.

@test "options after HOST up to the command's first word; '--' before HOST ends them" {
        run "$NBNET" 127.0.0.1 -p "$PORT" -n echo a -n
        assert_success
        assert_output "a -n"
        needs_channel_log
        start_channel_server
        "$NBNET_BIN/nbnet" -M -- "127.0.0.1:$CHANNEL_PORT" -v true || true
        grep -q '^request + -v true$' "$CHANNEL_LOG"
}

@test "scp's and rsync's ssh options are taken and ignored, and -v says so" {
        run --separate-stderr "$NBNET" -x -a -C -oPermitLocalCommand=no -oClearAllForwardings=yes \
                -oRemoteCommand=none -oRequestTTY=no -oForwardAgent=no -v -- "127.0.0.1:$PORT" echo hi
        assert_success
        assert_output "hi"
        [[ $stderr == *"nbnet: ignored ssh's -x: nothing to do here"* ]]
        [[ $stderr == *"nbnet: ignored ssh's -o RequestTTY=no: nothing to do here"* ]]
        [[ $stderr == *"nbnet: connecting to 127.0.0.1:$PORT"* ]]
        [[ $stderr == *"nbnet: status 0"* ]]
}

@test "-t and -T are ssh's tty flags, ignored; a time after one names the new option" {
        run "$NBNET" -t -T -tt "127.0.0.1:$PORT" echo ok
        assert_success
        assert_output "ok"
        run --separate-stderr "$NBNET_BIN/nbnet" -T 30 "127.0.0.1:$PORT" true
        assert_failure 2
        assert_equal "$stderr" "nbnet: -T takes no time any more: it is ssh's tty flag, ignored; give --timeout 30; try 'nbnet --help'"
        run --separate-stderr "$NBNET_BIN/nbnet" "127.0.0.1:$PORT" -t 5 true
        assert_failure 2
        [[ $stderr == *"give --connect-timeout 5"* ]]
}

@test "-v names the token of the stderr channel, the address and the status" {
        start_channel_server
        run --separate-stderr "$NBNET_BIN/nbnet" -v "127.0.0.1:$CHANNEL_PORT" 'exit 7'
        assert_failure 7
        [[ $stderr =~ "nbnet: stderr channel token "[0-9a-f]{32} ]]
        [[ $stderr == *"nbnet: connected to 127.0.0.1 port $CHANNEL_PORT"* ]]
        [[ $stderr == *"nbnet: stderr channel to 127.0.0.1 port $CHANNEL_PORT"* ]]
        [[ $stderr == *"nbnet: status 7"* ]]
}

@test "-4 connects over IPv4 only, -6 over IPv6 only" {
        run "$NBNET" -4 "127.0.0.1:$PORT" echo v4
        assert_success
        assert_output "v4"
        run --separate-stderr "$NBNET" -6 "127.0.0.1:$PORT" echo v4
        assert_failure 255
        [[ $stderr == "nbnet: 127.0.0.1:$PORT: cannot resolve the host: "* ]]
}

@test "the port from NBNET_PORT, then the config file's Port; -p and HOST:PORT before both" {
        local closed
        closed=$(free_port)
        mkdir -p "$BATS_TEST_TMPDIR/home/.config/nbnet"
        printf '# test\nHost 127.0.0.*\n    Port %s\nHost *\n    Port 1\n' "$PORT" \
                >"$BATS_TEST_TMPDIR/home/.config/nbnet/config"
        HOME=$BATS_TEST_TMPDIR/home run "$NBNET" 127.0.0.1 echo from config
        assert_success
        assert_output "from config"
        HOME=$BATS_TEST_TMPDIR/home NBNET_PORT=$closed run "$NBNET" 127.0.0.1 true
        assert_failure 255
        HOME=$BATS_TEST_TMPDIR/home NBNET_PORT=$closed run "$NBNET" -p "$PORT" 127.0.0.1 echo -p
        assert_output "-p"
        NBNET_PORT=$PORT run "$NBNET" 127.0.0.1 echo env
        assert_output "env"
        NBNET_PORT=$closed run "$NBNET" "127.0.0.1:$PORT" echo host:port
        assert_output "host:port"
        NBNET_PORT=x run "$NBNET" 127.0.0.1 true
        assert_failure 2
}

@test "the config file's User is sent as '~'; -l before it; ~/.nbnet/config and -F" {
        needs_channel_log
        start_channel_server
        local me
        me=$(id -un)
        mkdir -p "$BATS_TEST_TMPDIR/home/.nbnet"
        printf 'Host 127.0.0.1\nUser %s\nPort=%s\n' "$me" "$CHANNEL_PORT" >"$BATS_TEST_TMPDIR/home/.nbnet/config"
        HOME=$BATS_TEST_TMPDIR/home run "$NBNET_BIN/nbnet" 127.0.0.1 echo one
        assert_success
        HOME=$BATS_TEST_TMPDIR/home run "$NBNET_BIN/nbnet" -l nobody 127.0.0.1 echo two
        assert_failure 126
        printf 'Host !127.0.0.1 *\nUser nobody\n' >"$BATS_TEST_TMPDIR/other"
        run "$NBNET_BIN/nbnet" -F "$BATS_TEST_TMPDIR/other" "127.0.0.1:$CHANNEL_PORT" echo three
        assert_success
        assert_equal "$(grep '^request' "$CHANNEL_LOG")" "request +&~$me echo one
request +&~nobody echo two
request +& echo three"
}

@test "a config file line nbnet cannot take: exit 255 with the file and line" {
        printf 'Host *\n  Port 9079\n  HostName elsewhere\n' >"$BATS_TEST_TMPDIR/config"
        run --separate-stderr "$NBNET" -F "$BATS_TEST_TMPDIR/config" "127.0.0.1:$PORT" true
        assert_failure 255
        assert_equal "$stderr" "nbnet: $BATS_TEST_TMPDIR/config:3: unknown keyword 'HostName' (nbnet reads Host, Port and User)"
        run --separate-stderr "$NBNET" -F "$BATS_TEST_TMPDIR/none" "127.0.0.1:$PORT" true
        assert_failure 255
        assert_equal "$stderr" "nbnet: $BATS_TEST_TMPDIR/none: No such file or directory"
}

@test "rsync -e 'nbnet -p PORT' with USER@HOST copies a tree, through stdin and both channels" {
        start_channel_server
        mkdir -p "$BATS_TEST_TMPDIR/src/sub"
        head -c 300000 /dev/urandom >"$BATS_TEST_TMPDIR/src/sub/blob"
        echo text >"$BATS_TEST_TMPDIR/src/a"
        run rsync -a -e "$NBNET_BIN/nbnet -p $CHANNEL_PORT" "$BATS_TEST_TMPDIR/src/" \
                "$(id -un)@127.0.0.1:$BATS_TEST_TMPDIR/dst/"
        assert_success
        diff -r "$BATS_TEST_TMPDIR/src" "$BATS_TEST_TMPDIR/dst"
        # An error of the remote rsync comes on its stderr, and rsync says it.
        run rsync -a -e "$NBNET_BIN/nbnet -p $CHANNEL_PORT" "$BATS_TEST_TMPDIR/src/" \
                "127.0.0.1:/nonexistent/dir/deeper/"
        assert_failure
        [[ $output == *"/nonexistent/dir"* ]]
}

@test "scp -O -S nbnet with -P and USER@HOST copies both ways; scp's SFTP mode is told to use -O" {
        start_channel_server
        head -c 100000 /dev/urandom >"$BATS_TEST_TMPDIR/file"
        run scp -O -S "$NBNET_BIN/nbnet" -P "$CHANNEL_PORT" "$BATS_TEST_TMPDIR/file" \
                "$(id -un)@127.0.0.1:$BATS_TEST_TMPDIR/copy"
        assert_success
        cmp "$BATS_TEST_TMPDIR/file" "$BATS_TEST_TMPDIR/copy"
        run scp -O -S "$NBNET_BIN/nbnet" -P "$CHANNEL_PORT" "127.0.0.1:$BATS_TEST_TMPDIR/copy" \
                "$BATS_TEST_TMPDIR/back"
        assert_success
        cmp "$BATS_TEST_TMPDIR/file" "$BATS_TEST_TMPDIR/back"
        run scp -S "$NBNET_BIN/nbnet" -P "$CHANNEL_PORT" "$BATS_TEST_TMPDIR/file" "127.0.0.1:$BATS_TEST_TMPDIR/sftp"
        assert_failure
        [[ $output == *"nbnet: -s asks for an ssh subsystem (scp's default SFTP mode does); nbnet runs commands only: give scp -O"* ]]
}

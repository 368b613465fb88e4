#!/usr/bin/env bats
# The NBNET/1 protocol (doc/protocol.md), end to end against a real server.
# Runs once per server mode: NBNET_MODE=accept, inetd (see helpers.bash).

bats_require_minimum_version 1.5.0

load helpers

setup() {
        start_server --request-timeout 2
}

teardown() {
        stop_server
}

@test "the seed's ls example gives ls's output" {
        run --separate-stderr sh -c "echo -n 0000000002ls | nc -N 127.0.0.1 $PORT"
        assert_success
        assert_output "$(ls)"
}

# The seed's example with its sleep replaced by a wait for a file the test
# makes only once it has the first line: a server that held the output back
# until the command ended would never show that line (at most 10 s of wait).
@test "the seed's hostname&&sleep&&hostname example streams both lines, the first before the command ends" {
        local gate=$BATS_TEST_TMPDIR/gate out=$BATS_TEST_TMPDIR/out
        frame "hostname&&timeout 10 sh -c 'until [ -e $gate ]; do sleep 0.05; done'&&hostname" |
                timeout 20 nc -N 127.0.0.1 "$PORT" >"$out" &
        local client=$!
        if ! wait_until 5 grep -qx "$(hostname)" "$out"; then
                kill "$client" 2>/dev/null || true
                echo "no first line within 5 s while the command ran; got '$(cat -v "$out")'" >&2
                return 1
        fi
        touch "$gate"
        wait "$client"
        run cat "$out"
        assert_output "$(hostname)
$(hostname)"
}

@test "output is byte-identical to running the command locally" {
        local cmd="seq 1 2000; printf 'a\\000b\\377c\\r\\n'; ls -l /usr/bin | head -200"
        frame "$cmd" | nc -N 127.0.0.1 "$PORT" >"$BATS_TEST_TMPDIR/remote"
        sh -c "$cmd" >"$BATS_TEST_TMPDIR/local"
        cmp "$BATS_TEST_TMPDIR/local" "$BATS_TEST_TMPDIR/remote"
}

@test "20 MB of output arrive intact" {
        local want got
        want=$(seq 1 2600000 | sha256sum)
        got=$(frame "seq 1 2600000" | nc -N 127.0.0.1 "$PORT" | sha256sum)
        assert_equal "$got" "$want"
}

@test "more than 64 KiB of stderr arrive intact" {
        local want got
        want=$(seq 1 30000 | sha256sum)
        got=$(frame "seq 1 30000 >&2" | nc -N 127.0.0.1 "$PORT" | sha256sum)
        assert_equal "$got" "$want"
}

@test "stdout and stderr are both the connection, in order" {
        run sh -c "$(declare -f frame); frame 'echo out; echo err >&2; echo out2' | nc -N 127.0.0.1 $PORT"
        assert_output "out
err
out2"
}

@test "a bad header gets its line, no trailer without +, and runs nothing" {
        run $NBCLIENT "$PORT" --raw "00000x0004touch $BATS_TEST_TMPDIR/ran"
        assert_success
        assert_output "nbnet: bad header: byte 6 is 'x', not a digit (a request is [+][<][@], 10 digits of length, then the command)"
        [ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "a bad header with + gets its line and status 125" {
        $NBCLIENT "$PORT" --raw '+12345678-9' >"$BATS_TEST_TMPDIR/out"
        run head -c -18 "$BATS_TEST_TMPDIR/out"
        assert_output --partial "nbnet: bad header: byte 10 is '-'"
        assert_equal "$(trailer_status "$BATS_TEST_TMPDIR/out")" 125
}

@test "an empty command is a bad request" {
        $NBCLIENT "$PORT" --raw '+0000000000' >"$BATS_TEST_TMPDIR/out"
        run head -c -18 "$BATS_TEST_TMPDIR/out"
        assert_output "nbnet: empty command (length 0)"
        assert_equal "$(trailer_status "$BATS_TEST_TMPDIR/out")" 125
}

@test "a command over the limit is refused with both lengths and runs nothing" {
        local cmd
        cmd="touch $BATS_TEST_TMPDIR/ran; #$(head -c 70000 /dev/zero | tr '\0' x)"
        cmd=${cmd:0:70000}
        run sh -c "$(declare -f frame); frame \"\$1\" | nc -N 127.0.0.1 $PORT" _ "$cmd"
        assert_success
        assert_output "nbnet: command too long (70000 > 65536)"
        [ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "a command at the limit runs" {
        local cmd
        cmd="echo at-limit #$(head -c 70000 /dev/zero | tr '\0' x)"
        cmd=${cmd:0:65536}
        run sh -c "$(declare -f frame); frame \"\$1\" | nc -N 127.0.0.1 $PORT" _ "$cmd"
        assert_output "at-limit"
}

@test "a header of 9999999999 is refused at once, before any command byte" {
        run $NBCLIENT "$PORT" --raw '9999999999' --timeout 5 --elapsed-ms "$BATS_TEST_TMPDIR/ms"
        assert_success
        assert_output "nbnet: command too long (9999999999 > 65536)"
        local ms
        ms=$(cat "$BATS_TEST_TMPDIR/ms")
        (( ms < 1000 )) || fail "answered in $ms ms, expected under 1000 ms"
}

@test "a NUL byte in the command is a bad request and runs nothing" {
        run $NBCLIENT "$PORT" --raw "+0000000009echo a\\x00bc" --timeout 5
        assert_output --partial "nbnet: command contains a NUL byte"
        refute_output --partial "a"$'\n'
        [[ "$output" == *$'\x1e'"NBNET-STATUS 125" ]]
}

@test "a frame sent one byte at a time works" {
        run $NBCLIENT "$PORT" --command "echo one byte at a time" --plus --one-byte 0.005
        assert_output $'one byte at a time\n\x1eNBNET-STATUS 000'
}

@test "half a frame then silence is cut at the request timeout and runs nothing" {
        local t0 t1
        t0=$(date +%s%N)
        run $NBCLIENT "$PORT" --raw "0000000999touch $BATS_TEST_TMPDIR/ran" --timeout 10
        t1=$(date +%s%N)
        assert_success
        assert_output ""
        (( (t1 - t0) >= 1500000000 && (t1 - t0) < 6000000000 ))
        [ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "a client that resets while sleep runs leaves no process within a second" {
        local marker
        marker=$(unique_sleep)
        $NBCLIENT "$PORT" --command "$marker; echo not reached" --reset-after 0.5
        wait_until 1 no_process "$marker"
}

@test "a client that half-closes after the frame gets the whole output" {
        local want got
        want=$(seq 100000 | sha256sum)
        got=$($NBCLIENT "$PORT" --command "sleep 1; seq 100000" --half-close | sha256sum)
        assert_equal "$got" "$want"
}

@test "nc -N (FIN after the frame) gets the whole output" {
        local want got
        want=$(seq 100000 | sha256sum)
        got=$(frame "sleep 1; seq 100000" | nc -N 127.0.0.1 "$PORT" | sha256sum)
        assert_equal "$got" "$want"
}

@test "a killed client's command is gone within a second of its next write" {
        local marker=nbnet-date-loop-$$$RANDOM
        frame "while :; do date; sleep 0.1; done # $marker" | nc 127.0.0.1 "$PORT" >/dev/null &
        local nc_pid=$!
        wait_until 3 pgrep -f -- "$marker"
        kill -9 "$nc_pid"
        wait "$nc_pid" 2>/dev/null || true
        wait_until 1.5 no_process "$marker"
}

@test "a background child does not hold the connection open" {
        local marker t0 t1
        marker=$(unique_sleep)
        t0=$(date +%s%N)
        run $NBCLIENT "$PORT" --command "$marker & echo started" --plus --timeout 10
        t1=$(date +%s%N)
        assert_output $'started\n\x1eNBNET-STATUS 000'
        (( (t1 - t0) < 2000000000 ))
        wait_until 1 no_process "$marker"
}

@test "bytes sent after the frame cost the client no output" {
        local want
        want=$(seq 200000 | sha256sum)
        # The client reads only after the command is over and the server has
        # shut down its side: unread input then would have reset the connection.
        $NBCLIENT "$PORT" --command "seq 200000" --extra 300000 --read-delay 1 >"$BATS_TEST_TMPDIR/out"
        assert_equal "$(sha256sum <"$BATS_TEST_TMPDIR/out")" "$want"
}

@test "a frame dripped in too slowly is cut at the request timeout, counted from the start" {
        local t0 t1
        t0=$(date +%s%N)
        # 0.3 s between bytes never idles 2 s, but the whole frame takes over 20 s.
        run --separate-stderr $NBCLIENT "$PORT" --command "touch $BATS_TEST_TMPDIR/ran; # padding" \
                --one-byte 0.3 --timeout 30
        t1=$(date +%s%N)
        assert_output ""
        (( (t1 - t0) < 5000000000 ))
        [ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "a command that ignores SIGTERM is killed after the grace when the client resets" {
        local marker
        marker=$(unique_sleep)
        $NBCLIENT "$PORT" --command "trap '' TERM; $marker; echo not reached" --reset-after 0.5
        wait_until 2 no_process "$marker"
}

@test "a background child that ignores SIGTERM does not outlive its command" {
        local marker t0 t1
        marker=$(unique_sleep)
        t0=$(date +%s%N)
        run $NBCLIENT "$PORT" --command "(trap '' TERM; exec $marker) & echo bg" --plus --timeout 10
        t1=$(date +%s%N)
        assert_output $'bg
NBNET-STATUS 000'
        (( (t1 - t0) < 3000000000 ))
        no_process "$marker"
}

@test "a daemon that left the command's session (setsid) does not hold the connection" {
        local marker t0 t1
        marker=$(unique_sleep)
        t0=$(date +%s%N)
        run $NBCLIENT "$PORT" --command "setsid sh -c '$marker &'; echo bye" --plus --timeout 10
        t1=$(date +%s%N)
        assert_output $'bye
NBNET-STATUS 000'
        (( (t1 - t0) < 3000000000 ))
        wait_until 1 no_process "$marker"
}

@test "TCP keepalive is on while a command runs" {
        frame "sleep 2" | nc -N 127.0.0.1 "$PORT" >/dev/null &
        local nc_pid=$!
        wait_until 2 sh -c "ss -tnoH '( sport = :$PORT )' | grep -q keepalive"
        wait "$nc_pid"
}

@test "socat as a client gets the whole output" {
        run sh -c "$(declare -f frame); frame 'sleep 1; seq 3' | socat -t 10 - TCP:127.0.0.1:$PORT"
        assert_output "$(seq 3)"
}

@test "nc without -N gets the output and ends when the server closes" {
        run sh -c "$(declare -f frame); frame 'echo plain nc' | timeout 10 nc 127.0.0.1 $PORT"
        assert_success
        assert_output "plain nc"
}

@test "stopping the server ends the command it is running" {
        local marker
        marker=$(unique_sleep)
        frame "$marker" | nc -N 127.0.0.1 "$PORT" >/dev/null &
        local nc_pid=$!
        wait_until 3 pgrep -f -- "$marker"
        stop_server
        wait_until 1.5 no_process "$marker"
        wait "$nc_pid"
}

@test "status trailer: true is 0" {
        run $NBCLIENT "$PORT" --command "true" --plus
        assert_output $'\x1e'"NBNET-STATUS 000"
}

@test "status trailer: exit 3 is 3" {
        run $NBCLIENT "$PORT" --command "echo x; exit 3" --plus
        assert_output $'x\n\x1eNBNET-STATUS 003'
}

@test "status trailer: kill -9 \$\$ is 137" {
        run $NBCLIENT "$PORT" --command 'kill -9 $$' --plus
        assert_output $'\x1e'"NBNET-STATUS 137"
}

@test "status trailer: an unknown command is 127, from the shell" {
        $NBCLIENT "$PORT" --command 'no-such-command-nbnet' --plus >"$BATS_TEST_TMPDIR/out"
        assert_equal "$(trailer_status "$BATS_TEST_TMPDIR/out")" 127
}

@test "status trailer: the command timeout kills the group and gives 124" {
        stop_server
        start_server --command-timeout 1
        local marker t0 t1
        marker=$(unique_sleep)
        t0=$(date +%s%N)
        $NBCLIENT "$PORT" --command "echo before; $marker" --plus >"$BATS_TEST_TMPDIR/out"
        t1=$(date +%s%N)
        assert_equal "$(trailer_status "$BATS_TEST_TMPDIR/out")" 124
        run head -c -18 "$BATS_TEST_TMPDIR/out"
        assert_output "before"
        (( (t1 - t0) < 3000000000 ))
        wait_until 1 no_process "$marker"
}

@test "no trailer without +: output is byte for byte the command's" {
        run $NBCLIENT "$PORT" --command "printf abc"
        assert_output "abc"
}

@test "the command sees REMOTE_ADDR and REMOTE_PORT, and no LISTEN_ variable" {
        run $NBCLIENT "$PORT" --command 'echo "$REMOTE_ADDR"; env | grep -c "^LISTEN_\|^NOTIFY_SOCKET=\|^WATCHDOG_" || true'
        assert_line --index 0 "127.0.0.1"
        assert_line --index 1 "0"
        run $NBCLIENT "$PORT" --command 'echo "$REMOTE_PORT"'
        [[ "$output" =~ ^[0-9]+$ ]] && (( output > 0 && output < 65536 ))
}

@test "stdin is /dev/null: cat returns at once" {
        local t0 t1
        t0=$(date +%s%N)
        run $NBCLIENT "$PORT" --command 'cat; echo done' --plus --timeout 5
        t1=$(date +%s%N)
        assert_output $'done\n\x1eNBNET-STATUS 000'
        (( (t1 - t0) < 2000000000 ))
}

@test "the command has fds 0, 1, 2 only, SIGPIPE at default and its own session" {
        run $NBCLIENT "$PORT" --command 'ls /proc/self/fd | sort -n | tr "\n" " "; echo; grep -E "^(SigIgn|SigBlk)" /proc/self/status; ps -o sid= -o pgid= -p $$ | awk "{print (\$1 == \$2 && \$1 == $$) ? \"leader\" : \"not leader\"}"'
        assert_line --index 0 "0 1 2 3 "
        assert_line --index 1 --regexp "^SigBlk:[[:space:]]+0+$"
        assert_line --index 2 --regexp "^SigIgn:[[:space:]]+0+$"
        assert_line --index 3 "leader"
}

@test "the command's stdout is in blocking mode" {
        run $NBCLIENT "$PORT" --command 'python3 -c "import os; print(os.get_blocking(1), os.get_blocking(2))"'
        assert_output "True True"
}

@test "yes | head style commands end when the client goes away" {
        local marker=nbnet-yes-$$$RANDOM
        $NBCLIENT "$PORT" --command "yes $marker" --read-limit 100000 >/dev/null
        wait_until 1.5 no_process "yes $marker"
}

@test "the server logs one line per connection with peer, command and status" {
        $NBCLIENT "$PORT" --command "exit 4" --plus >/dev/null
        wait_until 2 grep -q '"exit 4" status 4' "$SERVER_LOG"
}

@test "the log's bytes sent are the 10 MB the client received, counted after the drain" {
        # A small window and a client that waits before it reads: when head
        # exits, megabytes are still in the server's send buffer, unsent.
        $NBCLIENT "$PORT" --command 'head -c 10000000 /dev/zero' --rcvbuf 65536 --read-delay 0.5 \
                >"$BATS_TEST_TMPDIR/out"
        assert_equal "$(stat -c %s "$BATS_TEST_TMPDIR/out")" 10000000
        wait_until 3 grep -q '"head -c 10000000 /dev/zero" status' "$SERVER_LOG"
        run grep '"head -c 10000000 /dev/zero" status' "$SERVER_LOG"
        assert_output --partial ", 10000000 bytes sent"
}

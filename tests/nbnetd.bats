#!/usr/bin/env bats
# nbnetd as a daemon: its limits, its resources over time, stopping, systemd
# notifications and usage errors. The protocol itself is protocol.bats's.
# NBNET_SANITIZED=1 (run-all, with NBNET_BIN=build/san/bin) skips the RSS bound only.

bats_require_minimum_version 1.5.0

load helpers

case $NBNET_MODE in
nbnetd | nbnetd-activated) ;;
*) NBNET_MODE=nbnetd ;;
esac
NBLOAD="python3 $TOP/tests/lib/nbload.py"

teardown() {
        stop_server
        if [ -n "${BG_PIDS:-}" ]; then
                kill $BG_PIDS 2>/dev/null || true
                wait $BG_PIDS 2>/dev/null || true
        fi
}

# nbnetd's descriptors, less those of its pool of per-command cgroups: the
# pool grows to the commands run at once (--max-running), and stays.
fd_count() {
        find "/proc/$SERVER_PID/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' | grep -vc '^/sys/fs/cgroup/'
}

rss_kb() {
        awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status"
}

fds_are() {
        [ "$(fd_count)" -eq "$1" ]
}

no_zombie_child() {
        ! pgrep -P "$SERVER_PID" -r Z >/dev/null
}

# Connections waiting in the kernel's accept queue of the test's listener.
backlog_is() {
        [ "$(ss -Hltn "sport = :$PORT" | awk '{ print $2 }')" = "$1" ]
}

# The server holds N connections more than when it started (one fd each).
holds() {
        fds_are $((BASE_FDS + $1))
}

# processes_are N PATTERN: exactly N processes' command lines match PATTERN.
processes_are() {
        [ "$(pgrep -fc -- "$2")" -eq "$1" ]
}

elapsed_ms() {
        echo $((($(date +%s%N) - $1) / 1000000))
}

@test "200 clients at once running true all get status 0" {
        start_server --max-per-source 256
        run $NBLOAD "$PORT" --command true --plus --concurrency 200 --requests 200 --timeout 30
        assert_success
        assert_output --partial "requests=200 ok=200 failed=0"
}

@test "an idle client and one that never reads do not slow a third client's hostname" {
        # --stop-timeout 0: the teardown need not wait for yes to be killed.
        start_server --stop-timeout 0
        python3 -c 'import socket, time; s = socket.create_connection(("127.0.0.1", '"$PORT"')); time.sleep(30)' &
        BG_PIDS="$!"
        local marker=nbnet-yes-$$$RANDOM
        python3 -c 'import socket, sys, time; s = socket.create_connection(("127.0.0.1", '"$PORT"')); s.sendall(sys.argv[1].encode()); time.sleep(30)' \
                "$(frame "yes $marker")" &
        BG_PIDS="$BG_PIDS $!"
        wait_until 5 pgrep -f -- "^yes $marker" >/dev/null
        local t0
        t0=$(date +%s%N)
        run $NBCLIENT "$PORT" --command hostname --plus --timeout 5
        local ms
        ms=$(elapsed_ms "$t0")
        assert_output "$(hostname)"$'\n\x1eNBNET-STATUS 000'
        echo "hostname took $ms ms"
        ((ms < 1000))
}

@test "at --max-connections 10 the 11th client evicts the idle connection that waited longest" {
        start_server --max-connections 10 --request-timeout 30
        BASE_FDS=$(fd_count)
        $NBLOAD "$PORT" --hold 10 --ready-file "$BATS_TEST_TMPDIR/ready" \
                --go-file "$BATS_TEST_TMPDIR/go" --timeout 30 >"$BATS_TEST_TMPDIR/hold.out" &
        BG_PIDS="$!"
        wait_until 10 test -e "$BATS_TEST_TMPDIR/ready"
        wait_until 5 holds 10
        run $NBCLIENT "$PORT" --command "echo eleventh" --plus --timeout 10
        assert_output $'eleventh\n\x1eNBNET-STATUS 000'
        wait_until 2 grep -q "evicted: the server was full (--max-connections) and it had waited longest" "$SERVER_LOG"
}

@test "at --max-connections 2 with both commands running, a third client waits in the backlog" {
        start_server --max-connections 2 --stop-timeout 0
        local m1 m2
        m1=$(unique_sleep)
        m2=$(unique_sleep)
        $NBCLIENT "$PORT" --command "$m1" --timeout 30 >/dev/null &
        BG_PIDS="$!"
        $NBCLIENT "$PORT" --command "$m2" --timeout 30 >/dev/null &
        BG_PIDS="$BG_PIDS $!"
        # Generous: python's start-up is slow on a loaded machine.
        wait_until 15 pgrep -f -- "^$m1" >/dev/null
        wait_until 15 pgrep -f -- "^$m2" >/dev/null
        $NBCLIENT "$PORT" --command "echo third" --timeout 30 >"$BATS_TEST_TMPDIR/3.out" &
        BG_PIDS="$BG_PIDS $!"
        wait_until 15 backlog_is 1
        pkill -f -- "^$m1"
        wait_until 10 grep -q third "$BATS_TEST_TMPDIR/3.out"
        run grep -c evicted "$SERVER_LOG"
        assert_output 0
}

# served_within MS N: N requests from 127.0.0.1, one after the other, each
# answered within MS from its connect (the client's own clock: python's
# start-up on a loaded machine is no server's delay).
served_within() {
        local i ms
        for ((i = 0; i < $2; i++)); do
                run $NBCLIENT "$PORT" --command "echo ok $i" --plus --timeout 10 --elapsed-ms "$BATS_TEST_TMPDIR/ms"
                assert_output "ok $i"$'\n\x1eNBNET-STATUS 000'
                ms=$(cat "$BATS_TEST_TMPDIR/ms")
                echo "request $i: $ms ms"
                ((ms < $1))
        done
}

@test "2,000 idle connections re-opened from one address: a normal client is served within 1 s, every time" {
        ulimit -n 8192
        start_server --request-timeout 60
        python3 "$TOP/tests/lib/nbidle.py" 127.0.0.1 "$PORT" --connections 2000 --seconds 40 \
                --ready-file "$BATS_TEST_TMPDIR/ready" >"$BATS_TEST_TMPDIR/idle.out" &
        BG_PIDS="$!"
        wait_until 20 test -e "$BATS_TEST_TMPDIR/ready"
        wait_until 10 grep -q "evicted [0-9]* connections from 127.0.0.1 in the last second" "$SERVER_LOG"
        served_within 1000 10
        # One line a second for the evictions, not one per connection.
        local lines
        lines=$(grep -c evicted "$SERVER_LOG")
        echo "$lines lines about evictions"
        ((lines < 60))
}

@test "while idle connections flood a full nbnetd, a normal client's 50 requests are all served, and evictions go on" {
        ulimit -n 8192
        start_server --max-connections 100 --request-timeout 60
        python3 "$TOP/tests/lib/nbidle.py" 127.0.0.1 "$PORT" --connections 400 --seconds 60 \
                --ready-file "$BATS_TEST_TMPDIR/ready" >"$BATS_TEST_TMPDIR/idle.out" &
        BG_PIDS="$!"
        wait_until 20 test -e "$BATS_TEST_TMPDIR/ready"
        wait_until 10 grep -q "evicted [0-9]* connections from 127.0.0.1 in the last second" "$SERVER_LOG"
        local before after
        before=$(grep -c evicted "$SERVER_LOG")
        # A generous bound per request: liveness, not latency (make bench measures
        # that). nbnet-load sends each frame as it connects, as nbnet does.
        run "$NBNET_BIN/nbnet-load" -c 1 -n 50 -t 10 --json "127.0.0.1:$PORT" true
        assert_success
        assert_output --partial '"requests": 50, "ok": 50,'
        # The flood was still being evicted, one log line a second, while they ran.
        wait_until 3 sh -c "[ \$(grep -c evicted '$SERVER_LOG') -gt $before ]"
        after=$(grep -c evicted "$SERVER_LOG")
        echo "eviction lines: $before before the requests, $after after"
}

@test "30 clients at once at --max-connections 10 are all served: a frame on its way is not evicted" {
        start_server --max-connections 10
        run "$NBNET_BIN/nbnet-load" -c 30 -n 90 -t 30 --json "127.0.0.1:$PORT" true
        assert_success
        assert_output --partial '"requests": 90, "ok": 90,'
        run grep -c evicted "$SERVER_LOG"
        assert_output 0
}

@test "--max-per-source 100, 2,000 connections re-opened from 127.0.0.2: a few log lines, others served" {
        ulimit -n 8192
        start_server --max-per-source 100 --request-timeout 60
        python3 "$TOP/tests/lib/nbidle.py" 127.0.0.1 "$PORT" --bind 127.0.0.2 --connections 2000 \
                --seconds 40 --ready-file "$BATS_TEST_TMPDIR/ready" >"$BATS_TEST_TMPDIR/idle.out" &
        BG_PIDS="$!"
        wait_until 20 test -e "$BATS_TEST_TMPDIR/ready"
        wait_until 10 grep -q "refused [0-9]* connections from 127.0.0.2 in the last second: too many connections from this address (--max-per-source)" "$SERVER_LOG"
        served_within 1000 5
        local lines
        lines=$(wc -l <"$SERVER_LOG")
        echo "$lines lines in the log"
        ((lines < 80))
}

@test "at --max-running 2 four sleep 1 finish in about 2 s and all succeed" {
        start_server --max-running 2
        run $NBLOAD "$PORT" --command "sleep 1" --plus --concurrency 4 --requests 4 --timeout 10
        assert_success
        assert_output --regexp "ok=4 failed=0 seconds=(1\.9|2\.|3\.[0-4])"
}

@test "a queued request is answered busy with 125 once its wait passes the request timeout" {
        start_server --max-running 1 --request-timeout 1 --stop-timeout 0
        local marker
        marker=$(unique_sleep)
        $NBCLIENT "$PORT" --command "$marker" --timeout 10 >/dev/null &
        BG_PIDS="$!"
        wait_until 3 pgrep -f -- "^$marker" >/dev/null
        local t0
        t0=$(date +%s%N)
        $NBCLIENT "$PORT" --command "echo ran" --plus --timeout 5 >"$BATS_TEST_TMPDIR/out"
        local ms
        ms=$(elapsed_ms "$t0")
        run head -c -18 "$BATS_TEST_TMPDIR/out"
        assert_output --regexp "^nbnet: busy"
        assert_equal "$(trailer_status "$BATS_TEST_TMPDIR/out")" 125
        echo "answered after $ms ms"
        ((ms >= 900 && ms < 3000))
}

@test "--max-per-source closes an address's extra connection unanswered, not another address's" {
        start_server --max-per-source 2 --request-timeout 30
        BASE_FDS=$(fd_count)
        $NBLOAD "$PORT" --hold 2 --ready-file "$BATS_TEST_TMPDIR/ready" \
                --go-file "$BATS_TEST_TMPDIR/go" --timeout 30 >/dev/null &
        BG_PIDS="$!"
        wait_until 10 test -e "$BATS_TEST_TMPDIR/ready"
        wait_until 5 holds 2
        run $NBCLIENT "$PORT" --command "echo third" --timeout 5
        refute_output --partial "third"
        run $NBCLIENT "$PORT" --bind 127.0.0.2 --command "echo other" --timeout 5
        assert_output "other"
        grep -q "max-per-source" "$SERVER_LOG"
}

@test "a long command on one connection does not hold another open" {
        start_server --stop-timeout 0
        local marker
        marker=$(unique_sleep)
        $NBCLIENT "$PORT" --command "$marker" --timeout 30 >/dev/null &
        BG_PIDS="$!"
        wait_until 3 pgrep -f -- "^$marker" >/dev/null
        local t0
        t0=$(date +%s%N)
        run sh -c "$(declare -f frame); frame 'echo short' | nc -N 127.0.0.1 $PORT"
        local ms
        ms=$(elapsed_ms "$t0")
        assert_output "short"
        ((ms < 2000))
        # Close-on-exec: the long command holds no descriptor but its own three.
        run ls "/proc/$(pgrep -f -- "^$marker")/fd"
        assert_output $'0\n1\n2'
}

@test "after 2,000 requests descriptors and RSS are back and no zombie is left" {
        start_server --max-running 8
        # Warm up: the allocator and sd-event's structures reach their working size.
        $NBLOAD "$PORT" --command "true" --plus --concurrency 8 --requests 200 >/dev/null
        wait_until 5 no_zombie_child
        local fds rss
        fds=$(fd_count)
        rss=$(rss_kb)
        run $NBLOAD "$PORT" --command "echo x; true & exit 3" --plus --expect-status 3 \
                --concurrency 8 --requests 2000 --timeout 30
        assert_success
        wait_until 5 fds_are "$fds"
        wait_until 5 no_zombie_child
        echo "RSS before $rss kB, after $(rss_kb) kB"
        # AddressSanitizer keeps freed memory in quarantine; there leaks are its to find.
        [ -n "${NBNET_SANITIZED:-}" ] || (($(rss_kb) <= rss + 256))
}

@test "an orphan that left its group and the connection is reaped, not left a zombie" {
        start_server
        # Not holding the connection, it is left to run; when it exits, it is ours to reap.
        run $NBCLIENT "$PORT" --command "setsid sh -c 'sleep 0.5 </dev/null >/dev/null 2>&1 &'; echo started" --plus
        assert_output $'started\n\x1eNBNET-STATUS 000'
        wait_until 5 no_zombie_child
        # Give the escaped sleep the time to end, then look for its zombie.
        wait_until 5 sh -c "! pgrep -x sleep -P $SERVER_PID >/dev/null"
        wait_until 2 no_zombie_child
}

@test "1,000 idle connections are held, then served in turn" {
        ulimit -n 8192
        start_server --max-connections 1100 --max-per-source 1100 --request-timeout 60
        BASE_FDS=$(fd_count)
        $NBLOAD "$PORT" --hold 1000 --ready-file "$BATS_TEST_TMPDIR/ready" \
                --go-file "$BATS_TEST_TMPDIR/go" --timeout 60 >"$BATS_TEST_TMPDIR/hold.out" &
        local hold_pid=$!
        BG_PIDS="$hold_pid"
        wait_until 20 test -e "$BATS_TEST_TMPDIR/ready"
        wait_until 10 holds 1000
        touch "$BATS_TEST_TMPDIR/go"
        wait "$hold_pid"
        assert_equal "$(cat "$BATS_TEST_TMPDIR/hold.out")" "held=1000 served=1000"
        wait_until 10 fds_are "$BASE_FDS"
}

@test "SIGTERM with 20 commands running: all gone after --stop-timeout, exit 0" {
        start_server --stop-timeout 1
        local marker
        marker=$(unique_sleep)
        $NBLOAD "$PORT" --command "$marker" --plus --concurrency 20 --requests 20 --timeout 30 \
                >/dev/null 2>&1 &
        BG_PIDS="$!"
        wait_until 10 processes_are 20 "^$marker"
        local t0 rc=0 ms
        t0=$(date +%s%N)
        kill -TERM "$SERVER_PID"
        wait_until 8 server_gone
        ms=$(elapsed_ms "$t0")
        wait "$SERVER_PID" || rc=$?
        SERVER_PID=
        assert_equal "$rc" 0
        echo "stopped after $ms ms"
        ((ms >= 900))
        wait_until 1 no_process "$marker"
}

@test "systemd sees READY=1, STATUS= and STOPPING=1 on NOTIFY_SOCKET" {
        local sock=$BATS_TEST_TMPDIR/notify log=$BATS_TEST_TMPDIR/notify.log
        python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
with open(sys.argv[2], "ab", buffering=0) as out:
    while True:
        d = s.recv(4096)
        out.write(d + b"\n")
        if b"STOPPING=1" in d:
            break
' "$sock" "$log" &
        BG_PIDS="$!"
        wait_until 5 test -S "$sock"
        NOTIFY_SOCKET=$sock start_server
        wait_until 5 grep -q "^READY=1" "$log"
        grep -q "^STATUS=0 connections, 0 running, 0 queued, 0 served, 0 refused" "$log"
        $NBCLIENT "$PORT" --command true >/dev/null
        wait_until 3 grep -q "1 served" "$log"
        kill -TERM "$SERVER_PID"
        wait_until 5 grep -q "^STOPPING=1" "$log"
}

@test "the counts (STATUS=, SIGHUP's line) count every refusal: 126 not allowed, 125 bad frame" {
        local table=$BATS_TEST_TMPDIR/commands
        echo "one = echo first" >"$table"
        start_server --commands "$table"
        run $NBCLIENT "$PORT" --command one
        assert_output "first"
        run $NBCLIENT "$PORT" --command "rm -rf /tmp/x" --plus
        assert_output $'nbnet: command not allowed\n\x1eNBNET-STATUS 126'
        printf '00000000x1' | nc -N 127.0.0.1 "$PORT" >/dev/null
        wait_until 2 grep -q "bad header" "$SERVER_LOG"
        kill -HUP "$SERVER_PID"
        wait_until 2 grep -q "0 queued, 1 served, 2 refused" "$SERVER_LOG"
}

@test "the activated daemon serves both of systemd's sockets, IPv4 and IPv6" {
        NBNET_MODE=nbnetd-activated
        start_server
        run $NBCLIENT "$PORT" --command "echo v4" --plus
        assert_output $'v4\n\x1eNBNET-STATUS 000'
        run $NBCLIENT "$PORT" --host ::1 --command "echo v6" --plus
        assert_output $'v6\n\x1eNBNET-STATUS 000'
}

@test "the connection that starts the activated daemon has TCP keepalive too" {
        # systemd-socket-activate, like Accept=no, starts nbnetd on the first
        # connection: it was queued before nbnetd set keepalive on the listener.
        PORT=$(free_port)
        SERVER_LOG=$BATS_TEST_TMPDIR/server.log
        setsid systemd-socket-activate -E ASAN_OPTIONS -E UBSAN_OPTIONS -l "127.0.0.1:$PORT" \
                "$NBNET_BIN/nbnetd" 2>"$SERVER_LOG" &
        SERVER_PID=$!
        wait_until 5 sh -c "ss -ltnH '( sport = :$PORT )' | grep -q LISTEN"
        frame "sleep 2" | nc -N 127.0.0.1 "$PORT" >/dev/null &
        BG_PIDS=$!
        wait_until 5 sh -c "ss -tnoH '( sport = :$PORT )' | grep -q keepalive" || {
                ss -tnoH "( sport = :$PORT )"
                false
        }
}

@test "--listen PATH serves a Unix stream socket" {
        local sock=$BATS_TEST_TMPDIR/nbnetd.sock
        "$NBNET_BIN/nbnetd" --listen "$sock" 2>"$BATS_TEST_TMPDIR/server.log" &
        SERVER_PID=$!
        wait_until 5 test -S "$sock"
        run $NBCLIENT --unix "$sock" --command 'echo "unix:${REMOTE_ADDR:-none}"' --plus
        assert_output $'unix:none\n\x1eNBNET-STATUS 000'
}

@test "--listen PATH refuses a socket a live server listens on, removes its own at exit, replaces a stale one, keeps other files" {
        local sock=$BATS_TEST_TMPDIR/nbnetd.sock file=$BATS_TEST_TMPDIR/file
        "$NBNET_BIN/nbnetd" --listen "$sock" 2>"$BATS_TEST_TMPDIR/server.log" &
        SERVER_PID=$!
        wait_until 5 test -S "$sock"
        run --separate-stderr timeout 10 "$NBNET_BIN/nbnetd" --listen "$sock"
        assert_failure 1
        [[ "$stderr" == *"--listen '$sock': a server is already listening there"* ]]
        # The first server still has its socket.
        run $NBCLIENT --unix "$sock" --command 'echo still' --plus
        assert_output $'still\n\x1eNBNET-STATUS 000'
        # A server that stops removes its socket file.
        kill "$SERVER_PID"
        wait "$SERVER_PID" || true
        [ ! -e "$sock" ]
        # One a crashed server left, which nothing listens on, is stale: a new server takes the path.
        python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$sock"
        test -S "$sock"
        "$NBNET_BIN/nbnetd" --listen "$sock" 2>>"$BATS_TEST_TMPDIR/server.log" &
        SERVER_PID=$!
        wait_until 5 $NBCLIENT --unix "$sock" --command 'echo new' --timeout 2
        run $NBCLIENT --unix "$sock" --command 'echo new' --plus
        assert_output $'new\n\x1eNBNET-STATUS 000'
        echo keep >"$file"
        run --separate-stderr timeout 10 "$NBNET_BIN/nbnetd" --listen "$file"
        assert_failure 1
        [[ "$stderr" == *"exists and is not a socket"* ]]
        [ "$(cat "$file")" = keep ]
}

# churn N IDLE: N connections one after another, a quarter each closed at
# once, reset, cut after a bad header, cut after half a header; then IDLE
# more that send nothing until the server closes them (10 s at most).
churn() {
        python3 - "$PORT" "$1" "$2" <<'PY'
import socket, struct, sys, time
port, n, idle = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if i % 4 == 1:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    elif i % 4 == 2:
        s.sendall(b"00000x0001")
    elif i % 4 == 3:
        s.sendall(b"00000")
    s.close()
held = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(idle)]
for s in held:
    try:
        s.recv(1)
    except OSError:
        pass
    s.close()
PY
}

# The connections the log accounts for: each record of a connection that
# sent no command, and the counts of the summary lines.
logged_connections() {
        awk '
                / nbnetd: [^ ]+ - status / { n++ }
                match($0, /nbnetd: (closed|refused) [0-9]+ connections? from /) {
                        split(substr($0, RSTART, RLENGTH), w, " "); n += w[3]
                }
                END { print n + 0 }' "$SERVER_LOG"
}

@test "5,000 clients that connect and close make a few log lines, with counts; requests are all logged" {
        start_server --request-timeout 0.5
        # start_server's probes: one connection to each address, closed at once.
        local want=5101
        [ "$NBNET_MODE" = nbnetd-activated ] && want=5102
        churn 5000 100 &
        BG_PIDS="$!"
        local i
        for i in 1 2 3; do
                run $NBCLIENT "$PORT" --command "echo audit $i"
                assert_output "audit $i"
        done
        wait "$BG_PIDS"
        BG_PIDS=
        # Every connection is accounted for, in a record or a count, once a
        # second per reason: closed, reset, bad header, half a header, timeout.
        wait_until 10 eval '[ "$(logged_connections)" -eq "$want" ]' || {
                echo "accounted for: $(logged_connections) of $want; the log:" >&2
                grep -v 'audit' "$SERVER_LOG" >&2
                false
        }
        grep -Eq "closed [0-9]+ connections from [^ ]+( and other addresses)? in the last second: client closed before sending a whole frame" "$SERVER_LOG"
        grep -Eq "closed [0-9]+ connections from [^ ]+( and other addresses)? in the last second: reset or failed before a whole frame came" "$SERVER_LOG"
        grep -Eq "refused [0-9]+ connections from [^ ]+( and other addresses)? in the last second: bad frame \(status 125\)" "$SERVER_LOG"
        grep -Eq "closed [0-9]+ connections from [^ ]+( and other addresses)? in the last second: request timeout: the frame did not arrive in time" "$SERVER_LOG"
        local lines
        lines=$(wc -l <"$SERVER_LOG")
        echo "$lines lines for $want connections and 3 requests"
        ((lines < 100))
        # Each request that ran has its own record: the audit trail.
        for i in 1 2 3; do
                grep -q "\"echo audit $i\" status 0 in " "$SERVER_LOG"
        done
}

@test "nbnetd's lines on stderr start with the time" {
        start_server
        # (systemd-socket-activate's own lines have none: not nbnetd's.)
        wait_until 2 grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}[+-][0-9]{2}:[0-9]{2} nbnetd: listening on ' "$SERVER_LOG"
        $NBCLIENT "$PORT" --command true
        wait_until 2 grep -Eq '^[0-9-]{10}T[0-9:.]{12}[+-][0-9:]{5} nbnetd: 127\.0\.0\.1:[0-9]+ "true" status 0 in ' "$SERVER_LOG"
        run grep -c '^nbnetd:' "$SERVER_LOG"
        assert_output 0
}

@test "--help describes every option and exits 0; --version prints the version" {
        run "$NBNET_BIN/nbnetd" --help
        assert_success
        for opt in --listen --max-connections --max-running --max-per-source --max-command \
                --request-timeout --command-timeout --stop-timeout --metrics-file \
                --metrics-instance --version; do
                assert_output --partial -- "$opt"
        done
        run "$NBNET_BIN/nbnetd" --version
        assert_success
        assert_output --regexp '^nbnetd [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "usage errors exit 2 and say what is allowed" {
        run --separate-stderr "$NBNET_BIN/nbnetd"
        assert_failure 2
        [[ "$stderr" == *"--listen"* ]]
        run --separate-stderr "$NBNET_BIN/nbnetd" --listen 127.0.0.1:1 --max-running 0
        assert_failure 2
        [[ "$stderr" == *"--max-running must be 1..65536, got '0'"* ]]
        run --separate-stderr "$NBNET_BIN/nbnetd" --listen localhost:9079
        assert_failure 2
        [[ "$stderr" == *"not an IPv4 address"* ]]
        run --separate-stderr "$NBNET_BIN/nbnetd" --listen 127.0.0.1:99999
        assert_failure 2
        [[ "$stderr" == *"1..65535"* ]]
        run --separate-stderr "$NBNET_BIN/nbnetd" --listen '[::1]'
        assert_failure 2
        [[ "$stderr" == *"--listen [::1]: no port; use [::1]:9079"* ]]
        run --separate-stderr "$NBNET_BIN/nbnetd" --listen relative.sock
        assert_failure 2
        [[ "$stderr" == *"a Unix socket path must start with / or ./"* ]]
        # Decimal seconds only: hex, exponents and signs are refused.
        run --separate-stderr "$NBNET_BIN/nbnetd" --listen 127.0.0.1:1 --request-timeout 0x10
        assert_failure 2
        [[ "$stderr" == *"--request-timeout must be 0.001..86400 seconds, in decimal (e.g. 2.5), got '0x10'"* ]]
        run --separate-stderr "$NBNET_BIN/nbnetd" --listen 127.0.0.1:1 --stop-timeout 1e-9
        assert_failure 2
        [[ "$stderr" == *"--stop-timeout must be 0..86400 seconds, in decimal (e.g. 2.5), got '1e-9'"* ]]
        run --separate-stderr "$NBNET_BIN/nbnetd" --listen 127.0.0.1:1 --max-connections 0x10
        assert_failure 2
        [[ "$stderr" == *"--max-connections must be 1..65536, got '0x10'"* ]]
        run --separate-stderr "$NBNET_BIN/nbnetd" --bogus
        assert_failure 2
        [[ "$stderr" == *"--help"* ]]
        # getopt's own message names the program as the others do, not its path.
        [[ "$stderr" == "nbnetd: unrecognized option '--bogus'"* ]]
}

@test "SIGHUP reads the --commands table again, and keeps it when the new one is bad" {
        local table=$BATS_TEST_TMPDIR/commands
        echo "one = echo first" >"$table"
        start_server --commands "$table"
        run $NBCLIENT "$PORT" --command one
        assert_output "first"
        printf '%s\n' "one = echo second" "two = echo added" >"$table"
        kill -HUP "$SERVER_PID"
        wait_until 2 grep -q "reloaded, 2 commands" "$SERVER_LOG"
        run $NBCLIENT "$PORT" --command two
        assert_output "added"
        echo "a broken line" >"$table"
        kill -HUP "$SERVER_PID"
        # The reason, and no errno text after it.
        wait_until 2 grep -q "$table:1: expected 'name = command line'; keeping the table in force\$" "$SERVER_LOG"
        run $NBCLIENT "$PORT" --command one
        assert_output "second"
}

@test "SIGHUP with --commands replaced by a FIFO keeps the table in force and serves on" {
        local table=$BATS_TEST_TMPDIR/commands
        echo "one = echo first" >"$table"
        start_server --commands "$table"
        rm "$table"
        mkfifo "$table"
        kill -HUP "$SERVER_PID"
        wait_until 2 grep -q "$table: not a regular file; keeping the table in force" "$SERVER_LOG"
        run $NBCLIENT "$PORT" --command one --timeout 5
        assert_output "first"
}

@test "a descriptor limit of 48 still allows 6 connections at once, and the warning says what to raise" {
        # By hand the limit is the shell's; started by systemd, the unit's.
        local raise="raise ulimit -n"
        [ "$NBNET_MODE" != nbnetd-activated ] || raise="raise LimitNOFILE="
        SERVER_WRAPPER="prlimit --nofile=48:48" start_server
        run $NBCLIENT "$PORT" --command "echo small" --plus
        assert_output $'small\n\x1eNBNET-STATUS 000'
        # A quarter of 48 is below the 24-descriptor minimum: (48 - 24) / 4 = 6
        # (a socket, a pidfd and a cgroup's two a connection).
        wait_until 2 grep -q "descriptor limit 48 .*: serving 6 at once; $raise" "$SERVER_LOG"
}

@test "a descriptor limit of 10 or 12 is a startup error that says how many are needed" {
        local n
        PORT=$(free_port)
        for n in 10 12; do
                run --separate-stderr timeout 10 prlimit --nofile=$n:$n "$NBNET_BIN/nbnetd" --listen "127.0.0.1:$PORT"
                assert_failure 1
                [[ "$stderr" == *"the descriptor limit $n is too low to serve one connection: nbnetd needs at least "[0-9]*" ("*"open at start, 4 per connection"*"; raise ulimit -n"* ]]
                [[ "$stderr" != *"listening on"* ]]
        done
}

@test "a descriptor limit just short of --max-connections' need never serves more than it" {
        SERVER_WRAPPER="prlimit --nofile=80:80" start_server --max-connections 10
        run $NBCLIENT "$PORT" --command "echo ten" --plus
        assert_output $'ten\n\x1eNBNET-STATUS 000'
        wait_until 2 grep -q "listening on .*; at most 10 connections" "$SERVER_LOG"
}

@test "--listen PATH does not hang on a live server whose backlog is full" {
        local sock=$BATS_TEST_TMPDIR/full.sock
        # A listener that never accepts, its backlog (0) filled by one client.
        /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(0)
c = socket.socket(socket.AF_UNIX)
c.connect(sys.argv[1])
time.sleep(30)
' "$sock" &
        BG_PIDS=$!
        wait_until 5 test -S "$sock"
        run --separate-stderr timeout 10 "$NBNET_BIN/nbnetd" --listen "$sock"
        assert_failure 1
        [[ "$stderr" == *"--listen '$sock': a server is already listening there"* ]]
}

@test "the log says once what is wrong with --commands, and nbnetd does not start" {
        refused_at_start "--commands $BATS_TEST_TMPDIR/missing: No such file or directory" \
                --commands "$BATS_TEST_TMPDIR/missing"
        # The line, after its time: nbnetd's lines on stderr start with one.
        grep -q "[0-9] nbnetd: --commands $BATS_TEST_TMPDIR/missing: No such file or directory; nbnetd does not start: fix the table, then start it again\$" "$SERVER_LOG"
        [ "$(grep -o "No such file or directory" "$SERVER_LOG" | wc -l)" -eq 1 ]
        # With nothing to listen on, that is the one message: the table is not read.
        run --separate-stderr "$NBNET_BIN/nbnetd" --commands "$BATS_TEST_TMPDIR/missing"
        assert_failure 2
        [[ "$stderr" == "nbnetd: nothing to listen on"* ]]
        [[ "$stderr" != *"--commands"* ]]
}

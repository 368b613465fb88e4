#!/usr/bin/env bats
# Fault tests: slow clients, clients that stop reading or reset in
# the middle of a large output, commands that misbehave, and nbnetd out of
# descriptors. Runs once per server mode: NBNET_MODE=accept or nbnetd (tests
# marked "nbnetd:" are skipped under the handler).
#
# Already covered elsewhere, so not repeated here:
# - a frame dripped too slowly is cut at the request timeout, counted from the
#   start: protocol.bats "a frame dripped in too slowly is cut at the request
#   timeout, counted from the start" (0.3 s a byte, 2 s timeout);
# - a fork bomb under --limit-nproc ends and the server still serves:
#   security.bats "--limit-nproc: a fork bomb ends, and the server still serves"
#   (here: the connection ends with the main process and the server's
#   descriptors and children are back at their baseline afterwards);
# - a daemon that left the command's session does not hold the connection and
#   is gone within a second: protocol.bats "a daemon that left the command's
#   session (setsid) does not hold the connection" (here: the baseline after it);
# - an idle client and one that never reads do not slow a third client:
#   nbnetd.bats (here: a stopped client with 100 MB pending, both modes).

bats_require_minimum_version 1.5.0

load helpers

NBFAULT="/usr/bin/python3 $TOP/tests/lib/nbfault.py"

teardown() {
        if [ -n "${STOPPED_PID:-}" ]; then
                kill -CONT "$STOPPED_PID" 2>/dev/null || true
        fi
        if [ -n "${BG_PIDS:-}" ]; then
                kill "$BG_PIDS" 2>/dev/null || true
                wait "$BG_PIDS" 2>/dev/null || true
        fi
        stop_server
        if [ -n "${CGROUP:-}" ]; then
                remove_pids_cgroup "$CGROUP"
        fi
}

only_nbnetd() {
        case $NBNET_MODE in
        nbnetd | nbnetd-activated) ;;
        *) skip "nbnetd only" ;;
        esac
}

# The server's descriptors and those of its children (the handlers under
# --accept, the commands under nbnetd), and how many children it has.
server_footprint() {
        local pid fds=0 kids=0
        for pid in $SERVER_PID $(pgrep -P "$SERVER_PID"); do
                [ "$pid" = "$SERVER_PID" ] || kids=$((kids + 1))
                fds=$((fds + $(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)))
        done
        echo "fds=$fds children=$kids"
}

footprint_is() {
        [ "$(server_footprint)" = "$1" ]
}

# utime + stime of PID in clock ticks.
cpu_ticks() {
        awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# A server's descriptors, less those of nbnetd's pool of per-command
# cgroups, which grows to the commands run at once and stays.
fd_count() {
        find "/proc/$1/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' | grep -vc '^/sys/fs/cgroup/'
}

# For wait_until: counted anew at every try (a "$(...)" argument is counted once).
fd_count_is() {
        [ "$(fd_count "$1")" -eq "$2" ]
}

field() {
        sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"
}

@test "a frame at one byte per 100 ms within the request timeout runs" {
        start_server --request-timeout 5
        # 17 bytes: 1.7 s, well inside 5 s.
        run $NBCLIENT "$PORT" --command "echo dripped" --plus --one-byte 0.1 --timeout 10
        assert_output $'dripped\n\x1eNBNET-STATUS 000'
}

@test "nbnetd: 200 clients dripping a frame at one byte per 100 ms do not delay another past 1 s" {
        only_nbnetd
        start_server --max-per-source 512
        $NBFAULT drip "$PORT" --clients 200 --interval 0.1 --command "echo drip" --expect drip \
                --ready-file "$BATS_TEST_TMPDIR/ready" --timeout 30 >"$BATS_TEST_TMPDIR/drip.out" &
        local drip_pid=$!
        BG_PIDS=$drip_pid
        wait_until 20 test -e "$BATS_TEST_TMPDIR/ready"
        # Three requests while the 200 frames trickle in (each frame takes about 2.4 s).
        local i out ms worst=0
        for i in 1 2 3; do
                out=$($NBFAULT fetch "$PORT" --command "echo normal" --plus --timeout 10)
                echo "normal client $i: $out"
                [ "$(field status "$out")" = 0 ]
                [ "$(field bytes "$out")" = 7 ]
                ms=$(field ms "$out")
                ((ms > worst)) && worst=$ms
                # The first request at least was made while the frames trickled in.
                [ "$i" -gt 1 ] || kill -0 "$drip_pid"
                sleep 0.3
        done
        wait "$drip_pid"
        BG_PIDS=
        cat "$BATS_TEST_TMPDIR/drip.out"
        assert_equal "$(cat "$BATS_TEST_TMPDIR/drip.out")" "dripped=200 answered=200"
        echo "slowest normal request: $worst ms"
        ((worst < 1000))
}

@test "a client stopped while 100 MB are written blocks its command only, then gets all 100 MB" {
        start_server
        local marker=nbnet-fault-gen-$$$RANDOM sums=$BATS_TEST_TMPDIR/sums
        # The command checksums what it writes through a fifo; wait lets the
        # checksum finish before the main process ends and its group is killed.
        local cmd="mkfifo $sums.fifo && sha256sum <$sums.fifo >$sums & sleep 0.1; head -c 100000000 /dev/urandom | tee $sums.fifo; wait # $marker"
        $NBFAULT fetch "$PORT" --command "$cmd" --plus --pid-file "$BATS_TEST_TMPDIR/pid" --timeout 60 \
                >"$BATS_TEST_TMPDIR/out" &
        BG_PIDS=$!
        wait_until 5 test -s "$BATS_TEST_TMPDIR/pid"
        STOPPED_PID=$(cat "$BATS_TEST_TMPDIR/pid")
        wait_until 5 pgrep -f -- "$marker" >/dev/null
        kill -STOP "$STOPPED_PID"
        # The command fills the socket's buffers and blocks: the server's send
        # queue stops moving while the generator lives on.
        send_queue() { ss -tnH state established "( sport = :$PORT )" | awk '{ s += $2 } END { print s + 0 }'; }
        queue_stuck() {
                local q
                q=$(send_queue)
                sleep 0.2
                ((q > 0)) && [ "$(send_queue)" = "$q" ]
        }
        wait_until 10 queue_stuck
        echo "send queue stuck at $(send_queue) bytes"
        pgrep -f -- "$marker" >/dev/null
        [ ! -s "$sums" ]
        # Meanwhile another client is served.
        run $NBFAULT fetch "$PORT" --command "echo meanwhile" --plus --timeout 10
        echo "other client: $output"
        [ "$(field status "$output")" = 0 ]
        (($(field ms "$output") < 2000))
        pgrep -f -- "$marker" >/dev/null
        kill -CONT "$STOPPED_PID"
        STOPPED_PID=
        wait "$BG_PIDS"
        BG_PIDS=
        local out
        out=$(cat "$BATS_TEST_TMPDIR/out")
        echo "stopped client: $out"
        assert_equal "$(field bytes "$out")" 100000000
        assert_equal "$(field status "$out")" 0
        assert_equal "$(field sha256 "$out")" "$(awk '{ print $1 }' "$sums")"
}

@test "a reset in the middle of 1 GB of output ends the command within a second; the next client is served" {
        start_server
        local marker=nbnet-fault-gig-$$$RANDOM
        # Reads 50 MB of the gigabyte, then closes with SO_LINGER 0: a RST.
        $NBCLIENT "$PORT" --command "yes $marker | head -c 1000000000" --read-limit 50000000 --timeout 30 >/dev/null
        wait_until 1 no_process "$marker"
        run $NBCLIENT "$PORT" --command "echo next" --plus --timeout 10
        assert_output $'next\n\x1eNBNET-STATUS 000'
}

# Runs COMMAND (which must contain MARKER), checks that the connection ends
# within LIMIT_MS of the request and that no process with MARKER is left.
ends_with_main() {
        local cmd=$1 want=$2 limit_ms=$3 marker=$4 t0 ms
        t0=$(date +%s%N)
        run $NBCLIENT "$PORT" --command "$cmd" --plus --timeout 20
        ms=$((($(date +%s%N) - t0) / 1000000))
        echo "$cmd: $ms ms"
        assert_output "$want"
        ((ms < limit_ms))
        wait_until 2 no_process "$marker"
}

@test "a fork bomb, closed fds 1 and 2, and a daemon: each connection ends with its main process, the server is back at baseline" {
        # RLIMIT_NPROC does not bind root: a uid of its own (unused_uid), in a
        # pids cgroup of our own (as security.bats does), so that a mistake
        # cannot take the machine down.
        local uid
        uid=$(unused_uid)
        use_pids_cgroup 200
        SERVER_WRAPPER="$TOP/tests/lib/in-pids-cgroup $CGROUP setpriv --reuid=$uid --regid=$uid --clear-groups" \
                start_server --limit-nproc 20
        local base marker
        run $NBCLIENT "$PORT" --command "echo warm" --plus
        assert_output $'warm\n\x1eNBNET-STATUS 000'
        wait_until 5 sh -c "[ \"\$(pgrep -cP $SERVER_PID)\" -eq 0 ]"
        base=$(server_footprint)
        echo "baseline: $base"
        marker=nbnet-fault-bomb-$$$RANDOM
        # The bomb runs on after the main process ends; its group is killed.
        ends_with_main "bomb() { bomb | bomb & }; bomb 2>/dev/null; echo main done # $marker" \
                $'main done\n\x1eNBNET-STATUS 000' 3000 "$marker"
        marker=$(unique_sleep)
        # Main closes the connection's fds and runs on: the trailer still comes when it ends.
        ends_with_main "echo closing; exec >&- 2>&-; $marker & sleep 1" \
                $'closing\n\x1eNBNET-STATUS 000' 3000 "$marker"
        marker=$(unique_sleep)
        ends_with_main "setsid sh -c '$marker &'; echo daemonized" \
                $'daemonized\n\x1eNBNET-STATUS 000' 3000 "$marker"
        wait_until 5 footprint_is "$base" || {
                echo "footprint $(server_footprint), baseline $base"
                ps -o pid,ppid,pgid,stat,args --ppid "$SERVER_PID" || true
                return 1
        }
        # The cgroup holds the server alone again.
        wait_until 5 cgroup_procs_are "$CGROUP" 1
}

@test "a command that closes fds 1 and 2 ends the connection when it exits, not before" {
        start_server
        local t0 ms marker
        # A background child with fds 1 and 2 closed too: nothing of the
        # connection keeps it, only the kill of the group when the main ends.
        marker=$(unique_sleep)
        t0=$(date +%s%N)
        run $NBCLIENT "$PORT" --command "exec >&- 2>&-; $marker & sleep 1.2" --plus --timeout 10
        ms=$((($(date +%s%N) - t0) / 1000000))
        echo "took $ms ms"
        assert_output $'\x1eNBNET-STATUS 000'
        ((ms >= 1200 && ms < 4000))
        # Both servers send the trailer only once the group is gone.
        no_process "$marker" || {
                echo "the background '$marker' outlived the trailer:" >&2
                pgrep -a -f -- "$marker" >&2
                pkill -f -- "$marker" || true
                return 1
        }
}

@test "nbnetd: at ulimit -n 256, 1,000 clients wait without a busy loop and are all served once load drops" {
        only_nbnetd
        SERVER_WRAPPER="prlimit --nofile=256:256" \
                start_server --request-timeout 60 --max-per-source 2000
        local base_fds
        base_fds=$(fd_count "$SERVER_PID")
        ulimit -n 4096
        # 1,000 connections, each with a command that waits for the go file.
        /usr/bin/python3 "$TOP/tests/lib/nbload.py" "$PORT" --hold 1000 --busy --ready-file "$BATS_TEST_TMPDIR/ready" \
                --go-file "$BATS_TEST_TMPDIR/go" --timeout 60 >"$BATS_TEST_TMPDIR/hold.out" &
        local hold_pid=$!
        BG_PIDS=$hold_pid
        wait_until 30 test -e "$BATS_TEST_TMPDIR/ready"
        # (256 - 64 spare) / 4 per connection (socket, pidfd, a cgroup's two): 48
        # taken, the rest wait in the listener's backlog, and no accept() runs
        # into EMFILE. Each sent its request at once (busy): an idle one would be
        # evicted by the next (--max-connections), not left to wait.
        grep -q "serving 48 at once" "$SERVER_LOG"
        # Summed: under systemd-socket-activate ::1 listens on the port too.
        backlog_over() { (($(ss -Hltn "sport = :$PORT" | awk '{ n += $2 } END { print n + 0 }') >= 900)); }
        wait_until 10 backlog_over
        wait_until 5 fd_count_is "$SERVER_PID" $((base_fds + 2 * 48))
        local t0 t1
        t0=$(cpu_ticks "$SERVER_PID")
        sleep 2
        t1=$(cpu_ticks "$SERVER_PID")
        echo "at $(fd_count "$SERVER_PID") fds, backlog $(ss -Hltn "sport = :$PORT" | awk '{ n += $2 } END { print n + 0 }'): $((t1 - t0)) ticks of CPU in 2 s"
        # Under 0.5 s of CPU (50 ticks at 100 Hz) in 2 s at the limit.
        (((t1 - t0) * 100 / $(getconf CLK_TCK) < 50))
        kill -0 "$SERVER_PID"
        touch "$BATS_TEST_TMPDIR/go"
        wait "$hold_pid"
        BG_PIDS=
        assert_equal "$(cat "$BATS_TEST_TMPDIR/hold.out")" "held=1000 served=1000"
        wait_until 10 fd_count_is "$SERVER_PID" "$base_fds"
        run $NBCLIENT "$PORT" --command "echo after" --plus --timeout 10
        assert_output $'after\n\x1eNBNET-STATUS 000'
}

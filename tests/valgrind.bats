#!/usr/bin/env bats
# nbnetd and nbnet-handler under valgrind's memcheck, over a short mixed
# workload whose answers are checked too (a server that valgrind broke must
# not pass): good requests, each kind of bad request, clients that leave
# mid-frame or reset during output, a request queued behind --max-running 1,
# a MUNGE credential (nbnetd's decoding thread started, then joined at exit),
# SIGHUP (reloading --commands), then SIGTERM. Fails on any memcheck error,
# a definite or indirect leak, or a descriptor left open at exit.
# Valgrind runs the servers only (--trace-children=no): the commands are /bin/sh.

bats_require_minimum_version 1.5.0

load helpers

VALGRIND_OPTS=(--error-exitcode=1 --leak-check=full "--errors-for-leak-kinds=definite,indirect"
        --track-fds=yes --trace-children=no)

setup_file() {
        # tests/valgrind/pidfd-preload.c: valgrind 3.19 fails pidfd_open with ENOSYS.
        gcc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$BATS_FILE_TMPDIR/pidfd-preload.so" \
                "$BATS_TEST_DIRNAME/valgrind/pidfd-preload.c" -ldl
}

setup() {
        VG_DIR=$BATS_TEST_TMPDIR/vg
        mkdir -p "$VG_DIR"
        SERVER_LOG=$BATS_TEST_TMPDIR/server.log
        MARK=nbnet-vg-$$$RANDOM
        BG_PIDS=()
}

teardown() {
        if [ -n "${SERVER_PID:-}" ]; then
                kill -KILL -- -"$SERVER_PID" 2>/dev/null || true
                wait "$SERVER_PID" 2>/dev/null || true
        fi
        for pid in "${BG_PIDS[@]}"; do
                kill "$pid" 2>/dev/null || true
        done
        pkill -f -- "$MARK" 2>/dev/null || true
}

# vg_serve MODE [server options...]: nbnetd (--listen), nbnetd-activated or
# accept (nbnet-handler, one valgrind per connection) under valgrind on $PORT.
vg_serve() {
        local mode=$1 vg
        shift
        PORT=$(free_port)
        vg=(valgrind "${VALGRIND_OPTS[@]}" "--log-file=$VG_DIR/vg.%p.log")
        export LD_PRELOAD=$BATS_FILE_TMPDIR/pidfd-preload.so
        case $mode in
        nbnetd)
                setsid "${vg[@]}" "$NBNET_BIN/nbnetd" --listen "127.0.0.1:$PORT" "$@" 2>"$SERVER_LOG" &
                ;;
        nbnetd-activated)
                setsid systemd-socket-activate -E LD_PRELOAD -l "127.0.0.1:$PORT" \
                        "${vg[@]}" "$NBNET_BIN/nbnetd" "$@" 2>"$SERVER_LOG" &
                ;;
        accept)
                setsid systemd-socket-activate -E LD_PRELOAD -l "127.0.0.1:$PORT" --accept \
                        "${vg[@]}" "$NBNET_BIN/nbnet-handler" "$@" 2>"$SERVER_LOG" &
                ;;
        esac
        SERVER_PID=$!
        unset LD_PRELOAD
        # Valgrind takes a few seconds to start nbnetd on a loaded machine.
        wait_until 60 port_open "$PORT" || {
                cat "$SERVER_LOG" >&2
                return 1
        }
}

summaries_are() {
        [ "$(grep -l 'ERROR SUMMARY' "$VG_DIR"/vg.*.log 2>/dev/null | wc -l)" -eq "$1" ]
}

running() {
        [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

exited() {
        ! running "$1"
}

# SIGTERM to the daemon (valgrind's own pid), then its exit status must be 0:
# valgrind's --error-exitcode=1 would make it 1.
vg_stop_daemon() {
        local rc=0
        kill -TERM "$SERVER_PID"
        if ! wait_until 60 exited "$SERVER_PID"; then
                echo "the daemon did not exit within 60 s of SIGTERM" >&2
                return 1
        fi
        wait "$SERVER_PID" || rc=$?
        SERVER_PID=
        if [ "$rc" -ne 0 ]; then
                echo "nbnetd under valgrind exited $rc; its log:" >&2
                cat "$SERVER_LOG" "$VG_DIR"/vg.*.log >&2
                return 1
        fi
}

# Whether valgrind's --track-fds list in LOG has a descriptor the server
# opened: an inherited one (bats's, valgrind's log) says "inherited from
# parent" where one of the server's has the stack that opened it.
own_fds_open() {
        ! awk '/Open file descriptor/ { fd = $0; getline; if ($0 !~ /inherited from parent/) n++ }
                END { exit n > 0 }' "$1"
}

# Every valgrind log: a finished one says 0 errors and (with "fds") that
# the server left none of its own descriptors open; a forked child that
# exec'd /bin/sh (vfork is fork under valgrind) has the banner and nothing
# else. The mini-shell of a line run without the shell (direct.c) is a fork
# of the server that may end under valgrind: its log is checked the same
# way but, its parent being a valgrind log's process, not counted. EXPECT
# is how many finished logs of servers there must be. The summaries go to
# $VG_DIR/summary. nbnet-handler leaves its signalfd to exit(), which is no
# leak in a process per connection: its descriptors are not checked.
vg_logs_clean() {
        local expect=$1 fds=${2:-} log parent finished=0 bad=0
        for log in "$VG_DIR"/vg.*.log; do
                if grep -q 'WARNING: unhandled' "$log"; then
                        echo "$log: a system call valgrind does not know" >&2
                        bad=1
                fi
                if grep -q 'ERROR SUMMARY:' "$log"; then
                        parent=$(sed -n 's/^==[0-9]*== Parent PID: \([0-9]*\)$/\1/p' "$log")
                        [ -f "$VG_DIR/vg.$parent.log" ] || finished=$((finished + 1))
                        grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|in use at exit|FILE DESCRIPTORS' \
                                "$log" >>"$VG_DIR/summary"
                        if ! grep -q 'ERROR SUMMARY: 0 errors' "$log"; then
                                echo "$log: memcheck errors" >&2
                                bad=1
                        fi
                        if [ "$fds" = fds ] && own_fds_open "$log"; then
                                echo "$log: a descriptor the server opened is open at exit" >&2
                                bad=1
                        fi
                elif grep -Ev '^==[0-9]+== ($|Memcheck,|Copyright|Using Valgrind|Command:|Parent PID:)' \
                        "$log" | grep -q .; then
                        echo "$log: a forked child reported before its exec" >&2
                        bad=1
                fi
        done
        if [ "$finished" -ne "$expect" ]; then
                echo "$finished valgrind summaries, expected $expect" >&2
                bad=1
        fi
        if [ "$bad" -ne 0 ]; then
                cat "$VG_DIR"/vg.*.log >&2
                return 1
        fi
        # Into the TAP output, for the record.
        sed 's/^==[0-9]*== */# /' "$VG_DIR/summary" >&3
}

# ask OUT [nbclient options...]: the response, trailer included, into OUT;
# 1 MiB at most (then a reset), unless a later --read-limit says otherwise.
ask() {
        local out=$1
        shift
        $NBCLIENT "$PORT" --timeout 60 --read-limit 1048576 "$@" >"$out"
}

# expect_answer TEXT STATUS [nbclient options...]: the response is TEXT then a
# trailer with STATUS.
expect_answer() {
        local text=$1 status=$2 out=$BATS_TEST_TMPDIR/answer
        shift 2
        ask "$out" "$@"
        answer_is "$out" "$text" "$status"
}

# answer_is FILE TEXT STATUS: FILE is TEXT (a final newline aside) then a
# trailer with STATUS; STATUS none: TEXT alone, no trailer.
answer_is() {
        local body status=none
        if [ "$3" = none ]; then
                body=$(cat "$1")
        else
                body=$(head -c -18 "$1")
                status=$(trailer_status "$1")
        fi
        if [ "$body" != "$2" ] || [ "$status" != "$3" ]; then
                echo "expected '$2' and status $3; got:" >&2
                od -c "$1" | head -n 20 >&2
                return 1
        fi
}

# Sends BYTES, then closes (or resets, with "reset") without reading.
send_and_leave() {
        python3 - "$PORT" "$1" "${2:-}" <<'PY'
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.argv[2].encode("latin-1").decode("unicode_escape").encode("latin-1"))
if sys.argv[3] == "reset":
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
PY
}

# The bad requests every server answers the same way; REQ maps a request's
# name to what is sent for it (a table name or the command itself).
bad_requests() {
        expect_answer "nbnet: bad header: byte 10 is 'x', not a digit (a request is [+][<][@], 10 digits of length, then the command)" \
                125 --raw '+00000000x2ls'
        expect_answer "nbnet: command too long (9999999999 > 65536)" 125 --raw '+9999999999'
        expect_answer "nbnet: empty command (length 0)" 125 --raw '+0000000000'
        expect_answer "nbnet: command contains a NUL byte" 125 --raw '+0000000003a\x00b'
        # Without '+', the seed's plain answer: the line alone.
        ask "$BATS_TEST_TMPDIR/plain" --raw 'x000000002ls'
        answer_is "$BATS_TEST_TMPDIR/plain" \
                "nbnet: bad header: byte 1 is 'x', not a digit (a request is [+][<][@], 10 digits of length, then the command)" none
}

# Clients that go away: mid-header, mid-command, reset mid-frame, and one that
# resets while the command floods it (the command must be killed).
leaving_clients() {
        send_and_leave '+00000'
        send_and_leave '+0000000020echo'
        send_and_leave '+0000000020echo' reset
        ask "$BATS_TEST_TMPDIR/flood" --plus --command "${REQ[flood]}" --read-limit 100000 || true
        wait_until 20 no_process "^yes $MARK"
}

# With --max-running 1: slow runs, queued waits (SIGHUP's log line shows it),
# then both are answered in full.
queued_request() {
        local slow_out=$BATS_TEST_TMPDIR/slow queued_out=$BATS_TEST_TMPDIR/queued
        ask "$slow_out" --plus --command "${REQ[slow]}" &
        BG_PIDS+=("$!")
        wait_until 30 pgrep -f -- "^sleep 2\\.$MARK_N" >/dev/null
        ask "$queued_out" --plus --command "${REQ[queued]}" &
        BG_PIDS+=("$!")
        hup_until "1 running, 1 queued"
        wait "${BG_PIDS[-2]}"
        wait "${BG_PIDS[-1]}"
        BG_PIDS=()
        answer_is "$slow_out" slept 0
        answer_is "$queued_out" queued 0
}

# SIGHUP until the daemon's log has TEXT (a signal may land before the
# state does), 10 s at most.
hup_until() {
        local _
        for _ in $(seq 1 50); do
                kill -HUP "$SERVER_PID"
                if wait_until 0.2 grep -q -- "$1" "$SERVER_LOG"; then
                        return 0
                fi
        done
        echo "no '$1' in the daemon's log:" >&2
        cat "$SERVER_LOG" >&2
        return 1
}

# The requests by name: commands, or (restricted) names in a --commands table.
make_requests() {
        MARK_N=$RANDOM$RANDOM
        # -g: global associative arrays (a bare declare in a bats file is a function's local).
        declare -gA REQ=()
        declare -gA CMDS=(
                [hello]="echo hello"
                [flood]="yes $MARK"
                [slow]="sleep 2.$MARK_N; echo slept"
                [queued]="echo queued"
        )
        local name
        for name in "${!CMDS[@]}"; do
                if [ "${1:-}" = restricted ]; then
                        REQ[$name]=$name
                        echo "$name = ${CMDS[$name]}" >>"$BATS_TEST_TMPDIR/commands"
                else
                        REQ[$name]=${CMDS[$name]}
                fi
        done
}

@test "nbnetd --listen under valgrind: good, bad, leaving and queued clients; no error, no leak" {
        make_requests
        vg_serve nbnetd --max-running 1 --munge-socket "$BATS_TEST_TMPDIR/no-munged"
        expect_answer "hello" 0 --plus --command "${REQ[hello]}"
        # Decoded on the thread, which finds no munged there.
        expect_answer "nbnet: cannot check the MUNGE credential: Socket communication error" 125 \
                --raw '+@0000000022MUNGE:not-a-credential:'
        bad_requests
        leaving_clients
        queued_request
        expect_answer "hello" 0 --plus --command "${REQ[hello]}"
        vg_stop_daemon
        vg_logs_clean 1 fds
}

@test "nbnetd under systemd-socket-activate and valgrind, --commands and SIGHUP; no error, no leak" {
        local table=$BATS_TEST_TMPDIR/commands
        make_requests restricted
        vg_serve nbnetd-activated --max-running 1 --commands "$table"
        expect_answer "hello" 0 --plus --command hello
        expect_answer "nbnet: command not allowed" 126 --plus --command "echo hello"
        bad_requests
        leaving_clients
        # The reloads while a request is queued bring in a new name.
        echo "added = echo added" >>"$table"
        queued_request
        grep -q "reloaded, 5 commands" "$SERVER_LOG"
        expect_answer "added" 0 --plus --command added
        # A broken table is refused and the one in force kept.
        echo "a broken line" >"$table"
        hup_until "$table:1: expected 'name = command line'; keeping the table in force"
        expect_answer "hello" 0 --plus --command hello
        vg_stop_daemon
        vg_logs_clean 1 fds
}

@test "nbnet-handler under systemd-socket-activate --accept and valgrind: three connections; no error, no leak" {
        make_requests
        vg_serve accept
        expect_answer "hello" 0 --plus --command "${REQ[hello]}"
        expect_answer "nbnet: command too long (9999999999 > 65536)" 125 --raw '+9999999999'
        send_and_leave '+0000000020echo' reset
        # Each handler's valgrind writes its summary after the client has its
        # answer; the fourth connection is vg_serve's probe of the port.
        wait_until 60 summaries_are 4
        vg_logs_clean 4
}

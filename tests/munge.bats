#!/usr/bin/env bats
# Who is asking: MUNGE credentials ('@', PROTOCOL.md) checked by the server
# through a real munged. The suite starts its own munged, with a key made for
# the run and a socket of its own (munged runs as root), and stops it after;
# the tests that need a second munged (another key, one that stops) start it.
# Runs once per server mode (NBNET_MODE, see helpers.bash).

bats_require_minimum_version 1.5.0

load helpers
load servers

# munged_start DIR: a munged with a fresh key, its socket DIR/munge.socket;
# the directory is world-searchable, so that nobody's munge reaches it too.
munged_start() {
        local dir=$1
        mkdir -p "$dir"
        chmod 0755 "$dir"
        dd if=/dev/urandom of="$dir/munge.key" bs=1 count=1024 status=none
        chmod 0400 "$dir/munge.key"
        munged --socket "$dir/munge.socket" --key-file "$dir/munge.key" \
                --pid-file "$dir/munged.pid" --log-file "$dir/munged.log" \
                --seed-file "$dir/munged.seed" --force
        wait_until 5 test -S "$dir/munge.socket"
}

# munged_stop DIR: by the PID it wrote, and waits until it is gone.
munged_stop() {
        local pid
        pid=$(cat "$1/munged.pid" 2>/dev/null) || return 0
        kill "$pid" 2>/dev/null || true
        wait_until 5 bash -c "! kill -0 $pid 2>/dev/null"
}

setup_file() {
        MUNGE_DIR=
        if [ "$(id -u)" -eq 0 ] && command -v munged >/dev/null && command -v munge >/dev/null; then
                MUNGE_DIR=$(mktemp -d /tmp/nbnet-munge.XXXXXX)
                munged_start "$MUNGE_DIR"
        fi
        export MUNGE_DIR
}

teardown_file() {
        if [ -n "${MUNGE_DIR:-}" ]; then
                munged_stop "$MUNGE_DIR"
                rm -rf "$MUNGE_DIR"
        fi
}

setup() {
        if [ -z "${MUNGE_DIR:-}" ]; then
                skip_unless_ci "starting munged needs root and the munge package"
        fi
        SOCK=$MUNGE_DIR/munge.socket
        export NBNET_MUNGE_SOCKET=$SOCK
        OTHER_DIR=
}

teardown() {
        # A munged stopped by a test (SIGSTOP) runs again first: a decode
        # still waiting for it must not hold up the server's stop, and
        # munged_stop's SIGTERM would wait for a SIGCONT.
        if [ -n "${OTHER_DIR:-}" ] && [ -s "$OTHER_DIR/munged.pid" ]; then
                kill -CONT "$(cat "$OTHER_DIR/munged.pid")" 2>/dev/null || true
        fi
        stop_server
        stop_extra_servers
        if [ -n "${OTHER_DIR:-}" ]; then
                munged_stop "$OTHER_DIR"
                rm -rf "$OTHER_DIR"
        fi
}

# A credential from munged at SOCKET for COMMAND, made by the user running this.
credential() {
        munge --socket "$1" -s "$2"
}

# Sends CREDENTIAL as a '+@' request and prints the response.
send_credential() {
        frame "$1" +@ | nc -N 127.0.0.1 "$PORT"
}

# The server has read the frames its clients sent (for clients that send
# nothing after the frame): no connection to PORT with more than a byte
# queued, and one at least. Recv-Q may count a FIN not yet read as that byte;
# a frame is read at once up to its end, never down to one byte.
frame_read() {
        ss -tnH "( sport = :$PORT )" | awk '$2 > 1 { queued = 1 } { n++ } END { exit queued || !n }'
}

clock_past() {
        [ "$(date +%s)" -gt "$1" ]
}

@test "a credential from root runs with --allow-uid root, and the log names the user" {
        start_server --munge --munge-socket "$SOCK" --allow-uid root
        run --separate-stderr "$NBNET_BIN/nbnet" -M --munge -p "$PORT" 127.0.0.1 'id -un'
        assert_success
        assert_output root
        wait_until 2 grep -q 'uid=0(root) gid=0 "id -un" status 0' "$SERVER_LOG"
}

@test "a credential from nobody is refused 126 by --allow-uid root, and nothing runs" {
        # --munge: without it --allow-uid would leave TCP open to everyone (a usage error).
        start_server --munge --munge-socket "$SOCK" --allow-uid root
        cred=$(setpriv --reuid nobody --regid nogroup --clear-groups \
                munge --socket "$SOCK" -s "touch $BATS_TEST_TMPDIR/ran")
        run send_credential "$cred"
        assert_output $'nbnet: user not allowed\n\x1eNBNET-STATUS 126'
        [ ! -e "$BATS_TEST_TMPDIR/ran" ]
        wait_until 2 grep -q 'uid=65534(nobody) gid=65534 .* status 126 .*user not allowed' "$SERVER_LOG"
}

@test "a replayed credential (the same bytes twice) is refused 126 and runs once" {
        start_server --munge --munge-socket "$SOCK"
        cred=$(credential "$SOCK" "echo ran >>$BATS_TEST_TMPDIR/count")
        run send_credential "$cred"
        assert_output $'\x1eNBNET-STATUS 000'
        run send_credential "$cred"
        assert_output $'nbnet: Replayed credential\n\x1eNBNET-STATUS 126'
        assert_equal "$(cat "$BATS_TEST_TMPDIR/count")" ran
        wait_until 2 grep -q 'status 126 .*: Replayed credential' "$SERVER_LOG"
}

@test "an expired credential (munge -t 1, two seconds later) is refused 126" {
        start_server --munge --munge-socket "$SOCK"
        t0=$(date +%s)
        cred=$(munge --socket "$SOCK" -t 1 -s "touch $BATS_TEST_TMPDIR/ran")
        # Whole seconds: made at t0 or t0+1, good through that plus the 1 s TTL.
        wait_until 5 clock_past "$((t0 + 2))"
        run send_credential "$cred"
        assert_output $'nbnet: Expired credential\n\x1eNBNET-STATUS 126'
        [ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "a credential made with another key is refused 126 as invalid" {
        OTHER_DIR=$(mktemp -d /tmp/nbnet-munge-other.XXXXXX)
        munged_start "$OTHER_DIR"
        start_server --munge --munge-socket "$SOCK"
        cred=$(credential "$OTHER_DIR/munge.socket" "touch $BATS_TEST_TMPDIR/ran")
        run send_credential "$cred"
        assert_output $'nbnet: Invalid credential\n\x1eNBNET-STATUS 126'
        [ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "munged stopped: 125, logged, and nothing runs" {
        OTHER_DIR=$(mktemp -d /tmp/nbnet-munge-other.XXXXXX)
        munged_start "$OTHER_DIR"
        start_server --munge --munge-socket "$OTHER_DIR/munge.socket"
        cred=$(credential "$OTHER_DIR/munge.socket" "touch $BATS_TEST_TMPDIR/ran")
        munged_stop "$OTHER_DIR"
        run send_credential "$cred"
        assert_output $'nbnet: cannot check the MUNGE credential: Socket communication error\n\x1eNBNET-STATUS 125'
        [ ! -e "$BATS_TEST_TMPDIR/ran" ]
        wait_until 2 grep -q 'cannot check a MUNGE credential: .*munge.socket' "$SERVER_LOG"
        grep -q 'status 125 .*cannot check the MUNGE credential' "$SERVER_LOG"
        # The credential, still good for anyone who reads the log, is not in it.
        run grep -qF "$cred" "$SERVER_LOG"
        assert_failure
}

@test "munged stalled (SIGSTOP): a plain request is answered at once, the credential gets 125 and runs nothing" {
        OTHER_DIR=$(mktemp -d /tmp/nbnet-munge-other.XXXXXX)
        munged_start "$OTHER_DIR"
        start_server --munge-socket "$OTHER_DIR/munge.socket" --request-timeout 2
        cred=$(credential "$OTHER_DIR/munge.socket" "touch $BATS_TEST_TMPDIR/ran")
        kill -STOP "$(cat "$OTHER_DIR/munged.pid")"
        t0=$(date +%s%N)
        send_credential "$cred" >"$BATS_TEST_TMPDIR/cred.out" &
        cred_pid=$!
        wait_until 2 frame_read
        # While the credential waits for munged, a request without one is served.
        t1=$(date +%s%N)
        run nbsend 'echo plain'
        t2=$(date +%s%N)
        assert_output plain
        (((t2 - t1) < 1000000000)) ||
                fail "a plain request took $(((t2 - t1) / 1000000)) ms while a credential waited for munged (expected under 1000 ms)"
        wait "$cred_pid"
        t3=$(date +%s%N)
        assert_equal "$(trailer_status "$BATS_TEST_TMPDIR/cred.out")" 125
        # Both servers answer at the request timeout, whatever libmunge waits for.
        assert_equal "$(head -n 1 "$BATS_TEST_TMPDIR/cred.out")" \
                "nbnet: cannot check the MUNGE credential: munged did not answer in time"
        (((t3 - t0) < 8000000000)) ||
                fail "the credential's 125 came $(((t3 - t0) / 1000000)) ms after its request (expected about 2000 ms, the request timeout)"
        wait_until 2 grep -q 'munge.socket) did not answer within the request timeout (2000 ms)' "$SERVER_LOG"
        # munged answers again: a credential made now runs, and by then the
        # stalled one's decode is over (nbnetd decodes in order) and ran nothing.
        kill -CONT "$(cat "$OTHER_DIR/munged.pid")"
        run send_credential "$(credential "$OTHER_DIR/munge.socket" 'echo after')"
        assert_output $'after\n\x1eNBNET-STATUS 000'
        [ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "--munge refuses a request without '@': 126, authentication required" {
        start_server --munge --munge-socket "$SOCK"
        run bash -c "$(declare -f frame); frame 'touch $BATS_TEST_TMPDIR/ran' + | nc -N 127.0.0.1 $PORT"
        assert_output $'nbnet: authentication required\n\x1eNBNET-STATUS 126'
        [ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "without --munge, a plain request runs and a credential is still checked" {
        start_server --munge-socket "$SOCK"
        run nbsend 'echo plain'
        assert_output plain
        run send_credential "MUNGE:not-a-credential:"
        assert_output $'nbnet: Invalid credential format\n\x1eNBNET-STATUS 126'
}

@test "a credential with no command in it is a bad request (125)" {
        start_server --munge --munge-socket "$SOCK"
        run send_credential "$(munge --socket "$SOCK" -n)"
        assert_output $'nbnet: empty command in the MUNGE credential\n\x1eNBNET-STATUS 125'
}

@test "the length limit applies to the credential, not to the command in it" {
        start_server --munge --munge-socket "$SOCK" --max-command 100
        run --separate-stderr "$NBNET_BIN/nbnet" -M --munge -p "$PORT" 127.0.0.1 true
        assert_failure 125
        assert_output ""
        [[ "$stderr" == "nbnet: 127.0.0.1:$PORT: command too long ("*" > 100)" ]]
}

@test "nbnet --munge without munged says why and exits 255" {
        start_server --munge --munge-socket "$SOCK"
        NBNET_MUNGE_SOCKET=$BATS_TEST_TMPDIR/no-munged run --separate-stderr \
                "$NBNET_BIN/nbnet" -M --munge -p "$PORT" 127.0.0.1 true
        assert_failure 255
        [[ "$stderr" == "nbnet: cannot get a MUNGE credential: "*"no-munged"* ]]
}

@test "pdsh -R exec fans out with NBNET_MUNGE=1 to three --munge servers" {
        port=$(free_port)
        for h in 127.0.0.1 127.0.0.2 127.0.0.3; do
                serve_extra "$h:$port" --munge --munge-socket "$SOCK" --allow-uid root
        done
        NBNET_MUNGE=1 PATH="$NBNET_BIN:$PATH" run --separate-stderr \
                pdsh -R exec -w '127.0.0.[1-3]' nbnet -M -p "$port" %h 'id -un'
        assert_success
        assert_equal "$(sort <<<"$output")" "127.0.0.1: root
127.0.0.2: root
127.0.0.3: root"
        assert_equal "$stderr" ""
}

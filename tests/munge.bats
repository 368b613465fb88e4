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

# The suite's two local users and a group of alice's own, for
# --run-as-requester: made with useradd, names of this run's own (the other
# lane of make check runs this suite beside it), removed by teardown_file.
users_make() {
        local tag=$RANDOM$RANDOM
        command -v useradd >/dev/null && command -v groupadd >/dev/null || return 0
        ALICE=nbtest-alice-$tag BOB=nbtest-bob-$tag EXTRA=nbtest-extra-$tag
        groupadd "$EXTRA" || return 1
        useradd --no-create-home --home-dir "/nonexistent/$ALICE" --shell /bin/sh \
                --user-group --groups "$EXTRA" "$ALICE" || return 1
        useradd --no-create-home --home-dir "/nonexistent/$BOB" --shell /bin/bash \
                --user-group "$BOB" || return 1
}

users_remove() {
        local u
        for u in ${ALICE:-} ${BOB:-}; do
                pkill -KILL -u "$u" 2>/dev/null || true
                userdel "$u" 2>/dev/null || true
        done
        if [ -n "${EXTRA:-}" ]; then
                groupdel "$EXTRA" 2>/dev/null || true
        fi
}

setup_file() {
        MUNGE_DIR='' ALICE='' BOB='' EXTRA=''
        if [ "$(id -u)" -eq 0 ] && command -v munged >/dev/null && command -v munge >/dev/null; then
                MUNGE_DIR=$(mktemp -d /tmp/nbnet-munge.XXXXXX)
                munged_start "$MUNGE_DIR"
                users_make
        fi
        export MUNGE_DIR ALICE BOB EXTRA
}

teardown_file() {
        users_remove
        if [ -n "${MUNGE_DIR:-}" ]; then
                munged_stop "$MUNGE_DIR"
                rm -rf "$MUNGE_DIR"
        fi
}

TRAILER_0=$'\x1eNBNET-STATUS 000'

# For the tests that need the suite's users.
needs_users() {
        if [ -z "${ALICE:-}" ]; then
                skip_unless_ci "needs useradd and groupadd (the passwd package) to make two users"
        fi
}

# as USER COMMAND...: runs COMMAND as USER, with USER's groups.
as() {
        local user=$1
        shift
        setpriv --reuid "$user" --regid "$user" --init-groups "$@"
}

# A credential for COMMAND made by USER.
credential_of() {
        as "$1" munge --socket "$SOCK" -s "$2"
}

# '+~NNUSER@' and the ten digits around CREDENTIAL: a request naming USER.
send_credential_as() {
        frame "$2" "+~$(printf %02d "${#1}")$1@" | nc -N 127.0.0.1 "$PORT"
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

# other_munged: a second munged, with a key of its own, in OTHER_DIR
# (teardown stops it); OTHER_CRED, its credential for a command that would
# leave a mark.
other_munged() {
        OTHER_DIR=$(mktemp -d /tmp/nbnet-munge-other.XXXXXX)
        munged_start "$OTHER_DIR"
        OTHER_CRED=$(credential "$OTHER_DIR/munge.socket" "touch $BATS_TEST_TMPDIR/ran")
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
        run --separate-stderr "$NBNET_BIN/nbnet" --munge -p "$PORT" 127.0.0.1 'id -un'
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
        other_munged
        start_server --munge --munge-socket "$SOCK"
        run send_credential "$OTHER_CRED"
        assert_output $'nbnet: Invalid credential\n\x1eNBNET-STATUS 126'
        [ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "munged stopped: 125, logged, and nothing runs" {
        other_munged
        start_server --munge --munge-socket "$OTHER_DIR/munge.socket"
        cred=$OTHER_CRED
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
        other_munged
        start_server --munge-socket "$OTHER_DIR/munge.socket" --request-timeout 2
        cred=$OTHER_CRED
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
        run --separate-stderr "$NBNET_BIN/nbnet" --munge -p "$PORT" 127.0.0.1 true
        assert_failure 125
        assert_output ""
        [[ "$stderr" == "nbnet: 127.0.0.1:$PORT: command too long ("*" > 100)" ]]
}

@test "nbnet --munge without munged says why and exits 255" {
        start_server --munge --munge-socket "$SOCK"
        NBNET_MUNGE_SOCKET=$BATS_TEST_TMPDIR/no-munged run --separate-stderr \
                "$NBNET_BIN/nbnet" --munge -p "$PORT" 127.0.0.1 true
        assert_failure 255
        [[ "$stderr" == "nbnet: cannot get a MUNGE credential: "*"no-munged"* ]]
}

@test "pdsh -R exec fans out with NBNET_MUNGE=1 to three --munge servers" {
        port=$(free_port)
        for h in 127.0.0.1 127.0.0.2 127.0.0.3; do
                serve_extra "$h:$port" --munge --munge-socket "$SOCK" --allow-uid root
        done
        NBNET_MUNGE=1 PATH="$NBNET_BIN:$PATH" run --separate-stderr \
                pdsh -R exec -w '127.0.0.[1-3]' nbnet -p "$port" %h 'id -un'
        assert_success
        assert_equal "$(sort <<<"$output")" "127.0.0.1: root
127.0.0.2: root
127.0.0.3: root"
        assert_equal "$stderr" ""
}

@test "--run-as-requester: alice's command runs as alice, with her groups, HOME and SHELL; bob's as bob" {
        needs_users
        start_server --munge --munge-socket "$SOCK" --run-as-requester
        cmd='id -un; id -G | tr " " "\n" | sort -n | tr "\n" " "; echo; echo "$HOME $USER $LOGNAME $SHELL"'
        run send_credential "$(credential_of "$ALICE" "$cmd")"
        assert_output "$ALICE
$(id -G "$ALICE" | tr ' ' '\n' | sort -n | tr '\n' ' ')
/nonexistent/$ALICE $ALICE $ALICE /bin/sh
$TRAILER_0"
        [[ " $(id -G "$ALICE") " == *" $(getent group "$EXTRA" | cut -d: -f3) "* ]]
        run send_credential "$(credential_of "$BOB" "$cmd")"
        assert_output "$BOB
$(id -G "$BOB") 
/nonexistent/$BOB $BOB $BOB /bin/bash
$TRAILER_0"
        wait_until 2 grep -q "uid=$(id -u "$BOB")($BOB) .* status 0" "$SERVER_LOG"
}

@test "--run-as-requester: the direct path gets the requester's environment too" {
        needs_users
        start_server --munge --munge-socket "$SOCK" --run-as-requester
        # No shell syntax: run without /bin/sh, from the same environment.
        run send_credential "$(credential_of "$ALICE" 'printenv HOME USER LOGNAME SHELL PATH')"
        assert_output "/nonexistent/$ALICE
$ALICE
$ALICE
/bin/sh
/usr/local/bin:/usr/bin:/bin
$TRAILER_0"
        run send_credential "$(credential_of "$BOB" 'printenv USER')"
        assert_output "$BOB"$'\n\x1eNBNET-STATUS 000'
}

@test "--run-as-requester: alice's command cannot signal bob's (EPERM)" {
        needs_users
        start_server --munge --munge-socket "$SOCK" --run-as-requester
        marker=$(unique_sleep)
        send_credential "$(credential_of "$BOB" "$marker")" >/dev/null &
        bob_client=$!
        # -x: the sleep itself, not the munge whose command line names it.
        wait_until 5 pgrep -fx -- "$marker"
        pid=$(pgrep -fx -- "$marker")
        assert_equal "$(ps -o user= -p "$pid")" "$BOB"
        run send_credential "$(credential_of "$ALICE" "kill -0 $pid")"
        assert_output --partial "Operation not permitted"
        assert_equal "$(trailer_status <(printf '%s\n' "$output"))" 1
        pgrep -f -- "$marker" >/dev/null
        kill "$bob_client" 2>/dev/null || true
        pkill -f -- "$marker" || true
}

@test "--run-as-requester: each TMPDIR is its user's; alice cannot read bob's, and it goes with the command" {
        needs_users
        start_server --munge --munge-socket "$SOCK" --run-as-requester
        # Bob's command says where its TMPDIR is, and holds it for 3 s.
        send_credential "$(credential_of "$BOB" 'echo secret >"$TMPDIR/f"; echo "$TMPDIR"; sleep 3')" \
                >"$BATS_TEST_TMPDIR/bob.out" &
        bob_client=$!
        wait_until 5 grep -q '^/tmp/nbnet' "$BATS_TEST_TMPDIR/bob.out"
        local dir
        dir=$(grep '^/tmp/nbnet' "$BATS_TEST_TMPDIR/bob.out")
        [ "$(stat -c '%U %a' "$dir")" = "$BOB 700" ] || fail "$dir: $(stat -c '%U %a' "$dir"), not $BOB's, 700"
        run send_credential "$(credential_of "$ALICE" "cat '$dir/f' 2>&1 || echo refused")"
        assert_line --partial refused
        refute_output --partial secret
        wait "$bob_client" || true
        wait_until 2 test ! -e "$dir" || fail "$dir still there after bob's command: $(ls -la "$dir")"
}

@test "--run-as-requester: root's credential is refused 126, and runs as root with --allow-uid root" {
        needs_users
        start_server --munge --munge-socket "$SOCK" --run-as-requester
        run send_credential "$(credential "$SOCK" "touch $BATS_TEST_TMPDIR/ran")"
        assert_output $'nbnet: root\'s commands are refused here (--allow-uid root allows them)\n\x1eNBNET-STATUS 126'
        [ ! -e "$BATS_TEST_TMPDIR/ran" ]
        wait_until 2 grep -q "uid=0(root) .*status 126 .*--allow-uid root" "$SERVER_LOG"
        stop_server
        start_server --munge --munge-socket "$SOCK" --run-as-requester --allow-uid root
        run send_credential "$(credential "$SOCK" 'id -un; echo $HOME $PATH')"
        assert_output "root
$(getent passwd root | cut -d: -f6) /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
$TRAILER_0"
}

@test "--run-as-requester: a uid with no user here is refused 126" {
        start_server --munge --munge-socket "$SOCK" --run-as-requester
        uid=$(unused_uid)
        cred=$(setpriv --reuid "$uid" --regid 65534 --clear-groups \
                munge --socket "$SOCK" -s "touch $BATS_TEST_TMPDIR/ran")
        run send_credential "$cred"
        assert_output "nbnet: user $uid unknown here"$'\n\x1eNBNET-STATUS 126'
        [ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "'~alice' with alice's credential runs; '~bob' with alice's is refused 126" {
        needs_users
        start_server --munge --munge-socket "$SOCK" --run-as-requester
        run send_credential_as "$ALICE" "$(credential_of "$ALICE" 'id -un')"
        assert_output "$ALICE"$'\n\x1eNBNET-STATUS 000'
        run send_credential_as "$BOB" "$(credential_of "$ALICE" "touch $BATS_TEST_TMPDIR/ran")"
        assert_output "nbnet: cannot run as $BOB here"$'\n\x1eNBNET-STATUS 126'
        [ ! -e "$BATS_TEST_TMPDIR/ran" ]
        wait_until 2 grep -q "status 126 .*'~' names a user the command would not run as" "$SERVER_LOG"
}

@test "without --run-as-requester, '~' runs only for the --run-as user" {
        needs_users
        start_server --run-as "$BOB"
        run bash -c "$(declare -f frame); frame 'id -un' '+~$(printf %02d "${#BOB}")$BOB' | nc -N 127.0.0.1 $PORT"
        assert_output "$BOB"$'\n\x1eNBNET-STATUS 000'
        run bash -c "$(declare -f frame); frame 'touch $BATS_TEST_TMPDIR/ran' '+~$(printf %02d "${#ALICE}")$ALICE' | nc -N 127.0.0.1 $PORT"
        assert_output "nbnet: cannot run as $ALICE here"$'\n\x1eNBNET-STATUS 126'
        [ ! -e "$BATS_TEST_TMPDIR/ran" ]
        # With a credential too: the command user, not the requester, counts.
        stop_server
        start_server --munge --munge-socket "$SOCK" --run-as "$BOB"
        run send_credential_as "$ALICE" "$(credential_of "$ALICE" "touch $BATS_TEST_TMPDIR/ran")"
        assert_output "nbnet: cannot run as $ALICE here"$'\n\x1eNBNET-STATUS 126'
        run send_credential_as "$BOB" "$(credential_of "$ALICE" 'id -un')"
        assert_output "$BOB"$'\n\x1eNBNET-STATUS 000'
}

@test "--run-as-requester without --munge, or beside --run-as, is a usage error" {
        case $NBNET_MODE in
        nbnetd*) server=("$NBNET_BIN/nbnetd" --listen "127.0.0.1:$(free_port)") name=nbnetd ;;
        *) server=("$NBNET_BIN/nbnet-handler") name=nbnet-handler ;;
        esac
        run "${server[@]}" --run-as-requester
        assert_failure 2
        assert_output "$name: --run-as-requester needs --munge: only a MUNGE credential says who the requester is; give --munge too"
        run "${server[@]}" --munge --run-as-requester --run-as nobody
        assert_failure 2
        assert_output "$name: --run-as nobody and --run-as-requester both say whom commands run as; give one of them"
}

@test "--run-as-requester in a server that cannot switch users is an error at start" {
        needs_caps "running the server as nobody (setpriv --reuid)" setuid setgid || return
        run setpriv --reuid nobody --regid nogroup --clear-groups \
                "$NBNET_BIN/nbnetd" --listen "127.0.0.1:$(free_port)" --munge --run-as-requester
        assert_failure 2
        assert_output --partial "--run-as-requester: running each command as its requester needs root or the capabilities CAP_SETUID, CAP_SETGID and CAP_KILL, and this process lacks CAP_SETUID, CAP_SETGID, CAP_KILL"
}

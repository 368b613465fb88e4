#!/usr/bin/env bats
# The stderr channel (doc/protocol.md): a request with '&' and the
# connection that sends '=' and the same token, which is its command's fd 2.
# Runs once per server mode (NBNET_MODE, see helpers.bash): nbnetd pairs
# the two in its own table, nbnet-handler's two processes through their
# rendezvous.

bats_require_minimum_version 1.5.0

load helpers

NBCHANNEL="python3 $BATS_TEST_DIRNAME/lib/nbchannel.py"

setup() {
        OUT=$BATS_TEST_TMPDIR/out
        ERR=$BATS_TEST_TMPDIR/err
}

teardown() {
        stop_server
}

# channel [nbchannel.py options...]: one request with its channel, to $OUT and $ERR.
channel() {
        $NBCHANNEL "$PORT" --out "$OUT" --err "$ERR" "$@"
}

# The trailer's status at the end of $OUT, and what came before it.
out_status() {
        trailer_status "$OUT"
}

out_text() {
        head -c -18 "$OUT"
}

@test "stdout goes to the connection and stderr to the channel, nothing else on either" {
        start_server
        channel -c 'echo out; echo err >&2; echo out2' --plus
        run out_text
        assert_output "out
out2"
        run out_status
        assert_output 0
        run cat "$ERR"
        assert_output "err"
}

@test "the channel may come first" {
        start_server
        channel -c 'echo out; echo err >&2; exit 3' --plus --order channel-first
        run out_text
        assert_output "out"
        run out_status
        assert_output 3
        run cat "$ERR"
        assert_output "err"
}

@test "without +, the connection has the command's stdout byte for byte" {
        start_server
        channel -c 'printf "a\\000b"; echo err >&2'
        run od -An -c "$OUT"
        assert_output "   a  \\0   b"
        run cat "$ERR"
        assert_output "err"
}

@test "stderr arrives on the channel while the command runs" {
        start_server
        channel -c 'echo early >&2; sleep 2; echo done' --plus \
                --err-first-ms "$BATS_TEST_TMPDIR/first" --out-end-ms "$BATS_TEST_TMPDIR/end"
        run cat "$ERR"
        assert_output "early"
        local first end
        first=$(cat "$BATS_TEST_TMPDIR/first")
        end=$(cat "$BATS_TEST_TMPDIR/end")
        if ((end - first < 1500)); then
                echo "stderr came at $first ms, the command ended at $end ms: not while it ran" >&2
                return 1
        fi
}

@test "a request whose channel never comes gets 125 and the line at the request timeout" {
        start_server --request-timeout 1
        SECONDS=0
        channel -c 'touch '"$BATS_TEST_TMPDIR/ran" --plus --order request-only
        run out_text
        assert_output "nbnet: the stderr channel did not arrive"
        run out_status
        assert_output 125
        [ ! -e "$BATS_TEST_TMPDIR/ran" ]
        ((SECONDS < 5))
        wait_until 3 grep -q 'the stderr channel did not arrive within the request timeout' "$SERVER_LOG"
}

@test "a channel whose request never comes is closed at the request timeout and logged" {
        start_server --request-timeout 1
        SECONDS=0
        channel -c unused --order channel-only
        ((SECONDS < 5))
        [ ! -s "$ERR" ]
        wait_until 3 grep -q 'stderr channel: no request with its token came' "$SERVER_LOG"
}

@test "a token already waiting is a bad request for the second request" {
        start_server --request-timeout 2
        local token
        token=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
        $NBCHANNEL "$PORT" -c true --plus --order request-only --token "$token" \
                --out "$BATS_TEST_TMPDIR/first.out" --err "$BATS_TEST_TMPDIR/first.err" &
        local first=$!
        sleep 0.3
        channel -c 'touch '"$BATS_TEST_TMPDIR/ran" --plus --order request-only --token "$token"
        wait "$first"
        run out_text
        assert_output "nbnet: bad request: the token is already in use"
        run out_status
        assert_output 125
        [ ! -e "$BATS_TEST_TMPDIR/ran" ]
        # The first one waited on, for a channel that never came.
        run head -c -18 "$BATS_TEST_TMPDIR/first.out"
        assert_output "nbnet: the stderr channel did not arrive"
}

@test "a channel from another peer address is refused, and its request gets no stderr" {
        start_server --request-timeout 1
        channel -c 'echo err >&2; touch '"$BATS_TEST_TMPDIR/ran" --plus --channel-bind 127.0.0.2
        [ ! -s "$ERR" ]
        run out_text
        assert_output "nbnet: the stderr channel did not arrive"
        [ ! -e "$BATS_TEST_TMPDIR/ran" ]
        wait_until 3 grep -q "127.0.0.2:.*stderr channel: refused: not from its request's peer address" "$SERVER_LOG"
}

@test "a refusal by the --commands table goes to the channel, the connection gets only the trailer" {
        printf '%s\n' "hello = echo hello from the table" >"$BATS_TEST_TMPDIR/commands"
        start_server --commands "$BATS_TEST_TMPDIR/commands"
        channel -c 'rm -rf /' --plus
        run cat "$ERR"
        assert_output "nbnet: command not allowed"
        run cat -v "$OUT"
        assert_output "^^NBNET-STATUS 126"
        channel -c hello --plus
        run out_text
        assert_output "hello from the table"
}

@test "10 MB of stderr arrive intact on the channel" {
        start_server
        channel -c 'seq 1 1300000 >&2; echo done' --plus
        run out_text
        assert_output "done"
        local want got
        want=$(seq 1 1300000 | sha256sum)
        got=$(sha256sum <"$ERR")
        assert_equal "$got" "$want"
}

@test "the request's record says its stderr went to its channel; the channel has none of its own" {
        start_server
        channel -c 'echo logged-with-channel >&2' --plus
        wait_until 3 grep -q 'logged-with-channel.*stderr on its channel' "$SERVER_LOG"
        run grep -c 'stderr channel:' "$SERVER_LOG"
        assert_output 0
}

@test "nbnetd: the channel counts toward --max-per-source" {
        case $NBNET_MODE in nbnetd*) ;; *) skip "nbnetd's limit" ;; esac
        start_server --max-per-source 2
        local gate=$BATS_TEST_TMPDIR/gate started=$BATS_TEST_TMPDIR/started
        channel -c "touch $started; timeout 10 sh -c 'until [ -e $gate ]; do sleep 0.05; done'; echo ran" --plus &
        local client=$!
        wait_until 5 test -e "$started"
        # A third connection from 127.0.0.1 is closed at once, with nothing written.
        run --separate-stderr sh -c "$(declare -f frame); frame 'echo third' | timeout 5 nc -N 127.0.0.1 $PORT"
        assert_output ""
        touch "$gate"
        wait "$client"
        run out_text
        assert_output "ran"
        wait_until 3 grep -q 'per source\|per-source' "$SERVER_LOG"
}

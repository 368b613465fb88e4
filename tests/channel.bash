# The servers for the client's tests of the stderr channel ('&') and of '~':
# NBNET_MODE's real server (the default), or with NBNET_CHANNEL_SERVER=fake
# tests/lib/nbfake.py, a stand-in that speaks the protocol as revised and
# logs each request it takes (the tests that read that log need it); a server
# that predates '&' and '~' is always the stand-in (--old). With the stand-in
# the tests that run nbnet against the real servers give it --merge-stderr.

CHANNEL_FAKE_PID=

# nbnet_for_real_servers: prints the nbnet to run against today's real
# servers: a wrapper that adds --merge-stderr, or nbnet itself when they take '&'.
nbnet_for_real_servers() {
        if [ "${NBNET_CHANNEL_SERVER:-real}" = real ]; then
                echo "$NBNET_BIN/nbnet"
                return
        fi
        printf '#!/bin/sh\nexec "%s" --merge-stderr "$@"\n' "$NBNET_BIN/nbnet" >"$BATS_TEST_TMPDIR/nbnet"
        chmod +x "$BATS_TEST_TMPDIR/nbnet"
        echo "$BATS_TEST_TMPDIR/nbnet"
}

# start_channel_server [--old]: sets CHANNEL_PORT to a server that takes
# '&' and '~' (the real one under NBNET_CHANNEL_SERVER=real), or with --old
# to one that predates them (always the stand-in). CHANNEL_LOG has a line
# per request the stand-in took: "request FLAGS COMMAND".
start_channel_server() {
        CHANNEL_LOG=$BATS_TEST_TMPDIR/channel.log
        : >"$CHANNEL_LOG"
        if [ "${NBNET_CHANNEL_SERVER:-real}" = real ] && [ -z "${CHANNEL_LOG_WANTED:-}" ] &&
                [ "${1:-}" != --old ]; then
                CHANNEL_PORT=$PORT
                return 0
        fi
        CHANNEL_PORT=$(free_port)
        python3 "$TOP/tests/lib/nbfake.py" "$CHANNEL_PORT" --log "$CHANNEL_LOG" "$@" &
        CHANNEL_FAKE_PID=$!
        wait_until 10 port_open "$CHANNEL_PORT"
}

# For a test that reads what the stand-in logged: the stand-in, whatever
# NBNET_CHANNEL_SERVER says (call it before start_channel_server).
needs_channel_log() {
        CHANNEL_LOG_WANTED=1
}

stop_channel_server() {
        if [ -n "${CHANNEL_FAKE_PID:-}" ]; then
                kill "$CHANNEL_FAKE_PID" 2>/dev/null || true
                wait "$CHANNEL_FAKE_PID" 2>/dev/null || true
                CHANNEL_FAKE_PID=
        fi
}

# The servers for the tests of the stderr channel ('&') and of '~':
# tests/lib/nbfake.py, a stand-in that speaks the protocol as revised, until
# both real servers do. Until then the tests that run nbnet against the real
# servers give it --merge-stderr (no '&', as today's servers need).
# NBNET_CHANNEL_SERVER=real flips both: nbnet as it is against the real
# servers, and the channel's tests against NBNET_MODE's real server.

CHANNEL_FAKE_PID=

# nbnet_for_real_servers: prints the nbnet to run against today's real
# servers: a wrapper that adds --merge-stderr, or nbnet itself when they take '&'.
nbnet_for_real_servers() {
        if [ "${NBNET_CHANNEL_SERVER:-fake}" = real ]; then
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
        if [ "${NBNET_CHANNEL_SERVER:-fake}" = real ] && [ "${1:-}" != --old ]; then
                CHANNEL_PORT=$PORT
                return 0
        fi
        CHANNEL_PORT=$(free_port)
        python3 "$TOP/tests/lib/nbfake.py" "$CHANNEL_PORT" --log "$CHANNEL_LOG" "$@" &
        CHANNEL_FAKE_PID=$!
        wait_until 10 port_open "$CHANNEL_PORT"
}

# For a test that reads what the stand-in logged: skipped against a real server.
needs_channel_log() {
        if [ "${NBNET_CHANNEL_SERVER:-fake}" = real ]; then
                skip "reads the stand-in server's log of requests"
        fi
}

stop_channel_server() {
        if [ -n "${CHANNEL_FAKE_PID:-}" ]; then
                kill "$CHANNEL_FAKE_PID" 2>/dev/null || true
                wait "$CHANNEL_FAKE_PID" 2>/dev/null || true
                CHANNEL_FAKE_PID=
        fi
}

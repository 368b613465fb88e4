# The server for the tests of stdin ('<'): tests/lib/nbfake.py, a stand-in
# that honours it, until both real servers do; NBNET_STDIN_SERVER=real runs
# these tests against NBNET_MODE's real server (started by setup) instead.
# NBINTERACT drives a program through pipes with bounded waits.

# shellcheck disable=SC2034 # used by the .bats files that load this one
NBINTERACT="python3 $TOP/tests/lib/nbinteract.py"
FAKE_PID=

# start_stdin_server: sets STDIN_PORT to a server that honours '<'.
start_stdin_server() {
        if [ "${NBNET_STDIN_SERVER:-fake}" = real ]; then
                STDIN_PORT=$PORT
                return 0
        fi
        STDIN_PORT=$(free_port)
        python3 "$TOP/tests/lib/nbfake.py" "$STDIN_PORT" --log "$BATS_TEST_TMPDIR/fake.log" &
        FAKE_PID=$!
        wait_until 10 port_open "$STDIN_PORT"
}

stop_stdin_server() {
        if [ -n "${FAKE_PID:-}" ]; then
                kill "$FAKE_PID" 2>/dev/null || true
                wait "$FAKE_PID" 2>/dev/null || true
                FAKE_PID=
        fi
}

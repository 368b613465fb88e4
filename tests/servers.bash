# More servers than helpers.bash's one, on addresses of the test's choosing:
# an IPv6 literal, a Unix socket, 127.0.0.2 and 127.0.0.3 for the fleet.
# helpers.bash's serve_at starts each, as it starts the test's own server.

EXTRA_SERVER_PIDS=()

# serve_extra LISTEN [server options...]: serve_at, into servers.log; the
# server is stopped by stop_extra_servers, even when it never listened.
serve_extra() {
        local rc=0
        SERVE_LOG=$BATS_TEST_TMPDIR/servers.log serve_at "$@" || rc=$?
        if [ -n "$SERVED_PID" ]; then
                EXTRA_SERVER_PIDS+=("$SERVED_PID")
        fi
        return "$rc"
}

# The pid of the last server serve_extra started.
last_server() {
        echo "${EXTRA_SERVER_PIDS[-1]}"
}

# Stops every extra server's process group; fails on a sanitizer report in their log.
stop_extra_servers() {
        local pid
        for pid in "${EXTRA_SERVER_PIDS[@]}"; do
                kill -TERM -- -"$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
        done
        EXTRA_SERVER_PIDS=()
        if grep -q 'Sanitizer\|runtime error:' "$BATS_TEST_TMPDIR/servers.log" 2>/dev/null; then
                echo "sanitizer report in the extra servers' log:" >&2
                cat "$BATS_TEST_TMPDIR/servers.log" >&2
                return 1
        fi
}

# Whether a TCP port is free on every address given.
port_free_on() {
        local port=$1
        shift
        python3 - "$port" "$@" <<'PY'
import socket, sys
port = int(sys.argv[1])
for addr in sys.argv[2:]:
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    try:
        s.bind((addr, port))
    except OSError:
        sys.exit(1)
    finally:
        s.close()
PY
}

# More servers than helpers.bash's one, on addresses of the test's choosing:
# an IPv6 literal, a Unix socket, 127.0.0.2 and 127.0.0.3 for the fleet.
# serve_at is the one place here that knows how each NBNET_MODE starts a server.

EXTRA_SERVER_PIDS=()

# serve_at LISTEN [server options...]: LISTEN is ADDR:PORT, [ADDR]:PORT or a socket path.
serve_at() {
        local listen=$1 activate=(systemd-socket-activate -E ASAN_OPTIONS -E UBSAN_OPTIONS -E LSAN_OPTIONS)
        shift
        # As start_server: the sanitizers' settings passed on, one process group each.
        case $NBNET_MODE in
        accept)
                setsid "${activate[@]}" -l "$listen" --accept "$NBNET_BIN/nbnet-handler" "$@" \
                        2>>"$BATS_TEST_TMPDIR/servers.log" &
                ;;
        inetd)
                setsid "${activate[@]}" -l "$listen" --inetd --accept "$NBNET_BIN/nbnet-handler" "$@" \
                        2>>"$BATS_TEST_TMPDIR/servers.log" &
                ;;
        nbnetd)
                setsid "$NBNET_BIN/nbnetd" --listen "$listen" "$@" 2>>"$BATS_TEST_TMPDIR/servers.log" &
                ;;
        nbnetd-activated)
                setsid "${activate[@]}" -l "$listen" "$NBNET_BIN/nbnetd" "$@" \
                        2>>"$BATS_TEST_TMPDIR/servers.log" &
                ;;
        *)
                echo "serve_at: unknown NBNET_MODE '$NBNET_MODE'" >&2
                return 1
                ;;
        esac
        EXTRA_SERVER_PIDS+=("$!")
}

# The pid of the last server serve_at started.
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

# Shared set-up of the bats suites: a real server on a free loopback port.
# NBNET_MODE picks how the server runs:
#   accept  nbnet-handler under systemd-socket-activate --accept (fd 3, LISTEN_FDS=1)
#   inetd   nbnet-handler under systemd-socket-activate --inetd --accept (fd 0)
#   nbnetd  nbnetd started by hand with --listen 127.0.0.1:$PORT
#   nbnetd-activated
#           nbnetd under systemd-socket-activate without --accept, listening on
#           127.0.0.1:$PORT and [::1]:$PORT (LISTEN_FDS=2)
# NBNET_BIN is the directory of the binaries under test (bin/ by default).

bats_load_library bats-support
bats_load_library bats-assert

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
NBNET_BIN=${NBNET_BIN:-$TOP/bin}
NBNET_MODE=${NBNET_MODE:-accept}
NBCLIENT="python3 $TOP/tests/lib/nbclient.py"

# Polls "$@" every 50 ms until it succeeds or SECONDS pass.
wait_until() {
        local limit_ns t0
        limit_ns=$(awk -v s="$1" 'BEGIN { printf "%d", s * 1e9 }')
        shift
        t0=$(date +%s%N)
        while ! "$@"; do
                if (($(date +%s%N) - t0 > limit_ns)); then
                        return 1
                fi
                sleep 0.05
        done
}

free_port() {
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_open() {
        nc -z "${2:-127.0.0.1}" "$1" 2>/dev/null
}

# start_server [server options...]: starts the mode's server on $PORT.
start_server() {
        PORT=$(free_port)
        SERVER_LOG=$BATS_TEST_TMPDIR/server.log
        case $NBNET_MODE in
        accept)
                systemd-socket-activate -l "127.0.0.1:$PORT" --accept \
                        "$NBNET_BIN/nbnet-handler" "$@" 2>"$SERVER_LOG" &
                ;;
        inetd)
                systemd-socket-activate -l "127.0.0.1:$PORT" --inetd --accept \
                        "$NBNET_BIN/nbnet-handler" "$@" 2>"$SERVER_LOG" &
                ;;
        nbnetd)
                "$NBNET_BIN/nbnetd" --listen "127.0.0.1:$PORT" "$@" 2>"$SERVER_LOG" &
                ;;
        nbnetd-activated)
                systemd-socket-activate -l "127.0.0.1:$PORT" -l "[::1]:$PORT" \
                        "$NBNET_BIN/nbnetd" "$@" 2>"$SERVER_LOG" &
                ;;
        *)
                echo "unknown NBNET_MODE '$NBNET_MODE'" >&2
                return 1
                ;;
        esac
        SERVER_PID=$!
        wait_until 5 port_open "$PORT" || {
                echo "server did not listen on $PORT; its log:" >&2
                cat "$SERVER_LOG" >&2
                return 1
        }
}

stop_server() {
        if [ -n "${SERVER_PID:-}" ]; then
                kill "$SERVER_PID" 2>/dev/null || true
                wait "$SERVER_PID" 2>/dev/null || true
                SERVER_PID=
        fi
}

# A request for COMMAND ("+" first for a status trailer).
frame() {
        printf '%s%010d%s' "${2:-}" "${#1}" "$1"
}

# nbsend COMMAND [nc options]: the command's output through nc.
nbsend() {
        local cmd=$1
        shift
        frame "$cmd" | nc -N "$@" 127.0.0.1 "$PORT"
}

# The status in a trailer at the end of FILE.
trailer_status() {
        tail -c 18 "$1" | python3 -c 'import sys,re; d=sys.stdin.buffer.read(); m=re.fullmatch(rb"\x1eNBNET-STATUS (\d{3})\n", d); print(int(m.group(1)) if m else "no-trailer")'
}

# Whether a process whose command line contains PATTERN is left.
no_process() {
        ! pgrep -f -- "$1" >/dev/null
}

# A unique, harmless marker for "sleep" so that tests can find their own processes.
unique_sleep() {
        echo "sleep 1000.$$$RANDOM"
}

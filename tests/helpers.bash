# Shared set-up of the bats suites: a real server on a free loopback port.
# NBNET_MODE picks how the server runs:
#   accept  nbnet-handler under systemd-socket-activate --accept (fd 3, LISTEN_FDS=1)
#   inetd   nbnet-handler under systemd-socket-activate --inetd --accept (fd 0)
#   nbnetd  nbnetd started by hand with --listen 127.0.0.1:$PORT (or $LISTEN)
#   nbnetd-activated
#           nbnetd under systemd-socket-activate without --accept, listening on
#           127.0.0.1:$PORT and [::1]:$PORT (LISTEN_FDS=2), or on $LISTEN alone
# NBNET_BIN is the directory of the binaries under test (bin/ by default).

bats_load_library bats-support
bats_load_library bats-assert

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
NBNET_BIN=${NBNET_BIN:-$TOP/bin}
NBNET_MODE=${NBNET_MODE:-accept}
# shellcheck disable=SC2034 # used by the .bats files that load this one
NBCLIENT="python3 $TOP/tests/lib/nbclient.py"

# Polls "$@" every 50 ms until it succeeds or SECONDS pass. %.0f, not %d:
# mawk (Debian's awk) caps %d at 2^31-1, which made every bound 2.1 s.
wait_until() {
        local limit_ns t0
        limit_ns=$(awk -v s="$1" 'BEGIN { printf "%.0f", s * 1e9 }')
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
# SERVER_WRAPPER, when set, is a command line put before the server's
# (setpriv to run it as another user, in-pids-cgroup to contain it).
# LISTEN, when set, is the address to listen on instead of 127.0.0.1:$PORT.
start_server() {
        if [ -z "${LISTEN:-}" ]; then
                PORT=$(free_port)
        fi
        SERVER_LOG=$BATS_TEST_TMPDIR/server.log
        local listen=${LISTEN:-127.0.0.1:$PORT}
        # shellcheck disable=SC2206
        local wrapper=(${SERVER_WRAPPER:-})
        # systemd-socket-activate passes on only the variables it is told to.
        local pass_env=(-E ASAN_OPTIONS -E UBSAN_OPTIONS -E LSAN_OPTIONS)
        # setsid: the server and everything it starts form one process group,
        # which stop_server ends as a whole.
        case $NBNET_MODE in
        accept)
                setsid "${wrapper[@]}" systemd-socket-activate "${pass_env[@]}" -l "$listen" --accept \
                        "$NBNET_BIN/nbnet-handler" "$@" 2>"$SERVER_LOG" &
                ;;
        inetd)
                setsid "${wrapper[@]}" systemd-socket-activate "${pass_env[@]}" -l "$listen" --inetd --accept \
                        "$NBNET_BIN/nbnet-handler" "$@" 2>"$SERVER_LOG" &
                ;;
        nbnetd)
                setsid "${wrapper[@]}" "$NBNET_BIN/nbnetd" --listen "$listen" "$@" 2>"$SERVER_LOG" &
                ;;
        nbnetd-activated)
                # Both loopback addresses, as nbnetd.socket has them, unless LISTEN says.
                local sockets=(-l "$listen")
                if [ -z "${LISTEN:-}" ]; then
                        sockets+=(-l "[::1]:$PORT")
                fi
                setsid "${wrapper[@]}" systemd-socket-activate "${pass_env[@]}" "${sockets[@]}" \
                        "$NBNET_BIN/nbnetd" "$@" 2>"$SERVER_LOG" &
                ;;
        *)
                echo "unknown NBNET_MODE '$NBNET_MODE'" >&2
                return 1
                ;;
        esac
        SERVER_PID=$!
        case $listen in
        /*) wait_until 5 test -S "$listen" ;;
        \[*) local host=${listen#\[} && wait_until 5 port_open "$PORT" "${host%%\]*}" ;;
        *) wait_until 5 port_open "$PORT" "${listen%:*}" ;;
        esac || {
                echo "server did not listen on $PORT; its log:" >&2
                cat "$SERVER_LOG" >&2
                return 1
        }
}

# Stops the server's process group; fails when its log has a sanitizer report.
stop_server() {
        if [ -n "${SERVER_PID:-}" ]; then
                kill -TERM -- -"$SERVER_PID" 2>/dev/null || kill "$SERVER_PID" 2>/dev/null || true
                wait "$SERVER_PID" 2>/dev/null || true
                SERVER_PID=
        fi
        if [ -n "${SERVER_LOG:-}" ] && grep -q 'Sanitizer\|runtime error:' "$SERVER_LOG" 2>/dev/null; then
                echo "sanitizer report in the server's log:" >&2
                cat "$SERVER_LOG" >&2
                return 1
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

# Makes a pids cgroup allowing at most MAX processes; prints its path.
make_pids_cgroup() {
        local base
        if [ -d /sys/fs/cgroup/pids ]; then
                base=/sys/fs/cgroup/pids
        else
                base=/sys/fs/cgroup
                echo +pids >"$base/cgroup.subtree_control" 2>/dev/null || true
        fi
        local dir=$base/nbnet-test-$$-$RANDOM
        mkdir "$dir" && echo "$1" >"$dir/pids.max" && echo "$dir"
}

# Kills whatever is left in a test's cgroup and removes it.
remove_pids_cgroup() {
        local dir=$1 pid pids
        [ -d "$dir" ] || return 0
        for _ in 1 2 3 4 5 6 7 8 9 10; do
                mapfile -t pids <"$dir/cgroup.procs"
                for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
                rmdir "$dir" 2>/dev/null && return 0
                sleep 0.1
        done
        echo "could not remove $dir" >&2
        return 1
}

# For a test that needs what a machine may lack (root, a writable cgroup):
# skips with the reason, except under CI (CI=true), where the machine that
# gates landing must run everything, so that the skip is a failure.
skip_unless_ci() {
        if [ "${CI:-}" = true ]; then
                echo "needed on CI: $1" >&2
                return 1
        fi
        skip "$1"
}

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

# The system's python3 and tools first (tests/run-all says why).
case ":$PATH:" in
:/usr/sbin:/usr/bin:*) ;;
*) export PATH="/usr/sbin:/usr/bin:/sbin:/bin:$PATH" ;;
esac
TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
NBNET_BIN=${NBNET_BIN:-$TOP/bin}
NBNET_MODE=${NBNET_MODE:-accept}
# shellcheck disable=SC2034 # used by the .bats files that load this one
NBCLIENT="python3 $TOP/tests/lib/nbclient.py"

# Polls "$@" every 50 ms (WAIT_STEP seconds) until it succeeds or SECONDS pass. %.0f, not %d:
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
                sleep "${WAIT_STEP:-0.05}"
        done
}

# A TCP port no socket of this machine has (any address, any state, as
# /proc/net/tcp and tcp6 list them), below the ephemeral range (32768 and up),
# so that no client's own port takes it before the server binds it. Stages
# that run side by side get ranges of their own (NBNET_PORT_BASE, tests/run-all).
free_port() {
        local base=${NBNET_PORT_BASE:-20000} port hex
        while :; do
                port=$((base + RANDOM % 6000))
                printf -v hex ':%04X ' "$port"
                grep -qF "$hex" /proc/net/tcp /proc/net/tcp6 2>/dev/null || break
        done
        echo "$port"
}

# port_open PORT [ADDR]: whether ADDR (127.0.0.1) answers on PORT; in the
# network namespace NBNET_NETNS (ip netns) when that is set.
port_open() {
        local in_ns=()
        [ -z "${NBNET_NETNS:-}" ] || in_ns=(ip netns exec "$NBNET_NETNS")
        "${in_ns[@]}" nc -z "${2:-127.0.0.1}" "$1" 2>/dev/null
}

# listening LISTEN: waits until the address answers (a socket path exists),
# trying every 10 ms: every test starts a server, and most are up in 20. A
# listener on every address is asked on loopback's.
listening() {
        case $1 in
        /* | .*) WAIT_STEP=0.01 wait_until 5 test -S "$1" ;;
        \[::\]:*) WAIT_STEP=0.01 wait_until 5 port_open "${1##*:}" ::1 ;;
        \[*) local host=${1#\[} && WAIT_STEP=0.01 wait_until 5 port_open "${1##*:}" "${host%%\]*}" ;;
        0.0.0.0:*) WAIT_STEP=0.01 wait_until 5 port_open "${1##*:}" 127.0.0.1 ;;
        *) WAIT_STEP=0.01 wait_until 5 port_open "${1##*:}" "${1%:*}" ;;
        esac
}

# serve_at LISTEN [server options...]: starts a server in NBNET_MODE on LISTEN
# (ADDR:PORT, [ADDR]:PORT or a socket path; several, separated by spaces) and
# waits until each address answers. This is the one place that knows how each
# mode starts a server. SERVED_PID is its pid (set before the wait, so that a
# server that never listens is stopped all the same); its stderr is appended
# to SERVE_LOG ($BATS_TEST_TMPDIR/servers.log unless set).
# SERVER_WRAPPER, when set, is a command line put before the server's
# (setpriv to run it as another user, in-pids-cgroup to contain it).
# SERVER_ENV, when set, is the server's whole environment ("NAME=value ...",
# split on spaces), the sanitizers' settings added; SERVER_DIR its directory.
serve_at() {
        local log=${SERVE_LOG:-$BATS_TEST_TMPDIR/servers.log} addrs addr name var
        SERVED_PID=
        read -r -a addrs <<<"$1"
        shift
        if [ "${#addrs[@]}" -eq 0 ]; then
                echo "serve_at: no address to listen on" >&2
                return 1
        fi
        # shellcheck disable=SC2206 # a command line, split into words on purpose
        local wrapper=(${SERVER_WRAPPER:-}) env=()
        local sanitizers=(ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS)
        # systemd-socket-activate passes on only what -E names, one value each
        # (empty when unset), and refuses names that are no shell names.
        local pass=() sockets=() listens=()
        for name in "${sanitizers[@]}"; do
                pass+=(-E "$name")
        done
        if [ -n "${SERVER_ENV+set}" ]; then
                # shellcheck disable=SC2206 # NAME=value words, split on purpose
                env=(env -i $SERVER_ENV)
                for name in "${sanitizers[@]}"; do
                        env+=("$name=${!name:-}")
                done
                for var in $SERVER_ENV; do
                        if [[ ${var%%=*} =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
                                pass+=(-E "${var%%=*}")
                        fi
                done
        fi
        for addr in "${addrs[@]}"; do
                sockets+=(-l "$addr")
                listens+=(--listen "$addr")
        done
        local server
        case $NBNET_MODE in
        accept) server=(systemd-socket-activate "${pass[@]}" "${sockets[@]}" --accept "$NBNET_BIN/nbnet-handler") ;;
        inetd) server=(systemd-socket-activate "${pass[@]}" "${sockets[@]}" --inetd --accept "$NBNET_BIN/nbnet-handler") ;;
        nbnetd) server=("$NBNET_BIN/nbnetd" "${listens[@]}") ;;
        nbnetd-activated) server=(systemd-socket-activate "${pass[@]}" "${sockets[@]}" "$NBNET_BIN/nbnetd") ;;
        *)
                echo "serve_at: unknown NBNET_MODE '$NBNET_MODE'" >&2
                return 1
                ;;
        esac
        # setsid: the server and everything it starts form one process group,
        # which stop_server (stop_extra_servers) ends as a whole.
        (cd "${SERVER_DIR:-.}" && exec setsid "${wrapper[@]}" "${env[@]}" "${server[@]}" "$@") 2>>"$log" &
        SERVED_PID=$!
        for addr in "${addrs[@]}"; do
                listening "$addr" || {
                        echo "server ($NBNET_MODE) did not listen on $addr; its log:" >&2
                        cat "$log" >&2
                        return 1
                }
        done
}

# start_server [server options...]: the test's server, started by serve_at on
# $PORT (a free one) of 127.0.0.1, or on LISTEN when set; its log SERVER_LOG,
# its pid SERVER_PID, stopped by stop_server.
start_server() {
        if [ -z "${LISTEN:-}" ]; then
                PORT=$(free_port)
        fi
        SERVER_LOG=$BATS_TEST_TMPDIR/server.log
        : >"$SERVER_LOG"
        local listen=${LISTEN:-127.0.0.1:$PORT} rc=0
        # The activated nbnetd gets both loopback addresses, as nbnetd.socket
        # has them (LISTEN_FDS=2), unless LISTEN says.
        if [ "$NBNET_MODE" = nbnetd-activated ] && [ -z "${LISTEN:-}" ]; then
                listen+=" [::1]:$PORT"
        fi
        SERVE_LOG=$SERVER_LOG serve_at "$listen" "$@" || rc=$?
        SERVER_PID=$SERVED_PID
        return "$rc"
}

# refused_at_start MESSAGE [server options...]: the server, started with the
# options, serves nothing, and says MESSAGE (a fixed string) in its log
# (SERVER_LOG, in every mode):
# nbnetd exits 2 at once (under systemd-socket-activate, after telling the
# client that woke it); a handler answers its client "server misconfigured"
# and status 125, then exits 2.
refused_at_start() {
        local message=$1
        shift
        case $NBNET_MODE in
        nbnetd)
                PORT=$(free_port)
                run -2 --separate-stderr timeout 10 "$NBNET_BIN/nbnetd" --listen "127.0.0.1:$PORT" "$@"
                SERVER_LOG=$BATS_TEST_TMPDIR/server.log
                # shellcheck disable=SC2154 # set by run --separate-stderr
                printf '%s\n' "$stderr" >"$SERVER_LOG"
                [[ "$stderr" == *"$message"* ]] || {
                        echo "expected in stderr: $message"
                        echo "got: $stderr"
                        return 1
                }
                [[ "$stderr" != *"listening on"* ]]
                ;;
        nbnetd-activated)
                # It starts at start_server's own probe, tells that client,
                # and exits: systemd-socket-activate execs it.
                start_server "$@" || true
                wait_until 5 server_gone
                local rc=0
                wait "$SERVER_PID" || rc=$?
                SERVER_PID=
                assert_equal "$rc" 2
                grep -qF -- "$message" "$SERVER_LOG" || {
                        echo "expected in the log: $message"
                        cat "$SERVER_LOG"
                        return 1
                }
                if grep -q "listening on" "$SERVER_LOG"; then
                        echo "nbnetd listened all the same:"
                        cat "$SERVER_LOG"
                        return 1
                fi
                ;;
        *)
                start_server "$@"
                run $NBCLIENT "$PORT" --command 'echo hi' --plus --timeout 5
                assert_output $'nbnet: server misconfigured (see its log)\n\x1eNBNET-STATUS 125'
                WAIT_STEP=0.05 wait_until 5 grep -q 'died with code 2' "$SERVER_LOG"
                grep -qF -- "$message" "$SERVER_LOG" || {
                        echo "expected in the log: $message"
                        cat "$SERVER_LOG"
                        return 1
                }
                ;;
        esac
}

# Whether the test's server process has exited.
server_gone() {
        ! kill -0 "$SERVER_PID" 2>/dev/null
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

# frame COMMAND [FLAGS]: prints the request for COMMAND, FLAGS ("+" for a
# status trailer, "+<", "+@" with a MUNGE credential as COMMAND...) before
# its ten digits. The one place bash builds a frame (tests/lib/nbframe.py is
# Python's); plain sh too, for the tests that pass it to sh -c with declare -f.
# LC_ALL=C: the length counts bytes, not a UTF-8 locale's characters.
frame() {
        local LC_ALL=C
        printf '%s%010d%s' "${2:-}" "${#1}" "$1"
}

# nbsend COMMAND [nc options]: the command's output through nc.
nbsend() {
        local cmd=$1
        shift
        frame "$cmd" | nc -N "$@" 127.0.0.1 "$PORT"
}

# The status in a trailer at the end of FILE.
# Bash, not python3: many tests ask, and python3 costs 60 ms a start here. The
# record separator, newline and NUL are made visible first (bash drops NULs).
trailer_status() {
        local last
        last=$(tail -c 18 "$1" | tr '\036\n\000' '^%?')
        if [[ $last =~ ^\^NBNET-STATUS\ ([0-9]{3})%$ ]]; then
                echo "$((10#${BASH_REMATCH[1]}))"
        else
                echo no-trailer
        fi
}

# A uid that no user has and no process runs as, for a server under
# --limit-nproc: RLIMIT_NPROC counts all of a user's processes on the
# machine, and make check's other lane runs processes as nobody meanwhile.
unused_uid() {
        local uid
        while :; do
                uid=$((40000 + RANDOM % 20000))
                getent passwd "$uid" >/dev/null || pgrep -U "$uid" >/dev/null || break
        done
        echo "$uid"
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
        mkdir "$dir" || return 1
        if ! echo "$1" >"$dir/pids.max"; then
                rmdir "$dir"
                return 1
        fi
        echo "$dir"
}

# use_pids_cgroup MAX: sets CGROUP to a new pids cgroup of at most MAX
# processes for a server run as another user; on a machine without the
# capabilities to switch users or a writable pids cgroup, skips with the
# reason (a failure under CI=true).
# shellcheck disable=SC2034 # CGROUP is read by the calling test and its teardown
use_pids_cgroup() {
        CGROUP=""
        needs_caps "running the server as another user (setpriv --reuid)" setuid setgid || return 1
        if ! CGROUP=$(make_pids_cgroup "$1" 2>"$BATS_TEST_TMPDIR/pids-cgroup.err"); then
                CGROUP=""
                skip_unless_ci "needs a writable pids cgroup: $(tr '\n' ' ' <"$BATS_TEST_TMPDIR/pids-cgroup.err" | head -c 200)"
                return 1
        fi
}

# For wait_until: the processes in cgroup DIR, counted anew at every try.
cgroup_procs_at_most() {
        [ "$(wc -l <"$1/cgroup.procs")" -le "$2" ]
}

cgroup_procs_are() {
        [ "$(wc -l <"$1/cgroup.procs")" -eq "$2" ]
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

# Capability numbers (linux/capability.h) of the names have_cap takes.
declare -gA CAP_BITS=([kill]=5 [setgid]=6 [setuid]=7 [net_admin]=12 [net_raw]=13
        [sys_admin]=21 [sys_ptrace]=19)

# have_cap NAME...: whether this shell has every capability NAME (kill,
# setgid, setuid, net_admin, net_raw, sys_admin, sys_ptrace) in its effective
# set (CapEff in /proc/PID/status). A uid of 0 says nothing about them: root
# in a container (docker's default set, capsh --drop) may lack any of them.
have_cap() {
        local name key value eff=
        while read -r key value; do
                [ "$key" = CapEff: ] && eff=$value
        done <"/proc/$BASHPID/status"
        [ -n "$eff" ] || return 1
        for name in "$@"; do
                if [ -z "${CAP_BITS[$name]:-}" ]; then
                        echo "have_cap: unknown capability '$name' (known: ${!CAP_BITS[*]})" >&2
                        return 2
                fi
                (((16#$eff >> CAP_BITS[$name]) & 1)) || return 1
        done
}

# needs_caps "WHAT" NAME...: for a test that needs the capabilities NAME;
# without them, skips saying which are missing and for what (a failure
# under CI=true, as skip_unless_ci).
needs_caps() {
        local what=$1 name missing=()
        shift
        for name in "$@"; do
                have_cap "$name" || missing+=("CAP_${name^^}")
        done
        [ "${#missing[@]}" -eq 0 ] && return 0
        skip_unless_ci "$what needs ${missing[*]}, not in this process's effective set (root in a container may lack it)"
}

# For a test that needs what a machine may lack (a capability, a writable cgroup):
# skips with the reason, except under CI (CI=true), where the machine that
# gates landing must run everything, so that the skip is a failure.
skip_unless_ci() {
        if [ "${CI:-}" = true ]; then
                echo "needed on CI: $1" >&2
                return 1
        fi
        skip "$1"
}

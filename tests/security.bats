#!/usr/bin/env bats
# Who may connect, what may run, and per-command resource limits.
# Runs once per server mode (NBNET_MODE, see helpers.bash).

bats_require_minimum_version 1.5.0

load helpers

teardown() {
        stop_server
        if [ -n "${UNIX_DIR:-}" ]; then
                rm -rf "$UNIX_DIR"
        fi
        if [ -n "${CGROUP:-}" ]; then
                remove_pids_cgroup "$CGROUP"
        fi
}

# Connects from FROM (a local address) and prints what came back.
from() {
        local src=$1
        shift
        $NBCLIENT "$PORT" --bind "$src" "$@"
}

@test "--allow: a peer inside the list runs its command" {
        start_server --allow 127.0.0.1/32
        run from 127.0.0.1 --command "echo allowed" --plus
        assert_output $'allowed\n\x1eNBNET-STATUS 000'
}

@test "--allow: a peer outside the list gets no byte, runs nothing, and is logged" {
        start_server --allow 127.0.0.1/32 --allow ::1
        run --separate-stderr from 127.0.0.2 --command "touch $BATS_TEST_TMPDIR/ran" --plus --timeout 5
        assert_output ""
        [ ! -e "$BATS_TEST_TMPDIR/ran" ]
        wait_until 2 grep -q '127.0.0.2:[0-9]* - status 126 .*peer not allowed' "$SERVER_LOG"
}

@test "--allow: a CIDR prefix admits its whole network" {
        start_server --allow 127.0.0.0/30
        run from 127.0.0.3 --command "echo in" --plus
        assert_output $'in\n\x1eNBNET-STATUS 000'
        run --separate-stderr from 127.0.0.4 --command "echo out" --plus --timeout 5
        assert_output ""
}

@test "--allow: IPv6 rules admit ::1 and refuse it when only IPv4 is listed" {
        PORT=$(free_port)
        LISTEN="[::1]:$PORT" start_server --allow ::1/128
        run $NBCLIENT "$PORT" --host ::1 --command 'echo v6' --plus
        assert_output $'v6\n\x1eNBNET-STATUS 000'
        stop_server
        LISTEN="[::1]:$PORT" start_server --allow 127.0.0.1
        run --separate-stderr $NBCLIENT "$PORT" --host ::1 --command 'echo v6' --plus --timeout 5
        assert_output ""
}

@test "--allow: an IPv4 peer on a dual-stack socket matches its IPv4 rule" {
        PORT=$(free_port)
        LISTEN="[::]:$PORT" start_server --allow 127.0.0.1
        run $NBCLIENT "$PORT" --host 127.0.0.1 --command 'echo "mapped $REMOTE_ADDR"' --plus
        assert_output $'mapped 127.0.0.1\n\x1eNBNET-STATUS 000'
        run --separate-stderr $NBCLIENT "$PORT" --host 127.0.0.1 --bind 127.0.0.2 --command 'echo no' --timeout 5
        assert_output ""
}

@test "--allow: a bad CIDR is a usage error that says what is expected" {
        run --separate-stderr "$NBNET_BIN/nbnet-handler" --allow 10.0.0.0/33
        assert_failure 2
        [[ "$stderr" == *"--allow must be an address or CIDR"*"'10.0.0.0/33'"* ]]
}

# A Unix socket that nobody may also open, in a directory nobody may enter,
# with a copy of the raw client (and the frame builder it imports) that
# nobody may run.
unix_server() {
        UNIX_DIR=$(mktemp -d /tmp/nbnet-unix.XXXXXX)
        chmod 755 "$UNIX_DIR"
        cp "$TOP/tests/lib/nbclient.py" "$TOP/tests/lib/nbframe.py" "$UNIX_DIR/"
        SOCK=$UNIX_DIR/nbnet.sock
        LISTEN=$SOCK start_server "$@"
        chmod 777 "$SOCK"
}

# The raw client on the Unix socket, as nobody (Debian's python3: a
# per-user interpreter on PATH may not be nobody's to run).
client_as_nobody() {
        setpriv --reuid=nobody --regid=nogroup --clear-groups \
                /usr/bin/python3 "$UNIX_DIR/nbclient.py" --unix "$SOCK" "$@"
}

@test "--allow-uid: the listed user is served on a Unix socket, another is refused" {
        unix_server --allow-uid root
        run $NBCLIENT --unix "$SOCK" --command 'id -un' --plus
        assert_output $'root\n\x1eNBNET-STATUS 000'
        run --separate-stderr client_as_nobody --command 'id -un' --plus --timeout 5
        assert_output ""
        wait_until 2 grep -q 'peer not allowed' "$SERVER_LOG"
}

@test "--allow-group: a member of the group is served, others are refused" {
        unix_server --allow-group nogroup
        run client_as_nobody --command 'echo member' --plus
        assert_output $'member\n\x1eNBNET-STATUS 000'
        run --separate-stderr $NBCLIENT --unix "$SOCK" --command 'echo root' --plus --timeout 5
        assert_output ""
}

@test "--allow-uid: an unknown user is a usage error" {
        run --separate-stderr "$NBNET_BIN/nbnet-handler" --allow-uid no-such-user-nbnet
        assert_failure 2
        [[ "$stderr" == *"--allow-uid must be a known user name or a uid"* ]]
}

# kind_refused LISTEN WHAT RULE...: a rule that does not apply to LISTEN's
# kind of socket (WHAT: "a Unix socket" or "TCP"), and none that does. nbnetd
# refuses to start and names the listener; nbnet-handler, which learns the
# kind only with the connection, closes it unanswered and logs why.
kind_refused() {
        local listen=$1 what=$2
        shift 2
        case $NBNET_MODE in
        nbnetd)
                run --separate-stderr timeout 10 "$NBNET_BIN/nbnetd" --listen "$listen" "$@"
                assert_failure 2
                [[ "$stderr" == *"nbnetd: the listener $listen ($what) would be open to anyone: "* ]]
                [[ "$stderr" != *"listening on"* ]]
                ;;
        *)
                # systemd-socket-activate starts the server at the first connection:
                # on TCP start_server's own probe, which an nbnetd that exits at once
                # may reset before the probe saw it connected (as refused_at_start).
                if [ "$NBNET_MODE" = nbnetd-activated ]; then
                        LISTEN=$listen start_server "$@" || true
                else
                        LISTEN=$listen start_server "$@"
                fi
                if [ "$what" = TCP ]; then
                        run $NBCLIENT "$PORT" --command 'echo ran' --plus --timeout 5
                else
                        run $NBCLIENT --unix "$listen" --command 'echo ran' --plus --timeout 5
                fi
                refute_output --partial ran
                if [ "$NBNET_MODE" = nbnetd-activated ]; then
                        wait_until 5 server_gone
                        stderr=$(cat "$SERVER_LOG")
                        [[ "$stderr" == *"nbnetd: the listener $listen ($what) would be open to anyone: "* ]]
                        [[ "$stderr" != *"listening on"* ]]
                        return
                fi
                wait_until 2 grep -q "connection refused: the rules given do not apply to this socket kind ($what)" "$SERVER_LOG"
                grep -q "status 126 .*no rule given applies to this socket kind" "$SERVER_LOG"
                ;;
        esac
}

@test "rules per socket kind: --allow alone with a Unix socket serves nobody, and says which listener" {
        UNIX_DIR=$(mktemp -d /tmp/nbnet-unix.XXXXXX)
        kind_refused "$UNIX_DIR/nbnet.sock" "a Unix socket" --allow 10.9.9.9/32
        [[ "$NBNET_MODE" != nbnetd* ]] || [[ "$stderr" == *"--allow applies to addresses"*"every local user"* ]]
}

@test "rules per socket kind: --allow-uid alone with a TCP listener serves nobody, and says which" {
        PORT=$(free_port)
        kind_refused "127.0.0.1:$PORT" TCP --allow-uid root
        [[ "$NBNET_MODE" != nbnetd* ]] || [[ "$stderr" == *"--allow-uid and --allow-group apply to the local users of a Unix socket"* ]]
}

@test "rules per socket kind: a rule for each kind serves both" {
        [[ "$NBNET_MODE" == nbnetd* ]] || skip "one listener per handler: the Unix case is the test above"
        UNIX_DIR=$(mktemp -d /tmp/nbnet-unix.XXXXXX)
        PORT=$(free_port)
        LISTEN="127.0.0.1:$PORT $UNIX_DIR/nbnet.sock" start_server --allow 127.0.0.1 --allow-uid root
        run $NBCLIENT "$PORT" --command 'echo tcp'
        assert_output tcp
        run $NBCLIENT --unix "$UNIX_DIR/nbnet.sock" --command 'echo unix'
        assert_output unix
}

# The warning of an open door, as both servers word it, for LISTEN's address.
open_door_warning() {
        echo "the listener $1 accepts connections from the network with no --allow rule and no --munge: anyone who reaches it runs commands as $(id -un); give --allow CIDR or --munge"
}

@test "open doors: nbnetd warns at start of a listener on every address with no --allow and no --munge" {
        [[ "$NBNET_MODE" == nbnetd* ]] || skip "nbnet-handler judges each connection: the next test"
        PORT=$(free_port)
        # Only the start's log is read; the one connection is loopback's.
        LISTEN="0.0.0.0:$PORT" start_server
        wait_until 2 grep -q "listening on" "$SERVER_LOG"
        grep -qF "$(open_door_warning "0.0.0.0:$PORT")" "$SERVER_LOG" || {
                echo "expected the open-door warning; the log:" >&2
                cat "$SERVER_LOG" >&2
                return 1
        }
}

@test "open doors: no warning for loopback, --allow, --munge, or an nrpe.cfg's allowed_hosts" {
        local cfg=$BATS_TEST_TMPDIR/nrpe.cfg
        printf '%s\n' "allowed_hosts=127.0.0.1" "command[hello]=echo hello" >"$cfg"
        start_server
        run $NBCLIENT "$PORT" --command 'echo loopback'
        assert_output loopback
        stop_server
        PORT=$(free_port)
        # A connection to a listener on every address that came over loopback:
        # the handler judges the connection's own address.
        LISTEN="0.0.0.0:$PORT" start_server --allow 127.0.0.0/8
        run $NBCLIENT "$PORT" --command 'echo allowed'
        assert_output allowed
        stop_server
        LISTEN="0.0.0.0:$PORT" start_server --munge
        stop_server
        LISTEN="0.0.0.0:$PORT" start_server --commands "$cfg"
        run $NBCLIENT "$PORT" --command hello
        assert_output hello
        if [[ "$NBNET_MODE" != nbnetd* ]]; then
                stop_server
                LISTEN="0.0.0.0:$PORT" start_server
                run $NBCLIENT "$PORT" --command 'echo over loopback'
                assert_output "over loopback"
        fi
        run grep -F "accepts connections from the network" "$SERVER_LOG"
        assert_output ""
}

@test "open doors: --allow-uid beside --allow on TCP, without --munge, is warned about as doing nothing there" {
        [[ "$NBNET_MODE" == nbnetd* ]] || skip "a startup warning of nbnetd's"
        start_server --allow 127.0.0.1 --allow-uid root
        wait_until 2 grep -q "listening on" "$SERVER_LOG"
        run grep -F "the listener 127.0.0.1:$PORT (TCP): --allow-uid and --allow-group cannot apply to it: TCP carries no uid (only a MUNGE credential does)" "$SERVER_LOG"
        assert_success
        [[ "$output" == *"give --munge to judge the credential's user, or serve those users on a Unix socket"* ]]
        # The --allow rule still serves.
        run $NBCLIENT "$PORT" --command 'echo tcp'
        assert_output tcp
}


commands_file() {
        COMMANDS=$BATS_TEST_TMPDIR/commands
        printf '%s\n' "# restricted commands" "" "hello = echo hello from the table" \
                "  load=cat /proc/loadavg  " "fail = exit 9" >"$COMMANDS"
}

@test "--commands: a known name runs its configured command line" {
        commands_file
        start_server --commands "$COMMANDS"
        run $NBCLIENT "$PORT" --command hello --plus
        assert_output $'hello from the table\n\x1eNBNET-STATUS 000'
        $NBCLIENT "$PORT" --command fail --plus >"$BATS_TEST_TMPDIR/out"
        assert_equal "$(trailer_status "$BATS_TEST_TMPDIR/out")" 9
        run $NBCLIENT "$PORT" --command load
        assert_output --regexp '^[0-9.]+ [0-9.]+ [0-9.]+ [0-9]+/[0-9]+ [0-9]+$'
}

@test "--commands: anything else gets 'command not allowed', 126, and never reaches a shell" {
        commands_file
        start_server --commands "$COMMANDS"
        run $NBCLIENT "$PORT" --command "hello; touch $BATS_TEST_TMPDIR/ran" --plus
        assert_output $'nbnet: command not allowed\n\x1eNBNET-STATUS 126'
        run $NBCLIENT "$PORT" --command "touch $BATS_TEST_TMPDIR/ran"
        assert_output "nbnet: command not allowed"
        [ ! -e "$BATS_TEST_TMPDIR/ran" ]
        wait_until 2 grep -q 'status 126 .*command not allowed' "$SERVER_LOG"
}

@test "--commands: a bad table is refused with its file name and line number" {
        printf '%s\n' "ok = true" "this line has no equals sign" >"$BATS_TEST_TMPDIR/bad"
        refused_at_start "$BATS_TEST_TMPDIR/bad:2: expected 'name = command line'" \
                --commands "$BATS_TEST_TMPDIR/bad"
}

@test "--commands: a missing table says so, once" {
        refused_at_start "$BATS_TEST_TMPDIR/missing: No such file or directory" \
                --commands "$BATS_TEST_TMPDIR/missing"
        run grep -c "No such file or directory.*No such file or directory" "$SERVER_LOG"
        assert_output 0
}

@test "--commands: a FIFO is refused at once as not a regular file, never waited on" {
        mkfifo "$BATS_TEST_TMPDIR/fifo"
        # A server blocked in open() would never answer: refused_at_start's own timeouts.
        refused_at_start "$BATS_TEST_TMPDIR/fifo: not a regular file" \
                --commands "$BATS_TEST_TMPDIR/fifo"
}

# nrpe_hosts HOSTS: an nrpe.cfg whose allowed_hosts is HOSTS, into NRPE_CFG.
nrpe_hosts() {
        NRPE_CFG=$BATS_TEST_TMPDIR/nrpe.cfg
        printf '%s\n' "server_port=5666" "allowed_hosts=$1" "command[hello]=echo hello" >"$NRPE_CFG"
}

@test "allowed_hosts: an nrpe.cfg's hosts are served, others get no byte and are logged" {
        nrpe_hosts 127.0.0.2
        start_server --commands "$NRPE_CFG"
        run --separate-stderr from 127.0.0.1 --command hello --plus --timeout 5
        assert_output ""
        wait_until 2 grep -q '127.0.0.1:[0-9]* - status 126 .*peer not allowed (allowed_hosts of --commands)' "$SERVER_LOG"
        run from 127.0.0.2 --command hello --plus
        assert_output $'hello\n\x1eNBNET-STATUS 000'
}

@test "allowed_hosts and --allow both apply: a peer must pass both" {
        nrpe_hosts "127.0.0.2, 127.0.0.3"
        start_server --commands "$NRPE_CFG" --allow 127.0.0.0/30
        run from 127.0.0.2 --command hello
        assert_output hello
        # In allowed_hosts, not in --allow; in --allow, not in allowed_hosts.
        run --separate-stderr from 127.0.0.4 --command hello --timeout 5
        assert_output ""
        run --separate-stderr from 127.0.0.1 --command hello --timeout 5
        assert_output ""
}

@test "allowed_hosts: a host name refuses the table, with the line and what to write" {
        nrpe_hosts "127.0.0.1,nagios.example.com"
        refused_at_start "$NRPE_CFG:2: allowed_hosts: 'nagios.example.com' is not an IPv4 or IPv6 address or network (192.0.2.0/24); nbnet looks up no host names: write the host's addresses instead" \
                --commands "$NRPE_CFG"
}

@test "allowed_hosts: nbnetd's SIGHUP puts a new list in force, and a bad one keeps the old" {
        [[ "$NBNET_MODE" == nbnetd* ]] || skip "nbnet-handler reads the table per connection"
        nrpe_hosts 127.0.0.2
        start_server --commands "$NRPE_CFG"
        run from 127.0.0.2 --command hello
        assert_output hello
        nrpe_hosts 127.0.0.3
        kill -HUP "$SERVER_PID"
        wait_until 2 grep -q "SIGHUP: --commands $NRPE_CFG reloaded" "$SERVER_LOG"
        run from 127.0.0.3 --command hello
        assert_output hello
        run --separate-stderr from 127.0.0.2 --command hello --timeout 5
        assert_output ""
        nrpe_hosts "127.0.0.2,nagios.example.com"
        kill -HUP "$SERVER_PID"
        wait_until 2 grep -q "keeping the table in force" "$SERVER_LOG"
        run from 127.0.0.3 --command hello
        assert_output hello
        run --separate-stderr from 127.0.0.2 --command hello --timeout 5
        assert_output ""
}

@test "--limit-nproc: a fork bomb ends, and the server still serves" {
        # RLIMIT_NPROC does not bind root: run the server as a uid of its own
        # (unused_uid), inside a pids cgroup of our own so that a mistake
        # cannot take the machine down.
        local uid
        uid=$(unused_uid)
        use_pids_cgroup 200
        SERVER_WRAPPER="$TOP/tests/lib/in-pids-cgroup $CGROUP setpriv --reuid=$uid --regid=$uid --clear-groups" \
                start_server --limit-nproc 20 --command-timeout 5
        # dash does not take ':' as a function name; the bomb is the same. The
        # main shell waits with builtins only: once the bomb holds every
        # process nobody may have, its own fork would fail ("Cannot fork").
        run $NBCLIENT "$PORT" --command 'bomb() { bomb | bomb & }; bomb 2>/dev/null; i=0; while [ $i -lt 50000 ]; do i=$((i + 1)); done; echo survived' --plus --timeout 15
        assert_output --partial "survived"
        wait_until 5 cgroup_procs_at_most "$CGROUP" 2
        run $NBCLIENT "$PORT" --command 'echo still serving' --plus
        assert_output $'still serving\n\x1eNBNET-STATUS 000'
}

@test "--limit-cpu: a busy loop is stopped by SIGXCPU, status 152" {
        # The hard limit is one second above the soft one: SIGXCPU first (152,
        # which says why), SIGKILL (137) only for a command that ignores it.
        start_server --limit-cpu 1
        $NBCLIENT "$PORT" --command 'while :; do :; done' --plus --timeout 10 >"$BATS_TEST_TMPDIR/out"
        assert_equal "$(trailer_status "$BATS_TEST_TMPDIR/out")" 152
}

@test "--limit-fsize: writing past the limit fails" {
        start_server --limit-fsize 1M
        $NBCLIENT "$PORT" --command "head -c 100M /dev/zero > $BATS_TEST_TMPDIR/x" --plus >"$BATS_TEST_TMPDIR/out"
        assert_equal "$(trailer_status "$BATS_TEST_TMPDIR/out")" 153
        (( $(stat -c %s "$BATS_TEST_TMPDIR/x") <= 1048576 ))
}

@test "--limit-as: an allocation past the limit fails" {
        start_server --limit-as 200M
        run $NBCLIENT "$PORT" --command "python3 -c 'bytearray(400 << 20)' 2>&1 | tail -1" --plus
        assert_output --partial "MemoryError"
}

@test "a bad --limit-as size says what a size looks like" {
        run --separate-stderr "$NBNET_BIN/nbnet-handler" --limit-as 12Q
        assert_failure 2
        [[ "$stderr" == *"--limit-as must be a size like 512M or 2G, got '12Q'"* ]]
}

# A Unix socket of nbnetd's own making, in a directory of the test's.
unix_socket_path() {
        UNIX_DIR=$(mktemp -d /tmp/nbnet-unix.XXXXXX)
        chmod 755 "$UNIX_DIR"
        SOCK=$UNIX_DIR/nbnet.sock
}

@test "--listen PATH: the socket is 0666 by default, so --allow-uid's users can connect, and is removed at exit" {
        [ "$NBNET_MODE" = nbnetd ] || skip "nbnetd's own sockets (systemd makes the others)"
        unix_socket_path
        cp "$TOP/tests/lib/nbclient.py" "$TOP/tests/lib/nbframe.py" "$UNIX_DIR/"
        LISTEN=$SOCK start_server --allow-uid nobody
        assert_equal "$(stat -c %a "$SOCK")" 666
        run client_as_nobody --command 'echo served'
        assert_output served
        stop_server
        [ ! -e "$SOCK" ]
}

@test "--socket-mode and --socket-owner: the socket is made so" {
        [ "$NBNET_MODE" = nbnetd ] || skip "nbnetd's own sockets (systemd makes the others)"
        unix_socket_path
        LISTEN=$SOCK start_server --socket-mode 0660 --socket-owner nobody:nogroup
        assert_equal "$(stat -c '%a %U %G' "$SOCK")" "660 nobody nogroup"
        stop_server
        [ ! -e "$SOCK" ]
}

@test "--socket-mode and --socket-owner: bad values and a non-root nbnetd are usage errors" {
        [ "$NBNET_MODE" = nbnetd ] || skip "nbnetd's options"
        run --separate-stderr "$NBNET_BIN/nbnetd" --socket-mode 0899 --listen /tmp/unused.sock
        assert_failure 2
        [[ "$stderr" == *"--socket-mode must be an octal mode 0..0777 (e.g. 0660), got '0899'"* ]]
        run --separate-stderr "$NBNET_BIN/nbnetd" --socket-owner no-such-user-nbnet --listen /tmp/unused.sock
        assert_failure 2
        [[ "$stderr" == *"--socket-owner: unknown user 'no-such-user-nbnet'"* ]]
        needs_caps "running nbnetd as nobody (setpriv --reuid)" setuid setgid
        run --separate-stderr setpriv --reuid nobody --regid nogroup --clear-groups \
                "$NBNET_BIN/nbnetd" --socket-owner nobody --listen /tmp/unused.sock
        assert_failure 2
        [[ "$stderr" == *"--socket-owner needs root"* ]]
}

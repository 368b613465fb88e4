#!/usr/bin/env bats
# A cgroup per command in nbnetd (doc/protocol.md, Closing): every
# process a command starts ends with it, its CPU time is in the record, and
# where no cgroup can be had, leftovers do not slow later requests. nbnetd
# by hand and socket-activated; root makes its subtree in the cgroup2 mount
# (on a hybrid host /sys/fs/cgroup/unified).

bats_require_minimum_version 1.5.0

load helpers

NBSTDIN="python3 $TOP/tests/lib/nbstdin.py"

setup() {
        case $NBNET_MODE in
        nbnetd | nbnetd-activated) ;;
        *) skip "cgroups are nbnetd's; the handler's unit has its own cgroup" ;;
        esac
        if ! cgroup2_writable; then
                skip_unless_ci "a cgroup2 hierarchy where this process can make a cgroup is needed (tried mkdir in $(cgroup2_mount || echo 'no cgroup2 mount'))"
        fi
}

teardown() {
        stop_server
        pkill -f "sleep 1000.$$" 2>/dev/null || true
        pkill -f "daemon-marker-$$" 2>/dev/null || true
}

# Whether a cgroup can be made in the cgroup2 mount: tried, not judged by
# uid or mode (a container's root may have a read-only or foreign one).
cgroup2_writable() {
        local m probe
        m=$(cgroup2_mount) || return 1
        probe=$m/nbnet-probe-$$-$RANDOM
        mkdir "$probe" 2>/dev/null || return 1
        rmdir "$probe"
}

# How many processes carry MARKER in their command line.
count_marked() {
        pgrep -c -f -- "$1" || true
}

marked_are() {
        [ "$(count_marked "$1")" -eq "$2" ]
}

none_marked() {
        [ "$(count_marked "$1")" -eq 0 ]
}

@test "nbnetd says at start that each command has a cgroup of its own" {
        start_server
        wait_until 2 grep -q "a cgroup per command under /sys/fs/cgroup" "$SERVER_LOG"
}

@test "a daemon that escaped with setsid and kept the socket ends with its command" {
        local marker="sleep 1000.$$.1"
        start_server
        run --separate-stderr $NBCLIENT "$PORT" --plus -c "setsid sh -c \"$marker & exec >/dev/null 2>&1; wait\" & sleep 0.3; echo started"
        assert_success
        assert_output --partial "started"
        wait_until 1 none_marked "$marker"
}

@test "a double-forked daemon with its fds closed ends with its command" {
        local marker="sleep 1000.$$.2"
        start_server
        frame "(setsid sh -c '$marker' </dev/null >/dev/null 2>&1 &) ; echo forked" | nc -N 127.0.0.1 "$PORT" >"$BATS_TEST_TMPDIR/out"
        assert_equal "$(cat "$BATS_TEST_TMPDIR/out")" "forked"
        wait_until 1 none_marked "$marker"
}

@test "2,000 detached daemons are all gone when their command ends, and the next request is served within a second" {
        local marker="daemon-marker-$$-3" t0 t1
        start_server
        frame "/usr/bin/python3 $TOP/tests/lib/daemons.py 2000 $marker" |
                timeout 60 nc -N 127.0.0.1 "$PORT" >"$BATS_TEST_TMPDIR/out"
        assert_equal "$(cat "$BATS_TEST_TMPDIR/out")" "made 2000"
        wait_until 2 none_marked "$marker"
        t0=$(date +%s%N)
        run --separate-stderr nbsend "echo next"
        t1=$(date +%s%N)
        cat "$SERVER_LOG" >&2
        assert_output "next"
        (((t1 - t0) < 1000000000))
}

@test "the record of a command that burns 0.5 s of CPU says so within 20%" {
        start_server
        # Until its own user and system time together reach 0.5 s, start-up included.
        nbsend '/usr/bin/python3 -c "import resource as r
u = lambda: sum(r.getrusage(r.RUSAGE_SELF)[:2])
while u() < 0.5:
    pass"' >/dev/null
        wait_until 2 grep -q "cpu [0-9]*\.[0-9]* ms" "$SERVER_LOG"
        local ms
        ms=$(grep -o "cpu [0-9]*\.[0-9]* ms" "$SERVER_LOG" | tail -n 1 | awk '{ print int($2) }')
        echo "cpu: $ms ms" >&3
        ((ms >= 400 && ms <= 600))
}

@test "a command that is cut by a reset ends with every process it started" {
        local marker="sleep 1000.$$.4"
        start_server
        $NBCLIENT "$PORT" -c "setsid $marker </dev/null >/dev/null 2>&1 & $marker" --reset-after 0.3 || true
        wait_until 2 none_marked "$marker"
}

@test "--limit-tasks asks for a controller this host does not delegate: a startup error that says why" {
        grep -qw pids "$(cgroup2_mount)/cgroup.controllers" && skip "this host has the pids controller in cgroup2"
        run --separate-stderr "$NBNET_BIN/nbnetd" --listen "127.0.0.1:$(free_port)" --limit-tasks 20
        assert_failure
        [[ "$stderr" == *"--limit-tasks needs the pids controller"* ]]
}

@test "--cgroups off keeps process groups" {
        start_server --cgroups off
        wait_until 2 grep -q "process groups, no cgroups (--cgroups off)" "$SERVER_LOG"
        run --separate-stderr nbsend "echo ok"
        assert_output "ok"
}

cgroup2_mount() {
        local m
        for m in /sys/fs/cgroup /sys/fs/cgroup/unified; do
                [ "$(stat -f -c %T "$m" 2>/dev/null)" = cgroup2fs ] && echo "$m" && return 0
        done
}

@test "the subtree nbnetd made is removed when it stops" {
        local base
        start_server
        wait_until 2 grep -q "a cgroup per command under" "$SERVER_LOG"
        nbsend "true" >/dev/null
        base=$(grep -o "a cgroup per command under [^ ]*" "$SERVER_LOG" | awk '{ print $NF }')
        [ -d "$base" ]
        stop_server
        wait_until 2 test ! -d "$base"
}

@test "the tree of an nbnetd killed with SIGKILL is removed, its processes killed, by the next nbnetd" {
        local marker base
        marker=$(unique_sleep)
        start_server
        wait_until 2 grep -q "a cgroup per command under" "$SERVER_LOG"
        base=$(grep -o "a cgroup per command under [^ ;]*" "$SERVER_LOG" | awk '{ print $NF }')
        # A command still running when its nbnetd is killed: it stays in its cgroup.
        nbsend "exec $marker" >/dev/null &
        local client=$!
        wait_until 5 marked_are "$marker" 1
        kill -KILL "$SERVER_PID"
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
        [ -d "$base" ] || fail "$base went with the SIGKILL: nothing to remove"
        marked_are "$marker" 1 || fail "the command went with the SIGKILL"
        start_server
        wait_until 10 grep -q "removed $base, the cgroup tree of an nbnetd that is gone" "$SERVER_LOG" ||
                fail "the next nbnetd did not say it removed $base: $(cat "$SERVER_LOG")"
        [ ! -d "$base" ] || fail "$base is still there: $(find "$base" -maxdepth 2)"
        wait_until 5 none_marked "$marker" || fail "the command of the killed nbnetd runs on"
        wait "$client" || true
        # The live server's own tree stays, and it serves.
        run nbsend "echo alive"
        assert_output alive
}

# second_leaves_first_alone [WRAPPER]: an nbnetd, then a second one (started
# through WRAPPER when given), which must not remove the first's tree; the
# first still serves.
second_leaves_first_alone() {
        local base
        start_server
        wait_until 2 grep -q "a cgroup per command under" "$SERVER_LOG"
        base=$(grep -o "a cgroup per command under [^ ;]*" "$SERVER_LOG" | awk '{ print $NF }')
        local first_pid=$SERVER_PID first_port=$PORT first_log=$SERVER_LOG
        SERVER_PID=
        SERVER_WRAPPER="${1:-}" start_server
        wait_until 2 grep -q "a cgroup per command under" "$SERVER_LOG"
        run ! grep -q "removed $base" "$SERVER_LOG"
        [ -d "$base" ] || fail "the live nbnetd's $base was removed"
        run bash -c "$(declare -f frame); frame 'echo first' | nc -N 127.0.0.1 $first_port"
        assert_output first
        stop_server
        SERVER_PID=$first_pid SERVER_LOG=$first_log
}

@test "the tree of a live nbnetd is left alone by the next one" {
        second_leaves_first_alone
}

# An nbnetd in another PID namespace (a container that shares the cgroup
# hierarchy) cannot tell by the PID in a tree's name whether its nbnetd
# lives: the tree's lock tells it.
@test "the tree of a live nbnetd is left alone by one started in another PID namespace" {
        local base
        [ "$(id -u)" -eq 0 ] || skip "unshare --pid needs root"
        unshare --pid --fork --mount-proc true 2>/dev/null || skip "unshare --pid --fork --mount-proc is refused here"
        second_leaves_first_alone "unshare --pid --fork --mount-proc"
}

# mark_tree DIR PIDNS PID START: DIR's owner xattr, as an nbnetd writes it.
mark_tree() {
        python3 -c 'import os, sys; os.setxattr(sys.argv[1], "trusted.nbnet.owner", sys.argv[2].encode())' \
                "$1" "$(printf 'pidns %s\npid %s\nstart %s\n' "$2" "$3" "$4")"
}

# start_time PID: field 22 of /proc/PID/stat.
start_time() {
        python3 -c 'import sys; print(open(f"/proc/{sys.argv[1]}/stat").read().rsplit(")", 1)[1].split()[19])' "$1"
}

@test "beside its tree, nbnetd removes only trees its xattr proves stale: same PID namespace, process gone" {
        local parent pidns gone dead reused live unmarked other owner
        start_server
        wait_until 2 grep -q "a cgroup per command under" "$SERVER_LOG"
        parent=$(dirname "$(grep -o "a cgroup per command under [^ ;]*" "$SERVER_LOG" | awk '{ print $NF }')")
        owner=$(python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "trusted.nbnet.owner").decode())' \
                "$parent/nbnetd.$SERVER_PID") || skip_unless_ci "no trusted.* xattr on cgroup2 here: nbnetd can prove no tree stale"
        pidns=$(stat -L -c %i /proc/self/ns/pid)
        assert_equal "$owner" "$(printf 'pidns %s\npid %s\nstart %s' "$pidns" "$SERVER_PID" "$(start_time "$SERVER_PID")")"
        stop_server
        true &
        gone=$!
        wait "$gone"
        # One per case; their PIDs are what the xattr says, the names only need the form.
        dead=$parent/nbnetd.99999001 reused=$parent/nbnetd.99999002 live=$parent/nbnetd.99999003
        unmarked=$parent/nbnetd.99999004 other=$parent/nbnetd.99999005
        mkdir "$dead" "$reused" "$live" "$unmarked" "$other"
        mark_tree "$dead" "$pidns" "$gone" 1
        mark_tree "$reused" "$pidns" $$ "$(($(start_time $$) + 1))"
        mark_tree "$live" "$pidns" $$ "$(start_time $$)"
        mark_tree "$other" "$((pidns + 1))" "$gone" 1
        start_server
        wait_until 2 grep -q "a cgroup per command under" "$SERVER_LOG"
        local stays=("$live" "$unmarked" "$other") d
        for d in "$dead" "$reused"; do
                [ ! -d "$d" ] || stays+=("$d")
        done
        rmdir "${stays[@]}" 2>/dev/null || true
        grep -q "removed $dead, the cgroup tree of an nbnetd that is gone" "$SERVER_LOG" ||
                fail "the tree of a gone nbnetd was not removed: $(cat "$SERVER_LOG")"
        grep -q "removed $reused, " "$SERVER_LOG" || fail "the tree whose PID another process has now was not removed"
        for d in "$live" "$unmarked" "$other"; do
                run ! grep -q "removed $d" "$SERVER_LOG"
        done
        [ "${#stays[@]}" -eq 3 ] || fail "stale trees stayed: ${stays[*]:3}"
}

@test "an nbnetd in another PID namespace leaves a live nbnetd's tree and command alone" {
        local marker base client
        unshare -pf --mount-proc true 2>/dev/null ||
                skip_unless_ci "unshare -pf --mount-proc cannot make a PID namespace here"
        marker=$(unique_sleep)
        start_server
        wait_until 2 grep -q "a cgroup per command under" "$SERVER_LOG"
        base=$(grep -o "a cgroup per command under [^ ;]*" "$SERVER_LOG" | awk '{ print $NF }')
        nbsend "exec $marker" >/dev/null &
        client=$!
        wait_until 5 marked_are "$marker" 1
        local first_pid=$SERVER_PID first_log=$SERVER_LOG
        # Not its namespace's init: pid 1 ignores the SIGTERM stop_server sends.
        printf '#!/bin/sh\nexec unshare -pf --mount-proc sh -c %s in-pidns "$@"\n' "'\"\$@\"; exit \$?'" \
                >"$BATS_TEST_TMPDIR/in-pidns"
        chmod +x "$BATS_TEST_TMPDIR/in-pidns"
        SERVER_PID=
        SERVER_WRAPPER=$BATS_TEST_TMPDIR/in-pidns start_server
        wait_until 5 grep -q "a cgroup per command under" "$SERVER_LOG" ||
                fail "the nbnetd in a PID namespace did not start: $(cat "$SERVER_LOG")"
        run nbsend "echo second"
        assert_output second
        stop_server
        SERVER_PID=$first_pid SERVER_LOG=$first_log
        [ -d "$base" ] || fail "the live nbnetd's $base was removed"
        marked_are "$marker" 1 || fail "the live nbnetd's command was killed"
        kill "$client" 2>/dev/null || true
}

@test "without cgroups (an unprivileged nbnetd), 500 daemons left behind do not slow the next requests" {
        local marker="daemon-marker-$$-5" t0 t1 n
        needs_caps "running the server as nobody (setpriv --reuid)" setuid setgid
        SERVER_WRAPPER="setpriv --reuid nobody --regid nogroup --clear-groups" start_server
        wait_until 2 grep -q "process groups, no cgroups" "$SERVER_LOG"
        frame "/usr/bin/python3 $TOP/tests/lib/daemons.py 500 $marker" |
                timeout 60 nc -N 127.0.0.1 "$PORT" >"$BATS_TEST_TMPDIR/out"
        assert_equal "$(cat "$BATS_TEST_TMPDIR/out")" "made 500"
        # They escaped with their descriptors closed: process groups cannot end them
        # (the parent that forked them may take a moment to be gone from the count).
        wait_until 5 marked_are "$marker" 500
        # n, not i: bats' run sets a variable i of its own.
        for n in 1 2 3 4 5; do
                t0=$(date +%s%N)
                run --separate-stderr nbsend "echo next $n"
                t1=$(date +%s%N)
                assert_output "next $n"
                echo "request $n: $(((t1 - t0) / 1000000)) ms" >&3
                (((t1 - t0) < 1000000000))
        done
}

# nested_command TAIL: a command that makes NAME inside its own cgroup (found
# from /proc/self/cgroup, in the cgroup2 mount), prints its path, then runs TAIL.
nested_command() {
        printf 'd=%s$(sed -n "s/^0:://p" /proc/self/cgroup)/nested; mkdir "$d" && echo "$d"%s' \
                "$(cgroup2_mount)" "${1:+; $1}"
}

@test "a cgroup a command makes inside its own is removed when the command ends" {
        local nested base
        start_server
        nested=$(nbsend "$(nested_command)")
        [[ $nested == */nbnetd.*/cmd-*/nested ]] || {
                echo "expected the path of the nested cgroup, got '$nested'" >&2
                cat "$SERVER_LOG" >&2
                return 1
        }
        wait_until 2 test ! -d "$nested"
        # The slot serves the next command.
        run --separate-stderr nbsend "echo next"
        assert_output "next"
        base=${nested%/cmd-*}
        stop_server
        wait_until 2 test ! -d "$base"
}

@test "a process left in a nested cgroup is killed with its command, and the cgroup removed" {
        local marker="sleep 1000.$$.6" nested
        start_server
        # The child moves itself into the nested cgroup, then becomes the marker.
        nested=$(nbsend "$(nested_command "sh -c 'echo \$\$ >\"\$1/cgroup.procs\" && exec $marker' sh \"\$d\" </dev/null >/dev/null 2>&1 & sleep 0.2")")
        [[ $nested == */nbnetd.*/cmd-*/nested ]] || {
                echo "expected the path of the nested cgroup, got '$nested'" >&2
                return 1
        }
        wait_until 2 none_marked "$marker"
        wait_until 2 test ! -d "$nested"
}

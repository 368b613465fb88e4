#!/usr/bin/env bats
# Who runs what (PROTOCOL.md, What the command sees): a command gets a
# login's environment, not the server's; with --run-as it runs as another
# user, with no capability, and can neither signal, trace nor read the
# server. In every NBNET_MODE.

bats_require_minimum_version 1.5.0

load helpers

teardown() {
        stop_server
        # A cgroup the test delegated to the server's user: its slots went with nbnetd.
        if [ -n "${DELEGATED_CG:-}" ]; then
                rmdir "$DELEGATED_CG/supervisor" "$DELEGATED_CG" 2>/dev/null || true
        fi
}

# The server's environment in these tests: what a login would not give.
SERVER_VARS="PATH=/opt/server/bin:/usr/bin:/bin HOME=/server-home LANG=C.UTF-8 LC_TIME=C TZ=UTC SECRET_MARKER=1 OLDPWD=/tmp TERM=dumb"

# For the tests that switch users: root's capabilities, or a skip that says why.
needs_switch() {
        needs_caps "running commands as another user (--run-as)" setuid setgid kill
}

# FIELD (1-based) of USER's passwd entry.
passwd_field() {
        getent passwd "$1" | cut -d: -f"$2"
}

# The names of the variables a command sees, sorted, on one line.
env_names() {
        nbsend 'env' | cut -d= -f1 | sort | tr '\n' ' '
}

@test "a command's environment is a login's: none of the server's variables" {
        local user path=/usr/local/bin:/usr/bin:/bin
        user=$(id -un)
        [ "$(id -u)" -ne 0 ] || path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
        SERVER_ENV=$SERVER_VARS start_server
        run env_names
        assert_output "HOME LANG LC_TIME LOGNAME PATH PWD REMOTE_ADDR REMOTE_PORT SHELL TMPDIR TZ USER "
        run nbsend 'echo "$PATH|$HOME|$USER|$LOGNAME|$SHELL|$LANG|$TZ|${SECRET_MARKER-unset}"'
        assert_output "$path|$(passwd_field "$user" 6)|$user|$user|$(passwd_field "$user" 7)|C.UTF-8|UTC|unset"
}

@test "--pass-env passes the server's value on, --setenv sets one: nothing else" {
        SERVER_ENV=$SERVER_VARS start_server --pass-env SECRET_MARKER --pass-env NOT_SET \
                --setenv FOO=bar --setenv HOME=/elsewhere
        run env_names
        assert_output "FOO HOME LANG LC_TIME LOGNAME PATH PWD REMOTE_ADDR REMOTE_PORT SECRET_MARKER SHELL TMPDIR TZ USER "
        run nbsend 'echo "$SECRET_MARKER $FOO $HOME"'
        assert_output "1 bar /elsewhere"
}

@test "--setenv and --pass-env refuse names that are no variable names" {
        run -2 "$NBNET_BIN/nbnetd" --setenv 'A-B=1' --listen 127.0.0.1:1
        assert_output --partial "--setenv must be NAME=VALUE"
        run -2 "$NBNET_BIN/nbnet-handler" --pass-env REMOTE_ADDR
        assert_output --partial "--pass-env must be a NAME"
}

@test "a server that runs commands as itself says so at start" {
        start_server
        run nbsend 'echo hi'
        assert_output hi
        if [ "$(id -u)" -eq 0 ]; then
                grep -q 'commands run as root, as the server does: any command can signal, trace and stop' "$SERVER_LOG"
        else
                grep -q "commands run as the server's own user .*: a command can signal, trace and stop" "$SERVER_LOG"
        fi
        grep -q 'give --run-as USER' "$SERVER_LOG"
}

@test "--run-as nobody: nobody's uid, gid, groups, HOME, USER, SHELL, and no capability" {
        needs_switch || return 0
        SERVER_ENV=$SERVER_VARS start_server --run-as nobody
        run nbsend 'id -u; id -g; id -G; grep CapEff /proc/self/status; echo "$HOME $USER $LOGNAME $SHELL $PATH"'
        assert_output "$(id -u nobody)
$(id -g nobody)
$(id -G nobody)
CapEff:	0000000000000000
$(passwd_field nobody 6) nobody nobody $(passwd_field nobody 7) /usr/local/bin:/usr/bin:/bin"
        # The direct path (no shell) switches alike.
        run nbsend 'grep -e ^Uid -e ^CapInh -e ^CapEff -e ^CapAmb /proc/self/status'
        assert_output "Uid:	$(id -u nobody)	$(id -u nobody)	$(id -u nobody)	$(id -u nobody)
CapInh:	0000000000000000
CapEff:	0000000000000000
CapAmb:	0000000000000000"
        run ! grep -q 'can signal, trace and stop' "$SERVER_LOG"
}

@test "each command gets a TMPDIR of its own: 0700, its user's, in a directory no one can list" {
        needs_switch || return 0
        start_server --run-as nobody
        run nbsend 'echo "$TMPDIR"; stat -c "%a %U" "$TMPDIR" "${TMPDIR%/*}"; ls "${TMPDIR%/*}" >/dev/null 2>&1 || echo unlisted'
        assert_line --index 0 --regexp '^/tmp/nbnet\.[A-Za-z0-9]{6}/[0-9a-f]{16}$'
        assert_line --index 1 "700 nobody"
        assert_line --index 2 "1733 $(id -un)"
        assert_line --index 3 unlisted
        # Another command's is another name.
        [ "$(nbsend 'echo "$TMPDIR"')" != "${lines[0]}" ]
}

# The TMPDIR (or, with ${TMPDIR%/*}, the server's directory) the command
# EXPR names, printed by a request for it: fails when there is none.
tmpdir_of() {
        local dir
        dir=$(nbsend "$1; echo \"$2\"")
        [[ $dir == /tmp/nbnet.* ]] || fail "no TMPDIR: '$dir'"
        echo "$dir"
}

@test "what a command leaves in its TMPDIR is gone within a second of its end" {
        needs_switch || return 0
        start_server --run-as nobody
        local dir
        dir=$(tmpdir_of 'mkdir "$TMPDIR/d"; echo kept >"$TMPDIR/d/f"' '$TMPDIR')
        wait_until 1 test ! -e "$dir" || fail "$dir still there a second after its command: $(ls -laR "$dir")"
        # An empty one goes at once: nothing is left for the next command to find.
        dir=$(tmpdir_of true '$TMPDIR')
        wait_until 1 test ! -e "$dir" || fail "the empty $dir still there a second after its command"
}

@test "each command's TMPDIR is as new, whatever the one before did to its own" {
        needs_switch || return 0
        start_server --run-as nobody
        local look fresh spoil i
        # Its mode and owner, what is in it, its extended attributes, its inode flags.
        look='stat -c "%a %U" "$TMPDIR"; ls -A "$TMPDIR"; python3 -c "import os; print(os.listxattr(os.environ[\"TMPDIR\"]))"; lsattr -d "$TMPDIR" | cut -d" " -f1'
        fresh=$(nbsend "$look")
        [[ $fresh == "700 nobody"$'\n'"[]"$'\n'* ]] || fail "a first TMPDIR: $fresh"
        for spoil in 'chmod 755 "$TMPDIR"' 'touch "$TMPDIR/f"' 'mkdir "$TMPDIR/d"' \
                'python3 -c "import os; os.setxattr(os.environ[\"TMPDIR\"], \"user.left\", b\"1\")"' \
                'chattr +A "$TMPDIR"'; do
                run nbsend "$spoil; $look"
                if [ "$output" = "$fresh" ]; then
                        echo "# not on this /tmp: $spoil" >&3
                        continue
                fi
                # nbnetd may keep an empty one for the next command: never this one.
                for i in 1 2 3; do
                        run nbsend "$look"
                        assert_output "$fresh"
                done
        done
}

# For the tests of kept TMPDIRs: nbnetd keeps none where /tmp is in memory.
needs_disk_tmp() {
        local fs
        fs=$(stat -f -c %T /tmp)
        case $fs in
        tmpfs | ramfs) skip_unless_ci "nothing is kept on /tmp's $fs: a mkdir costs less there" ;;
        esac
}

# An emptied TMPDIR serves a later command: the same directory (inode and
# birth time), its name new and the old one gone. The thread may not be
# done when the next request comes: one in ten tries.
tmpdir_served_again() {
        local prev="" now i
        for i in 1 2 3 4 5 6 7 8 9 10; do
                now=$(nbsend 'stat -c "%i %.9W %n" "$TMPDIR"')
                if [ -n "$prev" ] && [ "${now% *}" = "${prev% *}" ] && [ "${now##* }" != "${prev##* }" ]; then
                        [ ! -e "${prev##* }" ] || fail "the old name ${prev##* } is still there"
                        return 0
                fi
                prev=$now
        done
        fail "no TMPDIR served a later command in 10 tries (last: $now)"
}

# nbnetd as the tests of kept TMPDIRs want it: commands as nobody, a
# cgroup per command (only a command that ends whole leaves its TMPDIR), and
# /tmp on a disk; false where that cannot be (skipped, or failed under CI).
start_keeping_nbnetd() {
        [[ $NBNET_MODE == nbnetd* ]] || skip "nbnet-handler serves one command"
        needs_switch || return 1
        needs_disk_tmp || return 1
        start_server --run-as nobody
        wait_until 2 grep -q 'a cgroup per command under ' "$SERVER_LOG" ||
                skip_unless_ci "only a command that ends whole (its cgroup empty) leaves one: no cgroups here"
}

@test "nbnetd: an emptied TMPDIR serves a later command of its user, under a new name" {
        start_keeping_nbnetd || return 0
        tmpdir_served_again
}

# As the shipped unit runs it: a user of its own (daemon here) with
# CAP_SETUID, CAP_SETGID and CAP_KILL only, in a cgroup delegated to it, and
# commands as nobody, whose 0700 TMPDIRs it may not read: its thread takes
# nobody's fsuid to look into one.
@test "nbnetd as a user with three capabilities, in a delegated cgroup, keeps nobody's TMPDIRs" {
        [[ $NBNET_MODE == nbnetd* ]] || skip "nbnet-handler serves one command"
        needs_switch || return 0
        needs_disk_tmp || return 0
        command -v capsh >/dev/null || skip_unless_ci "needs capsh (libcap2-bin)"
        local mnt own wrapper=$BATS_TEST_TMPDIR/as-daemon
        mnt=$(findmnt -t cgroup2 -n -o TARGET | head -n 1)
        [ -n "$mnt" ] && [ -w "$mnt" ] || skip_unless_ci "needs a writable cgroup2 mount"
        own=$(sed -n 's/^0:://p' /proc/self/cgroup)
        DELEGATED_CG=$mnt${own%/}/nbnet-test-delegated.$$
        mkdir "$DELEGATED_CG"
        chown -R daemon: "$DELEGATED_CG"
        # capsh -- runs bash: its -c line execs the server's command line.
        printf '#!/bin/sh\necho $$ >"%s/cgroup.procs" || exit 1\nexec capsh --keep=1 --user=daemon --inh=cap_setuid,cap_setgid,cap_kill --addamb=cap_setuid,cap_setgid,cap_kill -- -c '\''exec "$0" "$@"'\'' "$@"\n' \
                "$DELEGATED_CG" >"$wrapper"
        chmod +x "$wrapper"
        SERVER_WRAPPER=$wrapper start_server --run-as nobody
        wait_until 2 grep -q "a cgroup per command under $DELEGATED_CG" "$SERVER_LOG" ||
                fail "nbnetd did not take the delegated cgroup: $(cat "$SERVER_LOG")"
        # shellcheck disable=SC2016 # for the command's shell
        assert_equal "$(nbsend 'echo "$(id -un) $(stat -c %U /proc/$PPID)"')" "nobody daemon"
        tmpdir_served_again
        run ! grep -q "setfsuid/setfsgid to the commands' user refused" "$SERVER_LOG"
}

# Another process of the same user that holds an emptied TMPDIR open (its
# cwd) can still change it once it is kept: the next command given it finds
# out in its child, before its program starts, and is told (125); the
# directory goes with what was put in it, and the command after gets a new
# one. (A change after that check is what such a process can do to any
# running command's TMPDIR, whose name is in its /proc/PID/environ.)
@test "nbnetd: a kept TMPDIR changed by a process that held it open is refused at the next start" {
        start_keeping_nbnetd || return 0
        local out=$BATS_TEST_TMPDIR/first dir first holder
        nbsend 'echo "$TMPDIR"; sleep 1' >"$out" &
        first=$!
        wait_until 2 test -s "$out" || fail "the first command said nothing"
        dir=$(head -n 1 "$out")
        # The holder: in the first command's TMPDIR, it plants once that one
        # is over and its directory kept (renamed: the old name is gone).
        nbsend "cd '$dir' && for i in \$(seq 100); do [ -e '$dir' ] || break; sleep 0.05; done && touch planted && sleep 2" >/dev/null &
        holder=$!
        wait_until 6 sh -c "find '${dir%/*}' -name planted | grep -q ." || fail "nothing planted"
        run $NBCLIENT "$PORT" --command 'ls -A "$TMPDIR"' --plus --timeout 5
        assert_output $'nbnet: cannot run the command: its TMPDIR, kept from an earlier command of its user, was changed since by another process; try again\n\x1eNBNET-STATUS 125'
        wait_until 1 sh -c "! find '${dir%/*}' -name planted | grep -q ." || fail "what was planted stays"
        run $NBCLIENT "$PORT" --command 'ls -A "$TMPDIR"; echo listed' --plus --timeout 5
        assert_output $'listed\n\x1eNBNET-STATUS 000'
        wait "$first" "$holder"
}

@test "the server's TMPDIR directory goes when it stops" {
        needs_switch || return 0
        start_server --run-as nobody
        local dir
        dir=$(tmpdir_of true '${TMPDIR%/*}')
        # nbnet-handler's ends with its connection; nbnetd's when it stops.
        if [[ $NBNET_MODE == nbnetd* ]]; then
                [ -d "$dir" ] || fail "nbnetd's $dir gone while it serves"
                stop_server
        fi
        wait_until 2 test ! -e "$dir" || fail "$dir still there after the server stopped: $(ls -la "$dir")"
}

@test "--run-as USER:GROUP takes the group given, names or numbers" {
        needs_switch || return 0
        start_server --run-as "$(id -u nobody):$(getent group nogroup daemon | head -n1 | cut -d: -f3)"
        run nbsend 'id -u; id -g'
        assert_output "$(id -u nobody)
$(getent group nogroup daemon | head -n1 | cut -d: -f3)"
}

# The server's long-lived process, the one the test started (nbnetd, or
# systemd-socket-activate above the handlers); the command's own handler is
# $PPID. Other handlers come and go with their connections: not counted.
server_pids() {
        echo "$SERVER_PID"
}

# Whether the server still serves at once, and is the same process, not stopped.
still_serving() {
        local state
        run timeout 1 bash -c "$(declare -f frame); frame 'echo alive' | nc -N 127.0.0.1 $PORT"
        assert_output alive
        state=$(awk '{ print $3 }' "/proc/$SERVER_PID/stat")
        if [ "$state" = T ] || [ "$state" = Z ]; then
                echo "server $SERVER_PID is in state $state" >&2
                return 1
        fi
}

@test "--run-as nobody: a command cannot kill, stop or terminate the server" {
        needs_switch || return 0
        start_server --run-as nobody
        local sig pids
        for sig in KILL STOP TERM; do
                pids=$(server_pids | tr '\n' ' ')
                run nbsend "kill -$sig \$PPID $pids; echo status \$?"
                assert_output --partial "Operation not permitted"
                assert_output --partial "status 1"
                still_serving
        done
}

@test "--run-as nobody: a command cannot read the server's environment or memory, nor trace it" {
        needs_switch || return 0
        SERVER_ENV=$SERVER_VARS start_server --run-as nobody
        local pid
        for pid in '$PPID' $(server_pids); do
                run nbsend "cat /proc/$pid/environ >/dev/null && echo read environ; head -c 1 /proc/$pid/mem >/dev/null && echo read mem; echo done"
                assert_output --partial "Permission denied"
                refute_output --partial "read "
                refute_output --partial "SECRET_MARKER"
                run nbsend "python3 -c 'import ctypes, sys; libc = ctypes.CDLL(None, use_errno=True); r = libc.ptrace(16, int(sys.argv[1]), 0, 0); print(r, ctypes.get_errno())' $pid"
                assert_output "-1 1"
                still_serving
        done
}

@test "--run-as nobody: a command can neither make, enter, freeze nor kill a cgroup of nbnetd's tree" {
        [[ $NBNET_MODE == nbnetd* ]] || skip "a cgroup per command is nbnetd's"
        needs_switch || return 0
        start_server --run-as nobody
        # The tree of per-command cgroups, as nbnetd names it at start.
        local root
        wait_until 2 grep -q 'a cgroup per command under ' "$SERVER_LOG" ||
                skip_unless_ci "nbnetd has no cgroup per command here: $(grep -o 'process groups.*' "$SERVER_LOG")"
        root=$(sed -n 's/.*a cgroup per command under \([^ ;]*\).*/\1/p' "$SERVER_LOG" | head -n 1)
        [ -d "$root" ] || fail "no cgroup tree '$root'"
        # A delegated tree has nbnetd in supervisor/; one of its own, nbnetd outside it.
        [ -d "$root/supervisor" ] || mkdir "$root/supervisor"
        local attempt
        for attempt in "mkdir $root/esc" "echo \$\$ >$root/supervisor/cgroup.procs" \
                "echo 1 >$root/supervisor/cgroup.freeze" "echo 1 >$root/supervisor/cgroup.kill" \
                "for d in $root/*/; do echo \$\$ >\${d}cgroup.procs && exit 0; echo 1 >\${d}cgroup.freeze && exit 0; done; exit 1"; do
                run nbsend "if ( $attempt ) 2>/dev/null; then echo HARMED; else echo refused; fi"
                [ "$output" = refused ] || fail "'$attempt': '$output'; the server's log: $(cat "$SERVER_LOG")"
                still_serving
        done
        [ ! -e "$root/esc" ]
        [ "$(cat "$root/supervisor/cgroup.freeze" 2>/dev/null || echo 0)" = 0 ]
}

@test "--run-as a user that does not exist: a startup error that names it, exit 2; a waiting client is told" {
        case $NBNET_MODE in
        nbnetd)
                run -2 "$NBNET_BIN/nbnetd" --listen "127.0.0.1:$(free_port)" --run-as nosuchuser-nbnet
                ;;
        nbnetd-activated)
                # It starts at the first connection (start_server's own probe),
                # answers it, and exits: systemd-socket-activate execs it.
                start_server --run-as nosuchuser-nbnet || true
                wait_until 5 server_gone
                run cat "$SERVER_LOG"
                ;;
        *)
                # Each connection starts a handler, which tells its client.
                start_server --run-as nosuchuser-nbnet
                run $NBCLIENT "$PORT" --command 'echo hi' --plus --timeout 5
                assert_output $'nbnet: server misconfigured (see its log)\n\x1eNBNET-STATUS 125'
                WAIT_STEP=0.05 wait_until 5 grep -q 'no user' "$SERVER_LOG"
                run cat "$SERVER_LOG"
                assert_output --partial "died with code 2"
                ;;
        esac
        assert_output --partial "there is no user 'nosuchuser-nbnet' on this system: name an existing user"
}

@test "--run-as without CAP_SETUID and CAP_SETGID: a startup error that says what it needs" {
        needs_switch || return 0
        command -v capsh >/dev/null || skip_unless_ci "needs capsh (libcap2-bin)"
        local wrapper=$BATS_TEST_TMPDIR/dropcaps
        # capsh -- runs bash: its -c line execs the server's command line.
        printf '#!/bin/sh\nexec capsh --drop=cap_setuid,cap_setgid -- -c '\''exec "$0" "$@"'\'' "$@"\n' >"$wrapper"
        chmod +x "$wrapper"
        case $NBNET_MODE in
        nbnetd)
                run -2 "$wrapper" "$NBNET_BIN/nbnetd" --listen "127.0.0.1:$(free_port)" --run-as nobody
                ;;
        *)
                SERVER_WRAPPER=$wrapper start_server --run-as nobody || true
                nbsend 'echo hi' || true
                WAIT_STEP=0.05 wait_until 5 grep -q 'needs root' "$SERVER_LOG" || true
                run cat "$SERVER_LOG"
                ;;
        esac
        assert_output --partial "--run-as nobody: running commands as another user needs root or the capabilities CAP_SETUID, CAP_SETGID and CAP_KILL, and this process lacks CAP_SETUID, CAP_SETGID"
}

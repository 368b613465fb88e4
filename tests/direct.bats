#!/usr/bin/env bats
# The direct path: a command line without shell syntax is exec'd without
# /bin/sh -c. Every command below runs on a default server and on one with
# --always-shell, and what the client gets (output, errors, status trailer)
# must be the same bytes. NBNET_MODE: nbnetd or accept (the handler).

bats_require_minimum_version 1.5.0

load helpers

case $NBNET_MODE in
nbnetd | accept) ;;
*) NBNET_MODE=nbnetd ;;
esac

# The servers' environment: a duplicate, names dash drops, a stale PWD,
# OLDPWD; of which the commands get only what pair_env_options names.
server_env() {
        echo "PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 A=1 A=2 B-C=3 1X=4" \
                "PWD=/nonexistent OLDPWD=/tmp TERM=dumb"
}

# What the commands get besides a login's variables: a PATH whose first
# directory holds a file that is not executable (ls), a script without #!
# (hello) and a directory (date); the server's A, PWD, OLDPWD and TERM.
pair_env_options() {
        echo "--setenv PATH=$BIN_DIR:/usr/local/bin:/usr/bin:/bin --pass-env A --pass-env PWD" \
                "--pass-env OLDPWD --pass-env TERM"
}

# start_pair_server PORT [options]: one server in the file's mode, in $WORK,
# with server_env as its whole environment.
start_pair_server() {
        local port=$1 rc=0 env_options
        shift
        read -r -a env_options <<<"$(pair_env_options)"
        SERVER_ENV=$(server_env) SERVER_DIR=$WORK SERVE_LOG=$WORK/servers.log \
                serve_at "127.0.0.1:$port" "${env_options[@]}" "$@" || rc=$?
        echo "$SERVED_PID" >>"$WORK/pids"
        return "$rc"
}

setup_file() {
        export WORK=$BATS_FILE_TMPDIR BIN_DIR=$BATS_FILE_TMPDIR/bin
        mkdir -p "$BIN_DIR/date" "$WORK/dir"
        printf 'echo not run\n' >"$BIN_DIR/ls"
        printf 'echo "script $0 $# $1"\nexit 7\n' >"$BIN_DIR/hello"
        chmod +x "$BIN_DIR/hello"
        cp "$BIN_DIR/hello" "$WORK/script"
        printf 'x\n' >"$WORK/plain"
        # For the tests of the process tree: a program that signals its
        # parent, and then says $2; one that exits with $1; one that kills
        # its own group; one that dies of SIGTERM after starting a background
        # writer that ignores SIGTERM and writes once the script's parent is
        # gone; programs named like options of sh.
        printf '#!/bin/sh\nkill -"$1" $PPID\n[ -z "$2" ] || echo "$2"\n' >"$BIN_DIR/killppid"
        printf '#!/bin/sh\nexit "$1"\n' >"$BIN_DIR/exitn"
        printf '#!/bin/sh\nkill -TERM 0\nsleep 1\necho not killed\n' >"$BIN_DIR/killgroup"
        printf '#!/bin/sh\ntrap "" TERM\n(while kill -0 $PPID 2>/dev/null; do sleep 0.01; done; echo late) &\ntrap - TERM\nkill -TERM $$\n' \
                >"$BIN_DIR/bgnote"
        printf '#!/bin/sh\necho "run as $0"\n' >"$BIN_DIR/-x"
        cp "$BIN_DIR/-x" "$BIN_DIR/+e"
        chmod +x "$BIN_DIR/killppid" "$BIN_DIR/exitn" "$BIN_DIR/killgroup" "$BIN_DIR/bgnote" \
                "$BIN_DIR/-x" "$BIN_DIR/+e"
        export DIRECT_PORT SHELL_PORT
        DIRECT_PORT=$(free_port)
        SHELL_PORT=$(free_port)
        start_pair_server "$DIRECT_PORT"
        start_pair_server "$SHELL_PORT" --always-shell
}

teardown_file() {
        local pid
        if [ -f "$WORK/pids" ]; then
                while read -r pid; do
                        kill -TERM -- -"$pid" 2>/dev/null || true
                done <"$WORK/pids"
        fi
        if grep -q 'Sanitizer\|runtime error:' "$WORK/servers.log" 2>/dev/null; then
                cat "$WORK/servers.log" >&2
                return 1
        fi
}

# What a client gets for COMMAND from the server on PORT; the peer's port
# (REMOTE_PORT) and the command's own TMPDIR (a name made for each command)
# are what differs between two connections: each shown as one word.
response() {
        frame "$2" + | nc -N 127.0.0.1 "$1" |
                sed 's/REMOTE_PORT=[0-9]*/REMOTE_PORT=N/g; s|/tmp/nbnet\.[A-Za-z0-9]\{6\}/[0-9a-f]\{16\}|TMPDIR|g'
}

# Runs each command both ways; fails naming each command whose bytes differ.
same_both_ways() {
        local cmd failed=0
        for cmd in "$@"; do
                response "$DIRECT_PORT" "$cmd" >"$WORK/direct.out"
                response "$SHELL_PORT" "$cmd" >"$WORK/shell.out"
                if ! grep -q $'\x1eNBNET-STATUS' "$WORK/shell.out"; then
                        echo "no status trailer for '$cmd'" >&2
                        failed=1
                elif ! cmp -s "$WORK/direct.out" "$WORK/shell.out"; then
                        echo "'$cmd' differs (< direct, > always-shell):" >&2
                        diff <(od -c "$WORK/direct.out") <(od -c "$WORK/shell.out") >&2 || true
                        failed=1
                fi
        done
        return $failed
}

@test "programs found in PATH: same output and status both ways" {
        same_both_ways "/bin/true" "/bin/false" "ls /" "ls -d /nonexistent" "date -u +%Y" \
                "/usr/bin/env" "id -u" "uname -s" "/bin/echo a  b" "printenv HOME" "/bin/pwd" \
                "/bin/pwd -L" "sleep 0" "test/x" "ls" "hello a" "date -u -d @0" "cat plain" "grep -c x plain"
}

@test "what is not found, not executable or no program: the shell's message and status" {
        same_both_ways "nosuchcmd" "nosuchcmd a b" "/nonexistent/x" "nosuchdir/x" "./nosuch" \
                "$WORK/plain" "$WORK/dir" "$WORK/script" "$WORK/script one two" "./script 1" \
                "dir" "$BIN_DIR/date" "$BIN_DIR/ls /"
}

@test "builtins and keywords go to the shell: the same as with --always-shell" {
        same_both_ways "true" "false" "echo hi" "cd /" "exit 3" "pwd" "printf x" "kill -0 1" \
                "test -d /" "type ls" "command -v ls" "umask" "ulimit -n" "exec /bin/echo x" \
                "if" "{" "!" "times" "read x" "A=1 env"
}

@test "shell syntax goes to the shell: the same as with --always-shell" {
        same_both_ways "echo 'a  b'" 'echo "$HOME"' 'ls /e*' 'ls /e?c' 'ls /[e]tc' 'echo a\nb' \
                "ls ~" "ls / >/dev/null" "ls / | wc -l" "ls /; ls /nonexistent" "ls / && false" \
                "ls & wait" "(ls /)" "echo \`id -u\`" "ls / # comment" $'ls\n/' $'ls\r' \
                $'ls\v/' "ls /\$x" "ls {a,b}" "ls ^" "ls \"\"" ""
}

@test "what the program sees: environment, argv[0], signals, umask, fds, limits" {
        same_both_ways "env" "cat /proc/self/environ" "cat /proc/self/cmdline" \
                "grep -e SigPnd -e ShdPnd -e SigBlk -e SigIgn -e SigCgt -e Umask -e NoNewPrivs /proc/self/status" \
                "ls /proc/self/fd" "cat /proc/self/limits" "cat /proc/self/loginuid" \
                "stat -c %a plain" "ps -o pgid=,sid=,tpgid= -p 0" "tty"
}

@test "a long argument list is the same both ways" {
        local args
        args=$(seq -s ' ' -f 'word%g' 1 5000)
        same_both_ways "/bin/echo $args" "printf %s\\n $args"
}

# parent_of PORT: the name (comm) and the executable of the parent of a
# command that port runs.
parent_of() {
        local marker pid ppid
        marker=$(unique_sleep)
        response "$1" "$marker" >/dev/null &
        wait_until 5 pgrep -f -x -- "$marker" >/dev/null
        pid=$(pgrep -f -x -- "$marker")
        ppid=$(ps -o ppid= -p "$pid" | tr -d " ")
        echo "$(ps -o comm= -p "$ppid") $(basename "$(readlink "/proc/$ppid/exe")")"
        kill "$pid"
        wait $!
}

# dash forks even for the last command of -c, so under the shell the
# command's parent is sh; on the direct path it is the mini-shell, a fork of
# the server named "sh" as well: only its executable tells the two apart.
@test "the direct path is taken: the program's parent is the mini-shell, not /bin/sh" {
        run parent_of "$DIRECT_PORT"
        assert_output --regexp '^sh nbnet'
        run parent_of "$SHELL_PORT"
        assert_output 'sh dash'
}

# The process tree is the shell's: the program is not the session or group
# leader, and what it does to its parent or its group it does to a shell.
@test "a program that signals its parent signals the mini-shell, not the server" {
        same_both_ways "killppid USR1" "killppid TERM" "killppid KILL" "killppid QUIT" \
                "killppid INT after" "killppid HUP" "/bin/true"
        # The servers are still there.
        same_both_ways "/bin/echo still serving"
        grep -q 'still serving' "$WORK/direct.out"
}

@test "setsid(1) and the like: the program is no process group leader" {
        same_both_ways "setsid seq 20000" "setsid exitn 7" "setsid -w exitn 3" \
                "ps -o stat= -p 0"
        [ "$(grep -c . "$WORK/direct.out")" -ge 1 ]
        response "$DIRECT_PORT" "setsid seq 20000" >"$WORK/seq.out"
        [ "$(grep -c -x "[0-9][0-9]*" "$WORK/seq.out")" -eq 20000 ]
}

@test "the signal note comes when the program dies, before a background writer's output" {
        same_both_ways "bgnote"
        # The note first. The writer then gets out "late" where the group is
        # sent SIGTERM, which it ignores; in nbnetd's cgroup per command,
        # cgroup.kill (SIGKILL) may end it first.
        run head -n 2 "$WORK/direct.out"
        assert_equal "${lines[0]}" "Terminated"
        [[ "${lines[1]}" == late || "${lines[1]}" == *NBNET-STATUS* ]]
}

@test "a program that kills its own group kills the mini-shell too, without a note" {
        same_both_ways "killgroup"
        run ! grep -q Terminated "$WORK/direct.out"
}

@test "FDSize and the other fields of /proc/self/status are the shell's" {
        # Left out: what differs between any two processes (ids, memory, context
        # switches), and SigQ, the signals queued for the user machine-wide
        # (make check's other lane, as root too, moves it between the runs).
        same_both_ways "grep -v -e ^Pid -e ^PPid -e ^Tgid -e ^NSpid -e ^NStgid -e ^NSpgid -e ^NSsid -e ^VmPeak -e ^VmSize -e ^VmHWM -e ^VmRSS -e ^RssAnon -e ^RssFile -e ^VmData -e ^VmStk -e ^VmPTE -e ctxt_switches -e ^Rss -e ^SigQ /proc/self/status" \
                "grep FDSize /proc/self/status"
}

@test "a first word with a leading - or + is an option of sh -c, even if it is in PATH" {
        same_both_ways "-x" "+e" "-x a" "+e ls"
        run ! grep -q 'run as' "$WORK/direct.out"
}

# start_nproc_server PORT UID [options]: a server in the file's mode as
# UID (one no other process has), in /, with --limit-nproc room for the
# server's processes and /bin/sh, but not for the shell's fork (the
# handler's mode has systemd-socket-activate as well).
start_nproc_server() {
        local port=$1 uid=$2 limit=3 rc=0
        shift 2
        [ "$NBNET_MODE" = accept ] && limit=4
        SERVER_WRAPPER="setpriv --reuid=$uid --regid=$uid --clear-groups" SERVER_ENV=PATH=/usr/bin:/bin \
                SERVER_DIR=/ SERVE_LOG=$WORK/servers.log \
                serve_at "127.0.0.1:$port" --limit-nproc $((limit - 1)) "$@" || rc=$?
        echo "$SERVED_PID" >>"$WORK/pids"
        return "$rc"
}

# A limit that leaves the shell no fork leaves the mini-shell none either:
# both need one process more than the program alone.
@test "--limit-nproc: the direct path needs as many processes as sh -c" {
        local direct_port shell_port uid
        uid=$(unused_uid)
        direct_port=$(free_port)
        start_nproc_server "$direct_port" "$uid"
        shell_port=$(free_port)
        start_nproc_server "$shell_port" $((uid + 1)) --always-shell
        DIRECT_PORT=$direct_port SHELL_PORT=$shell_port same_both_ways "/bin/true" "/bin/echo x"
        grep -q 'Cannot fork' "$WORK/direct.out"
}

# killed PORT SIGNAL: what the client gets for a sleep killed by SIGNAL.
killed() {
        local port=$1 sig=$2 marker pid
        marker=$(unique_sleep)
        response "$port" "$marker" >"$WORK/killed.out" &
        wait_until 5 pgrep -f -x -- "$marker" >/dev/null
        pid=$(pgrep -f -x -- "$marker")
        kill -s "$sig" "$pid"
        wait $!
        cat "$WORK/killed.out"
}

@test "a program killed by a signal: the shell's note (Terminated, ...) and 128+N both ways" {
        local sig failed=0
        for sig in TERM KILL SEGV ABRT INT PIPE 36; do
                killed "$DIRECT_PORT" "$sig" >"$WORK/sig.direct"
                killed "$SHELL_PORT" "$sig" >"$WORK/sig.shell"
                if ! cmp -s "$WORK/sig.direct" "$WORK/sig.shell"; then
                        echo "SIG$sig: direct '$(cat -v "$WORK/sig.direct")', shell '$(cat -v "$WORK/sig.shell")'" >&2
                        failed=1
                fi
        done
        grep -q Terminated "$WORK/sig.shell" || grep -q 'Real-time' "$WORK/sig.shell"
        return $failed
}

#!/usr/bin/env bats
# The configuration file (--config, /etc/nbnet/*.conf) and the errors of a
# configuration that cannot work: a bad line of the file, a --commands table
# that will not load, a --limit-as no shell survives. Each stops the server
# at start with the file, the line and the reason (exit 2, which nbnetd.service
# does not retry); nbnet-handler, started per connection, tells its client
# "server misconfigured" too. In every NBNET_MODE.

bats_require_minimum_version 1.5.0

load helpers

teardown() {
        stop_server
}

CONF=

setup() {
        CONF=$BATS_TEST_TMPDIR/server.conf
}

nbnetd_mode() {
        [[ "$NBNET_MODE" == nbnetd* ]]
}

@test "--config: the file's options apply" {
        printf '%s\n' "# a comment" "" "setenv = FROM=file" "  setenv=OTHER=with  spaces  " >"$CONF"
        start_server --config "$CONF"
        run $NBCLIENT "$PORT" --command 'echo "$FROM/$OTHER"'
        assert_output "file/with  spaces"
}

@test "--config: an option on the command line replaces all of the file's lines for it" {
        printf '%s\n' "setenv = FROM=file" "setenv = OTHER=file" "command-timeout = 0.5" >"$CONF"
        start_server --setenv FROM=cli --config "$CONF"
        run $NBCLIENT "$PORT" --command 'echo "$FROM/${OTHER:-unset}"'
        assert_output "cli/unset"
        # The file's other options still apply: the timeout kills a long command.
        run $NBCLIENT "$PORT" --command 'sleep 5' --plus --timeout 10
        assert_output --partial $'NBNET-STATUS 124'
}

@test "--config: an allow line refuses the peers it does not name" {
        printf '%s\n' "allow = 192.0.2.0/24" >"$CONF"
        start_server --config "$CONF"
        run --separate-stderr $NBCLIENT "$PORT" --command 'echo hi' --timeout 5
        assert_output ""
        wait_until 2 grep -q 'status 126 .*peer not allowed' "$SERVER_LOG"
}

@test "--config: a flag alone on its line sets it, and = no does not" {
        printf '%s\n' "munge = no" >"$CONF"
        start_server --config "$CONF"
        run $NBCLIENT "$PORT" --command 'echo open'
        assert_output "open"
        stop_server
        printf '%s\n' "munge" >"$CONF"
        start_server --config "$CONF"
        run $NBCLIENT "$PORT" --command 'echo open' --plus --timeout 5
        assert_output $'nbnet: authentication required\n\x1eNBNET-STATUS 126'
}

@test "--config: an unknown key stops the server with the file, the line and the key" {
        printf '%s\n' "# the first line" "setenv = A=1" "max-comand = 10" >"$CONF"
        refused_at_start "$CONF:3: unknown key 'max-comand': did you mean 'max-command'?" \
                --config "$CONF"
}

@test "--config: a bad value stops the server with the file, the line and the option" {
        printf '%s\n' "" "request-timeout = soon" >"$CONF"
        refused_at_start "$CONF:2: --request-timeout must be 0.001..86400 seconds" --config "$CONF"
}

@test "--config: a value the option needs, missing, stops the server" {
        printf '%s\n' "commands" >"$CONF"
        refused_at_start "$CONF:1: commands needs a value: 'commands = VALUE'" --config "$CONF"
}

@test "--config: a file that is not there stops the server, saying so" {
        refused_at_start "--config $BATS_TEST_TMPDIR/missing.conf: No such file or directory" \
                --config "$BATS_TEST_TMPDIR/missing.conf"
}

@test "--config: a FIFO is refused without waiting for a writer" {
        mkfifo "$CONF"
        refused_at_start "--config $CONF: not a regular file" --config "$CONF"
}

@test "--commands: a bad line stops the server at start with the file, the line and the reason" {
        printf '%s\n' "ok = true" "this line has no equals sign" >"$BATS_TEST_TMPDIR/bad"
        refused_at_start "$BATS_TEST_TMPDIR/bad:2: expected 'name = command line'" \
                --commands "$BATS_TEST_TMPDIR/bad"
}

@test "--commands: a name defined twice stops the server at start" {
        printf '%s\n' "a = true" "b = true" "a = false" >"$BATS_TEST_TMPDIR/twice"
        refused_at_start "$BATS_TEST_TMPDIR/twice:3: name defined twice" \
                --commands "$BATS_TEST_TMPDIR/twice"
}

@test "--commands: a missing table stops the server at start" {
        refused_at_start "--commands $BATS_TEST_TMPDIR/missing: No such file or directory" \
                --commands "$BATS_TEST_TMPDIR/missing"
}

@test "--commands: one \$ARG1\$ line of an nrpe.cfg stops the server at start" {
        local cfg=$BATS_TEST_TMPDIR/nrpe.cfg i
        {
                echo "server_port=5666"
                for i in $(seq 1 20); do echo "command[check_$i]=/bin/true"; done
                echo 'command[check_disk]=/usr/lib/nagios/plugins/check_disk -w $ARG1$ -c $ARG2$'
        } >"$cfg"
        refused_at_start "$cfg:22: \$ARGn\$: nbnet passes no arguments to commands" --commands "$cfg"
}

@test "--commands: \$ARG1\$ in nbnet's own form is refused too" {
        printf '%s\n' 'disk = check_disk -w $ARG1$' >"$BATS_TEST_TMPDIR/table"
        refused_at_start "$BATS_TEST_TMPDIR/table:1: \$ARGn\$: nbnet passes no arguments" \
                --commands "$BATS_TEST_TMPDIR/table"
}

@test "--commands /proc/kmsg is no table: refused with the reason, never read" {
        refused_at_start "--commands /proc/kmsg: not a regular file (a file of /proc or /sys)" \
                --commands /proc/kmsg
}

@test "--commands: a table in the --config file is read like one on the command line" {
        printf '%s\n' "a = true" "a = true" >"$BATS_TEST_TMPDIR/twice"
        printf '%s\n' "commands = $BATS_TEST_TMPDIR/twice" >"$CONF"
        refused_at_start "$BATS_TEST_TMPDIR/twice:2: name defined twice" --config "$CONF"
}

@test "--commands: an empty table is a warning, and every request is not allowed" {
        : >"$BATS_TEST_TMPDIR/empty"
        start_server --commands "$BATS_TEST_TMPDIR/empty"
        run $NBCLIENT "$PORT" --command uptime --plus --timeout 5
        assert_output $'nbnet: command not allowed\n\x1eNBNET-STATUS 126'
        wait_until 2 grep -qF -- "--commands $BATS_TEST_TMPDIR/empty: no command in it: every request is refused" "$SERVER_LOG"
}

@test "--limit-as below 16M is refused at start with the reason" {
        refused_at_start "--limit-as must be at least 16M (below it /bin/sh itself cannot start" \
                --limit-as 1K
}

@test "SIGHUP with an emptied table keeps the table in force and says why" {
        nbnetd_mode || skip "nbnet-handler reads the table per connection"
        local table=$BATS_TEST_TMPDIR/commands
        echo "one = echo first" >"$table"
        start_server --commands "$table"
        # Served once: nbnetd is up (activated, it starts at the first client).
        run $NBCLIENT "$PORT" --command one
        assert_output "first"
        : >"$table"
        kill -HUP "$SERVER_PID"
        wait_until 2 grep -qF "SIGHUP: --commands $table: no command in it (to refuse every request, stop the server); keeping the table in force" "$SERVER_LOG"
        run $NBCLIENT "$PORT" --command one
        assert_output "first"
}

@test "SIGHUP does not read the --config file again: what it gave stays" {
        nbnetd_mode || skip "nbnet-handler reads its file per connection"
        printf '%s\n' "setenv = FROM=before" >"$CONF"
        start_server --config "$CONF"
        run $NBCLIENT "$PORT" --command 'echo $FROM'
        assert_output "before"
        printf '%s\n' "setenv = FROM=after" >"$CONF"
        kill -HUP "$SERVER_PID"
        wait_until 2 grep -q "connections, .* running" "$SERVER_LOG"
        run $NBCLIENT "$PORT" --command 'echo $FROM'
        assert_output "before"
}

@test "an empty WATCHDOG_PID= is as unset: nbnetd serves" {
        [ "$NBNET_MODE" = nbnetd ] || skip "the variable reaches nbnetd as given only when started by hand"
        WATCHDOG_USEC=30000000 WATCHDOG_PID='' start_server
        run $NBCLIENT "$PORT" --command 'echo alive'
        assert_output "alive"
}

@test "a second SIGTERM kills the commands at once, and the log says it was that" {
        nbnetd_mode || skip "nbnetd's --stop-timeout"
        local marker
        marker=$(unique_sleep)
        start_server --stop-timeout 30
        $NBCLIENT "$PORT" --command "$marker" --timeout 20 >/dev/null 2>&1 &
        BG_PIDS=$!
        wait_until 5 pgrep -fx -- "$marker"
        kill -TERM "$SERVER_PID"
        wait_until 2 grep -q "stopping: 1 command running" "$SERVER_LOG"
        kill -TERM "$SERVER_PID"
        wait_until 5 server_gone
        grep -q "stopping: a second stop signal: killing the 1 command running" "$SERVER_LOG"
        grep -q "status 143 .*: server stopping: a second stop signal killed the command" "$SERVER_LOG"
        run ! grep -q -- "--stop-timeout passed" "$SERVER_LOG"
}

# The keys of a shipped configuration file, commented out or not.
conf_keys() {
        sed -n 's/^#\{0,1\}\([a-z][a-z-]*\)\( =.*\)\{0,1\}$/\1/p' "$1" | sort -u
}

# The long options of a program's --help, without help, version and config.
help_options() {
        "$1" --help | grep -o '^  --[a-z-]*' | sed 's/^  --//' |
                grep -vx -e help -e version -e config | sort -u
}

@test "the shipped nbnetd.conf and handler.conf name every option of --help, and load as they are" {
        [ "$NBNET_MODE" = accept ] || skip "mode-independent: once, in accept mode"
        run diff <(help_options "$NBNET_BIN/nbnetd") <(conf_keys "$TOP/etc/nbnetd.conf")
        assert_success
        run diff <(help_options "$NBNET_BIN/nbnet-handler") <(conf_keys "$TOP/etc/handler.conf")
        assert_success
        # Past the options, nbnetd finds nothing to listen on, the handler no connection.
        run -2 --separate-stderr "$NBNET_BIN/nbnetd" --config "$TOP/etc/nbnetd.conf"
        [[ "$stderr" == "nbnetd: nothing to listen on"* ]]
        run -2 --separate-stderr "$NBNET_BIN/nbnet-handler" --config "$TOP/etc/handler.conf" </dev/null
        [[ "$stderr" == "nbnet-handler: no connection"* ]]
}

@test "the shipped commands.conf example loads, and each of its lines uncommented too" {
        [ "$NBNET_MODE" = accept ] || skip "mode-independent: once, in accept mode"
        sed 's/^#\([a-z_-]* = \)/\1/' "$TOP/etc/commands.conf" >"$BATS_TEST_TMPDIR/commands"
        grep -q '^disk = df -h /$' "$BATS_TEST_TMPDIR/commands"
        start_server --commands "$BATS_TEST_TMPDIR/commands"
        run $NBCLIENT "$PORT" --command load
        assert_output --regexp '^[0-9.]+ [0-9.]+ [0-9.]+ '
}

# xinetd's way: fds 0, 1 and 2 are all the connection; prints what the
# client got, then the handler's exit status.
as_xinetd() {
        python3 -c '
import socket, subprocess, sys
a, b = socket.socketpair()
p = subprocess.Popen(sys.argv[1:], stdin=b, stdout=b, stderr=b)
b.close()
a.sendall(b"+0000000007echo hi")
a.shutdown(socket.SHUT_WR)
out = b""
while True:
    d = a.recv(4096)
    if not d:
        break
    out += d
sys.stdout.write(out.decode(errors="replace") + "exit %d\n" % p.wait(timeout=10))
' "$@"
}

@test "under xinetd (stderr is the connection) a bad --config line reaches the log, not the client" {
        [ "$NBNET_MODE" = accept ] || skip "mode-independent: once, in accept mode"
        printf '%s\n' "max-comand = 10" >"$CONF"
        run as_xinetd "$NBNET_BIN/nbnet-handler" --config "$CONF"
        assert_output $'nbnet: server misconfigured (see its log)\n\x1eNBNET-STATUS 125\nexit 2'
        printf '%s\n' "setenv = FROM=file" >"$CONF"
        run as_xinetd "$NBNET_BIN/nbnet-handler" --config "$CONF"
        assert_output $'hi\n\x1eNBNET-STATUS 000\nexit 0'
}

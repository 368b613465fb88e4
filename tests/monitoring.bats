#!/usr/bin/env bats
# Monitoring with the real tools: an nrpe.cfg read by --commands,
# Debian's monitoring-plugins-basic called through check_nbnet, and
# nbnetd's --metrics-file read by a real prometheus-node-exporter.
# NBNET_MODE accept or nbnetd (or nbnetd-activated); the metrics are nbnetd's.

bats_require_minimum_version 1.5.0

load helpers

PLUGINS=/usr/lib/nagios/plugins
NODE_EXPORTER=/usr/bin/prometheus-node-exporter

setup() {
        [ -x "$PLUGINS/check_dummy" ] || skip "monitoring-plugins-basic is not installed (make deps)"
        CHECK=$NBNET_BIN/check_nbnet
        CFG=$BATS_TEST_TMPDIR/nrpe.cfg
        # A sleep of this run's own: the other lane of make check runs sleeps too.
        SLOW=$(unique_sleep)
        cat >"$CFG" <<EOF
# An nrpe.cfg as Debian ships it, trimmed.
log_facility=daemon
pid_file=/run/nagios/nrpe.pid
server_port=5666
allowed_hosts=127.0.0.1,::1
dont_blame_nrpe=0
command_timeout=60
command[check_load]=$PLUGINS/check_load -w 150,100,50 -c 300,250,200
command[check_disk]=$PLUGINS/check_disk -w 0% -c 0% -p /
command[check_procs]=$PLUGINS/check_procs -w 100000 -c 200000
command[ok]=$PLUGINS/check_dummy 0 'all good'
command[warning]=$PLUGINS/check_dummy 1 'getting full'
command[critical]=$PLUGINS/check_dummy 2 'on fire'
command[unknown]=$PLUGINS/check_dummy 3 'no idea'
command[seven]=echo not a plugin; exit 7
command[slow]=exec $SLOW
include=local.cfg
EOF
        printf 'command[from_include]=%s/check_dummy 0 included\n' "$PLUGINS" >"$BATS_TEST_TMPDIR/local.cfg"
}

teardown() {
        if [ -n "${EXPORTER_PID:-}" ]; then
                kill "$EXPORTER_PID" 2>/dev/null || true
                wait "$EXPORTER_PID" 2>/dev/null || true
        fi
        stop_server
}

check() {
        run --separate-stderr "$CHECK" -H 127.0.0.1 -p "$PORT" "$@"
}

@test "the real check_load, check_disk and check_procs pass through an nrpe.cfg, status 0" {
        start_server --commands "$CFG"
        check -c check_load
        assert_success
        assert_output --regexp '^LOAD OK - '
        check -c check_disk
        assert_success
        assert_output --regexp '^DISK OK'
        check -c check_procs
        assert_success
        assert_output --regexp '^PROCS OK: '
}

@test "check_dummy's statuses 0 to 3 and its output come back unchanged" {
        start_server --commands "$CFG"
        # Not i: bats' run changes a global i.
        local want names=(ok warning critical unknown)
        local texts=("OK: all good" "WARNING: getting full" "CRITICAL: on fire" "UNKNOWN: no idea")
        for want in 0 1 2 3; do
                check -c "${names[$want]}"
                assert_equal "$status" "$want"
                assert_equal "$output" "${texts[$want]}"
        done
}

@test "a name of an include=d file runs" {
        start_server --commands "$CFG"
        check -c from_include
        assert_success
        assert_output "OK: included"
}

@test "the skipped nrpe.cfg directives are named in a warning" {
        start_server --commands "$CFG"
        check -c ok
        assert_success
        local want=1
        # nbnetd loads the table once; the handler once per connection (the
        # check's, and start_server's probe).
        [[ $NBNET_MODE == nbnetd* ]] || want=2
        run grep -c 'skipped 5 nrpe.cfg directive lines that nbnet does not use' "$SERVER_LOG"
        assert_output "$want"
        run grep -c 'log_facility, pid_file, server_port, dont_blame_nrpe, command_timeout' "$SERVER_LOG"
        assert_output "$want"
}

@test "a remote status above 3 is UNKNOWN in the plugin format" {
        start_server --commands "$CFG"
        check -c seven
        assert_failure 3
        assert_output "NBNET UNKNOWN - 127.0.0.1:$PORT: 'seven' ended with status 7, not 0-3: not a plugin"
}

@test "a name the table lacks is UNKNOWN: refused, status 126" {
        start_server --commands "$CFG"
        check -c check_nothing
        assert_failure 3
        assert_output "NBNET UNKNOWN - 127.0.0.1:$PORT: 'check_nothing' refused: command not allowed (status 126)"
}

@test "a table with \$ARG1\$ is refused at load with the reason: nbnetd does not start, a handler's checks are UNKNOWN" {
        printf 'command[check_disk]=%s/check_disk -w $ARG1$ -c $ARG2$\n' "$PLUGINS" >"$CFG"
        refused_at_start 'nrpe.cfg:1: $ARGn$: nbnet passes no arguments' --commands "$CFG"
        [[ "$NBNET_MODE" != nbnetd* ]] || return 0
        check -c check_disk
        assert_failure 3
        assert_output --partial "'check_disk' not run: server misconfigured (see its log) (status 125)"
}

@test "a check over its -t is CRITICAL, UNKNOWN with -u, and the command is killed" {
        start_server --commands "$CFG"
        check -c slow -t 0.5
        assert_failure 2
        assert_output "NBNET CRITICAL - 127.0.0.1:$PORT: no response within 0.5 s (-t)"
        check -c slow -t 0.5 -u
        assert_failure 3
        assert_output "NBNET UNKNOWN - 127.0.0.1:$PORT: no response within 0.5 s (-t)"
        # The reset ends the command at once: no slow sleep is left after a short while.
        wait_until 5 no_process "$SLOW"
}

@test "a server that is down is CRITICAL, UNKNOWN with -u" {
        PORT=$(free_port)
        check -c ok
        assert_failure 2
        assert_output "NBNET CRITICAL - 127.0.0.1:$PORT: connection refused"
        check -c ok -u
        assert_failure 3
        assert_output "NBNET UNKNOWN - 127.0.0.1:$PORT: connection refused"
}

@test "a usage error and check_nrpe's -a are UNKNOWN" {
        run "$CHECK" -c ok
        assert_failure 3
        assert_output --partial "NBNET UNKNOWN - usage: no -H HOST given"
        run "$CHECK" -H 127.0.0.1 -c ok -a 90
        assert_failure 3
        assert_output --partial "nbnet passes no arguments"
}

# The metrics are nbnetd's.
need_nbnetd() {
        case $NBNET_MODE in
        nbnetd*) ;;
        *) skip "--metrics-file is nbnetd's; NBNET_MODE is $NBNET_MODE" ;;
        esac
}

# Whether FILE has the line LINE.
has_line() {
        grep -qxF -- "$2" "$1"
}

# make_requests: 3 ok, 1 warning, 1 not allowed: 5 connections. With
# start_server's probe (a connection that sends nothing), 6 in all.
make_requests() {
        local name
        for name in ok ok ok warning check_nothing; do
                "$CHECK" -H 127.0.0.1 -p "$PORT" -c "$name" >/dev/null || true
        done
}

@test "node_exporter's textfile collector serves nbnet's series with the right counts" {
        need_nbnetd
        [ -x "$NODE_EXPORTER" ] || skip "prometheus-node-exporter is not installed (make deps)"
        local dir=$BATS_TEST_TMPDIR/textfile
        mkdir "$dir"
        start_server --commands "$CFG" --metrics-file "$dir/nbnet.prom"
        make_requests
        # SIGHUP writes the file now rather than at the next 5 s tick.
        kill -HUP "$SERVER_PID"
        wait_until 10 has_line "$dir/nbnet.prom" 'nbnet_request_duration_seconds_count 6'
        local eport
        eport=$(free_port)
        "$NODE_EXPORTER" --web.listen-address="127.0.0.1:$eport" --collector.disable-defaults \
                --collector.textfile --collector.textfile.directory="$dir" \
                2>"$BATS_TEST_TMPDIR/exporter.log" &
        EXPORTER_PID=$!
        wait_until 10 port_open "$eport" || {
                cat "$BATS_TEST_TMPDIR/exporter.log" >&2
                false
        }
        curl -sf --max-time 5 "http://127.0.0.1:$eport/metrics" >"$BATS_TEST_TMPDIR/metrics"
        local m=$BATS_TEST_TMPDIR/metrics line
        for line in 'node_textfile_scrape_error 0' 'nbnet_up 1' \
                'nbnet_requests_total{class="ok"} 3' 'nbnet_requests_total{class="failed"} 1' \
                'nbnet_requests_total{class="refused"} 1' 'nbnet_requests_total{class="none"} 1' \
                'nbnet_request_ends_total{reason="ran"} 4' \
                'nbnet_request_ends_total{reason="not_allowed"} 1' \
                'nbnet_request_ends_total{reason="client_left"} 1' \
                'nbnet_connections_accepted_total 6' 'nbnet_running 0' 'nbnet_queued 0' \
                'nbnet_request_duration_seconds_bucket{le="+Inf"} 6' \
                'nbnet_request_duration_seconds_count 6'; do
                has_line "$m" "$line" || {
                        echo "expected the line: $line; node_exporter served:" >&2
                        grep -E '^(nbnet_|node_textfile)' "$m" >&2
                        false
                }
        done
        grep -q '^nbnet_start_time_seconds ' "$m"
        # As root nbnetd gives each command a cgroup: its checks cost some CPU.
        if grep -q "a cgroup per command" "$SERVER_LOG"; then
                # node_exporter writes the value as Go formats a float: 0.0123, 1e-05.
                grep -Eq '^nbnet_command_cpu_seconds_total [0-9.e+-]+$' "$m"
                ! grep -Eq '^nbnet_command_cpu_seconds_total 0(\.0*)?$' "$m"
        fi
}

@test "the metrics file is rewritten every 5 s and says nbnet_up 0 after a stop" {
        need_nbnetd
        local f=$BATS_TEST_TMPDIR/nbnet.prom
        start_server --commands "$CFG" --metrics-file "$f"
        wait_until 5 test -f "$f"
        make_requests
        # No signal: the timer writes it.
        wait_until 8 has_line "$f" 'nbnet_connections_accepted_total 6'
        stop_server
        has_line "$f" 'nbnet_up 0'
        has_line "$f" 'nbnet_requests_total{class="ok"} 3'
        [ ! -e "$f.tmp" ]
}

@test "nbnetd's start line names its command table and how many commands it has" {
        need_nbnetd
        start_server --commands "$CFG"
        grep -q "; serving the 10 commands of --commands $CFG\$" "$SERVER_LOG"
}

@test "promtool finds the metrics file well-formed" {
        need_nbnetd
        command -v promtool >/dev/null ||
                skip "no promtool: Debian ships it only in the 'prometheus' server package (96 MB, and its install starts a server), which make deps does not install"
        local f=$BATS_TEST_TMPDIR/nbnet.prom
        start_server --commands "$CFG" --metrics-file "$f"
        make_requests
        kill -HUP "$SERVER_PID"
        wait_until 10 has_line "$f" 'nbnet_request_duration_seconds_count 6'
        run promtool check metrics <"$f"
        assert_success
}

@test "a metrics file that cannot be written is logged once, and requests are served" {
        need_nbnetd
        start_server --commands "$CFG" --metrics-file /nonexistent/nbnet.prom
        check -c ok
        assert_success
        kill -HUP "$SERVER_PID"
        wait_until 5 grep -q 'SIGHUP' "$SERVER_LOG" || true
        run grep -c -- '--metrics-file /nonexistent/nbnet.prom: cannot write it' "$SERVER_LOG"
        assert_output 1
}

@test "-H alone: a server answers, OK with the time it took" {
        start_server
        check
        assert_success
        assert_output --regexp "^NBNET OK - nbnet server at 127\.0\.0\.1:$PORT answers \([0-9]+ ms\)$"
}

@test "-H alone: a command table's 'command not allowed' is an answer, OK" {
        start_server --commands "$CFG"
        check
        assert_success
        assert_output --regexp "^NBNET OK - nbnet server at 127\.0\.0\.1:$PORT answers \([0-9]+ ms; its command table refused 'true', as it should\)$"
}

@test "-H alone: a server that is down is CRITICAL, UNKNOWN with -u" {
        PORT=$(free_port)
        check
        assert_failure 2
        assert_output "NBNET CRITICAL - 127.0.0.1:$PORT: connection refused"
        check -u
        assert_failure 3
        assert_output "NBNET UNKNOWN - 127.0.0.1:$PORT: connection refused"
}

@test "-H alone: a server that closes without an answer (--allow) is CRITICAL" {
        start_server --allow 192.0.2.1
        check
        assert_failure 2
        assert_output "NBNET CRITICAL - 127.0.0.1:$PORT: closed the connection without an answer (an address it does not allow, or not an nbnet server)"
}

@test "-t SEC:STATE: the STATE at the timeout, the seconds alone in the message" {
        start_server --commands "$CFG"
        check -c ok -t 2:UNKNOWN
        assert_success
        assert_output "OK: all good"
        local want state
        for want in 0 1 2 3; do
                state=(OK WARNING CRITICAL UNKNOWN)
                check -c slow -t "0.3:${state[$want],,}"
                assert_equal "$status" "$want"
                assert_output "NBNET ${state[$want]} - 127.0.0.1:$PORT: no response within 0.3 s (-t)"
        done
        # A number for the state, and :STATE alone (10 s), as check_nrpe takes them.
        check -c slow -t 0.3:3
        assert_failure 3
        check -c ok -t :UNKNOWN
        assert_success
        wait_until 5 no_process "$SLOW"
}

@test "check_nrpe's flags that mean nothing here are ignored, each with a note on stderr" {
        start_server --commands "$CFG"
        check -c ok -n -2 -3 -P 8192 -S TLSv1.2+ -L ALL -C c.pem -K k.pem -A ca.pem -d 1 \
                -s 1 -f nrpe.cfg -g nrpe.log -b 127.0.0.1 -D -E
        assert_success
        assert_output "OK: all good"
        local flag
        for flag in 2 3 P S L C K A d s f g b D E; do
                grep -q "^check_nbnet: -$flag ignored: " <<<"$stderr" || {
                        echo "no note for -$flag; stderr was: $stderr" >&2
                        false
                }
        done
        assert_equal "$(wc -l <<<"$stderr")" 15
}

@test "-4 connects over IPv4; -6 to an IPv4 address is CRITICAL, saying why" {
        start_server --commands "$CFG"
        check -c ok -4
        assert_success
        assert_output "OK: all good"
        check -c ok -6
        assert_failure 2
        assert_output --regexp "^NBNET CRITICAL - 127\.0\.0\.1:$PORT: cannot resolve the host: .* \(-6: IPv6 only\)$"
}

@test "every usage error is UNKNOWN, saying what was wrong" {
        local args want
        while IFS='|' read -r args want; do
                # shellcheck disable=SC2086 # the arguments, split on purpose
                run --separate-stderr "$CHECK" $args
                assert_equal "$status" 3
                assert_output --partial "NBNET UNKNOWN - usage: $want"
                assert_output --partial "try 'check_nbnet --help'"
        done <<'EOF'
-c ok|no -H HOST given
-H 127.0.0.1 -t 2:SOON|-t must be SEC (0.001..86400), SEC:STATE or :STATE
-H 127.0.0.1 -t -1|-t must be SEC
-H 127.0.0.1 -p 0|-p must be a port, 1..65535, got '0'
-H 127.0.0.1 -Z|unknown option -Z
-H 127.0.0.1 --frobnicate|unknown option '--frobnicate'
-H 127.0.0.1 -t|option -t needs a value
-H 127.0.0.1 -c ok extra|unexpected argument 'extra'
-H 127.0.0.1 -c ok -a 90|-a: nbnet passes no arguments
EOF
}

@test "a plugin's stderr is in its output, where it wrote it (no stderr channel)" {
        printf 'command[noisy]=echo warming up >&2; echo OK - fine\n' >"$CFG"
        start_server --commands "$CFG"
        check -c noisy
        assert_success
        assert_output "warming up
OK - fine"
}

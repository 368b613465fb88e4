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
        local failed=0
        # A second nbnetd, started by serve_at: its process group, as stop_server does.
        if [ -n "${SECOND_PID:-}" ]; then
                kill -TERM -- -"$SECOND_PID" 2>/dev/null || kill "$SECOND_PID" 2>/dev/null || true
                wait "$SECOND_PID" 2>/dev/null || true
                if grep -q 'Sanitizer\|runtime error:' "$BATS_TEST_TMPDIR/second.log" 2>/dev/null; then
                        cat "$BATS_TEST_TMPDIR/second.log" >&2
                        failed=1
                fi
        fi
        stop_server || failed=1
        return "$failed"
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

# start_exporter DIR: a real node_exporter on a free loopback port, its
# textfile collector on DIR alone; its port EXPORTER_PORT.
start_exporter() {
        EXPORTER_PORT=$(free_port)
        "$NODE_EXPORTER" --web.listen-address="127.0.0.1:$EXPORTER_PORT" --collector.disable-defaults \
                --collector.textfile --collector.textfile.directory="$1" \
                2>"$BATS_TEST_TMPDIR/exporter.log" &
        EXPORTER_PID=$!
        wait_until 10 port_open "$EXPORTER_PORT" || {
                cat "$BATS_TEST_TMPDIR/exporter.log" >&2
                false
        }
}

# scrape FILE: what node_exporter serves now, into FILE.
scrape() {
        curl -sf --max-time 5 "http://127.0.0.1:$EXPORTER_PORT/metrics" >"$1"
}

need_exporter() {
        [ -x "$NODE_EXPORTER" ] || skip "prometheus-node-exporter is not installed (make deps)"
}

# start_second [options...]: a second nbnetd, on a port of its own (SECOND_PORT).
start_second() {
        SECOND_PORT=$(free_port)
        SERVE_LOG=$BATS_TEST_TMPDIR/second.log serve_at "127.0.0.1:$SECOND_PORT" "$@"
        SECOND_PID=$SERVED_PID
}

# series FILE: the nbnet_ series of a text-format FILE, "name{labels}" with
# the labels in name order, one a line, sorted.
series() {
        python3 - "$1" <<'PY'
import re, sys
out = set()
for line in open(sys.argv[1]):
    m = re.match(r'(nbnet_[a-z_]+)(?:\{(.*)\})? ', line)
    if m:
        labels = sorted(re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out.add(m.group(1) + "{" + ",".join('%s="%s"' % kv for kv in labels) + "}")
print("\n".join(sorted(out)))
PY
}

# stale_alerts SECONDS: scrapes node_exporter and prints what fires, one a
# line, of doc/monitoring.md's two stale-file alerts with SECONDS for 30:
#   nbnet_up == 1 and time() - nbnet_metrics_written_timestamp_seconds > SECONDS
#     ("nbnet NAME": the nbnetd label)
#   time() - node_textfile_mtime_seconds > SECONDS ("mtime FILE": its base name)
# time() is the scrape's.
stale_alerts() {
        local now m=$BATS_TEST_TMPDIR/alerts.scrape
        now=$(date +%s.%N)
        scrape "$m" || return 1
        python3 - "$m" "$now" "$1" <<'PY'
import re, sys
now, limit = float(sys.argv[2]), float(sys.argv[3])
up, written, mtime = {}, {}, {}
for line in open(sys.argv[1]):
    m = re.match(r'(nbnet_up|nbnet_metrics_written_timestamp_seconds)\{nbnetd="([^"]*)"\} (\S+)$', line)
    if m:
        (up if m.group(1) == "nbnet_up" else written)[m.group(2)] = float(m.group(3))
    m = re.match(r'node_textfile_mtime_seconds\{file="([^"]*)"\} (\S+)$', line)
    if m:
        mtime[m.group(1).rsplit("/", 1)[-1]] = float(m.group(2))
for name in sorted(up):
    if up[name] == 1 and now - written[name] > limit:
        print("nbnet", name)
for name in sorted(mtime):
    if now - mtime[name] > limit:
        print("mtime", name)
PY
}

# alerts_are SECONDS WANT: stale_alerts prints WANT.
alerts_are() {
        local got
        got=$(stale_alerts "$1") || return 1
        echo "alerts: ${got:-none}" >"$BATS_TEST_TMPDIR/alerts.last"
        [ "$got" = "$2" ]
}

# make_requests: 3 ok, 1 warning, 1 not allowed: 5 connections. With
# start_server's probes (a connection that sends nothing, to each address:
# two for the activated nbnetd), ALL in all, of which LEFT sent nothing.
make_requests() {
        local name
        LEFT=1
        [ "$NBNET_MODE" = nbnetd-activated ] && LEFT=2
        ALL=$((5 + LEFT))
        for name in ok ok ok warning check_nothing; do
                "$CHECK" -H 127.0.0.1 -p "$PORT" -c "$name" >/dev/null || true
        done
}

@test "node_exporter's textfile collector serves nbnet's series with the right counts" {
        need_nbnetd
        [ -x "$NODE_EXPORTER" ] || skip "prometheus-node-exporter is not installed (make deps)"
        local dir=$BATS_TEST_TMPDIR/textfile
        mkdir "$dir"
        start_server --commands "$CFG" --metrics-file "$dir/nbnet.prom" --metrics-instance main
        make_requests
        # SIGHUP writes the file now rather than at the next 5 s tick.
        kill -HUP "$SERVER_PID"
        wait_until 10 has_line "$dir/nbnet.prom" "nbnet_request_duration_seconds_count{nbnetd=\"main\"} $ALL"
        start_exporter "$dir"
        scrape "$BATS_TEST_TMPDIR/metrics"
        local m=$BATS_TEST_TMPDIR/metrics line
        for line in 'node_textfile_scrape_error 0' 'nbnet_up{nbnetd="main"} 1' \
                "nbnet_build_info{nbnetd=\"main\",version=\"$("$NBNET_BIN/nbnetd" --version | cut -d' ' -f2)\"} 1" \
                'nbnet_requests_total{class="ok",nbnetd="main"} 3' \
                'nbnet_requests_total{class="failed",nbnetd="main"} 1' \
                'nbnet_requests_total{class="refused",nbnetd="main"} 1' \
                "nbnet_requests_total{class=\"none\",nbnetd=\"main\"} $LEFT" \
                'nbnet_request_ends_total{nbnetd="main",reason="ran"} 4' \
                'nbnet_request_ends_total{nbnetd="main",reason="not_allowed"} 1' \
                "nbnet_request_ends_total{nbnetd=\"main\",reason=\"client_left\"} $LEFT" \
                "nbnet_connections_accepted_total{nbnetd=\"main\"} $ALL" 'nbnet_running{nbnetd="main"} 0' \
                'nbnet_queued{nbnetd="main"} 0' \
                "nbnet_request_duration_seconds_bucket{nbnetd=\"main\",le=\"+Inf\"} $ALL" \
                "nbnet_request_duration_seconds_count{nbnetd=\"main\"} $ALL"; do
                has_line "$m" "$line" || {
                        echo "expected the line: $line; node_exporter served:" >&2
                        grep -E '^(nbnet_|node_textfile)' "$m" >&2
                        false
                }
        done
        grep -q '^nbnet_start_time_seconds{nbnetd="main"} ' "$m"
        grep -q '^nbnet_metrics_written_timestamp_seconds{nbnetd="main"} ' "$m"
        # As root nbnetd gives each command a cgroup: its checks cost some CPU.
        if grep -q "a cgroup per command" "$SERVER_LOG"; then
                # node_exporter writes the value as Go formats a float: 0.0123, 1e-05.
                grep -Eq '^nbnet_command_cpu_seconds_total\{nbnetd="main"\} [0-9.e+-]+$' "$m"
                ! grep -Eq '^nbnet_command_cpu_seconds_total\{nbnetd="main"\} 0(\.0*)?$' "$m"
        fi
}

@test "the metrics file is rewritten every 5 s and says nbnet_up 0 after a stop" {
        need_nbnetd
        local f=$BATS_TEST_TMPDIR/nbnet.prom
        start_server --commands "$CFG" --metrics-file "$f" --metrics-instance main
        wait_until 5 test -f "$f"
        make_requests
        # No signal: the timer writes it.
        wait_until 8 has_line "$f" "nbnet_connections_accepted_total{nbnetd=\"main\"} $ALL"
        stop_server
        has_line "$f" 'nbnet_up{nbnetd="main"} 0'
        has_line "$f" 'nbnet_requests_total{class="ok",nbnetd="main"} 3'
        # No temporary file is left beside it.
        assert_equal "$(find "$BATS_TEST_TMPDIR" -maxdepth 1 -name 'nbnet.prom*' | wc -l)" 1
}

@test "two nbnetds share one textfile folder: node_exporter serves every series of both, no error" {
        need_nbnetd
        need_exporter
        local dir=$BATS_TEST_TMPDIR/textfile m=$BATS_TEST_TMPDIR/metrics
        mkdir "$dir"
        start_server --commands "$CFG" --metrics-file "$dir/a.prom"
        start_second --commands "$CFG" --metrics-file "$dir/b.prom"
        make_requests
        "$CHECK" -H 127.0.0.1 -p "$SECOND_PORT" -c ok
        kill -HUP "$SERVER_PID" "$SECOND_PID"
        # Each is labelled where it listens (the activated one: both of systemd's sockets).
        local a=127.0.0.1:$PORT b=127.0.0.1:$SECOND_PORT
        [ "$NBNET_MODE" = nbnetd-activated ] && a+=",[::1]:$PORT"
        wait_until 10 has_line "$dir/a.prom" "nbnet_request_duration_seconds_count{nbnetd=\"$a\"} $ALL"
        wait_until 10 has_line "$dir/b.prom" "nbnet_requests_total{class=\"ok\",nbnetd=\"$b\"} 1"
        start_exporter "$dir"
        scrape "$m"
        has_line "$m" 'node_textfile_scrape_error 0'
        has_line "$m" "nbnet_requests_total{class=\"ok\",nbnetd=\"$a\"} 3"
        has_line "$m" "nbnet_requests_total{class=\"ok\",nbnetd=\"$b\"} 1"
        # Every series of both files is served: none is dropped as a duplicate.
        cat <(series "$dir/a.prom") <(series "$dir/b.prom") | sort >"$BATS_TEST_TMPDIR/want"
        series "$m" >"$BATS_TEST_TMPDIR/got"
        run comm -23 "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
        assert_output ""
        assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/got")" "$(wc -l <"$BATS_TEST_TMPDIR/want")"
        [ "$(series "$dir/a.prom" | wc -l)" -gt 60 ]
        run grep -c 'collected before' "$BATS_TEST_TMPDIR/exporter.log"
        assert_output 0
}

@test "after kill -9 of one of two nbnetds, the stale-file alerts fire for it alone" {
        need_nbnetd
        need_exporter
        local dir=$BATS_TEST_TMPDIR/textfile
        mkdir "$dir"
        start_server --metrics-file "$dir/a.prom" --metrics-instance a
        start_second --metrics-file "$dir/b.prom" --metrics-instance b
        wait_until 5 has_line "$dir/a.prom" 'nbnet_up{nbnetd="a"} 1'
        wait_until 5 has_line "$dir/b.prom" 'nbnet_up{nbnetd="b"} 1'
        start_exporter "$dir"
        # Both written within the last 10 s: nothing fires.
        alerts_are 10 "" || {
                cat "$BATS_TEST_TMPDIR/alerts.last" >&2
                false
        }
        kill -KILL "$SECOND_PID"
        wait "$SECOND_PID" 2>/dev/null || true
        SECOND_PID=
        has_line "$dir/b.prom" 'nbnet_up{nbnetd="b"} 1'
        # The alerts of doc/monitoring.md with 10 s for their 30: b's file, no
        # longer written every 5 s, goes stale; a's does not.
        wait_until 30 alerts_are 10 $'nbnet b\nmtime b.prom' || {
                cat "$BATS_TEST_TMPDIR/alerts.last" >&2
                false
        }
}

@test "a FIFO or a link planted where nbnetd writes neither blocks it nor redirects its file" {
        need_nbnetd
        local dir=$BATS_TEST_TMPDIR/textfile
        mkdir "$dir"
        local f=$dir/nbnet.prom victim=$BATS_TEST_TMPDIR/victim
        echo "not nbnetd's" >"$victim"
        # Where the temporary file once was (a FIFO there hung nbnetd in open()),
        # and a link in place of the file itself.
        mkfifo "$f.tmp"
        ln -s "$victim" "$f"
        start_server --metrics-file "$f" --metrics-instance main
        wait_until 5 has_line "$f" 'nbnet_up{nbnetd="main"} 1'
        check
        assert_success
        [ -f "$f" ] && [ ! -L "$f" ]
        [ -p "$f.tmp" ]
        assert_equal "$(cat "$victim")" "not nbnetd's"
        stop_server
        has_line "$f" 'nbnet_up{nbnetd="main"} 0'
        # Nothing of nbnetd's is left beside them.
        assert_equal "$(find "$dir" -mindepth 1 -printf '%f\n' | sort | tr '\n' ' ')" "nbnet.prom nbnet.prom.tmp "
}

@test "--metrics-instance must be a printable name of 1 to 256 bytes" {
        need_nbnetd
        local bad
        for bad in "" "$(printf 'a\nb')" "$(printf 'x%.0s' {1..257})"; do
                run --separate-stderr "$NBNET_BIN/nbnetd" --listen 127.0.0.1:1 --metrics-instance "$bad"
                assert_failure 2
                [[ $stderr == "nbnetd: --metrics-instance must be 1..256 bytes with no control characters, got '"* ]]
        done
}

@test "a quote and a backslash in --metrics-instance are escaped, and node_exporter reads them" {
        need_nbnetd
        need_exporter
        local dir=$BATS_TEST_TMPDIR/textfile
        mkdir "$dir"
        start_server --metrics-file "$dir/nbnet.prom" --metrics-instance 'db "one" \ two'
        wait_until 5 has_line "$dir/nbnet.prom" 'nbnet_up{nbnetd="db \"one\" \\ two"} 1'
        start_exporter "$dir"
        scrape "$BATS_TEST_TMPDIR/metrics"
        has_line "$BATS_TEST_TMPDIR/metrics" 'node_textfile_scrape_error 0'
        has_line "$BATS_TEST_TMPDIR/metrics" 'nbnet_up{nbnetd="db \"one\" \\ two"} 1'
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
        wait_until 10 grep -q "^nbnet_request_duration_seconds_count{.*} $ALL\$" "$f"
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

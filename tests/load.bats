#!/usr/bin/env bats
# nbnet-load, the load generator, against a real server; --stdin against the
# stand-in server of stdin.bash until the real ones honour '<'.

bats_require_minimum_version 1.5.0

load helpers
load stdin

setup() {
        start_server
        LOAD=$NBNET_BIN/nbnet-load
}

teardown() {
        stop_stdin_server
        stop_server
}

# json_check FILE PYTHON-EXPRESSION: the expression, over the report as r, is true.
json_check() {
        python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$@" || {
                echo "not true of the report: $2" >&2
                cat "$1" >&2
                return 1
        }
}

@test "-c 8 -n 500 reports 500 requests, all with status 0" {
        run "$LOAD" -c 8 -n 500 "127.0.0.1:$PORT" true
        assert_success
        assert_line "  requests     500 (500 ok)"
        assert_line "  statuses     ok: 500 exited 0"
        assert_line "  errors       connect 0, read 0, no status 0, timeout 0, bad status 0"
}

@test "--json parses, and its percentiles are sane: min <= p50 <= p90 <= p99 <= max" {
        "$LOAD" -c 8 -n 500 --json "127.0.0.1:$PORT" true >"$BATS_TEST_TMPDIR/report.json"
        python3 -m json.tool "$BATS_TEST_TMPDIR/report.json" >/dev/null
        json_check "$BATS_TEST_TMPDIR/report.json" 'r["requests"] == 500 and r["statuses"] == {"0": 500}'
        json_check "$BATS_TEST_TMPDIR/report.json" \
                '(lambda l: 0 < l["min"] <= l["p50"] <= l["p90"] <= l["p99"] <= l["max"])(r["latency_us"])'
        json_check "$BATS_TEST_TMPDIR/report.json" 'r["requests_per_s"] > 0 and r["elapsed_s"] > 0'
}

@test "every status is counted, and output bytes exclude the trailers" {
        "$LOAD" -c 2 -n 20 --ok-status 3 --json "127.0.0.1:$PORT" 'echo 12345; exit 3' >"$BATS_TEST_TMPDIR/report.json"
        json_check "$BATS_TEST_TMPDIR/report.json" 'r["statuses"] == {"3": 20} and r["output_bytes"] == 120'
}

@test "a non-zero status is not ok by default: the run fails with exit 1" {
        run "$LOAD" -c 2 -n 20 "127.0.0.1:$PORT" false
        assert_failure 1
        assert_line "  requests     20 (0 ok)"
        assert_line "  statuses     not ok: 20 exited 1 (--ok-status 0)"
        assert_line "  errors       connect 0, read 0, no status 0, timeout 0, bad status 20"
        assert_line "FAILED: 20 of 20 requests did not end well (see errors above)"
}

@test "--ok-status 0,1 makes status 1 ok; a mix fails on the statuses outside the list" {
        run "$LOAD" -c 2 -n 20 --ok-status 0,1 "127.0.0.1:$PORT" false
        assert_success
        assert_line "  requests     20 (20 ok)"
        "$LOAD" -n 9 --ok-status 0-1 --json "127.0.0.1:$PORT" 'exit $((RANDOM % 3))' \
                >"$BATS_TEST_TMPDIR/report.json" || echo $? >"$BATS_TEST_TMPDIR/rc"
        json_check "$BATS_TEST_TMPDIR/report.json" \
                'r["ok_statuses"] == "0-1" and r["ok"] + r["errors"]["bad_status"] == 9 and r["errors"]["bad_status"] == r["statuses"].get("2", 0)'
        if json_check "$BATS_TEST_TMPDIR/report.json" 'r["errors"]["bad_status"] > 0' 2>/dev/null; then
                assert_equal "$(cat "$BATS_TEST_TMPDIR/rc")" 1
        fi
        run "$LOAD" -n 1 --ok-status 256 "127.0.0.1:$PORT" true
        assert_failure 2
        run "$LOAD" -n 1 --ok-status 1,x "127.0.0.1:$PORT" true
        assert_failure 2
}

@test "--stderr-channel: stderr apart on a channel per request, counted; without it, in the output" {
        "$LOAD" -c 4 -n 40 --stderr-channel --json "127.0.0.1:$PORT" 'echo out; echo error >&2' \
                >"$BATS_TEST_TMPDIR/report.json"
        json_check "$BATS_TEST_TMPDIR/report.json" 'r["statuses"] == {"0": 40} and r["ok"] == 40'
        json_check "$BATS_TEST_TMPDIR/report.json" \
                'r["stderr_channel"] and r["stderr_bytes"] == 240 and r["output_bytes"] == 160'
        "$LOAD" -c 4 -n 40 --json "127.0.0.1:$PORT" 'echo out; echo error >&2' >"$BATS_TEST_TMPDIR/merged.json"
        json_check "$BATS_TEST_TMPDIR/merged.json" \
                'not r["stderr_channel"] and r["stderr_bytes"] == 0 and r["output_bytes"] == 400'
        run "$LOAD" --stderr-channel -n 3 "127.0.0.1:$PORT" 'echo error >&2'
        assert_success
        assert_line "  stderr       0.000 MB, on a channel per request"
        run --separate-stderr "$LOAD" --raw --stderr-channel -n 1 "127.0.0.1:$PORT" true
        assert_failure 2
        assert_equal "$stderr" "nbnet-load: --stderr-channel needs the '&' flag, which --raw requests do not have; try 'nbnet-load --help'"
}

@test "--stdin sends the file as every command's input, and the report counts it" {
        start_stdin_server
        head -c 1000000 /dev/urandom >"$BATS_TEST_TMPDIR/in"
        "$LOAD" -c 2 -n 6 --stdin "$BATS_TEST_TMPDIR/in" --json "127.0.0.1:$STDIN_PORT" 'wc -c' \
                >"$BATS_TEST_TMPDIR/report.json"
        json_check "$BATS_TEST_TMPDIR/report.json" \
                'r["ok"] == 6 and r["input_bytes"] == 6000000 and r["output_bytes"] == 6 * len("1000000\n") and r["input_mb_per_s"] > 0'
        run "$LOAD" -n 2 --stdin "$BATS_TEST_TMPDIR/in" "127.0.0.1:$STDIN_PORT" cat
        assert_success
        assert_line "  input        2.000 MB, $(awk '/^  output/ { print $4 }' <<<"$output") MB/s"
        assert_line "  output       2.000 MB, $(awk '/^  output/ { print $4 }' <<<"$output") MB/s"
}

@test "--stdin of a file that is not there, or not a regular file, is refused" {
        run "$LOAD" -n 1 --stdin /nonexistent "127.0.0.1:$PORT" cat
        assert_failure 1
        assert_output "nbnet-load: --stdin /nonexistent: No such file or directory"
        run "$LOAD" -n 1 --stdin /dev/zero "127.0.0.1:$PORT" cat
        assert_failure 1
        assert_output --partial "not a regular file"
        run "$LOAD" -n 1 --raw --stdin /etc/hostname "127.0.0.1:$PORT" cat
        assert_failure 2
}

@test "durations take s, ms and m: -d 500ms, -t 0.005m" {
        "$LOAD" -c 2 -d 500ms -t 0.005m --json "127.0.0.1:$PORT" true >"$BATS_TEST_TMPDIR/report.json"
        json_check "$BATS_TEST_TMPDIR/report.json" 'r["requests"] > 0 and 0.5 <= r["elapsed_s"] < 1.5'
        run "$LOAD" -n 1 -t 300ms "127.0.0.1:$PORT" "$(unique_sleep)"
        assert_failure 1
        assert_line "  errors       connect 0, read 0, no status 0, timeout 1, bad status 0"
        run "$LOAD" -d 2h "127.0.0.1:$PORT" true
        assert_failure 2
        assert_output --partial "-d must be 0.001..3600 seconds (2, 2s, 500ms, 1.5m), got '2h'"
        run "$LOAD" -d 61m "127.0.0.1:$PORT" true
        assert_failure 2
}

@test "the report has the latency's mean and standard deviation" {
        run "$LOAD" -n 20 "127.0.0.1:$PORT" true
        assert_success
        assert_line --regexp '^               mean [0-9]+\.[0-9]{3} ms, stdev [0-9]+\.[0-9]{3} ms$'
        "$LOAD" -n 20 --json "127.0.0.1:$PORT" true >"$BATS_TEST_TMPDIR/report.json"
        json_check "$BATS_TEST_TMPDIR/report.json" \
                '(lambda l: l["min"] <= l["mean"] <= l["max"] and 0 <= l["stdev"] <= l["max"] - l["min"])(r["latency_us"])'
}

@test "the JSON report is valid UTF-8 whatever bytes the command holds" {
        "$LOAD" -n 1 --json "127.0.0.1:$PORT" "$(printf 'echo caf\303\251 \377')" >"$BATS_TEST_TMPDIR/report.json"
        python3 -c 'import sys; open(sys.argv[1], "rb").read().decode("utf-8", "strict")' "$BATS_TEST_TMPDIR/report.json"
        json_check "$BATS_TEST_TMPDIR/report.json" 'r["command"] == "echo caf\u00e9 \u00ff"'
        grep -qF 'caf\u00e9' "$BATS_TEST_TMPDIR/report.json" && return 1
        grep -qF '\u00ff' "$BATS_TEST_TMPDIR/report.json"
}

@test "--raw counts clean ends of output" {
        "$LOAD" --raw -c 2 -n 20 --json "127.0.0.1:$PORT" 'echo 12345; exit 3' >"$BATS_TEST_TMPDIR/report.json"
        json_check "$BATS_TEST_TMPDIR/report.json" 'r["ok"] == 20 and r["statuses"] == {} and r["output_bytes"] == 120'
}

@test "-d ends the run on time" {
        local t0 t1
        t0=$(date +%s%N)
        "$LOAD" -c 2 -d 0.5 --json "127.0.0.1:$PORT" true >"$BATS_TEST_TMPDIR/report.json"
        t1=$(date +%s%N)
        json_check "$BATS_TEST_TMPDIR/report.json" 'r["requests"] > 0 and 0.5 <= r["elapsed_s"] < 1.5'
        (((t1 - t0) < 2000000000))
}

@test "a refused port counts connect errors, and the run fails" {
        local closed
        closed=$(free_port)
        run "$LOAD" -n 5 "127.0.0.1:$closed" true
        assert_failure 1
        assert_line "  errors       connect 5, read 0, no status 0, timeout 0, bad status 0 (last: Connection refused)"
}

@test "a slow command runs into -t and counts as a timeout" {
        run "$LOAD" -n 1 -t 0.3 "127.0.0.1:$PORT" "$(unique_sleep)"
        assert_failure 1
        assert_line "  errors       connect 0, read 0, no status 0, timeout 1, bad status 0"
}

@test "the run must be bounded: -n or -d, within limits" {
        run "$LOAD" "127.0.0.1:$PORT" true
        assert_failure 2
        assert_output --partial "give exactly one of -n REQUESTS and -d SECONDS"
        run "$LOAD" -n 1 -d 1 "127.0.0.1:$PORT" true
        assert_failure 2
        run "$LOAD" -c 1001 -n 1 "127.0.0.1:$PORT" true
        assert_failure 2
        run "$LOAD" -d 3601 "127.0.0.1:$PORT" true
        assert_failure 2
}

@test "no progress line when stderr is not a terminal" {
        run --separate-stderr "$LOAD" -n 50 "127.0.0.1:$PORT" true
        assert_success
        assert_equal "$stderr" ""
}

#!/usr/bin/env bats
# nbnet-load, the load generator, against a real server.

bats_require_minimum_version 1.5.0

load helpers

setup() {
        start_server
        LOAD=$NBNET_BIN/nbnet-load
}

teardown() {
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
        assert_line "  statuses     0: 500"
        assert_line "  errors       connect 0, read 0, no status 0, timeout 0"
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
        "$LOAD" -c 2 -n 20 --json "127.0.0.1:$PORT" 'echo 12345; exit 3' >"$BATS_TEST_TMPDIR/report.json"
        json_check "$BATS_TEST_TMPDIR/report.json" 'r["statuses"] == {"3": 20} and r["output_bytes"] == 120'
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
        assert_line "  errors       connect 5, read 0, no status 0, timeout 0 (last: Connection refused)"
}

@test "a slow command runs into -t and counts as a timeout" {
        run "$LOAD" -n 1 -t 0.3 "127.0.0.1:$PORT" "$(unique_sleep)"
        assert_failure 1
        assert_line "  errors       connect 0, read 0, no status 0, timeout 1"
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

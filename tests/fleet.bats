#!/usr/bin/env bats
# Many hosts through pdsh: `pdsh -R exec -w HOSTS nbnet %h COMMAND`. Three
# servers on 127.0.0.1, 127.0.0.2 and 127.0.0.3 stand in for three hosts;
# the last test fans out to 20 addresses (bench/fanout times 1,000).

bats_require_minimum_version 1.5.0

load helpers
load servers

HOSTS=(127.0.0.1 127.0.0.2 127.0.0.3)

setup() {
        # nbnet's default port, as on a real fleet, unless something here has it.
        FLEET_PORT=9079
        NBNET_PORT_OPT=()
        if ! port_free_on "$FLEET_PORT" "${HOSTS[@]}"; then
                FLEET_PORT=$(free_port)
                NBNET_PORT_OPT=(-p "$FLEET_PORT")
        fi
        for h in "${HOSTS[@]}"; do
                serve_extra "$h:$FLEET_PORT"
                SERVER_OF[${h##*.}]=$(last_server)
        done
        export PATH="$NBNET_BIN:$PATH"
}

teardown() {
        stop_extra_servers
        if [ -n "${FANOUT_NS:-}" ]; then
                ip netns del "$FANOUT_NS"
        fi
}

@test "pdsh runs nbnet on three hosts: one line each, prefixed with the host" {
        run --separate-stderr pdsh -R exec -w '127.0.0.[1-3]' nbnet "${NBNET_PORT_OPT[@]}" %h hostname
        assert_success
        assert_equal "$(sort <<<"$output")" "127.0.0.1: $(hostname)
127.0.0.2: $(hostname)
127.0.0.3: $(hostname)"
        assert_equal "$stderr" ""
}

@test "with one host down, pdsh reports that host only" {
        kill -TERM -- -"${SERVER_OF[2]}"
        wait "${SERVER_OF[2]}" 2>/dev/null || true
        run --separate-stderr pdsh -R exec -w '127.0.0.[1-3]' nbnet "${NBNET_PORT_OPT[@]}" %h hostname
        assert_equal "$(sort <<<"$output")" "127.0.0.1: $(hostname)
127.0.0.3: $(hostname)"
        assert_equal "$(sort <<<"$stderr")" "127.0.0.2: nbnet: 127.0.0.2:$FLEET_PORT: connection refused
pdsh@$(hostname -s): 127.0.0.2: nbnet exited with exit code 255"
}

@test "dshbak -c folds the identical output of the three hosts" {
        run bash -c "pdsh -R exec -w '127.0.0.[1-3]' nbnet ${NBNET_PORT_OPT[*]} %h 'echo same' | dshbak -c"
        assert_success
        assert_output "----------------
127.0.0.[1-3]
----------------
same"
}

@test "each host's exit status reaches pdsh -S, which returns the largest" {
        run pdsh -S -R exec -w '127.0.0.[1-3]' nbnet "${NBNET_PORT_OPT[@]}" %h 'h=%h; exit ${h##*.}0'
        assert_failure 30
        assert_line "pdsh@$(hostname -s): 127.0.0.2: nbnet exited with exit code 20"
}

# As bench/fanout does, in a network namespace of the test's own (root, ip
# netns): one server listens on all its addresses, on nbnet's port; without
# one, 20 addresses of this machine's loopback, two servers (nbnetd takes 16
# --listen at most), on a free port. Liveness and no failure, not timing.
@test "pdsh -f 20 runs nbnet on 20 addresses at once: each answers once, none fails" {
        local run_in=() port_opt=() port i expected=
        FANOUT_NS=nbnet-fleet-$$-$BATS_TEST_NUMBER
        if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null && ip netns add "$FANOUT_NS" 2>/dev/null; then
                ip -n "$FANOUT_NS" link set lo up
                run_in=(ip netns exec "$FANOUT_NS")
                NBNET_NETNS=$FANOUT_NS SERVER_WRAPPER="ip netns exec $FANOUT_NS" serve_extra 0.0.0.0:9079
        else
                echo "# no network namespace of its own (needs root and ip netns): on this machine's loopback" >&3
                FANOUT_NS=
                port=$(free_port)
                port_opt=(-p "$port")
                serve_extra "$(for i in $(seq 1 16); do printf '127.0.0.%s:%s ' "$i" "$port"; done)"
                serve_extra "$(for i in $(seq 17 20); do printf '127.0.0.%s:%s ' "$i" "$port"; done)"
        fi
        for i in $(seq 1 20); do
                expected+="127.0.0.$i: $(uname -r)"$'\n'
        done
        run --separate-stderr "${run_in[@]}" pdsh -S -R exec -f 20 -w '127.0.0.[1-20]' \
                nbnet "${port_opt[@]}" %h uname -r
        assert_success
        assert_equal "$(sort -V <<<"$output")" "${expected%$'\n'}"
        assert_equal "$stderr" ""
}

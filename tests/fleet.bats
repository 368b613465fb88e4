#!/usr/bin/env bats
# Many hosts through pdsh: `pdsh -R exec -w HOSTS nbnet %h COMMAND`. Three
# servers on 127.0.0.1, 127.0.0.2 and 127.0.0.3 stand in for three hosts.

bats_require_minimum_version 1.5.0

load helpers
load servers

HOSTS=(127.0.0.1 127.0.0.2 127.0.0.3)

setup() {
        # nbnet's default port, as on a real fleet, unless something here has it.
        FLEET_PORT=9079
        # -M: until the servers take '&' (the stderr channel).
        NBNET_PORT_OPT=(-M)
        if ! port_free_on "$FLEET_PORT" "${HOSTS[@]}"; then
                FLEET_PORT=$(free_port)
                NBNET_PORT_OPT=(-M -p "$FLEET_PORT")
        fi
        for h in "${HOSTS[@]}"; do
                serve_extra "$h:$FLEET_PORT"
                SERVER_OF[${h##*.}]=$(last_server)
        done
        export PATH="$NBNET_BIN:$PATH"
}

teardown() {
        stop_extra_servers
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

#!/usr/bin/env bats
# The bash completion of nbnet, nbnet-load and check_nbnet
# (contrib/bash-completion/nbnet): sourced, then its function called as bash
# calls it, with COMP_WORDS and COMP_CWORD as bash splits the line.

bats_require_minimum_version 1.5.0

bats_load_library bats-support
bats_load_library bats-assert

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
NBNET_BIN=${NBNET_BIN:-$TOP/bin}

setup() {
        # The programs' --help under test, and a home of the test's own.
        PATH=$NBNET_BIN:/usr/sbin:/usr/bin:/sbin:/bin
        HOME=$BATS_TEST_TMPDIR/home
        mkdir -p "$HOME/.config/nbnet" "$HOME/.ssh"
        printf 'Host web1 web2 *.lab\n  Port 9080\nhost db7\n' >"$HOME/.config/nbnet/config"
        printf 'gw4,192.0.2.4 ssh-ed25519 AAAA\n[bastion]:2222 ssh-ed25519 AAAA\n|1|hashed= ssh-ed25519 AAAA\n' \
                >"$HOME/.ssh/known_hosts"
        HOSTFILE=$BATS_TEST_TMPDIR/hosts
        printf '192.0.2.9 mon9\n' >"$HOSTFILE"
        # shellcheck disable=SC1091 # linted on its own by make lint-shellcheck
        . "$TOP/contrib/bash-completion/nbnet"
}

# complete WORD...: what the completion offers for the last WORD, sorted, one a line.
complete_words() {
        COMP_WORDS=("$@")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMPREPLY=()
        _nbnet_complete "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort
}

@test "the file registers one function for the three clients" {
        run complete -p nbnet nbnet-load check_nbnet
        assert_success
        assert_line "complete -F _nbnet_complete nbnet"
        assert_line "complete -F _nbnet_complete nbnet-load"
        assert_line "complete -F _nbnet_complete check_nbnet"
}

@test "nbnet: long options from its --help" {
        run complete_words nbnet --con
        assert_output "--connect-timeout"
        run complete_words nbnet --m
        assert_output $'--merge-stderr\n--munge'
}

@test "nbnet: hosts from its config file (no patterns), known_hosts (not hashed) and HOSTFILE" {
        run complete_words nbnet ''
        assert_output "$(printf '%s\n' 192.0.2.4 bastion db7 gw4 mon9 web1 web2 | LC_ALL=C sort)"
        refute_output --partial lab
        refute_output --partial hashed
}

@test "nbnet: the host after USER@, which bash splits into words of its own" {
        run complete_words nbnet alice @
        assert_line web1
        assert_line db7
        refute_output --partial @
        run complete_words nbnet alice @ we
        assert_output $'web1\nweb2'
}

@test "nbnet: options after HOST, none after the command's first word" {
        run complete_words nbnet web1 --time
        assert_output "--timeout"
        run complete_words nbnet web1 uptime --time
        assert_output ""
}

@test "nbnet: an option's argument is not the host: -p 9080 w completes hosts, -F completes files" {
        run complete_words nbnet -p 9080 w
        assert_output $'web1\nweb2'
        touch "$BATS_TEST_TMPDIR/my-config"
        run complete_words nbnet -F "$BATS_TEST_TMPDIR/my-c"
        assert_output "$BATS_TEST_TMPDIR/my-config"
}

@test "nbnet: -F FILE on the line is the config whose hosts are offered" {
        printf 'Host other3\n' >"$BATS_TEST_TMPDIR/other"
        run complete_words nbnet -F "$BATS_TEST_TMPDIR/other" o
        assert_output "other3"
}

@test "nbnet-load: its own options, and HOST after them" {
        run complete_words nbnet-load --ok
        assert_output "--ok-status"
        run complete_words nbnet-load -c 8 -n 100 d
        assert_output "db7"
}

@test "check_nbnet: its options, and hosts after -H" {
        run complete_words check_nbnet --c
        assert_output "--command"
        run complete_words check_nbnet -H w
        assert_output $'web1\nweb2'
        run complete_words check_nbnet --host d
        assert_output "db7"
}

#!/usr/bin/env bats
# nbnet as a transport (doc/protocol.md, the '<' flag): rsync -e nbnet and
# tar through nbnet, both ways, against nbnetd on 127.0.0.2. The tree has
# 1,000 files of random sizes, a 200 MB one, symlinks and modes. Each run
# is bounded by a timeout, so that a stall fails instead of hanging.
# TRANSPORT_ROUNDS (default 2) says how often; make soak runs 20.

bats_require_minimum_version 1.5.0

load helpers
load servers
load trees

setup_file() {
        export TREE=$BATS_FILE_TMPDIR/tree
        # /usr/bin/python3: the tree is the same whatever python3 PATH finds.
        /usr/bin/python3 "$BATS_TEST_DIRNAME/lib/maketree.py" "$TREE" 1000 200000000
}

setup() {
        T_PORT=$(free_port)
        serve_extra "127.0.0.2:$T_PORT"
        export NBNET="$NBNET_BIN/nbnet -p $T_PORT"
}

teardown() {
        stop_extra_servers
}

@test "rsync -a -e nbnet copies the tree to 127.0.0.2 and back, the same, every round" {
        local round dst back
        for round in $(seq "${TRANSPORT_ROUNDS:-2}"); do
                dst=$BATS_TEST_TMPDIR/dst$round
                back=$BATS_TEST_TMPDIR/back$round
                timeout 300 rsync -a -e "$NBNET" "$TREE/" "127.0.0.2:$dst/"
                same_tree "$TREE" "$dst"
                timeout 300 rsync -a -e "$NBNET" "127.0.0.2:$dst/" "$back/"
                same_tree "$TREE" "$back"
                rm -rf "$dst" "$back"
        done
}

@test "rsync -e nbnet sends only what changed the second time" {
        local dst=$BATS_TEST_TMPDIR/dst
        timeout 300 rsync -a -e "$NBNET" "$TREE/" "127.0.0.2:$dst/"
        echo changed >>"$BATS_TEST_TMPDIR/extra"
        run --separate-stderr timeout 300 rsync -a --stats -e "$NBNET" "$TREE/" "127.0.0.2:$dst/"
        assert_success
        assert_line "Number of regular files transferred: 0"
}

@test "tar c | nbnet 'tar x' and nbnet 'tar c' | tar x round-trip the tree" {
        local dst=$BATS_TEST_TMPDIR/tdst back=$BATS_TEST_TMPDIR/tback
        mkdir "$dst" "$back"
        tar c -C "$TREE" . | timeout 300 $NBNET 127.0.0.2 tar x -p -C "$dst"
        same_tree "$TREE" "$dst"
        timeout 300 $NBNET -n 127.0.0.2 tar c -C "$dst" . | tar x -p -C "$back"
        same_tree "$TREE" "$back"
}

@test "a remote command's exit status comes back through the stdin transport" {
        run --separate-stderr sh -c "echo data | timeout 20 $NBNET 127.0.0.2 'wc -c; exit 7'"
        assert_equal "$status" 7
        assert_output "5"
}

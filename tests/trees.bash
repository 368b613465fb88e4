# Two trees compared: what a tree holds (every path with its type, mode,
# size, link target and content hash), and whether two hold the same.

# What a tree holds, sorted; two trees are the same when these are.
manifest() {
        (cd "$1" && find . -mindepth 1 -printf '%p %y %m %s %l\n' | sort &&
                find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}

# same_tree A B: succeeds when A and B hold the same; else shows the first differences.
same_tree() {
        diff <(manifest "$1") <(manifest "$2") >"$BATS_TEST_TMPDIR/diff" || {
                head -n 20 "$BATS_TEST_TMPDIR/diff" >&2
                return 1
        }
}

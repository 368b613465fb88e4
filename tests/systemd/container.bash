# Boots a Debian 12 container with systemd as PID 1 and runs commands in it.
# Sourced by tests/systemd/run. Needs root, systemd-nspawn and nsenter.
#   ct_boot ROOT DIST   boots ROOT (read-only, --volatile=overlay), DIST at /opt/nbnet
#   ct CMD...           runs CMD in the container (all its namespaces), bounded
#   ct_net CMD...       runs a host CMD in the container's network namespace
#   ct_journal          the container's journal of this boot
#   ct_down             stops the container and removes its cgroup; safe to repeat
# Every wait is bounded; nothing here waits on the container forever.

CT_PID=""    # systemd-nspawn, as started by setsid
CT_LEADER="" # the container's PID 1, as the host sees it
CT_CGROUPS=() # the cgroups made for this container, one per hierarchy
CT_LOG=""

# Where to make the container's cgroup: with --keep-unit nspawn runs the
# container below the cgroup it was started in, and leaves payload/ and
# supervisor/ there; a cgroup of our own is what lets the test remove them.
ct_cgroup_roots() {
        if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
                echo /sys/fs/cgroup # unified hierarchy only
        else
                # Hybrid: nspawn uses the name=systemd tree as well as the unified one.
                [ -d /sys/fs/cgroup/unified ] && echo /sys/fs/cgroup/unified
                [ -d /sys/fs/cgroup/systemd ] && echo /sys/fs/cgroup/systemd
        fi
}

# Polls "$@" every 50 ms for at most SECONDS.
ct_wait_until() {
        local limit_ns t0
        limit_ns=$(awk -v s="$1" 'BEGIN { printf "%.0f", s * 1e9 }')
        shift
        t0=$(date +%s%N)
        until "$@"; do
                (($(date +%s%N) - t0 > limit_ns)) && return 1
                sleep 0.05
        done
}

ct_find_leader() {
        CT_LEADER=$(pgrep -P "$CT_PID" -x systemd 2>/dev/null | head -n 1)
        [ -n "$CT_LEADER" ]
}

ct_boot() {
        local root=$1 dist=$2 name cg
        name=nbnet-test-$$-$RANDOM
        CT_LOG=$(mktemp)
        CT_CGROUPS=()
        for cg in $(ct_cgroup_roots); do
                mkdir "$cg/$name" || return 1
                CT_CGROUPS+=("$cg/$name")
        done
        # setsid: the container gets a session of its own, away from our
        # terminal and our signals. The shell moves itself into the new
        # cgroups before it becomes nspawn.
        # shellcheck disable=SC2016 # expanded by the inner shell, from its environment
        ROOT=$root NAME=$name DIST=$dist setsid sh -c 'for cg; do echo $$ >"$cg/cgroup.procs" || exit 1; done
                exec env SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 systemd-nspawn --quiet --boot \
                        -D "$ROOT" -M "$NAME" --register=no --keep-unit --console=passive \
                        --private-network --volatile=overlay --bind-ro="$DIST:/opt/nbnet"' \
                sh "${CT_CGROUPS[@]}" </dev/null >"$CT_LOG" 2>&1 &
        CT_PID=$!
        if ! ct_wait_until 10 ct_find_leader; then
                echo "# container: no systemd under systemd-nspawn within 10 s"
                sed 's/^/#   /' "$CT_LOG"
                return 1
        fi
        # systemctl needs the manager's private socket, which PID 1 makes early in boot.
        if ! ct_wait_until 10 ct test -S /run/systemd/private; then
                echo "# container: no /run/systemd/private within 10 s of boot"
                sed 's/^/#   /' "$CT_LOG"
                return 1
        fi
        # Boot to running takes under a second here; 60 s leaves room for a busy host.
        local state
        state=$(ct systemctl is-system-running --wait 2>&1)
        if [ "$state" != running ]; then
                echo "# container: is-system-running says '$state', not 'running'"
                ct systemctl --failed --no-pager 2>&1 | sed 's/^/#   /'
                return 1
        fi
}

# Bounded: a hung command inside fails the test instead of hanging it.
# env -i: nsenter would pass on the host's environment.
ct() {
        timeout "${CT_TIMEOUT:-60}" nsenter -t "$CT_LEADER" -a \
                env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
}

ct_net() {
        timeout "${CT_TIMEOUT:-60}" nsenter -t "$CT_LEADER" -n "$@"
}

ct_journal() {
        [ -n "$CT_LEADER" ] && CT_TIMEOUT=20 ct journalctl -b --no-pager -o short-monotonic 2>&1
}

# Kills whatever is left in a cgroup tree (cgroup.kill where the kernel has it).
ct_cgroup_kill() {
        local cg=$1 f p
        if [ -f "$cg/cgroup.kill" ]; then
                echo 1 >"$cg/cgroup.kill" 2>/dev/null
                return
        fi
        while IFS= read -r f; do
                while read -r p; do kill -KILL "$p" 2>/dev/null; done <"$f"
        done < <(find "$cg" -name cgroup.procs)
}

ct_cgroup_empty() {
        local f
        while IFS= read -r f; do
                [ -s "$f" ] && return 1
        done < <(find "$1" -name cgroup.procs)
        return 0
}

ct_cgroup_remove() {
        find "$1" -depth -type d -exec rmdir {} + 2>/dev/null
        [ ! -d "$1" ]
}

ct_nspawn_gone() {
        ! kill -0 "$CT_PID" 2>/dev/null
}

ct_down() {
        local cg
        if [ -n "$CT_PID" ]; then
                # SIGTERM: nspawn asks the container's systemd to power off.
                kill -TERM "$CT_PID" 2>/dev/null
                if ! ct_wait_until 30 ct_nspawn_gone; then
                        echo "# container: still up 30 s after SIGTERM; killing it"
                        kill -KILL "$CT_PID" 2>/dev/null
                fi
                wait "$CT_PID" 2>/dev/null
        fi
        for cg in "${CT_CGROUPS[@]}"; do
                [ -d "$cg" ] || continue
                ct_cgroup_empty "$cg" || ct_cgroup_kill "$cg"
                ct_wait_until 5 ct_cgroup_empty "$cg" || echo "# container: processes left in $cg"
                # Killed tasks leave their cgroup a moment after cgroup.procs
                # shows them gone; until then rmdir fails with EBUSY.
                ct_wait_until 5 ct_cgroup_remove "$cg" || echo "# container: could not remove $cg"
        done
        CT_CGROUPS=()
        CT_PID=""
        CT_LEADER=""
        [ -n "$CT_LOG" ] && rm -f "$CT_LOG"
        CT_LOG=""
}

# shellcheck shell=bash disable=SC2154 # work, port, rate, ssh_port, ssh_cmd: bench/run's
# Sourced by bench/run, whose servers, record and BIN it uses: what the
# stderr channel ('&', a second connection per command) costs, and rsync's
# push of one big file over nbnet against over ssh.
#
# channel_round REP: `true` at c=1 and c=8 against nbnetd and nbnet-handler
# under systemd-socket-activate --accept (nbnet.socket's mode), by
# nbnet-load with and without --stderr-channel, back to back, the order
# turned round every other repetition: kind "channel", workloads
# "true c=N" and "true c=N &"; report.py takes the medians.
channel_round() {
        local rep=$1 c name ch out order=("" "&")
        [ $((rep % 2)) = 0 ] && order=("&" "")
        for c in 1 8; do
                for name in nbnetd nbnet-handler; do
                        for ch in "${order[@]}"; do
                                local flags=()
                                [ -n "$ch" ] && flags=(--stderr-channel)
                                out=$("$BIN/nbnet-load" "${flags[@]}" --json -t 60 -c "$c" "${rate[@]}" \
                                        "127.0.0.1:${port[$name]}" true) || true
                                if [ -z "$out" ]; then
                                        echo "bench/run: nbnet-load ${flags[*]} against $name at c=$c failed" >&2
                                        exit 1
                                fi
                                record channel "$name" "true c=$c${ch:+ $ch}" "$rep" "$out"
                        done
                done
        done
}

# rsync_setup BYTES: the file rsync_round pushes, BYTES of random data (rsync
# would find little to gain from a delta of it: the whole file goes).
rsync_setup() {
        rsync_bytes=$1
        mkdir -p "$work/rsync-src"
        head -c "$rsync_bytes" /dev/urandom >"$work/rsync-src/blob"
}

# rsync_push VIA REP REMOTE-SHELL: one `rsync -a SRC/ 127.0.0.1:DST/` into a
# destination that is not there, over rsync -e REMOTE-SHELL; its wall time
# recorded as kind "rsync", name VIA.
rsync_push() {
        local via=$1 rep=$2 remote=$3 dst=$work/rsync-dst t0 s
        rm -rf "$dst"
        t0=$EPOCHREALTIME
        if ! timeout 300 rsync -a -e "$remote" "$work/rsync-src/" "127.0.0.1:$dst/"; then
                echo "bench/run: rsync -e '$remote' failed" >&2
                exit 1
        fi
        s=$(seconds_since "$t0")
        if ! cmp -s "$work/rsync-src/blob" "$dst/blob"; then
                echo "bench/run: rsync -e '$remote' copied a different file" >&2
                exit 1
        fi
        rm -rf "$dst"
        record rsync "$via" "push $((rsync_bytes / 1000000)) MB" "$rep" \
                "$(awk -v n="$rsync_bytes" -v s="$s" \
                        'BEGIN { printf "{\"bytes\": %d, \"seconds\": %s, \"mb_per_s\": %.1f}\n", n, s, n / s / 1e6 }')"
}

# rsync_round REP: the push over nbnet (nbnetd, the channel on, as nbnet
# runs) and over ssh (a connection of its own, no master), the order turned
# round every other repetition; over nbnet alone when there is no sshd.
rsync_round() {
        local rep=$1 via vias=(nbnet ssh)
        [ $((rep % 2)) = 0 ] && vias=(ssh nbnet)
        for via in "${vias[@]}"; do
                case $via in
                nbnet) rsync_push nbnet "$rep" "$BIN/nbnet -p ${port[nbnetd]}" ;;
                ssh) [ -z "$ssh_port" ] || rsync_push ssh "$rep" "${ssh_cmd[*]}" ;;
                esac
        done
}

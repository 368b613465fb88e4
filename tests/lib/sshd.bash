# An OpenSSH server of the caller's own on loopback, for what nbnet is
# measured (bench/run) and checked (tests/tools.bats) against: a host key
# and a client key made for it in a directory of the caller's, key
# authentication only, root's login with that key, stopped by its PID.
# Sourced by bash; uses nothing of the caller's but what it is given.

SSHD_PID=
SSH_CMD=()

# Why an sshd of our own cannot run here, or nothing when it can: sshd
# needs root (its privilege separation directory, its re-exec as root).
sshd_missing() {
        if [ "$(id -u)" -ne 0 ]; then
                echo "starting sshd needs root"
        elif [ ! -x /usr/sbin/sshd ] || ! command -v ssh >/dev/null || ! command -v ssh-keygen >/dev/null; then
                echo "needs /usr/sbin/sshd, ssh and ssh-keygen (openssh-server, openssh-client: make deps)"
        fi
}

# sshd_start DIR PORT [ADDR...]: an sshd on PORT of each ADDR (127.0.0.1
# when none), its keys, configuration and log (sshd.log) in DIR, which it
# makes. Sets SSHD_PID (set before the wait, so that sshd_stop ends an sshd
# that never answered) and SSH_CMD: ssh with
# DIR/ssh_config, which reaches it (port, key, no host key check, batch mode).
# Returns 1, with sshd's log on stderr, when it did not answer within 10 s.
sshd_start() {
        local dir=$1 port=$2 addr i
        shift 2
        [ "$#" -gt 0 ] || set -- 127.0.0.1
        mkdir -m 0700 "$dir" || return 1
        [ -d /run/sshd ] || mkdir -m 0755 /run/sshd || return 1
        ssh-keygen -q -t ed25519 -N '' -C nbnet-sshd-host -f "$dir/host_key" </dev/null || return 1
        ssh-keygen -q -t ed25519 -N '' -C nbnet-sshd-client -f "$dir/id" </dev/null || return 1
        cp "$dir/id.pub" "$dir/authorized_keys" || return 1
        # sshd runs each command as "$SHELL -c", and bash started by sshd at
        # SHLVL < 2 reads ~/.bashrc (a version manager's init there can cost
        # 0.7 s a command, or print). SetEnv SHLVL=1 skips that, so that what
        # runs is the command, as under nbnet's sh -c, which reads no rc file.
        {
                for addr in "$@"; do
                        echo "ListenAddress $addr"
                done
                cat <<EOF
HostKey $dir/host_key
AuthorizedKeysFile $dir/authorized_keys
PidFile $dir/sshd.pid
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
MaxStartups 200
MaxSessions 200
PrintMotd no
LogLevel ERROR
Subsystem sftp /usr/lib/openssh/sftp-server
SetEnv SHLVL=1
EOF
        } >"$dir/sshd_config"
        cat >"$dir/ssh_config" <<EOF
Host *
  Port $port
  IdentityFile $dir/id
  IdentitiesOnly yes
  BatchMode yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
EOF
        SSH_CMD=(ssh -F "$dir/ssh_config")
        # setsid: sshd and the sessions it forks are a process group of their own.
        setsid /usr/sbin/sshd -D -f "$dir/sshd_config" -p "$port" -E "$dir/sshd.log" </dev/null &
        SSHD_PID=$!
        for i in $(seq 100); do
                "${SSH_CMD[@]}" "$1" true </dev/null 2>/dev/null && return 0
                if [ "$i" = 100 ] || ! kill -0 "$SSHD_PID" 2>/dev/null; then
                        echo "sshd did not answer on $1 port $port; its log:" >&2
                        cat "$dir/sshd.log" >&2
                        return 1
                fi
                sleep 0.1
        done
}

# Stops the sshd of sshd_start, and the sessions still in its process group.
sshd_stop() {
        [ -n "$SSHD_PID" ] || return 0
        kill -TERM -- -"$SSHD_PID" 2>/dev/null || kill -TERM "$SSHD_PID" 2>/dev/null || true
        wait "$SSHD_PID" 2>/dev/null || true
        SSHD_PID=
}

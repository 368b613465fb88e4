#!/usr/bin/env bats
# The Ansible connection plugin (contrib/ansible/nbnet.py) with Debian's
# ansible-core: three servers on 127.0.0.1, 127.0.0.2 and 127.0.0.3 stand in
# for three hosts, each task with pipelining on and off.

bats_require_minimum_version 1.5.0

load helpers
load servers

HOSTS=(127.0.0.1 127.0.0.2 127.0.0.3)
# Bounds every ansible run: a stall fails the test instead of hanging it.
ANSIBLE_LIMIT=100

setup() {
        command -v ansible >/dev/null || skip_unless_ci "ansible-core is not installed (tools/deps)"
        local i port
        INV=$BATS_TEST_TMPDIR/inventory
        : >"$INV"
        for i in 1 2 3; do
                port=$(free_port)
                serve_extra "${HOSTS[i - 1]}:$port"
                PORT_OF[i]=$port
        done
        # h3 names its port with the plugin's own variable.
        cat >"$INV" <<EOF
[fleet]
h1 ansible_host=127.0.0.1 ansible_port=${PORT_OF[1]}
h2 ansible_host=127.0.0.2 ansible_port=${PORT_OF[2]}
h3 ansible_host=127.0.0.3 ansible_nbnet_port=${PORT_OF[3]}
EOF
        # The "remote" side of each host is a directory here: all three are this machine.
        REMOTE=$BATS_TEST_TMPDIR/remote
        mkdir -p "$REMOTE"/h{1,2,3} "$BATS_TEST_TMPDIR"/{ltmp,rtmp,home}
        : >"$BATS_TEST_TMPDIR/ansible.cfg"
        export ANSIBLE_CONFIG=$BATS_TEST_TMPDIR/ansible.cfg
        export ANSIBLE_CONNECTION_PLUGINS=$TOP/contrib/ansible
        export ANSIBLE_LOCAL_TEMP=$BATS_TEST_TMPDIR/ltmp
        export ANSIBLE_REMOTE_TEMP=$BATS_TEST_TMPDIR/rtmp
        export ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3
        export ANSIBLE_HOST_KEY_CHECKING=False
        export ANSIBLE_NOCOLOR=1
        export ANSIBLE_DEPRECATION_WARNINGS=False
}

teardown() {
        if [ -n "${FAKE_PID:-}" ]; then
                kill "$FAKE_PID" 2>/dev/null || true
                wait "$FAKE_PID" 2>/dev/null || true
        fi
        stop_extra_servers
}

# nb PIPELINING ARGS...: ansible over nbnet on the inventory, pipelining True or False.
nb() {
        local pipelining=$1
        shift
        ANSIBLE_PIPELINING=$pipelining timeout "$ANSIBLE_LIMIT" ansible -c nbnet -i "$INV" "$@"
}

ping_all() {
        run -0 nb "$1" all -m ping -vvv
        local h
        for h in h1 h2 h3; do
                assert_line --partial "$h | SUCCESS"
        done
        assert_equal "$(grep -c '"ping": "pong"' <<<"$output")" 3
        # Pipelined, the module goes as stdin: no file is put.
        if [ "$1" = True ]; then
                refute_line --regexp '^<127\.0\.0\.[123]> PUT '
        else
                assert_equal "$(grep -cE '^<127\.0\.0\.[123]> PUT ' <<<"$output")" 3
        fi
}

@test "ping answers pong on the three hosts (pipelining on: no file put)" {
        ping_all True
}

@test "ping answers pong on the three hosts (pipelining off: the module is put)" {
        ping_all False
}

command_uptime() {
        run -0 nb "$1" all -m command -a uptime
        assert_equal "$(grep -c '| CHANGED | rc=0 >>' <<<"$output")" 3
        assert_equal "$(grep -c 'load average' <<<"$output")" 3
}

@test "command uptime runs on the three hosts (pipelining on)" {
        command_uptime True
}

@test "command uptime runs on the three hosts (pipelining off)" {
        command_uptime False
}

shell_exit_3() {
        run -2 nb "$1" all -m shell -a 'echo before; exit 3'
        local h
        for h in h1 h2 h3; do
                assert_line "$h | FAILED | rc=3 >>"
        done
        # The minimal callback runs the output into the message: "beforenon-zero return code".
        assert_equal "$(grep -c '^before' <<<"$output")" 3
}

@test "shell 'exit 3' is a failed task with rc 3 and its output (pipelining on)" {
        shell_exit_3 True
}

@test "shell 'exit 3' is a failed task with rc 3 and its output (pipelining off)" {
        shell_exit_3 False
}

# copy_file PIPELINING SIZE [again]: a random file of SIZE copied with mode 0640 to
# each host; "again": then once more, which must change nothing.
copy_file() {
        local src=$BATS_TEST_TMPDIR/src.bin h want
        head -c "$2" /dev/urandom >"$src"
        want=$(sha256sum <"$src")
        run -0 nb "$1" all -m copy -a "src=$src dest=$REMOTE/{{ inventory_hostname }}/copy.bin mode=0640"
        assert_equal "$(grep -c '| CHANGED =>' <<<"$output")" 3
        for h in h1 h2 h3; do
                assert_equal "$(sha256sum <"$REMOTE/$h/copy.bin")" "$want"
                assert_equal "$(stat -c %a "$REMOTE/$h/copy.bin")" 640
        done
        # The same again changes nothing: the remote checksum matched.
        [ "${3:-}" = again ] || return 0
        run -0 nb "$1" all -m copy -a "src=$src dest=$REMOTE/{{ inventory_hostname }}/copy.bin mode=0640"
        assert_equal "$(grep -c '| SUCCESS =>' <<<"$output")" 3
}

@test "copy of a 100 KB file with a mode: content and mode on disk (pipelining on)" {
        copy_file True 100K again
}

@test "copy of a 100 KB file with a mode: content and mode on disk (pipelining off)" {
        copy_file False 100K again
}

@test "copy of a 20 MB file with a mode: content and mode on disk (pipelining on)" {
        copy_file True 20M
}

@test "copy of a 20 MB file with a mode: content and mode on disk (pipelining off)" {
        copy_file False 20M
}

fetch_files() {
        local h
        for h in h1 h2 h3; do
                head -c 3M /dev/urandom >"$REMOTE/$h/data.bin"
        done
        run -0 nb "$1" all -m fetch -a "src=$REMOTE/{{ inventory_hostname }}/data.bin dest=$BATS_TEST_TMPDIR/fetched/{{ inventory_hostname }}.bin flat=yes"
        assert_equal "$(grep -c '| CHANGED =>' <<<"$output")" 3
        for h in h1 h2 h3; do
                assert_equal "$(sha256sum <"$BATS_TEST_TMPDIR/fetched/$h.bin")" "$(sha256sum <"$REMOTE/$h/data.bin")"
        done
        # Nothing of a fetch is left beside the files.
        assert_equal "$(find "$BATS_TEST_TMPDIR/fetched" -name '.nbnet-fetch.*' | wc -l)" 0
}

@test "fetch brings each host's 3 MB file back intact (pipelining on)" {
        fetch_files True
}

@test "fetch brings each host's 3 MB file back intact (pipelining off)" {
        fetch_files False
}

playbook() {
        ANSIBLE_PIPELINING=$1 run -0 timeout "$ANSIBLE_LIMIT" ansible-playbook -c nbnet -i "$INV" \
                -e bench_dir="$REMOTE/play" "$TOP/bench/peers/ansible-10.yml"
        local h
        for h in h1 h2 h3; do
                assert_line --regexp "^$h +: ok=10 +changed=3 +unreachable=0 +failed=0 "
                assert_equal "$(head -1 "$REMOTE/play/$h/hello.txt")" "host $h"
        done
}

@test "the ten-task playbook (bench/peers/ansible-10.yml) passes on the three hosts (pipelining on)" {
        playbook True
}

@test "the ten-task playbook (bench/peers/ansible-10.yml) passes on the three hosts (pipelining off)" {
        playbook False
}

@test "a host whose server is down is unreachable, the others answer" {
        kill -TERM -- -"${EXTRA_SERVER_PIDS[1]}"
        wait "${EXTRA_SERVER_PIDS[1]}" 2>/dev/null || true
        run -4 nb True all -m ping
        assert_line --partial "h2 | UNREACHABLE! =>"
        assert_output --partial "nbnet: 127.0.0.2:${PORT_OF[2]}: Connection refused"
        assert_line --partial "h1 | SUCCESS"
        assert_line --partial "h3 | SUCCESS"
}

@test "a response without a status trailer is a cut stream: the host is unreachable" {
        local port
        port=$(free_port)
        # A server that answers half a response and closes: no trailer. It
        # takes the stderr channel ("=" and the token) too, in either order,
        # and holds it until it has cut the request.
        timeout 30 python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4); print("ready", flush=True)
held, cut, end = [], False, time.monotonic() + 20
while time.monotonic() < end:
    s.settimeout(max(0.1, end - time.monotonic()))
    try:
        c, _ = s.accept()
    except socket.timeout:
        break
    if c.recv(1, socket.MSG_PEEK) == b"=":
        held.append(c)
    elif not cut:
        c.recv(65536); c.sendall(b"partial output\n"); c.close(); cut = True
        end = time.monotonic() + 2
for c in held:
    c.close()
' "$port" >"$BATS_TEST_TMPDIR/fake.out" &
        wait_until 5 grep -q ready "$BATS_TEST_TMPDIR/fake.out"
        run -4 timeout "$ANSIBLE_LIMIT" ansible -c nbnet -i cut, -e ansible_host=127.0.0.1 \
                -e ansible_port="$port" all -m raw -a true
        assert_line --partial "cut | UNREACHABLE! =>"
        assert_output --partial "the stream was cut"
}

@test "a command over the length limit fails before sending, suggesting pipelining" {
        local long
        long=$(printf '%070000d' 0)
        run -2 nb False h1 -m raw -a "echo $long"
        assert_output --partial "nbnet: the command is 70005 bytes, over the server's limit of 65536"
        assert_output --partial "turn pipelining on"
}

@test "at ansible_nbnet_command_timeout the task fails and the remote command is killed" {
        local sleep_cmd
        sleep_cmd=$(unique_sleep)
        run -2 nb True h1 -m raw -a "$sleep_cmd" -e ansible_nbnet_command_timeout=1
        assert_output --partial "ran over the command timeout of 1 s"
        wait_until 5 no_process "$sleep_cmd"
}

# stderr_apart PIPELINING: a command's stderr comes back in stderr, its stdout alone in
# stdout. The command module keeps them apart on the host itself (a module's result is
# JSON on stdout); raw's are the connection's own.
stderr_apart() {
        local play=$BATS_TEST_TMPDIR/stderr.yml
        cat >"$play" <<'EOF'
- hosts: fleet
  gather_facts: false
  tasks:
    - command: sh -c 'echo out; echo err >&2'
      register: r
    - assert:
        that:
          - r.stdout == 'out'
          - r.stderr == 'err'
        fail_msg: "stdout {{ r.stdout | to_json }}, stderr {{ r.stderr | to_json }}"
    - raw: sh -c 'echo out; echo err >&2; exit 4'
      register: raw
      failed_when: raw.rc != 4
    - assert:
        that:
          - raw.stdout == 'out\n'
          - raw.stderr == 'err\n'
        fail_msg: "stdout {{ raw.stdout | to_json }}, stderr {{ raw.stderr | to_json }}"
EOF
        ANSIBLE_PIPELINING=$1 run -0 timeout "$ANSIBLE_LIMIT" ansible-playbook -c nbnet -i "$INV" "$play"
        local h
        for h in h1 h2 h3; do
                assert_line --regexp "^$h +: ok=4 +changed=2 +unreachable=0 +failed=0 "
        done
}

@test "a command's stderr is the task's stderr, apart from stdout (pipelining on)" {
        stderr_apart True
}

@test "a command's stderr is the task's stderr, apart from stdout (pipelining off)" {
        stderr_apart False
}

@test "ansible_user naming the server's command user runs; another user fails, nothing run" {
        local me
        me=$(id -un)
        run -0 nb True h1 -m command -a "id -un" -e ansible_user="$me"
        assert_line "$me"
        local other=nobody
        [ "$me" != nobody ] || other=root
        run -2 nb True h1 -m command -a "touch $REMOTE/h1/ran" -e ansible_user="$other"
        assert_output --partial "h1 | FAILED"
        assert_output --partial "does not run commands as remote_user '$other'"
        assert_output --partial "cannot run as $other here, status 126"
        assert_output --partial "--run-as $other"
        [ ! -e "$REMOTE/h1/ran" ]
        # ansible_nbnet_send_user false: the name is not sent, the server's user runs it.
        run -0 nb True h1 -m command -a "id -un" -e ansible_user="$other" -e ansible_nbnet_send_user=false
        assert_line "$me"
}

@test "become to root with a server that runs commands as root: no sudo is run" {
        [ "$(id -u)" = 0 ] || skip "needs the server to run commands as root"
        # A sudo that does not exist: become must be skipped, as it is over ssh as root.
        local p
        for p in True False; do
                run -0 nb "$p" h1 -m command -a "id -un" -b -e ansible_become_exe=/nonexistent/sudo -vvv
                assert_line root
                refute_output --partial /nonexistent/sudo
                assert_output --partial "nbnet: the server runs commands as root"
        done
        # With ansible_user root named to the server: no question asked, no sudo either.
        run -0 nb True h1 -m command -a "id -un" -b -e ansible_become_exe=/nonexistent/sudo \
                -e ansible_user=root -vvv
        assert_line root
        refute_output --partial "the server runs commands as"
}

@test "become without a password (su) to another user runs as it; with a password it is refused" {
        [ "$(id -u)" = 0 ] || skip "su without a password needs the server to run as root"
        run -0 nb True h1 -m command -a "id -un" -b --become-method su --become-user nobody \
                -e "ansible_become_flags='-s /bin/sh'"
        assert_line nobody
        run -2 nb True h1 -m command -a id -b --become-method su --become-user nobody \
                -e "ansible_become_flags='-s /bin/sh'" -e ansible_become_password=x
        assert_output --partial "become with a password is not supported"
}

@test "a server that predates the stderr channel: merged output, one warning for the run" {
        local port
        port=$(free_port)
        timeout 120 python3 "$TOP/tests/lib/nbfake.py" "$port" --old &
        FAKE_PID=$!
        listening "127.0.0.1:$port"
        local play=$BATS_TEST_TMPDIR/old.yml
        cat >"$play" <<'EOF'
- hosts: all
  gather_facts: false
  tasks:
    - raw: sh -c 'echo out; echo err >&2'
      register: r
    - assert:
        that:
          - r.stdout == 'out\nerr\n'
          - r.stderr == ''
        fail_msg: "stdout {{ r.stdout | to_json }}, stderr {{ r.stderr | to_json }}"
    - ping:
EOF
        ANSIBLE_PIPELINING=False run -0 timeout "$ANSIBLE_LIMIT" ansible-playbook -c nbnet -i old, \
                -e ansible_host=127.0.0.1 -e ansible_port="$port" "$play"
        assert_line --regexp "^old +: ok=3 +changed=1 +unreachable=0 +failed=0 "
        # Each task's worker finds it out; the run is told once.
        assert_equal "$(grep -c '^\[WARNING\]: nbnet: the server at' <<<"$output")" 1
        assert_output --partial "predates the stderr channel"
        # A named user cannot be checked there: refused, not ignored.
        run -2 timeout "$ANSIBLE_LIMIT" ansible -c nbnet -i old, -e ansible_host=127.0.0.1 \
                -e ansible_port="$port" -e ansible_user=root all -m raw -a true
        assert_output --partial "predates the '~' flag"
}

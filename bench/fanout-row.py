#!/usr/bin/env python3
"""One row of bench/fanout: runs a fan-out command (pdsh, clush, ansible) once
and checks that every host answered as expected.

    python3 bench/fanout-row.py --hosts FILE [--expect LINE] [--format F]
        [--server PID]... [--client-pids FILE] -- COMMAND...

COMMAND's output is read as one line a host: "HOST: LINE" (--format pdsh,
as pdsh and clush print it) or "HOST | CHANGED | rc=0 | (stdout) LINE"
(--format ansible, ansible -o); or, with --format load, COMMAND is
nbnet-load --json -n HOSTS, and all its requests must be ok. Every host of FILE must answer LINE exactly
once (without --expect: print nothing at all), COMMAND must exit 0, and with
--format pdsh or load its stderr must be empty. Prints one JSON object: hosts,
seconds (wall), per_host_ms, client_cpu_ms_per_host (COMMAND and all it
started and waited for, and the process trees of the PIDs listed in
--client-pids FILE: ssh's ControlPersist masters), server_cpu_ms_per_host (the process trees of the
--server PIDs, the commands they ran and reaped included), failures and the
first few of them. Exits 1 when anything failed.
"""
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

TICK = os.sysconf("SC_CLK_TCK")
LINE_RE = {
    "pdsh": re.compile(r"^(\S+): (.*)$"),
    "ansible": re.compile(r"^(\S+) \| CHANGED \| rc=0 \| \(stdout\) (.*)$"),
}


def tree_cpu(roots):
    """CPU seconds of the process trees under ROOTS: each live process's own
    time plus that of the children it reaped (utime, stime, cutime, cstime).
    A process that ends between two calls moves into its parent's c*time,
    so the difference of two calls is what the trees used in between."""
    parent, cpu = {}, {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        parent[int(pid)] = int(fields[1])
        cpu[int(pid)] = sum(int(v) for v in fields[11:15])
    total = 0
    for pid in cpu:
        p = pid
        while p > 1 and p not in roots:
            p = parent.get(p, 0)
        if p in roots:
            total += cpu[pid]
    return total / TICK


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main() -> int:
    args = sys.argv[1:]
    hosts_file, expect, fmt, servers, clients = None, None, "pdsh", set(), set()
    while args and args[0] != "--":
        opt, val = args[0], args[1]
        args = args[2:]
        if opt == "--hosts":
            hosts_file = val
        elif opt == "--expect":
            expect = val
        elif opt == "--format":
            fmt = val
        elif opt == "--server":
            servers.add(int(val))
        elif opt == "--client-pids":
            with open(val) as f:
                clients = {int(pid) for pid in f.read().split()}
        else:
            print(f"fanout-row.py: unknown option {opt}", file=sys.stderr)
            return 2
    cmd = args[1:]
    if not cmd or hosts_file is None or fmt not in (*LINE_RE, "load"):
        print("fanout-row.py: usage: --hosts FILE [--expect LINE] [--format pdsh|ansible|load] "
              "[--server PID]... [--client-pids FILE] -- COMMAND...", file=sys.stderr)
        return 2
    with open(hosts_file) as f:
        hosts = [h.strip() for h in f if h.strip()]

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        s0, c0, m0 = tree_cpu(servers), children_cpu(), tree_cpu(clients)
        t0 = time.monotonic()
        status = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err).returncode
        seconds = time.monotonic() - t0
        client = children_cpu() - c0 + tree_cpu(clients) - m0
        server = tree_cpu(servers) - s0
        out.seek(0)
        err.seek(0)
        lines = out.read().decode(errors="replace").splitlines()
        errors = err.read().decode(errors="replace").splitlines()

    failed = []
    answered = {}
    if fmt == "load":
        report = json.loads("\n".join(lines) or "{}")
        if report.get("ok") != len(hosts) or report.get("requests") != len(hosts):
            failed.append(f"nbnet-load: {report.get('ok')} ok of {report.get('requests')} requests, "
                          f"not {len(hosts)}; statuses {report.get('statuses')}")
        lines = []
    for line in lines:
        m = LINE_RE[fmt].match(line)
        if m is None:
            if fmt == "pdsh" or "|" in line:
                failed.append(f"unexpected output: {line[:200]}")
            continue
        host, text = m.groups()
        if expect is None or host in answered or text != expect:
            failed.append(f"{host}: unexpected: {text[:200]}")
        answered[host] = text
    if expect is not None and fmt != "load":
        missing = [h for h in hosts if h not in answered]
        failed += [f"{h}: no answer" for h in missing]
    if fmt in ("pdsh", "load"):
        failed += [f"stderr: {line[:200]}" for line in errors]
    if status != 0:
        failed.append(f"exit status {status}")
        if fmt != "pdsh":
            failed += [f"stderr: {line[:200]}" for line in errors[-5:]]
    n = len(hosts)
    print(json.dumps({
        "hosts": n,
        "seconds": round(seconds, 4),
        "per_host_ms": round(seconds * 1000 / n, 3),
        "client_cpu_ms_per_host": round(client * 1000 / n, 3),
        "server_cpu_ms_per_host": round(server * 1000 / n, 3) if servers else None,
        "failures": len(failed),
        "first_failures": failed[:5],
    }))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

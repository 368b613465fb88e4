#!/usr/bin/env python3
"""Nagios-style checks per second: each check is one run of a check program
(check_nrpe or check_nbnet), as a monitoring server does it.

    python3 bench/checks.py [-c C] [-d SEC | -n N] [--expect STATUS] -- PROGRAM ARGS...

C threads start the program over and over, for SEC seconds or N checks in
all; every exit status must be STATUS (default 0). Prints one JSON object:
checks, checks_per_sec, p50_ms, p99_ms, failures.
"""
import json
import subprocess
import sys
import threading
import time


def main() -> int:
    args = sys.argv[1:]
    conc, seconds, total, expect = 1, 1.5, None, 0
    while args and args[0] != "--":
        opt, val = args[0], args[1]
        args = args[2:]
        if opt == "-c":
            conc = int(val)
        elif opt == "-d":
            seconds = float(val)
        elif opt == "-n":
            total = int(val)
        elif opt == "--expect":
            expect = int(val)
        else:
            print(f"checks.py: unknown option {opt}", file=sys.stderr)
            return 2
    cmd = args[1:]
    if not cmd:
        print("checks.py: no program after --", file=sys.stderr)
        return 2
    lock = threading.Lock()
    lat, failures, started = [], [], [0]
    t0 = time.monotonic()
    deadline = t0 + seconds

    def worker():
        while True:
            with lock:
                if total is not None:
                    if started[0] >= total:
                        return
                elif time.monotonic() >= deadline:
                    return
                started[0] += 1
            s = time.monotonic()
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            e = time.monotonic() - s
            with lock:
                lat.append(e)
                if p.returncode != expect and len(failures) < 3:
                    failures.append(f"status {p.returncode}: {p.stdout[:200]!r}")

    threads = [threading.Thread(target=worker) for _ in range(conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    lat.sort()

    def pct(q):
        return round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 3) if lat else None

    print(json.dumps({
        "checks": len(lat),
        "checks_per_sec": round(len(lat) / elapsed, 1),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "failures": failures,
    }))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

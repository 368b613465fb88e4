#!/usr/bin/env python3
"""The NRPE comparison of bench/run: medians over the repetitions of
bench/checks.py's results (JSON lines), as a Markdown table.

    python3 bench/checks-report.py CHECKS.jsonl
"""
import collections
import json
import statistics
import sys


def main() -> int:
    runs = collections.defaultdict(list)
    with open(sys.argv[1]) as f:
        for line in f:
            r = json.loads(line)
            runs[(r["check"], r["c"], r["name"])].append(r["result"])
    print("| check | c | server (client) | checks/s | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    clients = {"nbnetd": "check_nbnet", "nrpe": "check_nrpe", "nrpe-no-tls": "check_nrpe -n"}
    for (check, c, name), results in runs.items():
        def med(key):
            return statistics.median(r[key] for r in results)
        failed = sum(len(r["failures"]) for r in results)
        note = f" ({failed} failed)" if failed else ""
        print(f"| {check} | {c} | {name} ({clients.get(name, name)}) | {med('checks_per_sec'):.0f}{note} "
              f"| {med('p50_ms'):.2f} | {med('p99_ms'):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

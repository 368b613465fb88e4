#!/usr/bin/env python3
"""The table of bench/fanout: medians over the repetitions of its records
(bench/run's JSON lines, kind "fanout"), as Markdown, and what the client's
own start costs of the whole.

    python3 bench/fanout-report.py RESULTS.jsonl
"""
import collections
import json
import statistics
import sys


def main() -> int:
    runs = collections.defaultdict(list)
    order = []
    with open(sys.argv[1]) as f:
        for line in f:
            r = json.loads(line)
            if r["kind"] != "fanout":
                continue
            key = (r["workload"], r["name"])
            if key not in runs:
                order.append(key)
            runs[key].append(r["result"])

    def med(key, field):
        values = [v[field] for v in runs[key] if v.get(field) is not None]
        return statistics.median(values) if values else None

    def fmt(v, spec):
        return "-" if v is None else format(v, spec)

    print("| hosts, fan-out | row | wall s | ms/host | client CPU ms/host | server CPU ms/host "
          "| over nbnet | failures |")
    print("|---|---|---|---|---|---|---|---|")
    for key in order:
        workload, name = key
        # Over the same tool's nbnet row (pdsh's for rows of no tool).
        tool = name.split()[0]
        bases = [k for k in order if k[0] == workload and k[1].split()[0] == tool and k[1].endswith(" nbnet")]
        base = bases[0] if bases else (workload, "pdsh nbnet")
        ratio = None
        if base in runs and base != key:
            ratio = med(key, "seconds") / med(base, "seconds")
        failures = sum(v["failures"] for v in runs[key])
        print(f"| {workload} | {name} | {fmt(med(key, 'seconds'), '.2f')} "
              f"| {fmt(med(key, 'per_host_ms'), '.2f')} "
              f"| {fmt(med(key, 'client_cpu_ms_per_host'), '.2f')} "
              f"| {fmt(med(key, 'server_cpu_ms_per_host'), '.2f')} "
              f"| {fmt(ratio, '.2f')} | {failures} of {len(runs[key])} runs |")

    # The client's own start: nbnet against a server that runs nothing, and
    # the same requests without a process a request (nbnet-load), each over
    # nbnet's whole fan-out in the same run.
    whole = [k for k in order if k[1] == "pdsh nbnet"]
    null = [k for k in order if k[1] == "pdsh nbnet -M to null-server"]
    load = [k for k in order if k[1].startswith("nbnet-load")]
    if whole and null:
        w = med(whole[0], "seconds")
        print()
        print(f"The client's own start: pdsh running nbnet against the null server (nothing run, "
              f"no stderr channel) takes {med(null[0], 'seconds'):.2f} s, "
              f"{med(null[0], 'seconds') / w:.2f} of nbnet's whole fan-out ({w:.2f} s)", end="")
        if load:
            print(f"; the same {runs[load[0]][0]['hosts']} requests from nbnet-load, one process "
                  f"for all, take {med(load[0], 'seconds'):.2f} s "
                  f"({med(load[0], 'seconds') / w:.2f})", end="")
        print(".")
    return 0


if __name__ == "__main__":
    sys.exit(main())

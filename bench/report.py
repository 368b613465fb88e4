#!/usr/bin/env python3
"""bench/run's report: medians of the repetitions in RESULTS (one JSON object
a line), a table and the ratios on stdout, the same as JSON in OUT, and the
chart's data beside it (OUT with .dat). With --smoke, only checks that every
measurement happened and that every request ended well.

    python3 bench/report.py [--smoke] RESULTS OUT WORKERS
"""
import json
import statistics
import sys
from collections import defaultdict


def median(values):
    return statistics.median(values) if values else None


def cgroup_ratios(results_path):
    """{"host"|"container": {"cN": {...}}}: per round, nbnetd's rate over
    that of nbnetd --cgroups off measured in the same round."""
    kinds = {"cgroups": "host", "cgroups-container": "container"}
    rates = defaultdict(dict)
    with open(results_path) as f:
        for line in f:
            r = json.loads(line)
            if r["kind"] in kinds:
                c = "c" + r["workload"].split("=")[1]
                rates[(kinds[r["kind"]], c, r["rep"])][r["name"]] = r["result"]["requests_per_s"]
    out = {}
    for (where, c, _rep), pair in sorted(rates.items()):
        on, off = pair.get("nbnetd"), pair.get("nbnetd --cgroups off")
        if not on or not off:
            continue
        row = out.setdefault(where, {}).setdefault(c, {"ratios": [], "on": [], "off": []})
        row["ratios"].append(on / off)
        row["on"].append(on)
        row["off"].append(off)
    return {where: {c: {"median_ratio": median(v["ratios"]), "ratios": v["ratios"],
                        "cgroups_per_s": median(v["on"]), "off_per_s": median(v["off"])}
                    for c, v in by_c.items()}
            for where, by_c in out.items()}


def main() -> int:
    args = sys.argv[1:]
    smoke = args[0] == "--smoke"
    if smoke:
        args = args[1:]
    results_path, out_path, workers = args[0], args[1], int(args[2])
    runs = defaultdict(list)
    with open(results_path) as f:
        for line in f:
            r = json.loads(line)
            runs[(r["kind"], r["name"], r["workload"])].append(r["result"])

    bad = [(k, r) for k, rs in runs.items() if k[0] in ("server", "channel") for r in rs
           if r["ok"] == 0 or r["ok"] != r["requests"]]
    for k, r in bad:
        print(f"bench: {k[1]} {k[2]}: {r['ok']} of {r['requests']} requests ok; errors {r['errors']}",
              file=sys.stderr)

    servers = list(dict.fromkeys(k[1] for k in runs if k[0] == "server"))
    loads = [w for w in dict.fromkeys(k[2] for k in runs if k[0] == "server") if w.startswith("true")]
    conc = [int(w.split("=")[1]) for w in loads]

    def srv(name, workload, key, sub=None):
        rs = runs.get(("server", name, workload), [])
        return median([r[key][sub] if sub else r[key] for r in rs])

    def lim(name, workload, key):
        return median([r[key] for r in runs.get(("limit", name, workload), [])])

    spawn1 = lim("spawn", "workers=1", "spawns_per_s")
    spawnw = lim("spawn", f"workers={workers}", "spawns_per_s")
    # The same with what nbnetd promises each command besides (spawn-limit -P:
    # a TMPDIR and, where there can be one, a cgroup of its own, through nbnetd's code).
    promised = {1: lim("spawn-promises", "workers=1", "spawns_per_s"),
                workers: lim("spawn-promises", f"workers={workers}", "spawns_per_s")}
    per_spawn_us = lim("spawn", "workers=1", "per_spawn_us")
    sock = {w: lim("socket", w, "mb_per_s") for w in ("head", "dd")}
    # The latency target's reference: the median of one sequential spawn plus
    # the median of one loopback round trip (bench/rtt).
    p50_spawn_us = lim("spawn", "workers=1", "p50_spawn_us")
    rtt_us = lim("rtt", "loopback", "rtt_us_p50")

    table = {}
    for name in servers:
        row = {}
        for w, c in zip(loads, conc):
            row[f"c{c}"] = {"requests_per_s": srv(name, w, "requests_per_s"),
                            "p50_ms": srv(name, w, "latency_us", "p50") / 1000,
                            "p99_ms": srv(name, w, "latency_us", "p99") / 1000}
        for w in ("head", "dd"):
            mb = srv(name, w, "output_mb_per_s")
            if mb is not None:
                row[f"{w}_mb_per_s"] = mb
        table[name] = row

    def spawn_limit_at(c):
        return spawn1 if c == 1 else spawnw

    nb = table.get("nbnetd", {})
    peers = [s for s in servers if not s.startswith("nbnet")]
    ratios = {}
    for c in conc:
        ratios[f"nbnetd_over_spawn_limit_c{c}"] = nb[f"c{c}"]["requests_per_s"] / spawn_limit_at(c)
        if peers:
            best = max(peers, key=lambda s: table[s][f"c{c}"]["requests_per_s"])
            ratios[f"nbnetd_over_best_peer_c{c}"] = \
                nb[f"c{c}"]["requests_per_s"] / table[best][f"c{c}"]["requests_per_s"]
            ratios[f"best_peer_c{c}"] = best
    for w in ("head", "dd"):
        if f"{w}_mb_per_s" in nb and sock[w]:
            ratios[f"nbnetd_{w}_over_socket_limit"] = nb[f"{w}_mb_per_s"] / sock[w]
    if peers:
        best = max(peers, key=lambda s: table[s].get("head_mb_per_s", 0))
        ratios["nbnetd_head_over_best_peer"] = nb["head_mb_per_s"] / table[best]["head_mb_per_s"]
        ratios["best_peer_head"] = best
    if 1 in conc and per_spawn_us:
        ratios["nbnetd_p50_c1_over_per_spawn_time"] = nb["c1"]["p50_ms"] * 1000 / per_spawn_us
    if 1 in conc and p50_spawn_us and rtt_us is not None:
        ratios["nbnetd_p50_c1_over_spawn_plus_rtt"] = \
            nb["c1"]["p50_ms"] * 1000 / (p50_spawn_us + rtt_us)

    targets = {}
    if not smoke:
        targets["c1 >= 0.9 of the sequential spawn limit"] = ratios["nbnetd_over_spawn_limit_c1"] >= 0.9
        targets[f"c8 >= 0.85 of the {workers}-worker spawn limit"] = ratios["nbnetd_over_spawn_limit_c8"] >= 0.85
        for w in ("head", "dd"):
            targets[f"{w} bulk >= 0.95 of the socket limit"] = ratios[f"nbnetd_{w}_over_socket_limit"] >= 0.95
        targets["p50 at c1 within 10% of a spawn plus a round trip"] = \
            ratios["nbnetd_p50_c1_over_spawn_plus_rtt"] <= 1.10
        targets["nbnetd ahead of every peer at every concurrency"] = all(
            ratios[f"nbnetd_over_best_peer_c{c}"] > 1 for c in conc)
        hd = table["nbnet-handler"]
        targets["nbnet-handler ahead of xinetd, socat, ncat"] = all(
            hd[f"c{c}"]["requests_per_s"] > table[p][f"c{c}"]["requests_per_s"]
            for c in conc for p in ("xinetd", "socat", "ncat") if p in table)

    # The direct path: nbnetd's /bin/true (no /bin/sh) over the sh -c spawn limit.
    for c in (1, 8):
        direct = median([r["requests_per_s"] for r in runs.get(("direct", "nbnetd", f"/bin/true c={c}"), [])])
        if direct is not None:
            ratios[f"nbnetd_direct_over_spawn_limit_c{c}"] = direct / spawn_limit_at(c)
            if not smoke:
                targets[f"direct /bin/true c{c} >= 1.0 of the sh -c spawn limit"] = direct >= spawn_limit_at(c)

    # nbnetd --munge: one credential made and decoded per request, over plain nbnetd.
    munge = {}
    for c in (1, 8):
        rs = runs.get(("munge", "nbnetd", f"true c={c}"), [])
        rps = median([r["requests_per_s"] for r in rs])
        if rps is None:
            continue
        munge[f"c{c}"] = {"requests_per_s": rps,
                          "p50_ms": median([r["latency_us"]["p50"] for r in rs]) / 1000,
                          "p99_ms": median([r["latency_us"]["p99"] for r in rs]) / 1000}
        plain = nb.get(f"c{c}", {}).get("requests_per_s")
        if plain:
            ratios[f"nbnetd_munge_over_plain_c{c}"] = rps / plain
    # The stderr channel (bench/channel.bash): `true` with '&' and a channel
    # connection per request over without, per server, interleaved rounds.
    channel = {}
    for name in dict.fromkeys(k[1] for k in runs if k[0] == "channel"):
        for c in (1, 8):
            cells = {}
            for ch, w in (("without", f"true c={c}"), ("with", f"true c={c} &")):
                rs = runs.get(("channel", name, w), [])
                if rs:
                    cells[ch] = {"requests_per_s": median([r["requests_per_s"] for r in rs]),
                                 "p50_ms": median([r["latency_us"]["p50"] for r in rs]) / 1000,
                                 "p99_ms": median([r["latency_us"]["p99"] for r in rs]) / 1000}
            if len(cells) == 2:
                cells["with_over_without"] = cells["with"]["requests_per_s"] / cells["without"]["requests_per_s"]
                ratios[f"{name.replace('-', '_')}_channel_over_none_c{c}"] = cells["with_over_without"]
                channel.setdefault(name, {})[f"c{c}"] = cells
    # rsync's push of one file (bench/channel.bash): over nbnet and over ssh.
    rsync = {}
    for k in sorted(k for k in runs if k[0] == "rsync"):
        rs = runs[k]
        rsync[k[1]] = {"workload": k[2], "seconds": median([r["seconds"] for r in rs]),
                       "mb_per_s": median([r["mb_per_s"] for r in rs])}
    if rsync.get("nbnet") and rsync.get("ssh"):
        ratios["rsync_ssh_seconds_over_nbnet_seconds"] = rsync["ssh"]["seconds"] / rsync["nbnet"]["seconds"]
    # Idle connections: a normal client's p50 and p99 while an attacker holds
    # idle connections from the same address; target 50 ms at most.
    idle = {k[2]: v for k, v in runs.items() if k[0] == "idle"}
    idle_report = {}
    for w, rs in idle.items():
        p99 = median([r["latency_us"]["p99"] for r in rs]) / 1000
        idle_report[w] = {"p50_ms": median([r["latency_us"]["p50"] for r in rs]) / 1000,
                          "p99_ms": p99, "ok": sum(r["ok"] for r in rs),
                          "requests": sum(r["requests"] for r in rs)}
        if not smoke and not w.endswith("idle=0"):
            targets[f"nbnetd {w}: p99 at most 50 ms"] = p99 <= 50

    # Input: head -c | nbnet 'cat >/dev/null' against
    # nbnetd, over the same client and pipe against bench/sock-sink.
    input_limit = lim("input-socket", "cat", "mb_per_s")
    input_nb = median([r["mb_per_s"] for r in runs.get(("input", "nbnetd", "cat"), [])])
    if input_limit and input_nb is not None:
        ratios["nbnetd_input_over_input_socket_limit"] = input_nb / input_limit
        if not smoke:
            targets["input >= 0.9 of the input socket limit"] = input_nb / input_limit >= 0.9

    # The ideal server: 1 / (time per spawn + time per null cycle),
    # the null cycle read from bench/null-server with nbnet-load.
    ideal = {}
    for k in sorted(k for k in runs if k[0] == "null"):
        c = int(k[2].split("=")[1])
        null_rps = median([r["requests_per_s"] for r in runs[k]])
        spawn = spawn_limit_at(c)
        if not null_rps or not spawn:
            continue
        ideal_rps = 1 / (1 / spawn + 1 / null_rps)
        ideal[f"c{c}"] = {"null_cycle_per_s": null_rps, "ideal_per_s": ideal_rps,
                          "null_p50_ms": median([r["latency_us"]["p50"] for r in runs[k]]) / 1000}
        # The ideal server that keeps nbnetd's promises: what is left is nbnetd's own.
        spawn_p = promised.get(1 if c == 1 else workers)
        if spawn_p:
            ideal[f"c{c}"]["ideal_same_promises_per_s"] = 1 / (1 / spawn_p + 1 / null_rps)
        got = nb.get(f"c{c}", {}).get("requests_per_s")
        if got and spawn_p:
            ratios[f"nbnetd_over_ideal_same_promises_c{c}"] = got * (1 / spawn_p + 1 / null_rps)
        if got:
            ratios[f"nbnetd_over_ideal_server_c{c}"] = got / ideal_rps
            if not smoke:
                targets[f"c{c} >= 0.95 of the ideal server"] = got / ideal_rps >= 0.95

    # OpenSSH: one `true` per ssh run (bench/checks.py), without and with a
    # ControlPersist master, and one nbnet run per request the same way;
    # nbnetd's own row is nbnet-load's.
    ssh = {}
    for k in sorted(k for k in runs if k[0] == "ssh"):
        rs = runs[k]
        ssh.setdefault(k[1], {})[k[2].replace("true ", "").replace("=", "")] = {
            "requests_per_s": median([r["checks_per_sec"] for r in rs]),
            "p50_ms": median([r["p50_ms"] for r in rs]),
            "p99_ms": median([r["p99_ms"] for r in rs]),
            "failures": sum(len(r["failures"]) for r in rs)}
    for c in ("c1", "c8"):
        got = nb.get(c, {}).get("requests_per_s")
        for peer in ("ssh", "ssh-controlpersist"):
            row = ssh.get(peer, {}).get(c)
            if got and row and row["requests_per_s"]:
                ratios[f"nbnetd_over_{peer.replace('-', '_')}_{c}"] = got / row["requests_per_s"]
                client = ssh.get("nbnet", {}).get(c)
                if client:
                    ratios[f"nbnet_client_over_{peer.replace('-', '_')}_{c}"] = \
                        client["requests_per_s"] / row["requests_per_s"]

    # The Ansible playbook: wall seconds over -c nbnet and -c ssh.
    ansible = {k[1]: median([r["seconds"] for r in rs]) for k, rs in runs.items() if k[0] == "ansible"}
    if ansible.get("nbnet") and ansible.get("ssh"):
        ratios["ansible_ssh_seconds_over_nbnet_seconds"] = ansible["ssh"] / ansible["nbnet"]

    # Leftovers: true after a command left daemons over before, each round's
    # rate over its control's (an nbnetd alike, nothing left) in the same window.
    leftovers = {}
    for name in dict.fromkeys(k[1] for k in runs if k[0] == "leftovers"):
        row = {}
        for c in (1, 8):
            before = runs.get(("leftovers", name, f"true c={c} before"), [])
            after = runs.get(("leftovers", name, f"true c={c} after"), [])
            if not before or not after:
                continue

            def rel(rs):
                return median([r["load"]["requests_per_s"] / r["control"]["requests_per_s"]
                               for r in rs if r["control"]["requests_per_s"]])

            b, a = rel(before), rel(after)
            row[f"c{c}"] = {
                "before_per_s": median([r["load"]["requests_per_s"] for r in before]),
                "after_per_s": median([r["load"]["requests_per_s"] for r in after]),
                "after_p99_ms": median([r["load"]["latency_us"]["p99"] for r in after]) / 1000,
                "ratio": a / b if a is not None and b else None}
            if not smoke and row[f"c{c}"]["ratio"] is not None:
                targets[f"{name}: true c={c} after {after[0]['daemons']} daemons >= 0.9 of before"] = \
                    row[f"c{c}"]["ratio"] >= 0.9
        if row:
            leftovers[name] = {"daemons": after[0]["daemons"], "left_running": after[0]["left_running"],
                               **row}

    # A cgroup per command over --cgroups off (bench/cgroups,
    # bench/cgroups-container): one ratio per round, both measured in it,
    # and the median of those.
    cgroups = cgroup_ratios(results_path)
    for where, by_c in cgroups.items():
        floor = 0.95 if where == "host" else 0.9
        for c, v in by_c.items():
            ratios[f"cgroups_over_off_{where}_{c}"] = v["median_ratio"]
            if not smoke:
                targets[f"{where} {c}: a cgroup per command >= {floor} of --cgroups off"] = \
                    v["median_ratio"] >= floor

    report = {
        "cgroups_over_off": cgroups,
        "idle_connections": idle_report,
        "input": {"nbnetd_mb_per_s": input_nb, "input_socket_limit_mb_per_s": input_limit},
        "ideal_server": ideal,
        "openssh": ssh,
        "ansible_playbook_seconds": ansible,
        "leftovers": leftovers,
        "note": "medians of the repetitions; loopback; a shared machine makes absolute figures noisy",
        "repetitions": max(len(v) for v in runs.values()),
        "workers": workers,
        "limits": {"spawn_per_s_1_worker": spawn1, f"spawn_per_s_{workers}_workers": spawnw,
                   "spawn_promised_per_s_1_worker": promised[1],
                   f"spawn_promised_per_s_{workers}_workers": promised[workers],
                   "per_spawn_us_1_worker": per_spawn_us,
                   "p50_spawn_us_1_worker": p50_spawn_us, "rtt_us_p50": rtt_us,
                   "socket_mb_per_s_head": sock["head"], "socket_mb_per_s_dd": sock["dd"]},
        "servers": table,
        "nbnetd_munge": munge,
        "stderr_channel": channel,
        "rsync_push": rsync,
        "ratios": ratios,
        "targets_met": targets,
    }
    with open(out_path, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")

    def fmt(v, spec):
        return format("-", spec.split(".")[0]) if v is None else format(v, spec)

    head = f"{'server':<15}" + "".join(f"{'true c=' + str(c):>22}" for c in conc) + \
        f"{'head MB/s':>11}{'dd MB/s':>10}"
    print(head)
    print(f"{'':<15}" + "".join(f"{'req/s p50/p99 ms':>22}" for _ in conc))
    for name in servers:
        row = table[name]
        cells = "".join(f"{row[f'c{c}']['requests_per_s']:>8.0f} {row[f'c{c}']['p50_ms']:>6.2f}/"
                        f"{row[f'c{c}']['p99_ms']:<6.2f}" for c in conc)
        print(f"{name:<15}{cells}{fmt(row.get('head_mb_per_s'), '>11.0f')}"
              f"{fmt(row.get('dd_mb_per_s'), '>10.0f')}")
    for c, row in munge.items():
        print(f"{'nbnetd --munge':<15}{'true ' + c.replace('c', 'c=') + ':':<8}"
              f"{row['requests_per_s']:>8.0f} {row['p50_ms']:>6.2f}/{row['p99_ms']:<6.2f}")
    lim_cells = "".join(f"{fmt(spawn_limit_at(c), '>8.0f')}{'':14}" for c in conc)
    print(f"{'limit':<15}{lim_cells}{fmt(sock['head'], '>11.0f')}{fmt(sock['dd'], '>10.0f')}")
    print(f"(limit: spawn-limit with 1 worker at c=1, {workers} at c>1, {fmt(per_spawn_us, '.0f')} us a spawn "
          f"sequentially, median {fmt(p50_spawn_us, '.0f')} us; loopback round trip {fmt(rtt_us, '.0f')} us; "
          "socket-limit: head -c and dd into the socket, read by nbnet-load --raw)")
    print()
    for k, v in ratios.items():
        print(f"  {k:<40} {v if isinstance(v, str) else format(v, '.2f')}")
    if input_nb is not None:
        print(f"  input: nbnetd {input_nb:.0f} MB/s, input socket limit {fmt(input_limit, '.0f')} MB/s "
              "(head -c | nbnet 'cat >/dev/null'; bench/sock-sink)")
    for c, v in ideal.items():
        print(f"  ideal server {c}: null cycle {v['null_cycle_per_s']:.0f}/s (p50 {v['null_p50_ms']:.3f} ms), "
              f"with the spawn limit {v['ideal_per_s']:.0f}/s, with nbnetd's promises "
              f"{fmt(v.get('ideal_same_promises_per_s'), '.0f')}/s")
    for name, row in channel.items():
        for c, v in row.items():
            w, wo = v["with"], v["without"]
            print(f"  {name} true {c.replace('c', 'c=')}: {wo['requests_per_s']:.0f}/s without the stderr "
                  f"channel, {w['requests_per_s']:.0f}/s with it ({v['with_over_without']:.2f}); p50 "
                  f"{wo['p50_ms']:.2f} -> {w['p50_ms']:.2f} ms, p99 {wo['p99_ms']:.2f} -> {w['p99_ms']:.2f} ms")
    for via, v in rsync.items():
        print(f"  rsync {v['workload']} over {via}: {v['seconds']:.2f} s, {v['mb_per_s']:.0f} MB/s")
    for name, row in ssh.items():
        for c, v in row.items():
            fails = f", {v['failures']} failed" if v["failures"] else ""
            print(f"  {name + ' true ' + c.replace('c', 'c='):<30} {v['requests_per_s']:>7.1f} req/s "
                  f"p50 {v['p50_ms']:.2f} ms p99 {v['p99_ms']:.2f} ms (one client run each{fails})")
    for conn, secs in ansible.items():
        print(f"  ansible-playbook ansible-10.yml, 3 hosts, -c {conn}: {secs:.2f} s")
    for name, v in leftovers.items():
        cells = "; ".join(f"c={c[1:]} {v[c]['before_per_s']:.0f}/s before, {v[c]['after_per_s']:.0f}/s after "
                          f"(p99 {v[c]['after_p99_ms']:.2f} ms), ratio {fmt(v[c]['ratio'], '.2f')}"
                          for c in ("c1", "c8") if c in v)
        print(f"  {name}, {v['daemons']} daemons left ({v['left_running']} still running): true {cells}")
    for where, by_c in cgroups.items():
        for c, v in by_c.items():
            print(f"  a cgroup per command over --cgroups off, {where}, true {c.replace('c', 'c=')}: "
                  f"median ratio {v['median_ratio']:.2f} (rounds {' '.join(f'{r:.2f}' for r in v['ratios'])}; "
                  f"{v['cgroups_per_s']:.0f}/s against {v['off_per_s']:.0f}/s)")
    for w, v in idle_report.items():
        what = "the same server just before the flood" if w.endswith("idle=0") else \
            "idle connections from the client's address"
        print(f"  nbnetd {w} ({what}): p50 {v['p50_ms']:.2f} ms, "
              f"p99 {v['p99_ms']:.2f} ms, {v['ok']} of {v['requests']} ok")
    for k, v in targets.items():
        print(f"  target {'met   ' if v else 'MISSED'} {k}")

    if not smoke:
        with open(out_path.rsplit(".", 1)[0] + ".dat", "w") as f:
            f.write("concurrency " + " ".join(servers) + " spawn-limit\n")
            for c in conc:
                f.write(f"{c} " + " ".join(f"{table[s][f'c{c}']['requests_per_s']:.1f}" for s in servers)
                        + f" {spawn_limit_at(c):.1f}\n")
    expected = len(servers) * (len(conc) + 1) + 2
    if bad or len([k for k in runs if k[0] == "server"]) != expected:
        print("bench: some measurements are missing or failed", file=sys.stderr)
        return 1
    missing = [what for what, have in (("input", input_nb is not None and input_limit),
                                       ("ideal server", ideal), ("leftovers", len(leftovers) == 3),
                                       ("stderr channel", len(channel) == 2
                                        and all(len(row) == 2 for row in channel.values())),
                                       ("rsync over nbnet", "nbnet" in rsync))
               if not have]
    failed_ssh = [f"{n} {c}" for n, row in ssh.items() for c, v in row.items() if v["failures"]]
    if missing or failed_ssh:
        print(f"bench: missing: {', '.join(missing) or 'none'}; failed: {', '.join(failed_ssh) or 'none'}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

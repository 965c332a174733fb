#!/usr/bin/env python3
"""make bench-peers: Tern and Mosquitto side by side on tern-loadgen's workloads.

Runs every workload (pairs, latency, drain, fanout, idle, churn, durability) with
tern-loadgen (a fresh ternd per run) and with tern_mqtt_loadgen (a fresh mosquitto per run,
persistence on, QoS 1, clean_session=false, per-recipient topics), alternating A/B per round
(round 1: tern then mosquitto, round 2: mosquitto then tern, ...), both on this machine with
the same flags. Each figure is the median over the rounds; the ratio is oriented so that
higher is better for Tern (tern/mosquitto for throughput, mosquitto/tern for latency, memory
and CPU). Writes bench/RESULTS.md and bench/results.json and prints one JSON line per
workload: {"workload","metric","tern","mosquitto","ratio"} for its headline figure.

Usage: bench/peers.py --loadgen L --mqtt M --ternd T [--mosquitto P] [--rounds 2]
                      [--out-dir bench] [-- extra workload flags]
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

WORKLOADS = ["pairs", "latency", "drain", "fanout", "idle", "churn", "durability"]
# Figures compared per workload (the first is the headline), besides CPU where measured.
COMPARED = {
    "pairs": ["msgs_per_s", "p50_ms", "p99_ms", "server_cpu_pct"],
    "latency": ["p99_ms", "p50_ms", "p99_9_ms", "max_ms", "msgs_per_s", "server_cpu_pct"],
    "drain": ["msgs_per_s", "rss_per_queued_msg_bytes", "queue_msgs_per_s", "server_cpu_pct"],
    "fanout": ["deliveries_per_s", "p50_ms", "p99_ms", "server_cpu_pct"],
    "idle": ["rss_per_conn_bytes", "connects_per_s"],
    "churn": ["cycles_per_s", "connect_p99_ms", "server_cpu_pct"],
    "durability": ["delivered_after_kill9_pct"],
}
GOALS = {  # from issue 8
    "pairs": "msgs/s >= 5x Mosquitto, every message fsync'd before its ack",
    "latency": "p99 <= 2 ms at 10k msgs/s including the durable commit",
    "drain": "msgs/s >= 5x Mosquitto",
    "idle": "RSS per idle connection <= Mosquitto's (plain TCP)",
    "durability": "100% of acknowledged messages delivered after kill -9, once, in order",
}


def run_one(cmd, timeout):
    t0 = time.time()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=timeout)
        out = p.stdout
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        out += "\n(timed out)"
    report = None
    for line in out.splitlines():
        if line.startswith("{") and '"workload"' in line:
            try:
                report = json.loads(line)
            except json.JSONDecodeError:
                pass
    return report, out, time.time() - t0


def load_avg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            mem_kb = int(f.readline().split()[1])
    except OSError:
        mem_kb = 0
    return {"cpu": model, "cores": os.cpu_count(), "mem_gib": round(mem_kb / 2**20, 1),
            "kernel": platform.release(), "os": platform.platform()}


def ratio(metric_better, tern, mqtt):
    if tern is None or mqtt is None:
        return None
    if metric_better == "higher":
        return None if mqtt == 0 else tern / mqtt
    return None if tern == 0 else mqtt / tern


def fmt(v):
    if v is None:
        return "n/a"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--mqtt", required=True)
    ap.add_argument("--ternd", required=True)
    ap.add_argument("--mosquitto", default="/usr/sbin/mosquitto")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out-dir", default="bench")
    ap.add_argument("--timeout", type=int, default=240, help="seconds per run")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("extra", nargs="*", help="workload flags passed to both loadgens")
    a = ap.parse_args()
    flags = a.extra
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = load_avg()
    t_start = time.time()
    backends = {
        "tern": [a.loadgen, "--spawn", a.ternd] + flags,
        "mosquitto": [a.mqtt, "--mosquitto", a.mosquitto] + flags,
    }
    runs = {}  # workload -> backend -> [report]
    failures = []
    for w in a.workloads.split(","):
        runs[w] = {"tern": [], "mosquitto": []}
        for r in range(a.rounds):
            order = ["tern", "mosquitto"] if r % 2 == 0 else ["mosquitto", "tern"]
            for b in order:
                rep, out, secs = run_one(backends[b] + [w], a.timeout)
                sys.stderr.write(f"bench-peers: {w} round {r + 1} {b}: {secs:.1f} s, "
                                 f"load {load_avg()}\n")
                if rep is None or not rep.get("ok"):
                    failures.append(f"{w} {b} round {r + 1}: " +
                                    (rep.get("error") if rep else out[-1500:]))
                if rep is not None:
                    rep["load_avg"] = load_avg()
                    runs[w][b].append(rep)
    elapsed = time.time() - t_start

    lines, table = [], {}
    for w, per in runs.items():
        table[w] = []
        for k, m in enumerate(COMPARED.get(w, [])):
            vals, better = {}, "higher"
            for b in ("tern", "mosquitto"):
                xs = [rep["figures"][m] for rep in per[b] if m in rep.get("figures", {})]
                vals[b] = statistics.median(xs) if xs else None
                for rep in per[b]:
                    better = rep.get("better", {}).get(m, better)
            rt = ratio(better, vals["tern"], vals["mosquitto"])
            row = {"workload": w, "metric": m, "tern": vals["tern"], "mosquitto": vals["mosquitto"],
                   "ratio": None if rt is None else round(rt, 3), "better": better}
            table[w].append(row)
            if k == 0:
                lines.append({key: row[key] for key in ("workload", "metric", "tern", "mosquitto", "ratio")})

    def verified(w, b):
        reps = runs[w][b]
        if not reps:
            return "did not run"
        ok = sum(1 for rep in reps if rep.get("verified"))
        texts = sorted({rep.get("verify", "") for rep in reps if not rep.get("verified")})
        return f"{ok}/{len(reps)} runs verified" + (": " + "; ".join(texts) if texts else "")

    command = "make bench-peers  (" + " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:]) + ")"
    result = {"command": command, "date": started.isoformat(timespec="seconds"),
              "machine": machine(), "load_avg_before": load_before, "load_avg_after": load_avg(),
              "elapsed_s": round(elapsed, 1), "rounds": a.rounds, "flags": flags,
              "summary": lines, "figures": table, "failures": failures,
              "verified": {w: {b: verified(w, b) for b in ("tern", "mosquitto")} for w in runs},
              "runs": runs}
    os.makedirs(a.out_dir, exist_ok=True)
    with open(os.path.join(a.out_dir, "results.json"), "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")

    md = ["# Tern vs Mosquitto: bench results", "",
          f"- Command: `{command}`",
          f"- Date: {result['date']}; {elapsed:.0f} s; {a.rounds} rounds, alternating A/B "
          "(round 1 Tern first, round 2 Mosquitto first); figures are medians over the rounds.",
          f"- Machine: {result['machine']['cpu']}, {result['machine']['cores']} cores, "
          f"{result['machine']['mem_gib']} GiB, Linux {result['machine']['kernel']}; load "
          "generator and server on the same machine (loopback).",
          f"- Load average before/after: {load_before} / {result['load_avg_after']} "
          "(a shared machine: other builds ran meanwhile; figures are noisy, compare the ratios).",
          "- Tern: `ternd` spawned per run, plain TCP, durable (every message fsync'd before its "
          "*sent* ack, group commit). Mosquitto: `mosquitto` 2.0 spawned per run, persistence on "
          "(autosave every 1800 s, no fsync per message), QoS 1, clean_session=false, "
          "per-recipient topics, payload with Tern's item fields.",
          "- Ratio: oriented so that > 1 is better for Tern (tern/mosquitto for rates, "
          "mosquitto/tern for latency, memory and CPU).", ""]
    for w in runs:
        md.append(f"## {w}")
        md.append("")
        if w in GOALS:
            md.append(f"Goal: {GOALS[w]}.")
            md.append("")
        md.append("| metric | Tern | Mosquitto | ratio (>1: Tern better) |")
        md.append("|---|---|---|---|")
        for row in table[w]:
            md.append(f"| {row['metric']} ({row['better']} is better) | {fmt(row['tern'])} | "
                      f"{fmt(row['mosquitto'])} | {fmt(row['ratio'])} |")
        md.append("")
        for b in ("tern", "mosquitto"):
            md.append(f"- {b}: {verified(w, b)}")
            cpus = [(rep['figures'].get('server_cpu_pct'), rep['figures'].get('loadgen_cpu_pct'))
                    for rep in runs[w][b] if 'loadgen_cpu_pct' in rep.get('figures', {})]
            if cpus:
                md.append(f"  - CPU per run (server %, loadgen %, of one core): " +
                          ", ".join(f"{fmt(s)}/{fmt(l)}" for s, l in cpus))
        notes = sorted({n for b in ("tern", "mosquitto") for rep in runs[w][b]
                        for n in rep.get("notes", [])[1:]})
        descr = sorted({rep.get("describe", "") for b in ("tern", "mosquitto") for rep in runs[w][b]})
        for d in descr:
            md.append(f"- workload: {d}")
        for n in notes:
            md.append(f"- note: {n}")
        md.append("")
    if failures:
        md.append("## Failures")
        md.append("")
        for f_ in failures:
            md.append("- " + f_.replace("\n", " ")[:600])
        md.append("")
    with open(os.path.join(a.out_dir, "RESULTS.md"), "w") as f:
        f.write("\n".join(md))
    for line in lines:
        print(json.dumps(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())

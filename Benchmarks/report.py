#!/usr/bin/env python3
"""Aggregate Benchmarks/run.sh raw measurements: medians over rounds, ratios vs HAProxy from the
same run, a text table, JSON lines, and (optionally) a dated section appended to BENCHMARKS.md."""
import argparse, json, statistics, sys
from collections import defaultdict

p = argparse.ArgumentParser()
p.add_argument("raw")
p.add_argument("--date", default=""); p.add_argument("--machine", default=""); p.add_argument("--command", default="")
p.add_argument("--git", default=""); p.add_argument("--settings", default=""); p.add_argument("--noise", default="")
p.add_argument("--stat", nargs=2, default=None); p.add_argument("--elapsed", default="")
p.add_argument("--jsonl"); p.add_argument("--markdown")
p.add_argument("--max-noise", type=float, default=50.0,
               help="leave a measurement out of the medians when other jobs used more than this %% of a CPU we use "
                    "during it, provided the same variant has a quieter measurement of that scenario")
a = p.parse_args()

rows = [json.loads(l) for l in open(a.raw) if l.strip()]
variants = []
for r in rows:
    if r["variant"] not in variants: variants.append(r["variant"])
KNOWN = ["direct", "haproxy", "nginx", "epoll-floor", "nio-floor", "tee", "tee-decode"]
order = [v for v in KNOWN if v in variants] + [v for v in variants if v not in KNOWN]
na = {r["variant"] for r in rows if r["scenario"] == "na"}

# (label, scenario, function(m) -> value or None, better: "high"/"low")
def get(k): return lambda m: m.get(k)
def per(num, den, scale):
    def f(m):
        if m.get(num) is None or not m.get(den): return None
        return m[num] * scale / m[den]
    return f
def per_gb(m):
    if m.get("proxy_cpu_s") is None or not m.get("bytes"): return None
    return m["proxy_cpu_s"] / (m["bytes"] / 1e9)

METRICS = [
    ("noise: others busy on load CPU %", "noise", get("load_cpu_busy_pct"), "info"),
    ("noise: others busy on proxy CPU %", "noise", get("proxy_cpu_busy_pct"), "info"),
    ("noise during churn: others on load CPU %", "churn", get("noise_load_cpu_pct"), "info"),
    ("noise during churn: others on proxy CPU %", "churn", get("noise_proxy_cpu_pct"), "info"),
    ("churn conn/s", "churn", get("conns_per_s"), "high"),
    ("churn p50 ms", "churn", lambda m: m.get("p50_us") and m["p50_us"] / 1000, "low"),
    ("churn p99 ms", "churn", lambda m: m.get("p99_us") and m["p99_us"] / 1000, "low"),
    ("churn errors", "churn", lambda m: (m.get("errors", 0) or 0) + (m.get("short_replies", 0) or 0) if m else None, "low"),
    ("churn proxy CPU us/conn", "churn", per("proxy_cpu_s", "conns", 1e6), "low"),
    ("churn proxy ctx switches/conn", "churn", per("proxy_ctxsw", "conns", 1), "low"),
    ("churn proxy CPU %", "churn", per("proxy_cpu_s", "seconds", 100), "info"),
    ("churn proxy peak RSS MiB", "churn", lambda m: m.get("proxy_hwm_kb") and m["proxy_hwm_kb"] / 1024, "low"),
    ("churn loadgen CPU %", "churn", get("loadgen_cpu_pct"), "info"),
    ("churn loadgen run-queue wait %", "churn", get("loadgen_rq_wait_pct"), "info"),
    ("churn proxy run-queue wait %", "churn", get("proxy_rq_wait_pct"), "info"),
    ("churn-1 (one at a time) conn/s", "churn-1", get("conns_per_s"), "high"),
    ("churn-1 p50 us", "churn-1", get("p50_us"), "low"),
    ("churn-1 p99 us", "churn-1", get("p99_us"), "low"),
    ("churn-1 proxy CPU us/conn", "churn-1", per("proxy_cpu_s", "conns", 1e6), "low"),
    ("decode item values/s acked", "decode", get("events_per_s"), "high"),
    ("decode events dropped (est.)", "decode", get("events_dropped_est"), "low"),
    ("pingpong txn/s", "pingpong", get("tps"), "high"),
    ("pingpong p50 us", "pingpong", get("p50_us"), "low"),
    ("pingpong p99 us", "pingpong", get("p99_us"), "low"),
    ("pingpong proxy CPU us/txn", "pingpong", per("proxy_cpu_s", "transactions", 1e6), "low"),
    ("pingpong proxy ctx switches/txn", "pingpong", per("proxy_ctxsw", "transactions", 1), "low"),
    ("pingpong proxy CPU %", "pingpong", per("proxy_cpu_s", "seconds", 100), "info"),
    ("pingpong loadgen run-queue wait %", "pingpong", get("loadgen_rq_wait_pct"), "info"),
    ("pingpong proxy run-queue wait %", "pingpong", get("proxy_rq_wait_pct"), "info"),
    ("bulk up x1 Gbit/s", "bulk-up-1", get("gbit_s"), "high"),
    ("bulk down x1 Gbit/s", "bulk-down-1", get("gbit_s"), "high"),
    ("bulk up x8 Gbit/s", "bulk-up-8", get("gbit_s"), "high"),
    ("bulk down x8 Gbit/s", "bulk-down-8", get("gbit_s"), "high"),
    ("bulk up x8 proxy CPU %", "bulk-up-8", per("proxy_cpu_s", "seconds", 100), "info"),
    ("bulk up x1 proxy CPU s/GB", "bulk-up-1", per_gb, "low"),
    ("bulk down x1 proxy CPU s/GB", "bulk-down-1", per_gb, "low"),
    ("bulk up x8 proxy CPU s/GB", "bulk-up-8", per_gb, "low"),
    ("bulk down x8 proxy CPU s/GB", "bulk-down-8", per_gb, "low"),
    ("bulk x8 proxy peak RSS MiB", "bulk-up-8", lambda m: m.get("proxy_hwm_kb") and m["proxy_hwm_kb"] / 1024, "low"),
    ("idle RSS MiB (2000 conns)", "idle", lambda m: m.get("rss_idle_kb") and m["rss_idle_kb"] / 1024, "low"),
    ("idle KiB per conn", "idle", get("kb_per_idle_conn"), "low"),
    ("process peak RSS MiB", "process", lambda m: m.get("peak_rss_kb") and m["peak_rss_kb"] / 1024, "low"),
    ("process threads", "process", get("threads"), "info"),
]

def noisy(r):
    m = r["m"]
    n = [m.get("noise_load_cpu_pct") or 0]
    if r["variant"] != "direct": n.append(m.get("noise_proxy_cpu_pct") or 0)
    return max(n) > a.max_noise
clean = defaultdict(int)
for r in rows:
    if not noisy(r): clean[(r["variant"], r["scenario"])] += 1
dropped = []
kept = []
for r in rows:
    if noisy(r) and clean[(r["variant"], r["scenario"])] > 0:
        dropped.append(f'{r["variant"]}/{r["scenario"]}#{r["round"]}')
    else:
        kept.append(r)
measured = [r for r in rows if "noise_proxy_cpu_pct" in r["m"]]
noisy_kept = [r for r in kept if "noise_proxy_cpu_pct" in r["m"] and noisy(r)]
rows_all, rows = rows, kept

vals = defaultdict(list)
for r in rows:
    for label, scen, f, _ in METRICS:
        if r["scenario"] != scen: continue
        try: v = f(r["m"])
        except Exception: v = None
        if isinstance(v, (int, float)): vals[(label, r["variant"])].append(float(v))

def fmt(x):
    if x is None: return "n/a"
    ax = abs(x)
    if x == int(x) and ax < 1000: return str(int(x))
    if ax >= 1000: return f"{x:,.0f}"
    if ax >= 100: return f"{x:.0f}"
    if ax >= 10: return f"{x:.1f}"
    return f"{x:.2f}"

ratio_vs = [v for v in order if v not in ("direct", "haproxy")]
# The tee against the smallest SwiftNIO relay (Benchmarks/Micro, nio-floor): what is ours, what SwiftNIO's.
floor_vs = [v for v in ("tee", "tee-decode") if v in order] if "nio-floor" in order else []
header = ["metric"] + order + [f"{v}/haproxy" for v in ratio_vs] + [f"{v}/nio-floor" for v in floor_vs] + ["spread"]
table, jl = [], []
for label, scen, _, better in METRICS:
    med = {}
    spread = 0.0
    for v in order:
        xs = vals.get((label, v))
        med[v] = statistics.median(xs) if xs else None
        if xs and len(xs) > 1 and med[v] and scen != "noise" and not label.startswith("noise"):
            spread = max(spread, (max(xs) - min(xs)) / abs(med[v]))
    if all(med[v] is None for v in order) and not (scen == "decode"): continue
    line = [label] + [("n/a" if v in na and med[v] is None else fmt(med[v]) if med[v] is not None else "-") for v in order]
    for v in ratio_vs:
        h = med.get("haproxy")
        line.append(f"{med[v] / h:.2f}" if (med[v] is not None and h) else "n/a")
    for v in floor_vs:
        f0 = med.get("nio-floor")
        line.append(f"{med[v] / f0:.2f}" if (med[v] is not None and f0) else "n/a")
    line.append(f"{spread * 100:.0f}%" if spread else "")
    table.append(line)
    for v in order:
        xs = vals.get((label, v), [])
        h = med.get("haproxy")
        jl.append({"metric": label, "scenario": scen, "variant": v, "better": better,
                   "median": med[v], "min": min(xs) if xs else None, "max": max(xs) if xs else None, "n": len(xs),
                   "ratio_vs_haproxy": (med[v] / h) if (med[v] is not None and h) else None,
                   "na": v in na})

widths = [max(len(str(row[i])) for row in [header] + table) for i in range(len(header))]
def render(row): return "  ".join(str(c).ljust(widths[0]) if i == 0 else str(c).rjust(widths[i]) for i, c in enumerate(row))

busy = ""
if a.stat:
    b0 = [int(x) for x in a.stat[0].split()[1:]]; b1 = [int(x) for x in a.stat[1].split()[1:]]
    d = [y - x for x, y in zip(b0, b1)]
    tot = sum(d[:8]) or 1
    busy = f"; all CPUs busy {100 * (tot - d[3] - d[4]) / tot:.0f}% during the run (ours included), steal {100 * d[7] / tot:.0f}%"

print()
print(f"zabbix-tee benchmark {a.date}  git {a.git}  {a.machine}")
print(f"settings: {a.settings}; elapsed {a.elapsed}s; {a.noise}{busy}")
print("values are medians over rounds; X/haproxy is the ratio of medians (>1 = more: good for rates, bad for latency/CPU/RSS);")
print("spread = largest (max-min)/median over rounds among the variants")
print(render(header))
print(render(["-" * w for w in widths]))
for row in table: print(render(row))
noise_note = (f"noisy measurements (other jobs > {a.max_noise:.0f}% of a CPU we use): {len(dropped)} of {len(measured)} left out"
              + (f" ({', '.join(dropped)})" if dropped else "")
              + (f"; {len(noisy_kept)} kept for want of a quieter one" if noisy_kept else ""))
print(noise_note)
print()
for j in jl: print(json.dumps({"bench": "zabbix-tee", "date": a.date, "git": a.git, **j}))

if a.jsonl:
    with open(a.jsonl, "w") as f:
        for j in jl: f.write(json.dumps({"bench": "zabbix-tee", "date": a.date, "git": a.git, **j}) + "\n")

if a.markdown:
    import os
    new = not os.path.exists(a.markdown)
    with open(a.markdown, "a") as f:
        if new:
            f.write("# Benchmarks\n\nEach section is appended by `Benchmarks/run.sh` (see `Benchmarks/README.md`). "
                    "Ratios are against HAProxy measured in the same run; compare ratios, not absolute numbers, "
                    "across machines and days.\n")
        f.write(f"\n## {a.date} — git {a.git}\n\n")
        f.write(f"- command: `{a.command}`\n- machine: {a.machine}\n- settings: {a.settings}; elapsed {a.elapsed}s\n")
        f.write(f"- noise: {a.noise}{busy}\n- {noise_note}\n")
        if na: f.write(f"- n/a (not supported by this build): {', '.join(sorted(na))}\n")
        f.write("\n| " + " | ".join(header) + " |\n|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|\n")
        for row in table: f.write("| " + " | ".join(str(c) for c in row) + " |\n")

#!/usr/bin/env python3
"""Aggregate Benchmarks/run.sh raw measurements: medians over rounds, ratios against each reference
proxy measured in the same run (HAProxy, HAProxy tuned, nginx) and of the tee against nio-floor, text
tables, JSON lines, and (optionally) a dated section appended to BENCHMARKS.md."""
import argparse, json, re, statistics
from collections import defaultdict, namedtuple

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
KNOWN = ["direct", "haproxy", "haproxy-tuned", "nginx", "epoll-floor", "nio-floor", "tee", "tee-decode"]
order = [v for v in KNOWN if v in variants] + [v for v in variants if v not in KNOWN]
na = {r["variant"]: r["m"].get("reason", "") for r in rows if r["scenario"] == "na"}
# Ratios are taken against each reference in the same run; the tee variants also against nio-floor
# (what is ours, what SwiftNIO's).
REFERENCES = [v for v in ("haproxy", "haproxy-tuned", "nginx") if v in order]
TEES = [v for v in order if v == "tee" or v.startswith("tee-")]

# ---------------------------------------------------------------- metrics
# label, scenario, f(m) -> value or None, better ("high", "low", "info"), agg (median, or share of
# rounds for a yes/no), kind (number or share); ratios are shown for "high"/"low" numbers unless
# ratio=False (counts that should be 0, where a ratio says nothing).
Metric = namedtuple("Metric", "label scenario f better agg kind ratio", defaults=("median", "number", True))
def get(k): return lambda m: m.get(k)
def per(num, den, scale):
    def f(m):
        if m.get(num) is None or not m.get(den): return None
        return m[num] * scale / m[den]
    return f
def ms(k): return lambda m: m.get(k) / 1000 if m.get(k) is not None else None
def per_gb(m):
    if m.get("proxy_cpu_s") is None or not m.get("bytes"): return None
    return m["proxy_cpu_s"] / (m["bytes"] / 1e9)
def mib(k): return lambda m: m.get(k) / 1024 if m.get(k) else None
def errors(m): return (m.get("errors", 0) or 0) + (m.get("short_replies", 0) or 0) if m else None

def sink_metrics(prefix, scen):
    """What reached the Riemann sink around a churn measurement of a decoding tee (issue 15: what
    holding values until the server's reply costs)."""
    return [
        Metric(f"{prefix} values/s delivered to Riemann", scen, get("events_per_s"), "high"),
        Metric(f"{prefix} delivered / sent", scen, get("delivered_ratio"), "high"),
        Metric(f"{prefix} latency to Riemann p50 ms", scen, ms("riemann_p50_us"), "low"),
        Metric(f"{prefix} latency to Riemann p99 ms", scen, ms("riemann_p99_us"), "low"),
        Metric(f"{prefix} events dropped (est.)", scen, get("events_dropped_est"), "low", ratio=False),
    ]

def open_metrics(rate):
    """Open loop at a fixed offered rate: proxy CPU at equal load is the comparison."""
    s, l = f"open-{rate}", f"open {rate}/s"
    return [
        Metric(f"{l} kept up (rounds)", s, lambda m: 1.0 if m.get("kept_up") else 0.0, "info", "share", "share"),
        Metric(f"{l} achieved conn/s", s, get("conns_per_s"), "high"),
        Metric(f"{l} p50 ms", s, ms("p50_us"), "low"),
        Metric(f"{l} p99 ms", s, ms("p99_us"), "low"),
        Metric(f"{l} errors", s, errors, "low", ratio=False),
        Metric(f"{l} proxy CPU us/conn", s, per("proxy_cpu_s", "conns", 1e6), "low"),
        Metric(f"{l} proxy CPU % of a core", s, per("proxy_cpu_s", "seconds", 100), "low"),
        Metric(f"{l} proxy ctx switches/conn", s, per("proxy_ctxsw", "conns", 1), "low"),
        Metric(f"{l} loadgen CPU %", s, get("loadgen_cpu_pct"), "info"),
        Metric(f"{l} loadgen late starts %", s, per("late_starts", "due", 100), "info"),
        Metric(f"{l} noise: others on proxy CPU %", s, get("noise_proxy_cpu_pct"), "info"),
    ] + sink_metrics(l, f"decode-open-{rate}")

rates = sorted({int(m.group(1)) for r in rows for m in [re.fullmatch(r"open-(\d+)", r["scenario"])] if m})

METRICS = [
    Metric("noise: others busy on load CPU %", "noise", get("load_cpu_busy_pct"), "info"),
    Metric("noise: others busy on proxy CPU %", "noise", get("proxy_cpu_busy_pct"), "info"),
    Metric("noise during churn: others on load CPU %", "churn", get("noise_load_cpu_pct"), "info"),
    Metric("noise during churn: others on proxy CPU %", "churn", get("noise_proxy_cpu_pct"), "info"),
    Metric("churn conn/s", "churn", get("conns_per_s"), "high"),
    Metric("churn p50 ms", "churn", ms("p50_us"), "low"),
    Metric("churn p99 ms", "churn", ms("p99_us"), "low"),
    Metric("churn errors", "churn", errors, "low", ratio=False),
    Metric("churn proxy CPU us/conn", "churn", per("proxy_cpu_s", "conns", 1e6), "low"),
    Metric("churn proxy ctx switches/conn", "churn", per("proxy_ctxsw", "conns", 1), "low"),
    Metric("churn proxy CPU %", "churn", per("proxy_cpu_s", "seconds", 100), "info"),
    Metric("churn proxy peak RSS MiB", "churn", mib("proxy_hwm_kb"), "low"),
    Metric("churn loadgen CPU %", "churn", get("loadgen_cpu_pct"), "info"),
    Metric("churn loadgen run-queue wait %", "churn", get("loadgen_rq_wait_pct"), "info"),
    Metric("churn proxy run-queue wait %", "churn", get("proxy_rq_wait_pct"), "info"),
    # The same churn in short slices, the variants taking turns (run.sh --slices): medians over cycles.
    Metric("churn slices conn/s", "churn-slice", get("conns_per_s"), "high"),
    Metric("churn slices p50 ms", "churn-slice", ms("p50_us"), "low"),
    Metric("churn slices p99 ms", "churn-slice", ms("p99_us"), "low"),
    Metric("churn slices errors", "churn-slice", errors, "low", ratio=False),
    Metric("churn slices proxy CPU us/conn", "churn-slice", per("proxy_cpu_s", "conns", 1e6), "low"),
    Metric("churn slices noise: others on proxy CPU %", "churn-slice", get("noise_proxy_cpu_pct"), "info"),
] + sink_metrics("decode", "decode") + [
    Metric("churn-1 (one at a time) conn/s", "churn-1", get("conns_per_s"), "high"),
    Metric("churn-1 p50 us", "churn-1", get("p50_us"), "low"),
    Metric("churn-1 p99 us", "churn-1", get("p99_us"), "low"),
    Metric("churn-1 proxy CPU us/conn", "churn-1", per("proxy_cpu_s", "conns", 1e6), "low"),
] + [m for rate in rates for m in open_metrics(rate)] + [
    Metric("pingpong txn/s", "pingpong", get("tps"), "high"),
    Metric("pingpong p50 us", "pingpong", get("p50_us"), "low"),
    Metric("pingpong p99 us", "pingpong", get("p99_us"), "low"),
    Metric("pingpong proxy CPU us/txn", "pingpong", per("proxy_cpu_s", "transactions", 1e6), "low"),
    Metric("pingpong proxy ctx switches/txn", "pingpong", per("proxy_ctxsw", "transactions", 1), "low"),
    Metric("pingpong proxy CPU %", "pingpong", per("proxy_cpu_s", "seconds", 100), "info"),
    Metric("pingpong loadgen run-queue wait %", "pingpong", get("loadgen_rq_wait_pct"), "info"),
    Metric("pingpong proxy run-queue wait %", "pingpong", get("proxy_rq_wait_pct"), "info"),
    Metric("bulk up x1 Gbit/s", "bulk-up-1", get("gbit_s"), "high"),
    Metric("bulk down x1 Gbit/s", "bulk-down-1", get("gbit_s"), "high"),
    Metric("bulk up x8 Gbit/s", "bulk-up-8", get("gbit_s"), "high"),
    Metric("bulk down x8 Gbit/s", "bulk-down-8", get("gbit_s"), "high"),
    Metric("bulk up x8 proxy CPU %", "bulk-up-8", per("proxy_cpu_s", "seconds", 100), "info"),
    Metric("bulk up x1 proxy CPU s/GB", "bulk-up-1", per_gb, "low"),
    Metric("bulk down x1 proxy CPU s/GB", "bulk-down-1", per_gb, "low"),
    Metric("bulk up x8 proxy CPU s/GB", "bulk-up-8", per_gb, "low"),
    Metric("bulk down x8 proxy CPU s/GB", "bulk-down-8", per_gb, "low"),
    Metric("bulk x8 proxy peak RSS MiB", "bulk-up-8", mib("proxy_hwm_kb"), "low"),
    Metric("idle RSS MiB (2000 conns)", "idle", mib("rss_idle_kb"), "low"),
    Metric("idle KiB per conn", "idle", get("kb_per_idle_conn"), "low"),
    Metric("idle proxy fds per conn (2 = held)", "idle", get("proxy_fds_per_idle_conn"), "info"),
    Metric("process peak RSS MiB", "process", mib("peak_rss_kb"), "low"),
    Metric("process threads", "process", get("threads"), "info"),
]

# ---------------------------------------------------------------- noisy measurements
def noisy(r):
    m = r["m"]
    n = [m.get("noise_load_cpu_pct") or 0]
    if r["variant"] != "direct": n.append(m.get("noise_proxy_cpu_pct") or 0)
    return max(n) > a.max_noise
clean = defaultdict(int)
for r in rows:
    if not noisy(r): clean[(r["variant"], r["scenario"])] += 1
dropped, kept = [], []
for r in rows:
    if noisy(r) and clean[(r["variant"], r["scenario"])] > 0:
        dropped.append(f'{r["variant"]}/{r["scenario"]}#{r["round"]}')
    else:
        kept.append(r)
measured = [r for r in rows if "noise_proxy_cpu_pct" in r["m"]]
noisy_kept = [r for r in kept if "noise_proxy_cpu_pct" in r["m"] and noisy(r)]

vals = defaultdict(list)
by_round = defaultdict(dict)    # (label, variant) -> {round: value}, for the ratios of paired scenarios
for r in kept:
    for mt in METRICS:
        if r["scenario"] != mt.scenario: continue
        try: v = mt.f(r["m"])
        except Exception: v = None
        if isinstance(v, (int, float)):
            vals[(mt.label, r["variant"])].append(float(v))
            by_round[(mt.label, r["variant"])][r["round"]] = float(v)
# Scenarios whose rounds are cycles that run every variant seconds apart (run.sh --slices): their
# ratios pair the variants cycle by cycle and take the median of those ratios, so the drift the
# cycle shares cancels out.
PAIRED = {"churn-slice"}

# ---------------------------------------------------------------- open loop: who could not keep up
# A variant that fell behind the offered rate ran at its own limit, so its CPU figures are not "at
# equal load"; its cells in the ratio tables get a "!" and a note says so.
behind = defaultdict(list)      # (rate, variant) -> [achieved conn/s of the rounds it fell behind]
open_rounds = defaultdict(int)
late_gen = defaultdict(list)    # (rate, variant) -> load generator's late-start % where > 1
for r in kept:
    mo = re.fullmatch(r"open-(\d+)", r["scenario"])
    if not mo or "conns_per_s" not in r["m"]: continue
    key = (int(mo.group(1)), r["variant"])
    open_rounds[key] += 1
    if not r["m"].get("kept_up"): behind[key].append(r["m"].get("conns_per_s", 0))
    due = r["m"].get("due") or 0
    if due and 100.0 * (r["m"].get("late_starts") or 0) / due > 1: late_gen[key].append(100.0 * r["m"]["late_starts"] / due)
def fell_behind(scen, v):
    mo = re.fullmatch(r"(?:decode-)?open-(\d+)", scen)
    return bool(mo) and bool(behind.get((int(mo.group(1)), v)))

# ---------------------------------------------------------------- tables
def fmt(x):
    if x is None: return "n/a"
    ax = abs(x)
    if x == int(x) and ax < 1000: return str(int(x))
    if ax >= 1000: return f"{x:,.0f}"
    if ax >= 100: return f"{x:.0f}"
    if ax >= 10: return f"{x:.1f}"
    return f"{x:.2f}"

def fmt_share(xs):
    if not xs: return "-"
    k = sum(1 for x in xs if x >= 1.0)
    return "yes" if k == len(xs) else "NO" if k == 0 else f"{k}/{len(xs)}"

med, spread = {}, {}
for mt in METRICS:
    sp = 0.0
    for v in order:
        xs = vals.get((mt.label, v))
        med[(mt.label, v)] = (sum(xs) / len(xs) if mt.agg == "share" else statistics.median(xs)) if xs else None
        m0 = med[(mt.label, v)]
        if xs and len(xs) > 1 and m0 and mt.scenario != "noise" and not mt.label.startswith("noise") and mt.kind == "number":
            sp = max(sp, (max(xs) - min(xs)) / abs(m0))
    spread[mt.label] = sp

def shown(mt):  # a row is shown when some variant has a value (Riemann rows also when tee-decode was n/a)
    return any(med[(mt.label, v)] is not None for v in order) or (mt.scenario.startswith("decode") and "tee-decode" in order)

def cell(mt, v):
    m0 = med[(mt.label, v)]
    if v in na and m0 is None: return "n/a"
    if m0 is None: return "-"
    return fmt_share(vals[(mt.label, v)]) if mt.kind == "share" else fmt(m0)

value_header = ["metric"] + order + ["spread"]
value_rows = []
for mt in METRICS:
    if not shown(mt): continue
    value_rows.append([mt.label] + [cell(mt, v) for v in order] + [f"{spread[mt.label] * 100:.0f}%" if spread[mt.label] else ""])

def ratio(mt, v, ref):
    if mt.scenario in PAIRED:
        xs, hs = by_round.get((mt.label, v), {}), by_round.get((mt.label, ref), {})
        pairs = [xs[c] / hs[c] for c in xs if c in hs and hs[c]]
        return statistics.median(pairs) if pairs else None
    x, h = med[(mt.label, v)], med[(mt.label, ref)]
    return x / h if (x is not None and h) else None

ratio_tables = []   # (title, header, rows)
for ref, cols in [(ref, [v for v in order if v not in ("direct", ref)]) for ref in REFERENCES] + \
                 ([("nio-floor", TEES)] if "nio-floor" in order and TEES else []):
    if not cols: continue
    trs = []
    for mt in METRICS:
        if not shown(mt) or mt.kind != "number" or mt.better == "info" or not mt.ratio: continue
        line = [mt.label]
        for v in cols:
            x = ratio(mt, v, ref)
            mark = "!" if (fell_behind(mt.scenario, v) or fell_behind(mt.scenario, ref)) and x is not None else ""
            line.append(f"{x:.2f}{mark}" if x is not None else "n/a")
        if any(c != "n/a" for c in line[1:]): trs.append(line)   # not rows no compared variant has (Riemann ones)
    ratio_tables.append((f"ratios vs {ref} (same run; >1 = more: good for rates, bad for latency/CPU/RSS)",
                         ["metric"] + [f"{v}/{ref}" for v in cols], trs))

jl = []
for mt in METRICS:
    if not shown(mt): continue
    for v in order:
        xs = vals.get((mt.label, v), [])
        ratios = {ref: ratio(mt, v, ref) for ref in REFERENCES + (["nio-floor"] if "nio-floor" in order else []) if ref != v}
        jl.append({"metric": mt.label, "scenario": mt.scenario, "variant": v, "better": mt.better,
                   "median": med[(mt.label, v)], "min": min(xs) if xs else None, "max": max(xs) if xs else None,
                   "n": len(xs), "ratio_vs_haproxy": ratios.get("haproxy"), "ratios": ratios,
                   "fell_behind_offered_rate": fell_behind(mt.scenario, v), "na": v in na})

# ---------------------------------------------------------------- notes
busy = ""
if a.stat:
    b0 = [int(x) for x in a.stat[0].split()[1:]]; b1 = [int(x) for x in a.stat[1].split()[1:]]
    d = [y - x for x, y in zip(b0, b1)]
    tot = sum(d[:8]) or 1
    busy = f"; all CPUs busy {100 * (tot - d[3] - d[4]) / tot:.0f}% during the run (ours included), steal {100 * d[7] / tot:.0f}%"
notes = [(f"noisy measurements (other jobs > {a.max_noise:.0f}% of a CPU we use): {len(dropped)} of {len(measured)} left out"
          + (f" ({', '.join(dropped)})" if dropped else "")
          + (f"; {len(noisy_kept)} kept for want of a quieter one" if noisy_kept else ""))]
if any(r["scenario"] in PAIRED for r in kept):
    notes.append("churn slices: the ratios are medians of per-cycle ratios (each cycle runs every variant once, "
                 "seconds apart), not ratios of the medians shown in the first table")
for (rate, v), achieved in sorted(behind.items()):
    notes.append(f"open {rate}/s: {v} did not keep up with the offered rate in {len(achieved)} of {open_rounds[(rate, v)]} "
                 f"round(s) (achieved {', '.join(fmt(x) for x in achieved)} conn/s): its figures there are not at the "
                 f"offered load (ratio cells marked !)")
    if v == "direct":
        notes.append(f"open {rate}/s: even direct (no proxy) fell behind: at this rate the load generator and the targets "
                     f"(or other jobs on the machine) are the limit; use a lower --rate")
for (rate, v), late in sorted(late_gen.items()):
    notes.append(f"open {rate}/s, {v}: the load generator started {max(late):.1f}% of connections more than 1 ms late "
                 f"(short of CPU itself): the rate was not quite offered")
for r in kept:
    fds = r["m"].get("proxy_fds_per_idle_conn") if r["scenario"] == "idle" else None
    if fds is not None and fds < 1.5:
        notes.append(f"idle, {r['variant']} (round {r['round']}): {fds} file descriptors per idle connection: it did not hold "
                     f"them (TCP_DEFER_ACCEPT keeps silent connections in the kernel), so its idle RSS is not comparable")
for v, why in na.items():
    notes.append(f"n/a: {v}" + (f" ({why})" if why else " (not supported by this build)"))

# ---------------------------------------------------------------- output
def text_table(header, body):
    widths = [max(len(str(row[i])) for row in [header] + body) for i in range(len(header))]
    line = lambda row: "  ".join(str(c).ljust(widths[0]) if i == 0 else str(c).rjust(widths[i]) for i, c in enumerate(row))
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(row) for row in body])
def md_table(header, body):
    return "\n".join(["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
                     + ["| " + " | ".join(str(c) for c in row) + " |" for row in body])

print()
print(f"zabbix-tee benchmark {a.date}  git {a.git}  {a.machine}")
print(f"settings: {a.settings}; elapsed {a.elapsed}s; {a.noise}{busy}")
print("values are medians over rounds (\"kept up\": rounds in which the variant achieved the offered rate);")
print("spread = largest (max-min)/median over rounds among the variants")
print(text_table(value_header, value_rows))
for title, header, body in ratio_tables:
    print(); print(title); print(text_table(header, body))
print()
for n in notes: print(n)
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
                    "Ratios are against HAProxy, HAProxy tuned and nginx measured in the same run; compare ratios, "
                    "not absolute numbers, across machines and days.\n")
        f.write(f"\n## {a.date} — git {a.git}\n\n")
        f.write(f"- command: `{a.command}`\n- machine: {a.machine}\n- settings: {a.settings}; elapsed {a.elapsed}s\n")
        f.write(f"- noise: {a.noise}{busy}\n")
        for n in notes: f.write(f"- {n}\n")
        f.write("\n" + md_table(value_header, value_rows) + "\n")
        for title, header, body in ratio_tables:
            f.write(f"\n{title[0].upper() + title[1:]}:\n\n" + md_table(header, body) + "\n")

#!/usr/bin/env bash
# One agent-pattern load run against a zabbix-tee binary, sampled over time: the engine of the
# load test (Tests/EndToEndTests/AgentLoadTests.swift, 60 s) and of scripts/soak.sh (30 min).
#
#   scripts/agent-load.sh --binary PATH --seconds N [--inflight 2000] [--warmup 10] [--interval 10]
#                         [--out DIR] [--nice 0]
#
# Set-up, all on 127.0.0.1: `zbxsrv check` stands in for the Zabbix server (reads one ZBXD frame,
# answers ~120 B carrying the length and CRC-32 of the request it received, closes); `zbxsrv
# riemann` is the Riemann sink (acks every message, counts events); the tee relays with decoding on
# and sends one Riemann event per value. `zbxload check` keeps INFLIGHT connections in flight, each
# connect -> send one ~330 B agentd "agent data" frame -> read the reply -> close, and compares every
# reply byte for byte with the one built from its own request (so a changed byte in either
# direction is a mismatch). Both C programs are in Benchmarks/src and are compiled here with gcc.
#
# First a warm-up run (--warmup seconds, same shape) grows the allocator caches; then the baseline
# (fds, RSS) is taken with no connection open; then the measured run. Every --interval seconds one
# CSV row: seconds, open fds, VmRSS, and from /metrics active connections, Riemann queue depth,
# decode queue, connection errors, idle timeouts, failed connections, events acked/dropped; plus
# the load generator's own progress (connections done, errors, mismatches). At the end the tee must
# be back to the baseline fds with no connection open; summary.json says it all.
#
# Output in --out (default a new temporary directory): samples.csv, summary.json, load.json,
# progress.jsonl, tee.log, config.yaml. Exit status 0 only if there were no relay or load errors,
# no mismatch, every request became one item value, no event was dropped, and the fds came back
# to the baseline.
set -euo pipefail
cd "$(dirname "$0")/.."

BINARY="" SECONDS_RUN="" INFLIGHT=2000 WARMUP=10 INTERVAL=10 OUT="" NICE=0
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) BINARY=$2; shift 2 ;;
        --seconds) SECONDS_RUN=$2; shift 2 ;;
        --inflight) INFLIGHT=$2; shift 2 ;;
        --warmup) WARMUP=$2; shift 2 ;;
        --interval) INTERVAL=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --nice) NICE=$2; shift 2 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -x "$BINARY" ] && [ -n "$SECONDS_RUN" ] || { echo "usage: $0 --binary PATH --seconds N [options]" >&2; exit 2; }
command -v gcc >/dev/null || { echo "gcc not found (apt-get install gcc libc6-dev)" >&2; exit 2; }
OUT=${OUT:-$(mktemp -d /tmp/zabbix-tee-load.XXXXXX)}
mkdir -p "$OUT"

gcc -O2 -Wall -o "$OUT/zbxsrv" Benchmarks/src/zbxsrv.c
gcc -O2 -Wall -o "$OUT/zbxload" Benchmarks/src/zbxload.c

# Ports from the kernel, used at once (nothing here is restarted).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P_TEE=$(free_port) P_TARGET=$(free_port) P_RIEMANN=$(free_port) P_ADMIN=$(free_port)

PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

wait_listen() {  # port pid
    for _ in $(seq 1 200); do
        kill -0 "$2" 2>/dev/null || return 1
        ss -ltnH "sport = :$1" | grep -q . && return 0
        sleep 0.1
    done
    return 1
}

ulimit -n "$(ulimit -Hn)"
"$OUT/zbxsrv" check "$P_TARGET" >"$OUT/target.json" 2>"$OUT/target.err" & PID_TARGET=$!; PIDS+=("$PID_TARGET")
"$OUT/zbxsrv" riemann "$P_RIEMANN" >"$OUT/riemann.json" 2>"$OUT/riemann.err" & PID_RIEMANN=$!; PIDS+=("$PID_RIEMANN")
wait_listen "$P_TARGET" "$PID_TARGET" && wait_listen "$P_RIEMANN" "$PID_RIEMANN" || { echo "targets did not start" >&2; exit 1; }

cat >"$OUT/config.yaml" <<EOF
log_level: warning
listeners:
  - name: agents
    listen: ["127.0.0.1:$P_TEE"]
    targets: ["127.0.0.1:$P_TARGET"]
    backlog: 4096
    idle_timeout: 30s
# Two decode workers: the relay's epoll core moves ~2 500 agent connections a second even in the
# debug build on two busy cores, more frames than one debug-build decode worker takes while it
# shares the CPUs with the relay loops (the release build decodes well over 100 000 frames a
# second per worker). Every frame must be decoded here, none dropped: the queue may hold a burst of
# 100 000 frames (still within decode.queue_bytes) while the debug-build workers catch up.
decode:
  workers: 2
  queue_frames: 100000
riemann:
  servers: ["127.0.0.1:$P_RIEMANN"]
admin:
  listen: "127.0.0.1:$P_ADMIN"
EOF
nice -n "$NICE" "$BINARY" run --config "$OUT/config.yaml" >"$OUT/tee.log" 2>&1 & TEE=$!; PIDS+=("$TEE")
wait_listen "$P_TEE" "$TEE" && wait_listen "$P_ADMIN" "$TEE" || { echo "zabbix-tee did not start:" >&2; cat "$OUT/tee.log" >&2; exit 1; }

fds() { ls "/proc/$TEE/fd" | wc -l; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$TEE/status"; }
scrape() { curl -sf --max-time 5 "http://127.0.0.1:$P_ADMIN/metrics" || true; }
# Sum of every sample of metric $1 (all label sets), optionally only lines containing $2.
metric() { awk -v name="$1" -v filter="${2:-}" '$1 == name || index($1, name "{") == 1 { if (filter == "" || index($1, filter)) sum += $NF } END { printf "%d", sum }'; }
active_connections() { scrape | metric zabbix_tee_connections_active; }

wait_idle() {  # every relayed connection closed and the fds back to $1 (if given), within 30 s
    for _ in $(seq 1 300); do
        if [ "$(active_connections)" = 0 ] && { [ -z "${1:-}" ] || [ "$(fds)" -le "$1" ]; }; then return 0; fi
        sleep 0.1
    done
    return 1
}

START_FDS=$(fds)
START_RSS=$(rss_kib)
if [ "$WARMUP" != 0 ]; then
    ZBXLOAD_PROGRESS=3600 nice -n "$NICE" "$OUT/zbxload" check 127.0.0.1 "$P_TEE" "$WARMUP" "$INFLIGHT" >"$OUT/warmup.json" 2>/dev/null || true
fi
wait_idle "$START_FDS" || true
sleep 1
BASE_FDS=$(fds)
BASE_RSS=$(rss_kib)

echo "seconds,fds,rss_kib,connections_active,riemann_queue_events,riemann_in_flight_events,decode_queue_frames,connection_errors,idle_timeouts,connections_failed,events_acked,events_dropped,load_conns,load_errors,load_mismatches" >"$OUT/samples.csv"
sample() {  # seconds
    local m progress
    m=$(scrape)
    progress=$(tail -n 1 "$OUT/progress.jsonl" 2>/dev/null || true)
    printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$1" "$(fds)" "$(rss_kib)" \
        "$(metric zabbix_tee_connections_active <<<"$m")" \
        "$(metric zabbix_tee_riemann_queue_events <<<"$m")" \
        "$(metric zabbix_tee_riemann_in_flight_events <<<"$m")" \
        "$(metric zabbix_tee_decode_queue_frames <<<"$m")" \
        "$(metric zabbix_tee_connection_errors_total <<<"$m")" \
        "$(metric zabbix_tee_connections_idle_timeout_total <<<"$m")" \
        "$(metric zabbix_tee_connections_failed_total <<<"$m")" \
        "$(metric zabbix_tee_riemann_events_acked_total <<<"$m")" \
        "$(metric zabbix_tee_riemann_events_dropped_total <<<"$m")" \
        "$(sed -n 's/.*"conns":\([0-9]*\).*/\1/p' <<<"$progress")" \
        "$(sed -n 's/.*"errors":\([0-9]*\).*/\1/p' <<<"$progress")" \
        "$(sed -n 's/.*"mismatches":\([0-9]*\).*/\1/p' <<<"$progress")" >>"$OUT/samples.csv"
}

T0=$SECONDS
ZBXLOAD_PROGRESS=$INTERVAL nice -n "$NICE" "$OUT/zbxload" check 127.0.0.1 "$P_TEE" "$SECONDS_RUN" "$INFLIGHT" \
    >"$OUT/load.json" 2>"$OUT/progress.jsonl" & LOAD=$!; PIDS+=("$LOAD")
NEXT=$INTERVAL
while kill -0 "$LOAD" 2>/dev/null; do
    if [ $((SECONDS - T0)) -ge "$NEXT" ]; then
        sample "$((SECONDS - T0))"
        NEXT=$((NEXT + INTERVAL))
    fi
    sleep 0.5
done
LOAD_STATUS=0; wait "$LOAD" || LOAD_STATUS=$?
wait_idle "$BASE_FDS" || true
sleep 1
END_FDS=$(fds)
END_RSS=$(rss_kib)
FINAL_METRICS=$(scrape)
# The Riemann side: every value acknowledged (the queue drains within a few seconds).
for _ in $(seq 1 100); do
    [ "$(scrape | metric zabbix_tee_riemann_queue_events)" = 0 ] && [ "$(scrape | metric zabbix_tee_riemann_in_flight_events)" = 0 ] && break
    sleep 0.1
done
FINAL_METRICS=$(scrape)
printf '%s\n' "$FINAL_METRICS" >"$OUT/metrics.txt"
kill -TERM "$TEE"; TEE_STATUS=0; wait "$TEE" || TEE_STATUS=$?
kill -TERM "$PID_TARGET" "$PID_RIEMANN"; wait "$PID_TARGET" "$PID_RIEMANN" 2>/dev/null || true
PIDS=()

python3 - "$OUT" <<EOF
import csv, json, sys
out = sys.argv[1]
load = json.load(open(f"{out}/load.json"))
target = json.loads(open(f"{out}/target.json").read().strip().splitlines()[-1])
riemann = json.loads(open(f"{out}/riemann.json").read().strip().splitlines()[-1])
rows = list(csv.DictReader(open(f"{out}/samples.csv")))
metrics = {}
for line in open(f"{out}/metrics.txt"):
    if line.startswith("#") or " " not in line.strip(): continue
    name, value = line.rsplit(" ", 1)
    metrics[name] = float(value)
def total(prefix): return int(sum(v for k, v in metrics.items() if k == prefix or k.startswith(prefix + "{")))
# After the warm-up run, and past the first fifth of the measured run for the slope.
settled = [r for r in rows if float(r["seconds"]) >= 0.2 * $SECONDS_RUN] or rows
def slope(key, rows_=None):
    rows_ = settled if rows_ is None else rows_
    xs = [float(r["seconds"]) / 60 for r in rows_]; ys = [float(r[key]) for r in rows_]
    if len(xs) < 2: return 0.0
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0
rss = [int(r["rss_kib"]) for r in rows]; fds = [int(r["fds"]) for r in rows]
summary = {
    "seconds": load["seconds"], "inflight": load["inflight"], "peak_inflight": load["peak_inflight"],
    "requests": load["conns"], "requests_per_s": load["conns_per_s"],
    "load_errors": load["errors"], "short_replies": load["short_replies"], "mismatches": load["mismatches"],
    "abandoned": load["abandoned"], "bytes_to_server": load["bytes_out"], "bytes_to_client": load["bytes_in"],
    "p50_ms": load["p50_us"] / 1000, "p99_ms": load["p99_us"] / 1000, "loadgen_cpu_pct": load["loadgen_cpu_pct"],
    "target_frames": target["frames"], "target_bad": target["bad"], "riemann_events": riemann["events"],
    "relay_connection_errors": total("zabbix_tee_connection_errors_total"),
    "relay_idle_timeouts": total("zabbix_tee_connections_idle_timeout_total"),
    "relay_connections_failed": total("zabbix_tee_connections_failed_total"),
    "relay_connections_refused": total("zabbix_tee_connections_refused_total"),
    "decode_failures": total("zabbix_tee_decode_failures_total"),
    "frames_decoded": total("zabbix_tee_frames_decoded_total"),
    "item_values": total("zabbix_tee_item_values_total"),
    "item_values_duplicate": total("zabbix_tee_item_values_duplicate_total"),
    "riemann_events_acked": total("zabbix_tee_riemann_events_acked_total"),
    "riemann_events_dropped": total("zabbix_tee_riemann_events_dropped_total"),
    "start_fds": $START_FDS, "baseline_fds": $BASE_FDS, "end_fds": $END_FDS,
    "start_rss_kib": $START_RSS, "baseline_rss_kib": $BASE_RSS, "end_rss_kib": $END_RSS,
    "rss_min_kib": min(rss, default=0), "rss_max_kib": max(rss, default=0),
    "fds_min": min(fds, default=0), "fds_max": max(fds, default=0),
    "rss_slope_kib_per_min": round(slope("rss_kib"), 1), "fds_slope_per_min": round(slope("fds"), 2),
    "rss_slope_second_half_kib_per_min": round(slope("rss_kib", [r for r in rows if float(r["seconds"]) >= 0.5 * $SECONDS_RUN]), 1),
    "riemann_queue_max": max((int(r["riemann_queue_events"]) for r in rows), default=0),
    "samples": len(rows), "tee_exit": $TEE_STATUS, "load_exit": $LOAD_STATUS, "out": out,
}
json.dump(summary, open(f"{out}/summary.json", "w"), indent=1)
print(json.dumps(summary))
ok = (summary["load_errors"] == 0 and summary["short_replies"] == 0 and summary["mismatches"] == 0
      and summary["abandoned"] == 0 and summary["relay_connection_errors"] == 0 and summary["target_bad"] == 0
      and summary["end_fds"] == summary["baseline_fds"] and summary["tee_exit"] == 0
      and summary["item_values"] == summary["target_frames"] and summary["riemann_events_dropped"] == 0)
sys.exit(0 if ok else 1)
EOF

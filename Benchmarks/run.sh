#!/usr/bin/env bash
# zabbix-tee benchmark harness: direct vs HAProxy (plain and tuned) vs nginx vs the floors vs
# zabbix-tee (relay only, decode + Riemann, and any configuration variant from a template), all in
# one run, interleaved over rounds; medians and ratios against each reference. See Benchmarks/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
COMMAND_LINE="$(env | grep -E '^(BENCH_|TEE_BIN=|FLOOR_DIR=|TEE_DECODE_TEMPLATE=|SWIFT_SCRATCH=)' | sort | tr '\n' ' ' || true)Benchmarks/run.sh $*"

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

QUICK=0; ROUNDS=""; SLICES=""; INSTALL=1; BUILD=1; WRITE_MD=1; PROFILE=0
DECODE=${BENCH_DECODE:-1}
NICE=${BENCH_NICE:-0}   # e.g. --nice -10: our processes win more often against other jobs on a shared machine
VARIANTS_ARG=${BENCH_VARIANTS:-}
RATES_ARG=${BENCH_RATES:-5000}
TEE_VARIANT_ARGS=(); TEE_VARIANT_DIRS=()
usage() { sed -n '/^## Usage/,/^## /p' "$HERE/README.md" | sed '$d'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --rounds) ROUNDS=$2; shift ;;
        --slices) SLICES=$2; shift ;;
        --variants) VARIANTS_ARG=$2; shift ;;
        --with-nginx) ;;   # nginx runs by default now; kept so that older command lines still work
        --no-decode) DECODE=0 ;;
        --rate) RATES_ARG=$2; shift ;;
        --tee-variant) TEE_VARIANT_ARGS+=("$2"); shift ;;
        --tee-variants-dir) TEE_VARIANT_DIRS+=("$2"); shift ;;
        --no-install) INSTALL=0 ;;
        --no-build) BUILD=0 ;;
        --no-write) WRITE_MD=0 ;;
        --profile) PROFILE=1 ;;
        --nice) NICE=$2; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

if [ "$QUICK" = 1 ]; then
    : "${ROUNDS:=1}"; : "${SLICES:=2}"; SLICE_S=${BENCH_SLICE_S:-1}; CHURN1_S=${BENCH_CHURN1_S:-1}; CHURN_S=${BENCH_CHURN_S:-2}; OPEN_S=${BENCH_OPEN_S:-2}; PP_S=${BENCH_PP_S:-2}; BULK_S=${BENCH_BULK_S:-1}; IDLE_N=${BENCH_IDLE_N:-2000}
else
    : "${ROUNDS:=3}"; : "${SLICES:=12}"; SLICE_S=${BENCH_SLICE_S:-2}; CHURN1_S=${BENCH_CHURN1_S:-3}; CHURN_S=${BENCH_CHURN_S:-8}; OPEN_S=${BENCH_OPEN_S:-8}; PP_S=${BENCH_PP_S:-6}; BULK_S=${BENCH_BULK_S:-4}; IDLE_N=${BENCH_IDLE_N:-2000}
fi
INFLIGHT=${BENCH_INFLIGHT:-64}
WARM_S=${BENCH_WARM_S:-0.5}                # churn slices: unmeasured churn on a freshly started proxy first
[[ $SLICES =~ ^[0-9]+$ ]] || die "--slices: a whole number of cycles, got '$SLICES'"
OPEN_MAX=${BENCH_OPEN_MAX:-1000}          # open loop: connections open at once, at most
MAX_CONNS=${BENCH_MAX_CONNS:-2000000}     # hard bound on churn connections per measurement
PP_SIZE=${BENCH_PP_SIZE:-200}
LOAD_CPU=${BENCH_LOAD_CPU:-0}             # load generators and targets
PROXY_CPU=${BENCH_PROXY_CPU:-1}           # proxy under test
# Open-loop offered rates (connections/s), or none.
case "$RATES_ARG" in off|none|0|"") OPEN_RATES="" ;; *) OPEN_RATES=${RATES_ARG//,/ } ;; esac
for rate in $OPEN_RATES; do [[ $rate =~ ^[1-9][0-9]*$ ]] || die "--rate: whole connections per second, got '$rate'"; done

# ---------------------------------------------------------------- scratch directory, processes, cleanup
WORK=$(mktemp -d /tmp/zabbix-tee-bench.XXXXXX)
PIDS=()
cleanup() {
    local rc=$?
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    sleep 0.3
    for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    if [ "${BENCH_KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=lib.sh
. "$HERE/lib.sh"
for a in "${TEE_VARIANT_ARGS[@]}"; do add_tee_variant "$a"; done
for d in "${TEE_VARIANT_DIRS[@]}"; do add_tee_variants_dir "$d"; done

# The variants: the built-in ones (or --variants), then every added tee variant not listed yet.
if [ -n "$VARIANTS_ARG" ]; then VARIANTS=${VARIANTS_ARG//,/ }
else
    VARIANTS=$BUILTIN_VARIANTS
    [ "$DECODE" = 1 ] || VARIANTS=${VARIANTS/ tee-decode/}
fi
for v in $TEE_EXTRA_VARIANTS; do case " $VARIANTS " in *" $v "*) ;; *) VARIANTS="$VARIANTS $v" ;; esac; done
has_variant() { case " $VARIANTS " in *" $1 "*) return 0 ;; esac; return 1; }
uses_tee() { local v; for v in $VARIANTS; do is_tee_variant "$v" && return 0; done; [ "$PROFILE" = 1 ]; }

stop_pid() {  # stop one process we started and forget it
    local pid=$1 i
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local keep=() p
    for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

# ---------------------------------------------------------------- tools
if [ "$INSTALL" = 1 ]; then
    pkgs="iperf3 gcc libc6-dev python3 iproute2 util-linux procps $(variant_packages $VARIANTS)"
    [ "$PROFILE" = 1 ] && pkgs="$pkgs haproxy linux-perf strace"
    install_packages $pkgs
fi
for t in iperf3 gcc taskset ss python3; do command -v $t >/dev/null || die "$t not found (run without --no-install)"; done

log "compiling load generator and targets"
gcc -O2 -Wall -o "$WORK/zbxsrv" "$HERE/src/zbxsrv.c"
gcc -O2 -Wall -o "$WORK/zbxload" "$HERE/src/zbxload.c"

if ! uses_tee; then :
elif [ -n "${TEE_BIN:-}" ]; then
    [ -x "$TEE_BIN" ] || die "TEE_BIN=$TEE_BIN is not executable"
else
    scratch=(); [ -n "${SWIFT_SCRATCH:-}" ] && scratch=(--scratch-path "$SWIFT_SCRATCH")
    if [ "$BUILD" = 1 ]; then
        log "building zabbix-tee (release)"
        (cd "$ROOT" && swift build -c release "${scratch[@]}" --product zabbix-tee) >"$WORK/build.log" 2>&1 \
            || { tail -30 "$WORK/build.log" >&2; die "swift build failed"; }
    fi
    TEE_BIN="$(cd "$ROOT" && swift build -c release "${scratch[@]}" --show-bin-path)/zabbix-tee"
    [ -x "$TEE_BIN" ] || die "no zabbix-tee binary at $TEE_BIN"
fi
uses_tee && log "tee binary: $TEE_BIN"

# The floors (Benchmarks/Micro): nio-floor, the smallest relay on SwiftNIO with the tee's relay rules;
# epoll-floor, the same relay in Swift on raw epoll, without SwiftNIO.
FLOORS=""
for f in nio-floor epoll-floor; do has_variant "$f" && FLOORS="$FLOORS $f"; done
FLOOR_DIR=${FLOOR_DIR:-}
if [ -n "$FLOORS" ] && [ -z "$FLOOR_DIR" ]; then
    mscratch=()
    case "${SWIFT_SCRATCH:-}" in "") ;; /*) mscratch=(--scratch-path "$SWIFT_SCRATCH-micro") ;;
        *) mscratch=(--scratch-path "$ROOT/$SWIFT_SCRATCH-micro") ;; esac
    for f in $FLOORS; do
        if [ "$BUILD" = 1 ]; then
            log "building $f (release)"
            (cd "$HERE/Micro" && swift build -c release "${mscratch[@]}" --product "$f") >"$WORK/build-$f.log" 2>&1 \
                || { tail -30 "$WORK/build-$f.log" >&2; die "swift build of $f failed"; }
        fi
    done
    FLOOR_DIR="$(cd "$HERE/Micro" && swift build -c release "${mscratch[@]}" --show-bin-path)"
fi

for p in $ALL_PORTS; do port_free "$p" || die "port $p is in use (set BENCH_PORT_BASE)"; done

# Configurations: rendered and checked once; a variant this build cannot run is reported as n/a.
PREPARE=$VARIANTS; [ "$PROFILE" = 1 ] && PREPARE="$PREPARE haproxy tee"
for v in $PREPARE; do prepare_variant "$v" || log "$v: n/a (${NA_REASON[$v]})"; done

# ---------------------------------------------------------------- targets (load CPU)
start_bg() {  # start_bg NAME CPU cmd... ; sets LAST_PID
    nice -n "$NICE" taskset -c "$2" "${@:3}" >"$WORK/$1.out" 2>"$WORK/$1.err" &
    LAST_PID=$!; PIDS+=("$LAST_PID")
}
TARGET_PIDS=()
start_bg target-zabbix "$LOAD_CPU" "$WORK/zbxsrv" zabbix "$T_CHURN"; TARGET_PIDS+=("$LAST_PID")
wait_listen "$T_CHURN" "$LAST_PID" || die "zbxsrv zabbix did not start"
start_bg target-echo "$LOAD_CPU" "$WORK/zbxsrv" echo "$T_ECHO"; TARGET_PIDS+=("$LAST_PID")
wait_listen "$T_ECHO" "$LAST_PID" || die "zbxsrv echo did not start"
start_bg riemann-sink "$LOAD_CPU" "$WORK/zbxsrv" riemann "$T_RIEMANN"; RIEMANN_PID=$LAST_PID; TARGET_PIDS+=("$LAST_PID")
wait_listen "$T_RIEMANN" "$RIEMANN_PID" || die "riemann sink did not start"
start_bg iperf3-server "$LOAD_CPU" iperf3 -s -p "$T_BULK" -B 127.0.0.1; TARGET_PIDS+=("$LAST_PID")
wait_listen "$T_BULK" "$LAST_PID" || die "iperf3 -s did not start"
targets_ticks() { local p s=0 t; for p in "${TARGET_PIDS[@]}"; do
    t=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12+$13}'); s=$((s + ${t:-0})); done; echo "$s"; }

# ---------------------------------------------------------------- proxy under test
PROXY_PID=""
start_proxy() {  # start_proxy VARIANT -> PROXY_PID (empty for direct); return 1 if n/a
    PROXY_PID=""
    [ -z "${NA_REASON[$1]:-}" ] || return 1
    proxy_command "$1"
    [ ${#PROXY_CMD[@]} -gt 0 ] || return 0
    start_bg "$1" "$PROXY_CPU" "${PROXY_CMD[@]}"
    PROXY_PID=$LAST_PID
    for p in $P_CHURN $P_ECHO $P_BULK; do
        wait_listen "$p" "$PROXY_PID" || { cat "$WORK/$1.err" >&2; die "$1 did not listen on $p"; }
    done
}
CLK_TCK=$(getconf CLK_TCK)
cpu_line() { awk -v c="cpu$1" '$1==c {b=$2+$3+$4+$7+$8+$9; print b, b+$5+$6}' /proc/stat; }  # busy total (ticks)
proxy_cpu_ticks() { [ -n "$PROXY_PID" ] && sed 's/^.*) //' "/proc/$PROXY_PID/stat" | awk '{print $12+$13}' || echo 0; }
proxy_status_kb() { [ -n "$PROXY_PID" ] && awk -v k="$1:" '$1==k {print $2}' "/proc/$PROXY_PID/status" || echo 0; }
proxy_rq_wait_ns() {  # summed over the proxy's threads: time runnable but not running (others took the CPU)
    [ -n "$PROXY_PID" ] && cat /proc/"$PROXY_PID"/task/*/schedstat 2>/dev/null | awk '{s+=$2} END {printf "%.0f\n", s}' || echo 0
}
proxy_ctxsw() {  # voluntary + involuntary context switches, all threads
    [ -n "$PROXY_PID" ] && cat /proc/"$PROXY_PID"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {s+=$2} END {printf "%.0f\n", s}' || echo 0
}
proxy_fds() { [ -n "$PROXY_PID" ] && ls "/proc/$PROXY_PID/fd" 2>/dev/null | wc -l || echo 0; }
reset_hwm() { [ -n "$PROXY_PID" ] && echo 5 >"/proc/$PROXY_PID/clear_refs" 2>/dev/null || true; }
riemann_stats() { kill -USR1 "$RIEMANN_PID"; sleep 0.3; tail -1 "$WORK/riemann-sink.out"; }

RAW="$WORK/raw.jsonl"; : >"$RAW"
emit() {  # emit ROUND VARIANT SCENARIO JSON-OBJECT-WITH-METRICS
    printf '{"round":%s,"variant":"%s","scenario":"%s","m":%s}\n' "$1" "$2" "$3" "$4" >>"$RAW"
}
# wrap a measurement: proxy CPU seconds and peak RSS of the proxy over the command
measure() {  # measure ROUND VARIANT SCENARIO cmd... (cmd prints one JSON object)
    local r=$1 v=$2 s=$3; shift 3
    reset_hwm
    local c0 c1 out w0 w1 t0 t1 x0 x1 l0 l1 q0 q1 g0 g1
    l0=$(cpu_line "$LOAD_CPU"); q0=$(cpu_line "$PROXY_CPU"); g0=$(targets_ticks)
    c0=$(proxy_cpu_ticks); w0=$(proxy_rq_wait_ns); t0=$(date +%s%N); x0=$(proxy_ctxsw)
    if ! out=$("$@" 2>>"$WORK/load.err"); then log "$v/$s: load command failed: $(tail -2 "$WORK/load.err" | tr '\n' ' ')"; out=${out:-'{}'}; fi
    c1=$(proxy_cpu_ticks); w1=$(proxy_rq_wait_ns); t1=$(date +%s%N); x1=$(proxy_ctxsw)
    l1=$(cpu_line "$LOAD_CPU"); q1=$(cpu_line "$PROXY_CPU"); g1=$(targets_ticks)
    local hwm; hwm=$(proxy_status_kb VmHWM)
    out=$(python3 - "$out" "$c0" "$c1" "$CLK_TCK" "${hwm:-0}" "$PROXY_PID" "$w0" "$w1" "$t0" "$t1" "$x0" "$x1" "$l0" "$l1" "$q0" "$q1" "$g0" "$g1" <<'PY'
import json, sys
out, c0, c1, tck, hwm, pid, w0, w1, t0, t1, x0, x1, l0, l1, q0, q1, g0, g1 = sys.argv[1:]
try: m = json.loads(out)
except Exception: m = {"error": "unparsable: " + out[:200]}
# Noise: CPU time on each of our two CPUs used by anything but our processes during this measurement.
tck_i = int(tck); wall = max(1e-9, (int(t1) - int(t0)) / 1e9)
(lb0, lt0), (lb1, lt1) = map(int, l0.split()), map(int, l1.split())
(qb0, qt0), (qb1, qt1) = map(int, q0.split()), map(int, q1.split())
ours_proxy = (int(c1) - int(c0)) if pid else 0
m["noise_proxy_cpu_pct"] = round(max(0.0, 100.0 * ((qb1 - qb0) - ours_proxy) / max(1, qt1 - qt0)), 1)
gen = m.get("loadgen_cpu_pct", m.get("iperf_cpu_host_pct"))
if gen is not None:
    ours_load = (int(g1) - int(g0)) + gen / 100.0 * wall * tck_i
    m["noise_load_cpu_pct"] = round(max(0.0, 100.0 * ((lb1 - lb0) - ours_load) / max(1, lt1 - lt0)), 1)
if pid:
    m["proxy_cpu_s"] = (int(c1) - int(c0)) / int(tck)
    m["proxy_hwm_kb"] = int(hwm)
    m["proxy_ctxsw"] = int(x1) - int(x0)
    m["proxy_rq_wait_pct"] = 100.0 * (int(w1) - int(w0)) / max(1, int(t1) - int(t0))
print(json.dumps(m, separators=(",", ":")))
PY
)
    emit "$r" "$v" "$s" "$out"
}

iperf_json() {  # iperf_json ARGS... -> compact metrics
    local j
    j=$(nice -n "$NICE" taskset -c "$LOAD_CPU" timeout $((BULK_S + 20)) iperf3 -c 127.0.0.1 -p "$1" -t "$BULK_S" -J "${@:2}" 2>&1) || true
    python3 - "$j" <<'PY'
import json, sys
try:
    d = json.loads(sys.argv[1])
    if "error" in d: print(json.dumps({"error": d["error"]})); sys.exit()
    s = d["end"]["sum_received"]
    print(json.dumps({"gbit_s": s["bits_per_second"] / 1e9, "bytes": s["bytes"], "seconds": s["seconds"],
                      "iperf_cpu_host_pct": d["end"].get("cpu_utilization_percent", {}).get("host_total")}))
except Exception as e:
    print(json.dumps({"error": "iperf3: " + sys.argv[1][:200]}))
PY
}

# RSS with IDLE_N silent connections held open through the proxy. The proxy's open file descriptors
# per idle connection tell whether it really holds them: 2 (accepted and connected to the target);
# 0 under TCP_DEFER_ACCEPT (haproxy-tuned's defer-accept), where the kernel keeps silent connections
# from the proxy altogether, so its idle RSS is not comparable.
idle_rss() {  # idle_rss PORT -> JSON
    local before after fds0 fds1 pid i
    [ -n "$PROXY_PID" ] || { echo '{"idle_conns":null}'; return; }
    before=$(proxy_status_kb VmRSS); fds0=$(proxy_fds)
    nice -n "$NICE" taskset -c "$LOAD_CPU" "$WORK/zbxload" idle 127.0.0.1 "$1" "$IDLE_N" 30 >"$WORK/idle.out" 2>"$WORK/idle.err" &
    pid=$!; PIDS+=("$pid")
    for i in $(seq 1 150); do grep -q ready "$WORK/idle.err" && break; sleep 0.1; done
    sleep 0.5   # let the proxy finish connecting its side
    after=$(proxy_status_kb VmRSS); fds1=$(proxy_fds)
    local est; est=$(ss -Htn state established "( sport = :$1 )" | wc -l)
    stop_pid "$pid"
    python3 - "$before" "$after" "$est" "$IDLE_N" "$(grep -o 'ready [0-9]*' "$WORK/idle.err" | awk '{print $2}')" "$fds0" "$fds1" <<'PY'
import json, sys
b, a, est, n, opened, f0, f1 = sys.argv[1:]
b = int(b or 0); a = int(a or 0); opened = int(opened or 0)
print(json.dumps({"idle_conns": opened, "established_at_proxy": int(est), "rss_before_kb": b, "rss_idle_kb": a,
                  "kb_per_idle_conn": round((a - b) / opened, 2) if opened and a else None,
                  "proxy_fds_per_idle_conn": round((int(f1) - int(f0)) / opened, 2) if opened else None}))
PY
}

probe_noise() {  # how busy both CPUs are while none of our load runs: the other jobs on this machine
    local l0 p0 l1 p1
    l0=$(cpu_line "$LOAD_CPU"); p0=$(cpu_line "$PROXY_CPU")
    sleep "${BENCH_PROBE_S:-0.5}"
    l1=$(cpu_line "$LOAD_CPU"); p1=$(cpu_line "$PROXY_CPU")
    python3 - "$l0" "$l1" "$p0" "$p1" <<'PY'
import json, sys
def pct(a, b):
    (b0, t0), (b1, t1) = map(int, a.split()), map(int, b.split())
    return round(100.0 * (b1 - b0) / max(1, t1 - t0), 1)
print(json.dumps({"load_cpu_busy_pct": pct(sys.argv[1], sys.argv[2]), "proxy_cpu_busy_pct": pct(sys.argv[3], sys.argv[4])}))
PY
}

# What reached the Riemann sink during a measurement of a decoding tee: events, values/s delivered,
# an estimate of those dropped, and the latency to Riemann (zbxload's send time in the value's
# clock/ns, to the sink's arrival time). The sink's latency samples restart at every stats line.
sink_scenario() { [ "$1" = churn ] && echo decode || echo "decode-$1"; }
measure_with_sink() {  # measure_with_sink ROUND VARIANT SCENARIO cmd...: measure, plus the sink for a decoding tee
    local r=$1 v=$2 s=$3
    if ! is_decode_variant "$v"; then measure "$@"; return; fi
    local ev0 ev1 load_line
    ev0=$(riemann_stats)
    measure "$@"
    load_line=$(tail -1 "$RAW")
    sleep 1   # let the tee flush queued events to the sink
    ev1=$(riemann_stats)
    emit "$r" "$v" "$(sink_scenario "$s")" "$(python3 - "$ev0" "$ev1" "$load_line" <<'PY'
import json, sys
a, b, load = json.loads(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3])["m"]
ev = b["events"] - a["events"]; fr = b["frames"] - a["frames"]
sent = load.get("conns", 0)   # one item value per agent-data frame
secs = load.get("seconds") or 1
print(json.dumps({"item_values_sent": sent, "events_acked": ev, "riemann_frames": fr,
                  "events_per_s": ev / secs, "events_dropped_est": max(0, sent - ev),
                  "delivered_ratio": ev / sent if sent else None,
                  "latency_events": b.get("latency_events"), "riemann_p50_us": b.get("latency_p50_us"),
                  "riemann_p99_us": b.get("latency_p99_us"), "riemann_max_us": b.get("latency_max_us")}))
PY
)"
}

load() { nice -n "$NICE" taskset -c "$LOAD_CPU" "$WORK/zbxload" "$@"; }

run_variant() {  # run_variant ROUND VARIANT
    local r=$1 v=$2 rate
    if ! start_proxy "$v"; then
        emit "$r" "$v" "na" "$(python3 -c 'import json,sys; print(json.dumps({"na": True, "reason": sys.argv[1]}))' "${NA_REASON[$v]:-}")"
        log "round $r: $v n/a"; return
    fi
    emit "$r" "$v" noise "$(probe_noise)"   # the proxy is idle here
    local pc=$P_CHURN pe=$P_ECHO pb=$P_BULK
    [ "$v" = direct ] && { pc=$T_CHURN; pe=$T_ECHO; pb=$T_BULK; }
    log "round $r: $v (pid ${PROXY_PID:-none})"
    measure_with_sink "$r" "$v" churn load churn 127.0.0.1 "$pc" "$CHURN_S" "$INFLIGHT" "$MAX_CONNS"
    measure "$r" "$v" churn-1 load churn 127.0.0.1 "$pc" "$CHURN1_S" 1 "$MAX_CONNS"
    # Open loop: the same offered rate for every variant, so proxy CPU is compared at equal load.
    for rate in $OPEN_RATES; do
        measure_with_sink "$r" "$v" "open-$rate" load churn 127.0.0.1 "$pc" "$OPEN_S" "$OPEN_MAX" "$MAX_CONNS" --rate "$rate"
    done
    measure "$r" "$v" pingpong load pingpong 127.0.0.1 "$pe" "$PP_S" "$PP_SIZE"
    measure "$r" "$v" bulk-up-1 iperf_json "$pb" -P 1
    measure "$r" "$v" bulk-down-1 iperf_json "$pb" -P 1 -R
    measure "$r" "$v" bulk-up-8 iperf_json "$pb" -P 8
    measure "$r" "$v" bulk-down-8 iperf_json "$pb" -P 8 -R
    measure "$r" "$v" idle idle_rss "$pc"
    [ -n "$PROXY_PID" ] && emit "$r" "$v" process "{\"peak_rss_kb\":$(proxy_status_kb VmHWM),\"threads\":$(proxy_status_kb Threads)}"
    [ -n "$PROXY_PID" ] && stop_pid "$PROXY_PID"
    PROXY_PID=""
    sleep 0.5
}

# Churn again in short slices, the variants taking turns: every cycle runs each variant once (a
# fresh process, WARM_S of unmeasured churn, then SLICE_S measured), in an order rotated every cycle.
# A variant's slices sit seconds, not minutes, from the other variants' ones, so the drift of a
# shared machine (HAProxy's own churn figure moves by ±15 % between runs minutes apart) hits all
# variants alike, and the median of SLICES cycles is what the ratios compare.
churn_slice() {  # churn_slice CYCLE VARIANT
    local c=$1 v=$2 pc=$P_CHURN
    start_proxy "$v" || return 0
    [ "$v" = direct ] && pc=$T_CHURN
    load churn 127.0.0.1 "$pc" "$WARM_S" "$INFLIGHT" "$MAX_CONNS" >/dev/null 2>>"$WORK/load.err" || true
    measure "$c" "$v" churn-slice load churn 127.0.0.1 "$pc" "$SLICE_S" "$INFLIGHT" "$MAX_CONNS"
    [ -n "$PROXY_PID" ] && stop_pid "$PROXY_PID"
    PROXY_PID=""
}

# ---------------------------------------------------------------- run
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STAT_BEFORE=$(head -1 /proc/stat)
T0=$(date +%s)
log "variants: $VARIANTS; rounds: $ROUNDS; churn ${CHURN_S}s x$INFLIGHT in flight, open loop ${OPEN_RATES:-off}/s ${OPEN_S}s, ping-pong ${PP_S}s x${PP_SIZE}B, bulk ${BULK_S}s; load on CPU $LOAD_CPU, proxy on CPU $PROXY_CPU"
read -r -a VA <<<"$VARIANTS"
for r in $(seq 1 "$ROUNDS"); do
    n=${#VA[@]}
    for i in $(seq 0 $((n - 1))); do run_variant "$r" "${VA[$(( (i + r - 1) % n ))]}"; done  # rotate order per round
done
if [ "$SLICES" -gt 0 ]; then
    log "churn in slices: $SLICES cycles, ${SLICE_S}s per variant (after ${WARM_S}s unmeasured), variants taking turns"
    for c in $(seq 1 "$SLICES"); do
        n=${#VA[@]}
        for i in $(seq 0 $((n - 1))); do churn_slice "$c" "${VA[$(( (i + c - 1) % n ))]}"; done
    done
fi
ELAPSED=$(( $(date +%s) - T0 ))
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
STAT_AFTER=$(head -1 /proc/stat)

if [ "$PROFILE" = 1 ] && command -v perf >/dev/null; then
    log "profiling the relay-only tee under churn (perf record -g, ${CHURN_S}s)"
    start_proxy tee
    perf record -F 1999 -g -o "$WORK/perf.data" -p "$PROXY_PID" -- sleep "$CHURN_S" >/dev/null 2>&1 &
    perfpid=$!
    taskset -c "$LOAD_CPU" "$WORK/zbxload" churn 127.0.0.1 "$P_CHURN" "$CHURN_S" "$INFLIGHT" "$MAX_CONNS" >/dev/null
    wait "$perfpid" || true
    stop_pid "$PROXY_PID"; PROXY_PID=""
    demangle=cat; command -v swift-demangle >/dev/null && demangle="swift-demangle --simplified"
    {
        echo "# perf record -F 1999 -g on the relay-only tee (pid pinned to CPU $PROXY_CPU) during ${CHURN_S}s of churn x$INFLIGHT"
        echo "## by shared object"
        perf report -i "$WORK/perf.data" --stdio --no-children -g none --sort dso 2>/dev/null | grep '%' | grep -v '^#' | head -12
        echo "## hottest symbols (self time)"
        perf report -i "$WORK/perf.data" --stdio --no-children -g none --sort dso,symbol 2>/dev/null \
            | grep '%' | grep -v '^#' | head -45 | sed 's/ *$//' | $demangle
        echo "## hottest symbols including callees (children)"
        perf report -i "$WORK/perf.data" --stdio --children -g none --sort symbol 2>/dev/null \
            | grep '%' | grep -v '^#' | head -45 | sed 's/ *$//' | $demangle
    } >"$HERE/profile-tee-churn.txt" || true
    log "profile written to Benchmarks/profile-tee-churn.txt"
fi

if [ "$PROFILE" = 1 ]; then
    # Counts per agent connection (system calls, epoll_ctl, mallocs, TCP segments): deterministic, so
    # comparable even on a noisy machine. per-connection.sh does it, in a network namespace of its own.
    log "counting per connection: HAProxy and the relay-only tee (per-connection.sh, 2000 connections)"
    TEE_BIN=$TEE_BIN BENCH_PORT_BASE=$((BASE + 300)) "$HERE/per-connection.sh" --conns 2000 --variants haproxy,tee $([ "$INSTALL" = 1 ] || echo --no-install) \
        >"$HERE/syscalls-churn.txt" 2>"$WORK/per-connection.err" || { tail -5 "$WORK/per-connection.err" >&2; log "per-connection.sh failed"; }
    log "counts per connection written to Benchmarks/syscalls-churn.txt"
fi

MACHINE="nproc=$(nproc); kernel=$(uname -r); cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
python3 "$HERE/report.py" "$RAW" \
    --date "$(date -u '+%Y-%m-%d %H:%M UTC')" --machine "$MACHINE" --command "$COMMAND_LINE" \
    --git "$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    --settings "nice=$NICE rounds=$ROUNDS churn=${CHURN_S}s inflight=$INFLIGHT churn-1=${CHURN1_S}s slices=${SLICES}x${SLICE_S}s open=${OPEN_RATES:-off}/s,${OPEN_S}s,max-open=$OPEN_MAX pingpong=${PP_S}s/${PP_SIZE}B bulk=${BULK_S}s idle=$IDLE_N" \
    --noise "loadavg before $LOAD_BEFORE, after $LOAD_AFTER" --stat "$STAT_BEFORE" "$STAT_AFTER" --elapsed "$ELAPSED" \
    --max-noise "${BENCH_MAX_NOISE:-50}" --jsonl "$HERE/results-latest.jsonl" $([ "$WRITE_MD" = 1 ] && echo --markdown "$ROOT/BENCHMARKS.md")

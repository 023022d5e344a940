#!/usr/bin/env bash
# zabbix-tee benchmark harness: direct vs HAProxy vs zabbix-tee (relay only, decode + Riemann),
# all in one run, interleaved over rounds, medians and ratios vs HAProxy. See Benchmarks/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
COMMAND_LINE="$(env | grep -E '^(BENCH_|TEE_BIN=|FLOOR_DIR=|TEE_DECODE_TEMPLATE=|SWIFT_SCRATCH=)' | sort | tr '\n' ' ' || true)Benchmarks/run.sh $*"

QUICK=0; ROUNDS=""; INSTALL=1; BUILD=1; WRITE_MD=1; WITH_NGINX=0; PROFILE=0
DECODE=${BENCH_DECODE:-1}
NICE=${BENCH_NICE:-0}   # e.g. --nice -10: our processes win more often against other jobs on a shared machine
VARIANTS_ARG=${BENCH_VARIANTS:-}
usage() { sed -n '/^## Usage/,/^## /p' "$HERE/README.md" | sed '$d'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --rounds) ROUNDS=$2; shift ;;
        --variants) VARIANTS_ARG=$2; shift ;;
        --with-nginx) WITH_NGINX=1 ;;
        --no-decode) DECODE=0 ;;
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
    : "${ROUNDS:=1}"; CHURN1_S=${BENCH_CHURN1_S:-1}; CHURN_S=${BENCH_CHURN_S:-2}; PP_S=${BENCH_PP_S:-2}; BULK_S=${BENCH_BULK_S:-1}; IDLE_N=${BENCH_IDLE_N:-2000}
else
    : "${ROUNDS:=3}"; CHURN1_S=${BENCH_CHURN1_S:-3}; CHURN_S=${BENCH_CHURN_S:-8}; PP_S=${BENCH_PP_S:-6}; BULK_S=${BENCH_BULK_S:-4}; IDLE_N=${BENCH_IDLE_N:-2000}
fi
INFLIGHT=${BENCH_INFLIGHT:-64}
MAX_CONNS=${BENCH_MAX_CONNS:-2000000}     # hard bound on churn connections per measurement
PP_SIZE=${BENCH_PP_SIZE:-200}
LOAD_CPU=${BENCH_LOAD_CPU:-0}             # load generators and targets
PROXY_CPU=${BENCH_PROXY_CPU:-1}           # proxy under test
BASE=${BENCH_PORT_BASE:-23100}
T_CHURN=$((BASE+1)); T_ECHO=$((BASE+2)); T_BULK=$((BASE+3)); T_RIEMANN=$((BASE+4))
P_CHURN=$((BASE+11)); P_ECHO=$((BASE+12)); P_BULK=$((BASE+13))

if [ -n "$VARIANTS_ARG" ]; then VARIANTS=${VARIANTS_ARG//,/ }
else
    VARIANTS="direct haproxy epoll-floor nio-floor tee"
    [ "$DECODE" = 1 ] && VARIANTS="$VARIANTS tee-decode"
    [ "$WITH_NGINX" = 1 ] && VARIANTS="$VARIANTS nginx"
fi
case " $VARIANTS " in *" nginx "*) WITH_NGINX=1 ;; esac

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- processes and cleanup
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

port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }
wait_listen() {  # wait_listen PORT PID
    local i
    for i in $(seq 1 100); do
        ss -Hltn "sport = :$1" | grep -q . && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# ---------------------------------------------------------------- tools
if [ "$INSTALL" = 1 ]; then
    pkgs="haproxy iperf3 gcc libc6-dev python3 iproute2 util-linux procps"
    [ "$WITH_NGINX" = 1 ] && pkgs="$pkgs nginx libnginx-mod-stream"
    [ "$PROFILE" = 1 ] && pkgs="$pkgs linux-perf strace"
    missing=""
    for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
    if [ -n "$missing" ]; then
        SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
        log "installing from Debian:$missing"
        $SUDO apt-get update -qq
        # policy-rc.d (when present) keeps the packages' own haproxy/nginx services from starting.
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
    fi
fi
for t in haproxy iperf3 gcc taskset ss python3; do command -v $t >/dev/null || die "$t not found (run without --no-install)"; done

log "compiling load generator and targets"
gcc -O2 -Wall -o "$WORK/zbxsrv" "$HERE/src/zbxsrv.c"
gcc -O2 -Wall -o "$WORK/zbxload" "$HERE/src/zbxload.c"

if [ -n "${TEE_BIN:-}" ]; then
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
log "tee binary: $TEE_BIN"

# The floors (Benchmarks/Micro): nio-floor, the smallest relay on SwiftNIO with the tee's relay rules;
# epoll-floor, the same relay in Swift on raw epoll, without SwiftNIO.
FLOORS=""
for f in nio-floor epoll-floor; do case " $VARIANTS " in *" $f "*) FLOORS="$FLOORS $f" ;; esac; done
if [ -n "$FLOORS" ]; then
    mscratch=()
    case "${SWIFT_SCRATCH:-}" in "") ;; /*) mscratch=(--scratch-path "$SWIFT_SCRATCH-micro") ;;
        *) mscratch=(--scratch-path "$ROOT/$SWIFT_SCRATCH-micro") ;; esac
    FLOOR_DIR=${FLOOR_DIR:-}
    if [ -z "$FLOOR_DIR" ]; then
        for f in $FLOORS; do
            if [ "$BUILD" = 1 ]; then
                log "building $f (release)"
                (cd "$HERE/Micro" && swift build -c release "${mscratch[@]}" --product "$f") >"$WORK/build-$f.log" 2>&1 \
                    || { tail -30 "$WORK/build-$f.log" >&2; die "swift build of $f failed"; }
            fi
        done
        FLOOR_DIR="$(cd "$HERE/Micro" && swift build -c release "${mscratch[@]}" --show-bin-path)"
    fi
    for f in $FLOORS; do [ -x "$FLOOR_DIR/$f" ] || die "no $f binary in $FLOOR_DIR"; done
fi

for p in $T_CHURN $T_ECHO $T_BULK $T_RIEMANN $P_CHURN $P_ECHO $P_BULK; do
    port_free "$p" || die "port $p is in use (set BENCH_PORT_BASE)"
done

render() {  # render TEMPLATE OUT
    sed -e "s|@P_CHURN@|$P_CHURN|g; s|@P_ECHO@|$P_ECHO|g; s|@P_BULK@|$P_BULK|g" \
        -e "s|@T_CHURN@|$T_CHURN|g; s|@T_ECHO@|$T_ECHO|g; s|@T_BULK@|$T_BULK|g; s|@T_RIEMANN@|$T_RIEMANN|g" \
        -e "s|@WORK@|$WORK|g; s|@PROXY_CPU@|$PROXY_CPU|g" "$1" >"$2"
}
render "$HERE/templates/tee-relay.yaml.in" "$WORK/tee-relay.yaml"
render "${TEE_DECODE_TEMPLATE:-$HERE/templates/tee-decode.yaml.in}" "$WORK/tee-decode.yaml"
render "$HERE/templates/haproxy.cfg.in" "$WORK/haproxy.cfg"
[ "$WITH_NGINX" = 1 ] && render "$HERE/templates/nginx.conf.in" "$WORK/nginx.conf"

"$TEE_BIN" check-config --config "$WORK/tee-relay.yaml" >/dev/null || die "tee rejects the relay config"
haproxy -c -q -f "$WORK/haproxy.cfg" || die "haproxy rejects its config"
DECODE_OK=0
if "$TEE_BIN" check-config --config "$WORK/tee-decode.yaml" >"$WORK/decode-check.txt" 2>&1; then DECODE_OK=1
else log "tee-decode: not supported by this tee yet ($(head -1 "$WORK/decode-check.txt")) -> n/a"; fi

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
    case "$1" in
        direct) return 0 ;;
        haproxy) start_bg "haproxy" "$PROXY_CPU" haproxy -db -f "$WORK/haproxy.cfg" ;;
        nginx) start_bg "nginx" "$PROXY_CPU" nginx -c "$WORK/nginx.conf" ;;
        nio-floor|epoll-floor)
            start_bg "$1" "$PROXY_CPU" "$FLOOR_DIR/$1" "$P_CHURN" "$T_CHURN" "$P_ECHO" "$T_ECHO" "$P_BULK" "$T_BULK" ;;
        tee) start_bg "tee" "$PROXY_CPU" "$TEE_BIN" run --config "$WORK/tee-relay.yaml" ;;
        tee-decode) [ "$DECODE_OK" = 1 ] || return 1
                    start_bg "tee-decode" "$PROXY_CPU" "$TEE_BIN" run --config "$WORK/tee-decode.yaml" ;;
        *) die "unknown variant $1" ;;
    esac
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

idle_rss() {  # idle_rss PORT -> JSON
    local before after pid i
    [ -n "$PROXY_PID" ] || { echo '{"idle_conns":null}'; return; }
    before=$(proxy_status_kb VmRSS)
    nice -n "$NICE" taskset -c "$LOAD_CPU" "$WORK/zbxload" idle 127.0.0.1 "$1" "$IDLE_N" 30 >"$WORK/idle.out" 2>"$WORK/idle.err" &
    pid=$!; PIDS+=("$pid")
    for i in $(seq 1 150); do grep -q ready "$WORK/idle.err" && break; sleep 0.1; done
    sleep 0.5   # let the proxy finish connecting its side
    after=$(proxy_status_kb VmRSS)
    local est; est=$(ss -Htn state established "( sport = :$1 )" | wc -l)
    stop_pid "$pid"
    python3 - "$before" "$after" "$est" "$IDLE_N" "$(grep -o 'ready [0-9]*' "$WORK/idle.err" | awk '{print $2}')" <<'PY'
import json, sys
b, a, est, n, opened = sys.argv[1:]
b = int(b or 0); a = int(a or 0); opened = int(opened or 0)
print(json.dumps({"idle_conns": opened, "established_at_proxy": int(est), "rss_before_kb": b, "rss_idle_kb": a,
                  "kb_per_idle_conn": round((a - b) / opened, 2) if opened and a else None}))
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

run_variant() {  # run_variant ROUND VARIANT
    local r=$1 v=$2
    if ! start_proxy "$v"; then emit "$r" "$v" "na" '{"na":true}'; log "round $r: $v n/a"; return; fi
    emit "$r" "$v" noise "$(probe_noise)"   # the proxy is idle here
    local pc=$P_CHURN pe=$P_ECHO pb=$P_BULK
    [ "$v" = direct ] && { pc=$T_CHURN; pe=$T_ECHO; pb=$T_BULK; }
    log "round $r: $v (pid ${PROXY_PID:-none})"
    local ev0=""; [ "$v" = tee-decode ] && ev0=$(riemann_stats)
    measure "$r" "$v" churn nice -n "$NICE" taskset -c "$LOAD_CPU" "$WORK/zbxload" churn 127.0.0.1 "$pc" "$CHURN_S" "$INFLIGHT" "$MAX_CONNS"
    if [ "$v" = tee-decode ]; then
        sleep 1   # let the tee flush queued events to the sink
        local ev1; ev1=$(riemann_stats)
        local churn_line; churn_line=$(tail -1 "$RAW")
        emit "$r" "$v" decode "$(python3 - "$ev0" "$ev1" "$churn_line" "$CHURN_S" <<'PY'
import json, sys
a, b, c, secs = json.loads(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3])["m"], float(sys.argv[4])
ev = b["events"] - a["events"]; fr = b["frames"] - a["frames"]
expected = c.get("conns", 0)   # one item value per agent-data frame
print(json.dumps({"item_values_sent": expected, "events_acked": ev, "riemann_frames": fr,
                  "events_per_s": ev / secs, "events_dropped_est": max(0, expected - ev)}))
PY
)"
    fi
    measure "$r" "$v" churn-1 nice -n "$NICE" taskset -c "$LOAD_CPU" "$WORK/zbxload" churn 127.0.0.1 "$pc" "$CHURN1_S" 1 "$MAX_CONNS"
    measure "$r" "$v" pingpong nice -n "$NICE" taskset -c "$LOAD_CPU" "$WORK/zbxload" pingpong 127.0.0.1 "$pe" "$PP_S" "$PP_SIZE"
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

# ---------------------------------------------------------------- run
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STAT_BEFORE=$(head -1 /proc/stat)
T0=$(date +%s)
log "variants: $VARIANTS; rounds: $ROUNDS; churn ${CHURN_S}s x$INFLIGHT in flight, ping-pong ${PP_S}s x${PP_SIZE}B, bulk ${BULK_S}s; load on CPU $LOAD_CPU, proxy on CPU $PROXY_CPU"
read -r -a VA <<<"$VARIANTS"
for r in $(seq 1 "$ROUNDS"); do
    n=${#VA[@]}
    for i in $(seq 0 $((n - 1))); do run_variant "$r" "${VA[$(( (i + r - 1) % n ))]}"; done  # rotate order per round
done
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

if [ "$PROFILE" = 1 ] && command -v strace >/dev/null; then
    # System calls per agent connection: deterministic, so comparable even on a noisy machine.
    SYSC="$HERE/syscalls-churn.txt"; : >"$SYSC"
    for v in haproxy tee; do
        start_proxy "$v" || continue
        timeout 60 strace -c -f -p "$PROXY_PID" -o "$WORK/strace-$v.txt" 2>/dev/null &
        spid=$!; PIDS+=("$spid"); sleep 1
        taskset -c "$LOAD_CPU" "$WORK/zbxload" churn 127.0.0.1 "$P_CHURN" 30 16 2000 >/dev/null
        sleep 0.5; kill -INT "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true
        stop_pid "$PROXY_PID"; PROXY_PID=""
        { echo "## $v: strace -c -f over 2000 churn connections (calls per connection)"
          awk '$0 ~ /^ *[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9]+/ {n=$4; e=(NF==6)?$5:0; sc=$NF;
               if (sc != "total" && sc != "restart_syscall") printf "  %-16s %6.2f%s\n", sc, n/2000, e ? sprintf("  (%d errors)", e) : ""}
               /total$/ {printf "  %-16s %6.2f\n", "TOTAL", $4/2000}' "$WORK/strace-$v.txt"
        } >>"$SYSC"
    done
    log "system calls per connection written to Benchmarks/syscalls-churn.txt"
    grep -E '^##|TOTAL' "$SYSC" >&2
fi

MACHINE="nproc=$(nproc); kernel=$(uname -r); cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
python3 "$HERE/report.py" "$RAW" \
    --date "$(date -u '+%Y-%m-%d %H:%M UTC')" --machine "$MACHINE" --command "$COMMAND_LINE" \
    --git "$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    --settings "nice=$NICE rounds=$ROUNDS churn=${CHURN_S}s inflight=$INFLIGHT churn-1=${CHURN1_S}s pingpong=${PP_S}s/${PP_SIZE}B bulk=${BULK_S}s idle=$IDLE_N" \
    --noise "loadavg before $LOAD_BEFORE, after $LOAD_AFTER" --stat "$STAT_BEFORE" "$STAT_AFTER" --elapsed "$ELAPSED" \
    --max-noise "${BENCH_MAX_NOISE:-50}" --jsonl "$HERE/results-latest.jsonl" $([ "$WRITE_MD" = 1 ] && echo --markdown "$ROOT/BENCHMARKS.md")

#!/usr/bin/env bash
# Per-connection cost of the churn pattern (one agent-data upload per connection), counted rather
# than timed where possible, so that it means something on a busy machine:
#   - system calls per connection        (strace -c -f, over CONNS connections; exact)
#   - context switches per connection    (/proc/PID/task/*/status; nearly exact)
#   - CPU time per connection            (/proc/PID/stat; timed, so noisy under contention)
#   - heap allocations per connection    (perf uprobe on glibc's malloc, when perf can place one; exact)
# for HAProxy, the two floors (nio-floor, epoll-floor: see Benchmarks/README.md) and the tee (relay
# only; with decoding: tee-decode), same target, same load.
# (No instruction counts: this VM has no hardware counters for perf stat, and valgrind 3.19
# crashes on the Swift runtime.)
#
#   Benchmarks/per-connection.sh [--conns N] [--variants haproxy,epoll-floor,nio-floor,tee,tee-decode]
# Environment: TEE_BIN (default: the release build in .build), FLOOR_DIR (default: the release build
# in Benchmarks/Micro/.build: cd Benchmarks/Micro && swift build -c release), BENCH_PORT_BASE (23400).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"; ROOT="$(cd "$HERE/.." && pwd)"
CONNS=2000; VARIANTS="haproxy,epoll-floor,nio-floor,tee"
while [ $# -gt 0 ]; do
    case "$1" in
        --conns) CONNS="$2"; shift ;;
        --variants) VARIANTS="$2"; shift ;;
        *) echo "usage: $0 [--conns N] [--variants LIST]" >&2; exit 2 ;;
    esac; shift
done
BASE="${BENCH_PORT_BASE:-23400}"
T_CHURN=$((BASE + 11)); T_ECHO=$((BASE + 12)); T_BULK=$((BASE + 13)); T_RIEMANN=$((BASE + 14))
P_CHURN=$((BASE + 1)); P_ECHO=$((BASE + 2)); P_BULK=$((BASE + 3))
TEE_BIN="${TEE_BIN:-$ROOT/.build/release/zabbix-tee}"
FLOOR_DIR="${FLOOR_DIR:-$HERE/Micro/.build/release}"
WORK="$(mktemp -d /tmp/zbx-percon.XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
for t in strace gcc taskset haproxy; do command -v $t >/dev/null || { echo "$t missing" >&2; exit 1; }; done
gcc -O2 -o "$WORK/zbxsrv" "$HERE/src/zbxsrv.c"; gcc -O2 -o "$WORK/zbxload" "$HERE/src/zbxload.c"
render() { sed -e "s|@P_CHURN@|$P_CHURN|g; s|@P_ECHO@|$P_ECHO|g; s|@P_BULK@|$P_BULK|g" \
    -e "s|@T_CHURN@|$T_CHURN|g; s|@T_ECHO@|$T_ECHO|g; s|@T_BULK@|$T_BULK|g; s|@T_RIEMANN@|$T_RIEMANN|g" \
    -e "s|@WORK@|$WORK|g; s|@PROXY_CPU@|1|g" "$1" >"$2"; }
render "$HERE/templates/tee-relay.yaml.in" "$WORK/tee.yaml"
render "$HERE/templates/tee-decode.yaml.in" "$WORK/tee-decode.yaml"
render "$HERE/templates/haproxy.cfg.in" "$WORK/haproxy.cfg"
wait_listen() { for _ in $(seq 1 300); do ss -Hltn "sport = :$1" | grep -q . && return 0; sleep 0.1; done; return 1; }
taskset -c 0 "$WORK/zbxsrv" zabbix "$T_CHURN" >/dev/null 2>&1 & PIDS+=($!)
taskset -c 0 "$WORK/zbxsrv" riemann "$T_RIEMANN" >/dev/null 2>&1 & PIDS+=($!)
wait_listen "$T_CHURN"
load() { taskset -c 0 "$WORK/zbxload" churn 127.0.0.1 "$P_CHURN" 60 16 "$1" >"$WORK/load.out" 2>&1; }
start() {  # start VARIANT [wrapper...] -> PID
    local v=$1; shift
    case "$v" in
        haproxy) taskset -c 1 "$@" haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/$v.log" 2>&1 & ;;
        tee) taskset -c 1 "$@" "$TEE_BIN" run --config "$WORK/tee.yaml" >"$WORK/$v.log" 2>&1 & ;;
        tee-decode) taskset -c 1 "$@" "$TEE_BIN" run --config "$WORK/tee-decode.yaml" >"$WORK/$v.log" 2>&1 & ;;
        nio-floor|epoll-floor) taskset -c 1 "$@" "$FLOOR_DIR/$v" "$P_CHURN" "$T_CHURN" "$P_ECHO" "$T_ECHO" "$P_BULK" "$T_BULK" >"$WORK/$v.log" 2>&1 & ;;
        *) echo "unknown variant $v" >&2; exit 2 ;;
    esac
    PID=$!; PIDS+=("$PID"); wait_listen "$P_CHURN" || { cat "$WORK/$v.log" >&2; exit 1; }
}
stop() { kill -TERM "$1" 2>/dev/null || true; for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; kill -9 "$1" 2>/dev/null || true; }
ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12, $13}'; }  # user system
ctxsw() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {s+=$2} END {print s}'; }
# malloc calls, counted by a uprobe on glibc's malloc (needs root and a kernel with uprobes).
LIBC=$(gcc -print-file-name=libc.so.6)
MALLOC_PROBE=0
if command -v perf >/dev/null; then
    perf probe -l 2>/dev/null | grep -q 'probe_libc:malloc' || perf probe -q -x "$LIBC" malloc >/dev/null 2>&1 || true
    perf probe -l 2>/dev/null | grep -q 'probe_libc:malloc' && MALLOC_PROBE=1
fi
printf '%-11s %18s %10s %10s %10s   %s\n' variant "CPU us/conn (u+s)" "ctxsw" "syscalls" "mallocs" "system calls per connection (>= 0.2)"
for v in ${VARIANTS//,/ }; do
    start "$v"; load 500
    t0=$(ticks "$PID"); c0=$(ctxsw "$PID"); load "$CONNS"; t1=$(ticks "$PID"); c1=$(ctxsw "$PID")
    cpu=$(echo "$t0 $t1" | awk -v n="$CONNS" -v hz="$(getconf CLK_TCK)" '{u=($3-$1)/hz*1e6/n; s=($4-$2)/hz*1e6/n; printf "%.0f (%.0f+%.0f)", u+s, u, s}')
    cs=$(awk -v a="$c0" -v b="$c1" -v n="$CONNS" 'BEGIN {printf "%.2f", (b-a)/n}')
    timeout 120 strace -c -f -p "$PID" -o "$WORK/strace.txt" 2>/dev/null & SP=$!
    sleep 1; load "$CONNS"; sleep 0.3; kill -INT "$SP" 2>/dev/null; wait "$SP" 2>/dev/null || true
    sys=$(awk -v n="$CONNS" '/total$/ {printf "%.1f", $4/n}' "$WORK/strace.txt")
    top=$(awk -v n="$CONNS" '$NF != "total" && $4 ~ /^[0-9]+$/ && $4/n >= 0.2 {printf "%s %.1f, ", $NF, $4/n}' "$WORK/strace.txt")
    allocs="-"
    if [ "$MALLOC_PROBE" = 1 ]; then
        perf stat -x, -e probe_libc:malloc -p "$PID" -o "$WORK/malloc.txt" >/dev/null 2>&1 & PP=$!
        sleep 0.5; load "$CONNS"; sleep 0.3; kill -INT "$PP" 2>/dev/null; wait "$PP" 2>/dev/null || true
        allocs=$(awk -F, -v n="$CONNS" '/probe_libc:malloc/ {printf "%.0f", $1/n}' "$WORK/malloc.txt")
    fi
    stop "$PID"
    printf '%-11s %18s %10s %10s %10s   %s\n' "$v" "$cpu" "$cs" "$sys" "${allocs:--}" "$top"
done

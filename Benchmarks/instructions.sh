#!/usr/bin/env bash
# Instructions per churn connection, by thread, counted by callgrind: exact and repeatable however
# busy the machine is (user space only; the kernel's share is not counted). For the decode path,
# where wall-clock and CPU-time figures swing with other jobs.
#
#   Benchmarks/instructions.sh [--conns N] [--variants LIST] [--keep DIR]
#     LIST: tee variants (default "tee tee-decode"); N: connections counted (default 2000, after
#     300 of warm-up); DIR: keep the callgrind files there (for callgrind_annotate).
# Environment: TEE_BIN (default: the release build in .build), BENCH_PORT_BASE (23700).
#
# valgrind 3.19 (Debian 12) needs two work-arounds for a Swift binary, both applied here:
#   - its DWARF reader gives up on the DWARF 5 forms Swift emits: the binary is copied and
#     stripped of debug information (`strip -g`; the symbol table stays, so functions are named);
#   - it writes into the signal mask given to rt_sigsuspend, which libdispatch's signal thread
#     passes read-only, and crashes: an LD_PRELOAD shim gives sigsuspend a writable copy.
# Under valgrind the threads run one at a time, so batching (frames per decode-worker wake-up,
# events per Riemann message) differs from a real run; per-connection work does not.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"; ROOT="$(cd "$HERE/.." && pwd)"
log() { printf '[instructions] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

ARGS=("$@")
CONNS=2000; VARIANTS="tee tee-decode"; KEEP=""
while [ $# -gt 0 ]; do
    case "$1" in
        --conns) CONNS="$2"; shift ;;
        --variants) VARIANTS="${2//,/ }"; shift ;;
        --keep) KEEP="$2"; shift ;;
        *) sed -n '/^#   Benchmarks/,/^# Environment/p' "$0" | sed 's/^# *//' >&2; exit 2 ;;
    esac; shift
done

# A network namespace of our own (as root): no port collisions with other jobs.
if [ -z "${INSTRUCTIONS_NETNS:-}" ] && unshare -n true 2>/dev/null; then
    exec env INSTRUCTIONS_NETNS=1 unshare -n -- "$0" "${ARGS[@]}"
fi
[ -n "${INSTRUCTIONS_NETNS:-}" ] && ip link set lo up

export BENCH_PORT_BASE=${BENCH_PORT_BASE:-23700}
PROXY_CPU=1
WORK="$(mktemp -d /tmp/zbx-instructions.XXXXXX)"
TEE_BIN="${TEE_BIN:-$ROOT/.build/release/zabbix-tee}"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

for t in valgrind callgrind_control callgrind_annotate strip gcc swift; do command -v $t >/dev/null || die "$t missing (apt-get install valgrind binutils gcc)"; done
[ -x "$TEE_BIN" ] || die "no zabbix-tee at $TEE_BIN"
gcc -O2 -Wall -o "$WORK/zbxsrv" "$HERE/src/zbxsrv.c"; gcc -O2 -Wall -o "$WORK/zbxload" "$HERE/src/zbxload.c"
cat >"$WORK/sigsuspend.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
/* valgrind 3.19 writes into the mask it is given; libdispatch passes a read-only one. */
int sigsuspend(const sigset_t *mask) {
    static int (*real)(const sigset_t *);
    if (!real) real = (int (*)(const sigset_t *))dlsym(RTLD_NEXT, "sigsuspend");
    sigset_t copy = *mask;
    return real(&copy);
}
EOF
gcc -O2 -shared -fPIC -o "$WORK/sigsuspend.so" "$WORK/sigsuspend.c" -ldl
cp "$TEE_BIN" "$WORK/zabbix-tee"; strip -g "$WORK/zabbix-tee"

"$WORK/zbxsrv" zabbix "$T_CHURN" >/dev/null 2>&1 & PIDS+=($!); wait_listen "$T_CHURN" $! || die "zbxsrv zabbix did not start"
"$WORK/zbxsrv" riemann "$T_RIEMANN" >/dev/null 2>&1 & PIDS+=($!); wait_listen "$T_RIEMANN" $! || die "riemann sink did not start"
load() { "$WORK/zbxload" churn 127.0.0.1 "$P_CHURN" 600 16 "$1" >"$WORK/load.out" 2>&1; sleep 2; }

echo "Churn pattern under callgrind: $CONNS connections counted (16 in flight, after 300 of warm-up); $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'); TEE_BIN=$TEE_BIN"
echo
echo "| variant | relay loops | decode workers | NIO loops (Riemann client) | other threads | total instructions/conn |"
echo "|---|---:|---:|---:|---:|---:|"
for v in $VARIANTS; do
    prepare_variant "$v" || { echo "| $v | n/a: ${NA_REASON[$v]} |"; continue; }
    out="$WORK/$v.cg"
    LD_PRELOAD="$WORK/sigsuspend.so" valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out" \
        "$WORK/zabbix-tee" run --config "$(variant_config "$v")" >"$WORK/$v.log" 2>&1 & pid=$!; PIDS+=("$pid")
    wait_listen "$P_CHURN" "$pid" || { for _ in $(seq 1 200); do ss -Hltn "sport = :$P_CHURN" | grep -q . && break; sleep 0.1; done; }
    ss -Hltn "sport = :$P_CHURN" | grep -q . || { tail -20 "$WORK/$v.log" >&2; die "$v did not listen under valgrind"; }
    load 300
    callgrind_control -z "$pid" >/dev/null 2>&1
    load "$CONNS"
    callgrind_control -d "$pid" >/dev/null 2>&1
    kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
    # The dump after the load is $out.1-NN, one file per thread; each thread is named by its loop.
    for f in "$out".1-*; do
        total=$(awk '/^summary:/ {print $2; exit}' "$f")
        [ "${total:-0}" -gt 0 ] || continue
        # The thread's outermost functions name its kind (names are mangled in the file).
        top=$(callgrind_annotate --inclusive=yes "$f" 2>/dev/null | sed -n '1,40p' | swift demangle --simplified || true)
        role=other
        case "$top" in
            *SideWorker*) role=worker ;;
            *RelayEventLoop*) role=relay ;;
            *SelectableEventLoop*) role=riemann ;;
        esac
        echo "$role $total"
    done | awk -v n="$CONNS" -v v="$v" '{ s[$1] += $2; t += $2 }
        END { printf "| %s | %.1fk | %.1fk | %.1fk | %.1fk | %.1fk |\n", v, s["relay"]/n/1000, s["worker"]/n/1000, s["riemann"]/n/1000, s["other"]/n/1000, t/n/1000 }'
    if [ -n "$KEEP" ]; then mkdir -p "$KEEP"; cp "$out".1-* "$KEEP/"; fi
done
if [ -n "$KEEP" ]; then echo; echo "callgrind files in $KEEP (callgrind_annotate --inclusive=yes FILE | swift demangle --simplified)"; fi

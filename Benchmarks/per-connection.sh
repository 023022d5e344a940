#!/usr/bin/env bash
# Per-connection cost of the churn pattern (one agent-data upload per connection), counted rather
# than timed where possible, so that it means something on a busy machine:
#   - system calls and epoll_ctl per connection  (strace -c -f over CONNS connections; exact)
#   - heap allocations per connection            (perf uprobe on glibc's malloc, when perf can place one; exact)
#   - TCP segments per connection                (nstat TcpOutSegs/TcpInSegs deltas; exact, see below)
#   - context switches per connection            (/proc/PID/task/*/status; nearly exact)
#   - CPU time per connection                    (/proc/PID/stat; timed, so noisy under contention)
# for every variant (direct, HAProxy plain and tuned, nginx, the two floors, the tee relaying only and
# decoding, and tee variants from templates), same target, same load, one after the other.
#
# TCP segments: the script re-runs itself in a network namespace of its own (unshare -n, root), whose
# loopback carries nothing but this script's traffic, so nstat's counters of that namespace are exact
# (and its ports cannot collide with anyone's). Inside it, nftables counters split them by leg:
# client <-> proxy (the proxy's listening port), proxy <-> target (the target's port), tee -> Riemann
# sink; the segments the proxy itself sent are those from its listening port plus those to the
# target. `direct` (no proxy) gives the load generator's and the target's own segments: what a
# proxy adds on the wire is its total minus direct's.
# (No instruction counts here: this VM has no hardware counters for perf stat; instructions.sh
# counts them with callgrind.)
#
#   Benchmarks/per-connection.sh [--conns N] [--variants LIST] [--tee-variant NAME=TEMPLATE]...
#                                [--tee-variants-dir DIR] [--no-netns] [--no-install]
# Environment: TEE_BIN (default: the release build in .build), FLOOR_DIR (default: the release build
# in Benchmarks/Micro/.build: cd Benchmarks/Micro && swift build -c release), BENCH_PORT_BASE (23400).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"; ROOT="$(cd "$HERE/.." && pwd)"
log() { printf '[per-connection] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

ARGS=("$@")
CONNS=2000; VARIANTS_ARG=""; NETNS=1; INSTALL=1; TEE_VARIANT_ARGS=(); TEE_VARIANT_DIRS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --conns) CONNS="$2"; shift ;;
        --variants) VARIANTS_ARG="$2"; shift ;;
        --tee-variant) TEE_VARIANT_ARGS+=("$2"); shift ;;
        --tee-variants-dir) TEE_VARIANT_DIRS+=("$2"); shift ;;
        --no-netns) NETNS=0 ;;
        --no-install) INSTALL=0 ;;
        *) sed -n '/^#   Benchmarks/,/^# Environment/p' "$0" | sed 's/^# *//' >&2; exit 2 ;;
    esac; shift
done

# Into a network namespace of our own (once): exact segment counts, no port collisions.
if [ "$NETNS" = 1 ] && [ -z "${PERCONN_NETNS:-}" ]; then
    if unshare -n true 2>/dev/null; then exec env PERCONN_NETNS=1 unshare -n -- "$0" "${ARGS[@]}"; fi
    log "cannot create a network namespace (needs root): segments are counted on the shared loopback, approximately"
    NETNS=0
fi
[ -n "${PERCONN_NETNS:-}" ] && ip link set lo up

export BENCH_PORT_BASE=${BENCH_PORT_BASE:-23400}
LOAD_CPU=0; PROXY_CPU=1
WORK="$(mktemp -d /tmp/zbx-percon.XXXXXX)"
TEE_BIN="${TEE_BIN:-$ROOT/.build/release/zabbix-tee}"
FLOOR_DIR="${FLOOR_DIR:-$HERE/Micro/.build/release}"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
for a in "${TEE_VARIANT_ARGS[@]}"; do add_tee_variant "$a"; done
for d in "${TEE_VARIANT_DIRS[@]}"; do add_tee_variants_dir "$d"; done
VARIANTS=${VARIANTS_ARG:-$BUILTIN_VARIANTS}; VARIANTS=${VARIANTS//,/ }
for v in $TEE_EXTRA_VARIANTS; do case " $VARIANTS " in *" $v "*) ;; *) VARIANTS="$VARIANTS $v" ;; esac; done

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
            [ "${MALLOC_PROBE_OURS:-0}" = 1 ] && perf probe -q -d probe_libc:malloc >/dev/null 2>&1   # the uprobe we placed
            rm -rf "$WORK"; }   # the nftables table goes with our network namespace
trap cleanup EXIT

[ "$INSTALL" = 1 ] && install_packages strace gcc libc6-dev linux-perf nftables iproute2 $(variant_packages $VARIANTS)
for t in strace gcc taskset nstat; do command -v $t >/dev/null || die "$t missing (run without --no-install)"; done
gcc -O2 -Wall -o "$WORK/zbxsrv" "$HERE/src/zbxsrv.c"; gcc -O2 -Wall -o "$WORK/zbxload" "$HERE/src/zbxload.c"

taskset -c "$LOAD_CPU" "$WORK/zbxsrv" zabbix "$T_CHURN" >/dev/null 2>&1 & PIDS+=($!); wait_listen "$T_CHURN" $! || die "zbxsrv zabbix did not start"
taskset -c "$LOAD_CPU" "$WORK/zbxsrv" riemann "$T_RIEMANN" >/dev/null 2>&1 & PIDS+=($!); wait_listen "$T_RIEMANN" $! || die "riemann sink did not start"

# ---------------------------------------------------------------- counters
ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12, $13}'; }  # user system
ctxsw() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {s+=$2} END {print s}'; }

# TCP segments sent and received in this namespace, absolute (-a), history untouched (-s).
tcp_segs() { nstat -asz TcpOutSegs TcpInSegs | awk '$1=="TcpOutSegs" {o=$2} $1=="TcpInSegs" {i=$2} END {print o+0, i+0}'; }

# Per-leg counters (nftables, only in our own namespace: never in the machine's firewall). Every
# segment leaves through the output hook once, so each is counted once, by the port it is sent from
# or to. For `direct` the load connects straight to the target, so its one leg is the "target" port.
LEGS=0
if [ -n "${PERCONN_NETNS:-}" ] && command -v nft >/dev/null; then
    if nft -f - 2>"$WORK/nft.err" <<EOF
table inet zbxbench {
    counter to_proxy {}
    counter from_proxy {}
    counter to_target {}
    counter from_target {}
    counter riemann {}
    chain out {
        type filter hook output priority 0; policy accept;
        tcp dport $P_CHURN counter name to_proxy
        tcp sport $P_CHURN counter name from_proxy
        tcp dport $T_CHURN counter name to_target
        tcp sport $T_CHURN counter name from_target
        tcp dport $T_RIEMANN counter name riemann
        tcp sport $T_RIEMANN counter name riemann
    }
}
EOF
    then LEGS=1; else log "nftables unusable here ($(head -1 "$WORK/nft.err")): no split by leg"; fi
fi
legs() {  # to_proxy from_proxy to_target from_target riemann (packets)
    [ "$LEGS" = 1 ] || { echo "0 0 0 0 0"; return; }
    nft list counters table inet zbxbench | awk '/counter /{n=$2} /packets/{for(i=1;i<=NF;i++) if($i=="packets") c[n]=$(i+1)}
        END {print c["to_proxy"]+0, c["from_proxy"]+0, c["to_target"]+0, c["from_target"]+0, c["riemann"]+0}'
}

# malloc calls, counted by a uprobe on glibc's malloc (needs root and a kernel with uprobes).
LIBC=$(gcc -print-file-name=libc.so.6)
MALLOC_PROBE=0; MALLOC_PROBE_OURS=0
if command -v perf >/dev/null; then
    perf probe -l 2>/dev/null | grep -q 'probe_libc:malloc' \
        || { perf probe -q -x "$LIBC" malloc >/dev/null 2>&1 && MALLOC_PROBE_OURS=1; } || true
    perf probe -l 2>/dev/null | grep -q 'probe_libc:malloc' && MALLOC_PROBE=1
fi

# ---------------------------------------------------------------- one variant
PID=""
start() {  # start VARIANT -> PID (empty for direct)
    PID=""
    proxy_command "$1"
    [ ${#PROXY_CMD[@]} -gt 0 ] || return 0
    taskset -c "$PROXY_CPU" "${PROXY_CMD[@]}" >"$WORK/$1.log" 2>&1 & PID=$!; PIDS+=("$PID")
    wait_listen "$P_CHURN" "$PID" || { cat "$WORK/$1.log" >&2; die "$1 did not listen on $P_CHURN"; }
}
stop() { kill -TERM "$1" 2>/dev/null || true; for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; kill -9 "$1" 2>/dev/null || true; }
load() {  # load N: N churn connections, 16 in flight
    taskset -c "$LOAD_CPU" "$WORK/zbxload" churn 127.0.0.1 "$PORT" 60 16 "$1" >"$WORK/load.out" 2>&1
    sleep 0.5   # the last FINs and ACKs, and a decoding tee's last Riemann batch (200 ms)
}
per() { awk -v a="$1" -v b="$2" -v n="$CONNS" -v f="${3:-%.1f}" 'BEGIN {printf f, (b - a) / n}'; }

# Timed pass: CPU, context switches and segments (nothing attached to the proxy).
timed_pass() {  # -> CPU CTXSW SEGS_OUT SEGS_IN CLIENT_LEG TARGET_LEG PROXY_SENT RIEMANN (per connection)
    local t0 t1 c0 c1 s0 s1 g0 g1 cpu="-" cs="-"
    [ -n "$PID" ] && { t0=$(ticks "$PID"); c0=$(ctxsw "$PID"); }
    s0=$(tcp_segs); g0=$(legs)
    load "$CONNS"
    s1=$(tcp_segs); g1=$(legs)
    if [ -n "$PID" ]; then
        t1=$(ticks "$PID"); c1=$(ctxsw "$PID")
        cpu=$(echo "$t0 $t1" | awk -v n="$CONNS" -v hz="$(getconf CLK_TCK)" '{u=($3-$1)/hz*1e6/n; s=($4-$2)/hz*1e6/n; printf "%.0f (%.0f+%.0f)", u+s, u, s}')
        cs=$(per "$c0" "$c1" %.2f)
    fi
    echo "$s0 $s1 $g0 $g1" | awk -v n="$CONNS" -v cpu="$cpu" -v cs="$cs" -v direct="$([ -z "$PID" ] && echo 1 || echo 0)" -v legs="$LEGS" '
        function f(x) { return sprintf("%.2f", x / n) }
        { out = $3 - $1; in_ = $4 - $2
          tp = $10 - $5; fp = $11 - $6; tt = $12 - $7; ft = $13 - $8; ri = $14 - $9
          if (!legs)       { cl = "-"; tl = "-"; ps = "-"; rl = "-" }
          else if (direct) { cl = f(tt + ft); tl = "-"; ps = "-"; rl = f(ri) }
          else             { cl = f(tp + fp); tl = f(tt + ft); ps = f(fp + tt); rl = f(ri) }
          printf "%s|%s|%s|%s|%s|%s|%s|%s\n", cpu, cs, f(out), f(in_), cl, tl, ps, rl }'
}

# strace pass: every system call of the proxy (all threads) over CONNS connections.
strace_pass() {  # -> SYSCALLS EPOLL_CTL TOP-LIST
    timeout 120 strace -c -f -p "$PID" -o "$WORK/strace.txt" 2>/dev/null & local sp=$!
    sleep 1; load "$CONNS"; kill -INT "$sp" 2>/dev/null; wait "$sp" 2>/dev/null || true
    awk -v n="$CONNS" '
        $4 ~ /^[0-9]+$/ && $NF == "epoll_ctl" { ec = $4 }
        $NF != "total" && $4 ~ /^[0-9]+$/ && $4 / n >= 0.2 { top = top sprintf("%s %.1f, ", $NF, $4 / n) }
        /total$/ { tot = $4 }
        END { printf "%.1f|%.1f|%s\n", tot / n, ec / n, top }' "$WORK/strace.txt"
}

malloc_pass() {  # -> malloc calls per connection, or -
    [ "$MALLOC_PROBE" = 1 ] || { echo "-"; return; }
    perf stat -x, -e probe_libc:malloc -p "$PID" -o "$WORK/malloc.txt" >/dev/null 2>&1 & local pp=$!
    sleep 0.5; load "$CONNS"; kill -INT "$pp" 2>/dev/null; wait "$pp" 2>/dev/null || true
    awk -F, -v n="$CONNS" '/probe_libc:malloc/ {printf "%.1f", $1 / n}' "$WORK/malloc.txt"
}

# ---------------------------------------------------------------- run
echo "Churn pattern, $CONNS connections per count, 16 in flight; $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'); TEE_BIN=$TEE_BIN"
if [ -n "${PERCONN_NETNS:-}" ]; then echo "Network namespace of its own: TCP segments exact$([ "$LEGS" = 1 ] && echo ', split by leg (nftables)')."
else echo "Shared loopback: TCP segments include other traffic on this machine (approximate)."; fi
echo
echo "| variant | CPU µs/conn (user+sys) | ctx switches | system calls | epoll_ctl | malloc calls | TCP segs/conn out (in) | client leg | target leg | proxy sent | Riemann leg | system calls ≥ 0.2/conn |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
for v in $VARIANTS; do
    if ! prepare_variant "$v"; then echo "| $v | n/a: ${NA_REASON[$v]} |"; continue; fi
    start "$v"
    PORT=$P_CHURN; [ "$v" = direct ] && PORT=$T_CHURN
    load 500   # warm-up: connection pools, caches, the Riemann connection
    IFS='|' read -r cpu cs out in_ cl tl ps rl <<<"$(timed_pass)"
    sys="-"; ec="-"; top=""; allocs="-"
    if [ -n "$PID" ]; then
        IFS='|' read -r sys ec top <<<"$(strace_pass)"
        allocs=$(malloc_pass)
        stop "$PID"
    fi
    echo "| $v | $cpu | $cs | $sys | $ec | ${allocs:--} | $out ($in_) | $cl | $tl | $ps | $rl | ${top%, } |"
done

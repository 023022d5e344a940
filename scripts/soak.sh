#!/usr/bin/env bash
# Soak: the load test's agent pattern (2 000 connections in flight, each connect -> ~330 B agent
# data -> ~120 B reply -> close, every reply checked byte for byte, decoding on, one Riemann event
# per value) against the release binary for MINUTES (default 30), with open fds, VmRSS, Riemann
# queue depth and relay errors sampled every 10 s. Not part of `swift test`; results in RELIABILITY.md.
#
#   scripts/soak.sh [MINUTES]
#
# Environment: SOAK_SCRATCH (build directory, default .build), SOAK_NICE (default 10: the machine
# stays usable), SOAK_INFLIGHT (default 2000), SOAK_OUT (output directory, default a new
# /tmp/zabbix-tee-soak.*). Prints the summary (duration, requests, errors, mismatches, RSS and fd
# min/max after the warm-up, growth slopes); samples.csv and summary.json stay in the output
# directory. Exit status 0 only if there was no error, no mismatch and the fds came back.
set -euo pipefail
cd "$(dirname "$0")/.."

MINUTES=${1:-30}
SCRATCH=${SOAK_SCRATCH:-.build}
NICE=${SOAK_NICE:-10}
OUT=${SOAK_OUT:-$(mktemp -d /tmp/zabbix-tee-soak.XXXXXX)}

nice -n "$NICE" swift build -c release --scratch-path "$SCRATCH" --product zabbix-tee
BINARY="$SCRATCH/release/zabbix-tee"
echo "soak: $MINUTES min, output in $OUT" >&2
set +e
scripts/agent-load.sh --binary "$BINARY" --seconds $((MINUTES * 60)) --inflight "${SOAK_INFLIGHT:-2000}" \
    --warmup 60 --interval 10 --nice "$NICE" --out "$OUT" >/dev/null
STATUS=$?
set -e
python3 - "$OUT" <<'PY'
import json, sys
s = json.load(open(sys.argv[1] + "/summary.json"))
mib = lambda k: s[k] / 1024
print(f"duration            {s['seconds'] / 60:.1f} min ({s['samples']} samples, every 10 s)")
print(f"requests            {s['requests']:,} ({s['requests_per_s']:.0f}/s), {s['inflight']} in flight (peak {s['peak_inflight']})")
print(f"errors              load {s['load_errors']}, short replies {s['short_replies']}, abandoned {s['abandoned']}, "
      f"relay connection errors {s['relay_connection_errors']}, idle timeouts {s['relay_idle_timeouts']}, "
      f"failed {s['relay_connections_failed']}, decode failures {s['decode_failures']}")
print(f"mismatches          {s['mismatches']}")
print(f"decoding            {s['frames_decoded']:,} frames, {s['item_values']:,} values, {s['item_values_duplicate']} duplicates "
      f"(the server got {s['target_frames']:,} requests, warm-up included)")
print(f"riemann             {s['riemann_events_acked']:,} events acked, {s['riemann_events']:,} received by the sink, "
      f"{s['riemann_events_dropped']} dropped, queue max {s['riemann_queue_max']}")
print(f"RSS                 baseline {mib('baseline_rss_kib'):.1f} MiB after warm-up; min {mib('rss_min_kib'):.1f}, "
      f"max {mib('rss_max_kib'):.1f} MiB; slope {s['rss_slope_kib_per_min']} KiB/min after the first fifth, "
      f"{s['rss_slope_second_half_kib_per_min']} KiB/min over the second half; end {mib('end_rss_kib'):.1f} MiB")
print(f"fds                 baseline {s['baseline_fds']}; min {s['fds_min']}, max {s['fds_max']}; end {s['end_fds']}")
print(f"latency             p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms; load generator CPU {s['loadgen_cpu_pct']}%")
PY
echo "samples: $OUT/samples.csv" >&2
exit $STATUS

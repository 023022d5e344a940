#!/usr/bin/env bash
# Builds the libFuzzer targets (Fuzz/, see RELIABILITY.md) with -sanitize=fuzzer,address and runs
# each for SECONDS_PER_TARGET seconds (default 60), FUZZ_JOBS targets at a time (default 2).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Exits non-zero if any target crashes, traps on an invariant, leaks, times out on one input or
# runs out of memory; the offending input is left in Fuzz/crashes/<target>-<kind>-<sha1> and the
# libFuzzer log in .build-fuzz/logs/<target>.log. Replay a crash with
#   .build-fuzz/release/<target> Fuzz/crashes/<file>
# The seeds in Fuzz/corpus/<target>/ are never modified; inputs that libFuzzer finds interesting
# accumulate in .build-fuzz/corpus/<target>/ and are reused by the next run on the same machine.
# Captured traffic in Fixtures/*/client.bin and server.bin, when present, seeds FuzzZabbixFrames.
#
# Cost budget: the Zabbix targets check, through ASan's malloc hooks, that inflating and decoding
# an input never take more heap than a few times its size plus the decoder's budget (a failure
# traps as an invariant); any single allocation above FUZZ_MALLOC_LIMIT_MB (default 64) fails
# the run. The Zabbix targets use the dictionary Fuzz/dict/zabbix.dict (request names, JSON tags).
#
# Environment: FUZZ_RSS_LIMIT_MB (default 2048), FUZZ_MALLOC_LIMIT_MB (default 64), FUZZ_TIMEOUT (seconds per input, default 10),
# FUZZ_NICE (default 10), FUZZ_JOBS (targets fuzzed at once, default 2), FUZZ_SCRATCH (build directory, default .build-fuzz),
# FUZZ_SEED (libFuzzer's -seed; CI fixes it so that a failure can be replayed with the same sequence;
# default: a new random seed each run).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${1:-60}
shift || true
ALL_TARGETS=(FuzzZabbixFrames FuzzZabbixMessages FuzzProxyConfig FuzzRiemannFrames FuzzConfig)
[ $# -gt 0 ] && TARGETS=("$@") || TARGETS=("${ALL_TARGETS[@]}")
RSS_LIMIT_MB=${FUZZ_RSS_LIMIT_MB:-2048}
MALLOC_LIMIT_MB=${FUZZ_MALLOC_LIMIT_MB:-64}
TIMEOUT=${FUZZ_TIMEOUT:-10}
NICE=${FUZZ_NICE:-10}
SCRATCH=${FUZZ_SCRATCH:-.build-fuzz}
SEED_ARGS=()
[ -n "${FUZZ_SEED:-}" ] && SEED_ARGS=("-seed=$FUZZ_SEED")

# Largest input libFuzzer generates, per target: big enough for several frames / a compressed
# proxy configuration, small enough to keep thousands of executions per second.
max_len() {
    case "$1" in
        FuzzZabbixFrames|FuzzZabbixMessages|FuzzProxyConfig) echo 16384 ;;
        FuzzRiemannFrames) echo 4096 ;;
        FuzzConfig) echo 4096 ;;
        *) echo 4096 ;;
    esac
}

# A dictionary for the targets whose input is Zabbix traffic.
dict_args() {
    case "$1" in
        FuzzZabbixFrames|FuzzZabbixMessages|FuzzProxyConfig) echo "-dict=Fuzz/dict/zabbix.dict" ;;
    esac
}

# The Swift runtime's backtracer would otherwise hold the crash for up to 30 s and print its own
# report instead of letting libFuzzer/ASan save the input.
export SWIFT_BACKTRACE=enable=no
# Leaks fail the run (libFuzzer's default with ASan, made explicit).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}

start=$(date +%s)
mkdir -p Fuzz/crashes "$SCRATCH/logs"
for target in "${TARGETS[@]}"; do
    echo "fuzz.sh: building $target"
    if ! nice -n "$NICE" swift build -c release --product "$target" --scratch-path "$SCRATCH" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING > "$SCRATCH/logs/build-$target.log" 2>&1; then
        grep -vE '^\[[0-9]+/[0-9]+\]' "$SCRATCH/logs/build-$target.log" | tail -40 >&2
        echo "fuzz.sh: build of $target failed" >&2
        exit 1
    fi
done
built=$(date +%s)
echo "fuzz.sh: build took $((built - start)) s"

# Runs one target; its summary goes to $SCRATCH/logs/<target>.summary, its status to .status.
run_target() {
    local target=$1 work="$SCRATCH/corpus/$1" log="$SCRATCH/logs/$1.log" status
    local seeds=("Fuzz/corpus/$target")
    mkdir -p "$work"
    if [ "$target" = FuzzZabbixFrames ] && compgen -G 'Fixtures/*/*.bin' >/dev/null; then
        # Fixture streams get the target's two control bytes: chunk size 32, 1 MiB limit, and the
        # direction (0x08 = server).
        local fixtures="$SCRATCH/fixture-seeds" file name prefix
        rm -rf "$fixtures" && mkdir -p "$fixtures"
        for file in Fixtures/*/client.bin Fixtures/*/server.bin; do
            [ -f "$file" ] || continue
            name=$(echo "$file" | tr '/' '_')
            case "$file" in *server.bin) prefix='\037\017' ;; *) prefix='\037\007' ;; esac
            { printf "$prefix"; head -c 1048576 "$file"; } > "$fixtures/$name"
        done
        seeds+=("$fixtures")
    fi
    set +e
    nice -n "$NICE" "$SCRATCH/release/$target" "$work" "${seeds[@]}" \
        -max_total_time="$SECONDS_PER_TARGET" -max_len="$(max_len "$target")" \
        -rss_limit_mb="$RSS_LIMIT_MB" -malloc_limit_mb="$MALLOC_LIMIT_MB" -timeout="$TIMEOUT" $(dict_args "$target") \
        -print_final_stats=1 -artifact_prefix="Fuzz/crashes/$target-" ${SEED_ARGS[@]+"${SEED_ARGS[@]}"} > "$log" 2>&1
    status=$?
    set -e
    {
        echo "fuzz.sh: $target finished (exit $status)"
        grep -E 'stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb' "$log" | sed 's/^/    /' || true
        if [ $status -ne 0 ]; then
            echo "fuzz.sh: $target FAILED; log: $log"
            grep -E 'ERROR:|SUMMARY:|INVARIANT|Fatal error|Test unit written|artifact' "$log" | head -20 | sed 's/^/    /' || true
        fi
    } > "$SCRATCH/logs/$target.summary"
    echo "$status" > "$SCRATCH/logs/$target.status"
}

# FUZZ_JOBS targets run at once (default 2: CI has two cores; use 1 on a shared machine).
JOBS=${FUZZ_JOBS:-2}
for target in "${TARGETS[@]}"; do
    rm -f "$SCRATCH/logs/$target.status" "$SCRATCH/logs/$target.summary"
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
    echo "fuzz.sh: running $target for $SECONDS_PER_TARGET s (max_len $(max_len "$target"))"
    run_target "$target" &
done
wait
failed=()
for target in "${TARGETS[@]}"; do
    cat "$SCRATCH/logs/$target.summary" 2>/dev/null || true
    [ "$(cat "$SCRATCH/logs/$target.status" 2>/dev/null || echo 1)" = 0 ] || failed+=("$target")
done
echo "fuzz.sh: total $(( $(date +%s) - start )) s"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh: failures in: ${failed[*]} (inputs in Fuzz/crashes/)" >&2
    exit 1
fi
echo "fuzz.sh: no crash, leak or timeout"

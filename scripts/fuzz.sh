#!/usr/bin/env bash
# Builds the libFuzzer targets (Fuzz/, see RELIABILITY.md) with -sanitize=fuzzer,address and runs
# each for SECONDS_PER_TARGET seconds (default 60), one after the other.
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
# Environment: FUZZ_RSS_LIMIT_MB (default 2048), FUZZ_TIMEOUT (seconds per input, default 10),
# FUZZ_NICE (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${1:-60}
shift || true
ALL_TARGETS=(FuzzZabbixFrames FuzzZabbixMessages FuzzProxyConfig FuzzRiemannFrames FuzzConfig)
[ $# -gt 0 ] && TARGETS=("$@") || TARGETS=("${ALL_TARGETS[@]}")
RSS_LIMIT_MB=${FUZZ_RSS_LIMIT_MB:-2048}
TIMEOUT=${FUZZ_TIMEOUT:-10}
NICE=${FUZZ_NICE:-10}
SCRATCH=.build-fuzz

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

# The Swift runtime's backtracer would otherwise hold the crash for up to 30 s and print its own
# report instead of letting libFuzzer/ASan save the input.
export SWIFT_BACKTRACE=enable=no
# Leaks fail the run (libFuzzer's default with ASan, made explicit).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}

start=$(date +%s)
for target in "${TARGETS[@]}"; do
    echo "fuzz.sh: building $target"
    nice -n "$NICE" swift build -c release --product "$target" --scratch-path "$SCRATCH" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]|ld.gold: warning' || true
    [ -x "$SCRATCH/release/$target" ] || { echo "fuzz.sh: build of $target failed" >&2; exit 1; }
done
built=$(date +%s)
echo "fuzz.sh: build took $((built - start)) s"

mkdir -p Fuzz/crashes "$SCRATCH/logs"
failed=()
for target in "${TARGETS[@]}"; do
    work="$SCRATCH/corpus/$target"
    mkdir -p "$work"
    seeds=("Fuzz/corpus/$target")
    if [ "$target" = FuzzZabbixFrames ] && compgen -G 'Fixtures/*/*.bin' >/dev/null; then
        # Fixture streams get the target's two control bytes: chunk size 32, 1 MiB limit, and the
        # direction (0x08 = server).
        fixtures="$SCRATCH/fixture-seeds"
        rm -rf "$fixtures" && mkdir -p "$fixtures"
        for file in Fixtures/*/client.bin Fixtures/*/server.bin; do
            [ -f "$file" ] || continue
            name=$(echo "$file" | tr '/' '_')
            case "$file" in *server.bin) prefix='\037\017' ;; *) prefix='\037\007' ;; esac
            { printf "$prefix"; head -c 1048576 "$file"; } > "$fixtures/$name"
        done
        seeds+=("$fixtures")
    fi
    log="$SCRATCH/logs/$target.log"
    echo "fuzz.sh: running $target for $SECONDS_PER_TARGET s (max_len $(max_len "$target"))"
    set +e
    nice -n "$NICE" "$SCRATCH/release/$target" "$work" "${seeds[@]}" \
        -max_total_time="$SECONDS_PER_TARGET" -max_len="$(max_len "$target")" \
        -rss_limit_mb="$RSS_LIMIT_MB" -malloc_limit_mb="$RSS_LIMIT_MB" -timeout="$TIMEOUT" \
        -print_final_stats=1 -artifact_prefix="Fuzz/crashes/$target-" > "$log" 2>&1
    status=$?
    set -e
    grep -E '^#[0-9]+ +DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb' "$log" | sed 's/^/    /' || true
    if [ $status -ne 0 ]; then
        echo "fuzz.sh: $target FAILED (exit $status); log: $log" >&2
        grep -E 'ERROR:|SUMMARY:|INVARIANT|Fatal error|Test unit written|artifact' "$log" | head -20 | sed 's/^/    /' >&2 || true
        failed+=("$target")
    fi
done
echo "fuzz.sh: total $(( $(date +%s) - start )) s"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh: failures in: ${failed[*]} (inputs in Fuzz/crashes/)" >&2
    exit 1
fi
echo "fuzz.sh: no crash, leak or timeout"

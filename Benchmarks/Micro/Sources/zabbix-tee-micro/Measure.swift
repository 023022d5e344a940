import CAllocationCounter
import Foundation

/// CPU seconds used by the calling thread (the machine is shared: wall time is noisy, this is not).
func threadCPUSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

/// One stage measured on one workload.
struct Measurement {
    var stage: String
    var workload: String
    /// Item values the measured code handled.
    var values: Int
    var cpuSeconds: Double
    var allocations: UInt64

    var valuesPerSecond: Double { Double(self.values) / self.cpuSeconds }
    var nanosecondsPerValue: Double { self.cpuSeconds * 1e9 / Double(self.values) }
    var allocationsPerValue: Double { Double(self.allocations) / Double(self.values) }
}

/// Runs `body` (which handles `valuesPerCall` item values per call) until `minimumSeconds` of
/// thread CPU time, `rounds` times; keeps the fastest round (the least disturbed by other jobs).
/// Allocations are counted in a separate call after warm-up, so the count is exact per call.
func measure(
    _ stage: String,
    workload: String,
    valuesPerCall: Int,
    minimumSeconds: Double,
    rounds: Int = 3,
    _ body: () -> Void
) -> Measurement {
    body()  // warm up: lazily built tables, first-use metadata
    let before = zbx_allocations()
    body()
    let allocationsPerCall = zbx_allocations() - before
    var best: Measurement?
    for _ in 0..<rounds {
        var calls = 0
        let start = threadCPUSeconds()
        var elapsed = 0.0
        var batch = 1
        while elapsed < minimumSeconds {
            for _ in 0..<batch { body() }
            calls += batch
            elapsed = threadCPUSeconds() - start
            batch = min(batch * 2, 1 << 16)
        }
        let round = Measurement(
            stage: stage,
            workload: workload,
            values: calls * valuesPerCall,
            cpuSeconds: elapsed,
            allocations: allocationsPerCall * UInt64(calls)
        )
        if best == nil || round.valuesPerSecond > best!.valuesPerSecond { best = round }
    }
    return best!
}

/// Keeps the optimiser from discarding a result.
@inline(never)
func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}

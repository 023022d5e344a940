import NIOCore
import Synchronization

/// A fixed-bucket histogram of durations, recorded on one thread and read from any.
///
/// The Riemann client records one sample per reply (the time from writing a message to reading
/// its acknowledgement); metrics read a ``Snapshot`` at scrape time. Recording takes an
/// uncontended lock once per message, not per event.
public final class RiemannLatencyHistogram: Sendable {
    /// Bucket upper bounds in seconds used by the client: 1 ms to 10 s.
    public static let defaultUpperBounds: [Double] = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]

    /// The counts of a histogram at one moment.
    public struct Snapshot: Sendable, Equatable {
        /// Bucket upper bounds in seconds, ascending (without `+Inf`).
        public var upperBounds: [Double]
        /// Samples per bucket, *not* cumulative: `counts[i]` holds samples in
        /// `(upperBounds[i-1], upperBounds[i]]`; the last element counts samples above every bound.
        public var counts: [UInt64]
        /// Sum of all samples, in seconds.
        public var sum: Double
        /// Number of samples.
        public var count: UInt64 { self.counts.reduce(0, +) }

        /// Cumulative counts per upper bound, as Prometheus `le` buckets (the last is `+Inf`).
        public var cumulativeCounts: [UInt64] {
            var running: UInt64 = 0
            return self.counts.map {
                running &+= $0
                return running
            }
        }
    }

    private let upperBounds: [Double]
    private let state: Mutex<(counts: [UInt64], sum: Double)>

    /// - Parameter upperBounds: bucket bounds in seconds (sorted, duplicates and NaN left out).
    public init(upperBounds: [Double] = RiemannLatencyHistogram.defaultUpperBounds) {
        let upperBounds = Array(Set(upperBounds.filter { !$0.isNaN })).sorted()
        self.upperBounds = upperBounds
        self.state = Mutex((Array(repeating: 0, count: upperBounds.count + 1), 0))
    }

    /// Records one duration.
    public func record(_ duration: TimeAmount) {
        let seconds = Double(max(duration.nanoseconds, 0)) / 1e9
        let bucket = self.upperBounds.firstIndex { seconds <= $0 } ?? self.upperBounds.count
        self.state.withLock { state in
            state.counts[bucket] &+= 1
            state.sum += seconds
        }
    }

    /// The counts now.
    public var snapshot: Snapshot {
        self.state.withLock { state in
            Snapshot(upperBounds: self.upperBounds, counts: state.counts, sum: state.sum)
        }
    }
}

/// Something that reports metric values when `/metrics` is scraped.
///
/// `collect(into:)` runs once per scrape, off the event loops, and should only read counters
/// that already exist (atomics, statistics snapshots): no per-packet work is done for metrics.
/// Counters must be totals since the source was created, so that they never decrease.
public protocol MetricsSource: Sendable {
    func collect(into snapshot: inout MetricsSnapshot)
}

/// A ``MetricsSource`` made of a closure, for small or ad-hoc sources.
public struct ClosureMetricsSource: MetricsSource {
    private let body: @Sendable (inout MetricsSnapshot) -> Void

    public init(_ body: @escaping @Sendable (inout MetricsSnapshot) -> Void) {
        self.body = body
    }

    public func collect(into snapshot: inout MetricsSnapshot) {
        self.body(&snapshot)
    }
}

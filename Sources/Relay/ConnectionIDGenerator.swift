import Synchronization

/// Hands out process-wide unique, increasing connection ids (shared by all listeners).
public final class ConnectionIDGenerator: Sendable {
    private let last = Atomic<UInt64>(0)

    public init() {}

    public func next() -> UInt64 {
        self.last.add(1, ordering: .relaxed).newValue
    }
}

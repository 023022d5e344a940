import NIOCore
import Synchronization

/// A clock that moves only when a test says so: pass ``now`` where code takes a
/// `now: () -> NIODeadline`, then ``advance(by:)`` instead of sleeping.
public final class VirtualClock: Sendable {
    private let nanoseconds: Atomic<Int64>

    /// Starts at `start` (an arbitrary instant: only differences matter).
    public init(start: NIODeadline = .uptimeNanoseconds(1_000_000_000)) {
        self.nanoseconds = Atomic(Int64(start.uptimeNanoseconds))
    }

    /// The current virtual instant.
    public var now: NIODeadline { .uptimeNanoseconds(UInt64(self.nanoseconds.load(ordering: .acquiring))) }

    /// Moves the clock forward.
    public func advance(by amount: TimeAmount) {
        self.nanoseconds.add(amount.nanoseconds, ordering: .releasing)
    }
}

import Synchronization

/// The process-wide connection limit (top-level `max_connections`): every listener's admission
/// takes a place here after its own checks, so that all listeners together never hold more
/// client connections (two descriptors each) than the process can afford.
public final class ConnectionBudget: Sendable {
    /// Client connections open at once over all listeners.
    public var limit: Int { self.maximum.load(ordering: .relaxed) }
    private let maximum: Atomic<Int>
    private let taken = Atomic<Int>(0)

    public init(limit: Int) {
        self.maximum = Atomic(max(0, limit))
    }

    /// Changes the limit (a configuration reload); connections above a lowered limit stay open.
    public func setLimit(_ limit: Int) {
        self.maximum.store(max(0, limit), ordering: .relaxed)
    }

    /// Connections holding a place.
    public var inUse: Int { self.taken.load(ordering: .relaxed) }

    /// Takes a place; `false` when all are taken.
    func take() -> Bool {
        var current = self.taken.load(ordering: .relaxed)
        let limit = self.limit
        while current < limit {
            let (exchanged, original) = self.taken.compareExchange(
                expected: current,
                desired: current + 1,
                ordering: .relaxed
            )
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Gives a place back.
    func give() {
        self.taken.subtract(1, ordering: .relaxed)
    }
}

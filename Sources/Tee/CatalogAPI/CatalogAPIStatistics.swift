import Synchronization

/// What the Zabbix API lookups came to, over the process's life (clients replaced by a reload
/// add to the same totals), for `/metrics`.
public final class CatalogAPIStatistics: Sendable {
    /// Counts by outcome.
    struct Counts: Sendable, Hashable {
        var items: [String: Int] = [:]
        var requests: [String: Int] = [:]

        init() {}

        init(_ machine: CatalogAPILookupStateMachine) {
            self.items = Dictionary(uniqueKeysWithValues: machine.itemOutcomes.map { ($0.key.rawValue, $0.value) })
            self.requests = Dictionary(
                uniqueKeysWithValues: machine.requestOutcomes.map { ($0.key.rawValue, $0.value) }
            )
        }

        func subtracting(_ other: Counts) -> Counts {
            var result = Counts()
            result.items = self.items.merging(other.items.mapValues { -$0 }, uniquingKeysWith: +).filter {
                $0.value != 0
            }
            result.requests = self.requests.merging(other.requests.mapValues { -$0 }, uniquingKeysWith: +).filter {
                $0.value != 0
            }
            return result
        }
    }

    private let state = Mutex((counts: Counts(), circuitOpen: false))

    public init() {}

    func add(_ delta: Counts, circuitOpen: Bool) {
        self.state.withLock { state in
            state.counts.items.merge(delta.items, uniquingKeysWith: +)
            state.counts.requests.merge(delta.requests, uniquingKeysWith: +)
            state.circuitOpen = circuitOpen
        }
    }

    /// Itemids by outcome, every outcome present: `resolved`, `not_found`, `not_found_cached`,
    /// `circuit_open`, `queue_full`, `expired`.
    public var items: [(outcome: String, count: Int)] {
        let items = self.state.withLock { $0.counts.items }
        return CatalogAPILookupStateMachine.ItemOutcome.allCases.map { ($0.rawValue, items[$0.rawValue] ?? 0) }
    }

    /// Requests by outcome, every outcome present: `ok`, `error`, `timeout`, `rate_limited`.
    public var requests: [(outcome: String, count: Int)] {
        let requests = self.state.withLock { $0.counts.requests }
        return CatalogAPILookupStateMachine.RequestOutcome.allCases.map { ($0.rawValue, requests[$0.rawValue] ?? 0) }
    }

    /// Whether the circuit breaker is open (or half-open) now.
    public var circuitOpen: Bool { self.state.withLock { $0.circuitOpen } }
}

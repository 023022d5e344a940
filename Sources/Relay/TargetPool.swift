import NIOCore
import Synchronization

/// The targets of one listener, the order in which to try them, and their passive health.
///
/// A target whose connect attempt failed is *cooling down* for ``coolDown``: new connections try
/// the healthy targets first and a cooling target only after all healthy ones failed, so a
/// listener never ends up with no target at all.
public final class TargetPool: Sendable {
    public let targets: [Endpoint]
    public let strategy: BalanceStrategy
    public let coolDown: TimeAmount
    /// Connect outcomes per target, in the order of ``targets``.
    public let statistics: [TargetStatistics]

    private struct State {
        var failedAt: [NIODeadline?]
        var nextRoundRobin = 0
        var random = SystemRandomNumberGenerator()
    }
    private let state: Mutex<State>
    /// `0..<targets.count`, built once.
    private let allIndices: [Int]

    /// - Parameter previous: a pool this one replaces (on a configuration reload): targets that
    ///   were in it keep their counters and their cool-down.
    public init(
        targets: [Endpoint],
        strategy: BalanceStrategy,
        coolDown: TimeAmount,
        carryingOver previous: TargetPool? = nil
    ) {
        self.targets = targets
        self.strategy = strategy
        self.coolDown = coolDown
        var statistics: [TargetStatistics] = []
        var failedAt: [NIODeadline?] = []
        var unused = previous.map { Array($0.targets.indices) } ?? []
        let previousFailures = previous?.state.withLock { $0.failedAt } ?? []
        for target in targets {
            if let previous, let position = unused.firstIndex(where: { previous.targets[$0] == target }) {
                let index = unused.remove(at: position)
                statistics.append(previous.statistics[index])
                failedAt.append(previousFailures[index])
            } else {
                statistics.append(TargetStatistics(endpoint: target))
                failedAt.append(nil)
            }
        }
        self.statistics = statistics
        self.state = Mutex(State(failedAt: failedAt))
        self.allIndices = Array(targets.indices)
    }

    /// Indices into ``targets`` in the order a new connection should try them:
    /// healthy targets in strategy order, then cooling ones, least recently failed first.
    public func candidates(now: NIODeadline = .now()) -> [Int] {
        // A single target is tried whatever its health: no order to work out, no lock, no allocation.
        // No target (configuration refuses that, a library user may not): no candidates, and
        // the connection ends as one that no target accepted.
        if self.targets.count <= 1 { return self.allIndices }
        return self.state.withLock { state in
            var order = Array(self.targets.indices)
            switch self.strategy {
            case .failover:
                break
            case .roundRobin:
                let start = state.nextRoundRobin % order.count
                state.nextRoundRobin = (start + 1) % order.count
                order = Array(order[start...] + order[..<start])
            case .random:
                order.shuffle(using: &state.random)
            }
            var healthy: [Int] = []
            var cooling: [(index: Int, since: NIODeadline)] = []
            for index in order {
                if let failedAt = state.failedAt[index], failedAt + self.coolDown > now {
                    cooling.append((index, failedAt))
                } else {
                    healthy.append(index)
                }
            }
            if self.strategy == .roundRobin, let first = healthy.first, first != order.first {
                // The target whose turn it was is cooling down: the next healthy one takes its turn.
                state.nextRoundRobin = (first + 1) % order.count
            }
            return healthy + cooling.sorted { $0.since < $1.since }.map(\.index)
        }
    }

    /// Records a failed connect attempt: the target cools down from `now`.
    public func recordFailure(_ index: Int, now: NIODeadline = .now()) {
        self.statistics[index].recordFailure()
        self.state.withLock { $0.failedAt[index] = now }
    }

    /// Records a successful connect: the target is healthy again.
    public func recordSuccess(_ index: Int) {
        self.statistics[index].recordSuccess()
        self.state.withLock { $0.failedAt[index] = nil }
    }

    /// Whether the target is currently considered healthy (not cooling down).
    public func isHealthy(_ index: Int, now: NIODeadline = .now()) -> Bool {
        self.state.withLock { state in
            guard let failedAt = state.failedAt[index] else { return true }
            return failedAt + self.coolDown <= now
        }
    }
}

/// Connect outcomes for one target; read by metrics.
public final class TargetStatistics: Sendable {
    public let endpoint: Endpoint
    private let connects = Atomic<Int>(0)
    private let failures = Atomic<Int>(0)

    init(endpoint: Endpoint) {
        self.endpoint = endpoint
    }

    /// Successful connects to this target.
    public var successfulConnects: Int { self.connects.load(ordering: .relaxed) }
    /// Failed connect attempts (refused, unreachable, timed out).
    public var failedConnects: Int { self.failures.load(ordering: .relaxed) }

    func recordSuccess() { self.connects.add(1, ordering: .relaxed) }
    func recordFailure() { self.failures.add(1, ordering: .relaxed) }
}

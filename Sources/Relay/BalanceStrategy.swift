/// How a listener chooses among its targets for each new connection.
public enum BalanceStrategy: String, Sendable, Hashable, CaseIterable {
    /// The first healthy target in configuration order; the others only when it fails.
    case failover
    /// Healthy targets in turn, one connection each.
    case roundRobin = "round-robin"
    /// A healthy target picked at random for each connection.
    case random
}

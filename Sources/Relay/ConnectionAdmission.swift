import LogThrottling
import Logging
import NIOCore
import Synchronization

/// Decides, for each accepted client connection, whether the listener takes it: the allow-list,
/// the listener's connection limit, the per-source limit and the accept rate. A refused
/// connection is closed at once, before any target is connected and before a byte is read —
/// Zabbix agents, senders and proxies see a closed connection and retry later, as when the
/// server is down. Each refusal is counted in ``RelayStatistics`` by ``Reason`` and logged as a
/// warning the first time and then at most once per `refusalLogInterval` per reason.
///
/// Checks, in order: allow-list (`not_allowed`), connections open on the listener
/// (`max_connections`), connections open from the client's address (`source_limit`), the
/// process-wide limit of all listeners together (`process_max_connections`), the accept rate
/// (`rate_limit`; a token is taken only for a connection that passed the other checks, so
/// refused connections do not eat the budget of good ones).
///
/// Thread-safe: connections arrive on every event loop. ``update(_:)`` replaces the settings of
/// a running listener (configuration reload); open connections are never closed by it.
public final class ConnectionAdmission: Sendable {
    /// Why a connection was refused; the `reason` label of `zabbix_tee_connections_refused_total`.
    public enum Reason: String, Sendable, Hashable, CaseIterable {
        /// The client's address is in none of the listener's `allow` networks.
        case notAllowed = "not_allowed"
        /// `max_connections_per_source` connections from this address are open.
        case sourceLimit = "source_limit"
        /// The `accept_rate` bucket is empty.
        case rateLimit = "rate_limit"
        /// `max_connections` connections are open on the listener.
        case maxConnections = "max_connections"
        /// The process-wide `max_connections` (all listeners together) is reached.
        case processLimit = "process_max_connections"
    }

    /// The limits of one listener.
    public struct Settings: Sendable, Hashable {
        /// Client networks admitted (`allow`); ``IPNetwork/everyone`` admits every client.
        public var allow: [IPNetwork]
        /// Connections open at once on the listener (`max_connections`).
        public var maxConnections: Int
        /// Connections open at once from one address (`max_connections_per_source`); `nil`: no limit.
        public var maxConnectionsPerSource: Int?
        /// The token bucket (`accept_rate`); `nil`: no rate limit.
        public var acceptRate: AcceptRate?

        public init(
            allow: [IPNetwork] = IPNetwork.everyone,
            maxConnections: Int = 10_000,
            maxConnectionsPerSource: Int? = nil,
            acceptRate: AcceptRate? = nil
        ) {
            self.allow = allow
            self.maxConnections = maxConnections
            self.maxConnectionsPerSource = maxConnectionsPerSource
            self.acceptRate = acceptRate
        }

        /// The limits a listener configuration asks for.
        public init(_ configuration: RelayListenerConfiguration) {
            self.init(
                allow: configuration.allow,
                maxConnections: configuration.maxConnections,
                maxConnectionsPerSource: configuration.maxConnectionsPerSource,
                acceptRate: configuration.acceptRate
            )
        }
    }

    /// An admitted connection; hand it back to ``release(_:)`` exactly once when it closes.
    public struct Ticket: Sendable {
        /// The client's address (the per-source count it holds), if known.
        public let source: IPAddress?
        /// Whether it holds a place under the process-wide limit.
        let budgeted: Bool
    }

    /// The outcome of ``admit(_:now:)``.
    public enum Decision: Sendable {
        case admitted(Ticket)
        case refused(Reason)
    }

    private struct State {
        var settings: Settings
        var open = 0
        var perSource: [IPAddress: Int] = [:]
        var tokens: Double
        var refilled: NIODeadline
    }

    private let state: Mutex<State>
    /// The process-wide limit shared by every listener, if any.
    private let budget: ConnectionBudget?
    private let statistics: RelayStatistics
    private let logger: Logger
    private let warnings: LogThrottle<Reason>

    /// - Parameters:
    ///   - statistics: where refusals are counted.
    ///   - logger: where refusals are logged (carries the listener's name).
    ///   - logInterval: the shortest time between two warnings for the same reason.
    ///   - budget: the process-wide limit, shared with the other listeners.
    public init(
        settings: Settings,
        statistics: RelayStatistics,
        logger: Logger,
        logInterval: TimeAmount = .seconds(60),
        budget: ConnectionBudget? = nil,
        now: NIODeadline = .now()
    ) {
        self.state = Mutex(State(settings: settings, tokens: Double(settings.acceptRate?.burst ?? 0), refilled: now))
        self.budget = budget
        self.statistics = statistics
        self.logger = logger
        self.warnings = LogThrottle(interval: logInterval)
    }

    /// The settings in force.
    public var settings: Settings { self.state.withLock { $0.settings } }

    /// Replaces the settings; connections already open stay open and keep counting against the
    /// new limits. A bucket whose size changed starts full at the new size.
    public func update(_ settings: Settings, now: NIODeadline = .now()) {
        self.state.withLock { state in
            if settings.acceptRate != state.settings.acceptRate {
                state.tokens = Double(settings.acceptRate?.burst ?? 0)
                state.refilled = now
            }
            state.settings = settings
        }
    }

    /// Connections admitted and not yet released.
    public var openConnections: Int { self.state.withLock { $0.open } }

    /// Connections admitted from `source` and not yet released.
    public func openConnections(from source: IPAddress) -> Int {
        self.state.withLock { $0.perSource[source] ?? 0 }
    }

    /// Decides on a connection from `peer`; a refusal is counted and (throttled) logged here,
    /// the caller only closes the channel.
    public func admit(_ peer: SocketAddress?, now: NIODeadline = .now()) -> Decision {
        self.admit(source: peer.flatMap(IPAddress.init), peer: peer, now: now)
    }

    /// Decides on a connection from `source`; `peer` (the address with its port, for the log
    /// line of a refusal) is only built when a refusal is logged.
    public func admit(source: IPAddress?, peer: @autoclosure () -> SocketAddress?, now: NIODeadline) -> Decision {
        let decision = self.state.withLock { state -> Decision in
            let settings = state.settings
            if settings.allow != IPNetwork.everyone {
                guard let source, settings.allow.contains(where: { $0.contains(source) }) else {
                    return .refused(.notAllowed)
                }
            }
            guard state.open < settings.maxConnections else { return .refused(.maxConnections) }
            if let limit = settings.maxConnectionsPerSource, let source, state.perSource[source, default: 0] >= limit {
                return .refused(.sourceLimit)
            }
            if let budget = self.budget, !budget.take() { return .refused(.processLimit) }
            if let rate = settings.acceptRate {
                let elapsed = Double((now - state.refilled).nanoseconds) / 1e9
                if elapsed > 0 {
                    state.tokens = min(Double(rate.burst), state.tokens + elapsed * rate.perSecond)
                    state.refilled = now
                }
                guard state.tokens >= 1 else {
                    self.budget?.give()
                    return .refused(.rateLimit)
                }
                state.tokens -= 1
            }
            state.open += 1
            // Counted whether or not a per-source limit is set, so that one set by a reload
            // sees the connections already open.
            if let source { state.perSource[source, default: 0] += 1 }
            return .admitted(Ticket(source: source, budgeted: self.budget != nil))
        }
        if case .refused(let reason) = decision {
            self.statistics.connectionRefused(reason)
            self.warnings.warning(
                reason,
                self.message(reason),
                logger: self.logger,
                metadata: self.metadata(reason, peer: peer()),
                now: now
            )
        }
        return decision
    }

    /// Gives back what an admitted connection held.
    public func release(_ ticket: Ticket) {
        if ticket.budgeted { self.budget?.give() }
        self.state.withLock { state in
            state.open -= 1
            if let source = ticket.source, let count = state.perSource[source] {
                state.perSource[source] = count > 1 ? count - 1 : nil
            }
        }
    }

    private func message(_ reason: Reason) -> Logger.Message {
        switch reason {
        case .notAllowed: return "client address not in the listener's allow list; closing the new client connection"
        case .sourceLimit: return "per-source connection limit reached; closing the new client connection"
        case .rateLimit: return "accept rate limit reached; closing the new client connection"
        case .maxConnections: return "connection limit reached; closing the new client connection"
        case .processLimit: return "process-wide connection limit reached; closing the new client connection"
        }
    }

    private func metadata(_ reason: Reason, peer: SocketAddress?) -> Logger.Metadata {
        let settings = self.settings
        var metadata: Logger.Metadata = ["peer": "\(peer?.displayText ?? "unknown")", "reason": "\(reason.rawValue)"]
        switch reason {
        case .notAllowed:
            // A long list is cut: the line is about the peer, the configuration has the rest.
            let shown = settings.allow.prefix(8).map(\.description).joined(separator: ",")
            metadata["allow"] =
                "\(settings.allow.count > 8 ? shown + ",... (\(settings.allow.count) networks)" : shown)"
        case .sourceLimit:
            metadata["max_connections_per_source"] = "\(settings.maxConnectionsPerSource ?? 0)"
        case .rateLimit:
            if let rate = settings.acceptRate {
                metadata["accept_rate"] = "\(rate.perSecond)/s"
                metadata["burst"] = "\(rate.burst)"
            }
        case .maxConnections:
            metadata["max_connections"] = "\(settings.maxConnections)"
        case .processLimit:
            metadata["process_max_connections"] = "\(self.budget?.limit ?? 0)"
        }
        return metadata
    }
}

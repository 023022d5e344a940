import Admin
import Logging
import Relay
import Riemann

/// The whole `config.yaml`, validated, with defaults filled in.
public struct TeeConfiguration: Sendable {
    /// Log level unless `--log-level` overrides it. Key `log_level`, default `info`.
    public var logLevel: Logger.Level
    /// How long a graceful shutdown lets open connections finish. Key `shutdown_timeout`, default 30 s.
    public var shutdownTimeout: Duration
    /// Event-loop threads (key `threads`); `nil` (`auto`): the CPUs this process may run on.
    public var threads: Int?
    /// Client connections open at once over all listeners (key `max_connections`, default
    /// ``defaultMaxConnections``); more are refused (`process_max_connections`).
    public var maxConnections: Int
    /// 30 000: two descriptors each fit the systemd unit's `LimitNOFILE=65536` with 5 536 left for
    /// listening sockets, recordings, the admin endpoint, Riemann and the catalog.
    public static let defaultMaxConnections = 30_000
    /// One entry per `listeners` item.
    public var listeners: [RelayListenerConfiguration]
    /// What the tee does with each listener's traffic besides relaying it, by listener name.
    public var listenerOptions: [String: ListenerOptions]
    /// Decoding and the item catalog (`decode:`, `catalog:`).
    public var decode: DecodeConfiguration
    /// The Riemann output (`riemann:`); `nil` when the section is absent: decode only.
    public var riemann: RiemannClientConfiguration?
    /// How long a shutdown waits for queued events to be acknowledged (`riemann.flush_timeout`).
    public var riemannFlushTimeout: Duration
    /// The tee's own figures as events (`riemann.self_monitoring:`); `nil`: off.
    public var selfMonitoring: SelfMonitoringConfiguration?
    /// The Graphite output (`graphite:`); `nil` when the section is absent.
    public var graphite: GraphiteConfiguration? = nil
    /// Item value → Riemann event (`mapping:`).
    public var mapping: MappingConfiguration
    /// The metrics and health endpoint (`admin:`); `nil` when `admin.listen` is `off`.
    public var admin: AdminServer.Configuration?
    /// Valid but probably unwise settings (an admin endpoint on a public address), with where they
    /// are; printed by `check-config`, logged by `run`.
    public var warnings: [ConfigWarning] = []

    /// Per-listener options that are not about relaying.
    public struct ListenerOptions: Sendable, Hashable {
        /// Decode this listener's traffic (key `decode`, default true).
        public var decode: Bool = true
        /// Write each connection's bytes to a directory as a fixture (key `record`).
        public var record: RecordingConfiguration? = nil
        /// The listener sits in front of a passive proxy (key `passive_proxy`, default false): the
        /// configuration the server pushes through it is learned by the item catalog once the
        /// proxy accepts it. On every other listener a pushed configuration is relayed, counted
        /// and ignored, so that no client can write the catalog.
        public var passiveProxy: Bool = false
        public init() {}
    }

    public init(
        logLevel: Logger.Level = .info,
        shutdownTimeout: Duration = .seconds(30),
        listeners: [RelayListenerConfiguration]
    ) {
        self.logLevel = logLevel
        self.shutdownTimeout = shutdownTimeout
        self.threads = nil
        self.maxConnections = Self.defaultMaxConnections
        self.listeners = listeners
        self.listenerOptions = [:]
        self.decode = DecodeConfiguration()
        self.riemann = nil
        self.riemannFlushTimeout = .seconds(10)
        self.selfMonitoring = nil
        self.mapping = MappingConfiguration()
        self.admin = AdminServer.Configuration()
    }

    /// Options of the listener named `name` (defaults when not configured).
    public func options(for name: String) -> ListenerOptions {
        self.listenerOptions[name] ?? ListenerOptions()
    }
}

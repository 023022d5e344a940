import Riemann

/// The Graphite output (`graphite:` in config.yaml): the values the mapping emits, those with a
/// metric, as carbon plaintext lines, delivered by the same client as Riemann's events
/// (``EventWireFormat/graphitePlaintext``): same bounded queue, batching, backoff and failover.
public struct GraphiteConfiguration: Sendable {
    /// Servers (`servers`, carbon's line receiver, usually port 2003), batching, queue, timeouts
    /// and backoff; `acknowledgementTimeout` is `write_timeout` here.
    public var client: RiemannClientConfiguration
    /// How values are written (`protocol`): carbon's plaintext lines (port 2003) or pickle
    /// frames (port 2004).
    public var wireProtocol: WireProtocol = .plaintext
    public enum WireProtocol: String, Sendable, Hashable, CaseIterable {
        case plaintext
        case pickle

        /// The client's wire format for this protocol.
        public var wireFormat: EventWireFormat {
            switch self {
            case .plaintext: .graphitePlaintext
            case .pickle: .graphitePickle
            }
        }
    }
    /// Put, with a `.`, in front of every path (`prefix`, default `zabbix`; `""`: nothing).
    public var prefix: String = "zabbix"
    /// The path of a value (`path`), rendered like `mapping.service`.
    public var path = ServiceTemplate("{host|reverse}.{key|graphite}")
    /// How long a shutdown waits for queued lines to be written (`flush_timeout`).
    public var flushTimeout: Duration = .seconds(10)

    public init(servers: [RiemannServerAddress]) {
        self.client = RiemannClientConfiguration(servers: servers)
    }
}

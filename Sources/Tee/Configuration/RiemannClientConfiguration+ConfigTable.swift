import Relay
import Riemann

/// The `riemann:` section: the client, how long a shutdown waits for it, and self-monitoring.
struct RiemannSection {
    var client: RiemannClientConfiguration
    var flushTimeout: Duration
    var selfMonitoring: SelfMonitoringConfiguration?

    /// The defaults, before the section's keys are read.
    static func defaults() -> RiemannSection {
        RiemannSection(client: RiemannClientConfiguration(servers: []), flushTimeout: .seconds(10), selfMonitoring: nil)
    }

    /// All keys are live: the running client is reconfigured without losing queued events.
    static var table: ConfigTable<RiemannSection> {
        ConfigTable(
            [
                .servers(
                    \.client.servers,
                    .live,
                    "Riemann servers, in order of preference",
                    example: "Riemann servers, e.g. [\"riemann:5555\"]"
                ),
                .table(
                    "batch",
                    \.client,
                    RiemannClientConfiguration.batchTable,
                    .inline,
                    .live,
                    "how events are grouped into messages"
                ),
                .table(
                    "queue",
                    \.client,
                    RiemannClientConfiguration.queueTable,
                    .inline,
                    .live,
                    "events waiting to be sent"
                ),
                .int(
                    "in_flight",
                    \.client.maximumMessagesInFlight,
                    in: 1...1024,
                    .live,
                    "messages sent and not yet acknowledged"
                ),
                .duration(
                    "ack_timeout",
                    \.client.acknowledgementTimeout,
                    atLeast: .milliseconds(10),
                    .live,
                    "an unacknowledged message is sent again after this"
                ),
                .duration(
                    "connect_timeout",
                    \.client.connectTimeout,
                    atLeast: .milliseconds(1),
                    .live,
                    "connecting to a server, before trying the next"
                ),
                .table(
                    "reconnect",
                    \.client,
                    RiemannClientConfiguration.reconnectTable,
                    .inline,
                    .live,
                    "back-off between connection attempts"
                ),
                .int(
                    "max_delivery_attempts",
                    \.client.maximumDeliveryAttempts,
                    in: 1...1000,
                    .live,
                    "sends of one event before it is dropped"
                ),
                .duration(
                    "flush_timeout",
                    \.flushTimeout,
                    .live,
                    "how long a shutdown waits for queued events to be acknowledged"
                ),
                .optionalTable(
                    "self_monitoring",
                    \.selfMonitoring,
                    SelfMonitoringConfiguration.table,
                    .block,
                    .live,
                    "the tee's own figures as events (absent: off)",
                    make: { SelfMonitoringConfiguration() },
                    absent: .comment("(absent: off)")
                ),
            ],
            validate: { (node, riemann, _) throws(ConfigError) in try riemann.client.checkQueueHoldsABatch(node) }
        )
    }

    static func servers(_ node: ConfigNode) throws(ConfigError) -> [RiemannServerAddress] {
        try node.endpoints(atLeastOne: "server") { endpoint, _ in endpoint.port == 0 ? "port must not be 0" : nil }
            .map { RiemannServerAddress(host: $0.host, port: $0.port) }
    }
}

extension ConfigField {
    /// A required `servers` list of `host:port` (Riemann's, carbon's); `example` follows the
    /// "missing key" message.
    static func servers(
        _ keyPath: WritableKeyPath<Section, [RiemannServerAddress]>,
        _ reload: ReloadClass,
        _ doc: String,
        example: String
    ) -> Self {
        .value(
            "servers",
            keyPath,
            reload,
            doc,
            missing: "missing key 'servers' (\(example))",
            parse: RiemannSection.servers,
            print: { servers in ConfigText.list(servers.map { Endpoint(host: $0.host, port: $0.port).description }) }
        )
    }
}

extension RiemannClientConfiguration {
    /// The queue must hold a full batch; `node` is the section (`riemann`, `graphite`).
    func checkQueueHoldsABatch(_ node: ConfigNode) throws(ConfigError) {
        guard self.queueMaximumBytes >= self.maximumBatchBytes else {
            throw (node["queue"]?["max_bytes"] ?? node["queue"] ?? node).error(
                "queue max_bytes (\(ByteSizeFormat.text(self.queueMaximumBytes))) must be at least batch max_bytes (\(ByteSizeFormat.text(self.maximumBatchBytes))), or a full batch could never be queued"
            )
        }
    }

    static var batchTable: ConfigTable<RiemannClientConfiguration> {
        ConfigTable([
            .int("max_events", \.maximumBatchEvents, in: 1...100_000, .live, "events in one message at most"),
            .bytes(
                "max_bytes",
                \.maximumBatchBytes,
                in: (64 << 10)...(64 << 20),
                .live,
                "bytes of one message at most"
            ),
            .duration(
                "max_delay",
                \.maximumBatchDelay,
                .live,
                "how long an event waits for others to share its message"
            ),
        ])
    }

    static var queueTable: ConfigTable<RiemannClientConfiguration> {
        ConfigTable([
            .int("max_events", \.queueCapacity, in: 1...100_000_000, .live, "events waiting at most"),
            .bytes(
                "max_bytes",
                \.queueMaximumBytes,
                in: (64 << 10)...(16 << 30),
                .live,
                "bytes of waiting events at most"
            ),
            .value(
                "overflow",
                \.overflowPolicy,
                .live,
                "which events a full queue drops: drop-oldest or drop-newest",
                parse: { (node) throws(ConfigError) in
                    switch try node.string() {
                    case "drop-oldest": return .dropOldest
                    case "drop-newest": return .dropNewest
                    case let other: throw node.error("unknown value \"\(other)\" (expected drop-oldest, drop-newest)")
                    }
                },
                print: { $0 == .dropOldest ? "drop-oldest" : "drop-newest" }
            ),
        ])
    }

    static var reconnectTable: ConfigTable<RiemannClientConfiguration> {
        ConfigTable(
            [
                .duration("min", \.reconnectBackoffMinimum, atLeast: .milliseconds(1), .live, "the first back-off"),
                .duration("max", \.reconnectBackoffMaximum, atLeast: .milliseconds(1), .live, "the longest back-off"),
            ],
            validate: { (node, client, _) throws(ConfigError) in
                if client.reconnectBackoffMaximum < client.reconnectBackoffMinimum {
                    throw node.error("max must not be below min")
                }
            }
        )
    }
}

extension SelfMonitoringConfiguration {
    static var table: ConfigTable<SelfMonitoringConfiguration> {
        ConfigTable(
            [
                .duration("interval", \.interval, atLeast: .seconds(1), .live, "how often the figures are sent"),
                .string("host", \.host, .live, "the events' host"),
                .string(
                    "service_prefix",
                    \.servicePrefix,
                    nonEmpty: false,
                    .live,
                    "put before each figure's name in the service"
                ),
                .ttl("ttl", \.ttl, .live, "event time to live, or none (default: three intervals)"),
                .strings("tags", \.tags, .live, "tags of every event"),
            ],
            validate: { (node, monitoring, _) throws(ConfigError) in
                if node["ttl"] == nil { monitoring.ttl = Self.defaultTTL(interval: monitoring.interval) }
            }
        )
    }
}

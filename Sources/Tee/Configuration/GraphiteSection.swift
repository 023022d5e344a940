import NIOCore
import Relay
import Riemann

/// The `graphite:` section.
extension ConfigLoader {
    static let graphiteKeys = [
        "servers", "protocol", "prefix", "path", "batch", "queue", "write_timeout", "connect_timeout", "reconnect",
        "flush_timeout",
    ]
    static let graphiteBatchKeys = ["max_events", "max_bytes", "max_delay"]
    static let graphiteQueueKeys = ["max_events", "max_bytes", "overflow"]
    static let graphiteReconnectKeys = ["min", "max"]

    static var graphiteKeyPaths: [String] {
        Self.graphiteKeys.map { "graphite.\($0)" } + Self.graphiteBatchKeys.map { "graphite.batch.\($0)" }
            + Self.graphiteQueueKeys.map { "graphite.queue.\($0)" }
            + Self.graphiteReconnectKeys.map { "graphite.reconnect.\($0)" }
    }

    static func graphiteSection(_ node: ConfigNode) throws(ConfigError) -> GraphiteConfiguration {
        let keys = try node.mapping(allowed: Self.graphiteKeys)
        let servers = try Self.servers(keys["servers"], of: node, example: "(carbon line receivers, e.g. [\"graphite:2003\"])")
        var graphite = GraphiteConfiguration(servers: servers)
        if let n = keys["protocol"] {
            switch try n.string() {
            case "plaintext": break
            case "pickle": throw n.error("the pickle protocol is not implemented; use plaintext (carbon's line receiver, port 2003)")
            case let other: throw n.error("unknown value \"\(other)\" (expected plaintext)")
            }
        }
        if let n = keys["prefix"] { graphite.prefix = try n.string() }
        if let n = keys["path"] {
            let text = try n.nonEmptyString()
            if let unknown = ServiceTemplate.unknownPlaceholders(in: text).first {
                throw n.error("unknown placeholder \(unknown) (known: \(ServiceTemplate.placeholders.joined(separator: ", ")); filters: \(ServiceTemplate.filters.map { "|" + $0 }.joined(separator: ", ")))")
            }
            graphite.path = ServiceTemplate(text)
        }
        if let batch = keys["batch"] {
            let b = try batch.mapping(allowed: Self.graphiteBatchKeys)
            if let n = b["max_events"] { graphite.client.maximumBatchEvents = try n.int(in: 1...100_000) }
            if let n = b["max_bytes"] { graphite.client.maximumBatchBytes = try n.byteSize(in: (64 << 10)...(64 << 20)) }
            if let n = b["max_delay"] { graphite.client.maximumBatchDelay = try n.duration() }
        }
        if let queue = keys["queue"] {
            let q = try queue.mapping(allowed: Self.graphiteQueueKeys)
            if let n = q["max_events"] { graphite.client.queueCapacity = try n.int(in: 1...100_000_000) }
            if let n = q["max_bytes"] {
                graphite.client.queueMaximumBytes = try n.byteSize(in: (64 << 10)...(16 << 30))
                guard graphite.client.queueMaximumBytes >= graphite.client.maximumBatchBytes else {
                    throw n.error("must be at least batch max_bytes (\(ByteSizeFormat.text(graphite.client.maximumBatchBytes)))")
                }
            }
            if let n = q["overflow"] { graphite.client.overflowPolicy = try Self.overflowPolicy(n) }
        }
        if let n = keys["write_timeout"] { graphite.client.acknowledgementTimeout = try n.duration(atLeast: .milliseconds(10)) }
        if let n = keys["connect_timeout"] { graphite.client.connectTimeout = try n.duration(atLeast: .milliseconds(1)) }
        if let reconnect = keys["reconnect"] {
            let r = try reconnect.mapping(allowed: Self.graphiteReconnectKeys)
            if let n = r["min"] { graphite.client.reconnectBackoffMinimum = try n.duration(atLeast: .milliseconds(1)) }
            if let n = r["max"] { graphite.client.reconnectBackoffMaximum = try n.duration(atLeast: .milliseconds(1)) }
            if graphite.client.reconnectBackoffMaximum < graphite.client.reconnectBackoffMinimum {
                throw reconnect.error("max must not be below min")
            }
        }
        if let n = keys["flush_timeout"] { graphite.flushTimeout = try n.duration().duration }
        return graphite
    }

    /// A section's `servers` (required, at least one `host:port`, port not 0); `example` follows
    /// the "missing key" message.
    static func servers(_ serversNode: ConfigNode?, of section: ConfigNode, example: String) throws(ConfigError) -> [RiemannServerAddress] {
        guard let serversNode else { throw section.error("missing key 'servers' \(example)") }
        let serverNodes = try serversNode.sequence()
        guard !serverNodes.isEmpty else { throw serversNode.error("must list at least one server") }
        var servers: [RiemannServerAddress] = []
        for item in serverNodes {
            let endpoint = try item.endpoint()
            guard endpoint.port != 0 else { throw item.error("port must not be 0") }
            servers.append(RiemannServerAddress(host: endpoint.host, port: endpoint.port))
        }
        return servers
    }

    /// `drop-oldest` or `drop-newest`.
    static func overflowPolicy(_ node: ConfigNode) throws(ConfigError) -> RiemannOverflowPolicy {
        switch try node.string() {
        case "drop-oldest": .dropOldest
        case "drop-newest": .dropNewest
        case let other: throw node.error("unknown value \"\(other)\" (expected drop-oldest, drop-newest)")
        }
    }
}

extension TeeConfiguration {
    /// The `graphite` section of ``effectiveYAML``.
    var effectiveGraphiteLines: [String] {
        guard let graphite = self.graphite else { return ["# graphite: (absent: no Graphite output)"] }
        let client = graphite.client
        func text(_ amount: TimeAmount) -> String { DurationFormat.text(amount) }
        return [
            "graphite:",
            "  servers: [\(client.servers.map { Self.quoted(Endpoint(host: $0.host, port: $0.port).description) }.joined(separator: ", "))]",
            "  protocol: plaintext",
            "  prefix: \(Self.quoted(graphite.prefix))",
            "  path: \(Self.quoted(graphite.path.description))",
            "  batch: { max_events: \(client.maximumBatchEvents), max_bytes: \(ByteSizeFormat.text(client.maximumBatchBytes)), max_delay: \(text(client.maximumBatchDelay)) }",
            "  queue: { max_events: \(client.queueCapacity), max_bytes: \(ByteSizeFormat.text(client.queueMaximumBytes)), overflow: \(client.overflowPolicy == .dropOldest ? "drop-oldest" : "drop-newest") }",
            "  write_timeout: \(text(client.acknowledgementTimeout))",
            "  connect_timeout: \(text(client.connectTimeout))",
            "  reconnect: { min: \(text(client.reconnectBackoffMinimum)), max: \(text(client.reconnectBackoffMaximum)) }",
            "  flush_timeout: \(text(TimeAmount(graphite.flushTimeout)))",
        ]
    }
}

import Admin
import NIOCore
import Relay
import Riemann

/// Readers for the sections beyond `listeners`.
extension ConfigLoader {
    static let decodeKeys = ["max_frame_size", "queue_frames", "queue_bytes", "workers", "duplicate_sessions"]
    static let catalogKeys = [
        "path", "max_entries", "max_entries_per_proxy", "save_interval", "unresolved_wait", "unresolved_max", "unresolved",
    ]
    static let riemannKeys = [
        "servers", "batch", "queue", "in_flight", "ack_timeout", "connect_timeout", "reconnect",
        "max_delivery_attempts", "flush_timeout", "self_monitoring",
    ]
    static let selfMonitoringKeys = ["interval", "host", "service_prefix", "ttl", "tags"]
    static let riemannBatchKeys = ["max_events", "max_bytes", "max_delay"]
    static let riemannQueueKeys = ["max_events", "max_bytes", "overflow"]
    static let riemannReconnectKeys = ["min", "max"]
    static let mappingKeys = [
        "service", "state", "not_supported", "partial", "tags", "attributes", "zabbix_attributes", "ttl",
        "description_max_length", "include", "exclude", "ttl_multiple", "ttl_fallback",
    ]
    static let filterKeys = ["hosts", "keys"]
    static let adminKeys = ["listen"]

    static func decodeSection(_ node: ConfigNode, into decode: inout DecodeConfiguration) throws(ConfigError) {
        let keys = try node.mapping(allowed: Self.decodeKeys)
        if let n = keys["max_frame_size"] { decode.maximumFrameSize = try n.byteSize(in: 1024...(1 << 30)) }
        if let n = keys["queue_frames"] { decode.queueFrames = try n.int(in: 1...10_000_000) }
        if let n = keys["queue_bytes"] { decode.queueBytes = try n.byteSize(in: (64 << 10)...(16 << 30)) }
        if let n = keys["workers"] { decode.workers = try n.int(in: 1...64) }
        if let n = keys["duplicate_sessions"] { decode.duplicateSessions = try n.int(in: 1...100_000_000) }
        if decode.queueBytes < decode.maximumFrameSize {
            throw node.error("queue_bytes (\(ByteSizeFormat.text(decode.queueBytes))) must be at least max_frame_size (\(ByteSizeFormat.text(decode.maximumFrameSize))), or the largest frames could never be decoded")
        }
    }

    static func catalogSection(_ node: ConfigNode, into decode: inout DecodeConfiguration) throws(ConfigError) {
        let keys = try node.mapping(allowed: Self.catalogKeys)
        if let n = keys["path"] { decode.catalogPath = try n.nonEmptyString() }
        if let n = keys["max_entries"] { decode.catalogMaximumEntries = try n.int(in: 1...100_000_000) }
        if let n = keys["max_entries_per_proxy"] { decode.catalogMaximumEntriesPerProxy = try n.int(in: 1...100_000_000) }
        if let n = keys["save_interval"] { decode.catalogSaveInterval = try n.duration(atLeast: .seconds(1)).duration }
        if let n = keys["unresolved_wait"] { decode.unresolvedWait = try n.duration().duration }
        if let n = keys["unresolved_max"] { decode.unresolvedMaximum = try n.int(in: 0...100_000_000) }
        if let n = keys["unresolved"] { decode.unresolvedAction = try n.oneOf(DecodeConfiguration.UnresolvedAction.self) }
    }

    static func riemannSection(_ node: ConfigNode) throws(ConfigError)
        -> (RiemannClientConfiguration, Duration, SelfMonitoringConfiguration?)
    {
        let keys = try node.mapping(allowed: Self.riemannKeys)
        let servers = try Self.servers(keys["servers"], of: node, example: "(Riemann servers, e.g. [\"riemann:5555\"])")
        var riemann = RiemannClientConfiguration(servers: servers)
        var flushTimeout: Duration = .seconds(10)
        if let batch = keys["batch"] {
            let b = try batch.mapping(allowed: Self.riemannBatchKeys)
            if let n = b["max_events"] { riemann.maximumBatchEvents = try n.int(in: 1...100_000) }
            if let n = b["max_bytes"] { riemann.maximumBatchBytes = try n.byteSize(in: (64 << 10)...(64 << 20)) }
            if let n = b["max_delay"] { riemann.maximumBatchDelay = try n.duration() }
        }
        var queueBytesNode = node
        if let queue = keys["queue"] {
            let q = try queue.mapping(allowed: Self.riemannQueueKeys)
            queueBytesNode = q["max_bytes"] ?? queue
            if let n = q["max_events"] { riemann.queueCapacity = try n.int(in: 1...100_000_000) }
            if let n = q["max_bytes"] { riemann.queueMaximumBytes = try n.byteSize(in: (64 << 10)...(16 << 30)) }
            if let n = q["overflow"] { riemann.overflowPolicy = try Self.overflowPolicy(n) }
        }
        if riemann.queueMaximumBytes < riemann.maximumBatchBytes {
            throw queueBytesNode.error("queue max_bytes (\(ByteSizeFormat.text(riemann.queueMaximumBytes))) must be at least batch max_bytes (\(ByteSizeFormat.text(riemann.maximumBatchBytes))), or a full batch could never be queued")
        }
        if let n = keys["in_flight"] { riemann.maximumMessagesInFlight = try n.int(in: 1...1024) }
        if let n = keys["ack_timeout"] { riemann.acknowledgementTimeout = try n.duration(atLeast: .milliseconds(10)) }
        if let n = keys["connect_timeout"] { riemann.connectTimeout = try n.duration(atLeast: .milliseconds(1)) }
        if let reconnect = keys["reconnect"] {
            let r = try reconnect.mapping(allowed: Self.riemannReconnectKeys)
            if let n = r["min"] { riemann.reconnectBackoffMinimum = try n.duration(atLeast: .milliseconds(1)) }
            if let n = r["max"] { riemann.reconnectBackoffMaximum = try n.duration(atLeast: .milliseconds(1)) }
            if riemann.reconnectBackoffMaximum < riemann.reconnectBackoffMinimum {
                throw reconnect.error("max must not be below min")
            }
        }
        if let n = keys["max_delivery_attempts"] { riemann.maximumDeliveryAttempts = try n.int(in: 1...1000) }
        if let n = keys["flush_timeout"] { flushTimeout = try n.duration().duration }
        let selfMonitoring = try keys["self_monitoring"].map { (n) throws(ConfigError) in try Self.selfMonitoringSection(n) }
        return (riemann, flushTimeout, selfMonitoring)
    }

    /// Every event the mapping can make must fit one Riemann message: otherwise values with long
    /// texts would be dropped (as `event_too_large`) instead of sent. Points at the key that makes
    /// events long, or at the one that makes messages short.
    static func checkEventsFitBatches(
        _ configuration: TeeConfiguration, riemann: ConfigNode?, mapping: ConfigNode?
    ) throws(ConfigError) {
        guard let client = configuration.riemann, let riemann else { return }
        let largest = configuration.mapping.largestEventBytes
        guard largest > client.maximumBatchBodyBytes else { return }
        let description = (try? mapping?.mapping(allowed: Self.mappingKeys))?["description_max_length"]
        let batch = (try? riemann.mapping(allowed: Self.riemannKeys))?["batch"]
        let batchBytes = (try? batch?.mapping(allowed: Self.riemannBatchKeys))?["max_bytes"]
        throw (description ?? batchBytes ?? riemann).error(
            "an event can take up to \(ByteSizeFormat.text(largest)) bytes with mapping.description_max_length \(ByteSizeFormat.text(configuration.mapping.descriptionMaximumLength)), more than one Riemann message (riemann.batch.max_bytes \(ByteSizeFormat.text(client.maximumBatchBytes))) carries; raise riemann.batch.max_bytes or lower mapping.description_max_length")
    }

    static func selfMonitoringSection(_ node: ConfigNode) throws(ConfigError) -> SelfMonitoringConfiguration {
        let keys = try node.mapping(allowed: Self.selfMonitoringKeys)
        var monitoring = SelfMonitoringConfiguration()
        if let n = keys["interval"] { monitoring.interval = try n.duration(atLeast: .seconds(1)).duration }
        monitoring.ttl = SelfMonitoringConfiguration.defaultTTL(interval: monitoring.interval)
        if let n = keys["host"] { monitoring.host = try n.nonEmptyString() }
        if let n = keys["service_prefix"] { monitoring.servicePrefix = try n.string() }
        if let n = keys["ttl"] {
            let text = try n.string()
            monitoring.ttl = text == "none" ? nil : Float(Double(try n.duration().nanoseconds) / 1e9)
        }
        if let n = keys["tags"] { monitoring.tags = try n.sequence().map { (item) throws(ConfigError) in try item.nonEmptyString() } }
        return monitoring
    }

    static func mappingSection(_ node: ConfigNode) throws(ConfigError) -> MappingConfiguration {
        let keys = try node.mapping(allowed: Self.mappingKeys)
        var mapping = MappingConfiguration()
        if let n = keys["service"] {
            let text = try n.nonEmptyString()
            let unknown = ServiceTemplate.unknownPlaceholders(in: text)
            guard unknown.isEmpty else {
                throw n.error("unknown placeholder \(unknown[0]) (known: \(ServiceTemplate.placeholders.joined(separator: ", ")); filters: \(ServiceTemplate.filters.map { "|" + $0 }.joined(separator: ", ")))")
            }
            mapping.service = ServiceTemplate(text)
        }
        if let n = keys["state"] {
            let text = try n.string()
            mapping.state = text.isEmpty || text == "none" ? nil : text
        }
        if let n = keys["not_supported"] {
            let text = try n.nonEmptyString()
            mapping.notSupported = text == "drop" ? .drop : .state(text)
        }
        if let n = keys["partial"] { mapping.partial = try n.oneOf(MappingConfiguration.PartialBatch.self) }
        if let n = keys["tags"] { mapping.tags = try n.sequence().map { (item) throws(ConfigError) in try item.nonEmptyString() } }
        if let n = keys["attributes"] {
            guard case .mapping(let pairs) = n.node else { throw n.error("expected a mapping of attribute names to values") }
            mapping.attributes = []
            for (key, value) in pairs {
                let name = key.scalar?.string ?? ""
                let entry = ConfigNode(node: value, path: "\(n.path).\(name)", file: n.file)
                guard !["tags", "time", "ttl", "metric"].contains(name), !name.isEmpty else {
                    throw entry.error("Riemann drops an attribute named \"\(name)\"; choose another name")
                }
                mapping.attributes.append((name, try entry.string()))
            }
        }
        if let n = keys["zabbix_attributes"] { mapping.zabbixAttributes = try n.bool() }
        try Self.mappingTTL(keys, into: &mapping)
        if let n = keys["description_max_length"] { mapping.descriptionMaximumLength = try n.byteSize(in: 16...(16 << 20)) }
        if let n = keys["include"] { mapping.include = try Self.filter(n) }
        if let n = keys["exclude"] { mapping.exclude = try Self.filter(n) }
        return mapping
    }

    /// `ttl: 300s | none | auto`; with `auto`, `ttl_multiple` (default 3) and `ttl_fallback`
    /// (default 300 s, or `none`), which mean nothing without it.
    static func mappingTTL(_ keys: [String: ConfigNode], into mapping: inout MappingConfiguration) throws(ConfigError) {
        func seconds(_ n: ConfigNode) throws(ConfigError) -> Float? {
            try n.string() == "none" ? nil : Float(Double(try n.duration().nanoseconds) / 1e9)
        }
        guard let node = keys["ttl"], try node.string() == "auto" else {
            if let extra = keys["ttl_multiple"] ?? keys["ttl_fallback"] {
                throw extra.error("only applies with mapping.ttl: auto")
            }
            if let node = keys["ttl"] { mapping.ttl = try seconds(node) }
            return
        }
        mapping.ttlIntervalMultiple = 3
        if let n = keys["ttl_multiple"] {
            let text = try n.string()
            guard let multiple = Double(text), multiple.isFinite, multiple >= 1, multiple <= 1000 else {
                throw n.error("\"\(text)\" is not a number between 1 and 1000 (the TTL in update intervals)")
            }
            mapping.ttlIntervalMultiple = multiple
        }
        if let n = keys["ttl_fallback"] { mapping.ttl = try seconds(n) }
    }

    static func filter(_ node: ConfigNode) throws(ConfigError) -> ValueFilter {
        let keys = try node.mapping(allowed: Self.filterKeys)
        var filter = ValueFilter()
        if let n = keys["hosts"] { filter.hosts = try Self.patterns(n) }
        if let n = keys["keys"] { filter.keys = try Self.patterns(n) }
        return filter
    }

    static func patterns(_ node: ConfigNode) throws(ConfigError) -> [Pattern] {
        var patterns: [Pattern] = []
        for item in try node.sequence() {
            do {
                patterns.append(try Pattern(try item.nonEmptyString()))
            } catch let error as ConfigError {
                throw error
            } catch {
                throw item.error("\(error)")
            }
        }
        return patterns
    }

    static func adminSection(_ node: ConfigNode) throws(ConfigError) -> AdminServer.Configuration? {
        let keys = try node.mapping(allowed: Self.adminKeys)
        guard let listen = keys["listen"] else { return AdminServer.Configuration() }
        if try listen.string() == "off" { return nil }
        let endpoint = try listen.endpoint()
        return AdminServer.Configuration(host: endpoint.host, port: endpoint.port)
    }
}

extension TimeAmount {
    var duration: Duration { .nanoseconds(self.nanoseconds) }

    /// The same span as `duration`, to nanosecond precision.
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

extension ConfigLoader {
    /// Every key the loader accepts, as a path: `log_level`, `listeners[].targets`,
    /// `riemann.batch.max_events`... The README's configuration reference is checked against it.
    public static var keyPaths: [String] {
        var paths = Self.topLevelKeys
        paths += Self.listenerKeys.map { "listeners[].\($0)" }
        paths += Self.acceptRateKeys.map { "listeners[].accept_rate.\($0)" }
        paths += Self.recordKeys.map { "listeners[].record.\($0)" }
        paths += Self.decodeKeys.map { "decode.\($0)" }
        paths += Self.catalogKeys.map { "catalog.\($0)" }
        paths += Self.riemannKeys.map { "riemann.\($0)" }
        paths += Self.riemannBatchKeys.map { "riemann.batch.\($0)" }
        paths += Self.riemannQueueKeys.map { "riemann.queue.\($0)" }
        paths += Self.riemannReconnectKeys.map { "riemann.reconnect.\($0)" }
        paths += Self.selfMonitoringKeys.map { "riemann.self_monitoring.\($0)" }
        paths += Self.mappingKeys.map { "mapping.\($0)" }
        paths += Self.filterKeys.map { "mapping.include.\($0)" } + Self.filterKeys.map { "mapping.exclude.\($0)" }
        paths += Self.adminKeys.map { "admin.\($0)" }
        paths += Self.graphiteKeyPaths
        return paths
    }
}

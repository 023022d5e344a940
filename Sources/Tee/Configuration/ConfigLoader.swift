import Foundation
import Logging
import NIOCore
import Relay
import Yams

/// Reads and validates `config.yaml`.
///
/// Every problem becomes a ``ConfigError`` naming the file, line, key path and what is wrong:
/// unknown keys, wrong types, bad addresses, empty target lists, duplicate listener names or
/// listen addresses.
public enum ConfigLoader {
    /// Keys of the top-level mapping.
    static let topLevelKeys = [
        "log_level", "shutdown_timeout", "threads", "max_connections", "listeners", "decode", "catalog", "riemann",
        "mapping", "admin", "graphite",
    ]
    /// Keys of one `listeners` item.
    static let listenerKeys = [
        "name", "listen", "targets", "balance", "connect_timeout", "idle_timeout", "target_cooldown",
        "drain_timeout", "first_byte_timeout", "client_fin_timeout", "server_reply_timeout", "max_connections",
        "max_connections_per_source", "accept_rate", "allow", "backlog", "socket_buffer", "tcp_smart_connect",
        "tcp_fin_with_data", "tcp_defer_accept", "decode", "record", "passive_proxy",
    ]
    /// Keys of a listener's `accept_rate` mapping.
    static let acceptRateKeys = ["per_second", "burst"]
    /// Keys of a listener's `record` mapping (`record: /path` is `record: { path: /path }`).
    static let recordKeys = ["path", "max_bytes", "max_files"]

    /// Loads `path` from disk.
    public static func load(path: String) throws(ConfigError) -> TeeConfiguration {
        let bytes: [UInt8]
        switch FileReading.readAll(path: path, limit: 16 << 20) {
        case .success(let contents): bytes = contents
        case .failure(let error): throw ConfigError(file: path, keyPath: "", message: "cannot read the file: \(error)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigError(file: path, keyPath: "", message: "the file is not valid UTF-8 text")
        }
        return try self.parse(yaml: text, file: path)
    }

    /// Parses configuration text; `file` is only used in error messages.
    public static func parse(yaml: String, file: String) throws(ConfigError) -> TeeConfiguration {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw ConfigError(file: file, keyPath: "", message: "the file is empty; it needs at least a 'listeners' list")
            }
            root = node
        } catch let error as ConfigError {
            throw error
        } catch let error as YamlError {
            throw Self.syntaxError(error, file: file)
        } catch {
            throw ConfigError(file: file, keyPath: "", message: "not valid YAML: \(error)")
        }
        let document = ConfigNode(node: root, path: "", file: file)
        let keys = try document.mapping(allowed: Self.topLevelKeys)

        var configuration = TeeConfiguration(listeners: [])
        if let level = keys["log_level"] {
            guard let parsed = Logger.Level(rawValue: try level.string().lowercased()) else {
                throw level.error(
                    "unknown log level \"\(try level.string())\" (expected \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            configuration.logLevel = parsed
        }
        if let timeout = keys["shutdown_timeout"] {
            let amount = try timeout.duration()
            configuration.shutdownTimeout = .nanoseconds(amount.nanoseconds)
        }
        if let threads = keys["threads"], try threads.string() != "auto" {
            configuration.threads = try threads.int(in: 1...256)
        }
        if let node = keys["max_connections"] { configuration.maxConnections = try node.int(in: 1...10_000_000) }
        guard let listeners = keys["listeners"] else {
            throw document.error("missing key 'listeners' (at least one listener is needed)")
        }
        let items = try listeners.sequence()
        guard !items.isEmpty else {
            throw listeners.error("must list at least one listener")
        }
        var names: [String: String] = [:]
        var addresses: [Endpoint: String] = [:]
        for item in items {
            let listener = try Self.listener(item)
            if let other = names[listener.name] {
                throw item.error("listener name \"\(listener.name)\" is already used by \(other)")
            }
            names[listener.name] = item.path
            let keys = try item.mapping(allowed: Self.listenerKeys)
            let listen = try keys["listen"].map { (node) throws(ConfigError) in try node.sequence() } ?? []
            for (address, node) in zip(listener.listen, listen) {
                if let other = addresses[address] {
                    throw node.error("listen address \(address) is already used by \(other)")
                }
                addresses[address] = node.path
            }
            configuration.listeners.append(listener)
            var options = TeeConfiguration.ListenerOptions()
            if let node = keys["decode"] { options.decode = try node.bool() }
            if let node = keys["record"] {
                let (record, warnings) = try Self.record(node)
                options.record = record
                configuration.warnings += warnings
            }
            if let node = keys["passive_proxy"] { options.passiveProxy = try node.bool() }
            configuration.listenerOptions[listener.name] = options
            configuration.warnings += Self.listenerWarnings(listener, item: item)
        }
        if let node = keys["decode"] { try Self.decodeSection(node, into: &configuration.decode) }
        if let node = keys["catalog"] {
            try Self.catalogSection(node, into: &configuration.decode)
            configuration.warnings += Self.catalogWarnings(node, path: configuration.decode.catalogPath)
        }
        if let node = keys["riemann"] {
            let (riemann, flush, selfMonitoring) = try Self.riemannSection(node)
            configuration.riemann = riemann
            configuration.riemannFlushTimeout = flush
            configuration.selfMonitoring = selfMonitoring
        }
        if let node = keys["mapping"] { configuration.mapping = try Self.mappingSection(node) }
        if let node = keys["graphite"] { configuration.graphite = try Self.graphiteSection(node) }
        try Self.checkEventsFitBatches(configuration, riemann: keys["riemann"], mapping: keys["mapping"])
        if let node = keys["admin"] {
            configuration.admin = try Self.adminSection(node)
            if let admin = configuration.admin, let listen = try node.mapping(allowed: Self.adminKeys)["listen"],
                let exposure = Self.adminExposure(host: admin.host)
            {
                configuration.warnings.append(listen.warning(exposure))
            }
        }
        if let warning = configuration.stopTimeoutWarning(at: keys["shutdown_timeout"] ?? document) {
            configuration.warnings.append(warning)
        }
        return configuration
    }

    private static func listener(_ item: ConfigNode) throws(ConfigError) -> RelayListenerConfiguration {
        let keys = try item.mapping(allowed: Self.listenerKeys)
        guard let nameNode = keys["name"] else { throw item.error("missing key 'name'") }
        let name = try nameNode.nonEmptyString()
        guard let listenNode = keys["listen"] else {
            throw item.error("missing key 'listen' (addresses to accept connections on, e.g. [\"0.0.0.0:10051\"])")
        }
        let listenNodes = try listenNode.sequence()
        guard !listenNodes.isEmpty else { throw listenNode.error("must list at least one address") }
        var listen: [Endpoint] = []
        for node in listenNodes {
            let endpoint = try node.endpoint()
            if listen.contains(endpoint) { throw node.error("listen address \(endpoint) is listed twice") }
            listen.append(endpoint)
        }
        guard let targetsNode = keys["targets"] else {
            throw item.error("missing key 'targets' (the Zabbix server or proxy to relay to, e.g. [\"zabbix:10051\"])")
        }
        let targetNodes = try targetsNode.sequence()
        guard !targetNodes.isEmpty else { throw targetsNode.error("must list at least one target") }
        var targets: [Endpoint] = []
        for node in targetNodes {
            let endpoint = try node.endpoint()
            if endpoint.port == 0 { throw node.error("target port must not be 0") }
            targets.append(endpoint)
        }

        var listener = RelayListenerConfiguration(name: name, listen: listen, targets: targets)
        if let node = keys["balance"] { listener.balance = try node.oneOf(BalanceStrategy.self) }
        if let node = keys["connect_timeout"] { listener.connectTimeout = try node.duration(atLeast: .milliseconds(1)) }
        if let node = keys["idle_timeout"] { listener.idleTimeout = try node.duration(atLeast: .seconds(1)) }
        if let node = keys["target_cooldown"] { listener.targetCoolDown = try node.duration() }
        if let node = keys["drain_timeout"] { listener.drainTimeout = try node.duration(atLeast: .milliseconds(1)) }
        if let node = keys["first_byte_timeout"] { listener.firstByteTimeout = try node.duration(atLeast: .milliseconds(1)) }
        if let node = keys["client_fin_timeout"] { listener.clientFinTimeout = try node.duration(atLeast: .milliseconds(1)) }
        if let node = keys["server_reply_timeout"] { listener.serverReplyTimeout = try node.duration(atLeast: .milliseconds(1)) }
        if let node = keys["max_connections"] { listener.maxConnections = try node.int(in: 1...1_000_000) }
        if let node = keys["max_connections_per_source"] {
            listener.maxConnectionsPerSource = node.isOff() ? nil : try node.int(in: 1...1_000_000)
        } else if !Self.isLoopbackOnly(listen) {
            listener.maxConnectionsPerSource = Self.defaultMaxConnectionsPerSource
        }
        if let node = keys["accept_rate"], !node.isOff() { listener.acceptRate = try Self.acceptRate(node) }
        if let node = keys["allow"] {
            listener.allow = try Self.allowList(node)
        } else if let exposed = listen.first(where: { !Self.isLoopback(host: $0.host) }) {
            // As the Zabbix agent refuses to start without Server=: no silent "everyone".
            throw ConfigNode(node: listenNode.node, path: "\(item.path).allow", file: item.file).error(
                "required for a listener on a non-loopback address (\(exposed)): behind the tee Zabbix sees the tee's address, not the client's, so the agent's Server=, trapper items' \"Allowed hosts\" and proxy address checks no longer filter clients and 'allow' is the only source check left. List your clients' networks, e.g. allow: [\"10.0.0.0/8\"], or write allow: any to accept every client")
        }
        if let node = keys["backlog"] { listener.backlog = Int32(try node.int(in: 1...65535)) }
        if let node = keys["socket_buffer"] { listener.socketBufferSize = try node.byteSize(in: 4096...(64 << 20)) }
        if let node = keys["tcp_smart_connect"] { listener.kernel.quickAckOffBeforeConnect = try node.bool() }
        if let node = keys["tcp_fin_with_data"] { listener.kernel.moreBeforeEndOfStream = try node.bool() }
        if let node = keys["tcp_defer_accept"] {
            listener.kernel.deferAccept = node.isOff() ? nil : try node.duration(atLeast: .seconds(1))
        }
        return listener
    }

    /// `max_connections_per_source` of a listener reachable from other hosts when the key is
    /// absent. Behind the tee every client's own address is the only thing that tells one source
    /// from another, and one source must not be able to fill `max_connections` (10 000) alone;
    /// but many agents may sit behind one NAT address. An agent holds at most two connections at
    /// once (active checks and data) and each lasts milliseconds, so even a thousand agents behind
    /// one address rarely have a hundred open together: 256 leaves room for that and for a
    /// proxy's bursts, and keeps one address to 2.5 % of the listener.
    public static let defaultMaxConnectionsPerSource = 256

    /// Whether every listen address is a loopback one (then only local clients can connect, and
    /// no per-source limit is set by default).
    static func isLoopbackOnly(_ listen: [Endpoint]) -> Bool {
        listen.allSatisfy { Self.isLoopback(host: $0.host) }
    }

    /// `allow: ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]`: at least one network; `allow: any`
    /// accepts every client (``IPNetwork/everyone``).
    private static func allowList(_ node: ConfigNode) throws(ConfigError) -> [IPNetwork] {
        if case .scalar(let scalar) = node.node, scalar.string == "any" { return IPNetwork.everyone }
        let items = try node.sequence()
        guard !items.isEmpty else {
            throw node.error("must list at least one network (or be `any` to allow every client)")
        }
        var networks: [IPNetwork] = []
        for item in items {
            do {
                networks.append(try IPNetwork(parsing: try item.nonEmptyString()))
            } catch let error as ConfigError {
                throw error
            } catch {
                throw item.error("\(error)")
            }
        }
        return networks
    }

    /// `record: /path` or `record: { path: /path, max_bytes: 1GiB, max_files: 10000 }`, with the
    /// warnings its path deserves.
    private static func record(_ node: ConfigNode) throws(ConfigError) -> (RecordingConfiguration, [ConfigWarning]) {
        let pathNode: ConfigNode
        var limits: [String: ConfigNode] = [:]
        if case .mapping = node.node {
            limits = try node.mapping(allowed: Self.recordKeys)
            guard let path = limits["path"] else {
                throw node.error("missing key 'path' (the directory, e.g. { path: /var/lib/zabbix-tee/recordings, max_bytes: 1GiB })")
            }
            pathNode = path
        } else {
            pathNode = node
        }
        var record = RecordingConfiguration(path: try pathNode.nonEmptyString())
        if let n = limits["max_bytes"] { record.maximumBytes = try n.byteSize(in: (64 << 10)...(1 << 50)) }
        if let n = limits["max_files"] { record.maximumRecordings = try n.int(in: 1...100_000_000) }
        return (record, Self.recordingWarnings(pathNode, path: record.path))
    }

    /// `accept_rate: { per_second: 50, burst: 100 }`; `burst` defaults to one second's worth.
    private static func acceptRate(_ node: ConfigNode) throws(ConfigError) -> AcceptRate {
        let keys = try node.mapping(allowed: Self.acceptRateKeys)
        guard let rateNode = keys["per_second"] else {
            throw node.error("missing key 'per_second' (connections admitted per second, e.g. { per_second: 50, burst: 100 })")
        }
        let text = try rateNode.string()
        guard let perSecond = Double(text), perSecond.isFinite, perSecond >= 0.001, perSecond <= 1_000_000 else {
            throw rateNode.error("\"\(text)\" is not a rate between 0.001 and 1000000 connections per second")
        }
        let burst = try keys["burst"].map { (n) throws(ConfigError) in try n.int(in: 1...1_000_000) }
        return AcceptRate(perSecond: perSecond, burst: burst)
    }

    private static func syntaxError(_ error: YamlError, file: String) -> ConfigError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return ConfigError(file: file, line: mark.line, column: mark.column, keyPath: "", message: "not valid YAML: \(problem)")
        default:
            return ConfigError(file: file, keyPath: "", message: "not valid YAML: \(error)")
        }
    }
}

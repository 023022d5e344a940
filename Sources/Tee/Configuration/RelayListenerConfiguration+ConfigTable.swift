import Relay

/// One `listeners` item: what the relay needs and what the tee does besides relaying.
struct ListenerSection {
    var relay: RelayListenerConfiguration
    var options: TeeConfiguration.ListenerOptions

    init(
        relay: RelayListenerConfiguration = RelayListenerConfiguration(name: "", listen: [], targets: []),
        options: TeeConfiguration.ListenerOptions = .init()
    ) {
        self.relay = relay
        self.options = options
    }

    /// The keys of a `listeners` item. All are live on reload: new connections use the new
    /// values (`backlog` and `tcp_defer_accept` apply to addresses bound from then on).
    static var table: ConfigTable<ListenerSection> {
        ConfigTable(
            [
                .string(
                    "name",
                    \.relay.name,
                    .live,
                    "the listener's name in logs, metrics and events",
                    missing: "missing key 'name'"
                ),
                .value(
                    "listen",
                    \.relay.listen,
                    .live,
                    "addresses to accept connections on",
                    missing: "missing key 'listen' (addresses to accept connections on, e.g. [\"0.0.0.0:10051\"])",
                    parse: Self.listen,
                    print: Self.endpoints
                ),
                .value(
                    "targets",
                    \.relay.targets,
                    .live,
                    "the Zabbix server or proxy to relay to, in order of preference",
                    missing: "missing key 'targets' (the Zabbix server or proxy to relay to, e.g. [\"zabbix:10051\"])",
                    parse: Self.targets,
                    print: Self.endpoints
                ),
                .choice("balance", \.relay.balance, .live, "how a target is chosen: failover, round-robin, random"),
                .duration(
                    "connect_timeout",
                    \.relay.connectTimeout,
                    atLeast: .milliseconds(1),
                    .live,
                    "connecting to a target, before failing over"
                ),
                .duration(
                    "idle_timeout",
                    \.relay.idleTimeout,
                    atLeast: .seconds(1),
                    .live,
                    "a connection with no traffic either way is closed"
                ),
                .duration(
                    "target_cooldown",
                    \.relay.targetCoolDown,
                    .live,
                    "a target that failed is skipped this long"
                ),
                .duration(
                    "drain_timeout",
                    \.relay.drainTimeout,
                    atLeast: .milliseconds(1),
                    .live,
                    "after one side ended, how long the other may still send"
                ),
                .duration(
                    "first_byte_timeout",
                    \.relay.firstByteTimeout,
                    atLeast: .milliseconds(1),
                    .live,
                    "a client that sends nothing is closed"
                ),
                .duration(
                    "client_fin_timeout",
                    \.relay.clientFinTimeout,
                    atLeast: .milliseconds(1),
                    .live,
                    "after the server ended, how long the client may take to end"
                ),
                .duration(
                    "server_reply_timeout",
                    \.relay.serverReplyTimeout,
                    atLeast: .milliseconds(1),
                    .live,
                    "after the client ended, how long the server may take to reply"
                ),
                .int(
                    "max_connections",
                    \.relay.maxConnections,
                    in: 1...1_000_000,
                    .live,
                    "client connections open at once on this listener"
                ),
                .value(
                    "max_connections_per_source",
                    \.relay.maxConnectionsPerSource,
                    .live,
                    "client connections open at once from one address, or off",
                    parse: { (node) throws(ConfigError) in node.isOff() ? nil : try node.int(in: 1...1_000_000) },
                    print: { $0.map(String.init) ?? "off" }
                ),
                .optionalTable(
                    "accept_rate",
                    \.relay.acceptRate,
                    AcceptRate.table,
                    .inline,
                    .live,
                    "connections admitted per second, or off",
                    make: { AcceptRate(perSecond: 1) },
                    absent: .inline("\"off\""),
                    allowsOff: true
                ),
                .value(
                    "allow",
                    \.relay.allow,
                    .live,
                    "client networks admitted, or any",
                    parse: Self.allowList,
                    print: { ConfigText.list($0.map(\.description)) }
                ),
                .value(
                    "backlog",
                    \.relay.backlog,
                    .live,
                    "the listening sockets' accept queue",
                    parse: { (node) throws(ConfigError) in Int32(try node.int(in: 1...65535)) },
                    print: { "\($0)" }
                ),
                .value(
                    "socket_buffer",
                    \.relay.socketBufferSize,
                    .live,
                    "kernel send and receive buffer of each connection (absent: the kernel's)",
                    parse: { (node) throws(ConfigError) in try node.byteSize(in: 4096...(64 << 20)) },
                    print: { $0.map(ByteSizeFormat.text) }
                ),
                .bool(
                    "tcp_smart_connect",
                    \.relay.kernel.quickAckOffBeforeConnect,
                    .live,
                    "send the first data with the connection's ACK"
                ),
                .bool(
                    "tcp_fin_with_data",
                    \.relay.kernel.moreBeforeEndOfStream,
                    .live,
                    "send the last data and the FIN in one segment"
                ),
                .value(
                    "tcp_defer_accept",
                    \.relay.kernel.deferAccept,
                    .live,
                    "accept a connection only once it has data, or off",
                    parse: { (node) throws(ConfigError) in node.isOff() ? nil : try node.duration(atLeast: .seconds(1))
                    },
                    print: { $0.map { DurationFormat.text($0) } ?? "off" }
                ),
                .bool("decode", \.options.decode, .live, "decode this listener's traffic into events"),
                .optionalTable(
                    "record",
                    \.options.record,
                    RecordingConfiguration.table,
                    .inline,
                    .live,
                    "directory each connection's bytes are written to, as fixtures (absent: off)",
                    make: { RecordingConfiguration(path: "") },
                    absent: nil,
                    shorthand: { (node) throws(ConfigError) in RecordingConfiguration(path: try node.nonEmptyString()) }
                ),
                .bool(
                    "passive_proxy",
                    \.options.passiveProxy,
                    .live,
                    "the listener is in front of a passive proxy: learn the configuration pushed to it"
                ),
            ],
            validate: Self.validate
        )
    }

    /// Defaults that depend on the listen addresses, and the warnings an item deserves.
    private static func validate(
        _ item: ConfigNode,
        _ section: inout ListenerSection,
        _ warnings: inout [ConfigDiagnostic]
    ) throws(ConfigError) {
        let listen = section.relay.listen
        if item["max_connections_per_source"] == nil, !ConfigLoader.isLoopbackOnly(listen) {
            section.relay.maxConnectionsPerSource = ConfigLoader.defaultMaxConnectionsPerSource
        }
        if item["allow"] == nil, let exposed = listen.first(where: { !ConfigLoader.isLoopback(host: $0.host) }),
            let listenNode = item["listen"]
        {
            // As the Zabbix agent refuses to start without Server=: no silent "everyone".
            throw ConfigNode(node: listenNode.node, path: "\(item.path).allow", file: item.file).error(
                "required for a listener on a non-loopback address (\(exposed)): behind the tee Zabbix sees the tee's address, not the client's, so the agent's Server=, trapper items' \"Allowed hosts\" and proxy address checks no longer filter clients and 'allow' is the only source check left. List your clients' networks, e.g. allow: [\"10.0.0.0/8\"], or write allow: any to accept every client"
            )
        }
        if let record = section.options.record, let node = item["record"] {
            warnings += ConfigLoader.recordingWarnings(node["path"] ?? node, path: record.path)
        }
        warnings += ConfigLoader.listenerWarnings(section.relay, item: item)
    }

    private static func endpoints(_ endpoints: [Endpoint]) -> String {
        ConfigText.list(endpoints.map(\.description))
    }

    private static func listen(_ node: ConfigNode) throws(ConfigError) -> [Endpoint] {
        try node.endpoints(atLeastOne: "address") { endpoint, before in
            before.contains(endpoint) ? "listen address \(endpoint) is listed twice" : nil
        }
    }

    private static func targets(_ node: ConfigNode) throws(ConfigError) -> [Endpoint] {
        try node.endpoints(atLeastOne: "target") { endpoint, _ in endpoint.port == 0 ? "target port must not be 0" : nil
        }
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
}

extension AcceptRate {
    /// `accept_rate: { per_second: 50, burst: 100 }`; `burst` defaults to one second's worth.
    static var table: ConfigTable<AcceptRate> {
        ConfigTable(
            [
                .value(
                    "per_second",
                    \.perSecond,
                    .live,
                    "connections admitted per second, on average",
                    missing:
                        "missing key 'per_second' (connections admitted per second, e.g. { per_second: 50, burst: 100 })",
                    parse: { (node) throws(ConfigError) in
                        let text = try node.string()
                        guard let perSecond = Double(text), perSecond.isFinite, perSecond >= 0.001,
                            perSecond <= 1_000_000
                        else {
                            throw node.error(
                                "\"\(text)\" is not a rate between 0.001 and 1000000 connections per second"
                            )
                        }
                        return perSecond
                    },
                    print: { $0 == $0.rounded() && abs($0) < 1e15 ? String(Int64($0)) : "\($0)" }
                ),
                .int(
                    "burst",
                    \.burst,
                    in: 1...1_000_000,
                    .live,
                    "connections admitted back to back after a quiet period"
                ),
            ],
            validate: { (node, rate, _) throws(ConfigError) in
                if node["burst"] == nil { rate = AcceptRate(perSecond: rate.perSecond) }
            }
        )
    }
}

extension RecordingConfiguration {
    /// `record: { path: /path, max_bytes: 1GiB, max_files: 10000 }` (`record: /path` for the defaults).
    static var table: ConfigTable<RecordingConfiguration> {
        ConfigTable([
            .string(
                "path",
                \.path,
                .live,
                "the directory recordings are written to",
                missing:
                    "missing key 'path' (the directory, e.g. { path: /var/lib/zabbix-tee/recordings, max_bytes: 1GiB })"
            ),
            .bytes(
                "max_bytes",
                \.maximumBytes,
                in: (64 << 10)...(1 << 50),
                .live,
                "bytes the recordings may take together"
            ),
            .int("max_files", \.maximumRecordings, in: 1...100_000_000, .live, "recordings kept at most"),
        ])
    }
}

import Admin
import Logging
import Relay

/// The top level of `config.yaml`. Each section's keys are in the table beside its type
/// (`…+ConfigTable.swift`); this one lists the sections.
extension TeeConfiguration {
    static var table: ConfigTable<TeeConfiguration> {
        ConfigTable(
            [
                .value(
                    "log_level",
                    \.logLevel,
                    .restart,
                    "log level unless --log-level overrides it",
                    parse: { (node) throws(ConfigError) in
                        let text = try node.string()
                        guard let level = Logger.Level(rawValue: text.lowercased()) else {
                            throw node.error(
                                "unknown log level \"\(text)\" (expected \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")))"
                            )
                        }
                        return level
                    },
                    print: \.rawValue
                ),
                .duration(
                    "shutdown_timeout",
                    \.shutdownTimeout,
                    .live,
                    "how long a graceful shutdown lets open connections finish"
                ),
                .value(
                    "threads",
                    \.threads,
                    .restart,
                    "relay event-loop threads, or auto (the CPUs this process may run on)",
                    parse: { (node) throws(ConfigError) in try node.string() == "auto" ? nil : try node.int(in: 1...256)
                    },
                    print: { "\($0.map(String.init) ?? "auto")  # auto: \(CPUAffinity.availableCPUs) CPUs available" }
                ),
                .int(
                    "max_connections",
                    \.maxConnections,
                    in: 1...10_000_000,
                    .live,
                    "client connections open at once over all listeners"
                ),
                Self.listenersField,
                .table("decode", \.decode, DecodeConfiguration.decodeTable, .block, .restart, "the decoder's limits"),
                .table("catalog", \.decode, DecodeConfiguration.catalogTable, .block, .restart, "the item catalog"),
                .optionalTable(
                    "riemann",
                    \.riemannSection,
                    RiemannSection.table,
                    .block,
                    .restart,
                    "the Riemann output (absent: values are decoded and counted, no events are sent)",
                    make: RiemannSection.defaults,
                    absent: .comment("(absent: values are decoded and counted, no events are sent)")
                ),
                .table("mapping", \.mapping, MappingConfiguration.table, .block, .live, "item value → Riemann event"),
                .optionalTable(
                    "graphite",
                    \.graphite,
                    GraphiteConfiguration.table,
                    .block,
                    .restart,
                    "the Graphite output (absent: none); lines for the values the mapping emits with a metric",
                    make: { GraphiteConfiguration(servers: []) },
                    absent: .comment("(absent: no Graphite output)")
                ),
                .table("admin", \.admin, AdminServer.table, .block, .restart, "the metrics and health endpoint"),
            ],
            validate: { (document, configuration, warnings) throws(ConfigError) in
                try configuration.checkEventsFitBatches(riemann: document["riemann"], mapping: document["mapping"])
                if let warning = configuration.stopTimeoutWarning(at: document["shutdown_timeout"] ?? document) {
                    warnings.append(warning)
                }
            }
        )
    }

    /// `listeners:` items, read with ``ListenerSection/table``. On reload, items are matched by
    /// name and compared key by key by ``ConfigurationReloadPlan``, so this field reports no
    /// change of its own.
    private static var listenersField: ConfigField<TeeConfiguration> {
        ConfigField(
            name: "listeners",
            doc: "where the tee accepts connections and where it relays them",
            subKeys: ListenerSection.table.keys.map { ("[].\($0.path)", $0.doc) },
            missing: "missing key 'listeners' (at least one listener is needed)",
            read: { (node, configuration, warnings) throws(ConfigError) in
                let items = try node.sequence()
                guard !items.isEmpty else { throw node.error("must list at least one listener") }
                var names: [String: String] = [:]
                var addresses: [Endpoint: String] = [:]
                configuration.listeners = []
                for item in items {
                    var section = ListenerSection()
                    try ListenerSection.table.read(item, into: &section, warnings: &warnings)
                    let name = section.relay.name
                    if let other = names[name] {
                        throw item.error("listener name \"\(name)\" is already used by \(other)")
                    }
                    names[name] = item.path
                    let listen = try item["listen"].map { (node) throws(ConfigError) in try node.sequence() } ?? []
                    for (address, node) in zip(section.relay.listen, listen) {
                        if let other = addresses[address] {
                            throw node.error("listen address \(address) is already used by \(other)")
                        }
                        addresses[address] = node.path
                    }
                    configuration.listeners.append(section.relay)
                    configuration.listenerOptions[name] = section.options
                }
            },
            print: { configuration in
                .block(configuration.listeners.flatMap { configuration.effectiveLines(listener: $0) })
            },
            changes: { _, _ in [] },
            keepRestartOnly: { _, _ in [] }
        )
    }

    /// One `listeners` item as `check-config` prints it: `- name: ...` and its keys below.
    func effectiveLines(listener: RelayListenerConfiguration) -> [String] {
        let lines = ListenerSection.table.lines(
            ListenerSection(relay: listener, options: self.options(for: listener.name)),
            indent: "  "
        )
        return lines.enumerated().map { index, line in index == 0 ? "- " + line.dropFirst(2) : line }
    }

    /// The `riemann:` section's three parts as one value (`nil`: the section is absent).
    var riemannSection: RiemannSection? {
        get {
            self.riemann.map {
                RiemannSection(client: $0, flushTimeout: self.riemannFlushTimeout, selfMonitoring: self.selfMonitoring)
            }
        }
        set {
            self.riemann = newValue?.client
            self.riemannFlushTimeout = newValue?.flushTimeout ?? RiemannSection.defaults().flushTimeout
            self.selfMonitoring = newValue?.selfMonitoring
        }
    }

    /// Every event the mapping can make must fit one Riemann message: otherwise values with long
    /// texts would be dropped (as `event_too_large`) instead of sent. Points at the key that makes
    /// events long, or at the one that makes messages short.
    func checkEventsFitBatches(riemann: ConfigNode?, mapping: ConfigNode?) throws(ConfigError) {
        guard let client = self.riemann, let riemann else { return }
        let largest = self.mapping.largestEventBytes
        guard largest > client.maximumBatchBodyBytes else { return }
        throw (mapping?["description_max_length"] ?? riemann["batch"]?["max_bytes"] ?? riemann).error(
            "an event can take up to \(ByteSizeFormat.text(largest)) bytes with mapping.description_max_length \(ByteSizeFormat.text(self.mapping.descriptionMaximumLength)), more than one Riemann message (riemann.batch.max_bytes \(ByteSizeFormat.text(client.maximumBatchBytes))) carries; raise riemann.batch.max_bytes or lower mapping.description_max_length"
        )
    }
}

/// The `mapping:` section: how an item value becomes a Riemann event. All keys are live: values
/// decoded after a reload use the new mapping.
extension MappingConfiguration {
    static var table: ConfigTable<MappingConfiguration> {
        ConfigTable(
            [
                .value(
                    "service",
                    \.service,
                    .live,
                    "the event's service; {key}, {host}, {itemid}, {listener}, {request} are replaced, with filters |graphite, |reverse",
                    parse: ServiceTemplate.read,
                    print: { ConfigText.quoted($0.description) }
                ),
                .value(
                    "state",
                    \.state,
                    .live,
                    "state of events for normal values, or none",
                    parse: { (node) throws(ConfigError) in
                        let text = try node.string()
                        return text.isEmpty || text == "none" ? nil : text
                    },
                    print: { ConfigText.quoted($0 ?? "none") }
                ),
                .value(
                    "not_supported",
                    \.notSupported,
                    .live,
                    "state of events for not-supported items, or drop",
                    parse: { (node) throws(ConfigError) in
                        let text = try node.nonEmptyString()
                        return text == "drop" ? .drop : .state(text)
                    },
                    print: { notSupported in
                        switch notSupported {
                        case .drop: return "drop"
                        case .state(let state): return ConfigText.quoted(state)
                        }
                    }
                ),
                .choice("partial", \.partial, .live, "values of a batch the server only partly accepted: emit or drop"),
                .strings("tags", \.tags, .live, "tags of every event"),
                .custom(
                    "attributes",
                    \.attributes,
                    .live,
                    "attributes added to every event, in order",
                    parse: Self.attributes,
                    text: { attributes in
                        attributes.isEmpty
                            ? .inline("{}")
                            : .block(attributes.map { "\(ConfigText.quoted($0.key)): \(ConfigText.quoted($0.value))" })
                    },
                    same: nil
                ),
                .bool(
                    "zabbix_attributes",
                    \.zabbixAttributes,
                    .live,
                    "add zabbix_request, zabbix_listener, zabbix_itemid, zabbix_proxy and the log fields"
                ),
                Self.ttlField,
                .value(
                    "ttl_multiple",
                    \.ttlIntervalMultiple,
                    .live,
                    "with ttl: auto, the TTL in update intervals (default 3)",
                    parse: { (node) throws(ConfigError) in
                        let text = try node.string()
                        guard let multiple = Double(text), multiple.isFinite, multiple >= 1, multiple <= 1000 else {
                            throw node.error(
                                "\"\(text)\" is not a number between 1 and 1000 (the TTL in update intervals)"
                            )
                        }
                        return multiple
                    },
                    print: { $0.map { $0 == $0.rounded() ? String(Int64($0)) : "\($0)" } }
                ),
                Self.ttlFallbackField,
                .value(
                    "description_max_length",
                    \.descriptionMaximumLength,
                    .live,
                    "text values and errors are cut to this many bytes",
                    parse: { (node) throws(ConfigError) in try node.byteSize(in: 16...(16 << 20)) },
                    print: { "\($0)" }
                ),
                .table(
                    "include",
                    \.include,
                    ValueFilter.table,
                    .block,
                    .live,
                    "only values matching these are emitted",
                    omitWhen: \.isEmpty
                ),
                .table(
                    "exclude",
                    \.exclude,
                    ValueFilter.table,
                    .block,
                    .live,
                    "values matching these are not emitted",
                    omitWhen: \.isEmpty
                ),
            ],
            validate: Self.checkTTL
        )
    }

    /// `ttl`: a duration, `none`, or `auto` (a multiple of each item's update interval, with
    /// `ttl_multiple` and `ttl_fallback`, which are read after it and mean nothing without it).
    /// With `auto` it prints `auto`, `ttl_multiple` and `ttl_fallback` print the rest.
    private static var ttlField: ConfigField<MappingConfiguration> {
        let changes: (MappingConfiguration, MappingConfiguration) -> [String] = { old, new in
            switch (old.ttlIntervalMultiple, new.ttlIntervalMultiple) {
            case (nil, nil): old.ttl == new.ttl ? [] : ["ttl"]
            case (.some, .some): []  // ttl_multiple and ttl_fallback name their own changes
            default: ["ttl"]
            }
        }
        return ConfigField(
            name: "ttl",
            doc: "event time to live, none, or auto: ttl_multiple times the item's update interval",
            read: { (node, mapping, _) throws(ConfigError) in
                if try node.string() == "auto" {
                    mapping.ttlIntervalMultiple = 3
                } else {
                    mapping.ttl = try Self.ttlSeconds(node)
                }
            },
            print: { mapping in .inline(mapping.ttlIntervalMultiple == nil ? Self.ttlText(mapping.ttl) : "auto") },
            changes: changes,
            keepRestartOnly: { _, _ in [] }
        )
    }

    /// `ttl_fallback`: with `ttl: auto`, the TTL where the interval is unknown (stored as ``ttl``).
    private static var ttlFallbackField: ConfigField<MappingConfiguration> {
        ConfigField(
            name: "ttl_fallback",
            doc: "with ttl: auto, the TTL where the interval is unknown, or none (default 5m)",
            read: { (node, mapping, _) throws(ConfigError) in mapping.ttl = try Self.ttlSeconds(node) },
            print: { mapping in mapping.ttlIntervalMultiple == nil ? nil : .inline(Self.ttlText(mapping.ttl)) },
            changes: { old, new in
                old.ttlIntervalMultiple != nil && new.ttlIntervalMultiple != nil && old.ttl != new.ttl
                    ? ["ttl_fallback"] : []
            },
            keepRestartOnly: { _, _ in [] }
        )
    }

    private static func ttlSeconds(_ node: ConfigNode) throws(ConfigError) -> Float? {
        try node.string() == "none"
            ? nil : Float(Double(try node.duration(atLeast: Duration.zero).nanosecondCount) / 1e9)
    }

    private static func ttlText(_ ttl: Float?) -> String {
        ttl.map { DurationFormat.text(Duration.nanoseconds(Int64(Double($0) * 1e9))) } ?? "none"
    }

    /// `ttl_multiple` and `ttl_fallback` only with `ttl: auto`.
    private static func checkTTL(
        _ node: ConfigNode,
        _ mapping: inout MappingConfiguration,
        _: inout [ConfigDiagnostic]
    ) throws(ConfigError) {
        let auto = (try? node["ttl"]?.string()) == "auto"
        if !auto, let extra = node["ttl_multiple"] ?? node["ttl_fallback"] {
            throw extra.error("only applies with mapping.ttl: auto")
        }
    }

    private static func attributes(_ node: ConfigNode) throws(ConfigError) -> [(key: String, value: String)] {
        guard case .mapping(let pairs) = node.node else {
            throw node.error("expected a mapping of attribute names to values")
        }
        var attributes: [(key: String, value: String)] = []
        for (key, value) in pairs {
            let name = key.scalar?.string ?? ""
            let entry = ConfigNode(node: value, path: "\(node.path).\(name)", file: node.file)
            guard !["tags", "time", "ttl", "metric"].contains(name), !name.isEmpty else {
                throw entry.error("Riemann drops an attribute named \"\(name)\"; choose another name")
            }
            attributes.append((name, try entry.string()))
        }
        return attributes
    }
}

extension ValueFilter {
    /// `hosts:` and `keys:` of `mapping.include` and `mapping.exclude`.
    static var table: ConfigTable<ValueFilter> {
        ConfigTable([
            Self.patterns("hosts", \.hosts, "host name patterns"),
            Self.patterns("keys", \.keys, "item key patterns"),
        ])
    }

    private static func patterns(
        _ name: String,
        _ keyPath: WritableKeyPath<ValueFilter, [Pattern]>,
        _ doc: String
    ) -> ConfigField<ValueFilter> {
        .custom(
            name,
            keyPath,
            .live,
            doc,
            parse: { (node) throws(ConfigError) in
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
            },
            text: { $0.isEmpty ? nil : .inline(ConfigText.list($0.map(\.description))) },
            same: nil
        )
    }
}

extension ServiceTemplate {
    /// A template key (`mapping.service`, `graphite.path`): unknown placeholders and filters are
    /// errors.
    static func read(_ node: ConfigNode) throws(ConfigError) -> ServiceTemplate {
        let text = try node.nonEmptyString()
        if let unknown = Self.unknownPlaceholders(in: text).first {
            throw node.error(
                "unknown placeholder \(unknown) (known: \(Self.placeholders.joined(separator: ", ")); filters: \(Self.filters.map { "|" + $0 }.joined(separator: ", ")))"
            )
        }
        return ServiceTemplate(text)
    }
}

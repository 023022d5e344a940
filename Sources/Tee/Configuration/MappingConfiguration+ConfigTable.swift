/// The `mapping:` section: how an item value becomes a Riemann event. All keys are live: values
/// decoded after a reload use the new mapping.
extension MappingConfiguration {
    static var table: ConfigTable<MappingConfiguration> {
        ConfigTable([
            .value(
                "service", \.service, .live, "the event's service; {key}, {host}, {itemid}, {listener}, {request} are replaced",
                parse: { (node) throws(ConfigError) in
                    let text = try node.nonEmptyString()
                    let unknown = ServiceTemplate.unknownPlaceholders(in: text)
                    guard unknown.isEmpty else {
                        throw node.error("unknown placeholder \(unknown[0]) (known: \(ServiceTemplate.placeholders.joined(separator: ", ")))")
                    }
                    return ServiceTemplate(text)
                },
                print: { ConfigText.quoted($0.description) }),
            .value(
                "state", \.state, .live, "state of events for normal values, or none",
                parse: { (node) throws(ConfigError) in
                    let text = try node.string()
                    return text.isEmpty || text == "none" ? nil : text
                },
                print: { ConfigText.quoted($0 ?? "none") }),
            .value(
                "not_supported", \.notSupported, .live, "state of events for not-supported items, or drop",
                parse: { (node) throws(ConfigError) in
                    let text = try node.nonEmptyString()
                    return text == "drop" ? .drop : .state(text)
                },
                print: { notSupported in
                    switch notSupported {
                    case .drop: return "drop"
                    case .state(let state): return ConfigText.quoted(state)
                    }
                }),
            .choice("partial", \.partial, .live, "values of a batch the server only partly accepted: emit or drop"),
            .strings("tags", \.tags, .live, "tags of every event"),
            .custom(
                "attributes", \.attributes, .live, "attributes added to every event, in order", parse: Self.attributes,
                text: { attributes in
                    attributes.isEmpty
                        ? .inline("{}") : .block(attributes.map { "\(ConfigText.quoted($0.key)): \(ConfigText.quoted($0.value))" })
                },
                same: nil),
            .bool("zabbix_attributes", \.zabbixAttributes, .live, "add zabbix_request, zabbix_listener, zabbix_itemid, zabbix_proxy and the log fields"),
            .ttl("ttl", \.ttl, .live, "event time to live, or none"),
            .value(
                "description_max_length", \.descriptionMaximumLength, .live, "text values and errors are cut to this many bytes",
                parse: { (node) throws(ConfigError) in try node.byteSize(in: 16...(16 << 20)) }, print: { "\($0)" }),
            .table("include", \.include, ValueFilter.table, .block, .live, "only values matching these are emitted", omitWhen: \.isEmpty),
            .table("exclude", \.exclude, ValueFilter.table, .block, .live, "values matching these are not emitted", omitWhen: \.isEmpty),
        ])
    }

    private static func attributes(_ node: ConfigNode) throws(ConfigError) -> [(key: String, value: String)] {
        guard case .mapping(let pairs) = node.node else { throw node.error("expected a mapping of attribute names to values") }
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

    private static func patterns(_ name: String, _ keyPath: WritableKeyPath<ValueFilter, [Pattern]>, _ doc: String) -> ConfigField<ValueFilter> {
        .custom(
            name, keyPath, .live, doc,
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
            text: { $0.isEmpty ? nil : .inline(ConfigText.list($0.map(\.description))) }, same: nil)
    }
}

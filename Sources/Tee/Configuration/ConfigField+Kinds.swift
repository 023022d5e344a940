/// The kinds of key a table is made of: one parser and one printer per kind of value.
extension ConfigField {
    /// A key stored at `keyPath`: `parse` reads it, `text` prints it, `same` compares two values
    /// (`nil`: by their printed text, for types that are not `Equatable`).
    static func custom<Value>(
        _ name: String,
        _ keyPath: WritableKeyPath<Section, Value>,
        _ reload: ReloadClass,
        _ doc: String,
        missing: String? = nil,
        parse: @escaping (ConfigNode) throws(ConfigError) -> Value,
        text: @escaping (Value) -> ConfigText?,
        same: ((Value, Value) -> Bool)?
    ) -> Self {
        let same = same ?? { text($0) == text($1) }
        let changes: (Section, Section) -> [String] = { old, new in
            same(old[keyPath: keyPath], new[keyPath: keyPath]) ? [] : [name]
        }
        return ConfigField(
            name: name,
            doc: doc,
            missing: missing,
            read: { (node, section, _) throws(ConfigError) in section[keyPath: keyPath] = try parse(node) },
            print: { text($0[keyPath: keyPath]) },
            changes: changes,
            keepRestartOnly: { applied, running in
                guard reload == .restart, !changes(running, applied).isEmpty else { return [] }
                applied[keyPath: keyPath] = running[keyPath: keyPath]
                return [name]
            }
        )
    }

    /// A key printed on one line (`nil`: not printed), compared by value.
    static func value<Value: Equatable>(
        _ name: String,
        _ keyPath: WritableKeyPath<Section, Value>,
        _ reload: ReloadClass,
        _ doc: String,
        missing: String? = nil,
        parse: @escaping (ConfigNode) throws(ConfigError) -> Value,
        print: @escaping (Value) -> String?
    ) -> Self {
        .custom(
            name,
            keyPath,
            reload,
            doc,
            missing: missing,
            parse: parse,
            text: { print($0).map(ConfigText.inline) },
            same: ==
        )
    }

    static func int(
        _ name: String,
        _ keyPath: WritableKeyPath<Section, Int>,
        in range: ClosedRange<Int>,
        _ reload: ReloadClass,
        _ doc: String
    ) -> Self {
        .value(
            name,
            keyPath,
            reload,
            doc,
            parse: { (node) throws(ConfigError) in try node.int(in: range) },
            print: { "\($0)" }
        )
    }

    /// A size in bytes, printed as `64KiB`, `4MiB`.
    static func bytes(
        _ name: String,
        _ keyPath: WritableKeyPath<Section, Int>,
        in range: ClosedRange<Int>,
        _ reload: ReloadClass,
        _ doc: String
    ) -> Self {
        .value(
            name,
            keyPath,
            reload,
            doc,
            parse: { (node) throws(ConfigError) in try node.byteSize(in: range) },
            print: { ByteSizeFormat.text($0) }
        )
    }

    /// A span of time, printed as `250ms`, `5s`, `10m`, `1h`.
    static func duration(
        _ name: String,
        _ keyPath: WritableKeyPath<Section, Duration>,
        atLeast minimum: Duration = .zero,
        _ reload: ReloadClass,
        _ doc: String
    ) -> Self {
        .value(
            name,
            keyPath,
            reload,
            doc,
            parse: { (node) throws(ConfigError) in try node.duration(atLeast: minimum) },
            print: { DurationFormat.text($0) }
        )
    }

    static func bool(
        _ name: String,
        _ keyPath: WritableKeyPath<Section, Bool>,
        _ reload: ReloadClass,
        _ doc: String
    ) -> Self {
        .value(name, keyPath, reload, doc, parse: { (node) throws(ConfigError) in try node.bool() }, print: { "\($0)" })
    }

    /// One of an enumeration's raw values.
    static func choice<T: RawRepresentable & CaseIterable & Equatable>(
        _ name: String,
        _ keyPath: WritableKeyPath<Section, T>,
        _ reload: ReloadClass,
        _ doc: String
    ) -> Self where T.RawValue == String {
        .value(
            name,
            keyPath,
            reload,
            doc,
            parse: { (node) throws(ConfigError) in try node.oneOf(T.self) },
            print: \.rawValue
        )
    }

    /// A quoted text.
    static func string(
        _ name: String,
        _ keyPath: WritableKeyPath<Section, String>,
        nonEmpty: Bool = true,
        _ reload: ReloadClass,
        _ doc: String,
        missing: String? = nil
    ) -> Self {
        .value(
            name,
            keyPath,
            reload,
            doc,
            missing: missing,
            parse: { (node) throws(ConfigError) in nonEmpty ? try node.nonEmptyString() : try node.string() },
            print: { ConfigText.quoted($0) }
        )
    }

    /// A list of non-empty texts: `[“zabbix”, “tee”]`.
    static func strings(
        _ name: String,
        _ keyPath: WritableKeyPath<Section, [String]>,
        _ reload: ReloadClass,
        _ doc: String
    ) -> Self {
        .value(
            name,
            keyPath,
            reload,
            doc,
            parse: { (node) throws(ConfigError) in
                try node.sequence().map { (item) throws(ConfigError) in try item.nonEmptyString() }
            },
            print: { ConfigText.list($0) }
        )
    }

    /// An event time to live in seconds: a duration, or `none`.
    static func ttl(
        _ name: String,
        _ keyPath: WritableKeyPath<Section, Float?>,
        _ reload: ReloadClass,
        _ doc: String
    ) -> Self {
        .value(
            name,
            keyPath,
            reload,
            doc,
            parse: { (node) throws(ConfigError) in
                try node.string() == "none" ? nil : Float(Double(try node.duration().nanosecondCount) / 1e9)
            },
            print: { ttl in ttl.map { DurationFormat.text(Duration.nanoseconds(Int64(Double($0) * 1e9))) } ?? "none" }
        )
    }

    /// A nested section that is always there (`decode:` in the document, `batch:` in `riemann:`).
    /// `reload` applies to an inline table as a whole; a block table's keys carry their own.
    static func table<Sub>(
        _ name: String,
        _ keyPath: WritableKeyPath<Section, Sub>,
        _ table: ConfigTable<Sub>,
        _ style: ConfigTableStyle,
        _ reload: ReloadClass,
        _ doc: String,
        omitWhen omit: @escaping (Sub) -> Bool = { _ in false }
    ) -> Self {
        let changes: (Section, Section) -> [String] = { old, new in
            let inner = table.changes(old[keyPath: keyPath], new[keyPath: keyPath])
            switch style {
            case .inline: return inner.isEmpty ? [] : [name]
            case .block: return inner.map { "\(name).\($0)" }
            }
        }
        return ConfigField(
            name: name,
            doc: doc,
            subKeys: table.keys.map { (".\($0.path)", $0.doc) },
            read: { (node, section, warnings) throws(ConfigError) in
                try table.read(node, into: &section[keyPath: keyPath], warnings: &warnings)
            },
            print: { section in
                let value = section[keyPath: keyPath]
                return omit(value) ? nil : table.text(value, style: style)
            },
            changes: changes,
            keepRestartOnly: { applied, running in
                switch style {
                case .block:
                    return table.keepRestartOnly(&applied[keyPath: keyPath], running: running[keyPath: keyPath]).map {
                        "\(name).\($0)"
                    }
                case .inline:
                    guard reload == .restart, !changes(running, applied).isEmpty else { return [] }
                    applied[keyPath: keyPath] = running[keyPath: keyPath]
                    return [name]
                }
            }
        )
    }

    /// A nested section that may be absent (`riemann:`, `self_monitoring:`, `accept_rate:`).
    /// - Parameters:
    ///   - make: the section with its defaults, before its keys are read.
    ///   - absent: how an absent section prints (`nil`: not at all).
    ///   - allowsOff: `off` turns it off.
    ///   - shorthand: reads a single value written instead of the mapping (`record: /path`).
    ///   - reload: for adding or removing the section, and for any change of an inline one.
    static func optionalTable<Sub>(
        _ name: String,
        _ keyPath: WritableKeyPath<Section, Sub?>,
        _ table: ConfigTable<Sub>,
        _ style: ConfigTableStyle,
        _ reload: ReloadClass,
        _ doc: String,
        make: @escaping () -> Sub,
        absent: ConfigText?,
        allowsOff: Bool = false,
        shorthand: ((ConfigNode) throws(ConfigError) -> Sub)? = nil
    ) -> Self {
        let changes: (Section, Section) -> [String] = { old, new in
            switch (old[keyPath: keyPath], new[keyPath: keyPath]) {
            case (nil, nil): return []
            case (let old?, let new?):
                let inner = table.changes(old, new)
                switch style {
                case .inline: return inner.isEmpty ? [] : [name]
                case .block: return inner.map { "\(name).\($0)" }
                }
            default: return [name]
            }
        }
        return ConfigField(
            name: name,
            doc: doc,
            subKeys: table.keys.map { (".\($0.path)", $0.doc) },
            read: { (node, section, warnings) throws(ConfigError) in
                if allowsOff, node.isOff() {
                    section[keyPath: keyPath] = nil
                } else if let shorthand, case .scalar = node.node {
                    section[keyPath: keyPath] = try shorthand(node)
                } else {
                    var value = make()
                    try table.read(node, into: &value, warnings: &warnings)
                    section[keyPath: keyPath] = value
                }
            },
            print: { section in section[keyPath: keyPath].map { table.text($0, style: style) } ?? absent },
            changes: changes,
            keepRestartOnly: { applied, running in
                switch (running[keyPath: keyPath], applied[keyPath: keyPath]) {
                case (nil, nil): return []
                case (let kept?, var current?) where style == .block:
                    let names = table.keepRestartOnly(&current, running: kept)
                    applied[keyPath: keyPath] = current
                    return names.map { "\(name).\($0)" }
                default:
                    guard reload == .restart, !changes(running, applied).isEmpty else { return [] }
                    applied[keyPath: keyPath] = running[keyPath: keyPath]
                    return [name]
                }
            }
        )
    }
}

extension ConfigTable {
    func text(_ section: Section, style: ConfigTableStyle) -> ConfigText {
        switch style {
        case .inline: return .inline(self.inline(section))
        case .block: return .block(self.lines(section))
        }
    }
}

extension ConfigText {
    /// A YAML double-quoted scalar.
    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// A YAML flow sequence of quoted scalars: `["a", "b"]`.
    static func list(_ items: [String]) -> String {
        "[\(items.map(Self.quoted).joined(separator: ", "))]"
    }
}

/// How a running daemon takes a changed key on reload (SIGHUP).
public enum ReloadClass: Sendable, Hashable {
    /// Applied to the running daemon.
    case live
    /// Takes effect after a restart: a reload names the key and keeps the running value.
    case restart
}

/// A key's value as `check-config` prints it.
enum ConfigText: Hashable {
    /// `key: text`
    case inline(String)
    /// `key:` and these lines one level deeper.
    case block([String])
    /// `# key: text`: an optional section left out.
    case comment(String)
}

/// One configuration key: its name, what it means, how it is read, printed and reloaded. The
/// one place that knows a key; ``ConfigTable`` lists them per section, and the loader,
/// `check-config` (``TeeConfiguration/effectiveYAML``), the reload plan and the README check all
/// walk the tables.
struct ConfigField<Section> {
    /// The key as users write it (stable: renaming one breaks their files).
    let name: String
    /// One line: what the key means.
    let doc: String
    /// Keys below this one, with their paths relative to it: `.max_events`, `[].name`.
    let subKeys: [(path: String, doc: String)]
    /// The message when the key is absent, for a required key; `nil`: optional.
    let missing: String?
    /// Reads the key's node into the section; warnings go to the list.
    let read: (ConfigNode, inout Section, inout [ConfigDiagnostic]) throws(ConfigError) -> Void
    /// The effective value; `nil`: not printed.
    let print: (Section) -> ConfigText?
    /// The relative key paths that differ between two sections (empty: equal).
    let changes: (Section, Section) -> [String]
    /// Puts back the running value of every restart-only key that changed; returns their
    /// relative key paths.
    let keepRestartOnly: (inout Section, Section) -> [String]

    init(
        name: String,
        doc: String,
        subKeys: [(path: String, doc: String)] = [],
        missing: String? = nil,
        read: @escaping (ConfigNode, inout Section, inout [ConfigDiagnostic]) throws(ConfigError) -> Void,
        print: @escaping (Section) -> ConfigText?,
        changes: @escaping (Section, Section) -> [String],
        keepRestartOnly: @escaping (inout Section, Section) -> [String]
    ) {
        self.name = name
        self.doc = doc
        self.subKeys = subKeys
        self.missing = missing
        self.read = read
        self.print = print
        self.changes = changes
        self.keepRestartOnly = keepRestartOnly
    }
}

/// The keys of one configuration section in the order `check-config` prints them, with the
/// section's cross-key checks.
struct ConfigTable<Section> {
    let fields: [ConfigField<Section>]
    /// Checks between keys (`queue_bytes` ≥ `max_frame_size`), defaults that depend on other keys,
    /// warnings; runs after the keys are read, with the section's node.
    let validate: (ConfigNode, inout Section, inout [ConfigDiagnostic]) throws(ConfigError) -> Void

    init(
        _ fields: [ConfigField<Section>],
        validate: @escaping (ConfigNode, inout Section, inout [ConfigDiagnostic]) throws(ConfigError) -> Void = {
            _,
            _,
            _ in
        }
    ) {
        self.fields = fields
        self.validate = validate
    }

    var names: [String] { self.fields.map(\.name) }

    /// Every key of the section with its doc line, as paths: `servers`, `batch`, `batch.max_events`...
    var keys: [(path: String, doc: String)] {
        self.fields.flatMap { field in [(field.name, field.doc)] + field.subKeys.map { (field.name + $0.path, $0.doc) }
        }
    }

    var keyPaths: [String] { self.keys.map(\.path) }

    /// Reads a mapping node: unknown keys and missing required keys are errors.
    func read(_ node: ConfigNode, into section: inout Section, warnings: inout [ConfigDiagnostic]) throws(ConfigError) {
        let entries = try node.mapping(allowed: self.names)
        for field in self.fields {
            if let entry = entries[field.name] {
                try field.read(entry, &section, &warnings)
            } else if let missing = field.missing {
                throw node.error(missing)
            }
        }
        try self.validate(node, &section, &warnings)
    }

    /// The section as YAML lines, each starting with `indent`.
    func lines(_ section: Section, indent: String = "") -> [String] {
        var lines: [String] = []
        for field in self.fields {
            switch field.print(section) {
            case nil: continue
            case .inline(let text): lines.append("\(indent)\(field.name): \(text)")
            case .comment(let text): lines.append("\(indent)# \(field.name): \(text)")
            case .block(let block):
                lines.append("\(indent)\(field.name):")
                lines += block.map { "\(indent)  \($0)" }
            }
        }
        return lines
    }

    /// The section as a YAML flow mapping: `{ max_events: 500, max_bytes: 1MiB }`.
    func inline(_ section: Section) -> String {
        let pairs = self.fields.compactMap { field -> String? in
            guard case .inline(let text) = field.print(section) else { return nil }
            return "\(field.name): \(text)"
        }
        return "{ \(pairs.joined(separator: ", ")) }"
    }

    /// Key paths (relative to the section) whose values differ, in table order.
    func changes(_ old: Section, _ new: Section) -> [String] {
        self.fields.flatMap { $0.changes(old, new) }
    }

    /// Puts back the running value of each restart-only key that changed; returns their key paths.
    func keepRestartOnly(_ applied: inout Section, running: Section) -> [String] {
        self.fields.flatMap { $0.keepRestartOnly(&applied, running) }
    }
}

/// How a sub-table prints.
enum ConfigTableStyle {
    /// `batch: { max_events: 500, ... }`; a change is named by the sub-table's key (`riemann.batch`).
    case inline
    /// `decode:` and one key a line; a change is named by the inner key (`decode.workers`).
    case block
}

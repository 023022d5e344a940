import Foundation
import Relay
import Yams

/// A YAML node together with where it sits in the document, with typed accessors that throw
/// ``ConfigError``s naming the file, line, key path and the problem.
struct ConfigNode {
    let node: Node
    let path: String
    let file: String

    func error(_ message: String) -> ConfigError {
        ConfigError(
            file: self.file,
            line: self.node.mark?.line,
            column: self.node.mark?.column,
            keyPath: self.path,
            message: message
        )
    }

    func warning(_ message: String) -> ConfigDiagnostic {
        ConfigDiagnostic(
            file: self.file,
            line: self.node.mark?.line,
            column: self.node.mark?.column,
            keyPath: self.path,
            message: message,
            severity: .warning
        )
    }

    /// The entry `key` of a mapping, unchecked (for pointing at it; reading goes through
    /// ``mapping(allowed:)``); `nil` when absent or when this is not a mapping.
    subscript(key: String) -> ConfigNode? {
        guard case .mapping(let mapping) = self.node else { return nil }
        guard let value = mapping.first(where: { $0.key.scalar?.string == key })?.value else { return nil }
        return self.child(value, key: key)
    }

    private func child(_ node: Node, key: String) -> ConfigNode {
        ConfigNode(node: node, path: self.path.isEmpty ? key : "\(self.path).\(key)", file: self.file)
    }

    /// The entries of a mapping; a key outside `allowed` is an error that lists the allowed keys.
    func mapping(allowed: [String]) throws(ConfigError) -> [String: ConfigNode] {
        guard case .mapping(let mapping) = self.node else {
            throw self.error("expected a mapping of keys (\(allowed.joined(separator: ", "))), found \(self.kind)")
        }
        var result: [String: ConfigNode] = [:]
        for (keyNode, value) in mapping {
            let keyName = keyNode.scalar?.string ?? "\(keyNode)"
            let entry = self.child(value, key: keyName)
            guard allowed.contains(keyName) else {
                let keyError = ConfigNode(node: keyNode, path: entry.path, file: self.file)
                throw keyError.error("unknown key (allowed here: \(allowed.joined(separator: ", ")))")
            }
            guard result[keyName] == nil else {
                throw ConfigNode(node: keyNode, path: entry.path, file: self.file).error("key appears twice")
            }
            result[keyName] = entry
        }
        return result
    }

    func sequence() throws(ConfigError) -> [ConfigNode] {
        guard case .sequence(let sequence) = self.node else {
            throw self.error("expected a list, found \(self.kind)")
        }
        return sequence.enumerated().map { index, node in
            ConfigNode(node: node, path: "\(self.path)[\(index)]", file: self.file)
        }
    }

    func string() throws(ConfigError) -> String {
        guard case .scalar(let scalar) = self.node else {
            throw self.error("expected a single value, found \(self.kind)")
        }
        return scalar.string
    }

    func nonEmptyString() throws(ConfigError) -> String {
        let value = try self.string()
        guard !value.trimmingCharacters(in: .whitespaces).isEmpty else { throw self.error("must not be empty") }
        return value
    }

    func int(in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        let text = try self.string()
        guard let value = Int(text.replacingOccurrences(of: "_", with: "")) else {
            throw self.error("\"\(text)\" is not a whole number")
        }
        guard range.contains(value) else {
            throw self.error("\(value) is out of range (\(range.lowerBound)...\(range.upperBound))")
        }
        return value
    }

    /// A size in bytes: `65536`, `64KiB`, `4MiB`, `1GiB` (also `K`, `M`, `G`, `KB`, `MB`, `GB` as binary units).
    func byteSize(in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        let text = try self.string().trimmingCharacters(in: .whitespaces)
        let units: [(suffix: String, factor: Int)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1 << 10), ("MB", 1 << 20), ("GB", 1 << 30),
            ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("B", 1),
        ]
        var value: Int?
        if let plain = Int(text.replacingOccurrences(of: "_", with: "")) {
            value = plain
        } else {
            for unit in units where text.hasSuffix(unit.suffix) {
                if let number = Int(text.dropLast(unit.suffix.count).trimmingCharacters(in: .whitespaces)) {
                    let (product, overflow) = number.multipliedReportingOverflow(by: unit.factor)
                    value = overflow ? nil : product
                }
                break
            }
        }
        guard let value else {
            throw self.error("\"\(text)\" is not a size (examples: 65536, 256KiB, 4MiB)")
        }
        guard range.contains(value) else {
            throw self.error(
                "\(text) is out of range (\(ByteSizeFormat.text(range.lowerBound))...\(ByteSizeFormat.text(range.upperBound)))"
            )
        }
        return value
    }

    /// Whether the value is `off` (an optional limit switched off).
    func isOff() -> Bool {
        guard case .scalar(let scalar) = self.node else { return false }
        return scalar.string == "off"
    }

    func bool() throws(ConfigError) -> Bool {
        switch try self.string().lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        case let other: throw self.error("\"\(other)\" is not true or false")
        }
    }

    /// A duration: `250ms`, `5s`, `10m`, `1h`, or a bare number of seconds.
    func duration(atLeast minimum: Duration = .zero) throws(ConfigError) -> Duration {
        let text = try self.string().trimmingCharacters(in: .whitespaces)
        let units: [(suffix: String, nanoseconds: Double)] = [
            ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
        ]
        var amount: Duration?
        var nanoseconds: Double?
        for unit in units where text.hasSuffix(unit.suffix) {
            let number = text.dropLast(unit.suffix.count)
            if let value = Double(number), value.isFinite, value >= 0 {
                nanoseconds = value * unit.nanoseconds
            }
            break
        }
        if nanoseconds == nil, let seconds = Double(text), seconds.isFinite, seconds >= 0 {
            nanoseconds = seconds * 1e9
        }
        if let nanoseconds {
            // Int64(_:) traps above Int64.max (about 292 years, e.g. `1e10h`): refuse instead.
            guard let exact = Int64(exactly: nanoseconds.rounded(.towardZero)) else {
                throw self.error("\(text) is too long (at most about 292 years)")
            }
            amount = .nanoseconds(exact)
        }
        guard let amount else {
            throw self.error("\"\(text)\" is not a duration (examples: 250ms, 5s, 10m, 1h)")
        }
        guard amount.nanosecondCount >= minimum.nanosecondCount else {
            throw self.error("\(text) is too short (at least \(DurationFormat.text(minimum)))")
        }
        return amount
    }

    func endpoint() throws(ConfigError) -> Endpoint {
        let text = try self.string()
        do {
            return try Endpoint(parsing: text)
        } catch {
            throw self.error(error.description)
        }
    }

    /// A non-empty list of `host:port` addresses (`must list at least one <what>`); `refuse`
    /// names what is wrong with an address, given the ones before it.
    func endpoints(
        atLeastOne what: String,
        refuse: (Endpoint, _ before: [Endpoint]) -> String? = { _, _ in nil }
    ) throws(ConfigError) -> [Endpoint] {
        let items = try self.sequence()
        guard !items.isEmpty else { throw self.error("must list at least one \(what)") }
        var endpoints: [Endpoint] = []
        for item in items {
            let endpoint = try item.endpoint()
            if let problem = refuse(endpoint, endpoints) { throw item.error(problem) }
            endpoints.append(endpoint)
        }
        return endpoints
    }

    func oneOf<T: RawRepresentable>(_ type: T.Type) throws(ConfigError) -> T
    where T: CaseIterable, T.RawValue == String {
        let text = try self.string()
        guard let value = T(rawValue: text) else {
            let allowed = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw self.error("unknown value \"\(text)\" (expected \(allowed))")
        }
        return value
    }

    private var kind: String {
        switch self.node {
        case .scalar(let scalar): return scalar.string.isEmpty ? "nothing" : "the value \"\(scalar.string)\""
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }
}

/// Renders byte sizes the way the configuration accepts them.
enum ByteSizeFormat {
    static func text(_ bytes: Int) -> String {
        if bytes != 0, bytes % (1 << 30) == 0 { return "\(bytes >> 30)GiB" }
        if bytes != 0, bytes % (1 << 20) == 0 { return "\(bytes >> 20)MiB" }
        if bytes != 0, bytes % (1 << 10) == 0 { return "\(bytes >> 10)KiB" }
        return "\(bytes)"
    }
}

/// Renders durations the way the configuration accepts them.
enum DurationFormat {
    static func text(_ amount: Duration) -> String {
        let ns = amount.nanosecondCount
        if ns % 3_600_000_000_000 == 0, ns != 0 { return "\(ns / 3_600_000_000_000)h" }
        if ns % 60_000_000_000 == 0, ns != 0 { return "\(ns / 60_000_000_000)m" }
        if ns % 1_000_000_000 == 0 { return "\(ns / 1_000_000_000)s" }
        return "\(ns / 1_000_000)ms"
    }
}

extension Duration {
    /// The span in whole nanoseconds, saturating instead of trapping (a configured span is at
    /// most about 292 years).
    var nanosecondCount: Int64 {
        let (seconds, attoseconds) = self.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        let (sum, overflowed) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflowed ? (seconds < 0 ? .min : .max) : sum
    }
}

import Foundation
import Logging
import Relay
import Yams

/// Reads and validates `config.yaml`.
///
/// Every problem becomes a ``ConfigError`` naming the file, line, key path and what is wrong:
/// unknown keys, wrong types, bad addresses, empty target lists, duplicate listener names or
/// listen addresses. The keys and how each is read are in the section tables
/// (``TeeConfiguration/table`` and the `…+ConfigTable.swift` files beside it).
public enum ConfigLoader {
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
                throw ConfigError(
                    file: file,
                    keyPath: "",
                    message: "the file is empty; it needs at least a 'listeners' list"
                )
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
        var configuration = TeeConfiguration(listeners: [])
        var warnings: [ConfigDiagnostic] = []
        try TeeConfiguration.table.read(document, into: &configuration, warnings: &warnings)
        configuration.warnings = warnings
        return configuration
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

    private static func syntaxError(_ error: YamlError, file: String) -> ConfigError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return ConfigError(
                file: file,
                line: mark.line,
                column: mark.column,
                keyPath: "",
                message: "not valid YAML: \(problem)"
            )
        default:
            return ConfigError(file: file, keyPath: "", message: "not valid YAML: \(error)")
        }
    }
}

extension ConfigLoader {
    /// Every key the loader accepts, as a path: `log_level`, `listeners[].targets`,
    /// `riemann.batch.max_events`... The README's configuration reference is checked against it.
    public static var keyPaths: [String] {
        TeeConfiguration.table.keyPaths
    }
}

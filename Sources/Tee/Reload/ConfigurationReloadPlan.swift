import Relay

/// What a configuration reload changes, worked out from the running and the new configuration
/// before anything is touched.
///
/// Live (applied to the running daemon, open connections untouched):
/// - listeners added (bound and started), removed (stop accepting; their open connections
///   finish), and per listener `listen` (added addresses bound, removed ones closed), `targets`,
///   `balance`, `connect_timeout`, `idle_timeout`, `target_cooldown`, `drain_timeout`,
///   `first_byte_timeout`, `client_fin_timeout`, `server_reply_timeout`, `max_connections`,
///   `max_connections_per_source`, `accept_rate`, `allow`, `socket_buffer`, `tcp_smart_connect`,
///   `tcp_fin_with_data`, `record`, `decode`, `passive_proxy`, and `backlog` and `tcp_defer_accept`
///   (for addresses bound from then on): new connections use the new values;
/// - `mapping` (all keys): values decoded from then on;
/// - `riemann` (all keys, while the section stays present): the running client is reconfigured
///   without losing queued events;
/// - `shutdown_timeout`, and the process-wide `max_connections` (new connections are admitted
///   against it; open ones above a lowered limit stay open).
///
/// Restart required (a warning names the key; the running value stays): `log_level`, `threads`,
/// `decode`, `catalog`, `admin`, `graphite` (every key), adding or removing the whole `riemann` section, and turning
/// `decode` on for a listener when no listener decoded at start (there is no decoder running).
public struct ConfigurationReloadPlan: Sendable {
    /// The configuration to run with: the new one, with every restart-only value kept from the
    /// running one.
    public var applied: TeeConfiguration
    /// Names of listeners to create and start.
    public var listenersAdded: [String] = []
    /// Names of listeners to stop (their open connections finish).
    public var listenersRemoved: [String] = []
    /// Listeners that stay, with the keys that change (`targets`, `listen`...), by name.
    public var listenersChanged: [String: [String]] = [:]
    /// Changed `mapping` keys (`mapping.service`...).
    public var mappingChanged: [String] = []
    /// Changed `riemann` keys (`riemann.servers`...).
    public var riemannChanged: [String] = []
    /// Other live keys that changed (`shutdown_timeout`).
    public var otherChanged: [String] = []
    /// Keys that changed but take effect only after a restart; their running values are kept.
    public var restartRequired: [String] = []

    /// Works out the plan.
    /// - Parameters:
    ///   - running: the configuration in force.
    ///   - new: the configuration just loaded (already validated).
    ///   - decoderRunning: whether the daemon has a decoder (some listener decoded at start).
    public init(running: TeeConfiguration, new: TeeConfiguration, decoderRunning: Bool) {
        var applied = new
        var restart: [String] = []
        func keep<Value>(_ path: String, _ keyPath: WritableKeyPath<TeeConfiguration, Value>, changed: Bool) {
            guard changed else { return }
            restart.append(path)
            applied[keyPath: keyPath] = running[keyPath: keyPath]
        }
        keep("log_level", \.logLevel, changed: running.logLevel != new.logLevel)
        keep("threads", \.threads, changed: running.threads != new.threads)
        for path in Self.changedKeys(running.effectiveDecodeLines, new.effectiveDecodeLines) { restart.append(path) }
        for path in Self.changedKeys(running.effectiveCatalogLines, new.effectiveCatalogLines) { restart.append(path) }
        applied.decode = running.decode
        if running.effectiveAdminLines != new.effectiveAdminLines {
            restart += Self.changedKeys(running.effectiveAdminLines, new.effectiveAdminLines)
            applied.admin = running.admin
        }
        if running.effectiveGraphiteLines != new.effectiveGraphiteLines {
            restart += Self.changedKeys(running.effectiveGraphiteLines, new.effectiveGraphiteLines)
            applied.graphite = running.graphite
        }
        if (running.riemann == nil) != (new.riemann == nil) {
            restart.append("riemann")
            applied.riemann = running.riemann
            applied.riemannFlushTimeout = running.riemannFlushTimeout
        }
        if !decoderRunning {
            for listener in new.listeners where new.options(for: listener.name).decode {
                applied.listenerOptions[listener.name, default: .init()].decode = false
                if running.listeners.contains(where: { $0.name == listener.name }) {
                    restart.append("listeners[\(listener.name)].decode")
                } else {
                    restart.append("listeners[\(listener.name)].decode (no listener decoded at start)")
                }
            }
        }
        self.applied = applied
        self.restartRequired = restart

        let runningNames = running.listeners.map(\.name)
        let newNames = applied.listeners.map(\.name)
        self.listenersAdded = newNames.filter { !runningNames.contains($0) }
        self.listenersRemoved = runningNames.filter { !newNames.contains($0) }
        for listener in applied.listeners {
            guard let old = running.listeners.first(where: { $0.name == listener.name }) else { continue }
            let keys = Self.changedKeys(running.effectiveLines(listener: old), applied.effectiveLines(listener: listener))
            if !keys.isEmpty { self.listenersChanged[listener.name] = keys }
        }
        self.mappingChanged = Self.changedKeys(running.effectiveMappingLines, applied.effectiveMappingLines)
        self.riemannChanged = Self.changedKeys(running.effectiveRiemannLines, applied.effectiveRiemannLines)
        if running.shutdownTimeout != applied.shutdownTimeout { self.otherChanged.append("shutdown_timeout") }
        if running.maxConnections != applied.maxConnections { self.otherChanged.append("max_connections") }
    }

    /// Whether the reload changes nothing that is applied live.
    public var changesNothing: Bool {
        self.listenersAdded.isEmpty && self.listenersRemoved.isEmpty && self.listenersChanged.isEmpty
            && self.mappingChanged.isEmpty && self.riemannChanged.isEmpty && self.otherChanged.isEmpty
    }

    /// One line for the log: `listeners added: x; listener agents: targets, listen; mapping:
    /// service; riemann: servers` or `no change`.
    public var summary: String {
        var parts: [String] = []
        if !self.listenersAdded.isEmpty { parts.append("listeners added: \(self.listenersAdded.joined(separator: ", "))") }
        if !self.listenersRemoved.isEmpty { parts.append("listeners removed: \(self.listenersRemoved.joined(separator: ", "))") }
        for (name, keys) in self.listenersChanged.sorted(by: { $0.key < $1.key }) {
            parts.append("listener \(name): \(keys.joined(separator: ", "))")
        }
        if !self.mappingChanged.isEmpty { parts.append(self.mappingChanged.joined(separator: ", ")) }
        if !self.riemannChanged.isEmpty { parts.append(self.riemannChanged.joined(separator: ", ")) }
        parts += self.otherChanged
        return parts.isEmpty ? "no change" : parts.joined(separator: "; ")
    }

    /// The key paths whose lines differ between two renderings of the same section, in order of
    /// first appearance (`mapping.service`, `riemann.batch`, `targets` for a listener item).
    static func changedKeys(_ old: [String], _ new: [String]) -> [String] {
        let before = Self.flatten(old)
        let after = Self.flatten(new)
        let beforeValues = Dictionary(before, uniquingKeysWith: { first, _ in first })
        let afterValues = Dictionary(after, uniquingKeysWith: { first, _ in first })
        var changed: [String] = []
        for (path, _) in after + before where beforeValues[path] != afterValues[path] && !changed.contains(path) {
            changed.append(path)
        }
        return changed
    }

    /// `(key path, line)` for each line of an effective-YAML rendering: nested keys joined with
    /// dots by indentation; a list item's `- ` counts as indentation; the item's `name` line
    /// (which identifies it) is left out.
    private static func flatten(_ lines: [String]) -> [(String, String)] {
        var stack: [(indent: Int, key: String)] = []
        var result: [(String, String)] = []
        for line in lines {
            var text = Substring(line)
            var indent = 0
            while let first = text.first, first == " " || (first == "-" && text.dropFirst().first == " ") {
                indent += 1
                text = text.dropFirst()
            }
            if text.hasPrefix("# ") {
                text = text.dropFirst(2)  // `# riemann: (absent...)`: the key of a section left out
            }
            guard let colon = text.firstIndex(of: ":") else {
                result.append((String(text), line))
                continue
            }
            let key = String(text[..<colon])
            while let last = stack.last, last.indent >= indent { stack.removeLast() }
            stack.append((indent, key))
            if line.hasPrefix("  - ") && key == "name" { continue }
            let path = stack.filter { !($0.key == "name" && $0.indent == 4) }.map(\.key).joined(separator: ".")
            result.append((path, line))
        }
        return result
    }
}

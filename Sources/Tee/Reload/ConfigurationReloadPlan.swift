import Relay

/// What a configuration reload changes, worked out from the running and the new configuration
/// before anything is touched.
///
/// Whether a key is applied live or needs a restart is in its section's table
/// (`Configuration/…+ConfigTable.swift`); values are compared key by key. In short: listeners
/// (matched by name; new connections use the new values), `mapping`, `riemann` (while the section
/// stays present; the client is reconfigured without losing queued events), `shutdown_timeout` and
/// `max_connections` are live. `log_level`, `threads`, `decode`, `catalog`, `admin`, `graphite` and adding or
/// removing the `riemann` section need a restart: a warning names the key and the running value
/// stays. So does turning `decode` on for a listener when no listener decoded at start (there is
/// no decoder running).
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
        // Each key's reload class is in its section's table (`…+ConfigTable.swift`).
        var restart = TeeConfiguration.table.keepRestartOnly(&applied, running: running)
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
            let keys = ListenerSection.table.changes(
                ListenerSection(relay: old, options: running.options(for: old.name)),
                ListenerSection(relay: listener, options: applied.options(for: listener.name))
            )
            if !keys.isEmpty { self.listenersChanged[listener.name] = keys }
        }
        for path in TeeConfiguration.table.changes(running, applied) {
            switch path.prefix(while: { $0 != "." }) {
            case "mapping": self.mappingChanged.append(path)
            case "riemann": self.riemannChanged.append(path)
            default: self.otherChanged.append(path)
            }
        }
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
        if !self.listenersAdded.isEmpty {
            parts.append("listeners added: \(self.listenersAdded.joined(separator: ", "))")
        }
        if !self.listenersRemoved.isEmpty {
            parts.append("listeners removed: \(self.listenersRemoved.joined(separator: ", "))")
        }
        for (name, keys) in self.listenersChanged.sorted(by: { $0.key < $1.key }) {
            parts.append("listener \(name): \(keys.joined(separator: ", "))")
        }
        if !self.mappingChanged.isEmpty { parts.append(self.mappingChanged.joined(separator: ", ")) }
        if !self.riemannChanged.isEmpty { parts.append(self.riemannChanged.joined(separator: ", ")) }
        parts += self.otherChanged
        return parts.isEmpty ? "no change" : parts.joined(separator: "; ")
    }
}

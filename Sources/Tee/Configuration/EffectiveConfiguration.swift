import Foundation
import NIOCore
import Relay

extension TeeConfiguration {
    /// The configuration with every default spelled out, as YAML that `ConfigLoader` accepts again.
    /// Printed by `zabbix-tee check-config`.
    public var effectiveYAML: String {
        var lines: [String] = []
        lines.append("log_level: \(self.logLevel.rawValue)")
        lines.append("shutdown_timeout: \(DurationFormat.text(.nanoseconds(Int64(self.shutdownTimeout.components.seconds) * 1_000_000_000 + self.shutdownTimeout.components.attoseconds / 1_000_000_000)))")
        lines.append("listeners:")
        for listener in self.listeners {
            lines.append("  - name: \(Self.quoted(listener.name))")
            lines.append("    listen: [\(listener.listen.map { Self.quoted($0.description) }.joined(separator: ", "))]")
            lines.append("    targets: [\(listener.targets.map { Self.quoted($0.description) }.joined(separator: ", "))]")
            lines.append("    balance: \(listener.balance.rawValue)")
            lines.append("    connect_timeout: \(DurationFormat.text(listener.connectTimeout))")
            lines.append("    idle_timeout: \(DurationFormat.text(listener.idleTimeout))")
            lines.append("    target_cooldown: \(DurationFormat.text(listener.targetCoolDown))")
            lines.append("    drain_timeout: \(DurationFormat.text(listener.drainTimeout))")
            lines.append("    max_connections: \(listener.maxConnections)")
            lines.append("    backlog: \(listener.backlog)")
            if let size = listener.socketBufferSize {
                lines.append("    socket_buffer: \(ByteSizeFormat.text(size))")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

import Foundation
import NIOCore
import Relay

extension TeeConfiguration {
    /// The configuration with every default spelled out, as YAML that `ConfigLoader` accepts again.
    /// Printed by `zabbix-tee check-config`.
    public var effectiveYAML: String {
        var lines: [String] = []
        lines.append("log_level: \(self.logLevel.rawValue)")
        lines.append("shutdown_timeout: \(Self.text(self.shutdownTimeout))")
        lines.append("threads: \(self.threads.map(String.init) ?? "auto")  # auto: \(CPUAffinity.availableCPUs) CPUs available")
        lines.append("max_connections: \(self.maxConnections)")
        lines.append("listeners:")
        for listener in self.listeners {
            lines += self.effectiveLines(listener: listener)
        }
        lines += self.effectiveDecodeLines
        lines += self.effectiveCatalogLines
        lines += self.effectiveRiemannLines
        lines += self.effectiveGraphiteLines
        lines += self.effectiveMappingLines
        lines += self.effectiveAdminLines
        return lines.joined(separator: "\n") + "\n"
    }

    /// One `listeners` item of ``effectiveYAML``.
    func effectiveLines(listener: RelayListenerConfiguration) -> [String] {
        var lines: [String] = []
        lines.append("  - name: \(Self.quoted(listener.name))")
        lines.append("    listen: [\(listener.listen.map { Self.quoted($0.description) }.joined(separator: ", "))]")
        lines.append("    targets: [\(listener.targets.map { Self.quoted($0.description) }.joined(separator: ", "))]")
        lines.append("    balance: \(listener.balance.rawValue)")
        lines.append("    connect_timeout: \(DurationFormat.text(listener.connectTimeout))")
        lines.append("    idle_timeout: \(DurationFormat.text(listener.idleTimeout))")
        lines.append("    target_cooldown: \(DurationFormat.text(listener.targetCoolDown))")
        lines.append("    drain_timeout: \(DurationFormat.text(listener.drainTimeout))")
        lines.append("    first_byte_timeout: \(DurationFormat.text(listener.firstByteTimeout))")
        lines.append("    client_fin_timeout: \(DurationFormat.text(listener.clientFinTimeout))")
        lines.append("    server_reply_timeout: \(DurationFormat.text(listener.serverReplyTimeout))")
        lines.append("    max_connections: \(listener.maxConnections)")
        lines.append("    max_connections_per_source: \(listener.maxConnectionsPerSource.map(String.init) ?? "off")")
        if let rate = listener.acceptRate {
            lines.append("    accept_rate: { per_second: \(Self.number(rate.perSecond)), burst: \(rate.burst) }")
        } else {
            lines.append("    accept_rate: \"off\"")
        }
        lines.append("    allow: [\(listener.allow.map { Self.quoted($0.description) }.joined(separator: ", "))]")
        lines.append("    backlog: \(listener.backlog)")
        if let size = listener.socketBufferSize {
            lines.append("    socket_buffer: \(ByteSizeFormat.text(size))")
        }
        lines.append("    tcp_smart_connect: \(listener.kernel.quickAckOffBeforeConnect)")
        lines.append("    tcp_fin_with_data: \(listener.kernel.moreBeforeEndOfStream)")
        lines.append("    tcp_defer_accept: \(listener.kernel.deferAccept.map { DurationFormat.text($0) } ?? "off")")
        let options = self.options(for: listener.name)
        lines.append("    decode: \(options.decode)")
        if let record = options.record {
            lines.append(
                "    record: { path: \(Self.quoted(record.path)), max_bytes: \(ByteSizeFormat.text(record.maximumBytes)), max_files: \(record.maximumRecordings) }")
        }
        lines.append("    passive_proxy: \(options.passiveProxy)")
        return lines
    }

    /// The `decode` section of ``effectiveYAML``.
    var effectiveDecodeLines: [String] {
        var lines: [String] = []
        let decode = self.decode
        lines.append("decode:")
        lines.append("  max_frame_size: \(ByteSizeFormat.text(decode.maximumFrameSize))")
        lines.append("  queue_frames: \(decode.queueFrames)")
        lines.append("  queue_bytes: \(ByteSizeFormat.text(decode.queueBytes))")
        lines.append("  workers: \(decode.workers)")
        lines.append("  duplicate_sessions: \(decode.duplicateSessions)")
        return lines
    }

    /// The `catalog` section of ``effectiveYAML``.
    var effectiveCatalogLines: [String] {
        var lines: [String] = []
        let decode = self.decode
        lines.append("catalog:")
        if let path = decode.catalogPath { lines.append("  path: \(Self.quoted(path))") }
        lines.append("  max_entries: \(decode.catalogMaximumEntries)")
        lines.append("  max_entries_per_proxy: \(decode.catalogMaximumEntriesPerProxy)")
        lines.append("  save_interval: \(Self.text(decode.catalogSaveInterval))")
        lines.append("  unresolved_wait: \(Self.text(decode.unresolvedWait))")
        lines.append("  unresolved_max: \(decode.unresolvedMaximum)")
        lines.append("  unresolved: \(decode.unresolvedAction.rawValue)")
        return lines
    }

    /// The `riemann` section of ``effectiveYAML`` (a comment when absent).
    var effectiveRiemannLines: [String] {
        var lines: [String] = []
        if let riemann = self.riemann {
            lines.append("riemann:")
            lines.append("  servers: [\(riemann.servers.map { Self.quoted(Endpoint(host: $0.host, port: $0.port).description) }.joined(separator: ", "))]")
            lines.append("  batch: { max_events: \(riemann.maximumBatchEvents), max_bytes: \(ByteSizeFormat.text(riemann.maximumBatchBytes)), max_delay: \(DurationFormat.text(riemann.maximumBatchDelay)) }")
            lines.append("  queue: { max_events: \(riemann.queueCapacity), max_bytes: \(ByteSizeFormat.text(riemann.queueMaximumBytes)), overflow: \(riemann.overflowPolicy == .dropOldest ? "drop-oldest" : "drop-newest") }")
            lines.append("  in_flight: \(riemann.maximumMessagesInFlight)")
            lines.append("  ack_timeout: \(DurationFormat.text(riemann.acknowledgementTimeout))")
            lines.append("  connect_timeout: \(DurationFormat.text(riemann.connectTimeout))")
            lines.append("  reconnect: { min: \(DurationFormat.text(riemann.reconnectBackoffMinimum)), max: \(DurationFormat.text(riemann.reconnectBackoffMaximum)) }")
            lines.append("  max_delivery_attempts: \(riemann.maximumDeliveryAttempts)")
            lines.append("  flush_timeout: \(Self.text(self.riemannFlushTimeout))")
            if let monitoring = self.selfMonitoring {
                lines.append("  self_monitoring:")
                lines.append("    interval: \(Self.text(monitoring.interval))")
                lines.append("    host: \(Self.quoted(monitoring.host))")
                lines.append("    service_prefix: \(Self.quoted(monitoring.servicePrefix))")
                lines.append("    ttl: \(monitoring.ttl.map { DurationFormat.text(.nanoseconds(Int64(Double($0) * 1e9))) } ?? "none")")
                lines.append("    tags: [\(monitoring.tags.map(Self.quoted).joined(separator: ", "))]")
            } else {
                lines.append("  # self_monitoring: (absent: off)")
            }
        } else {
            lines.append("# riemann: (absent: values are decoded and counted, no events are sent)")
        }
        return lines
    }

    /// The `mapping` section of ``effectiveYAML``.
    var effectiveMappingLines: [String] {
        var lines: [String] = []
        let mapping = self.mapping
        lines.append("mapping:")
        lines.append("  service: \(Self.quoted(mapping.service.description))")
        lines.append("  state: \(Self.quoted(mapping.state ?? "none"))")
        switch mapping.notSupported {
        case .drop: lines.append("  not_supported: drop")
        case .state(let state): lines.append("  not_supported: \(Self.quoted(state))")
        }
        lines.append("  partial: \(mapping.partial.rawValue)")
        lines.append("  tags: [\(mapping.tags.map(Self.quoted).joined(separator: ", "))]")
        if mapping.attributes.isEmpty {
            lines.append("  attributes: {}")
        } else {
            lines.append("  attributes:")
            for (key, value) in mapping.attributes { lines.append("    \(Self.quoted(key)): \(Self.quoted(value))") }
        }
        lines.append("  zabbix_attributes: \(mapping.zabbixAttributes)")
        let ttl = mapping.ttl.map { DurationFormat.text(.nanoseconds(Int64(Double($0) * 1e9))) } ?? "none"
        if let multiple = mapping.ttlIntervalMultiple {
            lines += ["  ttl: auto", "  ttl_multiple: \(Self.number(multiple))", "  ttl_fallback: \(ttl)"]
        } else {
            lines.append("  ttl: \(ttl)")
        }
        lines.append("  description_max_length: \(mapping.descriptionMaximumLength)")
        for (name, filter) in [("include", mapping.include), ("exclude", mapping.exclude)] where !filter.isEmpty {
            lines.append("  \(name):")
            if !filter.hosts.isEmpty { lines.append("    hosts: [\(filter.hosts.map { Self.quoted($0.description) }.joined(separator: ", "))]") }
            if !filter.keys.isEmpty { lines.append("    keys: [\(filter.keys.map { Self.quoted($0.description) }.joined(separator: ", "))]") }
        }
        return lines
    }

    /// The `admin` section of ``effectiveYAML``.
    var effectiveAdminLines: [String] {
        var lines: [String] = []
        lines.append("admin:")
        if let admin = self.admin {
            lines.append("  listen: \(Self.quoted(Endpoint(host: admin.host, port: admin.port).description))")
        } else {
            lines.append("  listen: \"off\"")
        }
        return lines
    }

    private static func text(_ duration: Duration) -> String {
        DurationFormat.text(TimeAmount(duration))
    }

    /// `50` rather than `50.0`; fractions as Swift prints them.
    private static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }

    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

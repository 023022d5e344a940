import Admin
import Relay

/// Connection, byte and target metrics of the relay listeners, read from their statistics.
///
/// Every sample carries `listener` (the listener's configured name); target metrics also carry
/// `target` (`host:port` as configured).
public struct RelayMetricsSource: MetricsSource {
    private let listeners: @Sendable () -> [RelayListener]

    /// Reports `listeners` — a fixed set.
    public init(listeners: [RelayListener]) {
        self.listeners = { listeners }
    }

    /// Reports whatever `listeners` returns at scrape time (e.g. the set after a reload).
    public init(listeners: @escaping @Sendable () -> [RelayListener]) {
        self.listeners = listeners
    }

    public func collect(into snapshot: inout MetricsSnapshot) {
        for listener in self.listeners() {
            Self.collect(
                listener: listener.configuration.name,
                listen: listener.configuration.listen,
                statistics: listener.statistics,
                pool: listener.targetPool,
                into: &snapshot
            )
        }
    }

    /// The samples of one listener; public so that tests and other front ends can reuse it.
    public static func collect(
        listener name: String,
        listen: [Endpoint] = [],
        statistics: RelayStatistics,
        pool: TargetPool,
        into snapshot: inout MetricsSnapshot
    ) {
        let listener = MetricsSnapshot.Label("listener", name)
        for address in listen {
            snapshot.gauge(
                "zabbix_tee_listener_info",
                help: "1 for each address a listener is configured to listen on (listen).",
                labels: [listener, .init("address", address.description)],
                value: 1
            )
        }
        snapshot.gauge(
            "zabbix_tee_connections_active",
            help: "Client connections currently open.",
            labels: [listener],
            value: statistics.connectionsActive
        )
        snapshot.counter(
            "zabbix_tee_connections_total",
            help:
                "Client connections admitted (relayed, or failed for want of a target); refused ones are not included.",
            labels: [listener],
            value: statistics.connectionsAccepted
        )
        for reason in ConnectionAdmission.Reason.allCases {
            snapshot.counter(
                "zabbix_tee_connections_refused_total",
                help:
                    "Client connections closed on accept, before any target connect, by reason (not_allowed, source_limit, rate_limit, max_connections, process_max_connections).",
                labels: [listener, .init("reason", reason.rawValue)],
                value: statistics.connectionsRefused(reason)
            )
        }
        snapshot.counter(
            "zabbix_tee_connections_failed_total",
            help: "Client connections closed because no target could be connected.",
            labels: [listener],
            value: statistics.connectionsWithoutTarget
        )
        snapshot.counter(
            "zabbix_tee_connections_idle_timeout_total",
            help: "Relayed connections closed because neither side sent anything for the idle timeout.",
            labels: [listener],
            value: statistics.connectionsIdleTimedOut
        )
        for reason in RelayTimeout.allCases {
            snapshot.counter(
                "zabbix_tee_connections_timed_out_total",
                help:
                    "Relayed connections closed by a deadline, by reason (first_byte, idle, drain, client_fin, server_reply).",
                labels: [listener, .init("reason", reason.rawValue)],
                value: statistics.connectionsTimedOut(reason)
            )
        }
        for (side, direction) in [("client", RelayDirection.clientToServer), ("target", .serverToClient)] {
            snapshot.counter(
                "zabbix_tee_connection_errors_total",
                help:
                    "Relayed connections ended by a socket error (reset, write to a closed peer), by side (client, target).",
                labels: [listener, .init("side", side)],
                value: statistics.connectionErrors(readingFrom: direction)
            )
        }
        for direction in RelayDirection.allCases {
            snapshot.counter(
                "zabbix_tee_relayed_bytes_total",
                help: "Bytes delivered to the other side, by direction (client_to_server, server_to_client).",
                labels: [listener, .init("direction", direction.metricLabel)],
                value: statistics.bytesRelayed(direction)
            )
        }
        snapshot.gauge(
            "zabbix_tee_relay_buffered_bytes",
            help: "Bytes read from one side and not yet written to the other, over all connections.",
            labels: [listener],
            value: statistics.bytesInFlight
        )
        snapshot.gauge(
            "zabbix_tee_relay_buffered_bytes_max",
            help: "Highest zabbix_tee_relay_buffered_bytes seen since start.",
            labels: [listener],
            value: statistics.peakBytesInFlight
        )
        snapshot.counter(
            "zabbix_tee_tap_failures_total",
            help: "Decoder taps detached from a connection because they failed.",
            labels: [listener],
            value: statistics.tapFailuresCount
        )
        for (index, target) in pool.statistics.enumerated() {
            let labels = [listener, MetricsSnapshot.Label("target", target.endpoint.description)]
            snapshot.counter(
                "zabbix_tee_target_connects_total",
                help: "Connect attempts to a target, by result (ok, failed).",
                labels: labels + [.init("result", "ok")],
                value: target.successfulConnects
            )
            snapshot.counter(
                "zabbix_tee_target_connects_total",
                help: "Connect attempts to a target, by result (ok, failed).",
                labels: labels + [.init("result", "failed")],
                value: target.failedConnects
            )
            snapshot.gauge(
                "zabbix_tee_target_healthy",
                help: "1 if the target takes new connections first, 0 while it cools down after a failed connect.",
                labels: labels,
                value: pool.isHealthy(index) ? 1 : 0
            )
        }
    }
}

extension RelayDirection {
    /// `client_to_server` or `server_to_client`.
    var metricLabel: String {
        switch self {
        case .clientToServer: return "client_to_server"
        case .serverToClient: return "server_to_client"
        }
    }
}

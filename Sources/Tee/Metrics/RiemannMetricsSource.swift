import Admin
import Riemann

/// Queue, delivery and connection metrics of the Riemann client, read from
/// ``RiemannClient/statistics`` at scrape time.
public struct RiemannMetricsSource: MetricsSource {
    private let servers: @Sendable () -> [RiemannServerAddress]
    private let statistics: @Sendable () -> RiemannClientStatistics?

    /// Reports `client`, with the servers configured at scrape time (they change on a reload).
    public init(client: RiemannClient) {
        self.servers = { client.configuration.servers }
        self.statistics = { client.statistics }
    }

    /// Reports statistics from a closure (`nil`: no client, nothing is reported); `servers` are the
    /// configured servers, one `zabbix_tee_riemann_connected` series each.
    public init(servers: [RiemannServerAddress], statistics: @escaping @Sendable () -> RiemannClientStatistics?) {
        self.servers = { servers }
        self.statistics = statistics
    }

    public func collect(into snapshot: inout MetricsSnapshot) {
        guard let statistics = self.statistics() else { return }
        Self.collect(statistics, servers: self.servers(), into: &snapshot)
    }

    /// The samples for one statistics snapshot.
    public static func collect(
        _ statistics: RiemannClientStatistics, servers: [RiemannServerAddress], into snapshot: inout MetricsSnapshot
    ) {
        let queue = statistics.queue
        snapshot.counter(
            "zabbix_tee_riemann_events_queued_total", help: "Events that entered the Riemann queue.",
            value: queue.enqueued)
        snapshot.counter(
            "zabbix_tee_riemann_events_sent_total",
            help: "Events written to a Riemann connection (redeliveries counted again).", value: queue.sent)
        snapshot.counter(
            "zabbix_tee_riemann_events_acked_total", help: "Events in messages Riemann acknowledged with ok=true.",
            value: queue.acknowledged)
        snapshot.counter(
            "zabbix_tee_riemann_events_requeued_total",
            help: "Events put back at the front of the queue after an ack timeout or connection loss.",
            value: queue.requeued)
        for reason in RiemannDropReason.allCases {
            snapshot.counter(
                "zabbix_tee_riemann_events_dropped_total",
                help: "Events discarded, by reason (queue_full, event_too_large, rejected_by_server, delivery_attempts_exhausted, shutdown).",
                labels: [.init("reason", reason.metricLabel)], value: queue.dropped[reason] ?? 0)
        }
        snapshot.gauge(
            "zabbix_tee_riemann_queue_events", help: "Events waiting in the queue (not counting those awaiting an ack).",
            value: queue.depth)
        snapshot.gauge(
            "zabbix_tee_riemann_queue_capacity_events", help: "Maximum events the queue holds.", value: queue.capacity)
        snapshot.gauge(
            "zabbix_tee_riemann_queue_bytes", help: "Encoded bytes of the events waiting in the queue.",
            value: queue.bytes)
        snapshot.gauge(
            "zabbix_tee_riemann_queue_capacity_bytes", help: "Maximum encoded bytes the queue holds.",
            value: queue.maximumBytes)
        snapshot.gauge(
            "zabbix_tee_riemann_in_flight_messages", help: "Messages written and not yet acknowledged.",
            value: statistics.messagesInFlight)
        snapshot.gauge(
            "zabbix_tee_riemann_in_flight_events", help: "Events in messages written and not yet acknowledged.",
            value: statistics.eventsInFlight)
        for server in servers {
            snapshot.gauge(
                "zabbix_tee_riemann_connected", help: "1 for the Riemann server currently connected, else 0.",
                labels: [.init("server", server.description)], value: statistics.connectedServer == server ? 1 : 0)
        }
        snapshot.counter(
            "zabbix_tee_riemann_connects_total", help: "Connections to Riemann established.",
            value: statistics.connectionsEstablished)
        snapshot.counter(
            "zabbix_tee_riemann_connect_failures_total",
            help: "Connection attempts to Riemann that failed (refused, timed out, unresolvable).",
            value: statistics.connectAttemptsFailed)
        snapshot.counter(
            "zabbix_tee_riemann_connections_lost_total",
            help: "Established Riemann connections lost or closed by the client.", value: statistics.connectionsLost)
        snapshot.counter(
            "zabbix_tee_riemann_ack_timeouts_total",
            help: "Times the oldest unacknowledged message waited longer than the ack timeout.",
            value: statistics.acknowledgementTimeouts)
        snapshot.counter(
            "zabbix_tee_riemann_rejected_messages_total", help: "Messages Riemann answered with ok=false.",
            value: statistics.messagesRejected)
        let latency = statistics.acknowledgementLatency
        snapshot.histogram(
            "zabbix_tee_riemann_ack_latency_seconds",
            help: "Time from writing a message to Riemann to reading its reply.",
            .init(upperBounds: latency.upperBounds, cumulativeCounts: latency.cumulativeCounts, sum: latency.sum))
    }
}

extension RiemannDropReason {
    /// The reason in snake case: `queue_full`, `rejected_by_server`, …
    var metricLabel: String {
        var label = ""
        for character in self.rawValue {
            if character.isUppercase {
                label += "_" + character.lowercased()
            } else {
                label.append(character)
            }
        }
        return label
    }
}

import Admin
import Riemann

/// Queue, delivery and connection metrics of the Riemann client, read from
/// ``RiemannClient/statistics`` at scrape time.
///
/// The Graphite output runs the same client (``EventWireFormat/graphitePlaintext``), so the same
/// series describe it under `zabbix_tee_graphite_`; there "acknowledged" means written to the
/// socket, and carbon rejects nothing.
public struct RiemannMetricsSource: MetricsSource {
    private let servers: @Sendable () -> [RiemannServerAddress]
    private let statistics: @Sendable () -> RiemannClientStatistics?
    private var output = Output.riemann

    /// Whose figures these are: the metric names' second word and the help texts' subject.
    public struct Output: Sendable {
        var name: String
        var title: String
        var acknowledged: String
        public static let riemann = Output(
            name: "riemann",
            title: "Riemann",
            acknowledged: "Riemann acknowledged with ok=true"
        )
        public static let graphite = Output(
            name: "graphite",
            title: "Graphite",
            acknowledged: "written to the carbon socket (carbon sends no acks)"
        )
    }

    /// Reports `client`, with the servers configured at scrape time (they change on a reload).
    public init(client: RiemannClient) {
        self.servers = { client.configuration.servers }
        self.statistics = { client.statistics }
    }

    /// Reports the Graphite output's client as `zabbix_tee_graphite_*`.
    public init(graphite: GraphiteSink) {
        self.init(client: graphite.client)
        self.output = .graphite
    }

    /// Reports statistics from a closure (`nil`: no client, nothing is reported); `servers` are the
    /// configured servers, one `zabbix_tee_riemann_connected` series each.
    public init(servers: [RiemannServerAddress], statistics: @escaping @Sendable () -> RiemannClientStatistics?) {
        self.servers = { servers }
        self.statistics = statistics
    }

    public func collect(into snapshot: inout MetricsSnapshot) {
        guard let statistics = self.statistics() else { return }
        Self.collect(statistics, servers: self.servers(), output: self.output, into: &snapshot)
    }

    /// The samples for one statistics snapshot.
    public static func collect(
        _ statistics: RiemannClientStatistics,
        servers: [RiemannServerAddress],
        output: Output = .riemann,
        into snapshot: inout MetricsSnapshot
    ) {
        let queue = statistics.queue
        let prefix = "zabbix_tee_\(output.name)_"
        let title = output.title
        snapshot.counter(
            prefix + "events_queued_total",
            help: "Events that entered the \(title) queue.",
            value: queue.enqueued
        )
        snapshot.counter(
            prefix + "events_sent_total",
            help: "Events written to a \(title) connection (redeliveries counted again).",
            value: queue.sent
        )
        snapshot.counter(
            prefix + "events_acked_total",
            help: "Events in messages \(output.acknowledged).",
            value: queue.acknowledged
        )
        snapshot.counter(
            prefix + "events_requeued_total",
            help: "Events put back at the front of the queue after an ack timeout or connection loss.",
            value: queue.requeued
        )
        for reason in RiemannDropReason.allCases {
            snapshot.counter(
                prefix + "events_dropped_total",
                help:
                    "Events discarded, by reason (queue_full, event_too_large, rejected_by_server, delivery_attempts_exhausted, shutdown).",
                labels: [.init("reason", reason.metricLabel)],
                value: queue.dropped[reason] ?? 0
            )
        }
        snapshot.gauge(
            prefix + "queue_events",
            help: "Events waiting in the queue (not counting those awaiting an ack).",
            value: queue.depth
        )
        snapshot.gauge(
            prefix + "queue_capacity_events",
            help: "Maximum events the queue holds.",
            value: queue.capacity
        )
        snapshot.gauge(
            prefix + "queue_bytes",
            help: "Encoded bytes of the events waiting in the queue.",
            value: queue.bytes
        )
        snapshot.gauge(
            prefix + "queue_capacity_bytes",
            help: "Maximum encoded bytes the queue holds.",
            value: queue.maximumBytes
        )
        snapshot.gauge(
            prefix + "in_flight_messages",
            help: "Messages written and not yet acknowledged.",
            value: statistics.messagesInFlight
        )
        snapshot.gauge(
            prefix + "in_flight_events",
            help: "Events in messages written and not yet acknowledged.",
            value: statistics.eventsInFlight
        )
        for server in servers {
            snapshot.gauge(
                prefix + "connected",
                help: "1 for the \(title) server currently connected, else 0.",
                labels: [.init("server", server.description)],
                value: statistics.connectedServer == server ? 1 : 0
            )
        }
        snapshot.counter(
            prefix + "connects_total",
            help: "Connections to \(title) established.",
            value: statistics.connectionsEstablished
        )
        snapshot.counter(
            prefix + "connect_failures_total",
            help: "Connection attempts to \(title) that failed (refused, timed out, unresolvable).",
            value: statistics.connectAttemptsFailed
        )
        snapshot.counter(
            prefix + "connections_lost_total",
            help: "Established \(title) connections lost or closed by the client.",
            value: statistics.connectionsLost
        )
        snapshot.counter(
            prefix + "ack_timeouts_total",
            help: "Times the oldest unacknowledged message waited longer than the ack timeout.",
            value: statistics.acknowledgementTimeouts
        )
        snapshot.counter(
            prefix + "rejected_messages_total",
            help: "Messages \(title) answered with ok=false.",
            value: statistics.messagesRejected
        )
        let latency = statistics.acknowledgementLatency
        snapshot.histogram(
            prefix + "ack_latency_seconds",
            help: "Time from writing a message to \(title) to reading its reply.",
            .init(upperBounds: latency.upperBounds, cumulativeCounts: latency.cumulativeCounts, sum: latency.sum)
        )
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

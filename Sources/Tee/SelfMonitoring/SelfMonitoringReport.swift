import Relay
import Riemann

/// The counters self-monitoring reads at each tick: the same statistics `/metrics` reports.
public struct SelfMonitoringSample: Sendable {
    /// One listener's figures.
    public struct Listener: Sendable {
        public var name: String
        public var openConnections: Int
        public var acceptedConnections: Int
        public var bytesClientToServer: Int
        public var bytesServerToClient: Int
        public var healthyTargets: Int
        public var targets: Int
        /// `false` for a listener a reload removed whose connections are still open: it counts
        /// for connections and bytes, not for target health.
        public var accepting: Bool

        public init(
            name: String,
            openConnections: Int,
            acceptedConnections: Int,
            bytesClientToServer: Int,
            bytesServerToClient: Int,
            healthyTargets: Int,
            targets: Int,
            accepting: Bool = true
        ) {
            self.name = name
            self.openConnections = openConnections
            self.acceptedConnections = acceptedConnections
            self.bytesClientToServer = bytesClientToServer
            self.bytesServerToClient = bytesServerToClient
            self.healthyTargets = healthyTargets
            self.targets = targets
            self.accepting = accepting
        }
    }

    /// When the sample was taken, seconds on a monotonic clock.
    public var monotonicSeconds: Double
    public var listeners: [Listener]
    /// Item values decoded; `nil` without a decoder.
    public var itemValues: Int?
    /// Item catalog entries; `nil` without a decoder.
    public var catalogEntries: Int?
    /// Riemann events dropped, all reasons.
    public var eventsDropped: UInt64
    public var riemannQueueDepth: Int
    public var riemannQueueCapacity: Int
    /// Encoded bytes queued, and the queue's maximum (0: not known, not reported).
    public var riemannQueueBytes: Int
    public var riemannQueueMaximumBytes: Int

    public init(
        monotonicSeconds: Double,
        listeners: [Listener],
        itemValues: Int?,
        catalogEntries: Int?,
        eventsDropped: UInt64,
        riemannQueueDepth: Int,
        riemannQueueCapacity: Int,
        riemannQueueBytes: Int = 0,
        riemannQueueMaximumBytes: Int = 0
    ) {
        self.monotonicSeconds = monotonicSeconds
        self.listeners = listeners
        self.itemValues = itemValues
        self.catalogEntries = catalogEntries
        self.eventsDropped = eventsDropped
        self.riemannQueueDepth = riemannQueueDepth
        self.riemannQueueCapacity = riemannQueueCapacity
        self.riemannQueueBytes = riemannQueueBytes
        self.riemannQueueMaximumBytes = riemannQueueMaximumBytes
    }
}

/// Turns two consecutive samples into the self-monitoring events (see README, "Self-monitoring").
///
/// Services (after `service_prefix` and a space): `connections open`, `connections/s`,
/// `bytes/s client_to_server`, `bytes/s server_to_client`, `item values/s`, `events dropped`
/// (since the last report; `warning` when above 0), `events dropped total`, `riemann queue`
/// (`warning` at 90 % of either bound, events or bytes, or more), `catalog entries`, and per listener
/// `listener NAME healthy targets` (`warning` when 0). Rates are per second over the interval.
public enum SelfMonitoringReport {
    public static func events(
        previous: SelfMonitoringSample,
        current: SelfMonitoringSample,
        configuration: SelfMonitoringConfiguration,
        timeMicros: Int64
    ) -> [RiemannEvent] {
        let elapsed = max(current.monotonicSeconds - previous.monotonicSeconds, 0.001)
        func rate(_ now: Int, _ before: Int) -> Double { Double(max(now - before, 0)) / elapsed }
        func total(_ sample: SelfMonitoringSample, _ value: (SelfMonitoringSample.Listener) -> Int) -> Int {
            sample.listeners.reduce(0) { $0 + value($1) }
        }
        var events: [RiemannEvent] = []
        func add(_ name: String, _ metric: RiemannMetric, state: String = "ok", description: String? = nil) {
            var event = RiemannEvent()
            event.host = configuration.host
            event.service = configuration.servicePrefix.isEmpty ? name : "\(configuration.servicePrefix) \(name)"
            event.metric = metric
            event.state = state
            event.description = description
            event.tags = configuration.tags
            event.ttl = configuration.ttl
            event.time = timeMicros / 1_000_000
            event.timeMicros = timeMicros
            events.append(event)
        }

        add("connections open", .sint64(Int64(total(current, \.openConnections))))
        add(
            "connections/s",
            .double(rate(total(current, \.acceptedConnections), total(previous, \.acceptedConnections)))
        )
        add(
            "bytes/s client_to_server",
            .double(rate(total(current, \.bytesClientToServer), total(previous, \.bytesClientToServer)))
        )
        add(
            "bytes/s server_to_client",
            .double(rate(total(current, \.bytesServerToClient), total(previous, \.bytesServerToClient)))
        )
        if let values = current.itemValues {
            add("item values/s", .double(rate(values, previous.itemValues ?? values)))
        }
        let dropped = current.eventsDropped &- min(previous.eventsDropped, current.eventsDropped)
        add(
            "events dropped",
            .sint64(Int64(clamping: dropped)),
            state: dropped > 0 ? "warning" : "ok",
            description: "\(dropped) Riemann events dropped since the last report, \(current.eventsDropped) in total"
        )
        add("events dropped total", .sint64(Int64(clamping: current.eventsDropped)))
        let maximumBytes = current.riemannQueueMaximumBytes
        let nearlyFull =
            current.riemannQueueDepth >= current.riemannQueueCapacity - current.riemannQueueCapacity / 10
            || (maximumBytes > 0 && current.riemannQueueBytes >= maximumBytes - maximumBytes / 10)
        var queued = "\(current.riemannQueueDepth) of \(current.riemannQueueCapacity) events queued"
        if maximumBytes > 0 { queued += " (\(current.riemannQueueBytes) of \(maximumBytes) bytes)" }
        add(
            "riemann queue",
            .sint64(Int64(current.riemannQueueDepth)),
            state: nearlyFull ? "warning" : "ok",
            description: queued
        )
        if let entries = current.catalogEntries {
            add("catalog entries", .sint64(Int64(entries)))
        }
        for listener in current.listeners where listener.accepting {
            add(
                "listener \(listener.name) healthy targets",
                .sint64(Int64(listener.healthyTargets)),
                state: listener.healthyTargets == 0 ? "warning" : "ok",
                description: "\(listener.healthyTargets) of \(listener.targets) targets healthy"
            )
        }
        return events
    }
}

import Riemann
import Synchronization

/// Hands the values the mapping emits to the Graphite client, one line each for those with a
/// metric: path `prefix.` + ``GraphiteConfiguration/path``, the metric, the value's clock in
/// seconds. Never blocks (the client's queue drops and counts when full).
///
/// The mapping is the Riemann output's (include/exclude, not-supported handling, value types),
/// replaced with it on a reload; text values, not-supported items and filtered values have no line.
public final class GraphiteSink: ItemValueSink {
    public let client: RiemannClient
    private let prefix: String
    private let path: ServiceTemplate
    private let currentMapper: Mutex<EventMapper>
    private let skipped = Atomic<Int>(0)

    public init(configuration: GraphiteConfiguration, mapper: EventMapper, client: RiemannClient) {
        self.prefix = configuration.prefix.isEmpty ? "" : configuration.prefix + "."
        self.path = configuration.path
        self.currentMapper = Mutex(mapper)
        self.client = client
    }

    /// Values that made no line: filtered, not supported, or without a metric (text).
    public var valuesSkipped: Int { self.skipped.load(ordering: .relaxed) }

    /// Maps the values that arrive from now on with `mapper`.
    public func replaceMapper(_ mapper: EventMapper) {
        self.currentMapper.withLock { $0 = mapper }
    }

    public func consume(_ values: [DecodedValue]) {
        let mapper = self.currentMapper.withLock { $0 }
        var lines: [RiemannEvent] = []
        lines.reserveCapacity(values.count)
        for value in values {
            // Only what the line needs is queued, so the queue's bytes are the lines' bytes, near enough.
            guard case .success(let event) = mapper.event(for: value), let metric = event.metric else { continue }
            lines.append(
                RiemannEvent(
                    time: event.time,
                    service: self.prefix + EventMapper.render(self.path, for: value),
                    metric: metric
                )
            )
        }
        self.skipped.add(values.count - lines.count, ordering: .relaxed)
        guard !lines.isEmpty else { return }
        self.client.enqueue(lines)
    }
}

/// Several outputs fed the same values, in order (Riemann's sink, then Graphite's).
struct ItemValueSinks: ItemValueSink {
    let sinks: [any ItemValueSink]

    func consume(_ values: [DecodedValue]) {
        for sink in self.sinks { sink.consume(values) }
    }
}

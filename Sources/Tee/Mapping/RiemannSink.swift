import Riemann
import Synchronization

/// Maps decoded values to events and hands them to the Riemann client's queue (which never
/// blocks). Without a Riemann output (`client == nil`) it only counts.
public final class RiemannSink: ItemValueSink {
    public let mapper: EventMapper
    public let client: RiemannClient?
    private let mapped = Atomic<Int>(0)
    private let filtered = Atomic<Int>(0)
    private let notSupportedDropped = Atomic<Int>(0)

    public init(mapper: EventMapper, client: RiemannClient?) {
        self.mapper = mapper
        self.client = client
    }

    /// Events produced and handed to the Riemann client.
    public var eventsMapped: Int { self.mapped.load(ordering: .relaxed) }
    /// Values left out by the include/exclude filters.
    public var valuesFiltered: Int { self.filtered.load(ordering: .relaxed) }
    /// Not-supported values dropped by `mapping.not_supported: drop`.
    public var valuesNotSupportedDropped: Int { self.notSupportedDropped.load(ordering: .relaxed) }

    public func consume(_ values: [DecodedValue]) {
        var events: [RiemannEvent] = []
        events.reserveCapacity(values.count)
        for value in values {
            switch self.mapper.event(for: value) {
            case .success(let event): events.append(event)
            case .failure(let skip):
                switch skip.reason {
                case .filtered: self.filtered.add(1, ordering: .relaxed)
                case .notSupported: self.notSupportedDropped.add(1, ordering: .relaxed)
                }
            }
        }
        guard !events.isEmpty else { return }
        self.mapped.add(events.count, ordering: .relaxed)
        self.client?.enqueue(events)
    }
}

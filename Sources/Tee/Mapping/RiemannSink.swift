import Riemann
import Synchronization

/// Maps decoded values to events and hands them to the Riemann client's queue (which never
/// blocks). Without a Riemann output (`client == nil`) it only counts.
///
/// The mapper can be replaced while values flow (``replaceMapper(_:)``, on a configuration
/// reload): each batch of values is mapped entirely by one mapper, the one current when it arrives.
public final class RiemannSink: ItemValueSink {
    /// The mapper applied to the next batch of values.
    public var mapper: EventMapper { self.currentMapper.withLock { $0 }.mapper }
    public let client: RiemannClient?
    /// Behind a reference: each batch takes the current mapper with one retain, where copying the
    /// mapper (its whole configuration) out of the lock cost a copy and a destroy per batch.
    private let currentMapper: Mutex<CurrentMapper>

    private final class CurrentMapper: Sendable {
        let mapper: EventMapper
        init(_ mapper: EventMapper) { self.mapper = mapper }
    }
    private let mapped = Atomic<Int>(0)
    private let filtered = Atomic<Int>(0)
    private let notSupportedDropped = Atomic<Int>(0)
    private let partialDropped = Atomic<Int>(0)

    public init(mapper: EventMapper, client: RiemannClient?) {
        self.currentMapper = Mutex(CurrentMapper(mapper))
        self.client = client
    }

    /// Events produced and handed to the Riemann client.
    public var eventsMapped: Int { self.mapped.load(ordering: .relaxed) }
    /// Values left out by the include/exclude filters.
    public var valuesFiltered: Int { self.filtered.load(ordering: .relaxed) }
    /// Not-supported values dropped by `mapping.not_supported: drop`.
    public var valuesNotSupportedDropped: Int { self.notSupportedDropped.load(ordering: .relaxed) }
    /// Values of partly accepted batches dropped by `mapping.partial: drop`.
    public var valuesPartialDropped: Int { self.partialDropped.load(ordering: .relaxed) }

    /// Maps the values that arrive from now on with `mapper`.
    public func replaceMapper(_ mapper: EventMapper) {
        let current = CurrentMapper(mapper)
        self.currentMapper.withLock { $0 = current }
    }

    public func consume(_ values: [DecodedValue]) {
        let current = self.currentMapper.withLock { $0 }
        var events: [RiemannEvent] = []
        events.reserveCapacity(values.count)
        // Through the buffer: the values are read in place, not copied one by one (an array's
        // subscript hands out a copy).
        values.withUnsafeBufferPointer { values in
            for index in values.indices {
                switch current.mapper.event(for: values[index]) {
                case .success(let event): events.append(consume event)
                case .failure(let skip):
                    switch skip.reason {
                    case .filtered: self.filtered.add(1, ordering: .relaxed)
                    case .notSupported: self.notSupportedDropped.add(1, ordering: .relaxed)
                    case .partialBatch: self.partialDropped.add(1, ordering: .relaxed)
                    }
                }
            }
        }
        guard !events.isEmpty else { return }
        self.mapped.add(events.count, ordering: .relaxed)
        // Handed over, not shared: the queue moves the events out of the array.
        self.client?.enqueue(consume events)
    }
}

import Synchronization

/// What a full ``RiemannEventQueue`` gives up.
public enum RiemannOverflowPolicy: String, Sendable, Hashable, CaseIterable {
    /// Keep what is queued; refuse the incoming events.
    case dropNewest
    /// Make room by discarding the oldest queued events.
    case dropOldest
}

/// Why events were discarded; each reason has its own counter.
public enum RiemannDropReason: String, Sendable, Hashable, CaseIterable {
    /// The queue was full, in events or in bytes (see ``RiemannOverflowPolicy``).
    case queueFull
    /// The event alone is larger than a message may be (``RiemannEventQueue/Limits/eventBytes``):
    /// it could never be sent.
    case eventTooLarge
    /// The server answered `ok=false` for the message holding them.
    case rejectedByServer
    /// They were put back after failed deliveries (ack timeout or connection loss) too many times.
    case deliveryAttemptsExhausted
    /// The client shut down (or its flush deadline passed) before they were acknowledged.
    case shutdown
}

/// A consistent snapshot of a ``RiemannEventQueue``'s counters, for metrics.
public struct RiemannQueueStatistics: Sendable, Equatable {
    /// Events waiting in the queue now (not counting events written and awaiting an ack).
    public var depth: Int
    /// The queue's maximum depth.
    public var capacity: Int
    /// Bytes of the events waiting in the queue now (their encoded size, see
    /// ``RiemannEvent/encodedSizeInMessage``).
    public var bytes: Int
    /// The queue's maximum bytes.
    public var maximumBytes: Int
    /// Events that entered the queue through ``RiemannEventQueue/push(_:)`` (with `dropOldest`,
    /// including those later pushed out; refused `dropNewest` events are not counted).
    public var enqueued: UInt64
    /// Events written to a Riemann connection (redeliveries counted again).
    public var sent: UInt64
    /// Events in messages the server acknowledged with `ok=true`.
    public var acknowledged: UInt64
    /// Events put back at the front of the queue for redelivery.
    public var requeued: UInt64
    /// Events discarded, per reason.
    public var dropped: [RiemannDropReason: UInt64]

    /// Sum of all drop counters.
    public var droppedTotal: UInt64 { self.dropped.values.reduce(0, +) }
}

/// A bounded, thread-safe FIFO of Riemann events between producers and the Riemann client.
///
/// The queue is bounded twice: in events and in bytes (each event's encoded size, which follows
/// its strings: host, service, description, tags, attributes). The byte bound is what keeps
/// memory in proportion to the configuration whatever the events look like; the event bound keeps
/// the number of small events, and their fixed overhead, in check.
///
/// ``push(_:)`` is O(1) per event, takes a short lock and never waits for anything else; when
/// either bound is reached the ``RiemannOverflowPolicy`` decides what is dropped, and the drop is
/// counted. An event larger than a message may be is dropped on arrival (it could never be sent).
/// The consumer takes batches from the front, bounded in events and bytes, and can put
/// undelivered events back at the front (at-least-once redelivery), in their original order.
///
/// Nothing here is specific to the transport but the event type and its size: a queue for
/// another output has the same shape.
public final class RiemannEventQueue: Sendable {
    /// A queued event, its encoded size and how many times it has been written without being
    /// acknowledged.
    public struct Entry: Sendable, Equatable {
        /// Never changes once queued, so that ``byteCount`` stays its size: the encoder reserves
        /// the wire bytes of a batch from the byte counts.
        public let event: RiemannEvent
        public var deliveryAttempts: Int
        /// ``RiemannEvent/encodedSizeInMessage`` of `event`, computed once when the entry is made.
        public let byteCount: Int

        public init(event: RiemannEvent, deliveryAttempts: Int = 0) {
            self.event = event
            self.deliveryAttempts = deliveryAttempts
            self.byteCount = event.encodedSizeInMessage
        }
    }

    /// The bounds of a queue.
    public struct Limits: Sendable, Equatable {
        /// Maximum events queued. At least 1.
        public var events: Int
        /// Maximum bytes queued (sum of the events' ``Entry/byteCount``). At least ``eventBytes``.
        public var bytes: Int
        /// Largest single event accepted: the most one message may carry. Larger events are
        /// dropped as ``RiemannDropReason/eventTooLarge`` (on arrival, or when taken if the limit
        /// was lowered meanwhile). At least 1.
        public var eventBytes: Int

        /// Limits with each value raised to its minimum (1 event, 1 byte) and `eventBytes` lowered
        /// to `bytes`, so that no configuration makes the queue unable to hold anything.
        public init(events: Int, bytes: Int = .max, eventBytes: Int = .max) {
            self.events = max(events, 1)
            self.bytes = max(bytes, 1)
            self.eventBytes = min(max(eventBytes, 1), self.bytes)
        }
    }

    /// The outcome of one ``push(_:)``.
    public struct PushResult: Sendable, Equatable {
        /// Events of this push now in the queue.
        public var accepted: Int
        /// Events discarded because of this push (incoming ones with `dropNewest` or too large,
        /// old ones with `dropOldest`).
        public var dropped: Int
        /// Queue depth after the push.
        public var depth: Int
        /// Queued bytes after the push.
        public var bytes: Int
        /// Whether the queue was empty before the push.
        public var wasEmpty: Bool

        public init(accepted: Int, dropped: Int, depth: Int, bytes: Int = 0, wasEmpty: Bool) {
            self.accepted = accepted
            self.dropped = dropped
            self.depth = depth
            self.bytes = bytes
            self.wasEmpty = wasEmpty
        }
    }

    /// What is queued, in events and bytes.
    public struct Occupancy: Sendable, Equatable {
        public var events: Int
        public var bytes: Int
    }

    private struct State: Sendable {
        var entries = RingBuffer<Entry>()
        var bytes = 0
        var enqueued: UInt64 = 0
        var sent: UInt64 = 0
        var acknowledged: UInt64 = 0
        var requeued: UInt64 = 0
        var dropped: [RiemannDropReason: UInt64] = [:]
        /// Set by ``RiemannEventQueue/close(reason:)``: later pushes are dropped for this reason.
        var closedReason: RiemannDropReason?
        var limits: Limits
        var overflowPolicy: RiemannOverflowPolicy

        mutating func countDrop(_ count: Int, _ reason: RiemannDropReason) {
            guard count > 0 else { return }
            self.dropped[reason, default: 0] += UInt64(count)
        }

        /// Whether one more entry of `byteCount` bytes fits both bounds.
        func fits(_ byteCount: Int) -> Bool {
            self.entries.count < self.limits.events && byteCount <= self.limits.bytes - self.bytes
        }

        mutating func append(_ entry: consuming Entry) {
            self.bytes += entry.byteCount
            self.entries.append(entry)
        }

        mutating func prepend(_ entry: Entry) {
            self.entries.prepend(entry)
            self.bytes += entry.byteCount
        }

        mutating func popFirst() -> Entry? {
            guard let entry = self.entries.popFirst() else { return nil }
            self.bytes -= entry.byteCount
            return entry
        }

        mutating func popLast() -> Entry? {
            guard let entry = self.entries.popLast() else { return nil }
            self.bytes -= entry.byteCount
            return entry
        }

        mutating func removeAll() -> Int {
            let count = self.entries.count
            self.entries = RingBuffer()
            self.bytes = 0
            return count
        }
    }

    /// The maximum number of queued events.
    public var capacity: Int { self.state.withLock { $0.limits.events } }
    /// The bounds in force.
    public var limits: Limits { self.state.withLock { $0.limits } }
    /// What is dropped when the queue is full.
    public var overflowPolicy: RiemannOverflowPolicy { self.state.withLock { $0.overflowPolicy } }
    private let state: Mutex<State>

    public init(limits: Limits, overflowPolicy: RiemannOverflowPolicy) {
        self.state = Mutex(State(limits: limits, overflowPolicy: overflowPolicy))
    }

    /// A queue bounded to `capacity` events (at least 1) and `maximumBytes` bytes.
    public convenience init(capacity: Int, maximumBytes: Int = .max, overflowPolicy: RiemannOverflowPolicy) {
        self.init(limits: Limits(events: capacity, bytes: maximumBytes), overflowPolicy: overflowPolicy)
    }

    /// Changes the limits and overflow policy from the next push on. Nothing queued is dropped
    /// by the change itself: a queue holding more than the new limits keeps its events, and
    /// pushes then make room (or are refused) per the policy until it is below them again.
    public func reconfigure(limits: Limits, overflowPolicy: RiemannOverflowPolicy) {
        self.state.withLock { state in
            state.limits = limits
            state.overflowPolicy = overflowPolicy
        }
    }

    /// ``reconfigure(limits:overflowPolicy:)`` with only the event bound changed.
    public func reconfigure(capacity: Int, overflowPolicy: RiemannOverflowPolicy) {
        self.state.withLock { state in
            state.limits = Limits(events: capacity, bytes: state.limits.bytes, eventBytes: state.limits.eventBytes)
            state.overflowPolicy = overflowPolicy
        }
    }

    /// Appends events at the back. Never blocks beyond the queue's own short critical section.
    @discardableResult
    public func push<Events: Sequence<RiemannEvent>>(_ events: Events) -> PushResult {
        // Sizes are worked out before taking the lock.
        self.push(entries: events.map { Entry(event: $0) })
    }

    /// Appends events at the back, moved out of `events` into the queue: no event is copied
    /// (each copy retains and releases every string and array it holds). See ``push(_:)``.
    @discardableResult
    public func push(_ events: consuming [RiemannEvent]) -> PushResult {
        var events = consume events
        var incoming: [Entry] = []
        incoming.reserveCapacity(events.count)
        // Moved out from the back, so reversed first (swaps move, they do not copy).
        events.reverse()
        while let event = events.popLast() { incoming.append(Entry(event: event)) }
        return self.push(entries: consume incoming)
    }

    private func push(entries: consuming [Entry]) -> PushResult {
        var incoming = consume entries
        incoming.reverse()
        return self.state.withLock { state in
            let wasEmpty = state.entries.isEmpty
            if let reason = state.closedReason {
                state.countDrop(incoming.count, reason)
                return PushResult(
                    accepted: 0,
                    dropped: incoming.count,
                    depth: state.entries.count,
                    bytes: state.bytes,
                    wasEmpty: wasEmpty
                )
            }
            var appended = 0
            var accepted = 0  // events of this push still queued (they are the newest)
            var full = 0
            var tooLarge = 0
            // Taken from the back of the reversed entries: each is moved into the queue, not copied.
            while let entry = incoming.popLast() {
                guard entry.byteCount <= state.limits.eventBytes else {
                    tooLarge += 1
                    continue
                }
                if !state.fits(entry.byteCount) {
                    switch state.overflowPolicy {
                    case .dropNewest:
                        full += 1
                        continue
                    case .dropOldest:
                        // Terminates: an empty queue fits any entry within eventBytes ≤ bytes.
                        while !state.fits(entry.byteCount), state.popFirst() != nil {
                            if accepted > state.entries.count {
                                accepted -= 1  // the oldest was one of ours
                            }
                            full += 1
                        }
                    }
                }
                state.append(entry)
                appended += 1
                accepted += 1
            }
            state.enqueued += UInt64(appended)
            state.countDrop(full, .queueFull)
            state.countDrop(tooLarge, .eventTooLarge)
            return PushResult(
                accepted: accepted,
                dropped: full + tooLarge,
                depth: state.entries.count,
                bytes: state.bytes,
                wasEmpty: wasEmpty
            )
        }
    }

    /// Appends one event at the back. See ``push(_:)``.
    @discardableResult
    public func push(_ event: RiemannEvent) -> PushResult {
        self.push(CollectionOfOne(event))
    }

    /// Removes and returns events from the front, oldest first: up to `maximumCount` of them and
    /// at most `maximumBytes` bytes together, but always the first one that fits
    /// ``Limits/eventBytes``. Events at the front larger than ``Limits/eventBytes`` (queued before
    /// the limit was lowered) are dropped as ``RiemannDropReason/eventTooLarge``.
    public func take(upTo maximumCount: Int, maximumBytes: Int = .max) -> [Entry] {
        self.state.withLock { state in
            var batch: [Entry] = []
            batch.reserveCapacity(min(maximumCount, state.entries.count))
            var bytes = 0
            var tooLarge = 0
            // Entries are moved out and, for the one that does not fit, back: never copied.
            while batch.count < maximumCount, let first = state.popFirst() {
                if first.byteCount > state.limits.eventBytes {
                    tooLarge += 1
                    continue
                }
                guard batch.isEmpty || first.byteCount <= maximumBytes - bytes else {
                    state.prepend(first)
                    break
                }
                bytes += first.byteCount
                batch.append(first)
            }
            state.countDrop(tooLarge, .eventTooLarge)
            return batch
        }
    }

    /// Puts undelivered events back at the front, keeping their order (at-least-once redelivery).
    ///
    /// If they do not all fit (in events or bytes), the overflow policy applies as for
    /// ``push(_:)``: `dropOldest` discards from the front of `entries` (the oldest), `dropNewest`
    /// discards queued events from the back, then the newest of `entries`. Drops are counted as
    /// ``RiemannDropReason/queueFull``; entries larger than ``Limits/eventBytes`` are dropped as
    /// ``RiemannDropReason/eventTooLarge``.
    public func putBack(_ entries: [Entry]) {
        guard !entries.isEmpty else { return }
        self.state.withLock { state in
            if let reason = state.closedReason {
                state.countDrop(entries.count, reason)
                return
            }
            let eventBytes = state.limits.eventBytes
            var toInsert = entries.filter { $0.byteCount <= eventBytes }
            state.countDrop(entries.count - toInsert.count, .eventTooLarge)
            // toInsert[first...] is what would go back.
            var first = 0
            var insertBytes = toInsert.reduce(0) { $0 + $1.byteCount }
            func over() -> Bool {
                state.entries.count + (toInsert.count - first) > state.limits.events
                    || insertBytes > state.limits.bytes - state.bytes
            }
            var dropped = 0
            switch state.overflowPolicy {
            case .dropOldest:
                while over(), first < toInsert.count {
                    insertBytes -= toInsert[first].byteCount
                    first += 1
                    dropped += 1
                }
            case .dropNewest:
                while over(), state.popLast() != nil {
                    dropped += 1
                }
                while over(), let last = toInsert.popLast() {
                    insertBytes -= last.byteCount
                    dropped += 1
                }
            }
            // Still over only if the queue alone is above its limits (lowered by a reconfiguration).
            toInsert.removeFirst(first)
            for entry in toInsert.reversed() {
                state.prepend(entry)
            }
            state.requeued += UInt64(toInsert.count)
            state.countDrop(dropped, .queueFull)
        }
    }

    /// Removes every queued event and counts them as dropped for `reason`; returns how many.
    @discardableResult
    public func removeAll(reason: RiemannDropReason) -> Int {
        self.state.withLock { state in
            let count = state.removeAll()
            state.countDrop(count, reason)
            return count
        }
    }

    /// Removes every queued event, counting them as dropped for `reason`, and makes every later
    /// ``push(_:)`` and ``putBack(_:)`` drop its events for the same reason. Returns how many were
    /// removed. Idempotent (a second call keeps the first reason).
    @discardableResult
    public func close(reason: RiemannDropReason) -> Int {
        self.state.withLock { state in
            let count = state.removeAll()
            state.countDrop(count, reason)
            state.closedReason = state.closedReason ?? reason
            return count
        }
    }

    /// Events waiting in the queue.
    public var depth: Int {
        self.state.withLock { $0.entries.count }
    }

    /// Events and bytes waiting in the queue, read together.
    public var occupancy: Occupancy {
        self.state.withLock { Occupancy(events: $0.entries.count, bytes: $0.bytes) }
    }

    /// Counts `count` events as written to a connection.
    public func recordSent(_ count: Int) {
        self.state.withLock { $0.sent += UInt64(count) }
    }

    /// Counts `count` events as acknowledged by the server.
    public func recordAcknowledged(_ count: Int) {
        self.state.withLock { $0.acknowledged += UInt64(count) }
    }

    /// Counts `count` events, no longer in the queue, as dropped for `reason`.
    public func recordDropped(_ count: Int, reason: RiemannDropReason) {
        self.state.withLock { $0.countDrop(count, reason) }
    }

    /// A consistent snapshot of all counters.
    public var statistics: RiemannQueueStatistics {
        self.state.withLock { state in
            RiemannQueueStatistics(
                depth: state.entries.count,
                capacity: state.limits.events,
                bytes: state.bytes,
                maximumBytes: state.limits.bytes,
                enqueued: state.enqueued,
                sent: state.sent,
                acknowledged: state.acknowledged,
                requeued: state.requeued,
                dropped: state.dropped
            )
        }
    }
}

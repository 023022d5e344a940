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
    /// The queue was full (see ``RiemannOverflowPolicy``).
    case queueFull
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
/// ``push(_:)`` is O(1) per event, takes a short lock and never waits for anything else; when the
/// queue is full the ``RiemannOverflowPolicy`` decides what is dropped, and the drop is counted.
/// The consumer takes batches from the front and can put undelivered events back at the front
/// (at-least-once redelivery), in their original order.
public final class RiemannEventQueue: Sendable {
    /// A queued event and how many times it has been written without being acknowledged.
    public struct Entry: Sendable, Equatable {
        public var event: RiemannEvent
        public var deliveryAttempts: Int

        public init(event: RiemannEvent, deliveryAttempts: Int = 0) {
            self.event = event
            self.deliveryAttempts = deliveryAttempts
        }
    }

    /// The outcome of one ``push(_:)``.
    public struct PushResult: Sendable, Equatable {
        /// Events of this push now in the queue.
        public var accepted: Int
        /// Events discarded because of this push (incoming ones with `dropNewest`, old ones with `dropOldest`).
        public var dropped: Int
        /// Queue depth after the push.
        public var depth: Int
        /// Whether the queue was empty before the push.
        public var wasEmpty: Bool

        public init(accepted: Int, dropped: Int, depth: Int, wasEmpty: Bool) {
            self.accepted = accepted
            self.dropped = dropped
            self.depth = depth
            self.wasEmpty = wasEmpty
        }
    }

    private struct State: Sendable {
        var entries = RingBuffer<Entry>()
        var enqueued: UInt64 = 0
        var sent: UInt64 = 0
        var acknowledged: UInt64 = 0
        var requeued: UInt64 = 0
        var dropped: [RiemannDropReason: UInt64] = [:]
        /// Set by ``RiemannEventQueue/close(reason:)``: later pushes are dropped for this reason.
        var closedReason: RiemannDropReason?
        var capacity: Int
        var overflowPolicy: RiemannOverflowPolicy

        mutating func countDrop(_ count: Int, _ reason: RiemannDropReason) {
            guard count > 0 else { return }
            self.dropped[reason, default: 0] += UInt64(count)
        }
    }

    /// The maximum number of queued events.
    public var capacity: Int { self.state.withLock { $0.capacity } }
    /// What is dropped when the queue is full.
    public var overflowPolicy: RiemannOverflowPolicy { self.state.withLock { $0.overflowPolicy } }
    private let state: Mutex<State>

    public init(capacity: Int, overflowPolicy: RiemannOverflowPolicy) {
        precondition(capacity > 0, "RiemannEventQueue capacity must be positive")
        self.state = Mutex(State(capacity: capacity, overflowPolicy: overflowPolicy))
    }

    /// Changes the capacity and overflow policy from the next push on. Nothing queued is dropped
    /// by the change itself: a queue holding more than the new capacity keeps its events, and
    /// pushes then make room (or are refused) per the policy until it is below capacity again.
    public func reconfigure(capacity: Int, overflowPolicy: RiemannOverflowPolicy) {
        precondition(capacity > 0, "RiemannEventQueue capacity must be positive")
        self.state.withLock { state in
            state.capacity = capacity
            state.overflowPolicy = overflowPolicy
        }
    }

    /// Appends events at the back. Never blocks beyond the queue's own short critical section.
    @discardableResult
    public func push<Events: Sequence<RiemannEvent>>(_ events: Events) -> PushResult {
        self.state.withLock { state in
            let wasEmpty = state.entries.isEmpty
            if let reason = state.closedReason {
                var count = 0
                for _ in events { count += 1 }
                state.countDrop(count, reason)
                return PushResult(accepted: 0, dropped: count, depth: state.entries.count, wasEmpty: wasEmpty)
            }
            var appended = 0
            var accepted = 0  // events of this push still queued
            var dropped = 0
            for event in events {
                if state.entries.count >= state.capacity {
                    switch state.overflowPolicy {
                    case .dropNewest:
                        dropped += 1
                        continue
                    case .dropOldest:
                        if accepted == state.entries.count {
                            accepted -= 1  // the oldest is one of ours
                        }
                        _ = state.entries.popFirst()
                        dropped += 1
                    }
                }
                state.entries.append(Entry(event: event))
                appended += 1
                accepted += 1
            }
            state.enqueued += UInt64(appended)
            state.countDrop(dropped, .queueFull)
            return PushResult(accepted: accepted, dropped: dropped, depth: state.entries.count, wasEmpty: wasEmpty)
        }
    }

    /// Appends one event at the back. See ``push(_:)``.
    @discardableResult
    public func push(_ event: RiemannEvent) -> PushResult {
        self.push(CollectionOfOne(event))
    }

    /// Removes and returns up to `maximumCount` events from the front, oldest first.
    public func take(upTo maximumCount: Int) -> [Entry] {
        self.state.withLock { state in
            var batch: [Entry] = []
            batch.reserveCapacity(min(maximumCount, state.entries.count))
            while batch.count < maximumCount, let entry = state.entries.popFirst() {
                batch.append(entry)
            }
            return batch
        }
    }

    /// Puts undelivered events back at the front, keeping their order (at-least-once redelivery).
    ///
    /// If they do not all fit, the overflow policy applies as for ``push(_:)``: `dropOldest`
    /// discards from the front of `entries` (the oldest), `dropNewest` discards queued events
    /// from the back. Drops are counted as ``RiemannDropReason/queueFull``.
    public func putBack(_ entries: [Entry]) {
        guard !entries.isEmpty else { return }
        self.state.withLock { state in
            if let reason = state.closedReason {
                state.countDrop(entries.count, reason)
                return
            }
            var dropped = 0
            var toInsert = entries[...]
            let room = state.capacity - state.entries.count
            if toInsert.count > room {
                switch state.overflowPolicy {
                case .dropOldest:
                    let excess = toInsert.count - max(room, 0)
                    dropped += excess
                    toInsert = toInsert.dropFirst(excess)
                case .dropNewest:
                    var excess = toInsert.count - room
                    while excess > 0, state.entries.popLast() != nil {
                        excess -= 1
                        dropped += 1
                    }
                    if excess > 0 {
                        dropped += excess
                        toInsert = toInsert.dropFirst(excess)
                    }
                }
            }
            for entry in toInsert.reversed() {
                state.entries.prepend(entry)
            }
            state.requeued += UInt64(toInsert.count)
            state.countDrop(dropped, .queueFull)
        }
    }

    /// Removes every queued event and counts them as dropped for `reason`; returns how many.
    @discardableResult
    public func removeAll(reason: RiemannDropReason) -> Int {
        self.state.withLock { state in
            let count = state.entries.count
            state.entries = RingBuffer()
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
            let count = state.entries.count
            state.entries = RingBuffer()
            state.countDrop(count, reason)
            state.closedReason = state.closedReason ?? reason
            return count
        }
    }

    /// Events waiting in the queue.
    public var depth: Int {
        self.state.withLock { $0.entries.count }
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
                depth: state.entries.count, capacity: state.capacity, enqueued: state.enqueued, sent: state.sent,
                acknowledged: state.acknowledged, requeued: state.requeued, dropped: state.dropped)
        }
    }
}

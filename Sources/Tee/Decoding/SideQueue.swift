import Foundation

/// A bounded FIFO between the event loops (producers) and one side-pipeline worker (consumer).
///
/// `offer` never blocks: when the queue holds `maximumItems` items, or its items' bytes do not fit
/// the ``ByteBudget`` it shares (with other queues and whatever else holds the same bytes), it
/// refuses, and the producer counts the drop. Control items (connection opened/closed) are
/// always accepted: they are tiny and there is one per connection.
///
/// A producer that gathers items to append several at once (``SideBatch``, one lock per event
/// loop iteration) takes their places with ``reserve(control:)`` (and their bytes from
/// ``bytes``) as it gathers them, so it learns at once whether each fits, and appends them with
/// ``append(contentsOf:)``. The queue keeps such a batch as it came (a chunk: no copy of its
/// items), and the consumer takes the chunks in order.
///
/// Producers wake the consumer only when it is waiting, and a woken consumer lets ``gatherDelay``
/// pass before taking what is queued: under load the worker then takes batches instead of being
/// woken (two context switches, on a busy event loop's CPU) for every frame.
final class SideQueue<Item>: @unchecked Sendable {
    /// What a consumer takes: the items queued, in order, in the chunks they were appended in
    /// (each read in place; joined they would be copied).
    typealias Taken = [[Item]]

    private let condition = NSCondition()
    /// The items queued, in order, in the chunks producers appended.
    private var chunks: [[Item]] = []
    private var count = 0
    private var closed = false
    private var consumerWaiting = false
    let maximumItems: Int
    /// Items queued and items reserved by producers that gather them (at most ``maximumItems``,
    /// but control items always get one).
    private let places: ByteBudget
    /// The bytes of items queued (and, until ``release(bytes:)``, of items taken) count here.
    let bytes: ByteBudget
    /// How long a consumer woken by a producer waits for more items before taking them.
    let gatherDelay: Duration

    init(maximumItems: Int, bytes: ByteBudget, gatherDelay: Duration = .milliseconds(5)) {
        self.maximumItems = maximumItems
        self.places = ByteBudget(limit: maximumItems)
        self.bytes = bytes
        self.gatherDelay = gatherDelay
    }

    /// Appends `item` unless the queue is full (or closed); `bytes` counts against the byte bound.
    func offer(_ item: Item, bytes: Int, control: Bool = false) -> Bool {
        guard self.reserve(control: control) else { return false }
        guard control || self.bytes.reserve(bytes) else {
            self.places.release(1)
            return false
        }
        self.condition.lock()
        defer { self.condition.unlock() }
        guard !self.closed else {
            self.places.release(1)
            if !control { self.bytes.release(bytes) }
            return false
        }
        if self.chunks.isEmpty {
            self.chunks.append([item])
        } else {
            self.chunks[self.chunks.count - 1].append(item)
        }
        self.queued(1)
        return true
    }

    /// Takes a place for an item to be appended with ``append(contentsOf:)``; `false` when the
    /// queue is full (a control item always gets one).
    func reserve(control: Bool) -> Bool {
        if control {
            self.places.take(1)
            return true
        }
        return self.places.reserve(1)
    }

    /// Gives back a place taken with ``reserve(control:)`` for an item that is not appended after all.
    func unreserve() {
        self.places.release(1)
    }

    /// Appends `items`, whose places were reserved, as one chunk (no copy), leaving `items`
    /// empty; returns `false` when the queue is closed: the items are not taken (their places
    /// are given back, the rest is the caller's). One lock, at most one wake-up.
    @discardableResult
    func append(contentsOf items: inout [Item]) -> Bool {
        guard !items.isEmpty else { return true }
        self.condition.lock()
        defer { self.condition.unlock() }
        guard !self.closed else {
            self.places.release(items.count)
            return false
        }
        let count = items.count
        var chunk: [Item] = []
        swap(&chunk, &items)
        self.chunks.append(chunk)
        self.queued(count)
        return true
    }

    /// Counts `count` items appended (the lock held) and wakes a waiting consumer.
    private func queued(_ count: Int) {
        self.count += count
        if self.consumerWaiting {
            self.consumerWaiting = false
            self.condition.signal()
        }
    }

    /// Takes everything queued, waiting up to `timeout` when empty. Returns `nil` once the
    /// queue is closed and empty.
    func takeAll(timeout: Duration) -> Taken? {
        self.condition.lock()
        defer { self.condition.unlock() }
        if self.chunks.isEmpty && !self.closed {
            let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
            self.consumerWaiting = true
            let signalled = self.condition.wait(until: Date(timeIntervalSinceNow: seconds))
            self.consumerWaiting = false
            if signalled, !self.closed, self.gatherDelay > .zero {
                self.condition.unlock()
                Thread.sleep(
                    forTimeInterval: Double(self.gatherDelay.components.attoseconds) / 1e18
                        + Double(self.gatherDelay.components.seconds)
                )
                self.condition.lock()
            }
        }
        if self.chunks.isEmpty {
            return self.closed ? nil : []
        }
        // Hand the chunks over rather than copying them while producers wait for the lock.
        let taken = self.chunks
        self.chunks = []
        self.places.release(self.count)
        self.count = 0
        return taken
    }

    /// Gives back the byte budget of consumed items (consumers sum a batch's items: one lock, not one per item).
    func release(bytes: Int) {
        self.bytes.release(bytes)
    }

    /// No more items are accepted; the consumer gets what is queued, then `nil`.
    func close() {
        self.condition.lock()
        self.closed = true
        self.consumerWaiting = false
        self.condition.broadcast()
        self.condition.unlock()
    }
}

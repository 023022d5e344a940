import Foundation

/// A bounded FIFO between the event loops (producers) and one side-pipeline worker (consumer).
///
/// `offer` never blocks: when the queue holds `maximumItems` items, or its items' bytes do not fit
/// the ``ByteBudget`` it shares (with other queues and whatever else holds the same bytes), it
/// refuses, and the producer counts the drop. Control items (connection opened/closed) are
/// always accepted: they are tiny and there is one per connection.
///
/// Producers wake the consumer only when it is waiting, and a woken consumer lets ``gatherDelay``
/// pass before taking what is queued: under load the worker then takes batches instead of being
/// woken (two context switches, on a busy event loop's CPU) for every frame.
final class SideQueue<Item>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Item] = []
    private var closed = false
    private var consumerWaiting = false
    let maximumItems: Int
    /// The bytes of items queued (and, until ``release(bytes:)``, of items taken) count here.
    let bytes: ByteBudget
    /// How long a consumer woken by a producer waits for more items before taking them.
    let gatherDelay: Duration

    init(maximumItems: Int, bytes: ByteBudget, gatherDelay: Duration = .milliseconds(5)) {
        self.maximumItems = maximumItems
        self.bytes = bytes
        self.gatherDelay = gatherDelay
    }

    /// Appends `item` unless the queue is full (or closed); `bytes` counts against the byte bound.
    func offer(_ item: Item, bytes: Int, control: Bool = false) -> Bool {
        self.condition.lock()
        defer { self.condition.unlock() }
        guard !self.closed else { return false }
        if !control {
            guard self.items.count < self.maximumItems, self.bytes.reserve(bytes) else { return false }
        }
        self.items.append(item)
        if self.consumerWaiting {
            self.consumerWaiting = false
            self.condition.signal()
        }
        return true
    }

    /// Takes everything queued, waiting up to `timeout` when empty. Returns `nil` once the
    /// queue is closed and empty.
    func takeAll(timeout: Duration) -> [Item]? {
        self.condition.lock()
        defer { self.condition.unlock() }
        if self.items.isEmpty && !self.closed {
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
        if self.items.isEmpty {
            return self.closed ? nil : []
        }
        // Hand the storage over rather than copying it while producers wait for the lock.
        let taken = self.items
        self.items = []
        self.items.reserveCapacity(min(taken.count, 4096))
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

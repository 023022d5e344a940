import Foundation

/// A bounded FIFO between the event loops (producers) and one side-pipeline worker (consumer).
///
/// `offer` never blocks: when the queue holds `maximumItems` items or `maximumBytes` bytes it
/// refuses, and the producer counts the drop. Control items (connection opened/closed) are
/// always accepted: they are tiny and there is one per connection.
final class SideQueue<Item>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Item] = []
    private var head = 0
    private var bytes = 0
    private var closed = false
    let maximumItems: Int
    let maximumBytes: Int

    init(maximumItems: Int, maximumBytes: Int) {
        self.maximumItems = maximumItems
        self.maximumBytes = maximumBytes
    }

    /// Appends `item` unless the queue is full (or closed); `bytes` counts against the byte bound.
    func offer(_ item: Item, bytes: Int, control: Bool = false) -> Bool {
        self.condition.lock()
        defer { self.condition.unlock() }
        guard !self.closed else { return false }
        if !control {
            guard self.items.count - self.head < self.maximumItems, self.bytes + bytes <= self.maximumBytes else {
                return false
            }
        }
        self.items.append(item)
        self.bytes += bytes
        self.condition.signal()
        return true
    }

    /// Takes everything queued, waiting up to `timeout` when empty. Returns `nil` once the
    /// queue is closed and empty.
    func takeAll(timeout: Duration) -> [Item]? {
        self.condition.lock()
        defer { self.condition.unlock() }
        if self.items.count == self.head && !self.closed {
            let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
            _ = self.condition.wait(until: Date(timeIntervalSinceNow: seconds))
        }
        if self.items.count == self.head {
            return self.closed ? nil : []
        }
        let taken = Array(self.items[self.head...])
        self.items.removeAll(keepingCapacity: self.items.count < 4096)
        self.head = 0
        return taken
    }

    /// Gives back the byte budget of a consumed item.
    func release(bytes: Int) {
        self.condition.lock()
        self.bytes -= bytes
        self.condition.unlock()
    }

    /// No more items are accepted; the consumer gets what is queued, then `nil`.
    func close() {
        self.condition.lock()
        self.closed = true
        self.condition.broadcast()
        self.condition.unlock()
    }
}

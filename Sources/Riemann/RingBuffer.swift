/// A growable FIFO ring buffer with O(1) (amortised) append, prepend and removal at both ends.
///
/// Storage grows by doubling and never shrinks below what it reached; the owner bounds the count.
struct RingBuffer<Element> {
    private var storage: [Element?]
    private var head = 0
    private(set) var count = 0

    init(initialCapacity: Int = 16) {
        self.storage = Array(repeating: nil, count: max(initialCapacity, 1))
    }

    var isEmpty: Bool { self.count == 0 }

    /// The element ``popFirst()`` would return.
    var first: Element? { self.count > 0 ? self.storage[self.head] : nil }

    private func physical(_ logical: Int) -> Int {
        let index = self.head + logical
        return index >= self.storage.count ? index - self.storage.count : index
    }

    private mutating func growIfFull() {
        guard self.count == self.storage.count else { return }
        var newStorage = [Element?](repeating: nil, count: self.storage.count * 2)
        for logical in 0..<self.count {
            newStorage[logical] = self.storage[self.physical(logical)]
        }
        self.storage = newStorage
        self.head = 0
    }

    mutating func append(_ element: consuming Element) {
        self.growIfFull()
        self.storage[self.physical(self.count)] = element
        self.count += 1
    }

    mutating func prepend(_ element: Element) {
        self.growIfFull()
        self.head = self.head == 0 ? self.storage.count - 1 : self.head - 1
        self.storage[self.head] = element
        self.count += 1
    }

    // `take()` moves the element out of its slot: no copy, no retain and release of what it holds.
    mutating func popFirst() -> Element? {
        guard self.count > 0 else { return nil }
        let element = self.storage[self.head].take()
        self.head = self.physical(1)
        self.count -= 1
        return element
    }

    mutating func popLast() -> Element? {
        guard self.count > 0 else { return nil }
        let index = self.physical(self.count - 1)
        let element = self.storage[index].take()
        self.count -= 1
        return element
    }
}

extension RingBuffer: Sendable where Element: Sendable {}

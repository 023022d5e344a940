import NIOCore

/// Everything an event loop keeps about one relayed connection: the state machine and what the
/// shell needs to carry out its actions.
struct RelayConnectionRecord {
    var machine: RelayStateMachine
    /// The listener settings the connection was accepted with (open connections keep them).
    let shared: RelayListener.Shared
    /// Process-wide connection number, given once admitted.
    var id: UInt64 = 0
    var clientFD: Int32
    var serverFD: Int32 = -1
    /// The epoll data tags of the two registrations (0: none), to tell a stale event from a
    /// current one.
    var clientTag: UInt32 = 0
    var serverTag: UInt32 = 0
    /// Target indices in the order to try them.
    var candidates: [Int] = []
    var ticket: ConnectionAdmission.Ticket?
    var tap: (any RelayConnectionTap)?
    var spillToServer: SpillBuffer?
    var spillToClient: SpillBuffer?
    /// The client's address from `accept4`.
    var peer: RawSocketAddress
    /// The listening address it connected to.
    let local: SocketAddress?
    /// `errno` of the last connect attempt that failed at once (for the warning).
    var connectError: Int32 = 0
    /// Queued to run again after a yield.
    var queued = false

    init(
        machine: RelayStateMachine,
        shared: RelayListener.Shared,
        clientFD: Int32,
        peer: RawSocketAddress,
        local: SocketAddress?
    ) {
        self.machine = machine
        self.shared = shared
        self.clientFD = clientFD
        self.peer = peer
        self.local = local
    }
}

/// A side's descriptor and tag, read through the record's pointer: a method of the record called
/// on `record.pointee` loaded the whole record first (a copy, with a retain and release of each of
/// its references), five times per connection.
extension UnsafeMutablePointer where Pointee == RelayConnectionRecord {
    func tag(_ side: RelaySide) -> UInt32 { side == .client ? self.pointee.clientTag : self.pointee.serverTag }
    func fd(_ side: RelaySide) -> Int32 { side == .client ? self.pointee.clientFD : self.pointee.serverFD }
}

/// The connection table of one event loop: records in fixed pages that never move (so a pointer
/// to a record stays valid while it is in use), slots reused through a free list. Grows a page at
/// a time and never shrinks: no allocation per connection once the table has grown to the
/// load's size.
struct ConnectionSlab {
    static let pageSize = 256

    private var pages: [UnsafeMutablePointer<RelayConnectionRecord>] = []
    private var used: [Bool] = []
    private var free: [Int32] = []
    private(set) var count = 0

    var capacity: Int { self.pages.count * Self.pageSize }

    /// Stores `record`; returns its slot.
    mutating func insert(_ record: RelayConnectionRecord) -> Int {
        if self.free.isEmpty { self.grow() }
        let index = Int(self.free.removeLast())
        self.slot(index).initialize(to: record)
        self.used[index] = true
        self.count += 1
        return index
    }

    /// The record in `index`, if the slot is in use.
    func record(_ index: Int) -> UnsafeMutablePointer<RelayConnectionRecord>? {
        guard index >= 0, index < self.used.count, self.used[index] else { return nil }
        return self.slot(index)
    }

    /// Frees `index`.
    mutating func remove(_ index: Int) {
        guard index < self.used.count, self.used[index] else { return }
        self.slot(index).deinitialize(count: 1)
        self.used[index] = false
        self.free.append(Int32(index))
        self.count -= 1
    }

    /// The slots in use.
    var occupied: [Int] { self.used.indices.filter { self.used[$0] } }

    private func slot(_ index: Int) -> UnsafeMutablePointer<RelayConnectionRecord> {
        self.pages[index / Self.pageSize] + (index % Self.pageSize)
    }

    private mutating func grow() {
        let first = self.capacity
        self.pages.append(.allocate(capacity: Self.pageSize))
        self.used += repeatElement(false, count: Self.pageSize)
        // Lowest slots first, so a lightly loaded loop keeps using the same few.
        self.free.reserveCapacity(self.free.count + Self.pageSize)
        for index in (first..<(first + Self.pageSize)).reversed() { self.free.append(Int32(index)) }
    }

    /// Frees everything (the loop stops).
    mutating func removeAll() {
        for index in self.occupied { self.remove(index) }
        for page in self.pages { page.deallocate() }
        self.pages = []
        self.used = []
        self.free = []
    }
}

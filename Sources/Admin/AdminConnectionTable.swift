import NIOCore

/// Which admin connections are open and what each is doing, and whom to let in when all slots
/// are taken: the admin server's admission decisions, without sockets or clocks.
///
/// A connection is either *waiting* for a complete request (just accepted, idle between
/// keep-alive requests, or trickling a request in) or *busy* (its request is being answered).
/// When ``capacity`` connections are open, a new one takes the slot of the connection that has
/// waited longest — so idle or slow sockets can never lock a health probe out — and is refused
/// only when every open connection is busy answering a request.
struct AdminConnectionTable<ID: Hashable & Sendable>: Sendable {
    /// What to do with a newly accepted connection.
    enum Admission: Equatable, Sendable {
        /// Serve it.
        case accepted
        /// Serve it, and close `ID` (the connection that waited longest) to make room.
        case acceptedEvicting(ID)
        /// Close it: every slot is busy answering a request.
        case refused
    }

    private enum Activity: Sendable {
        /// Waiting for a complete request since the instant given.
        case waiting(since: NIODeadline)
        /// A request is being answered.
        case busy
    }

    /// Connections open at most.
    let capacity: Int
    private var connections: [ID: Activity] = [:]

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Open connections.
    var count: Int { self.connections.count }

    /// A connection was accepted at `now`.
    mutating func admit(_ id: ID, now: NIODeadline) -> Admission {
        guard self.connections.count >= self.capacity else {
            self.connections[id] = .waiting(since: now)
            return .accepted
        }
        var oldest: (id: ID, since: NIODeadline)?
        for (candidate, activity) in self.connections {
            guard case .waiting(let since) = activity else { continue }
            if oldest.map({ since < $0.since }) ?? true { oldest = (candidate, since) }
        }
        guard let evicted = oldest else { return .refused }
        self.connections[evicted.id] = nil
        self.connections[id] = .waiting(since: now)
        return .acceptedEvicting(evicted.id)
    }

    /// A complete request arrived on `id`: it is busy until ``responseSent(_:now:)``.
    mutating func requestReceived(_ id: ID) {
        guard self.connections[id] != nil else { return }
        self.connections[id] = .busy
    }

    /// The response on `id` went out at `now`; the connection waits for its next request.
    mutating func responseSent(_ id: ID, now: NIODeadline) {
        guard self.connections[id] != nil else { return }
        self.connections[id] = .waiting(since: now)
    }

    /// `id` closed (or was evicted and is closing).
    mutating func remove(_ id: ID) {
        self.connections[id] = nil
    }
}

import NIOCore

/// The Riemann client's connection logic, without I/O: which server to connect to and when,
/// which queued events to write, what an ack, a timeout or a lost connection means for them, and
/// when a shutdown is over.
///
/// It is a value: every input is a method call carrying the current time (`now:`), every output
/// an ``Action`` for the caller to perform — open a connection, write a batch, close, arm or
/// cancel a timer, log, finish a shutdown. It owns no channel, no timer and no clock, so every
/// path (ack timeout, batch delay, byte-bounded batching, redelivery, failover, reconfiguration,
/// shutdown drain) is tested by feeding it inputs and reading its actions.
/// ``RiemannConnectionController`` performs the actions on an event loop.
///
/// Deadlines are kept as values and checked when their timer fires, so a late or stale timer is
/// harmless. Connections are named by a ``ConnectionID`` that grows with every connect: inputs
/// about an older connection are ignored (or answered with ``Action/close(connection:)``).
///
/// The queue is the one input shared with other threads: producers push into it at any time, the
/// machine takes batches from it, puts unacknowledged events back and counts deliveries in it.
struct RiemannConnectionStateMachine {
    typealias ConnectionID = Int

    /// The connection lifecycle.
    enum State: Equatable {
        /// Created; ``start(now:)`` not called yet.
        case idle
        /// A connect to `servers[serverIndex]` is under way.
        case connecting(serverIndex: Int, connection: ConnectionID)
        /// Connected; batches can be written.
        case connected(serverIndex: Int, connection: ConnectionID)
        /// Waiting out a backoff delay before connecting to `servers[serverIndex]`.
        case waitingToReconnect(serverIndex: Int, until: NIODeadline)
        /// Shut down: nothing is sent any more.
        case shutDown
    }

    /// The timers the machine asks for; at most one of each kind is armed.
    enum Timer: Hashable, CaseIterable, Sendable {
        /// A partial batch has waited ``RiemannClientConfiguration/maximumBatchDelay``.
        case batch
        /// The oldest unacknowledged message has waited ``RiemannClientConfiguration/acknowledgementTimeout``.
        case acknowledgement
        /// The backoff delay before the next connect is over.
        case reconnect
        /// The shutdown's flush deadline.
        case drain
    }

    /// What the caller must do, in order.
    enum Action: Equatable {
        /// Open a connection to `server`; report with ``connectSucceeded(connection:now:)`` or
        /// ``connectFailed(connection:error:now:)``.
        case connect(RiemannServerAddress, connection: ConnectionID)
        /// Encode `entries` as one message and write it; report a failed write with
        /// ``writeFailed(connection:error:now:)``.
        case write([RiemannEventQueue.Entry], connection: ConnectionID)
        /// Close this connection (its end is then reported and ignored).
        case close(connection: ConnectionID)
        /// Arm the timer (replacing one of the same kind); call ``timerFired(_:now:)`` when it fires.
        case schedule(Timer, at: NIODeadline)
        /// Disarm the timer.
        case cancel(Timer)
        /// Log this.
        case log(LogEvent)
        /// A reply arrived this long after its message was written.
        case recordAcknowledgementLatency(TimeAmount)
        /// The shutdown is over: complete whoever waits for it.
        case completeShutdown
    }

    /// What happened that is worth a log line; the caller chooses level and throttling.
    enum LogEvent: Equatable {
        case connecting(RiemannServerAddress)
        case connected(RiemannServerAddress)
        case connectFailed(RiemannServerAddress, error: String, next: RiemannServerAddress, retryIn: TimeAmount)
        case connectionLost(RiemannServerAddress, cause: LossCause, requeued: Int, retryIn: TimeAmount)
        /// The server answered `ok=false` (or without `ok`); the message's events are dropped.
        case rejected(error: String?, events: Int)
        /// The server (being) connected is no longer configured; the client moves to `next`.
        case serverRemoved(RiemannServerAddress, next: RiemannServerAddress, requeued: Int)
        case shutDown(reason: String, unsent: Int, unacknowledged: Int)
    }

    /// Why an established connection was given up.
    enum LossCause: Equatable {
        /// The peer closed it or it failed (`error`: the error, if one was seen).
        case closed(error: String?)
        /// The oldest message was not acknowledged in time; `messagesInFlight` were outstanding.
        case acknowledgementTimeout(messagesInFlight: Int)
        /// A reply arrived with no message awaiting one.
        case unexpectedReply
        /// A write failed.
        case writeFailed(error: String)
    }

    /// A message written and not yet acknowledged.
    struct InFlightMessage: Equatable {
        var entries: [RiemannEventQueue.Entry]
        var writtenAt: NIODeadline
    }

    /// Counts kept for metrics.
    struct Counters: Equatable {
        var connectionsEstablished: UInt64 = 0
        var connectAttemptsFailed: UInt64 = 0
        var connectionsLost: UInt64 = 0
        var acknowledgementTimeouts: UInt64 = 0
        var messagesRejected: UInt64 = 0
    }

    private(set) var state: State = .idle
    private(set) var configuration: RiemannClientConfiguration
    private(set) var inFlight: [InFlightMessage] = []
    private(set) var counters = Counters()
    /// When a partial batch is sent even though it is not full (nil: no batch timer armed).
    private(set) var batchDeadline: NIODeadline?
    /// When the oldest in-flight message times out (nil: nothing in flight).
    private(set) var acknowledgementDeadline: NIODeadline?
    /// Set while shutting down: the flush deadline.
    private(set) var drainDeadline: NIODeadline?
    let queue: RiemannEventQueue
    private var backoff: Backoff
    private var randomNumberGenerator: any RandomNumberGenerator
    private var lastConnection: ConnectionID = 0

    /// - Parameters:
    ///   - configuration: settings; counts below their minimum are raised to it.
    ///   - queue: where events come from.
    ///   - randomNumberGenerator: the backoff's jitter (inject a seeded one in tests).
    init(
        configuration: RiemannClientConfiguration,
        queue: RiemannEventQueue,
        randomNumberGenerator: any RandomNumberGenerator = SystemRandomNumberGenerator()
    ) {
        self.configuration = configuration.normalized
        self.queue = queue
        self.backoff = Backoff(configuration)
        self.randomNumberGenerator = randomNumberGenerator
    }

    // MARK: - Derived state

    /// The server connected now, if any.
    var connectedServerIndex: Int? {
        guard case .connected(let index, _) = self.state else { return nil }
        return index
    }

    var eventsInFlight: Int { self.inFlight.reduce(0) { $0 + $1.entries.count } }

    private var isDraining: Bool { self.drainDeadline != nil }

    /// Whether a batch could be written now (connected, the in-flight window has room).
    var canSend: Bool {
        guard case .connected = self.state else { return false }
        return self.inFlight.count < self.configuration.maximumMessagesInFlight
    }

    /// Whether `occupancy` is a full batch: enough events, or enough bytes, for one message.
    func isFullBatch(_ occupancy: RiemannEventQueue.Occupancy) -> Bool {
        occupancy.events >= self.configuration.maximumBatchEvents
            || occupancy.bytes >= self.configuration.maximumBatchBodyBytes
    }

    /// Whether ``eventsQueued(now:)`` would do something with this queue occupancy: write a full
    /// batch, arm the batch timer, or (while draining) write a partial one. The caller uses it to
    /// catch events pushed while it was not listening.
    func wantsEvents(_ occupancy: RiemannEventQueue.Occupancy) -> Bool {
        guard self.canSend, occupancy.events > 0 else { return false }
        return self.isFullBatch(occupancy) || self.batchDeadline == nil || self.isDraining
    }

    // MARK: - Inputs

    /// Connects to the first server. Only from ``State/idle``.
    mutating func start(now: NIODeadline) -> [Action] {
        guard case .idle = self.state else { return [] }
        var actions: [Action] = []
        self.connect(serverIndex: 0, actions: &actions)
        return actions
    }

    /// Events were queued (a producer woke the loop).
    mutating func eventsQueued(now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        self.flush(forcePartialBatch: self.isDraining, now: now, actions: &actions)
        return actions
    }

    mutating func connectSucceeded(connection: ConnectionID, now: NIODeadline) -> [Action] {
        guard case .connecting(let index, let current) = self.state, current == connection else {
            return [.close(connection: connection)]  // shut down or superseded while connecting
        }
        var actions: [Action] = []
        self.state = .connected(serverIndex: index, connection: connection)
        self.counters.connectionsEstablished += 1
        actions.append(.log(.connected(self.configuration.servers[index])))
        // Whatever waited while disconnected has waited long enough: send partial batches too.
        self.flush(forcePartialBatch: true, now: now, actions: &actions)
        self.finishShutdownIfDrained(actions: &actions)
        return actions
    }

    mutating func connectFailed(connection: ConnectionID, error: any Error, now: NIODeadline) -> [Action] {
        guard case .connecting(let index, let current) = self.state, current == connection else { return [] }
        self.counters.connectAttemptsFailed += 1
        let servers = self.configuration.servers
        let next = (index + 1) % servers.count
        let delay = self.backoff.nextDelay(using: &self.randomNumberGenerator)
        var actions: [Action] = [
            .log(.connectFailed(servers[index], error: "\(error)", next: servers[next], retryIn: delay))
        ]
        self.waitToReconnect(serverIndex: next, delay: delay, now: now, actions: &actions)
        return actions
    }

    /// The connection ended (closed by the peer, reset, or after a ``Action/close(connection:)``).
    mutating func connectionClosed(connection: ConnectionID, error: (any Error)?, now: NIODeadline) -> [Action] {
        self.lose(connection: connection, cause: .closed(error: error.map { "\($0)" }), now: now)
    }

    mutating func writeFailed(connection: ConnectionID, error: any Error, now: NIODeadline) -> [Action] {
        self.lose(connection: connection, cause: .writeFailed(error: "\(error)"), now: now)
    }

    /// A reply arrived; Riemann answers messages in the order they were written, so it answers the
    /// oldest in-flight one.
    mutating func replyReceived(_ reply: RiemannMessage, connection: ConnectionID, now: NIODeadline) -> [Action] {
        guard case .connected(_, let current) = self.state, current == connection else { return [] }
        guard !self.inFlight.isEmpty else {
            return self.lose(connection: connection, cause: .unexpectedReply, now: now)
        }
        var actions: [Action] = []
        let message = self.inFlight.removeFirst()
        actions.append(.recordAcknowledgementLatency(now - message.writtenAt))
        self.backoff.reset()  // any reply proves the connection works, ok=false included
        if reply.ok == true {
            self.queue.recordAcknowledged(message.entries.count)
        } else {
            self.counters.messagesRejected += 1
            self.queue.recordDropped(message.entries.count, reason: .rejectedByServer)
            actions.append(.log(.rejected(error: reply.error, events: message.entries.count)))
        }
        self.armAcknowledgementTimer(actions: &actions)
        self.flush(forcePartialBatch: self.isDraining, now: now, actions: &actions)
        self.finishShutdownIfDrained(actions: &actions)
        return actions
    }

    /// A timer armed by ``Action/schedule(_:at:)`` fired. Stale firings (the deadline moved or
    /// went away since) do nothing.
    mutating func timerFired(_ timer: Timer, now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        switch timer {
        case .batch:
            guard let deadline = self.batchDeadline, now >= deadline else { return [] }
            self.batchDeadline = nil
            self.flush(forcePartialBatch: true, now: now, actions: &actions)
        case .acknowledgement:
            guard let deadline = self.acknowledgementDeadline, now >= deadline,
                case .connected(_, let connection) = self.state
            else { return [] }
            self.counters.acknowledgementTimeouts += 1
            return self.lose(
                connection: connection,
                cause: .acknowledgementTimeout(messagesInFlight: self.inFlight.count),
                now: now
            )
        case .reconnect:
            guard case .waitingToReconnect(let index, let until) = self.state, now >= until else { return [] }
            self.connect(serverIndex: index, actions: &actions)
        case .drain:
            guard let deadline = self.drainDeadline, now >= deadline else { return [] }
            self.finishShutdown(reason: "flush deadline passed", actions: &actions)
        }
        return actions
    }

    /// Takes new settings. Server indices in the state move to the new list; a server no longer
    /// listed is left at once for the new list's first (its unacknowledged events go back to the
    /// queue, as after a connection loss). The rest applies from the next batch, ack or connect.
    mutating func reconfigure(_ configuration: RiemannClientConfiguration, now: NIODeadline) -> [Action] {
        let oldServers = self.configuration.servers
        var configuration = configuration.normalized
        if configuration.servers.isEmpty {
            configuration.servers = oldServers  // RiemannClient refuses an empty list; never strand the client
        }
        self.configuration = configuration
        let backoff = Backoff(configuration)
        if self.backoff.minimum != backoff.minimum || self.backoff.maximum != backoff.maximum {
            self.backoff = backoff
        }
        func moved(_ index: Int) -> Int? {
            guard oldServers.indices.contains(index) else { return nil }
            return configuration.servers.firstIndex(of: oldServers[index])
        }
        var actions: [Action] = []
        switch self.state {
        case .idle, .shutDown:
            break
        case .connecting(let index, let connection):
            if let index = moved(index) {
                self.state = .connecting(serverIndex: index, connection: connection)
            } else {
                actions.append(.log(.serverRemoved(oldServers[index], next: configuration.servers[0], requeued: 0)))
                self.connect(serverIndex: 0, actions: &actions)  // the old connect completes as stale
            }
        case .waitingToReconnect(let index, let until):
            if let index = moved(index) {
                self.state = .waitingToReconnect(serverIndex: index, until: until)
            } else {
                actions.append(.cancel(.reconnect))
                self.connect(serverIndex: 0, actions: &actions)
            }
        case .connected(let index, let connection):
            if let index = moved(index) {
                self.state = .connected(serverIndex: index, connection: connection)
                self.armAcknowledgementTimer(actions: &actions)  // the timeout may have changed
                self.flush(forcePartialBatch: self.isDraining, now: now, actions: &actions)
            } else {
                let requeued = self.leaveConnection(actions: &actions)
                actions.append(
                    .log(.serverRemoved(oldServers[index], next: configuration.servers[0], requeued: requeued))
                )
                actions.append(.close(connection: connection))
                self.connect(serverIndex: 0, actions: &actions)
            }
        }
        return actions
    }

    /// Flushes until the queue and the in-flight window are empty or `deadline` passes, then
    /// closes; ``Action/completeShutdown`` says when. A second call while draining changes
    /// nothing (the first deadline holds); after the shutdown it completes at once.
    mutating func shutdown(deadline: NIODeadline, now: NIODeadline) -> [Action] {
        if case .shutDown = self.state { return [.completeShutdown] }
        guard self.drainDeadline == nil else { return [] }
        self.drainDeadline = deadline
        var actions: [Action] = [.schedule(.drain, at: deadline)]
        switch self.state {
        case .idle:
            self.finishShutdown(reason: "never started", actions: &actions)
        case .connected:
            self.flush(forcePartialBatch: true, now: now, actions: &actions)
            self.finishShutdownIfDrained(actions: &actions)
        case .connecting, .waitingToReconnect:
            self.finishShutdownIfDrained(actions: &actions)
        case .shutDown:
            break
        }
        return actions
    }

    // MARK: - Transitions

    private mutating func connect(serverIndex: Int, actions: inout [Action]) {
        let servers = self.configuration.servers
        guard !servers.isEmpty else { return }  // RiemannClient refuses an empty list
        let index = serverIndex % servers.count
        self.lastConnection += 1
        self.state = .connecting(serverIndex: index, connection: self.lastConnection)
        actions.append(.log(.connecting(servers[index])))
        actions.append(.connect(servers[index], connection: self.lastConnection))
    }

    private mutating func waitToReconnect(
        serverIndex: Int,
        delay: TimeAmount,
        now: NIODeadline,
        actions: inout [Action]
    ) {
        let until = now + delay
        self.state = .waitingToReconnect(serverIndex: serverIndex, until: until)
        actions.append(.schedule(.reconnect, at: until))
    }

    /// Gives up the established `connection`: its unacknowledged events go back to the queue,
    /// it is closed, and the same server is tried again after a backoff delay (a failed connect
    /// then moves on to the next server).
    private mutating func lose(connection: ConnectionID, cause: LossCause, now: NIODeadline) -> [Action] {
        guard case .connected(let index, let current) = self.state, current == connection else { return [] }
        var actions: [Action] = []
        self.counters.connectionsLost += 1
        let requeued = self.leaveConnection(actions: &actions)
        if case .closed = cause {
        } else {
            actions.append(.close(connection: connection))
        }
        let delay = self.backoff.nextDelay(using: &self.randomNumberGenerator)
        actions.append(
            .log(.connectionLost(self.configuration.servers[index], cause: cause, requeued: requeued, retryIn: delay))
        )
        self.waitToReconnect(serverIndex: index, delay: delay, now: now, actions: &actions)
        return actions
    }

    /// Forgets the current connection's timers and queues its unacknowledged events again
    /// (returns how many).
    private mutating func leaveConnection(actions: inout [Action]) -> Int {
        if self.batchDeadline != nil {
            self.batchDeadline = nil
            actions.append(.cancel(.batch))
        }
        if self.acknowledgementDeadline != nil {
            self.acknowledgementDeadline = nil
            actions.append(.cancel(.acknowledgement))
        }
        return self.requeueInFlight()
    }

    /// Puts every unacknowledged event back at the front of the queue (oldest first), dropping
    /// those that used up their delivery attempts. Returns how many were queued again.
    private mutating func requeueInFlight() -> Int {
        var retry: [RiemannEventQueue.Entry] = []
        var exhausted = 0
        for message in self.inFlight {
            for entry in message.entries {
                if entry.deliveryAttempts >= self.configuration.maximumDeliveryAttempts {
                    exhausted += 1
                } else {
                    retry.append(entry)
                }
            }
        }
        self.inFlight.removeAll()
        self.queue.recordDropped(exhausted, reason: .deliveryAttemptsExhausted)
        self.queue.putBack(retry)
        return retry.count
    }

    /// Writes full batches while the in-flight window allows. When forced (batch timer fired, just
    /// connected, draining) it also writes the last partial batch; otherwise a partial batch arms
    /// the batch timer.
    private mutating func flush(forcePartialBatch: Bool, now: NIODeadline, actions: inout [Action]) {
        guard case .connected(_, let connection) = self.state else { return }
        while self.inFlight.count < self.configuration.maximumMessagesInFlight {
            let occupancy = self.queue.occupancy
            guard occupancy.events > 0 else { return }
            guard forcePartialBatch || self.isFullBatch(occupancy) else {
                if self.batchDeadline == nil {
                    let deadline = now + TimeAmount(self.configuration.maximumBatchDelay)
                    self.batchDeadline = deadline
                    actions.append(.schedule(.batch, at: deadline))
                }
                return
            }
            // Never empty unless every event taken was too large for a message (dropped, counted):
            // each turn takes or drops at least one event, so the loop ends.
            var entries = self.queue.take(
                upTo: self.configuration.maximumBatchEvents,
                maximumBytes: self.configuration.maximumBatchBodyBytes
            )
            guard !entries.isEmpty else { continue }
            for index in entries.indices {
                entries[index].deliveryAttempts += 1
            }
            self.inFlight.append(InFlightMessage(entries: entries, writtenAt: now))
            self.queue.recordSent(entries.count)
            actions.append(.write(entries, connection: connection))
            if self.inFlight.count == 1 {
                self.armAcknowledgementTimer(actions: &actions)
            }
        }
    }

    /// Arms the ack timer for the oldest in-flight message, or disarms it when nothing is in flight.
    private mutating func armAcknowledgementTimer(actions: inout [Action]) {
        guard let oldest = self.inFlight.first else {
            if self.acknowledgementDeadline != nil {
                self.acknowledgementDeadline = nil
                actions.append(.cancel(.acknowledgement))
            }
            return
        }
        let deadline = oldest.writtenAt + TimeAmount(self.configuration.acknowledgementTimeout)
        self.acknowledgementDeadline = deadline
        actions.append(.schedule(.acknowledgement, at: deadline))
    }

    private mutating func finishShutdownIfDrained(actions: inout [Action]) {
        guard self.isDraining, self.inFlight.isEmpty, self.queue.depth == 0 else { return }
        self.finishShutdown(reason: "queue flushed", actions: &actions)
    }

    /// Stops for good: in-flight and queued events are dropped as ``RiemannDropReason/shutdown``
    /// (and so is anything pushed later), the connection closed, every timer cancelled.
    private mutating func finishShutdown(reason: String, actions: inout [Action]) {
        if case .shutDown = self.state { return }
        let previous = self.state
        self.state = .shutDown
        self.batchDeadline = nil
        self.acknowledgementDeadline = nil
        self.drainDeadline = nil
        for timer in Timer.allCases {
            actions.append(.cancel(timer))
        }
        let unacknowledged = self.eventsInFlight
        self.inFlight.removeAll()
        self.queue.recordDropped(unacknowledged, reason: .shutdown)
        let unsent = self.queue.close(reason: .shutdown)
        if case .connected(_, let connection) = previous {
            actions.append(.close(connection: connection))
        }
        // A connect under way is closed when it completes (connectSucceeded answers `close`).
        actions.append(.log(.shutDown(reason: reason, unsent: unsent, unacknowledged: unacknowledged)))
        actions.append(.completeShutdown)
    }
}

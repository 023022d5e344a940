import Logging
import NIOCore
import NIOPosix

/// The Riemann client's connection state machine. Lives on one event loop; every method must be
/// called there. Producers never touch it: they push into the ``RiemannEventQueue`` and, at most
/// once per wake-up, schedule ``wake()`` on the loop.
final class RiemannConnectionController {
    /// One established connection.
    struct Connection {
        var channel: any Channel
        var serverIndex: Int
        var generation: Int
    }

    /// The connection lifecycle.
    enum State {
        /// Created; ``start()`` not called yet.
        case idle
        /// A connect to `servers[serverIndex]` is under way.
        case connecting(serverIndex: Int, generation: Int)
        /// Connected; batches can be written.
        case connected(Connection)
        /// Waiting out a backoff delay before connecting to `servers[serverIndex]`.
        case waitingToReconnect(serverIndex: Int, timer: Scheduled<Void>)
        /// Shut down: nothing is sent any more.
        case shutDown
    }

    /// A message written and not yet acknowledged.
    struct InFlightMessage {
        var entries: [RiemannEventQueue.Entry]
        var writtenAt: NIODeadline
    }

    /// A pending ``RiemannClient/shutdown(deadline:)``.
    struct Drain {
        var promise: EventLoopPromise<Void>
        var deadlineTimer: Scheduled<Void>?
    }

    let eventLoop: any EventLoop
    private(set) var configuration: RiemannClientConfiguration
    let queue: RiemannEventQueue
    let counters: RiemannClientCounters
    var logger: Logger

    private(set) var state: State = .idle
    private var inFlight: [InFlightMessage] = []
    private var backoff: Backoff
    private var generation = 0
    private var batchTimer: Scheduled<Void>?
    private var acknowledgementTimer: Scheduled<Void>?
    private var drain: Drain?
    private var rejectionLog = RateLimit()
    private var connectFailureLog = RateLimit()

    init(
        eventLoop: any EventLoop, configuration: RiemannClientConfiguration, queue: RiemannEventQueue,
        counters: RiemannClientCounters, logger: Logger
    ) {
        self.eventLoop = eventLoop
        self.configuration = configuration
        self.queue = queue
        self.counters = counters
        self.logger = logger
        self.backoff = Backoff(
            minimum: configuration.reconnectBackoffMinimum, maximum: configuration.reconnectBackoffMaximum)
    }

    private var loopBound: NIOLoopBound<RiemannConnectionController> {
        NIOLoopBound(self, eventLoop: self.eventLoop)
    }

    // MARK: - Lifecycle

    func start() {
        self.eventLoop.preconditionInEventLoop()
        guard case .idle = self.state else { return }
        self.connect(serverIndex: 0)
    }

    /// Flushes until the queue and the in-flight window are empty or `deadline` passes, then closes.
    func shutdown(deadline: NIODeadline, promise: EventLoopPromise<Void>) {
        self.eventLoop.preconditionInEventLoop()
        if case .shutDown = self.state {
            promise.succeed()
            return
        }
        if let drain = self.drain {
            drain.promise.futureResult.cascade(to: promise)
            return
        }
        let timer = self.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [loopBound] in
            loopBound.value.finishShutdown(reason: "flush deadline passed")
        }
        self.drain = Drain(promise: promise, deadlineTimer: timer)
        switch self.state {
        case .idle:
            self.finishShutdown(reason: "never started")
        case .connected:
            self.flush(forcePartialBatch: true)
            self.finishShutdownIfDrained()
        case .connecting, .waitingToReconnect:
            self.finishShutdownIfDrained()
        case .shutDown:
            break
        }
    }

    private func finishShutdownIfDrained() {
        guard self.drain != nil, self.inFlight.isEmpty, self.queue.depth == 0 else { return }
        self.finishShutdown(reason: "queue flushed")
    }

    private func finishShutdown(reason: String) {
        if case .shutDown = self.state { return }
        let previous = self.state
        self.state = .shutDown
        self.counters.wakeupArmed.store(false, ordering: .releasing)
        self.batchTimer?.cancel()
        self.batchTimer = nil
        self.acknowledgementTimer?.cancel()
        self.acknowledgementTimer = nil

        let unacknowledged = self.inFlight.reduce(0) { $0 + $1.entries.count }
        self.inFlight.removeAll()
        self.publishInFlight()
        self.queue.recordDropped(unacknowledged, reason: .shutdown)
        let unsent = self.queue.close(reason: .shutdown)
        if unacknowledged + unsent > 0 {
            self.logger.warning(
                "Riemann client shut down with undelivered events",
                metadata: ["reason": "\(reason)", "unsent": "\(unsent)", "unacknowledged": "\(unacknowledged)"])
        } else {
            self.logger.debug("Riemann client shut down", metadata: ["reason": "\(reason)"])
        }

        switch previous {
        case .connected(let connection):
            connection.channel.close(promise: nil)
        case .waitingToReconnect(_, let timer):
            timer.cancel()
        case .idle, .connecting, .shutDown:
            break  // a connect in flight is closed when it completes
        }
        self.counters.connectedServerIndex.store(-1, ordering: .relaxed)
        if let drain = self.drain {
            self.drain = nil
            drain.deadlineTimer?.cancel()
            drain.promise.succeed()
        }
    }

    /// Takes new settings (see ``RiemannClient/reconfigure(_:)``). Server indices in the state
    /// are moved to the new list; a server no longer listed is left for the new list's first.
    func reconfigure(_ configuration: RiemannClientConfiguration) {
        self.eventLoop.preconditionInEventLoop()
        let oldServers = self.configuration.servers
        self.configuration = configuration
        if self.backoff.minimum != configuration.reconnectBackoffMinimum
            || self.backoff.maximum != configuration.reconnectBackoffMaximum
        {
            self.backoff = Backoff(
                minimum: configuration.reconnectBackoffMinimum, maximum: configuration.reconnectBackoffMaximum)
        }
        func moved(_ index: Int) -> Int? {
            guard oldServers.indices.contains(index) else { return nil }
            return configuration.servers.firstIndex(of: oldServers[index])
        }
        switch self.state {
        case .idle, .shutDown:
            break
        case .connecting(let index, let generation):
            if let index = moved(index) {
                self.state = .connecting(serverIndex: index, generation: generation)
            } else {
                self.logger.info(
                    "Riemann server no longer configured; connecting to the first configured one",
                    metadata: ["server": "\(oldServers[index])"])
                self.connect(serverIndex: 0)  // supersedes the connect under way
            }
        case .waitingToReconnect(let index, let timer):
            if let index = moved(index) {
                self.state = .waitingToReconnect(serverIndex: index, timer: timer)
            } else {
                timer.cancel()
                self.connect(serverIndex: 0)
            }
        case .connected(var connection):
            if let index = moved(connection.serverIndex) {
                connection.serverIndex = index
                self.state = .connected(connection)
                self.counters.connectedServerIndex.store(index, ordering: .relaxed)
                self.restartAcknowledgementTimer()
                self.flush(forcePartialBatch: self.drain != nil)
            } else {
                let requeued = self.leaveConnection()
                self.logger.info(
                    "Riemann server no longer configured; moving to the first configured one",
                    metadata: [
                        "server": "\(oldServers[connection.serverIndex])",
                        "next-server": "\(configuration.servers[0])", "requeued-events": "\(requeued)",
                    ])
                self.connect(serverIndex: 0)  // the old connection's close is then ignored (generation)
                connection.channel.close(promise: nil)
            }
        }
    }

    // MARK: - Connecting

    private func connect(serverIndex: Int) {
        let servers = self.configuration.servers
        let index = servers.isEmpty ? 0 : serverIndex % servers.count
        guard index < servers.count else {
            self.logger.error("Riemann client has no servers configured")
            return
        }
        let server = servers[index]
        self.generation += 1
        let generation = self.generation
        self.state = .connecting(serverIndex: index, generation: generation)
        self.logger.debug("Connecting to Riemann", metadata: ["server": "\(server)"])

        let loopBound = self.loopBound
        let maximumReplyFrameLength = self.configuration.maximumReplyFrameLength
        ClientBootstrap(group: self.eventLoop)
            .connectTimeout(self.configuration.connectTimeout)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // A TLS handler (NIOSSLClientHandler) would be added here, before the decoder.
                    let handlers: [any ChannelHandler] = [
                        ByteToMessageHandler(RiemannFrameDecoder(maximumFrameLength: maximumReplyFrameLength)),
                        RiemannClientHandler(controller: loopBound.value, generation: generation),
                    ]
                    try channel.pipeline.syncOperations.addHandlers(handlers)
                }
            }
            .connect(host: server.host, port: server.port)
            .whenComplete { result in
                loopBound.value.connectCompleted(result, generation: generation)
            }
    }

    private func connectCompleted(_ result: Result<any Channel, any Error>, generation: Int) {
        // The index in the state, not the one the connect started with: a reconfiguration may
        // have moved the same server to another position in the list.
        guard case .connecting(let serverIndex, let current) = self.state, current == generation else {
            // Shut down (or superseded) while connecting.
            if case .success(let channel) = result {
                channel.close(promise: nil)
            }
            return
        }
        let server = self.configuration.servers[serverIndex]
        switch result {
        case .success(let channel) where channel.isActive:
            self.state = .connected(Connection(channel: channel, serverIndex: serverIndex, generation: generation))
            self.counters.connectionsEstablished.wrappingAdd(1, ordering: .relaxed)
            self.counters.connectedServerIndex.store(serverIndex, ordering: .relaxed)
            self.logger.info("Connected to Riemann", metadata: ["server": "\(server)"])
            // Whatever waited while disconnected has waited long enough: send partial batches too.
            self.flush(forcePartialBatch: true)
            self.finishShutdownIfDrained()
        case .success(let channel):
            channel.close(promise: nil)
            self.connectFailed(serverIndex: serverIndex, error: ChannelError.alreadyClosed)
        case .failure(let error):
            self.connectFailed(serverIndex: serverIndex, error: error)
        }
    }

    private func connectFailed(serverIndex: Int, error: any Error) {
        self.counters.connectAttemptsFailed.wrappingAdd(1, ordering: .relaxed)
        let next = (serverIndex + 1) % max(self.configuration.servers.count, 1)
        let delay = self.backoff.nextDelay()
        let metadata: Logger.Metadata = [
            "server": "\(self.configuration.servers[serverIndex])", "error": "\(error)",
            "next-server": "\(self.configuration.servers[next])",
            "retry-in-ms": "\(delay.nanoseconds / 1_000_000)",
        ]
        // A server that stays down would log on every retry; warn once per interval, debug otherwise.
        if let suppressed = self.connectFailureLog.permit(at: .now(), interval: self.configuration.rejectionLogInterval) {
            var metadata = metadata
            metadata["suppressed-since-last-warning"] = "\(suppressed)"
            self.logger.warning("Riemann connect failed", metadata: metadata)
        } else {
            self.logger.debug("Riemann connect failed", metadata: metadata)
        }
        self.scheduleReconnect(serverIndex: next, after: delay)
    }

    private func scheduleReconnect(serverIndex: Int, after delay: TimeAmount) {
        let timer = self.eventLoop.assumeIsolated().scheduleTask(in: delay) { [loopBound] in
            let controller = loopBound.value
            guard case .waitingToReconnect(let index, _) = controller.state else { return }
            controller.connect(serverIndex: index)
        }
        self.state = .waitingToReconnect(serverIndex: serverIndex, timer: timer)
    }

    /// Forgets the current connection: no server connected, timers stopped, its unacknowledged
    /// messages queued again (returns how many events).
    private func leaveConnection() -> Int {
        self.counters.connectedServerIndex.store(-1, ordering: .relaxed)
        self.counters.wakeupArmed.store(false, ordering: .releasing)
        self.acknowledgementTimer?.cancel()
        self.acknowledgementTimer = nil
        self.batchTimer?.cancel()
        self.batchTimer = nil
        return self.requeueInFlight()
    }

    // MARK: - Connection events (from RiemannClientHandler)

    /// The connection of `generation` is gone: queue its unacknowledged messages again, reconnect.
    func connectionClosed(generation: Int, error: (any Error)?) {
        guard case .connected(let connection) = self.state, connection.generation == generation else { return }
        self.counters.connectionsLost.wrappingAdd(1, ordering: .relaxed)
        let requeued = self.leaveConnection()

        // Retry the same server first; a failed connect moves on to the next one.
        let delay = self.backoff.nextDelay()
        self.logger.warning(
            "Riemann connection lost",
            metadata: [
                "server": "\(self.configuration.servers[connection.serverIndex])",
                "error": "\(error.map { "\($0)" } ?? "closed")", "requeued-events": "\(requeued)",
                "retry-in-ms": "\(delay.nanoseconds / 1_000_000)",
            ])
        self.scheduleReconnect(serverIndex: connection.serverIndex, after: delay)
    }

    /// Puts every unacknowledged event back at the front of the queue (oldest first), dropping
    /// those that used up their delivery attempts. Returns how many were queued again.
    private func requeueInFlight() -> Int {
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
        self.publishInFlight()
        self.queue.recordDropped(exhausted, reason: .deliveryAttemptsExhausted)
        self.queue.putBack(retry)
        return retry.count
    }

    /// A reply arrived on the connection of `generation`; it answers the oldest in-flight message.
    func received(_ reply: RiemannMessage, generation: Int) {
        guard case .connected(let connection) = self.state, connection.generation == generation else { return }
        guard !self.inFlight.isEmpty else {
            self.logger.warning("Riemann sent a reply nobody asked for; closing the connection")
            connection.channel.close(promise: nil)
            return
        }
        let message = self.inFlight.removeFirst()
        self.counters.acknowledgementLatency.record(.now() - message.writtenAt)
        self.publishInFlight()
        self.backoff.reset()  // any reply proves the connection works, ok=false included
        if reply.ok == true {
            self.queue.recordAcknowledged(message.entries.count)
        } else {
            self.counters.messagesRejected.wrappingAdd(1, ordering: .relaxed)
            self.queue.recordDropped(message.entries.count, reason: .rejectedByServer)
            self.logRejection(reply.error, events: message.entries.count)
        }
        self.restartAcknowledgementTimer()
        self.flush(forcePartialBatch: self.drain != nil)
        self.finishShutdownIfDrained()
    }

    private func logRejection(_ error: String?, events: Int) {
        let now = NIODeadline.now()
        guard let suppressed = self.rejectionLog.permit(at: now, interval: self.configuration.rejectionLogInterval)
        else { return }
        self.logger.warning(
            "Riemann rejected a message (ok=false); its events are dropped",
            metadata: [
                "error": "\(error ?? "")", "events": "\(events)", "suppressed-since-last-warning": "\(suppressed)",
            ])
    }

    // MARK: - Sending

    /// Called on the loop after a producer claimed the wake-up.
    func wake() {
        self.flush(forcePartialBatch: self.drain != nil)
    }

    private var canSend: Bool {
        guard case .connected = self.state else { return false }
        return self.inFlight.count < self.configuration.maximumMessagesInFlight
    }

    /// Writes full batches while the in-flight window allows. When forced (batch timer fired, just
    /// connected, draining) it also writes the last partial batch; otherwise a partial batch arms
    /// the batch timer. Then re-arms the producers' wake-up if the window still has room.
    private func flush(forcePartialBatch: Bool) {
        var forcePartial = forcePartialBatch
        while true {
            self.counters.wakeupArmed.store(false, ordering: .releasing)
            while self.canSend {
                let depth = self.queue.depth
                if depth == 0 {
                    break
                }
                if depth < self.configuration.maximumBatchEvents && !forcePartial {
                    self.scheduleBatchTimerIfNeeded()
                    break
                }
                self.writeBatch()
            }
            guard self.canSend else { return }  // an ack or a connect calls flush again
            forcePartial = self.drain != nil
            self.counters.wakeupArmed.store(true, ordering: .releasing)
            // A producer may have pushed after we read the depth but before we armed the flag.
            let depth = self.queue.depth
            let missed =
                depth >= self.configuration.maximumBatchEvents || (depth > 0 && self.batchTimer == nil)
            guard missed, self.counters.claimWakeup() else { return }
        }
    }

    private func scheduleBatchTimerIfNeeded() {
        guard self.batchTimer == nil else { return }
        self.batchTimer = self.eventLoop.assumeIsolated().scheduleTask(in: self.configuration.maximumBatchDelay) {
            [loopBound] in
            let controller = loopBound.value
            controller.batchTimer = nil
            controller.flush(forcePartialBatch: true)
        }
    }

    private func writeBatch() {
        guard case .connected(let connection) = self.state else { return }
        var entries = self.queue.take(upTo: self.configuration.maximumBatchEvents)
        guard !entries.isEmpty else { return }
        for index in entries.indices {
            entries[index].deliveryAttempts += 1
        }
        var frame = connection.channel.allocator.buffer(capacity: 0)
        RiemannMessageCodec.encodeFrame(events: entries.lazy.map(\.event), into: &frame)

        self.inFlight.append(InFlightMessage(entries: entries, writtenAt: .now()))
        self.publishInFlight()
        self.queue.recordSent(entries.count)
        if self.inFlight.count == 1 {
            self.restartAcknowledgementTimer()
        }
        let channel = connection.channel
        channel.writeAndFlush(frame).whenFailure { _ in
            channel.close(promise: nil)  // connectionClosed requeues the message
        }
    }

    // MARK: - Acknowledgement timeout

    /// Arms the timer for the oldest in-flight message (or disarms it when nothing is in flight).
    private func restartAcknowledgementTimer() {
        self.acknowledgementTimer?.cancel()
        self.acknowledgementTimer = nil
        guard let oldest = self.inFlight.first, case .connected(let connection) = self.state else { return }
        let generation = connection.generation
        let deadline = oldest.writtenAt + self.configuration.acknowledgementTimeout
        self.acknowledgementTimer = self.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            [loopBound] in
            loopBound.value.acknowledgementTimedOut(generation: generation)
        }
    }

    private func acknowledgementTimedOut(generation: Int) {
        guard case .connected(let connection) = self.state, connection.generation == generation else { return }
        self.acknowledgementTimer = nil
        self.counters.acknowledgementTimeouts.wrappingAdd(1, ordering: .relaxed)
        self.logger.warning(
            "Riemann acknowledgement timed out; closing the connection and queueing unacknowledged events again",
            metadata: [
                "server": "\(self.configuration.servers[connection.serverIndex])",
                "messages-in-flight": "\(self.inFlight.count)",
            ])
        connection.channel.close(promise: nil)
    }

    private func publishInFlight() {
        self.counters.messagesInFlight.store(self.inFlight.count, ordering: .relaxed)
        self.counters.eventsInFlight.store(self.inFlight.reduce(0) { $0 + $1.entries.count }, ordering: .relaxed)
    }
}

@available(*, unavailable)
extension RiemannConnectionController: Sendable {}

/// Lets one log line through per interval and counts what it held back.
struct RateLimit {
    private var lastPermitted: NIODeadline?
    private var suppressed = 0

    /// The number of suppressed calls since the last permitted one, or `nil` to stay quiet.
    mutating func permit(at now: NIODeadline, interval: TimeAmount) -> Int? {
        if let last = self.lastPermitted, now < last + interval {
            self.suppressed += 1
            return nil
        }
        defer { self.suppressed = 0 }
        self.lastPermitted = now
        return self.suppressed
    }
}

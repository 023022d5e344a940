import LogThrottling
import Logging
import NIOCore

/// Performs what ``RiemannConnectionStateMachine`` decides, on one event loop: opens connections
/// through a ``RiemannConnector``, encodes and writes batches, arms timers, logs, and publishes
/// counters for other threads. It holds no delivery logic of its own.
///
/// Every method must be called on the loop. Producers never touch it: they push into the
/// ``RiemannEventQueue`` and, at most once per wake-up, schedule ``wake()`` on the loop (the
/// wake-up flag in ``RiemannClientCounters`` is armed here whenever the machine can send).
final class RiemannConnectionController {
    typealias Machine = RiemannConnectionStateMachine

    let eventLoop: any EventLoop
    let queue: RiemannEventQueue
    let counters: RiemannClientCounters
    var logger: Logger
    private let connector: RiemannConnector
    let wireFormat: EventWireFormat
    private var machine: Machine
    /// Packs the batches; its scratch memory is reused from batch to batch.
    private var frameEncoder = RiemannFrameEncoder()
    private var channels: [Machine.ConnectionID: any Channel] = [:]
    private var timers: [Machine.Timer: Scheduled<Void>] = [:]
    private var shutdownPromises: [EventLoopPromise<Void>] = []
    private(set) var logThrottle: LogThrottle<LogKey>
    /// Inputs waiting while the actions of an earlier one are performed: an action's outcome (a
    /// write failing at once, say) is fed to the machine only after the rest of its batch.
    private var pendingInputs: [(inout Machine, NIODeadline) -> [Machine.Action]] = []
    private var isFeeding = false

    init(
        eventLoop: any EventLoop,
        configuration: RiemannClientConfiguration,
        queue: RiemannEventQueue,
        counters: RiemannClientCounters,
        logger: Logger,
        connector: RiemannConnector,
        wireFormat: EventWireFormat = .riemann,
        randomNumberGenerator: any RandomNumberGenerator = SystemRandomNumberGenerator()
    ) {
        self.wireFormat = wireFormat
        self.eventLoop = eventLoop
        self.queue = queue
        self.counters = counters
        self.logger = logger
        self.connector = connector
        self.machine = Machine(configuration: configuration, queue: queue, randomNumberGenerator: randomNumberGenerator)
        self.logThrottle = LogThrottle(interval: TimeAmount(configuration.rejectionLogInterval))
    }

    private var loopBound: NIOLoopBound<RiemannConnectionController> {
        NIOLoopBound(self, eventLoop: self.eventLoop)
    }

    // MARK: - Inputs

    func start() {
        self.feed { $0.start(now: $1) }
    }

    /// Called on the loop after a producer claimed the wake-up.
    func wake() {
        self.feed { $0.eventsQueued(now: $1) }
    }

    /// Takes new settings (see ``RiemannClient/reconfigure(_:)``).
    func reconfigure(_ configuration: RiemannClientConfiguration) {
        if self.logThrottle.interval != TimeAmount(configuration.rejectionLogInterval) {
            self.logThrottle = LogThrottle(interval: TimeAmount(configuration.rejectionLogInterval))
        }
        self.feed { $0.reconfigure(configuration, now: $1) }
    }

    /// Flushes until the queue and the in-flight window are empty or `deadline` passes, then
    /// closes; `promise` succeeds then.
    func shutdown(deadline: NIODeadline, promise: EventLoopPromise<Void>) {
        self.shutdownPromises.append(promise)
        self.feed { $0.shutdown(deadline: deadline, now: $1) }
    }

    /// A reply arrived on `connection` (from ``RiemannClientHandler``).
    func received(_ reply: RiemannMessage, connection: Machine.ConnectionID) {
        self.feed { $0.replyReceived(reply, connection: connection, now: $1) }
    }

    /// `connection` is gone (from ``RiemannClientHandler``).
    func connectionClosed(connection: Machine.ConnectionID, error: (any Error)?) {
        self.channels[connection] = nil
        self.feed { $0.connectionClosed(connection: connection, error: error, now: $1) }
    }

    /// Runs `input` on the machine and performs its actions; inputs arriving meanwhile wait their
    /// turn. Then publishes the counters and arms the producers' wake-up while the machine can
    /// send — and, if events were pushed while it was not armed, feeds them in itself.
    private func feed(_ input: @escaping (inout Machine, NIODeadline) -> [Machine.Action]) {
        self.pendingInputs.append(input)
        guard !self.isFeeding else { return }
        self.isFeeding = true
        defer { self.isFeeding = false }
        while true {
            while !self.pendingInputs.isEmpty {
                let next = self.pendingInputs.removeFirst()
                for action in next(&self.machine, self.eventLoop.now) {
                    self.perform(action)
                }
            }
            self.publishCounters()
            guard self.machine.canSend else {
                self.counters.wakeupArmed.store(false, ordering: .releasing)
                return
            }
            self.counters.wakeupArmed.store(true, ordering: .releasing)
            // A producer may have pushed after the machine read the queue but before the flag was armed.
            guard self.machine.wantsEvents(self.queue.occupancy), self.counters.claimWakeup() else { return }
            self.pendingInputs.append { $0.eventsQueued(now: $1) }
        }
    }

    // MARK: - Actions

    private func perform(_ action: Machine.Action) {
        switch action {
        case .connect(let server, let connection):
            self.connect(to: server, connection: connection)
        case .write(let entries, let connection):
            self.write(entries, on: connection)
        case .close(let connection):
            self.channels.removeValue(forKey: connection)?.close(promise: nil)
        case .schedule(let timer, let deadline):
            self.timers[timer]?.cancel()
            self.timers[timer] = self.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [loopBound] in
                let controller = loopBound.value
                controller.timers[timer] = nil
                controller.feed { $0.timerFired(timer, now: $1) }
            }
        case .cancel(let timer):
            self.timers.removeValue(forKey: timer)?.cancel()
        case .log(let event):
            self.log(event)
        case .recordAcknowledgementLatency(let latency):
            self.counters.acknowledgementLatency.record(latency)
        case .completeShutdown:
            let promises = self.shutdownPromises
            self.shutdownPromises.removeAll()
            for promise in promises {
                promise.succeed()
            }
        }
    }

    private func connect(to server: RiemannServerAddress, connection: Machine.ConnectionID) {
        let loopBound = self.loopBound
        let maximumReplyFrameLength = self.machine.configuration.maximumReplyFrameLength
        let wireFormat = self.wireFormat
        self.connector.connect(
            to: server,
            connectTimeout: TimeAmount(self.machine.configuration.connectTimeout),
            on: self.eventLoop
        ) { channel in
            channel.eventLoop.makeCompletedFuture {
                // A TLS handler (NIOSSLClientHandler) would be added here, before the decoder.
                let replies: any ChannelHandler =
                    switch wireFormat {
                    case .riemann:
                        ByteToMessageHandler(RiemannFrameDecoder(maximumFrameLength: maximumReplyFrameLength))
                    case .graphitePlaintext, .graphitePickle: DiscardingInboundHandler()  // carbon sends nothing
                    }
                let handlers: [any ChannelHandler] = [
                    replies, RiemannClientHandler(controller: loopBound.value, connection: connection),
                ]
                try channel.pipeline.syncOperations.addHandlers(handlers)
            }
        }.whenComplete { result in
            let controller = loopBound.value
            switch result {
            case .success(let channel) where channel.isActive:
                controller.channels[connection] = channel
                controller.feed { $0.connectSucceeded(connection: connection, now: $1) }
            case .success(let channel):
                channel.close(promise: nil)
                controller.feed { $0.connectFailed(connection: connection, error: ChannelError.alreadyClosed, now: $1) }
            case .failure(let error):
                controller.feed { $0.connectFailed(connection: connection, error: error, now: $1) }
            }
        }
    }

    private func write(_ entries: [RiemannEventQueue.Entry], on connection: Machine.ConnectionID) {
        guard let channel = self.channels[connection] else {
            self.feed { $0.writeFailed(connection: connection, error: ChannelError.ioOnClosedChannel, now: $1) }
            return
        }
        var frame = channel.allocator.buffer(capacity: 0)
        let loopBound = self.loopBound
        switch self.wireFormat {
        case .riemann:
            do {
                // Cannot fail for size: the machine cuts batches to maximumBatchBytes.
                try self.frameEncoder.encodeFrame(entries, into: &frame)
            } catch {
                self.feed { $0.writeFailed(connection: connection, error: error, now: $1) }
                return
            }
            channel.writeAndFlush(frame).whenFailure { error in
                loopBound.value.feed { $0.writeFailed(connection: connection, error: error, now: $1) }
            }
        case .graphitePlaintext, .graphitePickle:
            // No replies: a completed write is the acknowledgement (see EventWireFormat).
            if self.wireFormat == .graphitePickle {
                GraphitePickle.encode(entries.lazy.map(\.event), into: &frame)
            } else {
                GraphitePlaintext.encode(entries.lazy.map(\.event), into: &frame)
            }
            channel.writeAndFlush(frame).whenComplete { result in
                switch result {
                case .success:
                    loopBound.value.feed { $0.replyReceived(RiemannMessage(ok: true), connection: connection, now: $1) }
                case .failure(let error):
                    loopBound.value.feed { $0.writeFailed(connection: connection, error: error, now: $1) }
                }
            }
        }
    }

    private func publishCounters() {
        let machine = self.machine
        let counters = machine.counters
        self.counters.connectedServerIndex.store(machine.connectedServerIndex ?? -1, ordering: .relaxed)
        self.counters.messagesInFlight.store(machine.inFlight.count, ordering: .relaxed)
        self.counters.eventsInFlight.store(machine.eventsInFlight, ordering: .relaxed)
        self.counters.connectionsEstablished.store(counters.connectionsEstablished, ordering: .relaxed)
        self.counters.connectAttemptsFailed.store(counters.connectAttemptsFailed, ordering: .relaxed)
        self.counters.connectionsLost.store(counters.connectionsLost, ordering: .relaxed)
        self.counters.acknowledgementTimeouts.store(counters.acknowledgementTimeouts, ordering: .relaxed)
        self.counters.messagesRejected.store(counters.messagesRejected, ordering: .relaxed)
    }
}

@available(*, unavailable)
extension RiemannConnectionController: Sendable {}

/// Reads and forgets whatever a peer that should send nothing sends (carbon), so that it neither
/// reaches ``RiemannClientHandler`` nor piles up.
final class DiscardingInboundHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}

@available(*, unavailable)
extension DiscardingInboundHandler: Sendable {}

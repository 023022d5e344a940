import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Sends Riemann events over TCP, batched, with acks, reconnects and failover.
///
/// Producers call ``enqueue(_:)-(RiemannEvent)`` from any thread: it pushes into a bounded
/// ``RiemannEventQueue`` and returns at once — it never waits for the network, a lock held
/// across I/O, or the event loop. Everything else runs on one event loop:
///
/// - batches of up to ``RiemannClientConfiguration/maximumBatchEvents`` events and
///   ``RiemannClientConfiguration/maximumBatchBytes`` bytes, or fewer after
///   ``RiemannClientConfiguration/maximumBatchDelay``; an event that alone exceeds a message's
///   bytes is dropped and counted (``RiemannDropReason/eventTooLarge``);
/// - up to ``RiemannClientConfiguration/maximumMessagesInFlight`` messages awaiting acks, which
///   Riemann sends in request order; `ok=false` drops the message's events (counted, logged);
/// - an ack timeout, or any connection loss, puts every unacknowledged event back at the front
///   of the queue and reconnects with backoff: delivery is at least once (duplicates possible);
/// - connect failures move on to the next configured server.
///
/// The decisions are ``RiemannConnectionStateMachine``'s; ``RiemannConnectionController``
/// performs them on the loop.
///
/// Call ``shutdown(deadline:)`` before dropping the last reference: until then the event loop
/// keeps the client's connection and timers alive.
public final class RiemannClient: Sendable {
    /// The settings in force: those the client was created with, or the last ``reconfigure(_:)``.
    public var configuration: RiemannClientConfiguration { self.currentConfiguration.withLock { $0 } }
    private let currentConfiguration: Mutex<RiemannClientConfiguration>
    /// ``RiemannClientConfiguration/maximumBatchEvents`` and ``RiemannClientConfiguration/maximumBatchBodyBytes``,
    /// read by every ``enqueue(_:)-(Sequence)`` to decide whether a full batch is waiting.
    private let maximumBatchEvents: Atomic<Int>
    private let maximumBatchBodyBytes: Atomic<Int>
    /// The event loop all network work runs on.
    public let eventLoop: any EventLoop
    private let queue: RiemannEventQueue
    private let counters: RiemannClientCounters
    private let controller: NIOLoopBoundBox<RiemannConnectionController>

    /// Creates a client; call ``start()`` to connect. Events enqueued before that wait in the queue.
    /// - Parameters:
    ///   - configuration: servers, batching, queue and timeout settings. Counts below their
    ///     minimum are raised to it; with no server at all the client never connects (events
    ///     queue and overflow, counted).
    ///   - eventLoopGroup: the client uses one event loop of it.
    ///   - logger: receives connection and rejection messages.
    ///   - wireFormat: Riemann's protocol, or Graphite's plaintext lines (the same delivery rules;
    ///     see ``EventWireFormat`` for what "acknowledged" means there).
    public convenience init(
        configuration: RiemannClientConfiguration,
        wireFormat: EventWireFormat = .riemann,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "riemann-client")
    ) {
        self.init(
            configuration: configuration,
            eventLoopGroup: eventLoopGroup,
            logger: logger,
            connector: .tcp,
            wireFormat: wireFormat
        )
    }

    /// A client whose connections `connector` opens, with the backoff's jitter from
    /// `randomNumberGenerator` (tests: in-memory channels on virtual time, seeded jitter).
    init(
        configuration: RiemannClientConfiguration,
        eventLoopGroup: any EventLoopGroup,
        logger: Logger,
        connector: RiemannConnector,
        wireFormat: EventWireFormat = .riemann,
        randomNumberGenerator: any RandomNumberGenerator & Sendable = SystemRandomNumberGenerator()
    ) {
        let configuration = configuration.normalized
        self.currentConfiguration = Mutex(configuration)
        self.maximumBatchEvents = Atomic(configuration.maximumBatchEvents)
        self.maximumBatchBodyBytes = Atomic(configuration.maximumBatchBodyBytes)
        self.eventLoop = eventLoopGroup.next()
        self.queue = RiemannEventQueue(limits: configuration.queueLimits, overflowPolicy: configuration.overflowPolicy)
        self.counters = RiemannClientCounters()
        // The controller is only ever touched on its loop; NIOLoopBoundBox checks that.
        self.controller = NIOLoopBoundBox.makeBoxSendingValue(
            RiemannConnectionController(
                eventLoop: self.eventLoop,
                configuration: configuration,
                queue: self.queue,
                counters: self.counters,
                logger: logger,
                connector: connector,
                wireFormat: wireFormat,
                randomNumberGenerator: randomNumberGenerator
            ),
            eventLoop: self.eventLoop
        )
    }

    /// Starts connecting to the first server. Idempotent.
    public func start() {
        self.eventLoop.execute { [controller] in
            controller.value.start()
        }
    }

    /// Queues events for delivery. Never blocks: when the queue is full the overflow policy
    /// decides what is dropped (counted in ``statistics``); after shutdown events are dropped
    /// as ``RiemannDropReason/shutdown``.
    public func enqueue<Events: Sequence<RiemannEvent>>(_ events: Events) {
        self.wakeIfDue(self.queue.push(events))
    }

    /// Queues `events`, moved into the queue (see ``RiemannEventQueue/push(_:)-([RiemannEvent])``);
    /// otherwise as ``enqueue(_:)-(Sequence)``. The sink hands over an array once per batch of
    /// values: not generic, so that no call from another module runs through witness tables.
    public func enqueue(_ events: consuming [RiemannEvent]) {
        self.wakeIfDue(self.queue.push(events))
    }

    /// Wakes the connection when a push makes a batch worth sending (the first event, or a full
    /// batch). After shutdown the queue is closed: the push counted the events as dropped (.shutdown).
    private func wakeIfDue(_ result: RiemannEventQueue.PushResult) {
        guard result.accepted > 0,
            result.wasEmpty || result.depth >= self.maximumBatchEvents.load(ordering: .relaxed)
                || result.bytes >= self.maximumBatchBodyBytes.load(ordering: .relaxed)
        else { return }
        if self.counters.claimWakeup() {
            self.eventLoop.execute { [controller] in
                controller.value.wake()
            }
        }
    }

    /// Queues one event. See ``enqueue(_:)-(Sequence)``.
    public func enqueue(_ event: RiemannEvent) {
        self.enqueue(CollectionOfOne(event))
    }

    /// Applies new settings without losing queued or unacknowledged events: the queue's bounds
    /// and overflow policy change from the next push on (nothing queued is dropped by the change,
    /// except events larger than a message may now be, when they are taken);
    /// batching, in-flight window, timeouts, backoff and delivery attempts apply from the next
    /// batch, ack or connect. When the server currently connected (or being connected to) is no
    /// longer listed, the client moves to the first listed server at once: unacknowledged events
    /// go back to the front of the queue, as after a connection loss. Returns once applied.
    public func reconfigure(_ configuration: RiemannClientConfiguration) async {
        var configuration = configuration.normalized
        if configuration.servers.isEmpty {
            configuration.servers = self.configuration.servers  // never strand the client
        }
        self.queue.reconfigure(limits: configuration.queueLimits, overflowPolicy: configuration.overflowPolicy)
        let promise = self.eventLoop.makePromise(of: Void.self)
        self.eventLoop.execute { [self, configuration] in
            self.currentConfiguration.withLock { $0 = configuration }
            self.maximumBatchEvents.store(configuration.maximumBatchEvents, ordering: .relaxed)
            self.maximumBatchBodyBytes.store(configuration.maximumBatchBodyBytes, ordering: .relaxed)
            self.controller.value.reconfigure(configuration)
            promise.succeed()
        }
        try? await promise.futureResult.get()
    }

    /// Sends what is queued until everything is acknowledged or `deadline` passes, then closes
    /// the connection. Events still unacknowledged then are dropped and counted as
    /// ``RiemannDropReason/shutdown``. Safe to call more than once.
    public func shutdown(deadline: NIODeadline) async {
        try? await self.beginShutdown(deadline: deadline).get()
    }

    /// ``shutdown(deadline:)`` as a future: the shutdown is handed to the loop before this returns.
    func beginShutdown(deadline: NIODeadline) -> EventLoopFuture<Void> {
        let promise = self.eventLoop.makePromise(of: Void.self)
        self.eventLoop.execute { [controller] in
            controller.value.shutdown(deadline: deadline, promise: promise)
        }
        return promise.futureResult
    }

    /// A snapshot of the queue and connection counters, readable from any thread.
    public var statistics: RiemannClientStatistics {
        let connectedIndex = self.counters.connectedServerIndex.load(ordering: .relaxed)
        let servers = self.configuration.servers
        return RiemannClientStatistics(
            queue: self.queue.statistics,
            messagesInFlight: self.counters.messagesInFlight.load(ordering: .relaxed),
            eventsInFlight: self.counters.eventsInFlight.load(ordering: .relaxed),
            connectedServer: servers.indices.contains(connectedIndex) ? servers[connectedIndex] : nil,
            connectionsEstablished: self.counters.connectionsEstablished.load(ordering: .relaxed),
            connectAttemptsFailed: self.counters.connectAttemptsFailed.load(ordering: .relaxed),
            connectionsLost: self.counters.connectionsLost.load(ordering: .relaxed),
            acknowledgementTimeouts: self.counters.acknowledgementTimeouts.load(ordering: .relaxed),
            messagesRejected: self.counters.messagesRejected.load(ordering: .relaxed),
            acknowledgementLatency: self.counters.acknowledgementLatency.snapshot
        )
    }
}

import Dispatch
import NIOCore
import NIOEmbedded
import Synchronization
import TestSupport
import Testing

@testable import Riemann

/// The whole client — queue, state machine, controller, codec, frame decoder, handler — on
/// in-memory channels and a virtual clock: timing is asserted exactly, and nothing waits for time
/// to pass. (The same behaviours over real sockets are in ``RiemannClientTests``.)
@Suite struct RiemannClientVirtualTimeTests {
    static let server = RiemannServerAddress(host: "riemann-a", port: 5555)
    static let backup = RiemannServerAddress(host: "riemann-b", port: 5556)

    static func configuration(
        _ servers: [RiemannServerAddress] = [server],
        batch: Int = 50,
        delay: Duration = .milliseconds(10)
    ) -> RiemannClientConfiguration {
        .forTests(servers, batch: batch, delay: delay)
    }

    /// Batches of 10, and an ack timeout (60 s) that never comes within a test: only replies,
    /// deadlines or the window decide what happens.
    static func unacknowledgedConfiguration() -> RiemannClientConfiguration {
        var configuration = Self.configuration(batch: 10)
        configuration.acknowledgementTimeout = .seconds(60)
        return configuration
    }

    static func events(_ range: Range<Int>) -> [RiemannEvent] { RiemannClientTests.events(range) }
    static func services(_ events: [RiemannEvent]) -> [String] { RiemannClientTests.services(events) }

    /// Whether a future has completed, observed on its loop.
    final class Completion: Sendable {
        private let done = Atomic(false)
        init(_ future: EventLoopFuture<Void>) {
            future.whenComplete { [self] _ in self.done.store(true, ordering: .relaxed) }
        }
        var isDone: Bool { self.done.load(ordering: .relaxed) }
    }

    /// Acknowledges every message written on `channel` until `completion` is done (a flush at
    /// shutdown); returns the events received.
    static func acknowledgeUntilDone(
        _ channel: NIOAsyncTestingChannel,
        _ network: VirtualRiemannNetwork,
        _ completion: Completion
    ) async throws -> [RiemannEvent] {
        var received: [RiemannEvent] = []
        for _ in 0..<10_000 where !completion.isDone {
            for message in try await channel.writtenMessages() {
                received += message.events
                try await channel.reply()
            }
            await network.settle()
        }
        #expect(completion.isDone)
        return received
    }

    @Test func aPartialBatchIsSentExactlyWhenTheBatchDelayHasPassed() async throws {
        let network = VirtualRiemannNetwork()
        let client = network.client(Self.configuration(batch: 500, delay: .milliseconds(100)))
        client.start()
        await network.settle()
        let channel = try network.lastConnection()
        client.enqueue(Self.events(0..<3))
        await network.settle()
        await network.advance(by: .milliseconds(99))
        #expect(try await channel.writtenMessages().isEmpty, "not before the batch delay")
        await network.advance(by: .milliseconds(1))
        // ...and then without waiting for a full batch: nothing else would ever send these three.
        #expect(
            try await channel.writtenMessages().map { Self.services($0.events) } == [Self.services(Self.events(0..<3))]
        )
    }

    @Test(arguments: [RiemannOverflowPolicy.dropOldest, .dropNewest])
    func aFullQueueNeverHoldsUpTheProducer(policy: RiemannOverflowPolicy) async throws {
        let network = VirtualRiemannNetwork()
        var configuration = Self.configuration(batch: 100)
        configuration.queueCapacity = 1_000
        configuration.overflowPolicy = policy
        configuration.maximumMessagesInFlight = 2
        configuration.acknowledgementTimeout = .seconds(60)
        let client = network.client(configuration)
        client.start()
        await network.settle()
        client.enqueue(Self.events(0..<200))
        await network.settle()
        let channel = try network.lastConnection()
        let inFlight = try await channel.writtenMessages()
        #expect(inFlight.map(\.events.count) == [100, 100])

        // The event loop is stopped while the producer enqueues 19 800 more events, one by one, and
        // no ack ever comes: an enqueue that waited for room, for an ack, or for the loop itself
        // would never return. They all return (this replaces a wall-clock p99 bound).
        let loopRunsAgain = DispatchSemaphore(value: 0)
        network.loop.execute { loopRunsAgain.wait() }
        for event in Self.events(200..<20_000) {
            client.enqueue(event)
        }
        // Exactly 1 000 queued + 200 in flight fit; the rest was dropped and counted.
        let stats = client.statistics
        #expect(stats.queue.depth == 1_000)
        #expect(stats.eventsInFlight == 200)
        #expect(stats.queue.dropped[.queueFull, default: 0] == 18_800)
        loopRunsAgain.signal()
        await network.settle()

        for _ in inFlight { try await channel.reply() }
        let shutdown = Completion(client.beginShutdown(deadline: network.loop.now + .seconds(20)))
        let received = try await Self.acknowledgeUntilDone(channel, network, shutdown)
        let services = Set(Self.services(inFlight.flatMap(\.events) + received))
        let newestDelivered = services.contains("e19999")
        let firstThousandDelivered = (0..<1_000).allSatisfy { services.contains("e\($0)") }
        switch policy {
        case .dropOldest:
            #expect(newestDelivered)  // the newest survive
        case .dropNewest:
            #expect(!newestDelivered)
            #expect(firstThousandDelivered)  // the oldest are never refused
        }
        // Conservation: after the flush every event was either acknowledged or dropped for a reason.
        let final = client.statistics.queue
        #expect(final.acknowledged + final.droppedTotal == 20_000)
        #expect(final.dropped[.shutdown, default: 0] == 0)
        #expect(final.acknowledged == UInt64(services.count))
    }

    @Test func theInFlightWindowIsRespected() async throws {
        let network = VirtualRiemannNetwork()
        let client = await network.startedClient(Self.unacknowledgedConfiguration(), enqueueing: Self.events(0..<1_000))
        let channel = try network.lastConnection()
        #expect(try await channel.writtenMessages().map(\.events.count) == Array(repeating: 10, count: 8))
        await network.settle()
        #expect(try await channel.writtenMessages().isEmpty, "nothing more without an ack")
        #expect(client.statistics.messagesInFlight == 8)
        #expect(client.statistics.queue.depth == 920)
        try await channel.reply()
        #expect(
            try await channel.writtenMessages().map { Self.services($0.events) } == [
                Self.services(Self.events(80..<90))
            ]
        )
    }

    @Test func repliesAreMatchedToMessagesInWriteOrder() async throws {
        let network = VirtualRiemannNetwork()
        let client = network.client(Self.configuration(batch: 10))
        client.enqueue(Self.events(0..<35))  // queued before connecting: 4 messages go out at once
        client.start()
        await network.settle()
        let channel = try network.lastConnection()
        #expect(try await channel.writtenMessages().map(\.events.count) == [10, 10, 10, 5])
        for reply in [RiemannMessage.ack, .ack, .ack, RiemannMessage(ok: false, error: "last one")] {
            try await channel.reply(reply)
        }
        let stats = client.statistics
        #expect(stats.messagesInFlight == 0)
        #expect(stats.queue.acknowledged == 30)
        #expect(stats.queue.dropped[.rejectedByServer] == 5)  // the 4th message, not one of the first three
    }

    @Test func rejectedMessagesAreCountedAndDropped() async throws {
        let network = VirtualRiemannNetwork()
        let client = network.client(Self.configuration(batch: 10))
        client.start()
        client.enqueue(Self.events(0..<30))
        await network.settle()
        let channel = try network.lastConnection()
        for _ in try await channel.writtenMessages() {
            try await channel.reply(RiemannMessage(ok: false, error: "stream exploded"))
        }
        var stats = client.statistics
        #expect(stats.queue.dropped[.rejectedByServer] == 30)
        #expect(stats.messagesRejected == 3)
        #expect(stats.queue.acknowledged == 0)
        #expect(stats.connectionsLost == 0)  // ok=false is an answer, not a broken connection
        client.enqueue(Self.events(30..<35))
        await network.advance(by: .milliseconds(10))
        #expect(try await channel.writtenMessages().map(\.events.count) == [5])
        try await channel.reply()
        stats = client.statistics
        #expect(stats.queue.acknowledged == 5)
    }

    @Test func anAcknowledgementTimeoutClosesTheConnectionExactlyOnTimeAndRedelivers() async throws {
        let network = VirtualRiemannNetwork()
        var configuration = Self.configuration(batch: 5)
        configuration.acknowledgementTimeout = .milliseconds(200)
        let client = network.client(configuration)
        client.start()
        client.enqueue(Self.events(0..<5))
        await network.settle()
        let first = try network.lastConnection()
        #expect(
            try await first.writtenMessages().map { Self.services($0.events) } == [Self.services(Self.events(0..<5))]
        )

        await network.advance(by: .milliseconds(199))
        #expect(first.isActive)
        await network.advance(by: .milliseconds(1))
        #expect(!first.isActive, "closed at the ack timeout")
        #expect(client.statistics.acknowledgementTimeouts == 1)
        #expect(client.statistics.connectionsLost == 1)
        #expect(client.statistics.queue.requeued == 5)

        // The same server again after the (seeded) backoff delay; the events go out again.
        let delay = configuration.backoffDelays(1)[0]
        await network.advance(by: delay - .nanoseconds(1))
        #expect(network.connections.count == 1)
        await network.advance(by: .nanoseconds(1))
        #expect(network.connections.count == 2)
        let second = try network.lastConnection()
        #expect(
            try await second.writtenMessages().map { Self.services($0.events) } == [Self.services(Self.events(0..<5))]
        )
        try await second.reply()
        let stats = client.statistics
        #expect(stats.queue.acknowledged == 5)
        #expect(stats.connectionsEstablished == 2)
    }

    @Test func eventsWrittenTooOftenAreDroppedAsExhausted() async throws {
        let network = VirtualRiemannNetwork()
        var configuration = Self.configuration(batch: 5)
        configuration.acknowledgementTimeout = .milliseconds(50)
        configuration.maximumDeliveryAttempts = 2
        let client = network.client(configuration)
        client.start()
        client.enqueue(Self.events(0..<5))
        await network.advance(by: .seconds(2))  // every timeout and reconnect comes due
        #expect(client.statistics.queue.dropped[.deliveryAttemptsExhausted] == 5)
        var written: [RiemannEvent] = []
        for connection in network.connections {
            written += try await connection.channel.writtenMessages().flatMap(\.events)
        }
        #expect(Self.services(written) == Self.services(Self.events(0..<5) + Self.events(0..<5)))  // two attempts each
    }

    @Test func failsOverToTheNextServer() async throws {
        let network = VirtualRiemannNetwork()
        let client = network.client(Self.configuration([Self.server, Self.backup]))
        client.start()
        client.enqueue(Self.events(0..<5))
        await network.advance(by: .milliseconds(10))
        let first = try network.lastConnection()
        #expect(try await first.writtenMessages().flatMap(\.events).count == 5)
        try await first.reply()

        // The first server goes away: the client retries it once, then moves to the backup.
        network.setRefusing(Self.server, true)
        try await first.close().get()
        client.enqueue(Self.events(5..<10))
        await network.advance(by: .seconds(1))
        #expect(network.connections.map(\.server) == [Self.server, Self.backup])
        #expect(client.statistics.connectedServer == Self.backup)
        #expect(client.statistics.connectAttemptsFailed == 1)
        let backup = try network.lastConnection()
        #expect(
            try await backup.writtenMessages().flatMap { Self.services($0.events) }
                == Self.services(Self.events(5..<10))
        )
    }

    @Test func startsOnTheSecondServerWhenTheFirstIsDown() async throws {
        let network = VirtualRiemannNetwork()
        network.setRefusing(Self.server, true)
        let configuration = Self.configuration([Self.server, Self.backup])
        let client = network.client(configuration)
        client.start()
        client.enqueue(Self.events(0..<5))
        await network.settle()
        #expect(network.connections.isEmpty)
        #expect(client.statistics.connectAttemptsFailed == 1)
        await network.advance(by: configuration.backoffDelays(1)[0])
        #expect(network.connections.map(\.server) == [Self.backup])
        #expect(try await network.lastConnection().writtenMessages().flatMap(\.events).count == 5)
    }

    @Test func shutdownFlushesEverythingBeforeTheDeadline() async throws {
        let network = VirtualRiemannNetwork()
        // The batch delay is far longer than the deadline: only a forced partial batch gets the last out.
        let client = network.client(Self.configuration(batch: 100, delay: .seconds(60)))
        client.start()
        client.enqueue(Self.events(0..<1_050))  // the last 50 would wait 60 s for the batch delay
        await network.settle()
        let channel = try network.lastConnection()
        let shutdown = Completion(client.beginShutdown(deadline: network.loop.now + .seconds(20)))
        let received = try await Self.acknowledgeUntilDone(channel, network, shutdown)
        let stats = client.statistics
        #expect(stats.queue.acknowledged == 1_050)
        #expect(stats.queue.droppedTotal == 0)
        #expect(Self.services(received) == Self.services(Self.events(0..<1_050)))
        #expect(!channel.isActive)
        client.enqueue(Self.events(0..<3))
        #expect(client.statistics.queue.dropped[.shutdown] == 3)
    }

    @Test func shutdownGivesUpExactlyAtTheDeadlineAndCountsTheRest() async throws {
        let network = VirtualRiemannNetwork()
        let client = await network.startedClient(Self.unacknowledgedConfiguration(), enqueueing: Self.events(0..<200))
        #expect(client.statistics.eventsInFlight == 80)  // 8 messages in flight
        let shutdown = Completion(client.beginShutdown(deadline: network.loop.now + .milliseconds(300)))
        await network.advance(by: .milliseconds(299))
        #expect(!shutdown.isDone, "not before the deadline")
        await network.advance(by: .milliseconds(1))
        #expect(shutdown.isDone, "at the deadline, not at the ack timeout (60 s) or never")
        #expect(client.statistics.queue.dropped[.shutdown] == 200)
        #expect(!(try network.lastConnection().isActive))
    }

    @Test func shutdownWithoutAServerEndsAtTheDeadline() async throws {
        let network = VirtualRiemannNetwork()
        network.setRefusing(Self.server, true)
        let client = network.client(Self.configuration())
        client.start()
        client.enqueue(Self.events(0..<3))
        let shutdown = Completion(client.beginShutdown(deadline: network.loop.now + .milliseconds(200)))
        await network.advance(by: .milliseconds(199))
        #expect(!shutdown.isDone)
        await network.advance(by: .milliseconds(1))
        #expect(shutdown.isDone)
        #expect(client.statistics.queue.dropped[.shutdown] == 3)
        let again = Completion(client.beginShutdown(deadline: network.loop.now))
        await network.settle()
        #expect(again.isDone, "idempotent")
    }

    @Test func framesStayWithinTheByteBudgetAndOversizedEventsNeverReachTheWire() async throws {
        let network = VirtualRiemannNetwork()
        var configuration = Self.configuration(batch: 500)
        configuration.maximumBatchBytes = 64 << 10
        configuration.queueMaximumBytes = 256 << 10
        let client = network.client(configuration)
        network.setRefusing(Self.server, true)
        client.start()
        // While Riemann is down: events of 10 KB, one of 1 MiB (more than a frame may carry).
        let big = Array(
            repeating: RiemannEvent(service: "big", description: String(repeating: "x", count: 10_000)),
            count: 100
        )
        client.enqueue(big)
        client.enqueue(RiemannEvent(service: "huge", description: String(repeating: "y", count: 1 << 20)))
        var stats = client.statistics.queue
        let fit = (256 << 10) / big[0].encodedSizeInMessage  // 26; the oldest made room (drop-oldest)
        #expect(stats.bytes <= 256 << 10, "the queue holds at most its bytes")
        #expect(stats.depth == fit)
        #expect(stats.dropped == [.queueFull: UInt64(100 - fit), .eventTooLarge: 1])

        network.setRefusing(Self.server, false)
        await network.advance(by: .seconds(1))
        let channel = try network.lastConnection()
        var sizes: [Int] = []
        while let frame = try await channel.readOutbound(as: ByteBuffer.self) {
            sizes.append(frame.readableBytes)
            try await channel.reply()
            await network.settle()
        }
        #expect(!sizes.isEmpty && sizes.allSatisfy { $0 <= 64 << 10 }, "frame sizes \(sizes)")
        stats = client.statistics.queue
        #expect(stats.acknowledged == UInt64(fit))
        #expect(stats.acknowledged + stats.droppedTotal == 101)
    }
}

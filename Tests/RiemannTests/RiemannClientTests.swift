import Logging
import NIOCore
import TestSupport
import Testing

@testable import Riemann

/// The client against the Riemann test server on loopback: the integration tier, for what only
/// real sockets show (resets, refused connects, a server killed mid-stream, malformed replies read
/// off the wire). Timing and delivery logic is tested on virtual time in
/// ``RiemannClientVirtualTimeTests`` and ``RiemannConnectionStateMachineTests``.
@Suite(.tags(.integration), .tier(.integration), .timeLimit(.minutes(1))) struct RiemannClientTests {
    static func events(_ range: Range<Int>, prefix: String = "e") -> [RiemannEvent] {
        range.map { RiemannEvent(service: "\(prefix)\($0)", host: "h", metric: .sint64(Int64($0))) }
    }

    static func configuration(
        _ servers: [RiemannTestServer],
        batch: Int = 50,
        delay: Duration = .milliseconds(10)
    ) -> RiemannClientConfiguration {
        self.configuration(ports: servers.map(\.port), batch: batch, delay: delay)
    }

    static func configuration(
        ports: [Int],
        batch: Int = 50,
        delay: Duration = .milliseconds(10)
    )
        -> RiemannClientConfiguration
    {
        .forTests(ports.map { RiemannServerAddress(host: "127.0.0.1", port: $0) }, batch: batch, delay: delay)
    }

    static let logger: Logger = {
        var logger = Logger(label: "riemann-client-test")
        logger.logLevel = .critical
        return logger
    }()

    /// Polls `condition` until it holds or `timeout` passes.
    static func eventually(
        timeout: Duration = .seconds(10),
        _ what: String = "condition",
        _ condition: () -> Bool
    ) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while !condition() {
            guard clock.now < deadline else {
                Issue.record("timed out waiting for \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    static func services(_ events: [RiemannEvent]) -> [String] {
        events.map { $0.service ?? "?" }
    }

    @Test func deliversEveryEventInOrder() async throws {
        let server = try await RiemannTestServer.start()
        let client = RiemannClient(configuration: Self.configuration([server]), logger: Self.logger)
        client.start()
        for chunk in stride(from: 0, to: 2_000, by: 7) {
            client.enqueue(Self.events(chunk..<min(chunk + 7, 2_000)))
        }
        let received = try await server.waitForEvents(count: 2_000)
        #expect(Self.services(received) == Self.services(Self.events(0..<2_000)))
        try await Self.eventually("acks") { client.statistics.queue.acknowledged == 2_000 }
        let stats = client.statistics
        #expect(stats.queue.sent == 2_000)
        #expect(stats.queue.droppedTotal == 0)
        #expect(stats.connectionsEstablished == 1)
        #expect(server.receivedMessages.allSatisfy { $0.events.count <= 50 })
        await client.shutdown(deadline: .now() + .seconds(2))
        await server.shutdown()
    }

    @Test func serverAbsentAtStartIsConnectedOnceItAppears() async throws {
        let server = try await RiemannTestServer.start()
        await server.stopListening()
        let client = RiemannClient(configuration: Self.configuration([server]), logger: Self.logger)
        client.start()
        client.enqueue(Self.events(0..<10))
        try await Self.eventually("failed connects") { client.statistics.connectAttemptsFailed >= 2 }
        #expect(server.receivedEvents.isEmpty)
        try await server.startListening()
        let received = try await server.waitForEvents(count: 10)
        #expect(Self.services(received) == Self.services(Self.events(0..<10)))
        await client.shutdown(deadline: .now() + .seconds(2))
        await server.shutdown()
    }

    @Test func unacknowledgedEventsAreRedeliveredAfterTheServerDies() async throws {
        let server = try await RiemannTestServer.start(replyMode: .neverAcknowledge)
        var configuration = Self.configuration([server])
        // Only the server's death may take the events back; an ack timeout (5 s by default) firing
        // on a stalled machine would requeue them a second time.
        configuration.acknowledgementTimeout = .seconds(60)
        let client = RiemannClient(configuration: configuration, logger: Self.logger)
        client.start()
        client.enqueue(Self.events(0..<100))
        _ = try await server.waitForEvents(count: 100)  // received, never acknowledged
        #expect(client.statistics.eventsInFlight == 100)

        // Kill: reset every connection and refuse new ones for a while.
        await server.stopListening()
        await server.resetAllConnections()
        try await Self.eventually("connection loss") { client.statistics.connectionsLost == 1 }
        client.enqueue(Self.events(100..<150))
        // The client has tried the dead server (refused) while these waited in the queue.
        try await Self.eventually("a refused reconnect") { client.statistics.connectAttemptsFailed >= 1 }
        #expect(server.receivedEvents.count == 100)
        server.setReplyMode(.acknowledge)
        try await server.startListening()

        let received = try await server.waitForEvents(count: 250)
        #expect(Self.services(Array(received.dropFirst(100))) == Self.services(Self.events(0..<150)))
        try await Self.eventually("acks") { client.statistics.queue.acknowledged == 150 }
        #expect(client.statistics.queue.requeued == 100)
        #expect(client.statistics.queue.droppedTotal == 0)
        await client.shutdown(deadline: .now() + .seconds(2))
        await server.shutdown()
    }

    @Test func serverKilledMidStreamLosesNothing() async throws {
        let server = try await RiemannTestServer.start(replyMode: .acknowledgeAfter(.milliseconds(5)))
        let client = RiemannClient(configuration: Self.configuration([server], batch: 20), logger: Self.logger)
        client.start()
        let total = 3_000
        let producer = Task {
            for chunk in stride(from: 0, to: total, by: 10) {
                client.enqueue(Self.events(chunk..<(chunk + 10)))
                try await Task.sleep(for: .milliseconds(1))
            }
        }
        for round in 1...3 {
            // Kill only once the client is connected again, the server holds that connection and
            // events flow on it: on a loaded machine fixed sleeps could have every kill land
            // before the client even connected, killing nothing.
            let receivedBefore = server.receivedEvents.count
            try await Self.eventually("connection \(round)") {
                client.statistics.connectionsEstablished >= round && server.openConnectionCount >= 1
            }
            try await Self.eventually("events on connection \(round)") {
                server.receivedEvents.count > receivedBefore || client.statistics.queue.enqueued == UInt64(total)
            }
            try await Task.sleep(for: .milliseconds(20))  // more in flight; how much does not matter
            await server.stopListening()
            await server.resetAllConnections()
            try await Task.sleep(for: .milliseconds(30))  // down for a while: connects are refused
            try await server.startListening()
        }
        try await producer.value
        try await server.waitUntil(timeout: .seconds(20)) {
            Set(Self.services($0.receivedEvents)).count == total
        }
        #expect(Set(Self.services(server.receivedEvents)) == Set(Self.services(Self.events(0..<total))))
        // Each kill reset an established connection (the last loss may still be on its way).
        try await Self.eventually("a loss per kill") { client.statistics.connectionsLost >= 3 }
        #expect(client.statistics.queue.droppedTotal == 0)
        await client.shutdown(deadline: .now() + .seconds(2))
        await server.shutdown()
    }

    @Test func resetConnectionIsReestablished() async throws {
        let server = try await RiemannTestServer.start()
        let client = RiemannClient(configuration: Self.configuration([server]), logger: Self.logger)
        client.start()
        client.enqueue(Self.events(0..<5))
        _ = try await server.waitForEvents(count: 5)
        try await Self.eventually("acks") { client.statistics.queue.acknowledged == 5 }
        await server.resetAllConnections()
        try await Self.eventually("reconnect") { client.statistics.connectionsEstablished == 2 }
        client.enqueue(Self.events(5..<10))
        let received = try await server.waitForEvents(count: 10)
        #expect(Self.services(received) == Self.services(Self.events(0..<10)))
        #expect(client.statistics.connectionsLost == 1)
        await client.shutdown(deadline: .now() + .seconds(2))
        await server.shutdown()
    }

    @Test func serverResettingOnEveryMessageCausesRedeliveryNotLoss() async throws {
        // The first three deliveries are answered with a reset, then acks. (Switching the mode once
        // the test has seen three resets raced the client: on a loaded machine it could go through
        // all ten delivery attempts before the switch and drop the events.)
        let server = try await RiemannTestServer.start()
        server.setReplyPlan(Array(repeating: .resetConnection, count: 3))
        let client = RiemannClient(configuration: Self.configuration([server]), logger: Self.logger)
        client.start()
        client.enqueue(Self.events(0..<5))
        let received = try await server.waitForEvents(count: 5)
        #expect(Self.services(received) == Self.services(Self.events(0..<5)))
        #expect(client.statistics.connectionsLost == 3)
        try await Self.eventually("acks") { client.statistics.queue.acknowledged == 5 }
        #expect(client.statistics.queue.requeued == 15)
        await client.shutdown(deadline: .now() + .seconds(2))
        await server.shutdown()
    }

    @Test(
        arguments: [
            [0x00, 0x00, 0x00, 0x03, 0xFF, 0xFF, 0xFF],  // body protobuf-c rejects
            [0x7F, 0xFF, 0xFF, 0xFF],  // announces a 2 GiB reply
        ] as [[UInt8]]
    )
    func malformedReplyClosesTheConnectionAndRedelivers(reply: [UInt8]) async throws {
        // The first delivery gets the malformed reply, the next one an ack. (Switching the mode once
        // the test has seen the loss raced the client's redeliveries, see above.)
        let server = try await RiemannTestServer.start()
        server.setReplyPlan([.rawBytes(reply)])
        let client = RiemannClient(configuration: Self.configuration([server]), logger: Self.logger)
        client.start()
        client.enqueue(Self.events(0..<5))
        try await Self.eventually("acks") { client.statistics.queue.acknowledged == 5 }
        #expect(Self.services(server.receivedEvents) == Self.services(Self.events(0..<5) + Self.events(0..<5)))
        #expect(client.statistics.connectionsLost == 1)
        #expect(client.statistics.queue.requeued == 5)
        await client.shutdown(deadline: .now() + .seconds(2))
        await server.shutdown()
    }

    @Test func failsOverToTheNextServer() async throws {
        let first = try await RiemannTestServer.start()
        let second = try await RiemannTestServer.start()
        let client = RiemannClient(configuration: Self.configuration([first, second]), logger: Self.logger)
        client.start()
        client.enqueue(Self.events(0..<5))
        _ = try await first.waitForEvents(count: 5)
        try await Self.eventually("acks") { client.statistics.queue.acknowledged == 5 }

        await first.stopListening()
        await first.resetAllConnections()
        client.enqueue(Self.events(5..<10))
        let received = try await second.waitForEvents(count: 5)
        #expect(Self.services(received) == Self.services(Self.events(5..<10)))
        #expect(client.statistics.connectedServer?.port == second.port)
        await client.shutdown(deadline: .now() + .seconds(2))
        await first.shutdown()
        await second.shutdown()
    }

    @Test func startsOnTheSecondServerWhenTheFirstIsDown() async throws {
        // The stopped server keeps its port (see RiemannTestServer.start): with a kernel-chosen
        // port, another test's listener could take the number and the client would deliver there.
        let down = try await RiemannTestServer.start()
        await down.stopListening()
        let up = try await RiemannTestServer.start()
        let client = RiemannClient(configuration: Self.configuration([down, up]), logger: Self.logger)
        client.start()
        client.enqueue(Self.events(0..<5))
        _ = try await up.waitForEvents(count: 5)
        #expect(client.statistics.connectAttemptsFailed >= 1)
        await client.shutdown(deadline: .now() + .seconds(2))
        await down.shutdown()
        await up.shutdown()
    }

    /// Issue 14: events carrying one item key of many MiB, queued while Riemann was down, grew the
    /// queue by hundreds of MiB (it counted events, not bytes); when Riemann came back their batch
    /// encoded to more than 4 GiB and a precondition killed the process on an event-loop thread.
    /// Now an event larger than a frame is refused on arrival, the queue holds at most
    /// `queueMaximumBytes`, and every frame written is at most `maximumBatchBytes` (defaults).
    @Test func aBacklogOfHugeEventsWhileRiemannIsDownStaysBoundedAndCannotBreakTheFlush() async throws {
        let server = try await RiemannTestServer.start()
        await server.stopListening()
        let client = RiemannClient(configuration: Self.configuration([server], batch: 500), logger: Self.logger)
        client.start()
        // 500 events sharing one 9 MiB key: 4.5 GiB as one batch, a few MiB in memory.
        let hugeKey = String(repeating: "k", count: 9 << 20)
        client.enqueue((0..<500).map { RiemannEvent(service: hugeKey, host: "h", metric: .sint64(Int64($0))) })
        // 1 000 events with a 100 000-byte key, about 100 KB each encoded: 64 MiB hold the last 670.
        let longKey = String(repeating: "m", count: 100_000)
        client.enqueue((0..<1_000).map { RiemannEvent(service: longKey, host: "h", metric: .sint64(Int64($0))) })
        let eventBytes = RiemannEvent(service: longKey, host: "h", metric: .sint64(999)).encodedSizeInMessage
        #expect((64 << 20) / eventBytes == 670)
        let queued = client.statistics.queue
        try #require(queued.depth == 670, "the queue is bounded in bytes")
        #expect(queued.bytes == 670 * eventBytes)
        #expect(queued.dropped[.eventTooLarge] == 500)
        #expect(queued.dropped[.queueFull] == 330)

        try await server.startListening()
        _ = try await server.waitForEvents(count: 670, timeout: .seconds(30))
        try await Self.eventually("acks") { client.statistics.queue.acknowledged == 670 }
        for message in server.receivedMessages {
            let frameBytes = RiemannMessageCodec.frameHeaderLength + (try RiemannMessageCodec.encodeBody(message)).count
            #expect(frameBytes <= 1 << 20)
        }
        // The newest survived (drop-oldest), in order.
        #expect(server.receivedEvents.map { $0.metric } == (330..<1_000).map { .sint64(Int64($0)) })
        let final = client.statistics.queue
        #expect(final.acknowledged + final.droppedTotal == 1_500)
        await client.shutdown(deadline: .now() + .seconds(2))
        await server.shutdown()
    }
}

import Logging
import NIOCore
import Riemann
import TestSupport
import Testing

/// Reconfiguring a running client (configuration reload): no queued or unacknowledged event is
/// lost, and a server no longer listed is left at once.
@Suite(.timeLimit(.minutes(1))) struct RiemannClientReconfigureTests {
    typealias Helpers = RiemannClientTests

    @Test(.tags(.integration), .tier(.integration))
    func aServerNoLongerListedIsLeftAndItsUnacknowledgedEventsGoToTheNewOne() async throws {
        let old = try await RiemannTestServer.start(replyMode: .neverAcknowledge)
        let new = try await RiemannTestServer.start()
        var settings = Helpers.configuration([old], batch: 10)
        settings.acknowledgementTimeout = .seconds(30)  // only the reconfiguration can move them
        let client = RiemannClient(configuration: settings, logger: Helpers.logger)
        client.start()
        client.enqueue(Helpers.events(0..<30))
        _ = try await old.waitForEvents(count: 30)
        try await Helpers.eventually("30 events in flight") { client.statistics.eventsInFlight == 30 }
        client.enqueue(Helpers.events(30..<40))  // queued behind the full in-flight window? (8 × 10 allows it)

        settings.servers = [RiemannServerAddress(host: "127.0.0.1", port: new.port)]
        await client.reconfigure(settings)
        let received = try await new.waitForEvents(count: 40)
        #expect(Set(Helpers.services(received)) == Set(Helpers.services(Helpers.events(0..<40))))
        try await Helpers.eventually("acks") { client.statistics.queue.acknowledged == 40 }
        #expect(client.statistics.connectedServer == RiemannServerAddress(host: "127.0.0.1", port: new.port))
        #expect(client.statistics.queue.droppedTotal == 0)
        try await old.waitUntil { $0.openConnectionCount == 0 }
        await client.shutdown(deadline: .now() + .seconds(2))
        await old.shutdown()
        await new.shutdown()
    }

    @Test(.tags(.integration), .tier(.integration)) func aServerStillListedKeepsItsConnectionAndNewLimitsApply()
        async throws
    {
        let server = try await RiemannTestServer.start()
        let other = try await RiemannTestServer.start()
        var settings = Helpers.configuration([server], batch: 50)
        let client = RiemannClient(configuration: settings, logger: Helpers.logger)
        client.start()
        client.enqueue(Helpers.events(0..<5))
        _ = try await server.waitForEvents(count: 5)

        settings.servers = [
            RiemannServerAddress(host: "127.0.0.1", port: other.port),
            RiemannServerAddress(host: "127.0.0.1", port: server.port),
        ]
        settings.queueCapacity = 7
        settings.overflowPolicy = .dropNewest
        settings.maximumBatchEvents = 2
        await client.reconfigure(settings)
        #expect(client.statistics.queue.capacity == 7)
        #expect(client.configuration.servers == settings.servers)
        #expect(client.statistics.connectedServer == RiemannServerAddress(host: "127.0.0.1", port: server.port))
        client.enqueue(Helpers.events(5..<9))
        _ = try await server.waitForEvents(count: 9)
        #expect(server.acceptedConnectionCount == 1, "no reconnect for a server that stays")
        #expect(other.acceptedConnectionCount == 0)
        #expect(server.receivedMessages.suffix(2).allSatisfy { $0.events.count <= 2 }, "the new batch size applies")
        await client.shutdown(deadline: .now() + .seconds(2))
        await server.shutdown()
        await other.shutdown()
    }

    @Test func aSmallerQueueKeepsWhatIsQueuedAndAppliesItsPolicyToNewEvents() {
        let queue = RiemannEventQueue(capacity: 10, overflowPolicy: .dropOldest)
        queue.push(Helpers.events(0..<8))
        queue.reconfigure(capacity: 4, overflowPolicy: .dropNewest)
        #expect(queue.statistics.depth == 8, "nothing queued is dropped by the change")
        let result = queue.push(Helpers.events(8..<10))
        #expect(result.accepted == 0)
        #expect(queue.statistics.dropped[.queueFull] == 2)
        #expect(queue.statistics.capacity == 4)
        #expect(queue.overflowPolicy == .dropNewest)
    }
}

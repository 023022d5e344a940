import NIOCore
import Riemann
import TestSupport
import Testing

/// The acknowledgement-latency histogram: bucket placement, and the client recording into it.
@Suite(.timeLimit(.minutes(1))) struct RiemannLatencyHistogramTests {
    @Test func samplesLandInTheFirstBucketWhoseBoundHoldsThem() {
        let histogram = RiemannLatencyHistogram(upperBounds: [0.01, 0.1, 1])
        histogram.record(.milliseconds(10))  // exactly on a bound: le is inclusive
        histogram.record(.milliseconds(50))
        histogram.record(.milliseconds(50))
        histogram.record(.seconds(3))
        histogram.record(.nanoseconds(-5))  // clock oddities count as zero
        let snapshot = histogram.snapshot
        #expect(snapshot.counts == [2, 2, 0, 1])
        #expect(snapshot.cumulativeCounts == [2, 4, 4, 5])
        #expect(snapshot.count == 5)
        #expect(abs(snapshot.sum - 3.11) < 1e-9)
    }

    @Test(.tags(.integration), .tier(.integration)) func clientRecordsOneSamplePerAcknowledgedMessage() async throws {
        let server = try await RiemannTestServer.start()
        let client = RiemannClient(
            configuration: RiemannClientTests.configuration([server], batch: 10),
            logger: RiemannClientTests.logger
        )
        client.start()
        client.enqueue(RiemannClientTests.events(0..<40))
        _ = try await server.waitForEvents(count: 40)
        try await RiemannClientTests.eventually("acks") { client.statistics.queue.acknowledged == 40 }
        let latency = client.statistics.acknowledgementLatency
        #expect(latency.count == UInt64(server.receivedMessages.count))
        #expect(latency.upperBounds == RiemannLatencyHistogram.defaultUpperBounds)
        #expect(latency.sum >= 0 && latency.sum < 10)
        await client.shutdown(deadline: .now() + .seconds(2))
        await server.shutdown()
    }

    @Test(.tags(.integration), .tier(.integration)) func slowAcknowledgementsLandInHigherBuckets() async throws {
        let server = try await RiemannTestServer.start(replyMode: .acknowledgeAfter(.milliseconds(60)))
        let client = RiemannClient(
            configuration: RiemannClientTests.configuration([server], batch: 5),
            logger: RiemannClientTests.logger
        )
        client.start()
        client.enqueue(RiemannClientTests.events(0..<10))
        try await RiemannClientTests.eventually("acks") { client.statistics.queue.acknowledged == 10 }
        let latency = client.statistics.acknowledgementLatency
        let bounds = latency.upperBounds
        #expect(latency.count == 2)
        // Nothing at or below 50 ms: each reply was held back 60 ms.
        #expect(zip(bounds, latency.cumulativeCounts).allSatisfy { bound, count in bound > 0.05 || count == 0 })
        #expect(latency.sum >= 0.12)
        await client.shutdown(deadline: .now() + .seconds(2))
        await server.shutdown()
    }
}

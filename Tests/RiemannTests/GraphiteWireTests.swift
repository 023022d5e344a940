import NIOCore
import NIOEmbedded
import TestSupport
import Testing

@testable import Riemann

/// The client speaking carbon's plaintext protocol: one line per event with a metric, a completed
/// write standing for the ack that carbon never sends, and the Riemann client's failover, on
/// in-memory channels and a virtual clock.
@Suite struct GraphiteWireTests {
    static let carbon = RiemannServerAddress(host: "carbon-a", port: 2003)
    static let backup = RiemannServerAddress(host: "carbon-b", port: 2103)

    static func event(_ path: String, _ metric: RiemannMetric?, time: Int64) -> RiemannEvent {
        RiemannEvent(time: time, service: path, metric: metric)
    }

    static func text(_ channel: NIOAsyncTestingChannel) async throws -> String {
        var text = ""
        while let buffer = try await channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    @Test func eventsWithAMetricBecomeLinesOfPathValueAndSeconds() {
        var buffer = ByteBuffer()
        GraphitePlaintext.encode(
            [
                Self.event("zabbix.com.example.web01.agent_ping", .sint64(1), time: 1_700_000_000),
                Self.event("a.b", .double(0.000_01), time: 5), Self.event("a.c", .double(-2.5), time: 6),
                Self.event("text.value", nil, time: 7),
                Self.event("with space\tand\ncontrol", .sint64(-3), time: 8), Self.event("", .float(0.5), time: 9),
            ],
            into: &buffer
        )
        #expect(
            String(buffer: buffer) == """
                zabbix.com.example.web01.agent_ping 1 1700000000
                a.b 1e-05 5
                a.c -2.5 6
                with_space_and_control -3 8
                _ 0.5 9

                """
        )
    }

    @Test func picklesAreLengthPrefixedListsOfPathTimestampValueTuples() throws {
        var buffer = ByteBuffer()
        GraphitePickle.encode([Self.event("a b", .sint64(2), time: 10), Self.event("t", nil, time: 11)], into: &buffer)
        let body: [UInt8] =
            [0x80, 0x02, 0x5D, 0x28]  // PROTO 2, EMPTY_LIST, MARK
            + [0x58, 3, 0, 0, 0] + Array("a_b".utf8)  // BINUNICODE
            + [0x47] + withUnsafeBytes(of: (10.0).bitPattern.bigEndian, Array.init)  // BINFLOAT timestamp
            + [0x47] + withUnsafeBytes(of: (2.0).bitPattern.bigEndian, Array.init)  // BINFLOAT value
            + [0x86, 0x86, 0x65, 0x2E]  // TUPLE2, TUPLE2, APPENDS, STOP
        let length = buffer.readInteger(as: UInt32.self)
        #expect(length == UInt32(body.count))
        let bytes = buffer.readBytes(length: buffer.readableBytes)
        #expect(bytes == body)

        var empty = ByteBuffer()
        GraphitePickle.encode([Self.event("t", nil, time: 1)], into: &empty)
        #expect(empty.readableBytes == 0, "no metric, no frame")
    }

    @Test func aLargeBatchIsCutIntoFramesCarbonAccepts() throws {
        let path = String(repeating: "p", count: 1000)
        var buffer = ByteBuffer()
        GraphitePickle.encode((0..<1000).map { Self.event(path, .sint64(Int64($0)), time: 1) }, into: &buffer)
        var frames = 0
        while let length = buffer.readInteger(as: UInt32.self) {
            #expect(Int(length) <= GraphitePickle.maximumFrameBytes + 1100)
            let bytes = buffer.readBytes(length: Int(length))
            let body = try #require(bytes)
            #expect(body.prefix(4) == [0x80, 0x02, 0x5D, 0x28] && body.suffix(2) == [0x65, 0x2E])
            frames += 1
        }
        #expect(frames == 4)
    }

    @Test func aCompletedWriteCountsAsDeliveredAndCarbonsBytesAreIgnored() async throws {
        let network = VirtualRiemannNetwork()
        let client = network.client(
            .forTests([Self.carbon], batch: 2, delay: .milliseconds(10)),
            wireFormat: .graphitePlaintext
        )
        client.start()
        await network.settle()
        let channel = try network.lastConnection()
        client.enqueue([
            Self.event("a", .sint64(1), time: 10), Self.event("b", .sint64(2), time: 11),
            Self.event("c", .sint64(3), time: 12),
        ])
        await network.settle()
        await network.advance(by: .milliseconds(10))
        #expect(try await Self.text(channel) == "a 1 10\nb 2 11\nc 3 12\n")
        try await channel.writeInbound(ByteBuffer(string: "carbon never talks, but if it did\n"))
        await network.settle()
        let statistics = client.statistics
        #expect(statistics.queue.sent == 3)
        #expect(statistics.queue.acknowledged == 3, "written to the socket")
        #expect(statistics.messagesInFlight == 0)
        #expect(statistics.connectedServer == Self.carbon)
        await client.shutdown(deadline: .now())
    }

    @Test func aRefusingCarbonFailsOverToTheNext() async throws {
        let network = VirtualRiemannNetwork()
        network.setRefusing(Self.carbon, true)
        let client = network.client(
            .forTests([Self.carbon, Self.backup], batch: 1, delay: .milliseconds(10)),
            wireFormat: .graphitePlaintext
        )
        client.enqueue(Self.event("a", .sint64(1), time: 10))
        client.start()
        await network.settle()
        await network.advance(by: .seconds(10))  // the longest backoff
        let connections = network.connections
        #expect(connections.map(\.server) == [Self.backup])
        #expect(try await Self.text(try network.lastConnection()) == "a 1 10\n")
        #expect(client.statistics.connectAttemptsFailed == 1)
        await client.shutdown(deadline: .now())
    }

    @Test func eventsQueuedWhileCarbonIsAwayAreWrittenAfterTheReconnect() async throws {
        let network = VirtualRiemannNetwork()
        var configuration = RiemannClientConfiguration.forTests([Self.carbon], batch: 1, delay: .milliseconds(10))
        configuration.maximumMessagesInFlight = 1
        let client = network.client(configuration, wireFormat: .graphitePlaintext)
        client.start()
        await network.settle()
        let first = try network.lastConnection()
        try await first.close()  // carbon went away before anything was written
        await network.settle()
        client.enqueue(Self.event("a", .sint64(1), time: 10))
        await network.advance(by: .seconds(10))
        #expect(network.connections.count == 2)
        #expect(try await Self.text(try network.lastConnection()) == "a 1 10\n")
        #expect(client.statistics.connectionsLost == 1)
        #expect(client.statistics.queue.acknowledged == 1)
        await client.shutdown(deadline: .now())
    }
}

import NIOCore
import TestSupport
import Testing

@testable import Riemann

/// The reference C client (`riemann-client`, Debian riemann-c-client) against our test server:
/// its frames decode to exactly the fields given on its command line, our ack satisfies it, and
/// it decodes the events our client's encoder writes.
@Suite(.tags(.integration), .tier(.integration)) struct RiemannCLICrossCheckTests {
    static let cli = "/usr/bin/riemann-client"

    static func expectedEvent(metric: RiemannMetric) -> RiemannEvent {
        RiemannEvent(
            state: "ok",
            service: "svc",
            host: "host",
            description: "desc",
            tags: ["t1", "t2"],
            ttl: 60,
            attributes: [
                RiemannAttribute(key: "k", value: "v"), RiemannAttribute(key: "x-client", value: "riemann-c-client"),
            ],
            metric: metric
        )
    }

    @Test(
        .enabled(if: isExecutable(RiemannCLICrossCheckTests.cli)),
        arguments: [
            (["-i", "42"], RiemannMetric.sint64(42)),
            (["-d", "1.5"], RiemannMetric.double(1.5)),
            (["-f", "2.25"], RiemannMetric.float(2.25)),
        ]
    )
    func referenceClientEventDecodesToItsCommandLineFields(
        metricArguments: [String],
        metric: RiemannMetric
    ) async throws {
        let server = try await RiemannTestServer.start()
        let output = try await runProcess(
            Self.cli,
            ["send", "-S", "svc", "-h", "host", "-s", "ok", "-D", "desc"] + metricArguments
                + ["-t", "t1", "-t", "t2", "-a", "k=v", "-L", "60", "127.0.0.1", "\(server.port)"]
        )
        #expect(output.exitCode == 0, "stderr: \(output.standardError)")
        let events = try await server.waitForEvents(count: 1)
        #expect(events.count == 1)
        var event = try #require(events.first)
        // The attribute order is the CLI's business; compare it as a set, everything else exactly.
        #expect(Set(event.attributes) == Set(Self.expectedEvent(metric: metric).attributes))
        event.attributes = Self.expectedEvent(metric: metric).attributes
        #expect(event == Self.expectedEvent(metric: metric))
        await server.shutdown()
    }

    /// `riemann-client query` prints the events of the server's reply: the reply here is `ok`
    /// followed by the events exactly as ``RiemannFrameEncoder`` writes a batch of them (a `Msg`'s
    /// fields may come in any order), so riemann-c-client's own decoder reads our wire bytes.
    @Test(.enabled(if: isExecutable(RiemannCLICrossCheckTests.cli)))
    func referenceClientDecodesTheEventsOurEncoderWrites() async throws {
        let events = RiemannEncodingIdentityTests.batch
        var encoder = RiemannFrameEncoder()
        var frame = ByteBuffer()
        try encoder.encodeFrame(events.map { RiemannEventQueue.Entry(event: $0) }, into: &frame)
        let body = Array(frame.readableBytesView.dropFirst(4))
        let reply = [UInt8(0x10), 0x01] + body  // ok: true, then the events
        let length = UInt32(reply.count)
        let server = try await RiemannTestServer.start(
            replyMode: .rawBytes(
                [UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)]
                    + reply
            )
        )
        let output = try await runProcess(Self.cli, ["query", "true", "127.0.0.1", "\(server.port)"])
        #expect(output.exitCode == 0, "stderr: \(output.standardError)")
        let printed = output.standardOutput
        #expect(printed.components(separatedBy: "Event #").count - 1 == events.count)
        for expected in [
            "service = system.cpu.load[all,avg1]", "host = bench-agent-0001", "metric_sint64 = 42",
            "zabbix_listener = churn", "service = cut", "tags = [ zabbix agent ]", "request = agent data",
            "description = load average", "ttl = 60.000000", "metric_d = -1.500000",
            "description = " + String(repeating: "x", count: 200),
        ] {
            #expect(printed.contains(expected), "riemann-client query printed:\n\(printed)")
        }
        await server.shutdown()
    }

    @Test(.enabled(if: isExecutable(RiemannCLICrossCheckTests.cli)))
    func referenceClientFailsWhenTheServerRejects() async throws {
        let server = try await RiemannTestServer.start(replyMode: .reject(error: "no"))
        let output = try await runProcess(Self.cli, ["send", "-S", "svc", "127.0.0.1", "\(server.port)"])
        #expect(output.exitCode != 0)
        #expect(server.receivedEvents.count == 1)
        await server.shutdown()
    }
}

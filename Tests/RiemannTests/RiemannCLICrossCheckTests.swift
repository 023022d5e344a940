import Riemann
import TestSupport
import Testing

/// The reference C client (`riemann-client`, Debian riemann-c-client) against our test server:
/// its frames decode to exactly the fields given on its command line, and our ack satisfies it.
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

    @Test(.enabled(if: isExecutable(RiemannCLICrossCheckTests.cli)))
    func referenceClientFailsWhenTheServerRejects() async throws {
        let server = try await RiemannTestServer.start(replyMode: .reject(error: "no"))
        let output = try await runProcess(Self.cli, ["send", "-S", "svc", "127.0.0.1", "\(server.port)"])
        #expect(output.exitCode != 0)
        #expect(server.receivedEvents.count == 1)
        await server.shutdown()
    }
}

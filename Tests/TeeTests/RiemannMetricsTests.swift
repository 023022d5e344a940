import Admin
import Logging
import NIOCore
import Riemann
import Tee
import TestSupport
import Testing

/// The Riemann client's statistics as metrics: a real client against the test server, and a
/// hand-made statistics value for the labels.
@Suite(.timeLimit(.minutes(1))) struct RiemannMetricsTests {
    static let logger: Logger = {
        var logger = Logger(label: "admin-riemann-test")
        logger.logLevel = .critical
        return logger
    }()

    @Test(.tags(.integration), .tier(.integration))
    func scrapeReportsDeliveryCountersConnectionAndAckLatencyOfARealClient() async throws {
        let server = try await RiemannTestServer.start()
        // Nothing listens there, and nothing will: a closed kernel-chosen port (refusingPort) can be
        // taken by another test's listener at once, and connecting to it would then succeed.
        let deadPort = try LoopbackPort.free()
        var configuration = RiemannClientConfiguration(servers: [
            RiemannServerAddress(host: "127.0.0.1", port: server.port),
            RiemannServerAddress(host: "127.0.0.1", port: deadPort),
        ])
        configuration.maximumBatchEvents = 10
        configuration.maximumBatchDelay = .milliseconds(10)
        configuration.queueCapacity = 1000
        let client = RiemannClient(configuration: configuration, logger: Self.logger)
        client.start()
        client.enqueue((0..<25).map { RiemannEvent(service: "s\($0)", host: "h", metric: .sint64(Int64($0))) })
        _ = try await server.waitForEvents(count: 25)
        #expect(await eventually { client.statistics.queue.acknowledged == 25 })

        let exporter = MetricsExporter(sources: [RiemannMetricsSource(client: client)])
        let admin = AdminServer(configuration: .init(host: "127.0.0.1", port: 0), exporter: exporter)
        try await admin.start()
        let body = try await HTTPTestClient.get(port: try #require(admin.localAddress?.port), "/metrics").body
        let metrics = ScrapedMetrics(body)
        let messages = Double(server.receivedMessages.count)

        #expect(metrics.value("zabbix_tee_riemann_events_queued_total") == 25)
        #expect(metrics.value("zabbix_tee_riemann_events_sent_total") == 25)
        #expect(metrics.value("zabbix_tee_riemann_events_acked_total") == 25)
        #expect(metrics.value("zabbix_tee_riemann_events_requeued_total") == 0)
        for reason in [
            "queue_full", "event_too_large", "rejected_by_server", "delivery_attempts_exhausted", "shutdown",
        ] {
            #expect(metrics.value("zabbix_tee_riemann_events_dropped_total", ["reason": reason]) == 0, "\(reason)")
        }
        #expect(metrics.value("zabbix_tee_riemann_queue_events") == 0)
        #expect(metrics.value("zabbix_tee_riemann_queue_capacity_events") == 1000)
        #expect(metrics.value("zabbix_tee_riemann_queue_bytes") == 0)
        #expect(metrics.value("zabbix_tee_riemann_queue_capacity_bytes") == Double(64 << 20))
        #expect(metrics.value("zabbix_tee_riemann_in_flight_messages") == 0)
        #expect(metrics.value("zabbix_tee_riemann_connected", ["server": "127.0.0.1:\(server.port)"]) == 1)
        #expect(metrics.value("zabbix_tee_riemann_connected", ["server": "127.0.0.1:\(deadPort)"]) == 0)
        #expect(metrics.value("zabbix_tee_riemann_connects_total") == 1)
        #expect(metrics.value("zabbix_tee_riemann_ack_timeouts_total") == 0)
        #expect(metrics.value("zabbix_tee_riemann_rejected_messages_total") == 0)
        #expect(metrics.type["zabbix_tee_riemann_ack_latency_seconds"] == "histogram")
        #expect(metrics.value("zabbix_tee_riemann_ack_latency_seconds_count") == messages)
        #expect(metrics.value("zabbix_tee_riemann_ack_latency_seconds_bucket", ["le": "+Inf"]) == messages)
        let buckets = metrics.series("zabbix_tee_riemann_ack_latency_seconds_bucket").map(\.value)
        #expect(buckets == buckets.sorted(), "cumulative buckets never decrease")
        #expect(metrics.value("zabbix_tee_riemann_ack_latency_seconds_bucket", ["le": "10"]) == messages)

        await admin.shutdown()
        await client.shutdown(deadline: .now() + .seconds(2))
        await server.shutdown()
    }

    @Test(.tags(.integration), .tier(.integration)) func rejectionsAndDropsAppearUnderTheirReasons() async throws {
        let server = try await RiemannTestServer.start(replyMode: .reject(error: "no"))
        var configuration = RiemannClientConfiguration(servers: [
            RiemannServerAddress(host: "127.0.0.1", port: server.port)
        ])
        configuration.maximumBatchEvents = 5
        configuration.maximumBatchDelay = .milliseconds(10)
        let client = RiemannClient(configuration: configuration, logger: Self.logger)
        client.start()
        client.enqueue((0..<10).map { RiemannEvent(service: "s\($0)") })
        client.enqueue(RiemannEvent(service: String(repeating: "k", count: 2 << 20)))  // larger than a message
        #expect(await eventually { client.statistics.queue.dropped[.rejectedByServer] == 10 })
        let metrics = ScrapedMetrics(MetricsExporter(sources: [RiemannMetricsSource(client: client)]).render())
        #expect(metrics.value("zabbix_tee_riemann_events_dropped_total", ["reason": "rejected_by_server"]) == 10)
        #expect(metrics.value("zabbix_tee_riemann_events_dropped_total", ["reason": "event_too_large"]) == 1)
        #expect(metrics.value("zabbix_tee_riemann_rejected_messages_total") == 2)
        #expect(metrics.value("zabbix_tee_riemann_ack_latency_seconds_count") == 2)
        await client.shutdown(deadline: .now() + .seconds(2))
        await server.shutdown()
    }

    @Test func aMissingClientReportsNothing() {
        let source = RiemannMetricsSource(servers: [], statistics: { nil })
        #expect(MetricsExporter(sources: [source]).collect().families.isEmpty)
    }
}

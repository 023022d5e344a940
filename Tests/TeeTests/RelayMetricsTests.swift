import Admin
import Logging
import NIOCore
import NIOPosix
import Relay
import Tee
import TestSupport
import Testing

/// A real relay listener relays a few connections; `/metrics` over a real socket reports them.
@Suite(.tags(.integration), .tier(.integration), .timeLimit(.minutes(1))) struct RelayMetricsTests {
    @Test func scrapeReportsConnectionsBytesAndTargetHealthOfARealListener() async throws {
        let target = try BlockingListener()
        // Nothing listens there, and nothing will: a closed kernel-chosen port (refusingPort) can be
        // taken by another test's listener at once, and connecting to it would then succeed.
        let deadPort = try LoopbackPort.free()
        let connections = 3
        // The target answers "hello" with "world!" and waits for the client to close.
        let targetSide = TestThreads.start { () throws -> Void in
            var peers: [TestThreads.Handle<Void>] = []
            for _ in 0..<connections {
                let socket = try target.accept()
                peers.append(
                    TestThreads.start {
                        _ = try socket.receive(exactly: 5)
                        try socket.send("world!")
                        _ = try socket.receiveAll()
                        socket.close()
                    }
                )
            }
            for peer in peers { try peer.waitBlocking() }
        }
        var configuration = RelayListenerConfiguration(
            name: "agents",
            listen: [Endpoint(host: "127.0.0.1", port: 0)],
            targets: [Endpoint(host: "127.0.0.1", port: deadPort), Endpoint(host: "127.0.0.1", port: target.port)],
            connectTimeout: .seconds(2)
        )
        configuration.balance = .failover
        configuration.targetCoolDown = .seconds(60)
        var logger = Logger(label: "admin-relay-test")
        logger.logLevel = .critical
        let listener = RelayListener(configuration: configuration, logger: logger)
        try await listener.start()
        let relayPort = try #require(listener.localAddresses.first?.port)

        // One after the other, so the first failure has made the dead target cool down.
        let replies = try await TestThreads.start { () throws -> [[UInt8]] in
            try (0..<connections).map { _ in
                let socket = try BlockingSocket.connect(port: relayPort)
                try socket.send("hello")
                let reply = try socket.receive(exactly: 6)
                socket.close()
                return reply
            }
        }.value
        #expect(replies.allSatisfy { $0 == Array("world!".utf8) })
        try await targetSide.value
        #expect(await eventually { listener.statistics.connectionsActive == 0 })

        let exporter = MetricsExporter(sources: [RelayMetricsSource(listeners: [listener])])
        let admin = AdminServer(configuration: .init(host: "127.0.0.1", port: 0), exporter: exporter)
        try await admin.start()
        let response = try await HTTPTestClient.get(port: try #require(admin.localAddress?.port), "/metrics")
        #expect(response.status == 200)
        let metrics = ScrapedMetrics(response.body)
        let agents = ["listener": "agents"]
        let dead = "127.0.0.1:\(deadPort)"
        let alive = "127.0.0.1:\(target.port)"

        #expect(metrics.value("zabbix_tee_connections_total", agents) == 3)
        #expect(metrics.value("zabbix_tee_connections_active", agents) == 0)
        for reason in ["not_allowed", "source_limit", "rate_limit", "max_connections"] {
            #expect(
                metrics.value("zabbix_tee_connections_refused_total", ["listener": "agents", "reason": reason]) == 0
            )
        }
        #expect(metrics.value("zabbix_tee_connections_failed_total", agents) == 0)
        #expect(metrics.value("zabbix_tee_connections_idle_timeout_total", agents) == 0)
        #expect(metrics.value("zabbix_tee_connection_errors_total", ["listener": "agents", "side": "client"]) == 0)
        #expect(metrics.value("zabbix_tee_connection_errors_total", ["listener": "agents", "side": "target"]) == 0)
        #expect(metrics.value("zabbix_tee_relayed_bytes_total", ["direction": "client_to_server"]) == 15)
        #expect(metrics.value("zabbix_tee_relayed_bytes_total", ["direction": "server_to_client"]) == 18)
        #expect(metrics.value("zabbix_tee_relay_buffered_bytes", agents) == 0)
        #expect(metrics.value("zabbix_tee_relay_buffered_bytes_max", agents).map { $0 >= 5 } == true)
        #expect(metrics.value("zabbix_tee_tap_failures_total", agents) == 0)
        // Failover: the first connection found the first target dead; it then cools down.
        #expect(metrics.value("zabbix_tee_target_connects_total", ["target": dead, "result": "failed"]) == 1)
        #expect(metrics.value("zabbix_tee_target_connects_total", ["target": dead, "result": "ok"]) == 0)
        #expect(metrics.value("zabbix_tee_target_connects_total", ["target": alive, "result": "ok"]) == 3)
        #expect(metrics.value("zabbix_tee_target_connects_total", ["target": alive, "result": "failed"]) == 0)
        #expect(metrics.value("zabbix_tee_target_healthy", ["listener": "agents", "target": dead]) == 0)
        #expect(metrics.value("zabbix_tee_target_healthy", ["listener": "agents", "target": alive]) == 1)
        #expect(metrics.type["zabbix_tee_relayed_bytes_total"] == "counter")
        #expect(metrics.type["zabbix_tee_connections_active"] == "gauge")
        for name in metrics.type.keys {
            #expect(metrics.help[name].map { !$0.isEmpty } == true, "HELP for \(name)")
        }

        // Counters read at scrape time move with the listener, without any per-packet metric work.
        let more = try await TestThreads.start { () throws -> Int in
            let socket = try BlockingSocket.connect(port: relayPort)
            socket.close()
            return 1
        }.value
        #expect(more == 1)
        #expect(await eventually { listener.statistics.connectionsAccepted == 4 })
        let second = ScrapedMetrics(
            try await HTTPTestClient.get(port: try #require(admin.localAddress?.port), "/metrics").body
        )
        #expect(second.value("zabbix_tee_connections_total", agents) == 4)

        await admin.shutdown()
        await listener.stopAccepting()
        await listener.closeAllConnections()
        target.close()
    }

    @Test func severalListenersShareOneFamilyPerMetric() async throws {
        var logger = Logger(label: "admin-relay-test")
        logger.logLevel = .critical
        let listeners = try await ["agents", "proxies"].asyncMap { name in
            let listener = RelayListener(
                configuration: RelayListenerConfiguration(
                    name: name,
                    listen: [Endpoint(host: "127.0.0.1", port: 0)],
                    targets: [Endpoint(host: "127.0.0.1", port: 10051)],
                    connectTimeout: .seconds(1)
                ),
                logger: logger
            )
            try await listener.start()
            return listener
        }
        let text = MetricsExporter(sources: [RelayMetricsSource(listeners: { listeners })]).render()
        #expect(text.components(separatedBy: "# TYPE zabbix_tee_connections_active gauge").count == 2)
        let metrics = ScrapedMetrics(text)
        #expect(metrics.series("zabbix_tee_connections_active").map { $0.labels["listener"] } == ["agents", "proxies"])
        #expect(metrics.series("zabbix_tee_relayed_bytes_total").count == 4)
        for listener in listeners {
            await listener.stopAccepting()
        }
    }
}

extension Array where Element: Sendable {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}

extension String {
    func components(separatedBy separator: String) -> [Substring] {
        self.split(separator: separator, omittingEmptySubsequences: false)
    }
}

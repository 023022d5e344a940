import Foundation
import TestSupport
import Testing

/// Acceptance: `/metrics` scraped while real Zabbix traffic (6.0, and 7.0 with its JSON passive
/// checks) goes through the tee reports each metric with the value the traffic calls for, and
/// parses with Prometheus' own parser.
@Suite("metrics during real Zabbix traffic", .tags(.integration), .tier(.integration), .timeLimit(.minutes(2)))
struct MetricsEndToEndTests {
    @Test(arguments: ZabbixLabVersion.allCases)
    func metricsReportWhatRealTrafficDid(_ version: ZabbixLabVersion) async throws {
        try version.requirePrograms()
        let riemann = try await RiemannTestServer.start()
        let proxy = try await ZabbixProxy.start(ZabbixProxy.Options(version: version))
        let agent = try await ZabbixAgentd.start(ZabbixAgentd.Options(version: version))
        let agentsPort = try LoopbackPort.free()
        let passivePort = try LoopbackPort.free()
        let adminPort = try LoopbackPort.free()
        let recordings = try ZabbixLabDirectory.create("metrics-record")
        defer { try? FileManager.default.removeItem(atPath: recordings) }
        let configuration = """
            listeners:
            \(TeeProcess.listener(name: "agents", port: agentsPort, targets: [proxy.port], extra: ["record: \(recordings)/agents"]))
            \(TeeProcess.listener(name: "passive", port: passivePort, targets: [agent.port]))
            riemann:
              servers: ["127.0.0.1:\(riemann.port)"]
              batch: { max_events: 10, max_delay: 10ms }
            admin:
              listen: "127.0.0.1:\(adminPort)"
            """
        let tee = try await TeeProcess.start(configuration: configuration, ports: [agentsPort, passivePort, adminPort])
        try await tee.whileRunning(thenStopping: [agent, proxy], riemann) {
            // The baseline waits for the readiness probe's connections (TeeProcess.start connects to
            // each port): the tee accepts them and connects them to their target asynchronously, and
            // a probe counted after the baseline would count as this test's traffic.
            var before = try MetricsScrape.get(port: adminPort)
            try await waitUntil("the readiness probes' connections settled", timeout: .seconds(10)) {
                before = try MetricsScrape.get(port: adminPort)
                return [("agents", proxy.port), ("passive", agent.port)].allSatisfy { listener, port in
                    let target = [("listener", listener), ("target", "127.0.0.1:\(port)")]
                    let connects = ["ok", "failed"].reduce(0.0) {
                        $0 + before.value("zabbix_tee_target_connects_total", target + [("result", $1)])
                    }
                    let accepted = before.value("zabbix_tee_connections_total", [("listener", listener)])
                    return accepted >= 1 && connects == accepted
                        && before.value("zabbix_tee_connections_active", [("listener", listener)]) == 0
                }
            }
            let agents = [("listener", "agents")]
            // Real traffic: one zabbix_sender batch (the proxy, which has no server behind it, refuses
            // its five values: processed: 0), three passive checks, one TLS connection.
            let values = (0..<5).map { ZabbixSender.Value(host: "metrics-host", key: "m.k\($0)", value: "\($0)") }
            _ = try await ZabbixSender.send(port: agentsPort, values: values, version: version)
            for key in [ZabbixTestItems.intKey, ZabbixTestItems.textKey, "no.such.key"] {
                _ = try await ZabbixGet.get(port: passivePort, key: key, version: version)
            }
            try await TestThreads.start {
                let socket = try BlockingSocket.connect(port: agentsPort)
                socket.setReceiveTimeout(seconds: 10)
                try socket.send([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00])
                socket.shutdownWrite()
                _ = try? socket.receiveAll()
            }.value
            try await riemann.waitUntil(timeout: .seconds(20)) { $0.receivedEvents.count >= 3 }
            try await waitUntil("connections closed and events acknowledged", timeout: .seconds(10)) {
                let m = try MetricsScrape.get(port: adminPort)
                return m.value("zabbix_tee_connections_active", agents) == 0
                    && m.value("zabbix_tee_riemann_events_acked_total") >= 3
                    && m.value("zabbix_tee_item_values_rejected_total", [("reason", "none_processed")]) == 5
            }
            let after = try MetricsScrape.get(port: adminPort)
            func delta(_ name: String, _ labels: [(String, String)] = []) -> Double {
                after.value(name, labels) - before.value(name, labels)
            }
            let text = after.text
            // Relay: two client connections on `agents` (sender, TLS), three on `passive`.
            #expect(delta("zabbix_tee_connections_total", agents) == 2, "\(text)")
            #expect(delta("zabbix_tee_connections_total", [("listener", "passive")]) == 3)
            #expect(after.value("zabbix_tee_connections_active", agents) == 0)
            #expect(
                delta(
                    "zabbix_tee_target_connects_total",
                    [("listener", "agents"), ("target", "127.0.0.1:\(proxy.port)"), ("result", "ok")]
                ) == 2
            )
            #expect(
                after.value(
                    "zabbix_tee_target_healthy",
                    [("listener", "agents"), ("target", "127.0.0.1:\(proxy.port)")]
                ) == 1
            )
            // Bytes: the recorded connections (written by `record:`) say how many went each way.
            try await waitUntil("every recording finished", timeout: .seconds(10)) {
                let entries = try FileManager.default.contentsOfDirectory(atPath: "\(recordings)/agents")
                return try entries.allSatisfy { entry in
                    // meta.json is written when a recording starts and says finished once it ends.
                    guard let meta = FileManager.default.contents(atPath: "\(recordings)/agents/\(entry)/meta.json")
                    else { return false }
                    return try FixtureRecording(json: meta).finished == true
                }
            }
            var recorded = (client: 0.0, server: 0.0)
            for entry in try FileManager.default.contentsOfDirectory(atPath: "\(recordings)/agents") {
                let meta =
                    try JSONSerialization.jsonObject(
                        with: Data(contentsOf: URL(fileURLWithPath: "\(recordings)/agents/\(entry)/meta.json"))
                    ) as? [String: Any]
                recorded.client += Double(meta?["client_bytes"] as? Int ?? 0)
                recorded.server += Double(meta?["server_bytes"] as? Int ?? 0)
            }
            #expect(recorded.client > 0)
            #expect(
                after.value("zabbix_tee_relayed_bytes_total", agents + [("direction", "client_to_server")])
                    == recorded.client,
                "\(text)"
            )
            #expect(
                after.value("zabbix_tee_relayed_bytes_total", agents + [("direction", "server_to_client")])
                    == recorded.server
            )
            // Decoding.
            #expect(
                delta("zabbix_tee_frames_decoded_total", [("type", "sender data"), ("flags", "0x1")]) == 1,
                "\(text)"
            )
            #expect(delta("zabbix_tee_frames_decoded_total", [("type", "response"), ("flags", "0x1")]) == 1)
            #expect(delta("zabbix_tee_frames_decoded_total", [("type", "passive check"), ("flags", "0x1")]) == 3)
            #expect(delta("zabbix_tee_frames_decoded_total", [("type", "passive check reply"), ("flags", "0x1")]) == 3)
            #expect(delta("zabbix_tee_tls_connections_total") == 1)
            // Only what Zabbix accepted becomes events: the three passive checks, not the refused batch.
            #expect(delta("zabbix_tee_item_values_total") == 3)
            #expect(delta("zabbix_tee_item_values_rejected_total", [("reason", "none_processed")]) == 5, "\(text)")
            #expect(after.value("zabbix_tee_item_values_held") == 0)
            #expect(delta("zabbix_tee_events_mapped_total") == 3)
            #expect(after.value("zabbix_tee_catalog_entries") == 0)
            // Riemann.
            #expect(delta("zabbix_tee_riemann_events_queued_total") == 3)
            #expect(delta("zabbix_tee_riemann_events_acked_total") == 3)
            #expect(after.value("zabbix_tee_riemann_queue_events") == 0)
            #expect(after.value("zabbix_tee_riemann_connected", [("server", "127.0.0.1:\(riemann.port)")]) == 1)
            for reason in ["queue_full", "rejected_by_server", "delivery_attempts_exhausted", "shutdown"] {
                #expect(after.value("zabbix_tee_riemann_events_dropped_total", [("reason", reason)]) == 0)
            }
            #expect(after.value("zabbix_tee_riemann_ack_latency_seconds_count") >= 1)
            #expect(after.value("process_resident_memory_bytes") > 0)
            // Prometheus' own parser reads every line.
            // Debian's python3 (python3-prometheus-client), not whatever python3 comes first in PATH.
            let parsed = try await ProcessRunner.run(
                "/usr/bin/python3",
                [
                    "-c",
                    "import sys; from prometheus_client.parser import text_string_to_metric_families as f; print(len(list(f(sys.stdin.read()))))",
                ],
                input: text
            )
            #expect(parsed.exitCode == 0, "\(parsed)")
            #expect((Int(parsed.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 30, "\(parsed)")
        }
    }
}

import Foundation
import Riemann
import TestSupport
import Testing

/// The Riemann rows of the fault matrix (RELIABILITY.md), against the real binary: while Riemann
/// misbehaves, healthy agents keep doing the agent pattern through the tee (decoding on, one
/// event per value); every reply arrives byte for byte, the counters report the fault, and once
/// Riemann behaves again every queued event is acknowledged and the tee's descriptors and RSS
/// are back where they were after the warm-up round. What Riemann receives in each fault (nothing lost, drop policies) is pinned by
/// ``RiemannFaultTests``.
@Suite("Riemann fault matrix", .tags(.integration), .tier(.integration), .serialized, .timeLimit(.minutes(5)))
struct RiemannFaultMatrixTests {
    static let rounds = 3
    static let healthyAgents = 6
    /// How long each round's fault lasts, with the healthy agents running.
    static let faultDuration: Duration = .milliseconds(1500)

    /// RSS tolerance: as ``RelayFaultMatrixTests/rssToleranceKiB``, doubled because the Riemann
    /// queue's ring buffer and the client's batches may grow past the warm-up round's high water
    /// when a later round's backlog is larger (44-676 KiB measured).
    static let rssToleranceKiB = 2048

    enum Fault {
        case reset, neverAcknowledge, slowAcknowledge, reject, absent
    }

    /// Runs a warm-up round and `rounds` measured rounds of `fault`; returns the counters before
    /// and after the measured rounds.
    static func run(_ fault: Fault) async throws -> (before: MetricsScrape, after: MetricsScrape) {
        let zabbix = try FaultyZabbixServer.start(.answer)
        let riemann = try await RiemannTestServer.start(port: try LoopbackPort.free())
        let agentsPort = try LoopbackPort.free()
        let adminPort = try LoopbackPort.free()
        let configuration = """
            listeners:
            \(TeeProcess.listener(name: "agents", port: agentsPort, targets: [zabbix.port], extra: ["idle_timeout: 2s"]))
            riemann:
              servers: ["127.0.0.1:\(riemann.port)"]
              batch: { max_events: 50, max_delay: 20ms }
              ack_timeout: 500ms
              reconnect: { min: 50ms, max: 300ms }
              max_delivery_attempts: 1000
            admin:
              listen: "127.0.0.1:\(adminPort)"
            """
        let tee = try await TeeProcess.start(configuration: configuration, ports: [agentsPort, adminPort])
        let metrics = { try MetricsScrape.get(port: adminPort) }
        let server = [("server", "127.0.0.1:\(riemann.port)")]

        func round(_ number: Int) async throws {
            switch fault {
            case .reset: riemann.setReplyMode(.resetConnection)
            case .neverAcknowledge: riemann.setReplyMode(.neverAcknowledge)
            case .slowAcknowledge: riemann.setReplyMode(.acknowledgeAfter(.milliseconds(400)))
            case .reject: riemann.setReplyMode(.reject(error: "stream threw"))
            case .absent:
                await riemann.stopListening()
                await riemann.resetAllConnections()
            }
            let traffic = AgentTraffic.start(port: agentsPort, clients: Self.healthyAgents, firstAgent: number * 100)
            try await Task.sleep(for: Self.faultDuration)
            let counts = try await traffic.stop()
            #expect(
                counts.identical > 0 && counts.mismatches == 0 && counts.failures.isEmpty,
                "round \(number) healthy agents: \(counts)"
            )
            riemann.setReplyMode(.acknowledge)
            if case .absent = fault { try await riemann.startListening() }
            try await waitUntil("round \(number): Riemann caught up", timeout: .seconds(20)) {
                let now = try metrics()
                return now.value("zabbix_tee_riemann_queue_events") == 0
                    && now.value("zabbix_tee_riemann_in_flight_events") == 0
                    && now.value("zabbix_tee_riemann_connected", server) == 1
                    && now.value("zabbix_tee_connections_active", [("listener", "agents")]) == 0
            }
        }

        do {
            try await round(0)
            try await Task.sleep(for: .milliseconds(300))
            let baseline = try ProcessFootprint.of(pid: tee.child.pid)
            let before = try metrics()
            for number in 1...Self.rounds { try await round(number) }
            try? await waitUntil("the tee's descriptors back to \(baseline.openFiles)", timeout: .seconds(5)) {
                try ProcessFootprint.of(pid: tee.child.pid).openFiles <= baseline.openFiles
            }
            let after = try ProcessFootprint.of(pid: tee.child.pid)
            let afterMetrics = try metrics()
            print(
                "Riemann fault matrix \(fault): baseline \(baseline), after \(Self.rounds) rounds: \(after) (RSS \(after.residentKiB - baseline.residentKiB) KiB)"
            )
            #expect(after.openFiles == baseline.openFiles, "fds: \(baseline) -> \(after)")
            #expect(after.residentKiB <= baseline.residentKiB + Self.rssToleranceKiB, "RSS: \(baseline) -> \(after)")
            #expect(
                afterMetrics.value("zabbix_tee_connection_errors_total", [("listener", "agents"), ("side", "client")])
                    == 0
            )
            #expect(
                afterMetrics.value("zabbix_tee_connection_errors_total", [("listener", "agents"), ("side", "target")])
                    == 0
            )
            #expect(afterMetrics.value("zabbix_tee_riemann_events_dropped_total", [("reason", "queue_full")]) == 0)
            #expect(try await tee.stop() == 0)
            try await zabbix.stop()
            await riemann.shutdown()
            return (before, afterMetrics)
        } catch {
            _ = try? await tee.stop()
            try? await zabbix.stop()
            await riemann.shutdown()
            throw error
        }
    }

    static func delta(
        _ counters: (before: MetricsScrape, after: MetricsScrape),
        _ name: String,
        _ labels: [(String, String)] = []
    ) -> Int {
        Int(counters.after.value(name, labels) - counters.before.value(name, labels))
    }

    @Test func riemannResettingEveryConnectionLeavesAgentsUnaffectedAndIsCountedAsLostConnections() async throws {
        let counters = try await Self.run(.reset)
        #expect(Self.delta(counters, "zabbix_tee_riemann_connections_lost_total") >= Self.rounds)
        #expect(Self.delta(counters, "zabbix_tee_riemann_events_requeued_total") > 0)
    }

    @Test func riemannNeverAcknowledgingLeavesAgentsUnaffectedAndIsCountedAsAckTimeouts() async throws {
        let counters = try await Self.run(.neverAcknowledge)
        #expect(Self.delta(counters, "zabbix_tee_riemann_ack_timeouts_total") >= Self.rounds)
        #expect(Self.delta(counters, "zabbix_tee_riemann_events_requeued_total") > 0)
    }

    @Test func riemannAcknowledgingSlowlyLeavesAgentsUnaffectedAndShowsInTheAckLatency() async throws {
        let counters = try await Self.run(.slowAcknowledge)
        let latency = "zabbix_tee_riemann_ack_latency_seconds_bucket"
        let slow = Self.delta(counters, latency, [("le", "+Inf")]) - Self.delta(counters, latency, [("le", "0.25")])
        #expect(slow >= Self.rounds, "messages acknowledged after more than 250 ms")
        #expect(
            Self.delta(counters, "zabbix_tee_riemann_events_dropped_total", [("reason", "delivery_attempts_exhausted")])
                == 0
        )
    }

    @Test func riemannRejectingMessagesLeavesAgentsUnaffectedAndCountsTheDroppedEvents() async throws {
        let counters = try await Self.run(.reject)
        #expect(Self.delta(counters, "zabbix_tee_riemann_rejected_messages_total") >= Self.rounds)
        #expect(Self.delta(counters, "zabbix_tee_riemann_events_dropped_total", [("reason", "rejected_by_server")]) > 0)
    }

    @Test func riemannAbsentLeavesAgentsUnaffectedAndIsCountedAsConnectFailures() async throws {
        let counters = try await Self.run(.absent)
        #expect(Self.delta(counters, "zabbix_tee_riemann_connect_failures_total") >= Self.rounds)
        #expect(Self.delta(counters, "zabbix_tee_riemann_connections_lost_total") >= Self.rounds)
    }
}

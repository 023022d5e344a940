import Foundation
import Riemann
import TestSupport
import Testing

/// Acceptance: whatever Riemann does (absent, killed, slow, refusing, resetting), Zabbix traffic
/// through the tee gets its normal replies without added delay, memory stays bounded, the
/// counters say what happened, and what is still queued is delivered once Riemann is back.
///
/// The Zabbix side is the real Zabbix server, 6.0 and 7.0 (which stores the values: the tee emits
/// only what Zabbix accepted), and real zabbix_sender runs of the same version; the tee is the
/// real binary with its admin endpoint scraped for the counters.
@Suite(
    "Riemann faults never reach Zabbix",
    .tags(.integration),
    .tier(.integration),
    .serialized,
    .zabbixServerInstalled,
    .timeLimit(.minutes(3))
)
struct RiemannFaultTests {
    /// A tee in front of the lab's server, sending events to `riemannPort`, with /metrics on
    /// `adminPort`; a host of its own with the trapper items the runs send to.
    struct Setup {
        let host: ZabbixHostRecord
        let tee: TeeProcess
        let teePort: Int
        let adminPort: Int
        /// The Zabbix version of the server and of zabbix_sender.
        let version: ZabbixLabVersion

        static func start(
            version: ZabbixLabVersion,
            riemannPort: Int,
            queue: Int = 100_000,
            ackTimeout: String = "5s"
        ) async throws -> Setup {
            let lab = try await ZabbixServerLab.sharedOrSkip(version)
            let items = (0..<8).flatMap { run in (0..<10).map { ZabbixItemSpec.trapper("fault.run\(run).k\($0)") } }
            let host = try await lab.addHost("fault-host-\(UUID().uuidString.prefix(8).lowercased())", items: items)
            let teePort = try LoopbackPort.free()
            let adminPort = try LoopbackPort.free()
            let configuration = """
                listeners:
                \(TeeProcess.listener(name: "agents", port: teePort, targets: [lab.port]))
                riemann:
                  servers: ["127.0.0.1:\(riemannPort)"]
                  batch: { max_events: 50, max_delay: 20ms }
                  queue: { max_events: \(queue), overflow: drop-oldest }
                  ack_timeout: \(ackTimeout)
                  reconnect: { min: 50ms, max: 500ms }
                admin:
                  listen: "127.0.0.1:\(adminPort)"
                """
            let tee = try await TeeProcess.start(configuration: configuration, ports: [teePort, adminPort])
            return Setup(host: host, tee: tee, teePort: teePort, adminPort: adminPort, version: version)
        }

        func stop() async throws {
            #expect(try await self.tee.stop() == 0)
        }

        /// One zabbix_sender run of 10 values through the tee; returns how long it took. The
        /// server stores them all: "processed: 10; failed: 0".
        func send(run: Int) async throws -> Duration {
            let values = (0..<10).map {
                ZabbixSender.Value(host: self.host.name, key: "fault.run\(run).k\($0)", value: "\($0)")
            }
            let started = ContinuousClock.now
            let sent = try await ZabbixSender.send(port: self.teePort, values: values, version: self.version)
            let elapsed = ContinuousClock.now - started
            #expect(sent.processed == 10 && sent.total == 10, "run \(run): the server's answer: \(sent)")
            return elapsed
        }

        func metrics() throws -> MetricsScrape { try MetricsScrape.get(port: self.adminPort) }
    }

    /// Normal sender runs take tens of milliseconds; a tee that waited for Riemann would take the
    /// fault's time (seconds). The bound is far above normal and far below the fault.
    static let promptReply: Duration = .milliseconds(1500)

    static func services(_ server: RiemannTestServer) -> Set<String> {
        Set(server.receivedEvents.compactMap(\.service))
    }

    static func allServices(runs: Range<Int>) -> Set<String> {
        Set(runs.flatMap { run in (0..<10).map { "fault.run\(run).k\($0)" } })
    }

    @Test(arguments: ZabbixLabVersion.allCases)
    func riemannAbsentAtStartThenAppearingGetsEverythingQueued(_ version: ZabbixLabVersion) async throws {
        let riemannPort = try LoopbackPort.free()
        let setup = try await Setup.start(version: version, riemannPort: riemannPort)
        for run in 0..<5 { #expect(try await setup.send(run: run) < Self.promptReply) }
        try await waitUntil("50 events queued", timeout: .seconds(10)) {
            try setup.metrics().value("zabbix_tee_riemann_queue_events") == 50
        }
        #expect(
            try setup.metrics().value("zabbix_tee_riemann_connected", [("server", "127.0.0.1:\(riemannPort)")]) == 0
        )
        let riemann = try await RiemannTestServer.start(port: riemannPort)
        try await riemann.waitUntil(timeout: .seconds(20)) {
            Self.services($0).isSuperset(of: Self.allServices(runs: 0..<5))
        }
        try await waitUntil("the queue to drain", timeout: .seconds(10)) {
            try setup.metrics().value("zabbix_tee_riemann_queue_events") == 0
        }
        #expect(try setup.metrics().value("zabbix_tee_riemann_events_acked_total") >= 50)
        try await setup.stop()
        await riemann.shutdown()
    }

    @Test(arguments: ZabbixLabVersion.allCases)
    func riemannKilledMidStreamLosesNothingOnceItIsBack(_ version: ZabbixLabVersion) async throws {
        let riemannPort = try LoopbackPort.free()
        let riemann = try await RiemannTestServer.start(port: riemannPort)
        let setup = try await Setup.start(version: version, riemannPort: riemannPort)
        for run in 0..<3 { #expect(try await setup.send(run: run) < Self.promptReply) }
        try await riemann.waitUntil(timeout: .seconds(10)) {
            Self.services($0).isSuperset(of: Self.allServices(runs: 0..<3))
        }
        await riemann.stopListening()
        await riemann.resetAllConnections()
        for run in 3..<8 { #expect(try await setup.send(run: run) < Self.promptReply) }
        try await riemann.startListening()
        try await riemann.waitUntil(timeout: .seconds(20)) {
            Self.services($0).isSuperset(of: Self.allServices(runs: 0..<8))
        }
        let metrics = try setup.metrics()
        #expect(metrics.value("zabbix_tee_riemann_connections_lost_total") >= 1)
        #expect(metrics.value("zabbix_tee_riemann_events_dropped_total", [("reason", "queue_full")]) == 0)
        try await setup.stop()
        await riemann.shutdown()
    }

    @Test(arguments: ZabbixLabVersion.allCases)
    func slowAcknowledgementsDoNotDelayZabbixAndEverythingArrives(_ version: ZabbixLabVersion) async throws {
        let riemann = try await RiemannTestServer.start(
            port: try LoopbackPort.free(),
            replyMode: .acknowledgeAfter(.seconds(3))
        )
        let setup = try await Setup.start(version: version, riemannPort: riemann.port, ackTimeout: "10s")
        for run in 0..<6 { #expect(try await setup.send(run: run) < Self.promptReply, "run \(run)") }
        #expect(try setup.metrics().value("zabbix_tee_riemann_events_acked_total") < 60, "acks really are slow")
        try await riemann.waitUntil(timeout: .seconds(30)) {
            Self.services($0).isSuperset(of: Self.allServices(runs: 0..<6))
        }
        try await waitUntil("every event acknowledged", timeout: .seconds(30)) {
            try setup.metrics().value("zabbix_tee_riemann_events_acked_total") >= 60
        }
        try await setup.stop()
        await riemann.shutdown()
    }

    @Test(arguments: ZabbixLabVersion.allCases)
    func rejectedMessagesAreCountedAsDroppedByTheServer(_ version: ZabbixLabVersion) async throws {
        let riemann = try await RiemannTestServer.start(
            port: try LoopbackPort.free(),
            replyMode: .reject(error: "stream threw")
        )
        let setup = try await Setup.start(version: version, riemannPort: riemann.port)
        for run in 0..<3 { #expect(try await setup.send(run: run) < Self.promptReply) }
        try await waitUntil("30 events rejected", timeout: .seconds(10)) {
            try setup.metrics().value("zabbix_tee_riemann_events_dropped_total", [("reason", "rejected_by_server")])
                == 30
        }
        #expect(try setup.metrics().value("zabbix_tee_riemann_rejected_messages_total") >= 1)
        // Riemann accepts again: new events go through.
        riemann.setReplyMode(.acknowledge)
        #expect(try await setup.send(run: 3) < Self.promptReply)
        try await riemann.waitUntil(timeout: .seconds(10)) { server in
            server.receivedEvents.contains { $0.service == "fault.run3.k9" }
        }
        try await setup.stop()
        await riemann.shutdown()
    }

    @Test(arguments: ZabbixLabVersion.allCases)
    func resetConnectionsAreRetriedAndEverythingArrivesOnceRiemannBehaves(_ version: ZabbixLabVersion) async throws {
        let riemann = try await RiemannTestServer.start(port: try LoopbackPort.free(), replyMode: .resetConnection)
        let setup = try await Setup.start(version: version, riemannPort: riemann.port)
        for run in 0..<4 { #expect(try await setup.send(run: run) < Self.promptReply) }
        try await waitUntil("connections reset", timeout: .seconds(10)) {
            try setup.metrics().value("zabbix_tee_riemann_connections_lost_total") >= 2
        }
        riemann.setReplyMode(.acknowledge)
        try await riemann.waitUntil(timeout: .seconds(20)) {
            Self.services($0).isSuperset(of: Self.allServices(runs: 0..<4))
        }
        try await setup.stop()
        await riemann.shutdown()
    }

    @Test(arguments: ZabbixLabVersion.allCases)
    func overflowingQueueDropsOldestCountedAndMemoryStaysBounded(_ version: ZabbixLabVersion) async throws {
        let riemannPort = try LoopbackPort.free()  // nothing listens: everything queues
        let setup = try await Setup.start(version: version, riemannPort: riemannPort, queue: 25)
        for run in 0..<5 { #expect(try await setup.send(run: run) < Self.promptReply) }
        try await waitUntil("drops counted", timeout: .seconds(10)) {
            try setup.metrics().value("zabbix_tee_riemann_events_dropped_total", [("reason", "queue_full")]) == 25
        }
        let metrics = try setup.metrics()
        #expect(metrics.value("zabbix_tee_riemann_queue_events") == 25)
        #expect(metrics.value("process_resident_memory_bytes") < 200 * 1024 * 1024)
        // drop-oldest: the newest 25 events are the ones delivered once Riemann appears.
        let riemann = try await RiemannTestServer.start(port: riemannPort)
        try await riemann.waitUntil(timeout: .seconds(20)) { $0.receivedEvents.count >= 25 }
        #expect(Self.services(riemann).isSubset(of: Self.allServices(runs: 2..<5)))
        try await setup.stop()
        await riemann.shutdown()
    }
}

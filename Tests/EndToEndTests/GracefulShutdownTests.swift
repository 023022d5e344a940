import Foundation
import Riemann
import TestSupport
import Testing

/// Acceptance: SIGTERM lets a transfer in progress finish, delivers the queued events to a slow
/// Riemann within the flush deadline, writes the catalog and exits 0. The events are of values the
/// real Zabbix server (6.0 and 7.0) accepted (the tee emits nothing else).
@Suite(
    "graceful shutdown",
    .tags(.integration),
    .tier(.integration),
    .zabbixServerInstalled,
    .timeLimit(.minutes(2))
)
struct GracefulShutdownTests {
    @Test(arguments: ZabbixLabVersion.allCases)
    func sigtermMidTransferFinishesTheTransferFlushesEventsSavesTheCatalogAndExitsZero(
        _ version: ZabbixLabVersion
    ) async throws {
        let pattern = PayloadPattern.shared
        let total = 64 << 20
        // The target reads slowly: the transfer takes a few seconds.
        let target = try SlowBulkTarget(total: total, pause: .milliseconds(2))
        let lab = try await ZabbixServerLab.sharedOrSkip(version)
        let host = try await lab.addHost(
            "shutdown-host-\(UUID().uuidString.prefix(8).lowercased())",
            items: (0..<40).map { .trapper("k\($0)") }
        )
        let riemann = try await RiemannTestServer.start(
            port: try LoopbackPort.free(),
            replyMode: .acknowledgeAfter(.seconds(2))
        )
        let directory = try ZabbixLabDirectory.create("shutdown")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bulkPort = try LoopbackPort.free()
        let agentsPort = try LoopbackPort.free()
        let configuration = """
            shutdown_timeout: 60s
            listeners:
            \(TeeProcess.listener(name: "bulk", port: bulkPort, targets: [target.port], extra: ["decode: false"]))
            \(TeeProcess.listener(name: "agents", port: agentsPort, targets: [lab.port]))
            catalog:
              path: \(directory)/catalog.jsonl
            riemann:
              servers: ["127.0.0.1:\(riemann.port)"]
              batch: { max_events: 10, max_delay: 10ms }
              in_flight: 1
              ack_timeout: 10s
              flush_timeout: 20s
            """
        let tee = try await TeeProcess.start(configuration: configuration, ports: [bulkPort, agentsPort])
        // Events queued behind slow acks: 40 values, 10 per message, one message in flight, 2 s per ack.
        let values = (0..<40).map { ZabbixSender.Value(host: host.name, key: "k\($0)", value: "\($0)") }
        let sent = try await ZabbixSender.send(port: agentsPort, values: values, version: version)
        #expect(sent.processed == 40, "\(sent)")
        // The bulk transfer, under way when SIGTERM arrives.
        let client = TestThreads.start { () throws -> [UInt8] in
            let socket = try BlockingSocket.connect(port: bulkPort)
            socket.setReceiveTimeout(seconds: 90)
            try pattern.send(seed: 9, length: total, on: socket)
            return try socket.receiveAll()
        }
        try await waitUntil("the bulk transfer under way", timeout: .seconds(20)) { target.receivedBytes > 0 }
        #expect(riemann.receivedEvents.count < 40, "events are still queued when the signal comes")
        let exitCode = try await tee.stop(signal: SIGTERM, timeout: .seconds(90))
        #expect(exitCode == 0)
        #expect(try await client.value == Array("done".utf8), "the transfer finished and its reply arrived")
        #expect(target.received == pattern.checksum(seed: 9, length: total))
        #expect(
            Set(riemann.receivedEvents.compactMap(\.service)) == Set((0..<40).map { "k\($0)" }),
            "every queued event was delivered"
        )
        #expect(FileManager.default.fileExists(atPath: "\(directory)/catalog.jsonl"), "the catalog was written")
        await riemann.shutdown()
        target.close()
    }
}

import Foundation
import Riemann
import TestSupport
import Testing

/// Acceptance for "an event means Zabbix stored this value", with the real Zabbix server (6.0 and
/// 7.0, each on PostgreSQL) behind the tee and real `zabbix_sender` and `zabbix_agentd` of the same
/// version in front of it: values the server refuses produce no event, accepted ones exactly one, a
/// partly accepted batch follows `mapping.partial`, and an agent's retry after a lost reply is
/// emitted once.
@Suite(
    "zabbix-tee emits what the real server accepted",
    .tags(.integration),
    .tier(.integration),
    .serialized,
    .zabbixServerInstalled,
    .timeLimit(.minutes(3))
)
struct EmitOnAcceptanceEndToEndTests {
    static func lab(_ version: ZabbixLabVersion) async throws -> ZabbixServerLab {
        try await ZabbixServerLab.sharedOrSkip(version)
    }

    static func uniqueName(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())" }

    static func configuration(port: Int, target: Int, riemann: Int, admin: Int, mapping: String = "") -> String {
        """
        listeners:
        \(TeeProcess.listener(name: "trapper", port: port, targets: [target]))
        riemann:
          servers: ["127.0.0.1:\(riemann)"]
          batch: { max_events: 100, max_delay: 20ms }
        admin:
          listen: "127.0.0.1:\(admin)"
        \(mapping)
        """
    }

    /// A tee in front of the lab server with its own Riemann test server and admin port.
    static func withTee(
        lab: ZabbixServerLab,
        mapping: String = "",
        _ body: (_ port: Int, _ riemann: RiemannTestServer, _ admin: Int) async throws -> Void
    ) async throws {
        let riemann = try await RiemannTestServer.start()
        let port = try LoopbackPort.free()
        let admin = try LoopbackPort.free()
        do {
            try await TeeProcess.withRunning(
                configuration: Self.configuration(
                    port: port,
                    target: lab.port,
                    riemann: riemann.port,
                    admin: admin,
                    mapping: mapping
                ),
                ports: [port, admin]
            ) { _ in
                try await body(port, riemann, admin)
            }
        } catch {
            await riemann.shutdown()
            throw error
        }
        await riemann.shutdown()
    }

    /// Sends an accepted value on its own connection and waits for its event: every connection
    /// before it has been decoded by then (one decode worker, connections in order).
    static func sendMarker(
        port: Int,
        host: ZabbixHostRecord,
        riemann: RiemannTestServer,
        version: ZabbixLabVersion
    ) async throws {
        let marker = UUID().uuidString
        let sent = try await ZabbixSender.send(
            port: port,
            host: host.name,
            key: "tee.marker",
            value: marker,
            version: version
        )
        #expect(sent.processed == 1, "\(sent)")
        try await riemann.waitUntil(timeout: .seconds(20)) { server in
            server.receivedEvents.contains { $0.host == host.name && $0.description == marker }
        }
    }

    static func events(_ riemann: RiemannTestServer, host: String, service: String) -> [RiemannEvent] {
        riemann.receivedEvents.filter { $0.host == host && $0.service == service }
    }

    static func attribute(_ event: RiemannEvent, _ key: String) -> String? {
        event.attributes.first { $0.key == key }?.value ?? nil
    }

    @Test(arguments: ZabbixLabVersion.allCases)
    func aValueTheServerRefusesBecomesNoEventAndIsCounted(_ version: ZabbixLabVersion) async throws {
        let lab = try await Self.lab(version)
        let host = try await lab.addHost(
            Self.uniqueName("tee-refused"),
            items: [.trapper("tee.int"), .trapper("tee.marker", .text)]
        )
        try await Self.withTee(lab: lab) { port, riemann, admin in
            let nobody = Self.uniqueName("nobody")
            // zabbix_sender -s nobody: the server answers processed: 0; failed: 1.
            let refused = try await ZabbixSender.send(
                port: port,
                host: nobody,
                key: "tee.int",
                value: "7",
                version: version
            )
            #expect(refused.processed == 0 && refused.failed == 1, "\(refused)")
            try await Self.sendMarker(port: port, host: host, riemann: riemann, version: version)
            #expect(!riemann.receivedEvents.contains { $0.host == nobody }, "a refused value is no event")
            let metrics = try MetricsScrape.get(port: admin)
            #expect(
                metrics.value("zabbix_tee_item_values_rejected_total", [("reason", "none_processed")]) == 1,
                "\(metrics.text)"
            )
        }
    }

    @Test(arguments: ZabbixLabVersion.allCases)
    func anAcceptedValueBecomesExactlyOneEvent(_ version: ZabbixLabVersion) async throws {
        let lab = try await Self.lab(version)
        let host = try await lab.addHost(
            Self.uniqueName("tee-accepted"),
            items: [.trapper("tee.int"), .trapper("tee.marker", .text)]
        )
        try await Self.withTee(lab: lab) { port, riemann, _ in
            let sent = try await ZabbixSender.send(
                port: port,
                host: host.name,
                key: "tee.int",
                value: "4242",
                version: version
            )
            #expect(sent.processed == 1 && sent.failed == 0, "\(sent)")
            #expect(try await lab.waitForHistory(host, "tee.int").map(\.value) == ["4242"])
            try await Self.sendMarker(port: port, host: host, riemann: riemann, version: version)
            let events = Self.events(riemann, host: host.name, service: "tee.int")
            #expect(events.count == 1, "\(events)")
            #expect(events.first?.metric == .sint64(4242))
            #expect(events.first.flatMap { Self.attribute($0, "zabbix_batch_failed") } == nil)
        }
    }

    @Test(arguments: ZabbixLabVersion.allCases, ["emit", "drop"])
    func aPartlyAcceptedBatchFollowsMappingPartial(_ version: ZabbixLabVersion, _ partial: String) async throws {
        let lab = try await Self.lab(version)
        let host = try await lab.addHost(
            Self.uniqueName("tee-mixed"),
            items: [.trapper("tee.int"), .trapper("tee.marker", .text)]
        )
        try await Self.withTee(lab: lab, mapping: "mapping:\n  partial: \(partial)") { port, riemann, admin in
            // One row for an item the host has, one for a key it does not: processed: 1; failed: 1.
            let sent = try await ZabbixSender.send(
                port: port,
                values: [
                    .init(host: host.name, key: "tee.int", value: "11"),
                    .init(host: host.name, key: "tee.no.such.key", value: "12"),
                ],
                version: version
            )
            #expect(sent.processed == 1 && sent.failed == 1, "\(sent)")
            try await Self.sendMarker(port: port, host: host, riemann: riemann, version: version)
            let mixed = riemann.receivedEvents.filter { $0.host == host.name && $0.service != "tee.marker" }
            if partial == "emit" {
                // Zabbix does not say which row failed: both are emitted, each saying one of its batch failed.
                #expect(Set(mixed.compactMap(\.service)) == ["tee.int", "tee.no.such.key"], "\(mixed)")
                #expect(mixed.allSatisfy { Self.attribute($0, "zabbix_batch_failed") == "1" }, "\(mixed)")
            } else {
                #expect(mixed.isEmpty, "\(mixed)")
                let metrics = try MetricsScrape.get(port: admin)
                #expect(
                    metrics.value("zabbix_tee_item_values_rejected_total", [("reason", "partial_batch")]) == 2,
                    "\(metrics.text)"
                )
            }
        }
    }

    @Test(arguments: ZabbixLabVersion.allCases)
    func anAgentsRetryAfterALostReplyIsEmittedOnce(_ version: ZabbixLabVersion) async throws {
        let lab = try await Self.lab(version)
        let host = try await lab.addHost(
            Self.uniqueName("tee-retry"),
            items: [.active(ZabbixTestItems.intKey, .unsigned)]
        )
        try await Self.withTee(lab: lab) { port, riemann, admin in
            // agentd → a relay that loses the first `agent data` reply → the tee → the server.
            let relay = try ReplyDroppingRelay(target: port, dropping: 1)
            defer { relay.stop() }
            let options = ZabbixAgentd.Options(
                hostname: host.name,
                activeServer: "127.0.0.1:\(relay.port)",
                version: version
            )
            try await ZabbixAgentd.withRunning(options) { agent in
                try await waitUntil("a reply to be lost and the agent to send again", timeout: .seconds(30)) {
                    relay.dropped == 1 && relay.forwarded >= 3
                }
                #expect(agent.log().contains("started to fail"), "the agent saw its upload fail and kept the batch")
            }
            // The agent has stopped: every value it sent is in history, or never will be.
            var stored: [ZabbixHistoryValue] = []
            var events: [RiemannEvent] = []
            try await waitUntil("one event per stored value", timeout: .seconds(30), interval: .milliseconds(500)) {
                stored = try await lab.database.history(
                    itemid: host.itemid(ZabbixTestItems.intKey),
                    valueType: .unsigned
                )
                events = Self.events(riemann, host: host.name, service: ZabbixTestItems.intKey)
                return !stored.isEmpty && events.count == stored.count
            }
            let storedTimes = stored.map { Int64($0.clock) * 1_000_000 + Int64($0.ns) / 1000 }.sorted()
            let eventTimes = events.compactMap(\.timeMicros).sorted()
            #expect(eventTimes == storedTimes, "each stored value exactly once, nothing else")
            let metrics = try MetricsScrape.get(port: admin)
            #expect(
                metrics.value("zabbix_tee_item_values_duplicate_total") >= 1,
                "the retried rows were dropped as duplicates"
            )
        }
    }
}

import Foundation
import Riemann
import TestSupport
import Testing

/// Acceptance: real Zabbix programs (6.0 and 7.0) → zabbix-tee → real Zabbix server of the same
/// version, and the Riemann-protocol test server receives exactly the events the values call for,
/// while Zabbix gets exactly the answers it gets without the tee.
@Suite("zabbix-tee events from real Zabbix traffic", .tags(.integration), .tier(.integration), .timeLimit(.minutes(3)))
struct TeeToRiemannTests {
    static func configuration(port: Int, target: Int, riemann: Int, extra: String = "") -> String {
        """
        log_level: info
        listeners:
        \(TeeProcess.listener(name: "agents", port: port, targets: [target]))
        riemann:
          servers: ["127.0.0.1:\(riemann)"]
          batch: { max_events: 100, max_delay: 50ms }
        mapping:
          attributes: { env: test }
        \(extra)
        """
    }

    static func uniqueName(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())" }

    static func attributes(_ event: RiemannEvent) -> [String: String] {
        Dictionary(event.attributes.map { ($0.key, $0.value ?? "") }, uniquingKeysWith: { first, _ in first })
    }

    @Test(arguments: ZabbixLabVersion.allCases)
    func senderBatchWithTimestampsBecomesExactlyTheExpectedEvents(_ version: ZabbixLabVersion) async throws {
        let lab = try await ZabbixServerLab.sharedOrSkip(version)
        let host = try await lab.addHost(
            Self.uniqueName("tee-events"),
            items: [
                .trapper("trap.int"), .trapper("trap.float", .float), .trapper("trap.text", .text),
            ]
        )
        let riemann = try await RiemannTestServer.start()
        let port = try LoopbackPort.free()
        try await TeeProcess.withRunning(
            configuration: Self.configuration(port: port, target: lab.port, riemann: riemann.port),
            ports: [port]
        ) { _ in
            // zabbix_sender -T: "host key timestamp value", one connection, three values. (The server
            // does not store values older than the item's history period, so the clocks are recent.)
            let clock = Int64(Date().timeIntervalSince1970) - 100
            let input =
                [
                    "\"\(host.name)\" trap.int \(clock + 1) 42",
                    "\"\(host.name)\" trap.float \(clock + 2) 3.25",
                    "\"\(host.name)\" trap.text \(clock + 3) \"hello riemann\"",
                ].joined(separator: "\n") + "\n"
            let sent = try await ProcessRunner.run(
                version.programs.sender,
                ["-z", "127.0.0.1", "-p", String(port), "-T", "-i", "-"],
                input: input
            )
            #expect(sent.exitCode == 0, "\(sent)")
            #expect(sent.standardOutput.contains("processed: 3; failed: 0; total: 3"), "\(sent)")

            let events = try await riemann.waitForEvents(count: 3).filter { $0.host == host.name }
            #expect(events.count == 3)
            let byService = Dictionary(events.map { ($0.service ?? "", $0) }, uniquingKeysWith: { first, _ in first })
            #expect(Set(byService.keys) == ["trap.int", "trap.float", "trap.text"])
            #expect(byService["trap.int"]?.metric == .sint64(42))
            #expect(byService["trap.float"]?.metric == .double(3.25))
            #expect(byService["trap.text"]?.metric == nil)
            #expect(byService["trap.text"]?.description == "hello riemann")
            // Clocks from -T, and the server stored the same ones.
            #expect(byService["trap.int"]?.time == clock + 1)
            #expect(byService["trap.text"]?.time == clock + 3)
            let stored = try await lab.waitForHistory(host, "trap.int")
            let micros = Int64(stored[0].clock) * 1_000_000 + Int64(stored[0].ns) / 1000
            #expect(byService["trap.int"]?.timeMicros == micros)
            for event in events {
                #expect(event.tags == ["zabbix"])
                #expect(event.ttl == 300)
                #expect(event.state == "ok")
                let attributes = Self.attributes(event)
                #expect(attributes["env"] == "test")
                #expect(attributes["zabbix_request"] == "sender data")
                #expect(attributes["zabbix_listener"] == "agents")
            }
        }
        await riemann.shutdown()
    }

    /// agent2 sends itemids only, and from 7.0 on so does agentd: their keys come from the catalog
    /// the tee learnt from the `active checks` replies.
    @Test(arguments: ZabbixLabVersion.allCases)
    func activeAgentdAndAgent2ValuesBecomeEventsThatMatchTheServersHistory(_ version: ZabbixLabVersion) async throws {
        let lab = try await ZabbixServerLab.sharedOrSkip(version)
        let items: [ZabbixItemSpec] = [
            .active(ZabbixTestItems.intKey, .unsigned), .active(ZabbixTestItems.floatKey, .float),
            .active(ZabbixTestItems.textKey, .string), .active(Self.unsupportedKey, .text),
        ]
        let agentdHost = try await lab.addHost(Self.uniqueName("tee-agentd"), items: items)
        let agent2Host = try await lab.addHost(Self.uniqueName("tee-agent2"), items: items)
        let riemann = try await RiemannTestServer.start()
        let port = try LoopbackPort.free()
        try await TeeProcess.withRunning(
            configuration: Self.configuration(port: port, target: lab.port, riemann: riemann.port),
            ports: [port]
        ) { _ in
            let tee = "127.0.0.1:\(port)"
            try await ZabbixAgentd.withRunning(
                ZabbixAgentd.Options(hostname: agentdHost.name, activeServer: tee, version: version)
            ) { _ in
                try await ZabbixAgent2.withRunning(
                    ZabbixAgent2.Options(hostname: agent2Host.name, activeServer: tee, version: version)
                ) { _ in
                    try await Self.expectAgentEvents(host: agentdHost, lab: lab, riemann: riemann)
                    try await Self.expectAgentEvents(host: agent2Host, lab: lab, riemann: riemann)
                    // Itemid-only rows: their keys came from the catalog.
                    let itemidOnly = version.isAtLeast7 ? [agentdHost, agent2Host] : [agent2Host]
                    for host in itemidOnly {
                        let int = riemann.receivedEvents.first {
                            $0.host == host.name && $0.service == ZabbixTestItems.intKey
                        }
                        let itemid = int.flatMap { Self.attributes($0)["zabbix_itemid"] }
                        #expect(itemid == String(host.itemid(ZabbixTestItems.intKey)), "\(host.name)")
                    }
                }
            }
        }
        await riemann.shutdown()
    }

    static let unsupportedKey = "vfs.file.contents[/nonexistent/zabbix-tee]"

    static func expectAgentEvents(host: ZabbixHostRecord, lab: ZabbixServerLab, riemann: RiemannTestServer) async throws
    {
        let stored = try await lab.waitForHistory(host, ZabbixTestItems.intKey)
        let name = host.name
        let wanted: Set<String> = [
            ZabbixTestItems.intKey, ZabbixTestItems.floatKey, ZabbixTestItems.textKey, Self.unsupportedKey,
        ]
        try await riemann.waitUntil(timeout: .seconds(30)) { server in
            Set(server.receivedEvents.filter { $0.host == name }.compactMap(\.service)).isSuperset(of: wanted)
        }
        let events = riemann.receivedEvents.filter { $0.host == name }
        let int = events.first { $0.service == ZabbixTestItems.intKey }
        #expect(int?.metric == .sint64(42), "\(name)")
        #expect(int.map { Self.attributes($0)["zabbix_request"] } == "agent data")
        // The event for the value the server stored carries the server's clock and ns.
        let micros = stored.map { Int64($0.clock) * 1_000_000 + Int64($0.ns) / 1000 }
        let matching = events.contains { $0.service == ZabbixTestItems.intKey && micros.contains($0.timeMicros ?? -1) }
        #expect(matching, "\(name): an event with the stored clock/ns")
        #expect(events.first { $0.service == ZabbixTestItems.floatKey }?.metric == .double(3.25))
        let text = events.first { $0.service == ZabbixTestItems.textKey }
        #expect(text?.metric == nil)
        #expect(text?.description == ZabbixTestItems.textValue)
        let unsupported = events.first { $0.service == Self.unsupportedKey }
        #expect(unsupported?.state == "critical")
        #expect(unsupported?.metric == nil)
        #expect(unsupported?.description?.isEmpty == false)
    }

    /// Plain-text passive checks (6.0) and JSON ones (7.0), from zabbix_get of the agent's version.
    @Test(arguments: ZabbixLabVersion.allCases)
    func passiveChecksThroughTheTeeBecomeEventsForTheAgentAddress(_ version: ZabbixLabVersion) async throws {
        try version.requirePrograms()
        try await Self.expectPassiveEvents(agent: version, get: version)
    }

    /// zabbix_get 7.0 against a 6.0 agent: the agent refuses the JSON request (`ZBX_NOTSUPPORTED`)
    /// and the plain-text retry gets the value. Only the retry's value is an event: the refusal
    /// is not the item being unsupported.
    @Test func passiveCheckFallbackToPlainTextIsOneEventNotACriticalOne() async throws {
        try ZabbixLabVersion.v6_0.requirePrograms()
        try ZabbixLabVersion.v7_0.requirePrograms()
        try await Self.expectPassiveEvents(agent: .v6_0, get: .v7_0)
    }

    /// `zabbix_get` of `get`'s version through the tee to agentd of `agent`'s version: lab.int,
    /// then no.such.key, become exactly one event each, in that order.
    static func expectPassiveEvents(agent version: ZabbixLabVersion, get: ZabbixLabVersion) async throws {
        let riemann = try await RiemannTestServer.start()
        try await ZabbixAgentd.withRunning(ZabbixAgentd.Options(version: version)) { agent in
            let port = try LoopbackPort.free()
            try await TeeProcess.withRunning(
                configuration: Self.configuration(port: port, target: agent.port, riemann: riemann.port),
                ports: [port]
            ) { _ in
                #expect(
                    try await ZabbixGet.get(port: port, key: ZabbixTestItems.intKey, version: get).value
                        == ZabbixTestItems.intValue
                )
                #expect(
                    try await ZabbixGet.get(port: port, key: "no.such.key", version: get).value.hasPrefix(
                        "ZBX_NOTSUPPORTED"
                    )
                )
                // The second check's event comes after the first's: once it is there, any event of the
                // first check (a false "not supported" from a refused JSON attempt) is there too.
                try await riemann.waitUntil(timeout: .seconds(20)) {
                    $0.receivedEvents.contains { $0.service == "no.such.key" }
                }
                let events = riemann.receivedEvents
                #expect(events.count == 2, "\(events.map { "\($0.service ?? "") \($0.state ?? "")" })")
                let int = events.first { $0.service == ZabbixTestItems.intKey }
                #expect(int?.metric == .sint64(42))
                #expect(int?.state == "ok")
                #expect(int?.host == "127.0.0.1")
                #expect(events.first { $0.service == "no.such.key" }?.state == "critical")
            }
        }
        await riemann.shutdown()
    }
}

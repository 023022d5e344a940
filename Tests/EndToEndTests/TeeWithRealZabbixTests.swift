import Foundation
import TestSupport
import Testing

/// Acceptance: real Zabbix 6.0 and 7.0 programs talk through a running `zabbix-tee` exactly as
/// they do without it.
@Suite("zabbix-tee between real Zabbix programs", .tags(.integration), .tier(.integration), .timeLimit(.minutes(3)))
struct TeeWithRealZabbixTests {
    static func teeConfiguration(port: Int, target: Int) -> String {
        "log_level: debug\nlisteners:\n" + TeeProcess.listener(name: "zabbix", port: port, targets: [target])
    }

    static let passiveKeys = [
        "agent.ping", ZabbixTestItems.intKey, ZabbixTestItems.floatKey, ZabbixTestItems.textKey,
        ZabbixTestItems.bigTextKey, "no.such.key", "vfs.file.contents[/nonexistent/file]",
    ]

    /// zabbix_get of the agent's version: plain-text keys (6.0), JSON passive checks (7.0).
    @Test(arguments: ZabbixLabVersion.allCases, ZabbixAgentKind.allCases)
    func zabbixGetThroughTheTeeAnswersLikeTheAgentItselfIncludingUnsupportedKeys(
        _ version: ZabbixLabVersion,
        _ agent: ZabbixAgentKind
    ) async throws {
        try version.requirePrograms()
        try await agent.withRunning(ZabbixAgentOptions(version: version)) { daemon in
            let port = try LoopbackPort.free()
            try await TeeProcess.withRunning(
                configuration: Self.teeConfiguration(port: port, target: daemon.port),
                ports: [port]
            ) { tee in
                for key in Self.passiveKeys {
                    let direct = try await ZabbixGet.get(port: daemon.port, key: key, version: version)
                    let through = try await ZabbixGet.get(port: port, key: key, version: version)
                    #expect(through.value == direct.value, "\(key)")
                    #expect(through.exitCode == direct.exitCode, "\(key)")
                }
                let unsupported = try await ZabbixGet.get(port: port, key: "no.such.key", version: version)
                #expect(unsupported.value.hasPrefix("ZBX_NOTSUPPORTED"))
                let big = try await ZabbixGet.get(port: port, key: ZabbixTestItems.bigTextKey, version: version)
                #expect(big.value == ZabbixTestItems.bigTextValue)
                #expect(tee.log().contains("connection relayed"))
            }
        }
    }

    /// zabbix_get 7.0 against a 6.0 agent through the tee: its JSON attempt is refused, its
    /// plain-text retry answered, both relayed, and the answers are the agent's own.
    @Test(arguments: ZabbixAgentKind.allCases)
    func zabbixGet70FallsBackToPlainTextThroughTheTeeWithA60Agent(_ agent: ZabbixAgentKind) async throws {
        try ZabbixLabVersion.v6_0.requirePrograms()
        try ZabbixLabVersion.v7_0.requirePrograms()
        try await agent.withRunning(ZabbixAgentOptions(version: .v6_0)) { daemon in
            let port = try LoopbackPort.free()
            try await TeeProcess.withRunning(
                configuration: Self.teeConfiguration(port: port, target: daemon.port),
                ports: [port]
            ) { _ in
                for key in Self.passiveKeys {
                    let direct = try await ZabbixGet.get(port: daemon.port, key: key, version: .v7_0)
                    let through = try await ZabbixGet.get(port: port, key: key, version: .v7_0)
                    #expect(through.value == direct.value, "\(key)")
                    #expect(through.exitCode == direct.exitCode, "\(key)")
                }
                let int = try await ZabbixGet.get(port: port, key: ZabbixTestItems.intKey, version: .v7_0)
                #expect(int.value == ZabbixTestItems.intValue)
            }
        }
    }

    @Test(arguments: ZabbixLabVersion.allCases)
    func zabbixSenderThroughTheTeeGetsTheProxysOwnResponse(_ version: ZabbixLabVersion) async throws {
        try version.requirePrograms()
        try await ZabbixProxy.withRunning(ZabbixProxy.Options(version: version)) { proxy in
            let port = try LoopbackPort.free()
            try await TeeProcess.withRunning(
                configuration: Self.teeConfiguration(port: port, target: proxy.port),
                ports: [port]
            ) { _ in
                let values = (0..<300).map {
                    ZabbixSender.Value(host: "tee-unknown-host", key: "trap.\($0)", value: "\($0)")
                }
                let direct = try await ZabbixSender.send(port: proxy.port, values: values, version: version)
                let through = try await ZabbixSender.send(port: port, values: values, version: version)
                #expect(direct.processed == 0 && direct.failed == 300 && direct.total == 300, "\(direct)")
                #expect(through.processed == direct.processed, "\(through)")
                #expect(through.failed == direct.failed, "\(through)")
                #expect(through.total == direct.total, "\(through)")
                #expect(through.exitCode == direct.exitCode)
            }
        }
    }

    @Test(arguments: ZabbixLabVersion.allCases)
    func activeAgentdThroughTheTeeHearsFromTheProxy(_ version: ZabbixLabVersion) async throws {
        try version.requirePrograms()
        try await ZabbixProxy.withRunning(ZabbixProxy.Options(version: version)) { proxy in
            let port = try LoopbackPort.free()
            try await TeeProcess.withRunning(
                configuration: Self.teeConfiguration(port: port, target: proxy.port),
                ports: [port]
            ) { tee in
                let options = ZabbixAgentd.Options(
                    hostname: "tee-active-agentd",
                    activeServer: "127.0.0.1:\(port)",
                    version: version
                )
                try await ZabbixAgentd.withRunning(options) { agent in
                    // The proxy's refusal can only reach the agent through the tee.
                    try await waitUntil("agentd to log the proxy's answer", timeout: .seconds(20)) {
                        agent.log().contains("host [tee-active-agentd] not found")
                    }
                }
                #expect(tee.log().contains("connection relayed"))
            }
        }
    }
}

/// The same through the tee in front of a real Zabbix server (6.0 and 7.0): values land in its history.
@Suite("zabbix-tee in front of a real Zabbix server", .tags(.integration), .tier(.integration), .timeLimit(.minutes(3)))
struct TeeInFrontOfZabbixServerTests {
    static func expectStored(lab: ZabbixServerLab, host: ZabbixHostRecord) async throws {
        let int = try await lab.waitForHistory(host, ZabbixTestItems.intKey).first?.value
        let float = try await lab.waitForHistory(host, ZabbixTestItems.floatKey).first.flatMap { Double($0.value) }
        let text = try await lab.waitForHistory(host, ZabbixTestItems.textKey).first?.value
        #expect(int == ZabbixTestItems.intValue, "\(host.name)")
        #expect(float == 3.25, "\(host.name)")
        #expect(text == ZabbixTestItems.textValue, "\(host.name)")
    }

    func uniqueName(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    @Test(arguments: ZabbixLabVersion.allCases)
    func senderValuesThroughTheTeeAreProcessedAndStored(_ version: ZabbixLabVersion) async throws {
        let lab = try await ZabbixServerLab.sharedOrSkip(version)
        let host = try await lab.addHost(
            uniqueName("tee-sender"),
            items: [.trapper("tee.trap"), .trapper("tee.trap.text", .text)]
        )
        let port = try LoopbackPort.free()
        try await TeeProcess.withRunning(
            configuration: TeeWithRealZabbixTests.teeConfiguration(port: port, target: lab.port),
            ports: [port]
        ) { _ in
            let sent = try await ZabbixSender.send(
                port: port,
                values: [
                    .init(host: host.name, key: "tee.trap", value: "4242"),
                    .init(host: host.name, key: "tee.trap.text", value: "through the tee"),
                ],
                version: version
            )
            #expect(sent.processed == 2 && sent.failed == 0, "\(sent)")
            #expect(sent.exitCode == 0)
            #expect(try await lab.waitForHistory(host, "tee.trap").map(\.value) == ["4242"])
            #expect(try await lab.waitForHistory(host, "tee.trap.text").map(\.value) == ["through the tee"])
        }
    }

    @Test(arguments: ZabbixLabVersion.allCases)
    func activeAgentdAndAgent2ThroughTheTeeGetTheirChecksAndTheirValuesAreStored(
        _ version: ZabbixLabVersion
    ) async throws {
        let lab = try await ZabbixServerLab.sharedOrSkip(version)
        let port = try LoopbackPort.free()
        let items: [ZabbixItemSpec] = [
            .active(ZabbixTestItems.intKey, .unsigned), .active(ZabbixTestItems.floatKey, .float),
            .active(ZabbixTestItems.textKey, .string),
        ]
        let agentdHost = try await lab.addHost(uniqueName("tee-agentd"), items: items)
        let agent2Host = try await lab.addHost(uniqueName("tee-agent2"), items: items)
        try await TeeProcess.withRunning(
            configuration: TeeWithRealZabbixTests.teeConfiguration(port: port, target: lab.port),
            ports: [port]
        ) { _ in
            let teeAddress = "127.0.0.1:\(port)"
            try await ZabbixAgentd.withRunning(
                ZabbixAgentd.Options(hostname: agentdHost.name, activeServer: teeAddress, version: version)
            ) { _ in
                try await ZabbixAgent2.withRunning(
                    ZabbixAgent2.Options(hostname: agent2Host.name, activeServer: teeAddress, version: version)
                ) { _ in
                    for host in [agentdHost, agent2Host] {
                        try await Self.expectStored(lab: lab, host: host)
                    }
                }
            }
        }
    }
}

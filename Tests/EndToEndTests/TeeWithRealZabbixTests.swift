import Foundation
import Testing
import TestSupport

/// Acceptance: real Zabbix 6.0 programs talk through a running `zabbix-tee` exactly as they do
/// without it.
@Suite("zabbix-tee between real Zabbix programs", .timeLimit(.minutes(3)))
struct TeeWithRealZabbixTests {
    static func teeConfiguration(port: Int, target: Int) -> String {
        "log_level: debug\nlisteners:\n" + TeeProcess.listener(name: "zabbix", port: port, targets: [target])
    }

    static let passiveKeys = [
        "agent.ping", ZabbixTestItems.intKey, ZabbixTestItems.floatKey, ZabbixTestItems.textKey,
        ZabbixTestItems.bigTextKey, "no.such.key", "vfs.file.contents[/nonexistent/file]",
    ]

    @Test func zabbixGetThroughTheTeeAnswersLikeAgentdItselfIncludingUnsupportedKeys() async throws {
        try await ZabbixAgentd.withRunning { agent in
            let port = try LoopbackPort.free()
            try await TeeProcess.withRunning(configuration: Self.teeConfiguration(port: port, target: agent.port), ports: [port]) { tee in
                for key in Self.passiveKeys {
                    let direct = try await ZabbixGet.get(port: agent.port, key: key)
                    let through = try await ZabbixGet.get(port: port, key: key)
                    #expect(through.value == direct.value, "\(key)")
                    #expect(through.exitCode == direct.exitCode, "\(key)")
                }
                let unsupported = try await ZabbixGet.get(port: port, key: "no.such.key")
                #expect(unsupported.value.hasPrefix("ZBX_NOTSUPPORTED"))
                let big = try await ZabbixGet.get(port: port, key: ZabbixTestItems.bigTextKey)
                #expect(big.value == ZabbixTestItems.bigTextValue)
                #expect(tee.log().contains("connection relayed"))
            }
        }
    }

    @Test func zabbixGetThroughTheTeeAnswersLikeAgent2Itself() async throws {
        try await ZabbixAgent2.withRunning { agent in
            let port = try LoopbackPort.free()
            try await TeeProcess.withRunning(configuration: Self.teeConfiguration(port: port, target: agent.port), ports: [port]) { _ in
                for key in Self.passiveKeys {
                    let direct = try await ZabbixGet.get(port: agent.port, key: key)
                    let through = try await ZabbixGet.get(port: port, key: key)
                    #expect(through.value == direct.value, "\(key)")
                    #expect(through.exitCode == direct.exitCode, "\(key)")
                }
            }
        }
    }

    @Test func zabbixSenderThroughTheTeeGetsTheProxysOwnResponse() async throws {
        try await ZabbixProxy.withRunning { proxy in
            let port = try LoopbackPort.free()
            try await TeeProcess.withRunning(configuration: Self.teeConfiguration(port: port, target: proxy.port), ports: [port]) { _ in
                let values = (0..<300).map { ZabbixSender.Value(host: "tee-unknown-host", key: "trap.\($0)", value: "\($0)") }
                let direct = try await ZabbixSender.send(port: proxy.port, values: values)
                let through = try await ZabbixSender.send(port: port, values: values)
                #expect(direct.processed == 0 && direct.failed == 300 && direct.total == 300, "\(direct)")
                #expect(through.processed == direct.processed, "\(through)")
                #expect(through.failed == direct.failed, "\(through)")
                #expect(through.total == direct.total, "\(through)")
                #expect(through.exitCode == direct.exitCode)
            }
        }
    }

    @Test func activeAgentdThroughTheTeeHearsFromTheProxy() async throws {
        try await ZabbixProxy.withRunning { proxy in
            let port = try LoopbackPort.free()
            try await TeeProcess.withRunning(configuration: Self.teeConfiguration(port: port, target: proxy.port), ports: [port]) { tee in
                let options = ZabbixAgentd.Options(hostname: "tee-active-agentd", activeServer: "127.0.0.1:\(port)")
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

/// The same through the tee in front of a real Zabbix server: values land in its history.
@Suite(
    "zabbix-tee in front of a real Zabbix server",
    .enabled(if: ZabbixPrograms.serverUnavailableReason == nil, "zabbix_server or PostgreSQL missing: run scripts/install-test-deps.sh"),
    .timeLimit(.minutes(3)))
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

    @Test func senderValuesThroughTheTeeAreProcessedAndStored() async throws {
        let lab = try await ZabbixServerLab.shared()
        let host = try await lab.addHost(uniqueName("tee-sender"), items: [.trapper("tee.trap"), .trapper("tee.trap.text", .text)])
        let port = try LoopbackPort.free()
        try await TeeProcess.withRunning(
            configuration: TeeWithRealZabbixTests.teeConfiguration(port: port, target: lab.port), ports: [port]
        ) { _ in
            let sent = try await ZabbixSender.send(port: port, values: [
                .init(host: host.name, key: "tee.trap", value: "4242"),
                .init(host: host.name, key: "tee.trap.text", value: "through the tee"),
            ])
            #expect(sent.processed == 2 && sent.failed == 0, "\(sent)")
            #expect(sent.exitCode == 0)
            #expect(try await lab.waitForHistory(host, "tee.trap").map(\.value) == ["4242"])
            #expect(try await lab.waitForHistory(host, "tee.trap.text").map(\.value) == ["through the tee"])
        }
    }

    @Test func activeAgentdAndAgent2ThroughTheTeeGetTheirChecksAndTheirValuesAreStored() async throws {
        let lab = try await ZabbixServerLab.shared()
        let port = try LoopbackPort.free()
        let items: [ZabbixItemSpec] = [
            .active(ZabbixTestItems.intKey, .unsigned), .active(ZabbixTestItems.floatKey, .float),
            .active(ZabbixTestItems.textKey, .string),
        ]
        let agentdHost = try await lab.addHost(uniqueName("tee-agentd"), items: items)
        let agent2Host = try await lab.addHost(uniqueName("tee-agent2"), items: items)
        try await TeeProcess.withRunning(
            configuration: TeeWithRealZabbixTests.teeConfiguration(port: port, target: lab.port), ports: [port]
        ) { _ in
            let teeAddress = "127.0.0.1:\(port)"
            try await ZabbixAgentd.withRunning(ZabbixAgentd.Options(hostname: agentdHost.name, activeServer: teeAddress)) { _ in
                try await ZabbixAgent2.withRunning(ZabbixAgent2.Options(hostname: agent2Host.name, activeServer: teeAddress)) { _ in
                    for host in [agentdHost, agent2Host] {
                        try await Self.expectStored(lab: lab, host: host)
                    }
                }
            }
        }
    }
}

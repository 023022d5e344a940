import Foundation
import TestSupport
import Testing

/// The lab's full back end (PostgreSQL + zabbix_server 6.0 or 7.0) accepts real senders, agents
/// and proxies of its version, and stores their values where a Zabbix operator would look: the
/// history tables. All tests of one version share one server (`ZabbixServerLab.shared(version)`),
/// each with its own host.
@Suite("Zabbix lab: full server", .tags(.integration), .tier(.integration), .timeLimit(.minutes(2)))
struct ZabbixLabServerTests {
    @Test(arguments: ZabbixLabVersion.allCases)
    func senderTrapperValueIsProcessedAndStoredInHistoryUint(_ version: ZabbixLabVersion) async throws {
        let lab = try await ZabbixServerLab.sharedOrSkip(version)
        let host = try await lab.addHost(uniqueName("lab-sender"), items: [.trapper("lab.trap.uint")])

        let sent = try await ZabbixSender.send(
            port: lab.port,
            host: host.name,
            key: "lab.trap.uint",
            value: "12345",
            version: version
        )
        #expect(sent.processed == 1, "\(sent)")
        #expect(sent.failed == 0, "\(sent)")
        #expect(sent.exitCode == 0, "\(sent)")

        let stored = try await lab.waitForHistory(host, "lab.trap.uint")
        #expect(stored.map(\.value) == ["12345"])
        let direct = try await lab.database.query(
            "SELECT value FROM history_uint WHERE itemid = \(host.itemid("lab.trap.uint"));"
        )
        #expect(direct == [["12345"]])
    }

    @Test(arguments: ZabbixLabVersion.allCases)
    func senderValueForAnUnknownKeyIsFailedByTheServer(_ version: ZabbixLabVersion) async throws {
        let lab = try await ZabbixServerLab.sharedOrSkip(version)
        let host = try await lab.addHost(uniqueName("lab-sender"), items: [.trapper("lab.trap.uint")])
        let sent = try await ZabbixSender.send(
            port: lab.port,
            host: host.name,
            key: "lab.no.such.item",
            value: "1",
            version: version
        )
        #expect(sent.processed == 0, "\(sent)")
        #expect(sent.failed == 1, "\(sent)")
        #expect(sent.exitCode == ZabbixSender.Result.expectedExitCode(failed: 1, version: version), "\(sent)")
    }

    @Test(arguments: ZabbixLabVersion.allCases, ZabbixAgentKind.allCases)
    func activeAgentGetsItsChecksAndItsValuesLandInHistory(
        _ version: ZabbixLabVersion,
        _ agent: ZabbixAgentKind
    ) async throws {
        let lab = try await ZabbixServerLab.sharedOrSkip(version)
        let logFile = try ZabbixTestLogFile()
        defer { logFile.remove() }
        let host = try await lab.addHost(uniqueName("lab-\(agent)"), items: activeItems(logFile))
        let options = ZabbixAgentOptions(hostname: host.name, activeServer: lab.address, version: version)
        try await agent.withRunning(options) { _ in
            try await expectActiveValuesStored(lab: lab, host: host, logFile: logFile)
        }
    }

    @Test(arguments: ZabbixLabVersion.allCases)
    func serverPollsPassiveAgentdAndStoresItsValues(_ version: ZabbixLabVersion) async throws {
        let lab = try await ZabbixServerLab.sharedOrSkip(version)
        try await ZabbixAgentd.withRunning(ZabbixAgentd.Options(version: version)) { agent in
            let host = try await lab.addHost(
                uniqueName("lab-passive"),
                items: [
                    .passive(ZabbixTestItems.intKey, .unsigned),
                    .passive(ZabbixTestItems.textKey, .string),
                ],
                agentPort: agent.port
            )
            #expect(try await lab.waitForHistory(host, ZabbixTestItems.intKey).first?.value == ZabbixTestItems.intValue)
            #expect(
                try await lab.waitForHistory(host, ZabbixTestItems.textKey).first?.value == ZabbixTestItems.textValue
            )
        }
    }

    @Test(arguments: ZabbixLabVersion.allCases)
    func senderValueThroughAnActiveProxyLandsInServerHistory(_ version: ZabbixLabVersion) async throws {
        let lab = try await ZabbixServerLab.sharedOrSkip(version)
        let proxyName = uniqueName("lab-proxy")
        let proxyid = try await lab.database.addProxy(proxyName)
        let host = try await lab.addHost(
            uniqueName("lab-proxied"),
            items: [.trapper("lab.trap.uint")],
            proxyid: proxyid
        )
        var options = ZabbixProxy.Options(hostname: proxyName, activeServer: lab.address, version: version)
        options.configFrequency = 1
        try await ZabbixProxy.withRunning(options) { proxy in
            // The proxy knows the host once it has fetched its configuration from the server.
            var sent: ZabbixSender.Result?
            try await waitUntil(
                "proxy to accept values for \(host.name)",
                timeout: .seconds(30),
                interval: .milliseconds(200)
            ) {
                sent = try await ZabbixSender.send(
                    port: proxy.port,
                    host: host.name,
                    key: "lab.trap.uint",
                    value: "777",
                    version: version
                )
                return sent?.processed == 1
            }
            #expect(sent?.exitCode == 0)
            let stored = try await lab.waitForHistory(host, "lab.trap.uint")
            #expect(stored.map(\.value) == ["777"])
        }
    }

    @Test(arguments: ZabbixLabVersion.allCases)
    func sharedLabIsOneServerPerVersionAndTestProcess(_ version: ZabbixLabVersion) async throws {
        let first = try await ZabbixServerLab.sharedOrSkip(version)
        let second = try await ZabbixServerLab.shared(version)
        #expect(first === second)
        #expect(first.version == version)
        #expect(LoopbackPort.isAccepting(first.port))
        let other = try await ZabbixServerLab.sharedOrSkip(version == .v6_0 ? .v7_0 : .v6_0)
        #expect(other !== first && other.port != first.port)
        let reported = try await ProcessRunner.run(try #require(version.programs.server), ["-V"])
        #expect(reported.standardOutput.contains("(Zabbix) \(version)."), "\(reported)")
    }

    /// The deterministic test items as "Zabbix agent (active)" items, plus a log item.
    private func activeItems(_ logFile: ZabbixTestLogFile) -> [ZabbixItemSpec] {
        [
            .active("agent.ping", .unsigned),
            .active(ZabbixTestItems.intKey, .unsigned),
            .active(ZabbixTestItems.floatKey, .float),
            .active(ZabbixTestItems.textKey, .string),
            .active(ZabbixTestItems.bigTextKey, .text),
            .active(logFile.itemKey, .log),
        ]
    }

    private func expectActiveValuesStored(
        lab: ZabbixServerLab,
        host: ZabbixHostRecord,
        logFile: ZabbixTestLogFile
    ) async throws {
        #expect(try await lab.waitForHistory(host, "agent.ping").first?.value == "1")
        #expect(try await lab.waitForHistory(host, ZabbixTestItems.intKey).first?.value == ZabbixTestItems.intValue)
        let float = try await lab.waitForHistory(host, ZabbixTestItems.floatKey).first?.value
        #expect(float.flatMap(Double.init) == Double(ZabbixTestItems.floatValue))
        #expect(try await lab.waitForHistory(host, ZabbixTestItems.textKey).first?.value == ZabbixTestItems.textValue)

        let big = try await lab.waitForHistory(host, ZabbixTestItems.bigTextKey).first?.value ?? ""
        // The server cuts text values to 65 535 characters before storing them.
        #expect(big.count == 65_535, "stored \(big.count) characters")
        #expect(ZabbixTestItems.bigTextValue.hasPrefix(big))

        try logFile.append("lab log line one")
        try logFile.append("lab log line two")
        let lines = try await lab.waitForHistory(host, logFile.itemKey, count: 2)
        #expect(lines.map(\.value) == ["lab log line one", "lab log line two"])
    }

    private func uniqueName(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }
}

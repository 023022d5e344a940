import Foundation
import Testing
import TestSupport

/// The lab's full back end (PostgreSQL + zabbix_server 6.0) accepts real senders, agents and
/// proxies, and stores their values where a Zabbix operator would look: the history tables.
/// All tests share one server (`ZabbixServerLab.shared()`), each with its own host.
@Suite(
    "Zabbix lab: full server",
    .enabled(if: ZabbixPrograms.serverUnavailableReason == nil,
             "zabbix_server or PostgreSQL missing: run scripts/install-test-deps.sh"),
    .timeLimit(.minutes(2)))
struct ZabbixLabServerTests {
    @Test func senderTrapperValueIsProcessedAndStoredInHistoryUint() async throws {
        let lab = try await ZabbixServerLab.shared()
        let host = try await lab.addHost(uniqueName("lab-sender"), items: [.trapper("lab.trap.uint")])

        let sent = try await ZabbixSender.send(port: lab.port, host: host.name, key: "lab.trap.uint", value: "12345")
        #expect(sent.processed == 1, "\(sent)")
        #expect(sent.failed == 0, "\(sent)")
        #expect(sent.exitCode == 0, "\(sent)")

        let stored = try await lab.waitForHistory(host, "lab.trap.uint")
        #expect(stored.map(\.value) == ["12345"])
        let direct = try await lab.database.query(
            "SELECT value FROM history_uint WHERE itemid = \(host.itemid("lab.trap.uint"));")
        #expect(direct == [["12345"]])
    }

    @Test func senderValueForAnUnknownKeyIsFailedByTheServer() async throws {
        let lab = try await ZabbixServerLab.shared()
        let host = try await lab.addHost(uniqueName("lab-sender"), items: [.trapper("lab.trap.uint")])
        let sent = try await ZabbixSender.send(port: lab.port, host: host.name, key: "lab.no.such.item", value: "1")
        #expect(sent.processed == 0, "\(sent)")
        #expect(sent.failed == 1, "\(sent)")
        #expect(sent.exitCode == 2, "\(sent)")
    }

    @Test func activeAgentdGetsItsChecksAndItsValuesLandInHistory() async throws {
        let lab = try await ZabbixServerLab.shared()
        let logFile = try ZabbixTestLogFile()
        defer { logFile.remove() }
        let host = try await lab.addHost(uniqueName("lab-agentd"), items: activeItems(logFile))
        let options = ZabbixAgentd.Options(hostname: host.name, activeServer: lab.address)
        try await ZabbixAgentd.withRunning(options) { _ in
            try await expectActiveValuesStored(lab: lab, host: host, logFile: logFile)
        }
    }

    @Test func activeAgent2GetsItsChecksAndItsValuesLandInHistory() async throws {
        let lab = try await ZabbixServerLab.shared()
        let logFile = try ZabbixTestLogFile()
        defer { logFile.remove() }
        let host = try await lab.addHost(uniqueName("lab-agent2"), items: activeItems(logFile))
        let options = ZabbixAgent2.Options(hostname: host.name, activeServer: lab.address)
        try await ZabbixAgent2.withRunning(options) { _ in
            try await expectActiveValuesStored(lab: lab, host: host, logFile: logFile)
        }
    }

    @Test func serverPollsPassiveAgentdAndStoresItsValues() async throws {
        let lab = try await ZabbixServerLab.shared()
        try await ZabbixAgentd.withRunning { agent in
            let host = try await lab.addHost(uniqueName("lab-passive"), items: [
                .passive(ZabbixTestItems.intKey, .unsigned),
                .passive(ZabbixTestItems.textKey, .string),
            ], agentPort: agent.port)
            #expect(try await lab.waitForHistory(host, ZabbixTestItems.intKey).first?.value == ZabbixTestItems.intValue)
            #expect(try await lab.waitForHistory(host, ZabbixTestItems.textKey).first?.value == ZabbixTestItems.textValue)
        }
    }

    @Test func senderValueThroughAnActiveProxyLandsInServerHistory() async throws {
        let lab = try await ZabbixServerLab.shared()
        let proxyName = uniqueName("lab-proxy")
        let proxyHostid = try await lab.database.addProxy(proxyName)
        let host = try await lab.addHost(uniqueName("lab-proxied"), items: [.trapper("lab.trap.uint")],
                                         proxyHostid: proxyHostid)
        var options = ZabbixProxy.Options(hostname: proxyName, activeServer: lab.address)
        options.configFrequency = 1
        try await ZabbixProxy.withRunning(options) { proxy in
            // The proxy knows the host once it has fetched its configuration from the server.
            var sent: ZabbixSender.Result?
            try await waitUntil("proxy to accept values for \(host.name)", timeout: .seconds(30), interval: .milliseconds(200)) {
                sent = try await ZabbixSender.send(port: proxy.port, host: host.name, key: "lab.trap.uint", value: "777")
                return sent?.processed == 1
            }
            #expect(sent?.exitCode == 0)
            let stored = try await lab.waitForHistory(host, "lab.trap.uint")
            #expect(stored.map(\.value) == ["777"])
        }
    }

    @Test func sharedLabIsOneServerPerTestProcess() async throws {
        let first = try await ZabbixServerLab.shared()
        let second = try await ZabbixServerLab.shared()
        #expect(first === second)
        #expect(LoopbackPort.isAccepting(first.port))
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

    private func expectActiveValuesStored(lab: ZabbixServerLab, host: ZabbixHostRecord, logFile: ZabbixTestLogFile) async throws {
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

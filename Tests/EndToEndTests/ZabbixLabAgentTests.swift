import TestSupport
import Testing

/// The lab's agents are real Zabbix 6.0 and 7.0 agents: they answer `zabbix_get` of their own
/// version on loopback with the deterministic test items, and stop without leaving a process behind.
@Suite("Zabbix lab: agents answer passive checks", .tags(.integration), .tier(.integration), .timeLimit(.minutes(1)))
struct ZabbixLabAgentTests {
    @Test(arguments: ZabbixLabVersion.allCases)
    func agentdAnswersPingAndTestItemsAndRefusesUnknownKeys(_ version: ZabbixLabVersion) async throws {
        try version.requirePrograms()
        let pid = try await ZabbixAgentd.withRunning(ZabbixAgentd.Options(version: version)) { agent in
            try await expectPassiveChecksAnswered(port: agent.port, version: version)
            return agent.daemon.pid
        }
        #expect(ProcessGroup.members(pid).isEmpty, "zabbix_agentd workers left after stop")
    }

    @Test(arguments: ZabbixLabVersion.allCases)
    func agent2AnswersPingAndTestItemsAndRefusesUnknownKeys(_ version: ZabbixLabVersion) async throws {
        try version.requirePrograms()
        let pid = try await ZabbixAgent2.withRunning(ZabbixAgent2.Options(version: version)) { agent in
            try await expectPassiveChecksAnswered(port: agent.port, version: version)
            return agent.daemon.pid
        }
        #expect(ProcessGroup.members(pid).isEmpty, "zabbix_agent2 left after stop")
    }

    @Test(arguments: ZabbixLabVersion.allCases)
    func agentdForksWorkersThatStopWithIt(_ version: ZabbixLabVersion) async throws {
        try version.requirePrograms()
        let agent = try await ZabbixAgentd.start(ZabbixAgentd.Options(version: version))
        // It accepts connections as soon as it listens, which can be before the last worker forked.
        try? await waitUntil("agentd's workers forked", timeout: .seconds(10)) { agent.daemon.processes.count >= 3 }
        let workers = agent.daemon.processes
        try await agent.stop()
        // agentd -f: main process, collector, listeners (StartAgents=2), no active checks process.
        #expect(workers.count >= 3, "expected agentd to fork workers, saw \(workers)")
        #expect(workers.allSatisfy { $0.command == "zabbix_agentd" })
        let survivors = ProcessGroup.processes(named: "zabbix_agentd").filter { w in workers.contains(w) }
        #expect(survivors.isEmpty)
        #expect(!LoopbackPort.isAccepting(agent.port))
    }

    /// Each agent version answers its own zabbix_get, and a 7.0 zabbix_get (JSON first, plain-text
    /// fallback) gets the same answers from a 6.0 agent.
    @Test func zabbixGet7AnswersFrom6AgentsThroughThePlainTextFallback() async throws {
        try ZabbixLabVersion.v6_0.requirePrograms()
        try ZabbixLabVersion.v7_0.requirePrograms()
        try await ZabbixAgentd.withRunning { agent in
            try await expectPassiveChecksAnswered(port: agent.port, version: .v7_0)
        }
        try await ZabbixAgent2.withRunning { agent in
            try await expectPassiveChecksAnswered(port: agent.port, version: .v7_0)
        }
    }

    private func expectPassiveChecksAnswered(port: Int, version: ZabbixLabVersion) async throws {
        func get(_ key: String) async throws -> ZabbixGet.Result {
            try await ZabbixGet.get(port: port, key: key, version: version)
        }
        let ping = try await get("agent.ping")
        #expect(ping.exitCode == 0, "\(ping)")
        #expect(ping.value == "1")

        #expect(try await get(ZabbixTestItems.intKey).value == ZabbixTestItems.intValue)
        #expect(try await get(ZabbixTestItems.floatKey).value == ZabbixTestItems.floatValue)
        #expect(try await get(ZabbixTestItems.textKey).value == ZabbixTestItems.textValue)
        #expect(try await get("\(ZabbixTestItems.echoKey)[hello]").value == "hello")

        let big = try await get(ZabbixTestItems.bigTextKey)
        #expect(big.value.utf8.count == ZabbixTestItems.bigTextValue.utf8.count)
        #expect(big.value == ZabbixTestItems.bigTextValue)

        let unknown = try await get("lab.no.such.key")
        #expect(unknown.value.hasPrefix("ZBX_NOTSUPPORTED: "), "\(unknown)")
    }
}

import Testing
import TestSupport

/// The lab's agents are real Zabbix 6.0 agents: they answer `zabbix_get` on loopback with the
/// deterministic test items, and stop without leaving a process behind.
@Suite("Zabbix lab: agents answer passive checks", .timeLimit(.minutes(1)))
struct ZabbixLabAgentTests {
    @Test func agentdAnswersPingAndTestItemsAndRefusesUnknownKeys() async throws {
        let pid = try await ZabbixAgentd.withRunning { agent in
            try await expectPassiveChecksAnswered(port: agent.port)
            return agent.daemon.pid
        }
        #expect(ProcessGroup.members(pid).isEmpty, "zabbix_agentd workers left after stop")
    }

    @Test func agent2AnswersPingAndTestItemsAndRefusesUnknownKeys() async throws {
        let pid = try await ZabbixAgent2.withRunning { agent in
            try await expectPassiveChecksAnswered(port: agent.port)
            return agent.daemon.pid
        }
        #expect(ProcessGroup.members(pid).isEmpty, "zabbix_agent2 left after stop")
    }

    @Test func agentdForksWorkersThatStopWithIt() async throws {
        let agent = try await ZabbixAgentd.start()
        let workers = agent.daemon.processes
        try await agent.stop()
        // agentd -f: main process, collector, listeners (StartAgents=2), no active checks process.
        #expect(workers.count >= 3, "expected agentd to fork workers, saw \(workers)")
        #expect(workers.allSatisfy { $0.command == "zabbix_agentd" })
        let survivors = ProcessGroup.processes(named: "zabbix_agentd").filter { w in workers.contains(w) }
        #expect(survivors.isEmpty)
        #expect(!LoopbackPort.isAccepting(agent.port))
    }

    private func expectPassiveChecksAnswered(port: Int) async throws {
        let ping = try await ZabbixGet.get(port: port, key: "agent.ping")
        #expect(ping.exitCode == 0, "\(ping)")
        #expect(ping.value == "1")

        #expect(try await ZabbixGet.get(port: port, key: ZabbixTestItems.intKey).value == ZabbixTestItems.intValue)
        #expect(try await ZabbixGet.get(port: port, key: ZabbixTestItems.floatKey).value == ZabbixTestItems.floatValue)
        #expect(try await ZabbixGet.get(port: port, key: ZabbixTestItems.textKey).value == ZabbixTestItems.textValue)
        #expect(try await ZabbixGet.get(port: port, key: "\(ZabbixTestItems.echoKey)[hello]").value == "hello")

        let big = try await ZabbixGet.get(port: port, key: ZabbixTestItems.bigTextKey)
        #expect(big.value.utf8.count == ZabbixTestItems.bigTextValue.utf8.count)
        #expect(big.value == ZabbixTestItems.bigTextValue)

        let unknown = try await ZabbixGet.get(port: port, key: "lab.no.such.key")
        #expect(unknown.value.hasPrefix("ZBX_NOTSUPPORTED: "), "\(unknown)")
    }
}

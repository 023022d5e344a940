import Testing
import TestSupport

/// The lab's proxy is a real Zabbix 6.0 proxy that, with no server behind it, answers senders and
/// active agents itself — enough of a peer for relay tests.
@Suite("Zabbix lab: proxy without a server", .timeLimit(.minutes(1)))
struct ZabbixLabProxyTests {
    @Test func senderToProxyIsAnsweredWithOneFailedValueForAnUnknownHost() async throws {
        try await ZabbixProxy.withRunning { proxy in
            let sent = try await ZabbixSender.send(port: proxy.port, host: "lab-unknown-host", key: "lab.trap", value: "1")
            #expect(sent.processed == 0, "\(sent)")
            #expect(sent.failed == 1, "\(sent)")
            #expect(sent.total == 1, "\(sent)")
            // zabbix_sender 6.0 exits 2 when the peer answered but failed some values.
            #expect(sent.exitCode == 2, "\(sent)")
        }
    }

    @Test func senderToNothingListeningExitsOne() async throws {
        let port = try LoopbackPort.free()
        let sent = try await ZabbixSender.send(port: port, host: "h", key: "k", value: "1")
        #expect(sent.exitCode == 1, "\(sent)")
        #expect(sent.processed == nil)
    }

    @Test func activeAgentdAsksProxyForChecksAndIsToldItsHostIsUnknown() async throws {
        try await ZabbixProxy.withRunning { proxy in
            var options = ZabbixAgentd.Options(hostname: "lab-agentd-unknown", activeServer: "127.0.0.1:\(proxy.port)")
            options.bufferSend = 1
            try await ZabbixAgentd.withRunning(options) { agent in
                // The agent requests active checks once at start-up; the proxy refuses the unknown host.
                try await waitUntil("agentd to log the proxy's refusal", timeout: .seconds(20)) {
                    agent.log().contains("host [lab-agentd-unknown] not found")
                }
            }
        }
    }

    @Test func activeAgent2AsksProxyForChecksAndIsToldItsHostIsUnknown() async throws {
        try await ZabbixProxy.withRunning { proxy in
            let options = ZabbixAgent2.Options(hostname: "lab-agent2-unknown", activeServer: "127.0.0.1:\(proxy.port)")
            try await ZabbixAgent2.withRunning(options) { agent in
                try await waitUntil("agent2 to log the proxy's refusal", timeout: .seconds(20)) {
                    agent.log().contains("host [lab-agent2-unknown] not found")
                }
            }
        }
    }
}

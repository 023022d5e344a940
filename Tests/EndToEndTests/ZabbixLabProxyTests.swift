import TestSupport
import Testing

/// The lab's proxy is a real Zabbix 6.0 or 7.0 proxy that, with no server behind it, answers
/// senders and active agents of its version itself — enough of a peer for relay tests.
@Suite("Zabbix lab: proxy without a server", .tags(.integration), .tier(.integration), .timeLimit(.minutes(1)))
struct ZabbixLabProxyTests {
    @Test(arguments: ZabbixLabVersion.allCases)
    func senderToProxyIsAnsweredWithOneFailedValueForAnUnknownHost(_ version: ZabbixLabVersion) async throws {
        try version.requirePrograms()
        try await ZabbixProxy.withRunning(ZabbixProxy.Options(version: version)) { proxy in
            let sent = try await ZabbixSender.send(
                port: proxy.port,
                host: "lab-unknown-host",
                key: "lab.trap",
                value: "1",
                version: version
            )
            #expect(sent.processed == 0, "\(sent)")
            #expect(sent.failed == 1, "\(sent)")
            #expect(sent.total == 1, "\(sent)")
            // zabbix_sender 6.0 exits 2 when the peer answered but failed some values; 7.0 exits 0.
            #expect(sent.exitCode == ZabbixSender.Result.expectedExitCode(failed: 1, version: version), "\(sent)")
        }
    }

    @Test(arguments: ZabbixLabVersion.allCases)
    func senderToNothingListeningExitsOne(_ version: ZabbixLabVersion) async throws {
        try version.requirePrograms()
        let port = try LoopbackPort.free()
        let sent = try await ZabbixSender.send(port: port, host: "h", key: "k", value: "1", version: version)
        #expect(sent.exitCode == 1, "\(sent)")
        #expect(sent.processed == nil)
    }

    @Test(arguments: ZabbixLabVersion.allCases, ZabbixAgentKind.allCases)
    func activeAgentAsksProxyForChecksAndIsToldItsHostIsUnknown(
        _ version: ZabbixLabVersion,
        _ agent: ZabbixAgentKind
    ) async throws {
        try version.requirePrograms()
        try await ZabbixProxy.withRunning(ZabbixProxy.Options(version: version)) { proxy in
            let hostname = "lab-\(agent)-unknown"
            let options = ZabbixAgentOptions(
                hostname: hostname,
                activeServer: "127.0.0.1:\(proxy.port)",
                version: version
            )
            try await agent.withRunning(options) { daemon in
                // The agent requests active checks once at start-up; the proxy refuses the unknown host.
                try await waitUntil("\(agent) to log the proxy's refusal", timeout: .seconds(20)) {
                    daemon.log().contains("host [\(hostname)] not found")
                }
            }
        }
    }
}

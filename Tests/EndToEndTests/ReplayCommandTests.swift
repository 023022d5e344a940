import Foundation
import TestSupport
import Testing

/// Acceptance: `zabbix-tee replay` against a live tee in front of a real Zabbix program reports
/// identical replies for every deterministic fixture, and notices when a reply differs.
@Suite("zabbix-tee replay", .tags(.integration), .tier(.integration), .serialized, .timeLimit(.minutes(2)))
struct ReplayCommandTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures").path

    func replay(_ fixture: String, port: Int, extra: [String] = []) async throws -> ProcessResult {
        try await ProcessRunner.run(
            TeeProcess.binary,
            ["replay", "\(Self.fixtures)/\(fixture)", "--to", "127.0.0.1:\(port)"] + extra,
            timeout: .seconds(60)
        )
    }

    static func report(_ result: ProcessResult) -> [String: Any] {
        let line = result.standardOutput.split(separator: "\n").first.map(String.init) ?? "{}"
        return (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]) ?? [:]
    }

    /// A recording holds what a client sent, hostile or not: a header announcing 2^63 bytes after a
    /// first frame made the frame cutter overflow (`offset + length`) and trap.
    @Test func aRecordedHeaderAnnouncingExabytesIsReplayedAsBytesNotACrash() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("replay-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var client = ZabbixFrames.plain(#"{"request":"active checks","host":"h"}"#)
        client +=
            Array("ZBXD".utf8) + [0x05] + [0xE9, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]
            + Array(repeating: 0, count: 8)
        try Data(client).write(to: directory.appendingPathComponent("client.bin"))
        let echo = try EchoTarget()
        defer { echo.stop() }
        let result = try await ProcessRunner.run(
            TeeProcess.binary,
            ["replay", directory.path, "--to", "127.0.0.1:\(echo.port)", "--timeout", "1"],
            timeout: .seconds(30)
        )
        #expect(result.exitCode == 1, "a different reply, reported: \(result)")
        #expect(Self.report(result)["replays"] as? Int == 1, "\(result.standardOutput)")
    }

    /// Each version's agentd fixtures against an agentd of that version (7.0: JSON passive checks).
    @Test(arguments: ZabbixLabVersion.allCases)
    func deterministicAgentdFixturesReplayIdenticallyThroughALiveTee(_ version: ZabbixLabVersion) async throws {
        try version.requirePrograms()
        try await ZabbixAgentd.withRunning(ZabbixAgentd.Options(version: version)) { agent in
            let port = try LoopbackPort.free()
            let configuration = "listeners:\n" + TeeProcess.listener(name: "passive", port: port, targets: [agent.port])
            try await TeeProcess.withRunning(configuration: configuration, ports: [port]) { _ in
                let fixtures =
                    version == .v6_0
                    ? ["get-passive-agentd", "get-passive-notsupported"]
                    : ["get-passive-7.0-agentd", "get-passive-7.0-notsupported"]
                for fixture in fixtures {
                    let result = try await self.replay(
                        fixture,
                        port: port,
                        extra: ["--count", "40", "--concurrency", "4"]
                    )
                    #expect(result.exitCode == 0, "\(fixture): \(result)")
                    let report = Self.report(result)
                    #expect(report["replays"] as? Int == 40, "\(fixture): \(result.standardOutput)")
                    #expect(report["identical"] as? Int == 40, "\(fixture): \(result.standardOutput)")
                    #expect(report["errors"] as? Int == 0)
                }
            }
        }
    }

    /// 6.0: agentd's recorded reply has reserved = 0 where agent2 fills in the length (byte 9).
    /// 7.0: neither fills it, but the JSON reply names the agent: `"variant":1` vs 2 (byte 42).
    @Test(arguments: ZabbixLabVersion.allCases)
    func deterministicAgent2FixtureReplaysIdenticallyAndAgentdsDoesNot(_ version: ZabbixLabVersion) async throws {
        try version.requirePrograms()
        try await ZabbixAgent2.withRunning(ZabbixAgent2.Options(version: version)) { agent in
            let port = try LoopbackPort.free()
            let configuration = "listeners:\n" + TeeProcess.listener(name: "passive", port: port, targets: [agent.port])
            try await TeeProcess.withRunning(configuration: configuration, ports: [port]) { _ in
                let (agent2Fixture, agentdFixture, difference) =
                    version == .v6_0
                    ? ("get-passive-agent2", "get-passive-agentd", "byte 9")
                    : ("get-passive-7.0-agent2", "get-passive-7.0-agentd", "byte 42")
                let same = try await self.replay(agent2Fixture, port: port)
                #expect(same.exitCode == 0, "\(same)")
                #expect(Self.report(same)["identical"] as? Int == 1)
                let other = try await self.replay(agentdFixture, port: port)
                #expect(other.exitCode == 1, "\(other)")
                #expect(Self.report(other)["identical"] as? Int == 0)
                #expect(
                    (Self.report(other)["first_difference"] as? String)?.hasPrefix(difference) == true,
                    "\(other.standardOutput)"
                )
            }
        }
    }
}

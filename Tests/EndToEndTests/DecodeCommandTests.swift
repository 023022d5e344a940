import Foundation
import TestSupport
import Testing

/// `zabbix-tee decode` on the fixtures, as a user runs it before and after an upgrade.
@Suite("zabbix-tee decode", .tags(.integration), .tier(.integration), .timeLimit(.minutes(2)))
struct DecodeCommandTests {
    func decode(_ arguments: [String]) async throws -> ProcessResult {
        try await ProcessRunner.run(TeeProcess.binary, ["decode"] + arguments, timeout: .seconds(60))
    }

    /// The table's row for a request type and version: its numbers by column name.
    static func row(_ output: String, request: String, version: String) -> [String: Int]? {
        let lines = output.split(separator: "\n").map(String.init)
        guard let header = lines.first?.split(separator: " ", omittingEmptySubsequences: true).map(String.init) else {
            return nil
        }
        for line in lines.dropFirst() where line.hasPrefix(request + " ") {
            let rest = line.dropFirst(request.count).split(separator: " ", omittingEmptySubsequences: true).map(
                String.init
            )
            guard rest.first == version, rest.count == header.count - 1 else { continue }
            // header: request, version, then the counts; `request` may contain a space.
            return Dictionary(uniqueKeysWithValues: zip(header.dropFirst(2), rest.dropFirst().compactMap(Int.init)))
        }
        return nil
    }

    @Test func theSummaryCountsEveryFixturePerRequestTypeAndVersion() async throws {
        let result = try await self.decode([FixtureFiles.root, "--summary"])
        #expect(result.exitCode == 0, "\(result)")
        let output = result.standardOutput
        // agent 2 6.0 announces "6.0"; its itemids resolve through its active checks.
        let agent2 = try #require(Self.row(output, request: "agent data", version: "6.0"), "\(output)")
        #expect(agent2["decoded"] == 7 && agent2["accepted"] == 7 && agent2["resolved"] == 7, "\(agent2)")
        // agentd 8.0.0rc1's batch was redirected: decoded, never accepted.
        let redirected = try #require(Self.row(output, request: "agent data", version: "8.0.0rc1"), "\(output)")
        #expect(
            redirected["decoded"] == 2 && redirected["accepted"] == 0 && redirected["rejected"] == 2,
            "\(redirected)"
        )
        let proxy80 = try #require(Self.row(output, request: "proxy data", version: "8.0.0"), "\(output)")
        #expect(proxy80["decoded"] == 6 && proxy80["resolved"] == 6 && proxy80["unresolved"] == 0, "\(proxy80)")
        let push = try #require(Self.row(output, request: "history.push", version: "-"), "\(output)")
        #expect(push["decoded"] == 3 && push["accepted"] == 2 && push["rejected"] == 1, "\(push)")
        #expect(output.contains("unknown 1"), "the unknown request is counted")
        #expect(output.contains("redirects: 2"))
    }

    @Test func valuesOfARedirectedRequestAreNotPrintedAndTheSessionIdNever() async throws {
        let redirected = try await self.decode([FixtureFiles.root + "/synth80-agentd-agent-data-redirect"])
        #expect(redirected.exitCode == 0)
        #expect(!redirected.standardOutput.contains("\"value\""), "\(redirected.standardOutput)")
        let push = try await self.decode([FixtureFiles.root + "/synth80-history-push"])
        #expect(push.standardOutput.contains("trap.count"))
        #expect(!push.standardOutput.contains("9a8b7c6d5e4f30211203948576a5b4c3"), "the sid is a credential")
    }
}

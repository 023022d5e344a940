import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// TLS passthrough with real programs: Zabbix TLS-PSK sessions through the tee work as without
/// it, arrive byte for byte, are counted as TLS and are never decoded.
///
/// Byte for byte is checked by a second, recording tee between the tee under test and the Zabbix
/// endpoint: what the tee under test read from the client (its own `record:` output) must equal
/// what reached the endpoint side (the recorder's client bytes), and the endpoint's bytes must
/// equal what the tee under test delivered back. A TLS session that completes is evidence on its
/// own (any changed byte fails the record MAC), the recordings make it explicit.
@Suite(
    "TLS-PSK passthrough with real Zabbix programs",
    .tags(.integration),
    .tier(.integration),
    .timeLimit(.minutes(3))
)
struct TLSPassthroughTests {
    /// A throwaway test key: the bytes are useless to anyone.
    static let psk = "5b2c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c"
    static let identity = "zabbix-tee-psk-test"

    /// Writes the PSK file (0600, as Zabbix demands) into `directory`.
    static func writePSKFile(in directory: String) throws -> String {
        let path = "\(directory)/test.psk"
        try (Self.psk + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        return path
    }

    static var tlsArguments: (String) -> [String] {
        { file in ["--tls-connect", "psk", "--tls-psk-identity", Self.identity, "--tls-psk-file", file] }
    }

    /// Runs `body` with the tee under test (decoding on, recording, admin endpoint) in front of a
    /// recording tee in front of `target`; returns what `body` returns after comparing recordings.
    static func throughTeeAndRecorder<T: Sendable>(
        target: Int,
        connections expected: Int,
        _ body: (_ port: Int) async throws -> T
    ) async throws -> (result: T, before: MetricsScrape, after: MetricsScrape) {
        try await FixtureRecorder.withRecording(target: target) { recorder in
            let port = try LoopbackPort.free()
            let adminPort = try LoopbackPort.free()
            let recordings = try ZabbixLabDirectory.create("tls-record")
            defer { ZabbixLabDirectory.remove(recordings) }
            let configuration = """
                listeners:
                \(TeeProcess.listener(name: "tls", port: port, targets: [recorder.port], extra: ["record: \(recordings)/tls"]))
                admin:
                  listen: "127.0.0.1:\(adminPort)"
                """
            return try await TeeProcess.withRunning(configuration: configuration, ports: [port, adminPort]) { tee in
                let before = try MetricsScrape.get(port: adminPort)
                let result = try await body(port)
                // The readiness probe of each TeeProcess also shows up as a (byte-less) connection.
                let ours = try await waitForRecordings(in: "\(recordings)/tls", count: expected)
                let theirs = try await recorder.waitForConnections(count: expected)
                #expect(ours.count == expected && theirs.count == expected)
                for (mine, downstream) in zip(ours, theirs) {
                    #expect(mine.client.first == 0x16, "a TLS handshake record")
                    #expect(mine.client == downstream.client, "client bytes reached the endpoint unchanged")
                    #expect(mine.server == downstream.server, "endpoint bytes reached the client unchanged")
                }
                let after = try await waitForMetrics(port: adminPort) {
                    $0.value("zabbix_tee_connections_active", [("listener", "tls")]) == 0
                }
                _ = tee
                return (result, before, after)
            }
        }
    }

    /// Counted as TLS, nothing decoded from them.
    static func expectCountedAsTLSAndNotDecoded(_ before: MetricsScrape, _ after: MetricsScrape, connections: Int) {
        func delta(_ name: String) -> Double { after.value(name) - before.value(name) }
        #expect(delta("zabbix_tee_tls_connections_total") == Double(connections), "\(after.text)")
        #expect(delta("zabbix_tee_item_values_total") == 0)
        let framesBefore = before.samples.filter { $0.key.hasPrefix("zabbix_tee_frames_decoded_total") }.values.reduce(
            0,
            +
        )
        let framesAfter = after.samples.filter { $0.key.hasPrefix("zabbix_tee_frames_decoded_total") }.values.reduce(
            0,
            +
        )
        #expect(framesAfter == framesBefore, "no ZBXD frame decoded out of a TLS session")
    }

    @Test(arguments: ZabbixLabVersion.allCases)
    func zabbixSenderWithPSKToAProxyWithPSKWorksThroughTheTeeByteForByte(_ version: ZabbixLabVersion) async throws {
        try version.requirePrograms()
        let directory = try ZabbixLabDirectory.create("psk-sender")
        defer { ZabbixLabDirectory.remove(directory) }
        let pskFile = try Self.writePSKFile(in: directory)
        var options = ZabbixProxy.Options(hostname: "psk-proxy", version: version)
        options.extraConfiguration = ["TLSAccept=psk", "TLSPSKIdentity=\(Self.identity)", "TLSPSKFile=\(pskFile)"]
        try await ZabbixProxy.withRunning(options) { proxy in
            let arguments = ["-s", "psk-unknown-host", "-k", "trap.int", "-o", "1"] + Self.tlsArguments(pskFile)
            let direct = try await ProcessRunner.run(
                version.programs.sender,
                ["-z", "127.0.0.1", "-p", String(proxy.port)] + arguments
            )
            #expect(direct.standardOutput.contains("Response from"), "PSK works directly: \(direct)")
            let (through, before, after) = try await Self.throughTeeAndRecorder(target: proxy.port, connections: 1) {
                port in
                try await ProcessRunner.run(
                    version.programs.sender,
                    ["-z", "127.0.0.1", "-p", String(port)] + arguments
                )
            }
            #expect(through.exitCode == direct.exitCode, "\(through)")
            #expect(Self.summary(through.standardOutput) == Self.summary(direct.standardOutput), "\(through)")
            Self.expectCountedAsTLSAndNotDecoded(before, after, connections: 1)
        }
    }

    @Test(arguments: ZabbixLabVersion.allCases)
    func zabbixGetWithPSKToAnAgentWithPSKWorksThroughTheTeeByteForByte(_ version: ZabbixLabVersion) async throws {
        try version.requirePrograms()
        let directory = try ZabbixLabDirectory.create("psk-agent")
        defer { ZabbixLabDirectory.remove(directory) }
        let pskFile = try Self.writePSKFile(in: directory)
        var options = ZabbixAgentd.Options(version: version)
        options.extraConfiguration = ["TLSAccept=psk", "TLSPSKIdentity=\(Self.identity)", "TLSPSKFile=\(pskFile)"]
        try await ZabbixAgentd.withRunning(options) { agent in
            let keys = [ZabbixTestItems.intKey, ZabbixTestItems.bigTextKey, "no.such.key"]
            var direct: [ZabbixGet.Result] = []
            for key in keys {
                direct.append(
                    try await ZabbixGet.get(
                        port: agent.port,
                        key: key,
                        extraArguments: Self.tlsArguments(pskFile),
                        version: version
                    )
                )
            }
            #expect(direct[0].exitCode == 0, "PSK works directly: \(direct[0])")
            let plain = try await ZabbixGet.get(port: agent.port, key: ZabbixTestItems.intKey, version: version)
            #expect(
                plain.value != direct[0].value,
                "the agent refuses unencrypted checks, so the test needs PSK: \(plain)"
            )
            let (through, before, after) = try await Self.throughTeeAndRecorder(
                target: agent.port,
                connections: keys.count
            ) { port in
                var results: [ZabbixGet.Result] = []
                for key in keys {
                    results.append(
                        try await ZabbixGet.get(
                            port: port,
                            key: key,
                            extraArguments: Self.tlsArguments(pskFile),
                            version: version
                        )
                    )
                }
                return results
            }
            for (key, (viaTee, itself)) in zip(keys, zip(through, direct)) {
                #expect(viaTee.value == itself.value, "\(key)")
                #expect(viaTee.exitCode == itself.exitCode, "\(key)")
            }
            #expect(through[1].value == ZabbixTestItems.bigTextValue)
            Self.expectCountedAsTLSAndNotDecoded(before, after, connections: keys.count)
        }
    }

    @Test(arguments: ZabbixLabVersion.allCases)
    func activeAgentdWithPSKThroughTheTeeDeliversItsValuesToARealServer(_ version: ZabbixLabVersion) async throws {
        let lab = try await ZabbixServerLab.sharedOrSkip(version)
        let directory = try ZabbixLabDirectory.create("psk-active")
        defer { ZabbixLabDirectory.remove(directory) }
        let pskFile = try Self.writePSKFile(in: directory)
        let items: [ZabbixItemSpec] = [
            .active(ZabbixTestItems.intKey, .unsigned), .active(ZabbixTestItems.floatKey, .float),
            .active(ZabbixTestItems.textKey, .string),
        ]
        let host = try await lab.addHost(
            "tee-psk-agentd-\(UInt32.random(in: 0...UInt32.max))",
            items: items,
            psk: (Self.identity, Self.psk)
        )
        let port = try LoopbackPort.free()
        let adminPort = try LoopbackPort.free()
        let recordings = "\(directory)/recordings"
        let configuration = """
            listeners:
            \(TeeProcess.listener(name: "agents", port: port, targets: [lab.port], extra: ["record: \(recordings)"]))
            admin:
              listen: "127.0.0.1:\(adminPort)"
            """
        try await TeeProcess.withRunning(configuration: configuration, ports: [port, adminPort]) { _ in
            let before = try MetricsScrape.get(port: adminPort)
            var options = ZabbixAgentd.Options(hostname: host.name, activeServer: "127.0.0.1:\(port)", version: version)
            options.extraConfiguration = [
                "TLSConnect=psk", "TLSAccept=psk", "TLSPSKIdentity=\(Self.identity)", "TLSPSKFile=\(pskFile)",
            ]
            try await ZabbixAgentd.withRunning(options) { _ in
                try await TeeInFrontOfZabbixServerTests.expectStored(lab: lab, host: host)
            }
            let after = try await Self.waitForMetrics(port: adminPort) {
                $0.value("zabbix_tee_connections_active", [("listener", "agents")]) == 0
            }
            // The agent's connections are those that carried bytes (the readiness probe of
            // TeeProcess connects without sending any): every one of them TLS, counted as TLS,
            // none yielding a decoded value.
            let tls = after.value("zabbix_tee_tls_connections_total") - before.value("zabbix_tee_tls_connections_total")
            var agentConnections: [RecordedConnection] = []
            try? await waitUntil("the recordings written", timeout: .seconds(10), interval: .milliseconds(50)) {
                agentConnections = try RecordedConnection.all(in: recordings).filter { !$0.client.isEmpty }
                return Double(agentConnections.count) >= tls
            }
            #expect(agentConnections.count >= 2, "active checks and value uploads went through the tee")
            #expect(agentConnections.allSatisfy { $0.client.first == 0x16 })
            #expect(tls == Double(agentConnections.count))
            #expect(after.value("zabbix_tee_item_values_total") == before.value("zabbix_tee_item_values_total"))
        }
    }

    /// zabbix_sender's summary without what differs run to run: the address it sent to and the
    /// time spent.
    static func summary(_ output: String) -> String {
        output.split(separator: "\n").filter { $0.hasPrefix("sent:") || $0.hasPrefix("Response from") }
            .map { line in
                line.replacingOccurrences(of: #"seconds spent: [0-9.]+"#, with: "", options: .regularExpression)
                    .replacingOccurrences(of: #"Response from "[^"]*""#, with: "Response", options: .regularExpression)
            }
            .joined(separator: "\n")
    }

    static func waitForRecordings(in directory: String, count: Int) async throws -> [RecordedConnection] {
        var found: [RecordedConnection] = []
        try await waitUntil(
            "\(count) recorded connections with bytes in \(directory)",
            timeout: .seconds(20),
            interval: .milliseconds(50)
        ) {
            found = try RecordedConnection.all(in: directory).filter { !$0.client.isEmpty }
            return found.count >= count
        }
        return found
    }

    /// The first scrape within 10 s that satisfies `predicate`, else the last one (the caller's
    /// expectations then say what is off).
    static func waitForMetrics(port: Int, _ predicate: @escaping (MetricsScrape) -> Bool) async throws -> MetricsScrape
    {
        var scrape = try MetricsScrape.get(port: port)
        try? await waitUntil("metrics to settle", timeout: .seconds(10), interval: .milliseconds(50)) {
            scrape = try MetricsScrape.get(port: port)
            return predicate(scrape)
        }
        return scrape
    }
}

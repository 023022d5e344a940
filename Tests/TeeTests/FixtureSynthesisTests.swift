import Foundation
import TestSupport
import Testing

/// The synthesized 8.0 fixtures in `Fixtures/` are exactly what `SynthesizedFixtures` builds, so
/// their bytes and expectations can be read (and reviewed) as Swift source.
/// `ZABBIX_TEE_SYNTHESIZE=1 swift test --filter FixtureSynthesis` rewrites them.
struct FixtureSynthesisTests {
    static let rewrite = ProcessInfo.processInfo.environment["ZABBIX_TEE_SYNTHESIZE"] == "1"

    @Test(.enabled(if: Self.rewrite, "set ZABBIX_TEE_SYNTHESIZE=1 to rewrite the synthesized fixtures"))
    func writeTheSynthesizedFixtures() throws {
        try SynthesizedFixtures.write(to: FixtureFiles.root)
    }

    @Test(.enabled(if: !Self.rewrite), arguments: SynthesizedFixtures.all.map(\.name))
    func theCommittedFilesAreWhatTheSourceBuilds(_ name: String) throws {
        let fixture = try #require(SynthesizedFixtures.all.first { $0.name == name })
        let client = FixtureFiles.bytes(name, "client.bin") == fixture.clientBytes
        let server = FixtureFiles.bytes(name, "server.bin") == fixture.serverBytes
        let meta =
            FixtureFiles.bytes(name, "meta.json")
            == Array(try FixtureMeta.encoder.encode(fixture.meta) + Data("\n".utf8))
        #expect(client, "\(name)/client.bin differs from SynthesizedFixtures (rewrite with ZABBIX_TEE_SYNTHESIZE=1)")
        #expect(server, "\(name)/server.bin differs from SynthesizedFixtures")
        #expect(meta, "\(name)/meta.json differs from SynthesizedFixtures")
    }
}

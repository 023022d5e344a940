import Foundation
import Logging
import NIOCore
import NIOPosix
import Relay
import Tee
import TestSupport
import Testing
import ZabbixProtocol

/// Replays every fixture in `Fixtures/` (real Zabbix 6.0 and 7.0 traffic recorded through the tee,
/// and 8.0 traffic synthesized from Zabbix's source and documentation, see `Fixtures/README.md`) —
/// no Zabbix programs needed.
///
/// Decoding: each fixture goes through `CaptureDecoder` (sharing one `ItemCatalogStore` with the
/// fixture its `meta.json` names as `catalog`, and that one's catalog fixture and so on, decoded
/// first, oldest first, under the same listener) and must
/// decode to exactly the `items` of its `meta.json` — host, key, itemid where given, value, clock,
/// ns, state; compared as a multiset (order aside, nothing missing, nothing extra). Those items
/// come from the real server's history, the sender's input or the agent's known values, never
/// from the decoder.
///
/// Splits: `CaptureDecoder` feeds both directions in chunks of `chunkSize` bytes, so chunk size
/// `k` splits both streams at `k`, `2k`, ... Fed whole, one byte at a time, and:
/// - fixtures of at most 16 KiB (larger direction on the wire, and all payloads inflated):
///   every chunk size from 2 to the stream's length, i.e. a split at every byte boundary of both
///   streams;
/// - larger fixtures: 200 chunk sizes evenly spaced over 2...length — 64 when the payloads
///   inflate to over 256 KiB (agentd-agent-data, agent2-agent-data, sender-1mib: each decode
///   parses 300 KiB–1 MiB of JSON) — plus every frame's boundaries ±1 (inside the magic, after the flags byte, inside and after the length fields,
///   after the header, at the end of the frame).
///
/// Live tee: each fixture's connection (after its catalog fixture's) goes through an in-process
/// relay listener with the side pipeline's tap to a loopback peer that answers with the
/// fixture's server bytes; both directions must arrive byte for byte, and the pipeline must
/// emit exactly the fixture's items (passive checks, which carry no host, with the agent's
/// address as host, as the live tee names them).
@Suite("Fixture replay", .timeLimit(.minutes(10)))
struct FixtureReplayTests {
    static let names = FixtureFiles.names()

    /// Every capture the suite is meant to hold is there.
    @Test func theFixturesArePresent() throws {
        let recorded: Set<String> = [
            "agentd-active-checks", "agentd-agent-data", "agent2-active-checks", "agent2-agent-data",
            "sender-single", "sender-batch-clock", "sender-batch-ns", "sender-1mib",
            "get-passive-agentd", "get-passive-notsupported", "get-passive-agent2",
            "proxy-config", "proxy-data", "sender-tls-psk",
            // 7.0, recorded from the real 7.0.9 programs
            "agentd-7.0-active-checks", "agentd-7.0-agent-data", "agent2-7.0-active-checks", "agent2-7.0-agent-data",
            "agentd-7.0-heartbeat", "agent2-7.0-heartbeat",
            "sender-7.0-single", "sender-7.0-batch-clock", "sender-7.0-batch-ns",
            "get-passive-7.0-agentd", "get-passive-7.0-notsupported", "get-passive-7.0-agent2",
            "get-passive-7.0-to-6.0-json", "get-passive-7.0-to-6.0-text",
            "proxy-7.0-config", "proxy-7.0-data", "proxy-7.0-config-incremental", "proxy-7.0-data-incremental",
        ]
        let expected = recorded.union(SynthesizedFixtures.all.map(\.name))
        #expect(expected.subtracting(Self.names).isEmpty, "missing: \(expected.subtracting(Self.names).sorted())")
    }

    /// Each `meta.json` names the program, its Zabbix version and whether the bytes were recorded
    /// from real programs or synthesized (and then from what); at least three synthesized 8.0 ones.
    @Test(arguments: Self.names) func metaNamesProgramVersionAndWhetherSynthesized(_ name: String) throws {
        let meta = try FixtureFiles.meta(name)
        #expect(!meta.program.isEmpty)
        let version = try #require(meta.version, "\(name): version")
        #expect(ZabbixVersion(parsing: version) != nil, "\(name): \(version)")
        let synthesized = try #require(meta.synthesized, "\(name): synthesized")
        if synthesized {
            #expect(meta.recording == nil, "a synthesized fixture was not recorded")
            #expect(!(meta.synthesizedFrom ?? []).isEmpty, "\(name): the sources it was derived from")
        } else {
            #expect(meta.recording != nil, "a recorded fixture keeps the recorder's meta.json")
        }
    }

    @Test func atLeastThreeSynthesized80FixturesArePresent() throws {
        let synthesized80 = try Self.names.filter {
            let meta = try FixtureFiles.meta($0)
            return meta.synthesized == true && meta.version?.hasPrefix("8.0") == true
        }
        #expect(synthesized80.count >= 3, "\(synthesized80)")
    }

    /// A fixture recorded from real programs names them with the Zabbix version they are
    /// (`... (Zabbix) 7.0.9`, `version` 7.0.9), and one whose name says 7.0 is 7.0 traffic.
    @Test(arguments: Self.names) func metaNamesTheProgramsAndTheirVersion(_ name: String) throws {
        let meta = try FixtureFiles.meta(name)
        guard meta.synthesized == false else { return }
        #expect(
            meta.programVersion.hasPrefix(meta.program + " ") && meta.programVersion.contains("(Zabbix) "),
            "\(meta.programVersion)"
        )
        #expect(
            meta.peerVersion.hasPrefix(meta.peer + " ") && meta.peerVersion.contains("(Zabbix) "),
            "\(meta.peerVersion)"
        )
        #expect(meta.version == FixtureMeta.version(fromProgramVersion: meta.programVersion), "\(name)")
        #expect(
            meta.version?.hasPrefix(name.contains("-7.0-") ? "7.0." : "6.0.") == true,
            "\(name): \(meta.version ?? "-")"
        )
    }

    /// The fixtures whose traffic `name` needs decoded first: its `catalog`, that one's, and so
    /// on, oldest first.
    static func catalogChain(_ name: String) throws -> [String] {
        var chain: [String] = []
        var next = try FixtureFiles.meta(name).catalog
        while let catalog = next, !chain.contains(catalog), chain.count < 8 {
            chain.insert(catalog, at: 0)
            next = try FixtureFiles.meta(catalog).catalog
        }
        return chain
    }

    /// `meta.json` agrees with the bytes: sizes, the recorder's `complete`, flags and frame counts
    /// (read by the test's own frame reader), TLS, and a catalog fixture that exists.
    @Test(arguments: Self.names) func metaDescribesTheBytes(_ name: String) throws {
        let meta = try FixtureFiles.meta(name)
        let client = FixtureFiles.bytes(name, "client.bin")
        let server = FixtureFiles.bytes(name, "server.bin")
        #expect(meta.name == name)
        #expect(meta.clientBytes == client.count && meta.serverBytes == server.count)
        if meta.synthesized != true {
            #expect(meta.recording?.complete == true, "the recorder kept every byte")
            #expect(meta.recording?.clientBytes == client.count && meta.recording?.serverBytes == server.count)
        }
        #expect(meta.tls == (client.first == 0x16))
        let clientFrames = FixtureFrame.frames(client)
        let serverFrames = FixtureFrame.frames(server)
        #expect(clientFrames.count == meta.clientFrames && serverFrames.count == meta.serverFrames)
        if !meta.tls {
            #expect(clientFrames.reduce(0) { $0 + $1.totalLength } == client.count, "client.bin is whole frames")
            #expect(serverFrames.reduce(0) { $0 + $1.totalLength } == server.count, "server.bin is whole frames")
            #expect(clientFrames.allSatisfy { $0.payload != nil } && serverFrames.allSatisfy { $0.payload != nil })
        }
        if let catalog = meta.catalog {
            #expect(Self.names.contains(catalog), "catalog fixture \(catalog) exists")
            #expect(try FixtureFiles.meta(catalog).listener == meta.listener)
        }
        if !meta.valuesHaveClock { #expect(meta.items.allSatisfy { $0.clock == nil && $0.ns == nil }) }
        #expect(meta.items.allSatisfy { ($0.value != nil) != ($0.valueSha256 != nil) })
    }

    @Test(arguments: Self.names) func decodesWholeToExactlyItsItems(_ name: String) throws {
        try Self.expectDecodes(name, chunkSize: .max)
    }

    @Test(.tags(.exhaustive), .tier(.exhaustive), arguments: Self.names) func decodesFedOneByteAtATime(
        _ name: String
    ) throws {
        try Self.expectDecodes(name, chunkSize: 1)
    }

    @Test(.tags(.exhaustive), .tier(.exhaustive), arguments: Self.names) func decodesWhereverTheStreamIsSplit(
        _ name: String
    ) throws {
        let sizes = try Self.chunkSizes(name)
        var failures = 0
        for size in sizes where failures < 3 {
            if !(try Self.expectDecodes(name, chunkSize: size)) { failures += 1 }
        }
    }

    /// TLS is recognised by its first byte, counted, and nothing is decoded from it.
    @Test func tlsFixtureDecodesToNothingAndIsCountedAsTLS() throws {
        let tls = try Self.names.filter { try FixtureFiles.meta($0).tls }
        #expect(tls == ["sender-tls-psk"])
        for name in tls {
            for chunkSize in [Int.max, 1, 7] {
                let result = CaptureDecoder(listener: "fixture").decode(
                    client: FixtureFiles.bytes(name, "client.bin"),
                    server: FixtureFiles.bytes(name, "server.bin"),
                    chunkSize: chunkSize
                )
                #expect(result.values.isEmpty)
                #expect(result.messages.isEmpty)
                #expect(result.statistics.tlsConnectionCount >= 1, "TLS counted (chunk \(chunkSize))")
                #expect(result.statistics.failures.values.reduce(0, +) == 0, "\(result.statistics.failures)")
                // One connection is one TLS connection, as the live tap (ZabbixTap) counts it.
                #expect(result.statistics.tlsConnectionCount == 1, "TLS connections counted for one connection")
            }
        }
    }

    /// The SHA-256 that pins large expected values is right (FIPS 180-4 test vectors).
    @Test func sha256MatchesTheStandardVectors() {
        #expect(
            FixtureSHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        )
        #expect(FixtureSHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            FixtureSHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        )
    }

    /// Collects what the live side pipeline emits.
    final class CollectingSink: ItemValueSink, @unchecked Sendable {
        private let lock = NSLock()
        private var collected: [DecodedValue] = []
        func consume(_ values: [DecodedValue]) { self.lock.withLock { self.collected += values } }
        var values: [DecodedValue] { self.lock.withLock { self.collected } }
    }

    /// Through a live tee: an in-process relay listener with the side pipeline's tap carries the
    /// fixture's connection (after its catalog fixture's, on the same listener) to a loopback
    /// peer that answers with `server.bin`. Both directions must arrive byte for byte, and the
    /// pipeline must emit exactly the fixture's items (TLS: none).
    @Test(.tags(.integration), .tier(.integration), arguments: Self.names)
    func liveTeeRelaysTheFixtureUnchangedAndDecodesItsItems(_ name: String) async throws {
        let meta = try FixtureFiles.meta(name)
        let connections = try Self.catalogChain(name) + [name]
        let peer = try BlockingListener()
        var logger = Logger(label: "fixture-relay")
        logger.logLevel = .critical
        let sink = CollectingSink()
        let pipeline = SidePipeline(configuration: DecodeConfiguration(), sink: sink, logger: logger)
        pipeline.start()
        let listener = RelayListener(
            configuration: RelayListenerConfiguration(
                name: meta.listener,
                listen: [Endpoint(host: "127.0.0.1", port: 0)],
                targets: [Endpoint(host: "127.0.0.1", port: peer.port)],
                connectTimeout: .seconds(2)
            ),
            tapFactory: pipeline.tapFactory,
            logger: logger
        )
        try await listener.start()
        let port = try #require(listener.localAddresses.first?.port)
        for connection in connections {
            let client = FixtureFiles.bytes(connection, "client.bin")
            let server = FixtureFiles.bytes(connection, "server.bin")
            let peerThread = TestThreads.start { () throws -> [UInt8] in
                let accepted = try peer.accept()
                accepted.setReceiveTimeout(seconds: 20)
                let received = try accepted.receive(exactly: client.count)
                try accepted.send(server)
                accepted.close()
                return received
            }
            let answers: [[UInt8]] = try await TestThreads.run(1) { _ in
                let socket = try BlockingSocket.connect(port: port)
                socket.setReceiveTimeout(seconds: 20)
                try socket.send(client)
                let answer = try socket.receiveAll()
                socket.close()
                return answer
            }
            let back: [UInt8] = answers.first ?? []
            let arrived: [UInt8] = try peerThread.waitBlocking()
            #expect(
                arrived == client,
                "\(connection): the peer got \(arrived.count) of \(client.count) client bytes, identical: \(arrived == client)"
            )
            #expect(
                back == server,
                "\(connection): the client got \(back.count) of \(server.count) server bytes, identical: \(back == server)"
            )
        }
        _ = await eventually(timeout: 10) { sink.values.count >= meta.items.count }
        peer.close()
        await listener.stopAccepting()
        _ = await listener.waitForConnectionsToClose(timeout: .seconds(10))
        await listener.closeAllConnections()
        await pipeline.shutdown()
        // Passive checks carry no host: live, the tee names the agent by its address (the relay target's).
        let expected = meta.items.map { item in
            var item = item
            if item.host == nil { item.host = "127.0.0.1" }
            return item
        }
        let (missing, unexpected) = Self.compare(sink.values, expected)
        #expect(
            missing.isEmpty && unexpected.isEmpty,
            """
            \(name) through the live side pipeline
            expected, not decoded:
            \(missing.map { "  " + Self.describe($0) }.joined(separator: "\n"))
            decoded, not expected:
            \(unexpected.map { "  \($0)" }.joined(separator: "\n"))
            """
        )
        #expect(pipeline.statistics.tlsConnectionCount == (meta.tls ? 1 : 0), "live, a TLS connection counts once")
        #expect(pipeline.statistics.failures.values.reduce(0, +) == 0, "\(pipeline.statistics.failures)")
    }

    // MARK: Decoding and comparing

    /// What a decoded value is, in the fields `meta.json` pins.
    struct Decoded: CustomStringConvertible {
        var host: String?
        var key: String?
        var itemid: UInt64?
        var value: String
        var clock: Int64?
        var ns: Int64?
        var state: Int

        var description: String {
            let shown =
                self.value.count > 80 ? "\(self.value.prefix(80))… (\(self.value.utf8.count) bytes)" : self.value
            return
                "host=\(self.host ?? "nil") key=\(self.key ?? "nil") itemid=\(self.itemid.map(String.init) ?? "nil") "
                + "value=\(shown.debugDescription) clock=\(self.clock.map(String.init) ?? "nil") ns=\(self.ns.map(String.init) ?? "nil") state=\(self.state)"
        }

        func matches(_ item: FixtureItem) -> Bool {
            self.host == item.host && self.key == item.key && (item.itemid == nil || self.itemid == item.itemid)
                && item.matches(value: self.value) && self.clock == item.clock && self.ns == item.ns
                && self.state == item.state
        }
    }

    static func describe(_ item: FixtureItem) -> String {
        let value =
            item.value.map { $0.debugDescription }
            ?? "<\(item.valueLength ?? 0) bytes, sha256 \(item.valueSha256 ?? "")>"
        return
            "host=\(item.host ?? "nil") key=\(item.key) itemid=\(item.itemid.map(String.init) ?? "-") value=\(value) "
            + "clock=\(item.clock.map(String.init) ?? "nil") ns=\(item.ns.map(String.init) ?? "nil") state=\(item.state)"
    }

    /// Decodes fixture `name` (after its catalog chain, with the same store) in chunks of `chunkSize`.
    static func decode(_ name: String, chunkSize: Int) throws -> (meta: FixtureMeta, result: CaptureDecoder.Result) {
        let meta = try FixtureFiles.meta(name)
        let configuration = DecodeConfiguration()
        let store = ItemCatalogStore(
            maximumEntries: configuration.catalogMaximumEntries,
            maximumPendingValues: configuration.unresolvedMaximum,
            pendingTimeout: configuration.unresolvedWait
        )
        for catalog in try Self.catalogChain(name) {
            let catalogMeta = try FixtureFiles.meta(catalog)
            _ = CaptureDecoder(listener: catalogMeta.listener, configuration: configuration, catalog: store).decode(
                client: FixtureFiles.bytes(catalog, "client.bin"),
                server: FixtureFiles.bytes(catalog, "server.bin"),
                chunkSize: chunkSize
            )
        }
        let result = CaptureDecoder(listener: meta.listener, configuration: configuration, catalog: store).decode(
            client: FixtureFiles.bytes(name, "client.bin"),
            server: FixtureFiles.bytes(name, "server.bin"),
            chunkSize: chunkSize
        )
        return (meta, result)
    }

    /// The expected items no decoded value matched, and the decoded values no item matched.
    static func compare(
        _ values: [DecodedValue],
        _ items: [FixtureItem]
    ) -> (missing: [FixtureItem], unexpected: [Decoded]) {
        var unmatched = values.map { decoded in
            Decoded(
                host: decoded.value.host,
                key: decoded.value.key,
                itemid: decoded.value.itemid,
                value: decoded.value.value,
                clock: decoded.value.clock,
                ns: decoded.value.ns,
                state: decoded.value.state == .notSupported ? 1 : 0
            )
        }
        var missing: [FixtureItem] = []
        for item in items {
            if let index = unmatched.firstIndex(where: { $0.matches(item) }) {
                unmatched.remove(at: index)
            } else {
                missing.append(item)
            }
        }
        return (missing, unmatched)
    }

    /// Records an issue and returns false unless fixture `name` decodes to exactly its items.
    @discardableResult
    static func expectDecodes(_ name: String, chunkSize: Int) throws -> Bool {
        let (meta, result) = try self.decode(name, chunkSize: chunkSize)
        let (missing, unmatched) = self.compare(result.values, meta.items)
        let failures = result.statistics.failures.filter { $0.value > 0 }
        let ok =
            missing.isEmpty && unmatched.isEmpty && failures.isEmpty
            && (result.statistics.tlsConnectionCount > 0) == meta.tls
        if !ok {
            Issue.record(
                Comment(
                    rawValue: """
                        \(name) (chunk size \(chunkSize == .max ? "whole" : String(chunkSize))) does not decode to its meta.json items
                        expected, not decoded:
                        \(missing.map { "  " + Self.describe($0) }.joined(separator: "\n"))
                        decoded, not expected:
                        \(unmatched.map { "  \($0)" }.joined(separator: "\n"))
                        failures: \(failures), TLS: \(result.statistics.tlsConnectionCount), messages: \(result.messages.count)
                        """
                )
            )
        }
        return ok
    }

    /// The chunk sizes `decodesWhereverTheStreamIsSplit` uses for fixture `name` (see the suite's doc comment).
    static func chunkSizes(_ name: String) throws -> [Int] {
        let client = FixtureFiles.bytes(name, "client.bin")
        let server = FixtureFiles.bytes(name, "server.bin")
        let length = max(client.count, server.count)
        guard length > 2 else { return [] }
        // What a decode costs is the inflated payload (agent2-agent-data: 2 KiB on the wire, 600 KiB of JSON).
        let frames = FixtureFrame.frames(client) + FixtureFrame.frames(server)
        let decoded = frames.reduce(0) { $0 + ($1.payload?.count ?? $1.wirePayload.count) }
        if length <= 16 * 1024 && decoded <= 16 * 1024 { return Array(2...length) }
        let spread = decoded <= 256 * 1024 ? 200 : 64
        var sizes = Set((0..<spread).map { 2 + $0 * (length - 2) / (spread - 1) })
        for frame in frames {
            let width = frame.headerLength == 21 ? 8 : 4
            for boundary in [
                frame.offset + 2, frame.offset + 4, frame.offset + 5, frame.offset + 5 + width / 2,
                frame.offset + 5 + width, frame.offset + frame.headerLength, frame.offset + frame.totalLength,
            ] {
                for size in [boundary - 1, boundary, boundary + 1] where size >= 2 { sizes.insert(size) }
            }
        }
        return sizes.sorted()
    }
}

import Foundation
import Logging
import NIOCore
import Relay
import Synchronization
import Tee
import TestSupport
import Testing
import ZabbixProtocol

/// The tap and the side pipeline turn relayed bytes into item values, with the catalog,
/// duplicate suppression and every failure counted.
@Suite(.timeLimit(.minutes(1)))
struct SidePipelineTests {
    /// Collects what the pipeline emits.
    final class CollectingSink: ItemValueSink, @unchecked Sendable {
        private let lock = NSLock()
        private var collected: [DecodedValue] = []
        func consume(_ values: [DecodedValue]) { self.lock.withLock { self.collected += values } }
        var values: [DecodedValue] { self.lock.withLock { self.collected } }
    }

    struct Harness {
        let pipeline: SidePipeline
        let sink: CollectingSink
        let factory: ZabbixTapFactory
        /// The clock the pipeline's warnings are throttled by.
        let clock = VirtualClock()
        var nextID: UInt64 = 1

        init(
            log: CapturedLog? = nil,
            warningInterval: TimeAmount = .seconds(60),
            passiveProxy: Bool = false,
            apiEventLoop: (any EventLoop)? = nil,
            _ configure: (inout DecodeConfiguration) -> Void = { _ in }
        ) {
            var configuration = DecodeConfiguration()
            configuration.unresolvedWait = .milliseconds(300)
            configure(&configuration)
            self.sink = CollectingSink()
            var logger = log?.logger(level: .info) ?? Logger(label: "test")
            if log == nil { logger.logLevel = .critical }
            let clock = self.clock
            self.pipeline = SidePipeline(
                configuration: configuration,
                sink: self.sink,
                logger: logger,
                warningInterval: warningInterval,
                now: { clock.now },
                apiEventLoop: apiEventLoop
            )
            self.factory = self.pipeline.tapFactory(passiveProxy: passiveProxy)
            self.pipeline.start()
        }

        /// One connection: each exchange's client bytes then server bytes, in order, as the relay
        /// would hand them to the tap (split at `chunk` bytes).
        mutating func connection(
            listener: String = "agents",
            target: String = "127.0.0.1",
            client: SocketAddress? = nil,
            _ exchange: [(RelayDirection, [UInt8])],
            chunk: Int = .max
        ) throws {
            let info = RelayConnectionInfo(
                id: self.nextID,
                listener: listener,
                client: client,
                local: nil,
                target: Endpoint(host: target, port: 10051)
            )
            self.nextID += 1
            let tap = try #require(self.factory.makeTap(for: info))
            for (direction, bytes) in exchange {
                var offset = 0
                while offset < bytes.count {
                    let end = min(bytes.count, offset + chunk)
                    try bytes[offset..<end].withUnsafeBytes { try tap.observe($0, direction: direction) }
                    offset = end
                }
            }
            try tap.endOfStream(.clientToServer)
            try tap.endOfStream(.serverToClient)
            tap.connectionClosed()
        }

        func values(count: Int) async -> [DecodedValue] {
            _ = await eventually(timeout: 10) { self.sink.values.count >= count }
            return self.sink.values
        }
    }

    static let success = ZabbixFrames.plain(
        #"{"response":"success","info":"processed: 3; failed: 0; total: 3; seconds spent: 0.000050"}"#
    )

    @Test(arguments: [Int.max, 1, 7, 13])
    func agentdDataWithHostAndKeyBecomesValues(chunk: Int) async throws {
        var harness = Harness()
        let request = ZabbixFrames.plain(
            #"{"request":"agent data","session":"da5682c258db95735870aea3f3a13664","data":[{"host":"tee-test-agentd","key":"agent.ping","value":"1","id":1,"clock":1795236167,"ns":573317970},{"host":"tee-test-agentd","key":"system.cpu.load[all,avg1]","value":"0.322266","id":2,"clock":1795236167,"ns":573333733},{"host":"tee-test-agentd","key":"vfs.file.contents[/nonexistent/file]","value":"Cannot open file: [2] No such file or directory","state":1,"id":3,"clock":1795236167,"ns":573364019}],"clock":1795236168,"ns":573601716}"#
        )
        try harness.connection([(.clientToServer, request), (.serverToClient, Self.success)], chunk: chunk)
        let values = await harness.values(count: 3)
        #expect(
            values.map(\.value.key) == [
                "agent.ping", "system.cpu.load[all,avg1]", "vfs.file.contents[/nonexistent/file]",
            ]
        )
        #expect(values.map(\.value.value) == ["1", "0.322266", "Cannot open file: [2] No such file or directory"])
        #expect(values.map(\.value.state) == [.normal, .normal, .notSupported])
        #expect(values.allSatisfy { $0.value.host == "tee-test-agentd" && $0.listener == "agents" })
        #expect(values.first?.value.clock == 1_795_236_167 && values.first?.value.ns == 573_317_970)
        await harness.pipeline.shutdown()
        let stats = harness.pipeline.statistics
        #expect(stats.itemValueCount == 3)
        #expect(stats.framesDecoded[.init(message: "agent data", flags: 1)] == 1)
        #expect(stats.framesDecoded[.init(message: "response", flags: 1)] == 1)
    }

    static func agent2ActiveChecks(host: String = "tee-test-agent2") -> [(RelayDirection, [UInt8])] {
        [
            (
                .clientToServer,
                ZabbixFrames.compressed(
                    #"{"request":"active checks","host":"\#(host)","version":"6.0","ip":"127.0.0.1","port":31060}"#
                )
            ),
            (
                .serverToClient,
                ZabbixFrames.compressed(
                    #"{"response":"success","data":[{"key":"agent.ping","itemid":1001,"delay":"5s","lastlogsize":0,"mtime":0},{"key":"system.uname","itemid":1004,"delay":"1m","lastlogsize":0,"mtime":0}]}"#
                )
            ),
        ]
    }

    static func agent2Data(
        host: String = "tee-test-agent2",
        session: String = "20b262b0755945e992c381d62aaa1169",
        firstID: Int = 4
    ) -> [(RelayDirection, [UInt8])] {
        [
            (
                .clientToServer,
                ZabbixFrames.compressed(
                    #"{"request":"agent data","data":[{"id":\#(firstID),"itemid":1001,"value":"1","clock":1795236198,"ns":1241513},{"id":\#(firstID + 1),"itemid":1004,"value":"Linux vm 6.1 x86_64","clock":1795236199,"ns":265616}],"session":"\#(session)","host":"\#(host)","version":"6.0"}"#
                )
            ),
            (
                .serverToClient,
                ZabbixFrames.compressed(
                    #"{"response":"success","info":"processed: 2; failed: 0; total: 2; seconds spent: 0.000042"}"#
                )
            ),
        ]
    }

    @Test func agent2ItemidValuesAreResolvedThroughTheCatalogLearnedFromActiveChecks() async throws {
        var harness = Harness()
        try harness.connection(Self.agent2ActiveChecks())
        try harness.connection(Self.agent2Data())
        let values = await harness.values(count: 2)
        #expect(values.map(\.value.key) == ["agent.ping", "system.uname"])
        #expect(values.map(\.value.itemid) == [1001, 1004])
        #expect(values.allSatisfy { $0.value.host == "tee-test-agent2" })
        await harness.pipeline.shutdown()
        #expect(harness.pipeline.catalog.entryCount == 2)
        #expect(harness.pipeline.statistics.framesDecoded[.init(message: "active checks reply", flags: 3)] == 1)
    }

    @Test func valuesArrivingBeforeTheirCatalogWaitAndAreResolvedWhenItArrives() async throws {
        // A wait no test run outlasts: a starved run must not see the values expire.
        var harness = Harness { $0.unresolvedWait = .seconds(3600) }
        try harness.connection(Self.agent2Data())
        #expect(await eventually { harness.pipeline.catalog.pendingCount == 2 })
        #expect(harness.sink.values.isEmpty, "nothing is emitted with an unknown itemid while it may still be learned")
        try harness.connection(Self.agent2ActiveChecks())
        let values = await harness.values(count: 2)
        #expect(values.map(\.value.key) == ["agent.ping", "system.uname"])
        await harness.pipeline.shutdown()
    }

    /// Integration: the catalog wait expires on the workers' wall clock (their housekeeping pass).
    @Test(.tags(.integration), .tier(.integration)) func unknownItemidsAreEmittedAsItemidKeysAfterTheirWait()
        async throws
    {
        var harness = Harness { $0.unresolvedWait = .milliseconds(200) }
        try harness.connection(Self.agent2Data())
        let values = await harness.values(count: 2)
        #expect(values.map(\.value.key) == ["itemid:1001", "itemid:1004"])
        #expect(values.allSatisfy { $0.value.host == "tee-test-agent2" })
        await harness.pipeline.shutdown()
        #expect(harness.pipeline.statistics.unresolvedEmittedCount == 2)
    }

    @Test(.tags(.integration), .tier(.integration)) func unknownItemidsAreDroppedAndCountedWhenConfigured() async throws
    {
        var harness = Harness {
            $0.unresolvedWait = .milliseconds(100)
            $0.unresolvedAction = .drop
        }
        try harness.connection(Self.agent2Data())
        #expect(await eventually { harness.pipeline.statistics.unresolvedDroppedCount == 2 })
        await harness.pipeline.shutdown()
        #expect(harness.sink.values.isEmpty)
    }

    @Test func resentRowsOfTheSameSessionAreDroppedAsDuplicates() async throws {
        var harness = Harness()
        try harness.connection(Self.agent2ActiveChecks())
        try harness.connection(Self.agent2Data())
        try harness.connection(Self.agent2Data())  // the agent lost the reply and resends
        try harness.connection(Self.agent2Data(firstID: 6))
        let values = await harness.values(count: 4)
        await harness.pipeline.shutdown()
        #expect(values.count == 4)
        #expect(harness.pipeline.statistics.duplicateCount == 2)
    }

    @Test func passiveCheckValuesTakeTheKeyFromTheRequestAndTheHostFromTheAgentAddress() async throws {
        var harness = Harness()
        try harness.connection(
            listener: "passive",
            target: "10.0.0.7",
            [
                (.clientToServer, ZabbixFrames.plain("agent.version")), (.serverToClient, ZabbixFrames.plain("6.0.14")),
            ]
        )
        try harness.connection(
            listener: "passive",
            target: "10.0.0.7",
            [
                (.clientToServer, ZabbixFrames.plain("no.such.key")),
                (
                    .serverToClient,
                    ZabbixFrames.frame(
                        flags: 1,
                        payload: Array("ZBX_NOTSUPPORTED".utf8) + [0] + Array("Unsupported item key.".utf8),
                        reserved: 0
                    )
                ),
            ]
        )
        let values = await harness.values(count: 2)
        await harness.pipeline.shutdown()
        #expect(values.map(\.value.key) == ["agent.version", "no.such.key"])
        #expect(values.map(\.value.value) == ["6.0.14", "Unsupported item key."])
        #expect(values.map(\.value.state) == [.normal, .notSupported])
        #expect(values.allSatisfy { $0.value.host == "10.0.0.7" && $0.value.clock == nil })
    }

    @Test func badInputIsCountedByReasonAndNothingIsEmitted() async throws {
        var harness = Harness { $0.maximumFrameSize = 4096 }
        // Corrupt zlib.
        try harness.connection([
            (.clientToServer, ZabbixFrames.frame(flags: 3, payload: [0x78, 0x9c, 1, 2, 3, 4], reserved: 100))
        ])
        // A reserved size that lies.
        var lying = ZabbixFrames.compressed(#"{"request":"sender data","data":[]}"#)
        lying[9] = 99
        try harness.connection([(.clientToServer, lying)])
        // Invalid JSON, invalid UTF-8.
        try harness.connection([(.clientToServer, ZabbixFrames.plain(#"{"request":"sender data","data":["#))])
        try harness.connection([
            (
                .clientToServer,
                ZabbixFrames.frame(
                    flags: 1,
                    payload: Array(#"{"request":"sender data","x":""#.utf8) + [0xff, 0xfe] + Array(#""}"#.utf8),
                    reserved: 0
                )
            )
        ])
        // Oversized frame, then a good one on the same connection: decoding resumes after it.
        let big = ZabbixFrames.plain(
            #"{"request":"sender data","data":[{"host":"h","key":"k","value":""# + String(repeating: "x", count: 10_000)
                + #""}]}"#
        )
        let small = ZabbixFrames.plain(#"{"request":"sender data","data":[{"host":"h","key":"k2","value":"5"}]}"#)
        try harness.connection([(.clientToServer, big + small), (.serverToClient, Self.success)])
        // TLS and not-ZBXD connections.
        try harness.connection([
            (.clientToServer, [0x16, 0x03, 0x01, 0x00, 0x86, 0x01]), (.serverToClient, [0x16, 0x03, 0x03]),
        ])
        try harness.connection([(.clientToServer, Array("agent.ping\n".utf8))])
        let values = await harness.values(count: 1)
        await harness.pipeline.shutdown()
        #expect(values.map(\.value.key) == ["k2"])
        let stats = harness.pipeline.statistics
        #expect(stats.failures(.corruptCompression) == 2)
        #expect(stats.failures(.invalidJSON) == 2)
        #expect(stats.failures(.oversized) == 1)
        #expect(stats.failures(.notZabbix) == 1)
        #expect(stats.tlsConnectionCount == 1)
    }

    @Test func oversizedFramesAreCountedAndWarnedOncePerInterval() async throws {
        let log = CapturedLog()
        var harness = Harness(log: log, warningInterval: .milliseconds(300)) { $0.maximumFrameSize = 4096 }
        let big = ZabbixFrames.plain(
            #"{"request":"sender data","data":[{"host":"h","key":"k","value":""# + String(repeating: "x", count: 10_000)
                + #""}]}"#
        )
        let small = ZabbixFrames.plain(#"{"request":"sender data","data":[{"host":"h","key":"k2","value":"5"}]}"#)
        let client = try SocketAddress(ipAddress: "192.0.2.10", port: 50000)
        try harness.connection(
            client: client,
            [(.clientToServer, big + big + big + small), (.serverToClient, Self.success)]
        )
        _ = await harness.values(count: 1)
        var lines = log.entries(containing: "frame larger than decode.max_frame_size")
        #expect(lines.count == 1, "three oversized frames, one line")
        #expect(lines.first?.level == .warning)
        #expect(lines.first?.metadata["listener"] == "agents")
        #expect(lines.first?.metadata["peer"] == "192.0.2.10:50000")
        #expect(lines.first?.metadata["frame_bytes"] == "\(big.count - 13)")
        #expect(lines.first?.metadata["max_frame_size"] == "4096")
        harness.clock.advance(by: .milliseconds(400))
        try harness.connection(client: client, [(.clientToServer, big)])
        lines = log.entries(containing: "frame larger than decode.max_frame_size")
        #expect(lines.count == 2)
        #expect(lines.last?.metadata["suppressed-since-last-warning"] == "2")
        await harness.pipeline.shutdown()
        #expect(harness.pipeline.statistics.failures(.oversized) == 4, "the counter has every one")
        #expect(harness.sink.values.map(\.value.key) == ["k2"], "decoding resumed after the skipped frames")
    }

    @Test func fullCatalogRefusesCountsAndWarnsOncePerInterval() async throws {
        let log = CapturedLog()
        var harness = Harness(log: log) { $0.catalogMaximumEntries = 3 }
        try harness.connection(Self.agent2ActiveChecks(host: "a"))
        try harness.connection(Self.agent2ActiveChecks(host: "b"))
        try harness.connection(Self.agent2ActiveChecks(host: "c"))
        #expect(await eventually { harness.pipeline.catalog.refusedCount == 3 })
        #expect(harness.pipeline.catalog.entryCount == 3)
        // What fits still resolves; nothing crashed.
        try harness.connection(Self.agent2Data(host: "a"))
        let values = await harness.values(count: 2)
        #expect(values.map(\.value.key) == ["agent.ping", "system.uname"])
        await harness.pipeline.shutdown()
        let lines = log.entries(containing: "item catalog full")
        #expect(lines.count == 1, "two refusing messages within the interval, one line")
        #expect(lines.first?.level == .warning)
        #expect(lines.first?.metadata["max_entries"] == "3")
        #expect(lines.first?.metadata["refused"] == "1")
    }

    @Test func fullQueueDropsFramesAndCountsThemWithoutWaiting() async throws {
        var configuration = DecodeConfiguration()
        configuration.queueFrames = 2
        let blocking = BlockingSink()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let pipeline = SidePipeline(configuration: configuration, sink: blocking, logger: logger)
        pipeline.start()
        let tap = try #require(
            pipeline.tapFactory.makeTap(
                for: RelayConnectionInfo(
                    id: 1,
                    listener: "l",
                    client: nil,
                    local: nil,
                    target: Endpoint(host: "h", port: 1)
                )
            )
        )
        let frame = ZabbixFrames.plain(#"{"request":"sender data","data":[{"host":"h","key":"k","value":"1"}]}"#)
        // Values reach the sink only once the server accepted them: one accepted request puts the
        // only worker inside the blocking sink, so nothing drains the queue from then on.
        let reply = ZabbixFrames.plain(
            #"{"response":"success","info":"processed: 1; failed: 0; total: 1; seconds spent: 0.000042"}"#
        )
        // The queue holds two items, the connection's opening among them: the reply is offered
        // once the worker has taken the request.
        try frame.withUnsafeBytes { try tap.observe($0, direction: .clientToServer) }
        #expect(await eventually { pipeline.statistics.queueFrames == 0 })
        try reply.withUnsafeBytes { try tap.observe($0, direction: .serverToClient) }
        #expect(await eventually { blocking.entered.load(ordering: .relaxed) })
        let started = ContinuousClock.now
        for _ in 0..<50 { try frame.withUnsafeBytes { try tap.observe($0, direction: .clientToServer) } }
        #expect(ContinuousClock.now - started < .seconds(5), "the tap never waits for the pipeline")
        #expect(pipeline.statistics.failures(.queueFull) >= 40)
        blocking.release()
        tap.connectionClosed()
        await pipeline.shutdown()
    }

    /// A sink that holds the worker until released, to fill the queue.
    final class BlockingSink: ItemValueSink, @unchecked Sendable {
        let semaphore = DispatchSemaphore(value: 0)
        /// A worker is (or was) inside ``consume(_:)``.
        let entered = Atomic(false)
        func consume(_ values: [DecodedValue]) {
            self.entered.store(true, ordering: .relaxed)
            _ = self.semaphore.wait(timeout: .now() + 10)
        }
        func release() { for _ in 0..<100 { self.semaphore.signal() } }
    }

    @Test func catalogSavedAtShutdownResolvesAgent2ValuesAfterARestart() async throws {
        let directory = NSTemporaryDirectory() + "catalog-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/catalog.jsonl"
        var first = Harness { $0.catalogPath = path }
        try first.connection(Self.agent2ActiveChecks())
        #expect(await eventually { first.pipeline.catalog.entryCount == 2 })
        await first.pipeline.shutdown()
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600, "the catalog names hosts and keys: owner only")

        // A new tee process: only the file knows the items.
        var second = Harness { $0.catalogPath = path }
        try second.pipeline.catalog.load(path: path)
        try second.connection(Self.agent2Data())
        let values = await second.values(count: 2)
        await second.pipeline.shutdown()
        #expect(values.map(\.value.key) == ["agent.ping", "system.uname"])
    }

    // MARK: The server's verdict

    @Test func valuesWaitForTheReplyAndTheHeldBudgetIsGivenBackWhenItComes() async throws {
        var harness = Harness()
        let request = ZabbixFrames.plain(#"{"request":"sender data","data":[{"host":"h","key":"k","value":"1"}]}"#)
        try harness.connection([(.clientToServer, request), (.serverToClient, Self.success)])
        try harness.connection([(.clientToServer, request)])  // never answered
        let values = await harness.values(count: 1)
        #expect(await eventually { harness.pipeline.statistics.rejectedValues[.noReply] == 1 })
        await harness.pipeline.shutdown()
        #expect(values.count == 1)
        #expect(harness.pipeline.statistics.heldValueCount == 0)
        #expect(harness.pipeline.statistics.heldByteCount == 0)
        #expect(harness.pipeline.statistics.queueBytes == 0, "held bytes were given back to the queue's budget")
    }

    @Test func valuesThatDoNotFitTheByteBudgetAreNotHeldAndCounted() async throws {
        // 64 KiB for the queue and the values waiting for replies together.
        var harness = Harness {
            $0.queueBytes = 64 << 10
            $0.maximumFrameSize = 64 << 10
        }
        let rows = (0..<400).map { #"{"host":"h","key":"k\#($0)","value":"\#($0)"}"# }.joined(separator: ",")
        let big = ZabbixFrames.plain(#"{"request":"sender data","data":[\#(rows)]}"#)
        try harness.connection([(.clientToServer, big), (.serverToClient, Self.success)])
        #expect(await eventually { harness.pipeline.statistics.failures(.holdBudget) == 1 })
        await harness.pipeline.shutdown()
        #expect(harness.sink.values.isEmpty)
    }

    @Test func anActiveChecksReplySentByTheConnectingSideTeachesNothing() async throws {
        var harness = Harness()
        // The accepting side asks, the connecting side "answers" with an item list: not a server.
        try harness.connection([
            (.serverToClient, ZabbixFrames.plain(#"{"request":"active checks","host":"h"}"#)),
            (
                .clientToServer,
                ZabbixFrames.plain(#"{"response":"success","data":[{"key":"k","itemid":1,"delay":"1s"}]}"#)
            ),
        ])
        #expect(await eventually { harness.pipeline.statistics.catalogUpdatesIgnored[.wrongSide] == 1 })
        await harness.pipeline.shutdown()
        #expect(harness.pipeline.catalog.entryCount == 0)
    }

    @Test func aConfigurationPushIsLearnedOnlyThroughAPassiveProxyListener() async throws {
        let push = ZabbixFrames.plain(
            #"{"request":"proxy config","data":{"hosts":{"fields":["hostid","host"],"data":[[7,"h7"]]},"items":{"fields":["itemid","hostid","key_","value_type"],"data":[[70,7,"k70",3]]}}}"#
        )
        let accepted = ZabbixFrames.plain(#"{"response":"success","version":"6.0.14"}"#)
        var ordinary = Harness()
        try ordinary.connection([(.clientToServer, push), (.serverToClient, accepted)])
        #expect(await eventually { ordinary.pipeline.statistics.catalogUpdatesIgnored[.untrustedListener] == 1 })
        await ordinary.pipeline.shutdown()
        #expect(ordinary.pipeline.catalog.entryCount == 0)

        var passive = Harness(passiveProxy: true)
        try passive.connection([(.clientToServer, push), (.serverToClient, accepted)])
        #expect(await eventually { passive.pipeline.catalog.entryCount == 2 })
        await passive.pipeline.shutdown()
    }

    @Test func redirectsAreCountedAndLoggedOncePerIntervalWithWhetherAListenerCoversTheAddress() async throws {
        let log = CapturedLog()
        var harness = Harness(log: log)
        harness.pipeline.listenersChanged([("agents", [Endpoint(host: "127.0.0.1", port: 10051)])])
        let request = ZabbixFrames.plain(
            #"{"request":"agent data","session":"s","data":[{"host":"h","key":"k","value":"1","id":1}]}"#
        )
        let away = ZabbixFrames.plain(#"{"response":"failed","redirect":{"revision":1,"address":"10.9.9.9:10051"}}"#)
        let covered = ZabbixFrames.plain(
            #"{"response":"failed","redirect":{"revision":1,"address":"127.0.0.1:10051"}}"#
        )
        for _ in 0..<3 { try harness.connection([(.clientToServer, request), (.serverToClient, away)]) }
        try harness.connection([(.clientToServer, request), (.serverToClient, covered)])
        #expect(await eventually { harness.pipeline.statistics.redirects.values.reduce(0, +) == 4 })
        await harness.pipeline.shutdown()
        #expect(harness.pipeline.statistics.redirects[.init(listener: "agents", address: "10.9.9.9:10051")] == 3)
        #expect(harness.pipeline.statistics.rejectedValues[.redirect] == 4)
        #expect(harness.sink.values.isEmpty)
        let lines = log.entries(containing: "redirected a client")
        #expect(lines.count == 2, "one line per address within the interval")
        let bypass = lines.first { $0.metadata["address"] == "10.9.9.9:10051" }
        #expect(bypass?.level == .warning && bypass?.metadata["covered"] == "false")
        let kept = lines.first { $0.metadata["address"] == "127.0.0.1:10051" }
        #expect(kept?.level == .notice && kept?.metadata["covered"] == "true")
    }
}

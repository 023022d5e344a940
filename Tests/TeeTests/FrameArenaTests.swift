import Logging
import NIOCore
import Relay
import TestSupport
import Testing
import ZabbixProtocol

@testable import Tee

/// The frames a relay event loop's taps gather in an iteration share one buffer (``FrameArena``)
/// whose memory is charged to `decode.queue_bytes` as a whole until its last frame is consumed;
/// a frame the arena cannot take still gets decoded, in a buffer of its own.
@Suite(.timeLimit(.minutes(1)))
struct FrameArenaTests {
    static func pipeline(queueBytes: Int = 256 << 20) -> SidePipeline {
        var configuration = DecodeConfiguration()
        configuration.workers = 1
        configuration.queueBytes = queueBytes
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return SidePipeline(configuration: configuration, sink: SideBatchTests.DiscardingSink(), logger: logger)
    }

    /// A frame whose payload is `count` bytes of `byte` (not JSON: only its bytes are looked at).
    static func frame(_ count: Int, of byte: UInt8) -> [UInt8] {
        ZabbixFrames.frame(flags: 1, payload: [UInt8](repeating: byte, count: count), reserved: 0)
    }

    /// The frames' payloads queued, in order.
    static func queuedPayloads(_ pipeline: SidePipeline) -> [SidePayload] {
        (pipeline.queues[0].takeAll(timeout: .zero).map { Array($0.joined()) } ?? []).compactMap {
            if case .frame(_, _, _, let payload, _) = $0 { return payload }
            return nil
        }
    }

    static func arena(of payload: SidePayload) -> FrameArena? {
        if case .arena(let arena, _, _) = payload { return arena }
        return nil
    }

    /// Relays `frames`, each in a read of its own, on one connection of `pipeline`, in one
    /// iteration of a loop.
    static func relay(_ frames: [[UInt8]], into pipeline: SidePipeline) throws {
        let loop = RelayTapLoop(now: .uptimeNanoseconds(0))
        let tap = try #require(pipeline.tapFactory.makeTap(for: SideBatchTests.info(1), on: loop))
        for frame in frames { try frame.withUnsafeBytes { try tap.observe($0, direction: .clientToServer) } }
        loop.iterationEnded()
    }

    /// Relays `frames` (``relay(_:into:)``) and returns what was queued.
    static func gather(_ frames: [[UInt8]], into pipeline: SidePipeline) throws -> [SidePayload] {
        try Self.relay(frames, into: pipeline)
        return Self.queuedPayloads(pipeline)
    }

    /// Whether all of `payloads` lie in one arena.
    static func shareOneArena(_ payloads: [SidePayload]) -> Bool {
        let arenas = payloads.map { Self.arena(of: $0).map(ObjectIdentifier.init) }
        return arenas.allSatisfy { $0 != nil && $0 == arenas.first }
    }

    @Test func theFramesOfAnIterationShareOneArenaChargedAsAWholeUntilTheLastOfThemIsGone() throws {
        let pipeline = Self.pipeline()
        var payloads = try Self.gather([Self.frame(100, of: 1), Self.frame(200, of: 2)], into: pipeline)
        #expect(payloads.count == 2)
        #expect(Self.shareOneArena(payloads), "one arena for the iteration")
        #expect(payloads.map(\.buffer) == [ByteBuffer(repeating: 1, count: 100), ByteBuffer(repeating: 2, count: 200)])
        #expect(payloads.map(\.charge) == [0, 0], "the arena carries the charge, not its frames")
        #expect(pipeline.frameBytes.bytesInUse == FrameArena.smallestCapacity)
        payloads.removeFirst()
        #expect(pipeline.frameBytes.bytesInUse == FrameArena.smallestCapacity, "one of its frames still holds it")
        payloads.removeAll()
        #expect(pipeline.frameBytes.bytesInUse == 0, "freed with its last frame, and its charge given back")
    }

    @Test func theNextIterationsFramesGoToAnArenaOfTheirOwn() throws {
        let pipeline = Self.pipeline()
        let first = try Self.gather([Self.frame(10, of: 1)], into: pipeline)
        let second = try Self.gather([Self.frame(10, of: 2)], into: pipeline)
        #expect(!Self.shareOneArena(first + second))
        #expect(pipeline.frameBytes.bytesInUse == 2 * FrameArena.smallestCapacity)
    }

    @Test func anArenaGrowsByPowersOfTwoChargingItsGrowthAndKeepsWhatItHeld() throws {
        let pipeline = Self.pipeline()
        let payloads = try Self.gather((1...3).map { Self.frame(2000, of: UInt8($0)) }, into: pipeline)
        #expect(Self.shareOneArena(payloads))
        #expect(pipeline.frameBytes.bytesInUse == 8192, "6000 bytes: grown from 4 KiB to 8 KiB")
        #expect(payloads.map(\.buffer) == (1...3).map { ByteBuffer(repeating: UInt8($0), count: 2000) })
    }

    @Test func aFrameWhoseArenaGrowthDoesNotFitTheBudgetGetsABufferOfItsOwnChargedWithItsSize() throws {
        // Room for the 4 KiB arena and one more frame of 2000 bytes, not for an 8 KiB arena.
        let pipeline = Self.pipeline(queueBytes: 4096 + 2000)
        let payloads = try Self.gather((1...3).map { Self.frame(2000, of: UInt8($0)) }, into: pipeline)
        #expect(payloads.map { Self.arena(of: $0) != nil } == [true, true, false])
        #expect(payloads.map(\.charge) == [0, 0, 2000])
        #expect(payloads[2].buffer == ByteBuffer(repeating: 3, count: 2000))
        #expect(pipeline.frameBytes.bytesInUse == 4096 + 2000)
        #expect(pipeline.statistics.failures(.queueFull) == 0, "nothing dropped")
    }

    @Test func withoutRoomForAnArenaAFrameThatFitsTheBudgetIsStillGathered() throws {
        let pipeline = Self.pipeline(queueBytes: 1000)
        let payloads = try Self.gather([Self.frame(300, of: 7)], into: pipeline)
        #expect(payloads.map(\.charge) == [300])
        #expect(payloads.map(\.buffer) == [ByteBuffer(repeating: 7, count: 300)])
        #expect(pipeline.frameBytes.bytesInUse == 300)
    }

    @Test func aFrameLargerThanAnArenaTakesGetsABufferOfItsOwn() throws {
        let pipeline = Self.pipeline()
        let large = SideBatch.largestArenaFrame + 1
        let payloads = try Self.gather([Self.frame(10, of: 1), Self.frame(large, of: 2)], into: pipeline)
        #expect(payloads.map { Self.arena(of: $0) != nil } == [true, false])
        #expect(payloads[1].buffer == ByteBuffer(repeating: 2, count: large))
        #expect(pipeline.frameBytes.bytesInUse == FrameArena.smallestCapacity + large)
    }

    @Test func framesInAnArenaAreDecodedAndItsBytesGivenBackByTheWorker() async throws {
        let pipeline = Self.pipeline()
        pipeline.start()
        let request = ZabbixFrames.plain(#"{"request":"agent data","data":[]}"#)
        try Self.relay([request, request], into: pipeline)
        await pipeline.shutdown()
        #expect(pipeline.frameBytes.bytesInUse == 0)
        #expect(pipeline.statistics.queueFrames == 0)
        #expect(pipeline.statistics.framesDecoded.values.reduce(0, +) == 2, "both read from the arena")
    }
}

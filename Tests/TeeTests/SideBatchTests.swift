import Logging
import NIOCore
import Relay
import TestSupport
import Testing
import ZabbixProtocol

@testable import Tee

/// The taps of one relay event loop hand their items to the side pipeline once per iteration of
/// the loop (``SideBatch``), with the same order, drops and byte accounting as one by one.
@Suite(.timeLimit(.minutes(1)))
struct SideBatchTests {
    /// A pipeline whose worker is not started: what reaches its queue stays there to look at.
    static func pipeline(queueFrames: Int = 100) -> SidePipeline {
        var configuration = DecodeConfiguration()
        configuration.workers = 1
        configuration.queueFrames = queueFrames
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return SidePipeline(configuration: configuration, sink: DiscardingSink(), logger: logger)
    }

    struct DiscardingSink: ItemValueSink {
        func consume(_ values: [DecodedValue]) {}
    }

    static func info(_ id: UInt64) -> RelayConnectionInfo {
        RelayConnectionInfo(id: id, listener: "l", client: nil, local: nil, target: Endpoint(host: "h", port: 1))
    }

    static let request = ZabbixFrames.plain(#"{"request":"agent data","data":[]}"#)

    /// What the queue holds, described per item: "opened 1", "frame 1 client", "closed 1"; a
    /// frame after a loss is marked " after loss".
    static func queued(_ pipeline: SidePipeline) -> [String] {
        (pipeline.queues[0].takeAll(timeout: .zero).map { Array($0.joined()) } ?? []).map { work in
            switch work {
            case .opened(let id, _, _, _): return "opened \(id)"
            case .closed(let id): return "closed \(id)"
            case .frame(let id, let peer, _, _, let afterLoss):
                return "frame \(id) \(peer == .client ? "client" : "server")\(afterLoss ? " after loss" : "")"
            }
        }
    }

    @Test func nothingReachesTheQueueBeforeTheLoopIterationEndsThenAllInOrderPerConnection() throws {
        let pipeline = Self.pipeline()
        let loop = RelayTapLoop(now: .uptimeNanoseconds(0))
        let factory = pipeline.tapFactory
        let first = try #require(factory.makeTap(for: Self.info(1), on: loop))
        let second = try #require(factory.makeTap(for: Self.info(2), on: loop))
        try Self.request.withUnsafeBytes { try first.observe($0, direction: .clientToServer) }
        try Self.request.withUnsafeBytes { try second.observe($0, direction: .clientToServer) }
        try Self.request.withUnsafeBytes { try first.observe($0, direction: .serverToClient) }
        first.connectionClosed()
        #expect(Self.queued(pipeline).isEmpty)
        #expect(
            pipeline.frameBytes.bytesInUse == FrameArena.smallestCapacity,
            "gathered frames are held: in the iteration's arena, charged as a whole"
        )

        loop.iterationEnded()
        #expect(
            Self.queued(pipeline) == [
                "opened 1", "opened 2", "frame 1 client", "frame 2 client", "frame 1 server", "closed 1",
            ]
        )
        #expect(pipeline.statistics.queueFrames == 3)
        second.connectionClosed()
        loop.iterationEnded()
        #expect(Self.queued(pipeline) == ["closed 2"])
    }

    @Test func aFrameWithoutRoomInTheQueueIsDroppedAtOnceItsBytesFreedAndTheNextOneFollowsALoss() throws {
        // Room for the opening and one frame.
        let pipeline = Self.pipeline(queueFrames: 2)
        let loop = RelayTapLoop(now: .uptimeNanoseconds(0))
        let tap = try #require(pipeline.tapFactory.makeTap(for: Self.info(1), on: loop))
        for _ in 0..<3 { try Self.request.withUnsafeBytes { try tap.observe($0, direction: .clientToServer) } }
        #expect(pipeline.statistics.failures(.queueFull) == 2, "counted when gathered, not at the flush")
        #expect(
            pipeline.frameBytes.bytesInUse == FrameArena.smallestCapacity,
            "only the gathered frame is held (the arena it is in)"
        )
        loop.iterationEnded()
        #expect(Self.queued(pipeline) == ["opened 1", "frame 1 client"])

        try Self.request.withUnsafeBytes { try tap.observe($0, direction: .clientToServer) }
        loop.iterationEnded()
        #expect(Self.queued(pipeline) == ["frame 1 client after loss"])
        tap.connectionClosed()
        loop.iterationEnded()
    }

    @Test func aLossOnTheLoopMarksOnlyTheFramesGatheredAfterIt() throws {
        var configuration = DecodeConfiguration()
        configuration.workers = 1
        configuration.maximumFrameSize = 100
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let pipeline = SidePipeline(configuration: configuration, sink: DiscardingSink(), logger: logger)
        let loop = RelayTapLoop(now: .uptimeNanoseconds(0))
        let tap = try #require(pipeline.tapFactory.makeTap(for: Self.info(1), on: loop))
        let oversized = ZabbixFrames.plain(String(repeating: "x", count: 200))
        try Self.request.withUnsafeBytes { try tap.observe($0, direction: .clientToServer) }
        try oversized.withUnsafeBytes { try tap.observe($0, direction: .clientToServer) }
        try Self.request.withUnsafeBytes { try tap.observe($0, direction: .clientToServer) }
        loop.iterationEnded()
        #expect(Self.queued(pipeline) == ["opened 1", "frame 1 client", "frame 1 client after loss"])
        tap.connectionClosed()
        loop.iterationEnded()
    }

    @Test func aLoopKeepsOneBatchPerPipelineAndForgetsItOnceThePipelineIsGone() throws {
        let loop = RelayTapLoop(now: .uptimeNanoseconds(0))
        var pipeline: SidePipeline? = Self.pipeline()
        weak let gone = pipeline
        let queue = try #require(pipeline?.queues[0])
        do {
            let owner = try #require(pipeline)
            let tap = try #require(owner.tapFactory.makeTap(for: Self.info(1), on: loop))
            tap.connectionClosed()
            let batch = loop.batch(for: owner) { SideBatch(pipeline: Self.pipeline()) }
            #expect(batch === loop.batch(for: owner) { SideBatch(pipeline: Self.pipeline()) })
        }
        pipeline = nil
        #expect(gone == nil, "the loop does not keep a pipeline alive")
        loop.iterationEnded()
        #expect(
            queue.takeAll(timeout: .zero).map { Array($0.joined()) }?.count == 2,
            "what was gathered is still handed over"
        )
    }

    @Test func anOfferTheQueueRefusesHoldsNoPlaceAndNoBytes() {
        let budget = ByteBudget(limit: 100)
        let queue = SideQueue<Int>(maximumItems: 1, bytes: budget)
        #expect(queue.offer(1, bytes: 10))
        #expect(!queue.offer(2, bytes: 10), "full")
        #expect(budget.bytesInUse == 10)
        _ = queue.takeAll(timeout: .zero)
        queue.close()
        #expect(!queue.offer(3, bytes: 10), "closed")
        #expect(budget.bytesInUse == 10, "only the item taken holds bytes until the consumer releases them")
    }

    @Test func whatReachesAClosedQueueAtTheEndOfTheIterationGivesItsBytesBack() async throws {
        let pipeline = Self.pipeline()
        let loop = RelayTapLoop(now: .uptimeNanoseconds(0))
        let tap = try #require(pipeline.tapFactory.makeTap(for: Self.info(1), on: loop))
        try Self.request.withUnsafeBytes { try tap.observe($0, direction: .clientToServer) }
        #expect(pipeline.frameBytes.bytesInUse > 0)
        await pipeline.shutdown()
        loop.iterationEnded()
        #expect(pipeline.frameBytes.bytesInUse == 0)
        #expect(pipeline.statistics.queueFrames == 0)
        #expect(pipeline.statistics.queueBytes == 0)
    }
}

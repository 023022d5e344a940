import CRiemannProto
import NIOCore
import Testing

@testable import Riemann

/// The bytes the Riemann client sends for a batch, pinned: the encoder may get faster, the wire
/// may not change. The golden frame was produced by the encoder that packed the whole `Msg` with
/// `protobuf_c_message_pack` (commit 549d4f2); the identity tests compare any batch with what that
/// whole-message packing gives today.
@Suite struct RiemannEncodingIdentityTests {
    /// What the tee makes of one agent value, plus the awkward cases of the wire: a string cut at a
    /// NUL (the event packs shorter than its size bound), an event over 127 bytes (two-byte length).
    static let batch: [RiemannEvent] = [
        RiemannEvent(
            time: 1_765_000_000,
            timeMicros: 1_765_000_000_250_000,
            state: "ok",
            service: "system.cpu.load[all,avg1]",
            host: "bench-agent-0001",
            tags: ["zabbix"],
            attributes: [
                .init(key: "zabbix_request", value: "agent data"), .init(key: "zabbix_listener", value: "churn"),
            ],
            metric: .sint64(42)
        ),
        RiemannEvent(service: "cut\0here", host: "h\0", tags: ["a\0b"], attributes: [.init(key: "k\0", value: "\0v")]),
        CodecFixtures.full,
        RiemannEvent(description: String(repeating: "x", count: 200), metric: .double(-1.5)),
    ]

    static let goldenFrame = [
        "000001fc32820108c086cfc90612026f6b1a1973797374656d2e6370752e6c6f61645b616c6c2c617667315d22106265",
        "6e63682d6167656e742d303030313a067a61626269784a1c0a0e7a61626269785f72657175657374120a6167656e7420",
        "646174614a180a0f7a61626269785f6c697374656e65721205636875726e5090c1acb0a1a89103685432121a03637574",
        "2201683a01614a050a016b12003289010880e2cfaa0612026f6b1a1973797374656d2e6370752e6c6f61645b616c6c2c",
        "617667315d22067765622d30312a0c6c6f616420617665726167653a067a61626269783a056167656e7445000070424a",
        "0f0a066974656d6964120531323334354a150a0772657175657374120a6167656e74206461746150c0c480c1c1c48203",
        "71000000000000d03f32d4012ac801787878787878787878787878787878787878787878787878787878787878787878",
        "787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878",
        "787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878",
        "787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878",
        "787878787878787878787878787878787878787878787871000000000000f8bf",
    ].joined()

    static func hex(_ buffer: ByteBuffer) -> String {
        buffer.readableBytesView.map {
            String($0, radix: 16).count == 1 ? "0\(String($0, radix: 16))" : String($0, radix: 16)
        }
        .joined()
    }

    /// The body protobuf-c makes of a `Msg` holding `events`, packed as one message.
    static func wholeMessageFrame(_ events: [RiemannEvent]) throws -> [UInt8] {
        let body = try RiemannMessageCodec.encodeBody(RiemannMessage(events: events))
        let length = UInt32(body.count)
        return [UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)]
            + body
    }

    /// Batches whose events take every path of the per-event packing: lengths of one, two and
    /// three varint bytes, NULs that shorten an event below its bound (also across a varint
    /// width: 128 bytes bounded, 127 packed), 200 attributes, empty and absent strings.
    static let batches: [[RiemannEvent]] = [
        [],
        Self.batch,
        [CodecFixtures.full] + CodecFixtures.extremes,
        [RiemannEvent(description: String(repeating: "é", count: 10_000))],
        [RiemannEvent(service: String(repeating: "s", count: 124) + "\0\0\0\0")],
        [RiemannEvent(description: "\0" + String(repeating: "d", count: 20_000)), CodecFixtures.full],
        Array(repeating: Self.batch[0], count: 500),
    ]

    @Test func aBatchIsSentAsTheEncoderBeforeItSentIt() throws {
        var frame = ByteBuffer()
        try RiemannMessageCodec.encodeFrame(events: Self.batch, into: &frame)
        #expect(Self.hex(frame) == Self.goldenFrame)
    }

    @Test func eventsPackedOneByOneAreTheBytesOfTheWholeMessagePackedByProtobufC() throws {
        for events in Self.batches {
            var frame = ByteBuffer()
            try RiemannMessageCodec.encodeFrame(events: events, into: &frame)
            #expect(Array(frame.readableBytesView) == (try Self.wholeMessageFrame(events)), "\(events.count) events")
        }
    }

    @Test func theClientsEncoderSendsQueuedEntriesAsTheWholeMessageWithOneEncoderForEveryBatch() throws {
        var encoder = RiemannFrameEncoder()
        // Large batches first: the encoder's reused scratch must not leak into the next batch.
        for events in Self.batches.reversed() + Self.batches {
            var frame = ByteBuffer(bytes: [0xAA])
            try encoder.encodeFrame(events.map { RiemannEventQueue.Entry(event: $0) }, into: &frame)
            #expect(frame.readInteger(as: UInt8.self) == 0xAA, "appends after what the buffer holds")
            #expect(Array(frame.readableBytesView) == (try Self.wholeMessageFrame(events)), "\(events.count) events")
        }
    }

    @Test func aBatchNeverEncodesLongerThanTheQueuesByteCountsAndTheirFrameHeader() throws {
        var encoder = RiemannFrameEncoder()
        for events in Self.batches {
            let entries = events.map { RiemannEventQueue.Entry(event: $0) }
            var frame = ByteBuffer()
            try encoder.encodeFrame(entries, into: &frame)
            #expect(frame.readableBytes <= 4 + entries.reduce(0) { $0 + $1.byteCount })
        }
    }

    @Test func theScratchKeptBetweenBatchesIsBounded() throws {
        var encoder = RiemannFrameEncoder()
        var frame = ByteBuffer()
        try encoder.encodeFrame(
            [RiemannEventQueue.Entry(event: RiemannEvent(description: String(repeating: "x", count: 1 << 20)))],
            into: &frame
        )
        #expect(encoder.scratchBytes <= RiemannFrameEncoder.retainedScratchBytes)
        try encoder.encodeFrame([RiemannEventQueue.Entry(event: Self.batch[0])], into: &frame)
        #expect(encoder.scratchBytes > 0, "ordinary events reuse their scratch")
        #expect(encoder.scratchBytes <= RiemannFrameEncoder.retainedScratchBytes)
    }

    @Test func anArenaGivesStringsThatDoNotFitItsBlockABlockOfTheirOwn() throws {
        var arena = ProtobufArena()
        try arena.reset(reserving: 8)
        let short = try arena.cString("abc")
        let long = try arena.cString(String(repeating: "z", count: 100))  // spills
        let after = try arena.cString("d")  // fits again
        #expect(String(cString: short) == "abc")
        #expect(String(cString: long) == String(repeating: "z", count: 100))
        #expect(String(cString: after) == "d")
        #expect(arena.reservedBytes == 8)
        try arena.reset(reserving: 4)  // frees the spill, keeps the block
        #expect(arena.reservedBytes == 8)
        arena.trim(keepingAtMost: 4)
        #expect(arena.reservedBytes == 0)
    }

    @Test func lengthDelimitedSizesInvertForEveryVarintWidth() {
        for body in [0, 1, 126, 127, 128, 129, 16_382, 16_383, 16_384, 2_097_151, 2_097_152, 1 << 30] {
            #expect(ProtobufSize.bodyLength(ofLengthDelimited: ProtobufSize.lengthDelimited(body)) == body)
        }
    }
}

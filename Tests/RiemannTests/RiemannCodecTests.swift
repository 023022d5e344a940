import NIOCore
import Riemann
import Testing

/// Events that exercise every field and the awkward values: extremes, NaN/inf, empty strings, unicode.
enum CodecFixtures {
    static let full = RiemannEvent(
        time: 1_700_000_000,
        timeMicros: 1_700_000_000_123_456,
        state: "ok",
        service: "system.cpu.load[all,avg1]",
        host: "web-01",
        description: "load average",
        tags: ["zabbix", "agent"],
        ttl: 60,
        attributes: [.init(key: "itemid", value: "12345"), .init(key: "request", value: "agent data")],
        metric: .double(0.25)
    )

    static let extremes: [RiemannEvent] = [
        RiemannEvent(time: .max, timeMicros: .min, metric: .sint64(.min)),
        RiemannEvent(time: .min, timeMicros: .max, metric: .sint64(.max)),
        RiemannEvent(time: 0, timeMicros: -1, metric: .sint64(-1)),
        RiemannEvent(metric: .double(.infinity)),
        RiemannEvent(metric: .double(-.infinity)),
        RiemannEvent(metric: .double(-0.0)),
        RiemannEvent(metric: .double(.leastNonzeroMagnitude)),
        RiemannEvent(metric: .double(.greatestFiniteMagnitude)),
        RiemannEvent(ttl: .infinity, metric: .float(-1.5)),
        RiemannEvent(
            state: "",
            service: "",
            host: "",
            description: "",
            tags: [""],
            ttl: 0,
            attributes: [.init(key: "", value: ""), .init(key: "novalue", value: nil)]
        ),
        RiemannEvent(
            service: "température ✓ 温度 🚀",
            host: "hôte-ü",
            description: "line1\nline2\t\"quoted\" \\",
            tags: ["ß", "日本"],
            attributes: [.init(key: "ключ", value: "значение")]
        ),
        RiemannEvent(),
        RiemannEvent(attributes: (0..<200).map { .init(key: "k\($0)", value: "v\($0)") }),
    ]
}

@Suite struct RiemannCodecTests {
    @Test func roundTripPreservesEveryField() throws {
        let message = RiemannMessage(events: [CodecFixtures.full] + CodecFixtures.extremes)
        let body = try RiemannMessageCodec.encodeBody(message)
        let decoded = try RiemannMessageCodec.decode(body: body)
        #expect(decoded == message)
    }

    @Test func roundTripPreservesNaNMetric() throws {
        let body = try RiemannMessageCodec.encodeBody(RiemannMessage(events: [RiemannEvent(metric: .double(.nan))]))
        let decoded = try RiemannMessageCodec.decode(body: body)
        guard case .double(let value) = decoded.events.first?.metric else {
            Issue.record("metric lost: \(decoded)")
            return
        }
        #expect(value.isNaN)
    }

    @Test func roundTripPreservesOkErrorAndQuery() throws {
        for message in [
            RiemannMessage(ok: false, error: "no such stream"), RiemannMessage(query: "service = \"x\""),
            RiemannMessage(ok: true), RiemannMessage(query: ""), RiemannMessage(),
        ] {
            #expect(try RiemannMessageCodec.decode(body: try RiemannMessageCodec.encodeBody(message)) == message)
        }
    }

    @Test func frameIsBigEndianLengthThenBody() throws {
        let message = RiemannMessage(events: [CodecFixtures.full, CodecFixtures.full])
        var buffer = ByteBuffer()
        try RiemannMessageCodec.encodeFrame(message, into: &buffer)
        let body = try RiemannMessageCodec.encodeBody(message)
        #expect(buffer.readInteger(as: UInt32.self) == UInt32(body.count))
        #expect(buffer.readBytes(length: buffer.readableBytes) == body)
    }

    @Test func encodingEventsDirectlyMatchesEncodingAMessage() throws {
        var direct = ByteBuffer()
        try RiemannMessageCodec.encodeFrame(events: CodecFixtures.extremes[...], into: &direct)
        var viaMessage = ByteBuffer()
        try RiemannMessageCodec.encodeFrame(RiemannMessage(events: CodecFixtures.extremes), into: &viaMessage)
        #expect(direct == viaMessage)
    }

    @Test func framesAppendToAnExistingBuffer() throws {
        var buffer = ByteBuffer(bytes: [0xAA])
        try RiemannMessageCodec.encodeFrame(.ack, into: &buffer)
        try RiemannMessageCodec.encodeFrame(.ack, into: &buffer)
        #expect(Array(buffer.readableBytesView) == [0xAA, 0, 0, 0, 2, 0x10, 0x01, 0, 0, 0, 2, 0x10, 0x01])
    }

    @Test func ackFrameIsSixBytes() throws {
        let frame = try RiemannMessageCodec.frame(.ack)
        #expect(Array(frame.readableBytesView) == [0x00, 0x00, 0x00, 0x02, 0x10, 0x01])
        #expect(try RiemannMessageCodec.decode(body: [0x10, 0x01]) == .ack)
    }

    @Test func emptyBodyIsAnEmptyMessage() throws {
        #expect(try RiemannMessageCodec.decode(body: [UInt8]()) == RiemannMessage())
    }

    @Test(
        arguments: [
            [0xFF, 0xFF, 0xFF, 0xFF],  // wire type 7 does not exist
            [0x08],  // field 1 varint, truncated
            [0x32, 0x05, 0x01],  // events: length 5, 1 byte present
            [0x32, 0x07, 0x4A, 0x03, 0x12, 0x01, 0x78],  // attribute without its required key
            [0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],  // varint longer than 10 bytes
            Array("GET / HTTP/1.1\r\n\r\n".utf8),
        ] as [[UInt8]]
    )
    func junkBodiesAreRejected(body: [UInt8]) {
        #expect(throws: RiemannCodecError.malformedMessage(bodyLength: body.count)) {
            try RiemannMessageCodec.decode(body: body)
        }
    }

    @Test func randomBytesNeverCrashTheDecoder() {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<2_000 {
            let body = (0..<(length % 64)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try? RiemannMessageCodec.decode(body: body)
        }
    }

    @Test func stringsAreCutAtTheFirstNUL() throws {
        let body = try RiemannMessageCodec.encodeBody(RiemannMessage(events: [RiemannEvent(service: "ab\0cd")]))
        #expect(try RiemannMessageCodec.decode(body: body).events.first?.service == "ab")
    }

    @Test func setTimeFillsSecondsAndMicroseconds() {
        var event = RiemannEvent()
        event.setTime(seconds: 1_700_000_000, nanoseconds: 123_456_789)
        #expect(event.time == 1_700_000_000)
        #expect(event.timeMicros == 1_700_000_000_123_456)
    }
}

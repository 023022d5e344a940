import NIOCore
import Riemann
import Testing

@Suite struct RiemannFrameDecoderTests {
    @Test func waitsForTheWholeHeaderAndBody() throws {
        let decoder = RiemannFrameDecoder()
        let frame = try RiemannMessageCodec.frame(RiemannMessage(events: [RiemannEvent(service: "s")]))
        var buffer = ByteBuffer()
        for byte in frame.readableBytesView.dropLast() {
            buffer.writeInteger(byte)
            #expect(try decoder.readFrameBody(from: &buffer) == nil)
        }
        buffer.writeInteger(frame.readableBytesView.last!)
        let body = try #require(try decoder.readFrameBody(from: &buffer))
        #expect(try RiemannMessageCodec.decode(body: body).events.first?.service == "s")
        #expect(buffer.readableBytes == 0)
    }

    @Test func splitsBackToBackFrames() throws {
        let decoder = RiemannFrameDecoder()
        var buffer = ByteBuffer()
        try RiemannMessageCodec.encodeFrame(.ack, into: &buffer)
        try RiemannMessageCodec.encodeFrame(RiemannMessage(ok: false, error: "x"), into: &buffer)
        try RiemannMessageCodec.encodeFrame(RiemannMessage(), into: &buffer)
        var messages: [RiemannMessage] = []
        while let body = try decoder.readFrameBody(from: &buffer) {
            messages.append(try RiemannMessageCodec.decode(body: body))
        }
        #expect(messages == [.ack, RiemannMessage(ok: false, error: "x"), RiemannMessage()])
    }

    @Test func oversizedFrameIsATypedErrorBeforeTheBodyArrives() {
        let decoder = RiemannFrameDecoder(maximumFrameLength: 1024)
        var buffer = ByteBuffer(bytes: [0x00, 0x00, 0x04, 0x01])  // announces 1025 bytes
        #expect(throws: RiemannFrameTooLargeError(announcedLength: 1025, maximumFrameLength: 1024)) {
            try decoder.readFrameBody(from: &buffer)
        }
        var huge = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(throws: RiemannFrameTooLargeError.self) { try RiemannFrameDecoder().readFrameBody(from: &huge) }
    }

    @Test func frameAtTheLimitIsAccepted() throws {
        let decoder = RiemannFrameDecoder(maximumFrameLength: 2)
        var buffer = try RiemannMessageCodec.frame(.ack)
        #expect(try decoder.readFrameBody(from: &buffer).map { Array($0.readableBytesView) } == [0x10, 0x01])
    }
}

import FuzzSupport
import NIOCore
import Riemann

// Fuzzes what the Riemann client reads from the server: RiemannFrameDecoder.readFrameBody on a
// byte stream fed in pieces (as ByteToMessageHandler accumulates it), and
// RiemannMessageCodec.decode(body:) on every frame body.
//
// Input layout:
//   byte 0   piece size: (byte0 % 32) + 1 bytes are appended before each decode attempt.
//   byte 1   low 2 bits: maximumFrameLength (0, 2, 4096, default 16 MiB).
//   rest     the TCP stream from the server. The same bytes are also decoded as one body.
//
// Invariants: readFrameBody returning nil consumes nothing; a body is exactly the announced length
// and within the limit; piecewise and whole decoding yield the same bodies and the same error;
// a decoded message re-encodes to a body that decodes to an equal encoding (stable round trip).

private let limits = [0, 2, 4096, RiemannFrameDecoder.defaultMaximumFrameLength]

private enum Outcome: Equatable {
    case needMoreData(remaining: Int)
    case tooLarge(RiemannFrameTooLargeError)
}

private func bodies(
    _ decoder: RiemannFrameDecoder,
    _ stream: UnsafeRawBufferPointer,
    piece: Int
) -> ([[UInt8]], Outcome) {
    var buffer = ByteBuffer()
    var result: [[UInt8]] = []
    var offset = 0
    while true {
        let length = min(piece, stream.count - offset)
        buffer.writeBytes(UnsafeRawBufferPointer(rebasing: stream[offset..<(offset + length)]))
        offset += length
        while true {
            let before = buffer
            let body: ByteBuffer?
            do {
                body = try decoder.readFrameBody(from: &buffer)
            } catch {
                FuzzSupport.check(
                    error.announcedLength > decoder.maximumFrameLength,
                    "refused a frame within the limit"
                )
                return (result, .tooLarge(error))
            }
            guard let body else {
                FuzzSupport.check(
                    buffer == before && buffer.readerIndex == before.readerIndex,
                    "nil result consumed bytes"
                )
                break
            }
            FuzzSupport.check(body.readableBytes <= decoder.maximumFrameLength, "body above the limit")
            FuzzSupport.check(
                before.readableBytes - buffer.readableBytes == RiemannMessageCodec.frameHeaderLength
                    + body.readableBytes,
                "consumed bytes do not match header + body"
            )
            let announced = before.getInteger(at: before.readerIndex, endianness: .big, as: UInt32.self)
            FuzzSupport.check(announced.map(Int.init) == body.readableBytes, "body length != announced length")
            result.append(Array(body.readableBytesView))
        }
        if offset == stream.count { return (result, .needMoreData(remaining: buffer.readableBytes)) }
    }
}

private func checkCodec(_ body: UnsafeRawBufferPointer) {
    guard let message = try? RiemannMessageCodec.decode(body: body) else { return }
    let encoded: [UInt8]
    let again: RiemannMessage
    var framed = ByteBuffer()
    do {
        encoded = try RiemannMessageCodec.encodeBody(message)
        again = try RiemannMessageCodec.decode(body: encoded)
        let reencoded = try RiemannMessageCodec.encodeBody(again)
        FuzzSupport.check(reencoded == encoded, "encode/decode round trip is not stable")
        try RiemannMessageCodec.encodeFrame(message, into: &framed)
    } catch {
        FuzzSupport.check(false, "our own encoding of a decoded message fails: \(error)")
        return
    }
    FuzzSupport.check(Array(framed.readableBytesView.dropFirst(4)) == encoded, "frame body != encodeBody")
    // Decoded strings come from C strings (no NUL), so the size computed without encoding is exact.
    if message.ok == nil, message.error == nil, message.query == nil {
        FuzzSupport.check(
            message.events.reduce(0) { $0 + $1.encodedSizeInMessage } == encoded.count,
            "encodedSizeInMessage does not add up to the encoded body"
        )
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard size >= 2, let data else { return 0 }
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let piece = Int(input[0] % 32) + 1
    let decoder = RiemannFrameDecoder(maximumFrameLength: limits[Int(input[1] & 0x03)])
    let stream = UnsafeRawBufferPointer(rebasing: input[2...])

    let (split, splitOutcome) = bodies(decoder, stream, piece: piece)
    let (whole, wholeOutcome) = bodies(decoder, stream, piece: max(stream.count, 1))
    FuzzSupport.check(split == whole, "piecewise and whole framing disagree")
    FuzzSupport.check(
        splitOutcome == wholeOutcome,
        "piecewise and whole framing end differently: \(splitOutcome) vs \(wholeOutcome)"
    )

    for body in whole { body.withUnsafeBytes { checkCodec($0) } }
    checkCodec(stream)
    return 0
}

@main
enum Main {
    static func main() { FuzzSupport.main(fuzzTestOneInput) }
}

import NIOCore

/// A frame whose announced length exceeds the decoder's limit.
public struct RiemannFrameTooLargeError: Error, Sendable, Equatable {
    /// The length announced by the frame header.
    public var announcedLength: Int
    /// The decoder's limit.
    public var maximumFrameLength: Int

    public init(announcedLength: Int, maximumFrameLength: Int) {
        self.announcedLength = announcedLength
        self.maximumFrameLength = maximumFrameLength
    }
}

/// Splits a TCP byte stream into Riemann frames (4-byte big-endian length + protobuf body) and
/// decodes each body into a ``RiemannMessage``.
///
/// A header announcing more than ``maximumFrameLength`` bytes throws ``RiemannFrameTooLargeError``
/// before the body is buffered; a body protobuf-c rejects throws ``RiemannCodecError``. Either way
/// the stream cannot be resynchronised and the channel should be closed (the Riemann server does
/// the same). Use it as `ByteToMessageHandler(RiemannFrameDecoder())`.
public struct RiemannFrameDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = RiemannMessage

    /// Default limit on one frame's body: 16 MiB (Riemann acks are 2 bytes, batches well under 1 MiB).
    public static let defaultMaximumFrameLength = 16 * 1024 * 1024

    /// The largest body length accepted.
    public let maximumFrameLength: Int

    /// - Parameter maximumFrameLength: the largest body accepted (a negative value accepts only empty ones).
    public init(maximumFrameLength: Int = RiemannFrameDecoder.defaultMaximumFrameLength) {
        self.maximumFrameLength = max(maximumFrameLength, 0)
    }

    /// Takes one complete frame body out of `buffer`, or `nil` if more bytes are needed.
    /// Exposed for callers that want raw bodies (e.g. to forward them undecoded).
    public func readFrameBody(from buffer: inout ByteBuffer) throws(RiemannFrameTooLargeError) -> ByteBuffer? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: UInt32.self) else {
            return nil
        }
        guard length <= self.maximumFrameLength else {
            throw RiemannFrameTooLargeError(announcedLength: Int(length), maximumFrameLength: self.maximumFrameLength)
        }
        let frameLength = RiemannMessageCodec.frameHeaderLength + Int(length)
        guard buffer.readableBytes >= frameLength else {
            return nil
        }
        buffer.moveReaderIndex(forwardBy: RiemannMessageCodec.frameHeaderLength)
        return buffer.readSlice(length: Int(length))
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let body = try self.readFrameBody(from: &buffer) else {
            return .needMoreData
        }
        let message = try RiemannMessageCodec.decode(body: body)
        context.fireChannelRead(Self.wrapInboundOut(message))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        // Decode whatever complete frames remain; a trailing partial frame is dropped with the connection.
        try self.decode(context: context, buffer: &buffer)
    }
}

import CZlib
import NIOCore

/// Why a compressed payload could not be inflated.
public enum ZabbixInflateError: Error, Sendable, Hashable {
    /// The announced inflated size (`reserved`) is above the configured maximum; nothing was
    /// allocated.
    case tooLarge(announced: UInt64, maximum: Int)
    /// The stream inflated to more bytes than announced (`actual == nil`) or to fewer (`actual`).
    /// Zabbix rejects such messages too.
    case sizeMismatch(expected: UInt64, actual: Int?)
    /// Not a valid zlib (RFC 1950) stream, or a truncated one.
    case corruptData
    /// zlib failed for another reason (e.g. out of memory); carries zlib's status code.
    case zlibFailure(status: Int32)
}

/// Inflates compressed `ZBXD` payloads (zlib-wrapped deflate, RFC 1950, as produced by zlib
/// `compress()` in the C components and `compress/zlib` in agent 2).
///
/// The announced size (`reserved`) is a claim, not a fact: it is checked against
/// ``maximumSize`` before anything happens, and then only used as a ceiling. The output buffer
/// starts small (``initialCapacity``, or a few times the compressed size) and grows as zlib
/// actually produces bytes, so a frame that announces 64 MiB and inflates to 10 bytes costs
/// 10 bytes, and inflating stops one byte past the announced size, so a stream that inflates to
/// more than it announced (a zlib bomb with a lying `reserved`) costs at most `reserved + 1`
/// bytes of output and the CPU to produce them.
///
/// Pure and `Sendable`: meant to run on the side pipeline, not the event loop.
public struct ZabbixInflater: Sendable {
    /// What the output buffer starts with when the compressed payload is small: 64 KiB.
    public static let initialCapacity = 64 << 10

    /// Largest inflated size accepted; larger announcements are refused before allocating.
    public var maximumSize: Int

    /// Creates an inflater that refuses payloads announced larger than `maximumSize` bytes (at
    /// most ``ZabbixFrameDecoder/largestMaximumFrameSize``).
    public init(maximumSize: Int = ZabbixFrameDecoder.defaultMaximumFrameSize) {
        self.maximumSize = min(max(0, maximumSize), ZabbixFrameDecoder.largestMaximumFrameSize)
    }

    /// Inflates `payload` to exactly `expectedSize` bytes (the frame's `reserved`).
    public func inflate(_ payload: ByteBuffer, expectedSize: UInt64) throws(ZabbixInflateError) -> ByteBuffer {
        guard expectedSize <= UInt64(self.maximumSize) else {
            throw .tooLarge(announced: expectedSize, maximum: self.maximumSize)
        }
        // Safe: expectedSize <= maximumSize < 2^31. One byte more than announced is allowed in,
        // so that "more data than announced" is seen rather than cut off.
        let ceiling = Int(expectedSize) + 1
        let result: Result<ByteBuffer, ZabbixInflateError> = payload.withUnsafeReadableBytes { source in
            Self.inflate(source, ceiling: ceiling)
        }
        let output = try result.get()
        guard output.readableBytes == Int(expectedSize) else {
            throw .sizeMismatch(
                expected: expectedSize,
                actual: output.readableBytes > Int(expectedSize) ? nil : output.readableBytes
            )
        }
        return output
    }

    /// Inflates `source` into a buffer that grows with the output, up to `ceiling` bytes.
    static func inflate(_ source: UnsafeRawBufferPointer, ceiling: Int) -> Result<ByteBuffer, ZabbixInflateError> {
        var stream = z_stream()
        var status = inflateInit_(&stream, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { return .failure(.zlibFailure(status: status)) }
        defer { inflateEnd(&stream) }

        var output = ByteBufferAllocator().buffer(
            capacity: min(
                ceiling,
                max(Self.initialCapacity, source.count.multipliedReportingOverflow(by: 4).partialValue)
            )
        )
        var consumed = 0
        while true {
            // At the ceiling: one byte more than announced came out; the caller says so.
            guard output.writerIndex < ceiling else { return .success(output) }
            if output.writableBytes == 0 {
                output.reserveCapacity(min(ceiling, output.capacity.multipliedReportingOverflow(by: 2).partialValue))
            }
            // zlib counts in 32 bits: feed and drain at most 1 GiB per call.
            let input = min(source.count - consumed, 1 << 30)
            let limit = min(ceiling - output.writerIndex, 1 << 30)
            var inputLeft = 0
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: 0) { destination in
                let room = min(destination.count, limit)
                stream.next_in = UnsafeMutablePointer(
                    mutating: source.baseAddress?.advanced(by: consumed).assumingMemoryBound(to: Bytef.self)
                )
                stream.avail_in = uInt(input)
                stream.next_out = destination.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(room)
                status = CZlib.inflate(&stream, Z_NO_FLUSH)
                inputLeft = Int(stream.avail_in)
                return room - Int(stream.avail_out)
            }
            consumed += input - inputLeft
            switch status {
            case Z_STREAM_END:
                return .success(output)
            case Z_OK:
                continue
            case Z_BUF_ERROR where output.writableBytes == 0 || output.writerIndex == ceiling:
                continue  // out of room: grow, or stop at the ceiling, above
            case Z_BUF_ERROR, Z_DATA_ERROR, Z_NEED_DICT:
                // Z_BUF_ERROR with room left: the input ended before the stream did.
                return .failure(.corruptData)
            default:
                return .failure(.zlibFailure(status: status))
            }
        }
    }

    /// The payload of `frame` ready for parsing: inflated when compressed, otherwise the payload
    /// itself (no copy).
    public func decodedPayload(of frame: ZabbixFrame) throws(ZabbixInflateError) -> ByteBuffer {
        guard frame.header.isCompressed else { return frame.payload }
        return try self.inflate(frame.payload, expectedSize: frame.header.reserved)
    }
}

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
/// Pure and `Sendable`: meant to run on the side pipeline, not the event loop.
public struct ZabbixInflater: Sendable {
    /// Largest inflated size accepted; larger announcements are refused before allocating.
    public var maximumSize: Int

    /// Creates an inflater that refuses payloads announced larger than `maximumSize` bytes.
    public init(maximumSize: Int = ZabbixFrameDecoder.defaultMaximumFrameSize) {
        self.maximumSize = max(0, maximumSize)
    }

    /// Inflates `payload` to exactly `expectedSize` bytes (the frame's `reserved`).
    public func inflate(_ payload: ByteBuffer, expectedSize: UInt64) throws(ZabbixInflateError) -> ByteBuffer {
        guard expectedSize <= UInt64(self.maximumSize) else {
            throw .tooLarge(announced: expectedSize, maximum: self.maximumSize)
        }
        let size = Int(expectedSize)  // Safe: <= maximumSize.
        var output = ByteBufferAllocator().buffer(capacity: max(size, 1))
        var status: Int32 = Z_OK
        var produced = 0
        _ = payload.withUnsafeReadableBytes { source in
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: max(size, 1)) { destination in
                // One spare byte so that "more data than announced" is detectable (Z_BUF_ERROR).
                var destinationLength = uLong(min(size + 1, destination.count))
                status = uncompress(
                    destination.baseAddress?.assumingMemoryBound(to: Bytef.self),
                    &destinationLength,
                    source.baseAddress?.assumingMemoryBound(to: Bytef.self),
                    uLong(source.count))
                produced = Int(destinationLength)
                return status == Z_OK ? produced : 0
            }
        }
        switch status {
        case Z_OK:
            guard produced == size else {
                throw .sizeMismatch(expected: expectedSize, actual: produced > size ? nil : produced)
            }
            return output
        case Z_BUF_ERROR:
            throw .sizeMismatch(expected: expectedSize, actual: nil)
        case Z_DATA_ERROR:
            throw .corruptData
        default:
            throw .zlibFailure(status: status)
        }
    }

    /// The payload of `frame` ready for parsing: inflated when compressed, otherwise the payload
    /// itself (no copy).
    public func decodedPayload(of frame: ZabbixFrame) throws(ZabbixInflateError) -> ByteBuffer {
        guard frame.header.isCompressed else { return frame.payload }
        return try self.inflate(frame.payload, expectedSize: frame.header.reserved)
    }
}

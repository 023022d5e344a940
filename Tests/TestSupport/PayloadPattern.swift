import CZlib

/// Deterministic test payloads of any length, cheap to produce and to check.
///
/// A stream is identified by a seed and a length; byte `i` of stream `seed` is
/// `block[(i + offset(seed)) % block.count]` of a fixed pseudo-random block, so a peer can
/// send gigabytes without building them in memory, and both ends can compute the zlib
/// CRC-32 of what should arrive.
public struct PayloadPattern: Sendable {
    public static let shared = PayloadPattern()

    /// 1 MiB + 7 bytes (an odd size, so streams do not align with read sizes).
    public let block: [UInt8]

    public init(seed: UInt64 = 0x5EED_2026) {
        var state = seed
        var bytes = [UInt8](repeating: 0, count: (1 << 20) + 7)
        for index in bytes.indices {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            bytes[index] = UInt8(truncatingIfNeeded: state >> 33)
        }
        self.block = bytes
    }

    private func offset(_ seed: UInt64) -> Int {
        Int(seed % UInt64(self.block.count))
    }

    /// Hands the stream to `body` in slices of at most `chunk` bytes.
    public func forEachChunk(
        seed: UInt64,
        length: Int,
        chunk: Int = 256 * 1024,
        _ body: (UnsafeRawBufferPointer) throws -> Void
    ) rethrows {
        try self.block.withUnsafeBytes { block in
            var position = self.offset(seed)
            var remaining = length
            while remaining > 0 {
                let count = min(remaining, chunk, block.count - position)
                try body(UnsafeRawBufferPointer(rebasing: block[position..<(position + count)]))
                remaining -= count
                position = (position + count) % block.count
            }
        }
    }

    /// The stream as an array (for small lengths).
    public func bytes(seed: UInt64, length: Int) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(length)
        self.forEachChunk(seed: seed, length: length) { result.append(contentsOf: $0) }
        return result
    }

    /// The checksum of the whole stream.
    public func checksum(seed: UInt64, length: Int) -> StreamChecksum {
        var checksum = StreamChecksum()
        self.forEachChunk(seed: seed, length: length) { checksum.update($0) }
        return checksum
    }

    /// Sends the stream on a blocking socket.
    public func send(seed: UInt64, length: Int, on socket: BlockingSocket) throws {
        try self.forEachChunk(seed: seed, length: length) { try socket.send($0) }
    }
}

/// Length and zlib CRC-32 of a byte stream, computed incrementally.
public struct StreamChecksum: Sendable, Hashable, CustomStringConvertible {
    public private(set) var length = 0
    public private(set) var crc: UInt = 0

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        self.crc = CZlib.crc32(self.crc, base.assumingMemoryBound(to: Bytef.self), uInt(bytes.count))
        self.length += bytes.count
    }

    /// Reads a socket to end of stream and checksums what arrived.
    public static func receive(from socket: BlockingSocket) throws -> StreamChecksum {
        var checksum = StreamChecksum()
        try socket.receiveUntilEOF { checksum.update($0) }
        return checksum
    }

    public var description: String { "\(self.length) bytes, crc32 \(String(self.crc, radix: 16))" }
}

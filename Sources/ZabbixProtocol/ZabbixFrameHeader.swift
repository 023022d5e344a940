/// The flags byte of a `ZBXD` frame header.
public struct ZabbixFrameFlags: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt8

    @inlinable
    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// `ZBX_TCP_PROTOCOL`: set in every real frame.
    public static let zabbixProtocol = ZabbixFrameFlags(rawValue: 0x01)
    /// `ZBX_TCP_COMPRESS`: the payload is a zlib (RFC 1950) stream; `reserved` is its inflated size.
    public static let compressed = ZabbixFrameFlags(rawValue: 0x02)
    /// `ZBX_TCP_LARGE`: both length fields are 8 bytes wide instead of 4.
    public static let large = ZabbixFrameFlags(rawValue: 0x04)

    /// Bits no Zabbix version defines; C receivers reject frames carrying any of them.
    public static let unknownBits = ZabbixFrameFlags(rawValue: 0xF8)

    public var description: String {
        "0x" + String(self.rawValue, radix: 16)
    }
}

/// A decoded `ZBXD` frame header.
///
/// Layout (all integers little-endian):
///
/// | bytes | field |
/// |---|---|
/// | 4 | magic `ZBXD` |
/// | 1 | flags |
/// | 4 (8 with ``ZabbixFrameFlags/large``) | `datalen`: payload size on the wire |
/// | 4 (8 with ``ZabbixFrameFlags/large``) | `reserved`: inflated size when ``ZabbixFrameFlags/compressed`` is set |
///
/// The pre-4.0 header (`ZBXD\x01` followed by one 8-byte length) needs no special case: for any
/// length below 4 GiB it is byte-for-byte identical to the 4+4 form with `reserved == 0`, and
/// `reserved` is ignored for uncompressed frames anyway.
public struct ZabbixFrameHeader: Sendable, Hashable {
    /// The four magic bytes `ZBXD`.
    public static let magic: [UInt8] = [0x5A, 0x42, 0x58, 0x44]
    /// Header size without ``ZabbixFrameFlags/large``.
    public static let normalLength = 13
    /// Header size with ``ZabbixFrameFlags/large``.
    public static let largeLength = 21

    /// The flags byte.
    public var flags: ZabbixFrameFlags
    /// Payload length as it appears on the wire (the compressed size for compressed frames).
    public var dataLength: UInt64
    /// The `reserved` field. Only meaningful when ``ZabbixFrameFlags/compressed`` is set (inflated
    /// size); Zabbix agent 2 fills it with the payload length on uncompressed frames too.
    public var reserved: UInt64

    @inlinable
    public init(flags: ZabbixFrameFlags, dataLength: UInt64, reserved: UInt64) {
        self.flags = flags
        self.dataLength = dataLength
        self.reserved = reserved
    }

    /// The header laid out at `offset` in `bytes`: the magic, the flags, and both lengths at the
    /// width the flags choose; `nil` when the bytes there do not start with `ZBXD` or end inside
    /// the header. Layout only: whether the flags are acceptable is the caller's question (the
    /// stream decoder refuses unknown bits, the `replay` tool cuts whatever a recording holds).
    public init?<Bytes: RandomAccessCollection<UInt8>>(bytes: Bytes, at offset: Int = 0) where Bytes.Index == Int {
        guard offset >= 0, bytes.count - offset >= Self.normalLength,
            bytes[offset..<(offset + Self.magic.count)].elementsEqual(Self.magic)
        else { return nil }
        let flags = ZabbixFrameFlags(rawValue: bytes[offset + 4])
        guard bytes.count - offset >= Self.headerLength(for: flags) else { return nil }
        let width = flags.contains(.large) ? 8 : 4
        func field(at start: Int) -> UInt64 {
            var value: UInt64 = 0
            for index in 0..<width { value |= UInt64(bytes[start + index]) << (8 * UInt64(index)) }
            return value
        }
        self.init(flags: flags, dataLength: field(at: offset + 5), reserved: field(at: offset + 5 + width))
    }

    /// Whether the payload is zlib-compressed.
    @inlinable
    public var isCompressed: Bool { self.flags.contains(.compressed) }

    /// Size of this header on the wire: 13, or 21 with ``ZabbixFrameFlags/large``.
    @inlinable
    public var length: Int { Self.headerLength(for: self.flags) }

    /// Size of the payload once inflated: `reserved` for compressed frames, else `dataLength`.
    @inlinable
    public var decodedLength: UInt64 { self.isCompressed ? self.reserved : self.dataLength }

    @inlinable
    static func headerLength(for flags: ZabbixFrameFlags) -> Int {
        flags.contains(.large) ? Self.largeLength : Self.normalLength
    }

    /// Encodes the header, choosing 4- or 8-byte lengths from ``flags``.
    ///
    /// Lengths that do not fit the chosen width are truncated; this is meant for tests and tools.
    public func encoded() -> [UInt8] {
        var bytes = Self.magic
        bytes.reserveCapacity(self.length)
        bytes.append(self.flags.rawValue)
        let width = self.flags.contains(.large) ? 8 : 4
        for value in [self.dataLength, self.reserved] {
            for index in 0..<width {
                bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))))
            }
        }
        return bytes
    }
}

/// Why a byte stream was judged not to be (or to have stopped being) Zabbix `ZBXD` framing.
public enum ZabbixNotZabbixReason: Sendable, Hashable, CustomStringConvertible {
    /// The stream (or a frame boundary) does not start with `ZBXD`. This covers legacy headerless
    /// payloads (`agent.ping\n`, XML, `host:key:value`, raw `OK` replies). Holds up to the first
    /// five bytes seen.
    case wrongMagic(prefix: [UInt8])
    /// The flags byte lacks `ZBX_TCP_PROTOCOL` (0x01).
    case missingProtocolFlag(ZabbixFrameFlags)
    /// The flags byte has bits in 0xF8 set.
    case unknownFlags(ZabbixFrameFlags)
    /// The stream ended inside a header (`header == nil`) or a payload.
    case truncated(header: ZabbixFrameHeader?, missingBytes: UInt64)

    public var description: String {
        switch self {
        case .wrongMagic(let prefix):
            return "no ZBXD magic (stream starts " + prefix.map { String($0, radix: 16) }.joined(separator: " ") + ")"
        case .missingProtocolFlag(let flags):
            return "flags \(flags) lack the protocol bit 0x01"
        case .unknownFlags(let flags):
            return "flags \(flags) carry unknown bits"
        case .truncated(let header, let missing):
            return header == nil
                ? "stream ended inside a frame header"
                : "stream ended \(missing) bytes before the end of a frame"
        }
    }
}

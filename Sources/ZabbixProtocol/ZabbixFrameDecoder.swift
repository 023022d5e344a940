import NIOCore

/// An incremental `ZBXD` frame decoder for one direction of one connection.
///
/// Feed it the exact buffers the relay forwards, in order; it reports complete frames, skipped
/// oversized frames, TLS and non-Zabbix streams as ``ZabbixFrameEvent``s. It never throws, never
/// traps on input and never holds more than one header plus ``maximumFrameSize`` bytes: a frame
/// is buffered only when it spans input buffers, and frames larger than the limit are skipped
/// without being buffered. The buffer of a spanning frame grows with the bytes that actually
/// arrive (from ``initialPayloadCapacity``, doubling), not with the length the header announces,
/// so a peer that sends a 13-byte header announcing 64 MiB and then stalls costs 64 KiB, not
/// 64 MiB.
///
/// Lengths are handled as `UInt64` and compared against the limit before any conversion to `Int`,
/// so every value up to 2^64−1 is safe. The pre-4.0 header (`ZBXD\x01` plus one 8-byte length)
/// is decoded by the same code path; see ``ZabbixFrameHeader``.
///
/// After ``ZabbixFrameEvent/tls`` or ``ZabbixFrameEvent/notZabbix(_:)`` the decoder stops for
/// good and ignores further input.
public struct ZabbixFrameDecoder: Sendable {
    /// Default for ``maximumFrameSize``: 128 MiB, agent 2's own receive limit.
    public static let defaultMaximumFrameSize = 128 << 20

    /// What is reserved for a frame spanning input buffers before more of it has arrived: 64 KiB
    /// (or the frame's length if smaller). Larger frames grow their buffer as they arrive.
    public static let initialPayloadCapacity = 64 << 10

    /// The largest ``maximumFrameSize`` there is: 2 GiB − 1. A `ByteBuffer` cannot hold more than
    /// 4 GiB (it traps beyond), and this leaves the inflater its spare byte far from that.
    public static let largestMaximumFrameSize = Int(Int32.max)

    /// Frames whose payload (wire size, and inflated size when compressed) is larger than this are
    /// skipped rather than decoded.
    public let maximumFrameSize: Int

    private enum State: Sendable {
        /// Nothing has arrived yet; the first byte decides between TLS and `ZBXD`.
        case streamStart
        /// Reading a header; its first bytes are in `headerBytes`.
        case header
        /// Accumulating the payload of a frame that spans input buffers.
        case payload(ZabbixFrameHeader, ByteBuffer)
        /// Passing over the payload of an oversized frame.
        case skipping(ZabbixFrameHeader, remaining: UInt64)
        /// TLS, not Zabbix, or finished.
        case stopped
    }

    private var state: State
    private var headerBytes: [UInt8]

    /// Creates a decoder for one direction of one connection.
    ///
    /// - Parameter maximumFrameSize: the largest payload decoded; larger frames are skipped. At
    ///   most ``largestMaximumFrameSize``.
    public init(maximumFrameSize: Int = ZabbixFrameDecoder.defaultMaximumFrameSize) {
        self.maximumFrameSize = min(max(0, maximumFrameSize), Self.largestMaximumFrameSize)
        self.state = .streamStart
        // Only headers split across reads are collected here; no allocation until one is.
        self.headerBytes = []
    }

    /// Whether the decoder has stopped (TLS, not Zabbix, or ``finish()`` called) and ignores input.
    public var isStopped: Bool {
        if case .stopped = self.state { return true }
        return false
    }

    /// Bytes currently held by the decoder: a partial header plus a partial payload. Never more
    /// than ``ZabbixFrameHeader/largeLength`` + ``maximumFrameSize``.
    public var bufferedByteCount: Int {
        switch self.state {
        case .payload(_, let accumulated): return accumulated.readableBytes
        case .header: return self.headerBytes.count
        case .streamStart, .skipping, .stopped: return 0
        }
    }

    /// Bytes allocated for the frame being accumulated (its buffer's capacity); 0 between frames.
    /// Grows with ``bufferedByteCount`` (at most twice it, or ``initialPayloadCapacity``), not
    /// with the announced frame length.
    public var bufferedCapacity: Int {
        if case .payload(_, let accumulated) = self.state { return accumulated.capacity }
        return 0
    }

    /// Whether the decoder sits exactly between two frames (or before the first one).
    public var isAtFrameBoundary: Bool {
        switch self.state {
        case .streamStart: return true
        case .header: return self.headerBytes.isEmpty
        case .payload, .skipping, .stopped: return false
        }
    }

    /// Stops accumulating the frame in progress and frees its buffer: the rest of it is passed
    /// over as an oversized frame is (no event). For callers that ran out of memory to hold it.
    /// Returns whether a frame was in progress.
    public mutating func abandonFrame() -> Bool {
        guard case .payload(let header, let accumulated) = self.state else { return false }
        self.state = .skipping(header, remaining: header.dataLength - UInt64(accumulated.readableBytes))
        return true
    }

    /// Decodes `buffer`, calling `emit` for every event, in stream order.
    public mutating func feed(_ buffer: ByteBuffer, _ emit: (ZabbixFrameEvent) -> Void) {
        var input = buffer
        while input.readableBytes > 0 {
            switch self.state {
            case .stopped:
                return

            case .streamStart:
                if input.getInteger(at: input.readerIndex, as: UInt8.self) == 0x16 {
                    self.state = .stopped
                    emit(.tls)
                    return
                }
                self.state = .header

            case .header:
                self.readHeader(from: &input, emit)

            case .payload(let header, var accumulated):
                self.state = .stopped  // drop our reference so `accumulated` is not copied on write
                let missing = Int(header.dataLength) - accumulated.readableBytes
                let count = min(missing, input.readableBytes)
                if var chunk = input.readSlice(length: count) {
                    // Grows geometrically (ByteBuffer doubles to the next power of two), but
                    // never beyond what the frame needs.
                    let needed = accumulated.writerIndex + count
                    if needed > accumulated.capacity {
                        accumulated.reserveCapacity(min(max(needed, accumulated.capacity * 2), Int(header.dataLength)))
                    }
                    accumulated.writeBuffer(&chunk)
                }
                if count == missing {
                    self.state = .header
                    emit(.frame(ZabbixFrame(header: header, payload: accumulated)))
                } else {
                    self.state = .payload(header, accumulated)
                }

            case .skipping(let header, let remaining):
                let available = UInt64(input.readableBytes)
                if remaining <= available {
                    input.moveReaderIndex(forwardBy: Int(remaining))
                    self.state = .header
                } else {
                    input.moveReaderIndex(forwardBy: input.readableBytes)
                    self.state = .skipping(header, remaining: remaining - available)
                }
            }
        }
    }

    /// Decodes `buffer` and returns its events, in stream order.
    public mutating func feed(_ buffer: ByteBuffer) -> [ZabbixFrameEvent] {
        var events: [ZabbixFrameEvent] = []
        self.feed(buffer) { events.append($0) }
        return events
    }

    /// Tells the decoder the stream has ended. Returns
    /// ``ZabbixNotZabbixReason/truncated(header:missingBytes:)`` when it ended inside a frame,
    /// `nil` when it ended cleanly between frames. The decoder stops.
    public mutating func finish() -> ZabbixFrameEvent? {
        defer { self.state = .stopped }
        switch self.state {
        case .streamStart, .stopped:
            return nil
        case .header:
            if self.headerBytes.isEmpty { return nil }
            let needed =
                self.headerBytes.count < 5
                ? ZabbixFrameHeader.normalLength
                : ZabbixFrameHeader.headerLength(for: ZabbixFrameFlags(rawValue: self.headerBytes[4]))
            return .notZabbix(.truncated(header: nil, missingBytes: UInt64(needed - self.headerBytes.count)))
        case .payload(let header, let accumulated):
            return .notZabbix(
                .truncated(header: header, missingBytes: header.dataLength - UInt64(accumulated.readableBytes))
            )
        case .skipping(let header, let remaining):
            return .notZabbix(.truncated(header: header, missingBytes: remaining))
        }
    }

    // MARK: - Header

    private mutating func readHeader(from input: inout ByteBuffer, _ emit: (ZabbixFrameEvent) -> Void) {
        if self.headerBytes.isEmpty, let header = Self.wholeHeader(in: input) {
            // The usual case: the whole header is in this read; no copy.
            input.moveReaderIndex(forwardBy: ZabbixFrameHeader.headerLength(for: header.flags))
            self.startPayload(of: header, from: &input, emit)
            return
        }
        // Magic and flags, byte by byte so that non-Zabbix input is rejected as early as possible.
        while self.headerBytes.count < 5 {
            guard let byte = input.readInteger(as: UInt8.self) else { return }
            let index = self.headerBytes.count
            self.headerBytes.append(byte)
            if index < 4 {
                if byte != ZabbixFrameHeader.magic[index] {
                    self.stop(.wrongMagic(prefix: self.headerBytes), emit)
                    return
                }
            } else {
                let flags = ZabbixFrameFlags(rawValue: byte)
                if !flags.isDisjoint(with: .unknownBits) {
                    self.stop(.unknownFlags(flags), emit)
                    return
                }
                if !flags.contains(.zabbixProtocol) {
                    self.stop(.missingProtocolFlag(flags), emit)
                    return
                }
            }
        }

        let flags = ZabbixFrameFlags(rawValue: self.headerBytes[4])
        let length = ZabbixFrameHeader.headerLength(for: flags)
        let count = min(length - self.headerBytes.count, input.readableBytes)
        if count > 0, let bytes = input.readBytes(length: count) {
            self.headerBytes.append(contentsOf: bytes)
        }
        // Complete, and its magic checked above: the layout parse cannot fail here.
        guard self.headerBytes.count == length, let header = ZabbixFrameHeader(bytes: self.headerBytes) else {
            return
        }
        self.headerBytes.removeAll(keepingCapacity: true)
        self.startPayload(of: header, from: &input, emit)
    }

    /// The header at the start of `input` when it is complete and valid; `nil` otherwise (the
    /// byte-by-byte path then collects a split header or names what is wrong).
    private static func wholeHeader(in input: ByteBuffer) -> ZabbixFrameHeader? {
        let start = input.readerIndex
        guard input.readableBytes >= ZabbixFrameHeader.normalLength,
            input.getInteger(at: start, endianness: .big, as: UInt32.self) == 0x5A42_5844,
            let byte = input.getInteger(at: start + 4, as: UInt8.self)
        else { return nil }
        let flags = ZabbixFrameFlags(rawValue: byte)
        guard flags.isDisjoint(with: .unknownBits), flags.contains(.zabbixProtocol),
            input.readableBytes >= ZabbixFrameHeader.headerLength(for: flags)
        else { return nil }
        let dataLength: UInt64
        let reserved: UInt64
        if flags.contains(.large) {
            guard let length = input.getInteger(at: start + 5, endianness: .little, as: UInt64.self),
                let rest = input.getInteger(at: start + 13, endianness: .little, as: UInt64.self)
            else { return nil }
            (dataLength, reserved) = (length, rest)
        } else {
            guard let length = input.getInteger(at: start + 5, endianness: .little, as: UInt32.self),
                let rest = input.getInteger(at: start + 9, endianness: .little, as: UInt32.self)
            else { return nil }
            (dataLength, reserved) = (UInt64(length), UInt64(rest))
        }
        return ZabbixFrameHeader(flags: flags, dataLength: dataLength, reserved: reserved)
    }

    private mutating func startPayload(
        of header: ZabbixFrameHeader,
        from input: inout ByteBuffer,
        _ emit: (ZabbixFrameEvent) -> Void
    ) {
        let limit = UInt64(self.maximumFrameSize)
        if header.dataLength > limit || (header.isCompressed && header.reserved > limit) {
            self.state = header.dataLength == 0 ? .header : .skipping(header, remaining: header.dataLength)
            emit(.skipped(header))
            return
        }
        // Safe: dataLength <= maximumFrameSize, an Int.
        let length = Int(header.dataLength)
        if let payload = input.readSlice(length: length) {
            self.state = .header
            emit(.frame(ZabbixFrame(header: header, payload: payload)))
            return
        }
        // Reserve for what has arrived, not for what the header announces.
        var accumulated = ByteBufferAllocator().buffer(
            capacity: min(length, max(input.readableBytes, Self.initialPayloadCapacity))
        )
        accumulated.writeBuffer(&input)
        self.state = .payload(header, accumulated)
    }

    private mutating func stop(_ reason: ZabbixNotZabbixReason, _ emit: (ZabbixFrameEvent) -> Void) {
        self.state = .stopped
        self.headerBytes.removeAll()
        emit(.notZabbix(reason))
    }
}

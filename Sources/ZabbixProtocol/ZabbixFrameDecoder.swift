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

    private var state: State {
        didSet {
            if case .payload(_, let accumulated) = self.state {
                self.bufferedCapacity = accumulated.capacity
            } else {
                self.bufferedCapacity = 0
            }
        }
    }
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
    /// with the announced frame length. Stored (kept by `state`), not computed: a tap reads it
    /// after every read, and a computed property of a decoder kept in a class is read from a
    /// copy of the whole decoder.
    public private(set) var bufferedCapacity = 0

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

    /// Decodes `buffer`, calling `emit` for every event, in stream order. A frame that arrived
    /// whole in `buffer` is a slice of it (no copy).
    public mutating func feed(_ buffer: ByteBuffer, _ emit: (ZabbixFrameEvent) -> Void) {
        buffer.withUnsafeReadableBytes { bytes in
            self.feed(
                bytes,
                whole: { header, range in
                    let payload =
                        buffer.getSlice(at: buffer.readerIndex + range.lowerBound, length: range.count)
                        ?? ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: bytes[range]))
                    emit(.frame(ZabbixFrame(header: header, payload: payload)))
                },
                emit
            )
        }
    }

    /// Decodes `bytes`, valid only during the call (a relay's read buffer), calling `emit` for
    /// every event, in stream order. A frame that arrived whole in `bytes` is copied once, into a
    /// buffer of its own; nothing else is copied unless a frame spans reads.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (ZabbixFrameEvent) -> Void) {
        self.feed(
            bytes,
            whole: { emit(.frame(ZabbixFrame(header: $0, payload: ByteBuffer(bytes: $1)))) },
            other: emit
        )
    }

    /// Decodes `bytes`, valid only during the call, handing a frame that arrived whole in them to
    /// `whole` as its header and a view of its payload in `bytes` (no copy: the caller copies it
    /// where it likes, several frames into one buffer, say), and every other event (a frame that
    /// spanned reads included, in a buffer of its own) to `other`; all in stream order.
    public mutating func feed(
        _ bytes: UnsafeRawBufferPointer,
        whole: (ZabbixFrameHeader, UnsafeRawBufferPointer) -> Void,
        other emit: (ZabbixFrameEvent) -> Void
    ) {
        self.feed(bytes, whole: { whole($0, UnsafeRawBufferPointer(rebasing: bytes[$1])) }, emit)
    }

    /// The decoder: `whole` takes a frame that arrived whole in `input`, as its header and the
    /// range of its payload there.
    private mutating func feed(
        _ input: UnsafeRawBufferPointer,
        whole: (ZabbixFrameHeader, Range<Int>) -> Void,
        _ emit: (ZabbixFrameEvent) -> Void
    ) {
        var position = 0
        while position < input.count {
            switch self.state {
            case .stopped:
                return

            case .streamStart:
                if input[position] == 0x16 {
                    self.state = .stopped
                    emit(.tls)
                    return
                }
                self.state = .header

            case .header:
                position = self.readHeader(input, at: position, whole: whole, emit)

            case .payload(let header, var accumulated):
                self.state = .stopped  // drop our reference so `accumulated` is not copied on write
                let missing = Int(header.dataLength) - accumulated.readableBytes
                let count = min(missing, input.count - position)
                // Grows geometrically (ByteBuffer doubles to the next power of two), but never
                // beyond what the frame needs.
                let needed = accumulated.writerIndex + count
                if needed > accumulated.capacity {
                    accumulated.reserveCapacity(min(max(needed, accumulated.capacity * 2), Int(header.dataLength)))
                }
                accumulated.writeBytes(UnsafeRawBufferPointer(rebasing: input[position..<(position + count)]))
                position += count
                if count == missing {
                    self.state = .header
                    emit(.frame(ZabbixFrame(header: header, payload: accumulated)))
                } else {
                    self.state = .payload(header, accumulated)
                }

            case .skipping(let header, let remaining):
                let available = UInt64(input.count - position)
                if remaining <= available {
                    position += Int(remaining)
                    self.state = .header
                } else {
                    position = input.count
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

    /// Reads the header starting at `start` in `input` (and, when it is complete, the payload
    /// that follows); returns the position after what was read.
    private mutating func readHeader(
        _ input: UnsafeRawBufferPointer,
        at start: Int,
        whole: (ZabbixFrameHeader, Range<Int>) -> Void,
        _ emit: (ZabbixFrameEvent) -> Void
    ) -> Int {
        if self.headerBytes.isEmpty, let header = Self.wholeHeader(in: input, at: start) {
            // The usual case: the whole header is in this read; no copy.
            return self.startPayload(of: header, input, at: start + header.length, whole: whole, emit)
        }
        var position = start
        // Magic and flags, byte by byte so that non-Zabbix input is rejected as early as possible.
        while self.headerBytes.count < 5 {
            guard position < input.count else { return position }
            let byte = input[position]
            position += 1
            let index = self.headerBytes.count
            self.headerBytes.append(byte)
            if index < 4 {
                if byte != ZabbixFrameHeader.magic[index] {
                    self.stop(.wrongMagic(prefix: self.headerBytes), emit)
                    return position
                }
            } else {
                let flags = ZabbixFrameFlags(rawValue: byte)
                if !flags.isDisjoint(with: .unknownBits) {
                    self.stop(.unknownFlags(flags), emit)
                    return position
                }
                if !flags.contains(.zabbixProtocol) {
                    self.stop(.missingProtocolFlag(flags), emit)
                    return position
                }
            }
        }

        let flags = ZabbixFrameFlags(rawValue: self.headerBytes[4])
        let length = ZabbixFrameHeader.headerLength(for: flags)
        let count = min(length - self.headerBytes.count, input.count - position)
        if count > 0 {
            self.headerBytes.append(contentsOf: input[position..<(position + count)])
            position += count
        }
        // Complete, and its magic checked above: the layout parse cannot fail here.
        guard self.headerBytes.count == length, let header = ZabbixFrameHeader(bytes: self.headerBytes) else {
            return position
        }
        self.headerBytes.removeAll(keepingCapacity: true)
        return self.startPayload(of: header, input, at: position, whole: whole, emit)
    }

    /// The header at `start` in `input` when it is complete and valid; `nil` otherwise (the
    /// byte-by-byte path then collects a split header or names what is wrong).
    private static func wholeHeader(in input: UnsafeRawBufferPointer, at start: Int) -> ZabbixFrameHeader? {
        guard let header = ZabbixFrameHeader(bytes: input, at: start),
            header.flags.isDisjoint(with: .unknownBits), header.flags.contains(.zabbixProtocol)
        else { return nil }
        return header
    }

    /// Starts the payload of `header` at `position` in `input`; returns the position after what
    /// was read.
    private mutating func startPayload(
        of header: ZabbixFrameHeader,
        _ input: UnsafeRawBufferPointer,
        at position: Int,
        whole: (ZabbixFrameHeader, Range<Int>) -> Void,
        _ emit: (ZabbixFrameEvent) -> Void
    ) -> Int {
        let limit = UInt64(self.maximumFrameSize)
        if header.dataLength > limit || (header.isCompressed && header.reserved > limit) {
            self.state = header.dataLength == 0 ? .header : .skipping(header, remaining: header.dataLength)
            emit(.skipped(header))
            return position
        }
        // Safe: dataLength <= maximumFrameSize, an Int.
        let length = Int(header.dataLength)
        let available = input.count - position
        if length <= available {
            self.state = .header
            whole(header, position..<(position + length))
            return position + length
        }
        // Reserve for what has arrived, not for what the header announces.
        var accumulated = ByteBufferAllocator().buffer(
            capacity: min(length, max(available, Self.initialPayloadCapacity))
        )
        accumulated.writeBytes(UnsafeRawBufferPointer(rebasing: input[position...]))
        self.state = .payload(header, accumulated)
        return input.count
    }

    private mutating func stop(_ reason: ZabbixNotZabbixReason, _ emit: (ZabbixFrameEvent) -> Void) {
        self.state = .stopped
        self.headerBytes.removeAll()
        emit(.notZabbix(reason))
    }
}

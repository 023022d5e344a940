import CRiemannProto
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Encodes batches of events as Riemann frames, packing each `Event` with protobuf-c straight into
/// the outgoing `ByteBuffer`.
///
/// A `Msg` that carries only events is, on the wire, nothing but its `events` entries one after
/// the other: for each, the field-6 tag (`0x32`), the `Event`'s length as a varint, and the
/// `Event`. So the encoder writes the tag and the length itself and lets protobuf-c pack each
/// `Event` once, into space reserved from the event's size bound (``RiemannEvent/encodedSize``,
/// known before anything is packed): no `get_packed_size` walk over the batch, no second walk
/// over each event by the `Msg`'s pack, and the C structs of one event at a time, in one
/// ``ProtobufArena`` block reused from event to event and batch to batch. The bytes are those
/// protobuf-c gives for the whole `Msg` (`RiemannEncodingIdentityTests` holds it to that).
///
/// Not thread-safe: one encoder per event loop (the Riemann client keeps one per connection
/// controller).
struct RiemannFrameEncoder: ~Copyable {
    private var arena = ProtobufArena()

    /// The scratch block kept between batches at most; a batch of larger events frees its block
    /// when done, so what the encoder holds is bounded whatever the events were.
    static let retainedScratchBytes = 64 << 10

    init() {}

    /// The scratch memory kept for the next batch.
    var scratchBytes: Int { self.arena.reservedBytes }

    /// Appends the queue entries' events as one frame. Their ``RiemannEventQueue/Entry/byteCount``
    /// is each event's ``RiemannEvent/encodedSizeInMessage``, worked out when it was queued.
    /// On error nothing is appended.
    mutating func encodeFrame(
        _ entries: [RiemannEventQueue.Entry],
        into buffer: inout ByteBuffer
    )
        throws(RiemannCodecError)
    {
        var bodyBound = 0
        for index in entries.indices {
            bodyBound += entries[index].byteCount
        }
        try self.encodeFrame(bodyBound: bodyBound, into: &buffer) { (arena, base) throws(RiemannCodecError) in
            // Through a buffer pointer, each event is read in place rather than copied out of the array.
            try entries.withUnsafeBufferPointer { (entries) throws(RiemannCodecError) in
                guard let first = entries.baseAddress else { return 0 }
                var offset = 0
                for index in entries.indices {
                    let entry = first + index
                    let encodedSize = ProtobufSize.bodyLength(ofLengthDelimited: entry.pointee.byteCount)
                    if let eventOffset = Self.eventOffset {
                        let event = UnsafeRawPointer(entry).advanced(by: eventOffset)
                            .assumingMemoryBound(to: RiemannEvent.self)
                        offset += try Self.pack(event, encodedSize: encodedSize, arena: &arena, to: base + offset)
                    } else {
                        offset += try withUnsafePointer(to: entry.pointee.event) { (event) throws(RiemannCodecError) in
                            try Self.pack(event, encodedSize: encodedSize, arena: &arena, to: base + offset)
                        }
                    }
                }
                return offset
            }
        }
    }

    /// Appends `events` as one frame. On error nothing is appended.
    mutating func encodeFrame<Events: Collection<RiemannEvent>>(
        events: Events,
        into buffer: inout ByteBuffer
    )
        throws(RiemannCodecError)
    {
        var bodyBound = 0
        for event in events {
            bodyBound += event.encodedSizeInMessage
        }
        try self.encodeFrame(bodyBound: bodyBound, into: &buffer) { (arena, base) throws(RiemannCodecError) in
            var offset = 0
            for event in events {
                offset += try withUnsafePointer(to: event) { (pointer) throws(RiemannCodecError) in
                    try Self.pack(pointer, encodedSize: event.encodedSize, arena: &arena, to: base + offset)
                }
            }
            return offset
        }
    }

    /// Writes the frame header, lets `packEvents` write at most `bodyBound` bytes of body after
    /// it, then sets the header to the length written.
    private mutating func encodeFrame(
        bodyBound: Int,
        into buffer: inout ByteBuffer,
        _ packEvents: (inout ProtobufArena, UnsafeMutableRawPointer) throws(RiemannCodecError) -> Int
    ) throws(RiemannCodecError) {
        // The frame must fit its 4-byte length and, with what the buffer holds already, a
        // ByteBuffer (which traps beyond UInt32.max bytes).
        guard bodyBound <= RiemannMessageCodec.maximumBodyLength - buffer.writerIndex else {
            throw .messageTooLarge(bodyLength: bodyBound)
        }
        defer { self.arena.trim(keepingAtMost: Self.retainedScratchBytes) }
        let headerIndex = buffer.writerIndex
        buffer.reserveCapacity(minimumWritableBytes: RiemannMessageCodec.frameHeaderLength + bodyBound)
        buffer.writeInteger(UInt32(0), endianness: .big)
        var failure: RiemannCodecError?
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: bodyBound) { bytes in
            guard bodyBound > 0, let base = bytes.baseAddress else { return 0 }
            do throws(RiemannCodecError) {
                return try packEvents(&self.arena, base)
            } catch {
                failure = error
                return 0
            }
        }
        if let failure {
            buffer.moveWriterIndex(to: headerIndex)
            throw failure
        }
        let bodyLength = buffer.writerIndex - headerIndex - RiemannMessageCodec.frameHeaderLength
        buffer.setInteger(UInt32(truncatingIfNeeded: bodyLength), at: headerIndex, endianness: .big)
    }

    /// Writes `event` as one `events` entry of a `Msg` at `destination`, which has room for
    /// `1 + varint(encodedSize) + encodedSize` bytes; returns the bytes written.
    ///
    /// `encodedSize` is exact unless a string holds a NUL: protobuf-c then packs the C string up to
    /// it, fewer bytes, and the length prefix is written for what was packed (moving the packed
    /// `Event` back when its length takes fewer varint bytes than reserved).
    private static func pack(
        _ event: UnsafePointer<RiemannEvent>,
        encodedSize: Int,
        arena: inout ProtobufArena,
        to destination: UnsafeMutableRawPointer
    ) throws(RiemannCodecError) -> Int {
        try arena.reset(reserving: ProtobufArena.bytes(for: event.pointee, encodedSize: encodedSize))
        var cEvent = Riemann__Event()
        try arena.fill(&cEvent, from: event)
        let reservedLengthBytes = ProtobufSize.varint(UInt64(encodedSize))
        let reservedBody = destination + 1 + reservedLengthBytes
        let packed = withUnsafePointer(to: &cEvent) { cEvent in
            riemann__event__pack(cEvent, reservedBody.assumingMemoryBound(to: UInt8.self))
        }
        let lengthBytes = ProtobufSize.varint(UInt64(packed))
        if lengthBytes != reservedLengthBytes {
            memmove(destination + 1 + lengthBytes, reservedBody, packed)
        }
        destination.storeBytes(of: Self.eventsTag, as: UInt8.self)
        ProtobufSize.writeVarint(UInt64(packed), to: destination + 1)
        return 1 + lengthBytes + packed
    }

    /// Where an entry keeps its event: the encoder reads events in place, through pointers (see
    /// ``ProtobufArena/fill(_:from:)``). Every stored property of a struct has one; were it ever
    /// `nil`, events would be read from a copy instead.
    private static let eventOffset = MemoryLayout<RiemannEventQueue.Entry>.offset(of: \.event)

    /// The tag of `Msg.events`: field 6, wire type 2 (length-delimited).
    private static let eventsTag: UInt8 = 6 << 3 | 2
}

extension ProtobufSize {
    /// The body length of a length-delimited field of `fieldBytes` bytes in all (tag, length,
    /// body): the inverse of ``lengthDelimited(_:)``.
    static func bodyLength(ofLengthDelimited fieldBytes: Int) -> Int {
        // fieldBytes = 1 + varint(body) + body; the varint takes 1 to 10 bytes, and only one
        // of them gives a body whose varint has that many bytes.
        for lengthBytes in 1...10 {
            let body = fieldBytes - 1 - lengthBytes
            if body >= 0, self.varint(UInt64(body)) == lengthBytes {
                return body
            }
        }
        return max(fieldBytes - 2, 0)
    }

    /// Writes `value` as a base-128 varint at `destination`; returns the bytes written (1 to 10).
    @discardableResult
    static func writeVarint(_ value: UInt64, to destination: UnsafeMutableRawPointer) -> Int {
        var value = value
        var offset = 0
        while value >= 0x80 {
            destination.storeBytes(of: UInt8(truncatingIfNeeded: value) | 0x80, toByteOffset: offset, as: UInt8.self)
            value >>= 7
            offset += 1
        }
        destination.storeBytes(of: UInt8(value), toByteOffset: offset, as: UInt8.self)
        return offset + 1
    }
}

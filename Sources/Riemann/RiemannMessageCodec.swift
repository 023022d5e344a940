import CRiemannProto
import NIOCore

/// Why a Riemann message could not be decoded or encoded.
public enum RiemannCodecError: Error, Sendable, Equatable {
    /// protobuf-c rejected the body (not a valid `Msg`).
    case malformedMessage(bodyLength: Int)
    /// The encoded message would be larger than a frame (or a `ByteBuffer`) can hold: its 4-byte
    /// length prefix caps a body at 4 GiB. The Riemann client never gets here (its batches are
    /// bounded by ``RiemannClientConfiguration/maximumBatchBytes``); the check makes it impossible.
    case messageTooLarge(bodyLength: Int)
    /// Memory for the C structures of the message could not be allocated.
    case allocationFailed(byteCount: Int)
}

/// Encodes ``RiemannMessage``s to Riemann's protobuf wire format and decodes them back,
/// through the protoc-c generated code in `CRiemannProto`.
///
/// A message of events alone is packed one `Event` at a time straight into the destination
/// `ByteBuffer` (``RiemannFrameEncoder``); one with `ok`, `error` or `query` is built as a whole
/// C `Msg` in a ``ProtobufArena`` and packed at once — the two give the same bytes for the same
/// events. Decoding copies everything into Swift values and frees the unpacked C message before
/// returning.
public enum RiemannMessageCodec {
    /// Length of the TCP frame header: a 4-byte big-endian body length.
    public static let frameHeaderLength = 4

    /// Appends `message` as one TCP frame (4-byte big-endian length, then the protobuf body).
    /// On error nothing is appended.
    public static func encodeFrame(_ message: RiemannMessage, into buffer: inout ByteBuffer) throws(RiemannCodecError) {
        try self.encodeFrame(
            ok: message.ok,
            error: message.error,
            query: message.query,
            events: message.events,
            into: &buffer
        )
    }

    /// Appends a `Msg` holding `events` as one TCP frame, without building a ``RiemannMessage``.
    /// (Specialized for arrays so that callers in other modules do not run the generic code,
    /// which instantiates metadata and allocates for every event.)
    @_specialize(exported:true,where Events == [RiemannEvent])
    public static func encodeFrame<Events: Collection<RiemannEvent>>(
        events: Events,
        into buffer: inout ByteBuffer
    ) throws(RiemannCodecError) {
        try self.encodeFrame(ok: nil, error: nil, query: nil, events: events, into: &buffer)
    }

    /// A new buffer holding `message` as one TCP frame.
    public static func frame(
        _ message: RiemannMessage,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws(RiemannCodecError) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 0)
        try self.encodeFrame(message, into: &buffer)
        return buffer
    }

    /// The frame of ``RiemannMessage/ack`` (`{ok: true}`): `00 00 00 02 10 01`, written without
    /// the encoder, which cannot fail for it but says it could.
    public static func acknowledgementFrame(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        allocator.buffer(bytes: [0x00, 0x00, 0x00, 0x02, 0x10, 0x01])
    }

    /// The protobuf body of `message`, without the length prefix (for UDP or debugging).
    public static func encodeBody(_ message: RiemannMessage) throws(RiemannCodecError) -> [UInt8] {
        try self.withPackedMessage(
            ok: message.ok,
            error: message.error,
            query: message.query,
            events: message.events
        ) { (msg) throws(RiemannCodecError) in
            let size = riemann__msg__get_packed_size(msg)
            guard size <= Self.maximumBodyLength else { throw .messageTooLarge(bodyLength: size) }
            return [UInt8](unsafeUninitializedCapacity: size) { bytes, count in
                count = bytes.baseAddress.map { riemann__msg__pack(msg, $0) } ?? 0
            }
        }
    }

    /// The largest body a frame can announce in its 4-byte length, less the header, so that a
    /// whole frame also fits a `ByteBuffer` (whose capacity is a `UInt32`).
    public static let maximumBodyLength = Int(UInt32.max) - RiemannMessageCodec.frameHeaderLength

    /// Decodes one protobuf body (no length prefix).
    public static func decode(body: UnsafeRawBufferPointer) throws(RiemannCodecError) -> RiemannMessage {
        // protobuf-c never reads through a NULL pointer when the length is 0, but give it a valid one anyway.
        let unpacked: UnsafeMutablePointer<Riemann__Msg>?
        if let base = body.baseAddress {
            unpacked = riemann__msg__unpack(nil, body.count, base.assumingMemoryBound(to: UInt8.self))
        } else {
            var empty: UInt8 = 0
            unpacked = riemann__msg__unpack(nil, 0, &empty)
        }
        guard let unpacked else {
            throw .malformedMessage(bodyLength: body.count)
        }
        defer { riemann__msg__free_unpacked(unpacked, nil) }
        return RiemannMessage(copyingFrom: unpacked.pointee)
    }

    /// Decodes one protobuf body (no length prefix) held in a `ByteBuffer`'s readable bytes.
    public static func decode(body: ByteBuffer) throws(RiemannCodecError) -> RiemannMessage {
        let result: Result<RiemannMessage, RiemannCodecError> = body.withUnsafeReadableBytes { bytes in
            Result { () throws(RiemannCodecError) in try self.decode(body: bytes) }
        }
        return try result.get()
    }

    /// Decodes one protobuf body (no length prefix).
    public static func decode(body: [UInt8]) throws(RiemannCodecError) -> RiemannMessage {
        let result: Result<RiemannMessage, RiemannCodecError> = body.withUnsafeBytes { bytes in
            Result { () throws(RiemannCodecError) in try self.decode(body: bytes) }
        }
        return try result.get()
    }

    // MARK: - Encoding internals

    /// Packs a `Msg` with `ok`/`error`/`query` as one message (events alone go through
    /// ``RiemannFrameEncoder``, which writes the same bytes).
    private static func encodeFrame<Events: Collection<RiemannEvent>>(
        ok: Bool?,
        error: String?,
        query: String?,
        events: Events,
        into buffer: inout ByteBuffer
    ) throws(RiemannCodecError) {
        if ok == nil, error == nil, query == nil {
            var encoder = RiemannFrameEncoder()
            try encoder.encodeFrame(events: events, into: &buffer)
            return
        }
        try self.withPackedMessage(ok: ok, error: error, query: query, events: events) {
            (msg) throws(RiemannCodecError) in
            let size = riemann__msg__get_packed_size(msg)
            // The frame must fit its 4-byte length and, with what the buffer holds already, a
            // ByteBuffer (which traps beyond UInt32.max bytes).
            guard size <= Self.maximumBodyLength - buffer.writerIndex else {
                throw .messageTooLarge(bodyLength: size)
            }
            buffer.reserveCapacity(minimumWritableBytes: self.frameHeaderLength + size)
            buffer.writeInteger(UInt32(truncatingIfNeeded: size), endianness: .big)
            let written = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { bytes in
                guard let base = bytes.baseAddress else { return 0 }
                return riemann__msg__pack(msg, base.assumingMemoryBound(to: UInt8.self))
            }
            assert(written == size, "protobuf-c packed \(written) bytes, announced \(size)")
        }
    }

    /// Builds a C `Msg` whose strings and arrays live in an arena, runs `body`, frees everything.
    private static func withPackedMessage<Events: Collection<RiemannEvent>, Result>(
        ok: Bool?,
        error: String?,
        query: String?,
        events: Events,
        _ body: (UnsafePointer<Riemann__Msg>) throws(RiemannCodecError) -> Result
    ) throws(RiemannCodecError) -> Result {
        var scratch = Self.cStringSize(error) + Self.cStringSize(query)
        for event in events {
            scratch += ProtobufArena.bytes(for: event, encodedSize: event.encodedSize)
        }
        let eventCount = events.count
        scratch += eventCount * (MemoryLayout<Riemann__Event>.stride + MemoryLayout<UnsafeRawPointer>.stride) + 16

        var arena = ProtobufArena()
        try arena.reset(reserving: scratch)
        let cEvents = try arena.allocate(Riemann__Event.self, count: eventCount)
        let cEventPointers = try arena.allocate(UnsafeMutablePointer<Riemann__Event>?.self, count: eventCount)
        for (index, event) in events.enumerated() {
            try withUnsafePointer(to: event) { (event) throws(RiemannCodecError) in
                try arena.fill(&cEvents[index], from: event)
            }
            cEventPointers[index] = cEvents + index
        }

        var msg = Riemann__Msg()
        riemann__msg__init(&msg)
        if let ok {
            msg.has_ok = 1
            msg.ok = ok ? 1 : 0
        }
        msg.error = try arena.optionalCString(error)
        var cQuery = Riemann__Query()
        riemann__query__init(&cQuery)
        cQuery.string = try arena.optionalCString(query)
        msg.n_events = eventCount
        msg.events = eventCount > 0 ? cEventPointers : nil
        return try withUnsafeMutablePointer(to: &cQuery) { (queryPointer) throws(RiemannCodecError) in
            if query != nil {
                msg.query = queryPointer
            }
            return try withUnsafePointer(to: &msg) { (msg) throws(RiemannCodecError) in try body(msg) }
        }
    }

    fileprivate static func cStringSize(_ string: String?) -> Int {
        string.map { $0.utf8.count + 1 } ?? 0
    }
}

extension ProtobufArena {
    /// Makes `cEvent` the C `Event` of `event`: its strings, tags and attributes are copies held
    /// by the arena, valid until the arena's next reset.
    ///
    /// `event` is read through a pointer: a borrowed value would be copied whole first (the
    /// compiler cannot tell that the arena's writes leave it alone), and that copy cost more than
    /// the rest of this function.
    mutating func fill(
        _ cEvent: inout Riemann__Event,
        from event: UnsafePointer<RiemannEvent>
    ) throws(RiemannCodecError) {
        riemann__event__init(&cEvent)
        if let time = event.pointee.time {
            cEvent.has_time = 1
            cEvent.time = time
        }
        if let timeMicros = event.pointee.timeMicros {
            cEvent.has_time_micros = 1
            cEvent.time_micros = timeMicros
        }
        cEvent.state = try self.optionalCString(event.pointee.state)
        cEvent.service = try self.optionalCString(event.pointee.service)
        cEvent.host = try self.optionalCString(event.pointee.host)
        cEvent.description = try self.optionalCString(event.pointee.description)
        if let ttl = event.pointee.ttl {
            cEvent.has_ttl = 1
            cEvent.ttl = ttl
        }
        switch event.pointee.metric {
        case .sint64(let value):
            cEvent.has_metric_sint64 = 1
            cEvent.metric_sint64 = value
        case .double(let value):
            cEvent.has_metric_d = 1
            cEvent.metric_d = value
        case .float(let value):
            cEvent.has_metric_f = 1
            cEvent.metric_f = value
        case nil:
            break
        }
        let tagCount = event.pointee.tags.count
        if tagCount > 0 {
            let cTags = try self.allocate(UnsafeMutablePointer<CChar>?.self, count: tagCount)
            for index in 0..<tagCount {
                cTags[index] = try self.cString(event.pointee.tags[index])
            }
            cEvent.n_tags = tagCount
            cEvent.tags = cTags
        }
        let attributeCount = event.pointee.attributes.count
        if attributeCount > 0 {
            let cAttributes = try self.allocate(Riemann__Attribute.self, count: attributeCount)
            let cAttributePointers = try self.allocate(
                UnsafeMutablePointer<Riemann__Attribute>?.self,
                count: attributeCount
            )
            for index in 0..<attributeCount {
                let cAttribute = cAttributes + index
                riemann__attribute__init(cAttribute)
                cAttribute.pointee.key = try self.cString(event.pointee.attributes[index].key)
                cAttribute.pointee.value = try self.optionalCString(event.pointee.attributes[index].value)
                cAttributePointers[index] = cAttribute
            }
            cEvent.n_attributes = attributeCount
            cEvent.attributes = cAttributePointers
        }
    }
}

// MARK: - Decoding internals

extension RiemannMessage {
    /// Copies an unpacked C `Msg` into Swift values; the C message is not retained.
    fileprivate init(copyingFrom msg: Riemann__Msg) {
        var events: [RiemannEvent] = []
        events.reserveCapacity(msg.n_events)
        if let cEvents = msg.events {
            for index in 0..<msg.n_events {
                if let cEvent = cEvents[index] {
                    events.append(RiemannEvent(copyingFrom: cEvent.pointee))
                }
            }
        }
        self.init(
            ok: msg.has_ok != 0 ? msg.ok != 0 : nil,
            error: String(optionalCString: msg.error),
            events: events,
            query: msg.query.flatMap { String(optionalCString: $0.pointee.string) }
        )
    }
}

extension RiemannEvent {
    fileprivate init(copyingFrom event: Riemann__Event) {
        var tags: [String] = []
        if let cTags = event.tags {
            tags.reserveCapacity(event.n_tags)
            for index in 0..<event.n_tags {
                tags.append(String(optionalCString: cTags[index]) ?? "")
            }
        }
        var attributes: [RiemannAttribute] = []
        if let cAttributes = event.attributes {
            attributes.reserveCapacity(event.n_attributes)
            for index in 0..<event.n_attributes {
                guard let cAttribute = cAttributes[index] else { continue }
                attributes.append(
                    RiemannAttribute(
                        key: String(optionalCString: cAttribute.pointee.key) ?? "",
                        value: String(optionalCString: cAttribute.pointee.value)
                    )
                )
            }
        }
        // Same precedence as the Riemann server: sint64, then double, then float.
        let metric: RiemannMetric?
        if event.has_metric_sint64 != 0 {
            metric = .sint64(event.metric_sint64)
        } else if event.has_metric_d != 0 {
            metric = .double(event.metric_d)
        } else if event.has_metric_f != 0 {
            metric = .float(event.metric_f)
        } else {
            metric = nil
        }
        self.init(
            time: event.has_time != 0 ? event.time : nil,
            timeMicros: event.has_time_micros != 0 ? event.time_micros : nil,
            state: String(optionalCString: event.state),
            service: String(optionalCString: event.service),
            host: String(optionalCString: event.host),
            description: String(optionalCString: event.description),
            tags: tags,
            ttl: event.has_ttl != 0 ? event.ttl : nil,
            attributes: attributes,
            metric: metric
        )
    }
}

extension String {
    /// `nil` for a NULL C string; invalid UTF-8 is repaired with U+FFFD.
    fileprivate init?(optionalCString pointer: UnsafePointer<CChar>?) {
        guard let pointer else { return nil }
        self.init(cString: pointer)
    }

    fileprivate init?(optionalCString pointer: UnsafeMutablePointer<CChar>?) {
        guard let pointer else { return nil }
        self.init(cString: pointer)
    }
}

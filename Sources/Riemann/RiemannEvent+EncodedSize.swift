extension RiemannEvent {
    /// The bytes this event adds to an encoded `Msg` body: the `events` field tag, the length
    /// prefix and the encoded `Event`.
    ///
    /// Computed from the Swift values without encoding, in O(fields): a message's body is exactly
    /// the sum of this over its events (a `Msg` carrying only events has no other field), so the
    /// queue can account bytes and the client can cut batches to a byte budget before anything is
    /// packed. Exact for strings without NUL characters; for a string with one it is an upper
    /// bound, since protobuf-c cuts C strings at their first NUL.
    public var encodedSizeInMessage: Int {
        ProtobufSize.lengthDelimited(self.encodedSize)
    }

    /// The bytes of this event encoded as an `Event` message on its own (see
    /// ``encodedSizeInMessage``).
    public var encodedSize: Int {
        // Every field number of Event and Attribute is below 16: each tag is one byte.
        var size = 0
        if let time = self.time { size += 1 + ProtobufSize.varint(UInt64(bitPattern: time)) }
        size += ProtobufSize.optionalString(self.state)
        size += ProtobufSize.optionalString(self.service)
        size += ProtobufSize.optionalString(self.host)
        size += ProtobufSize.optionalString(self.description)
        for tag in self.tags {
            size += ProtobufSize.lengthDelimited(tag.utf8.count)
        }
        if self.ttl != nil { size += 1 + 4 }
        for attribute in self.attributes {
            let body =
                ProtobufSize.lengthDelimited(attribute.key.utf8.count) + ProtobufSize.optionalString(attribute.value)
            size += ProtobufSize.lengthDelimited(body)
        }
        if let timeMicros = self.timeMicros { size += 1 + ProtobufSize.varint(UInt64(bitPattern: timeMicros)) }
        switch self.metric {
        case .sint64(let value): size += 1 + ProtobufSize.varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
        case .double: size += 1 + 8
        case .float: size += 1 + 4
        case nil: break
        }
        return size
    }
}

/// Sizes of protobuf encodings (proto2 wire format), for fields whose number is below 16.
enum ProtobufSize {
    /// Bytes of `value` as a base-128 varint: 1 to 10.
    static func varint(_ value: UInt64) -> Int {
        value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
    }

    /// Bytes of a length-delimited field (tag, length, body) whose body has `length` bytes.
    static func lengthDelimited(_ length: Int) -> Int {
        1 + self.varint(UInt64(length)) + length
    }

    /// Bytes of an optional string field: nothing when absent.
    static func optionalString(_ string: String?) -> Int {
        string.map { self.lengthDelimited($0.utf8.count) } ?? 0
    }
}

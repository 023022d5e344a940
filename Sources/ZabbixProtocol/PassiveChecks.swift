/// A passive check request (server/proxy → agent): a plain key text (≤ 6.4 protocol) or
/// `{"request":"passive checks","data":[{"key":...,"timeout":...}]}` (7.0+).
public struct PassiveCheckRequest: Sendable, Hashable {
    /// The requested item keys (one for the text form).
    public var keys: [String]
    /// Whether the request was the 7.0 JSON form.
    public var isJSON: Bool

    public init(keys: [String], isJSON: Bool) {
        self.keys = keys
        self.isJSON = isJSON
    }
}

/// The outcome of one passive check.
public enum PassiveCheckResult: Sendable, Hashable {
    /// A value (`nil` for the 7.0 `"value":null`).
    case value(String?)
    /// `ZBX_NOTSUPPORTED\0<error>`, `ZBX_ERROR`, or a 7.0 `{"error":...}` element.
    case notSupported(String)
}

/// An agent's passive check reply, paired with its request's keys.
public struct PassiveCheckResponse: Sendable, Hashable {
    /// The keys of the request on the same connection, when seen.
    public var keys: [String]
    /// One result per key (7.0), or one for the text form.
    public var results: [PassiveCheckResult]
    /// 7.0 request-level error (`{"error":...}` at top level).
    public var error: String?
    /// 7.0+ JSON replies: the agent's version (`7.0.9`, `8.0.0rc1`).
    public var version: String?

    public init(keys: [String], results: [PassiveCheckResult], error: String? = nil, version: String? = nil) {
        self.keys = keys
        self.results = results
        self.error = error
        self.version = version
    }

    static let notSupportedPrefix = Array("ZBX_NOTSUPPORTED".utf8)
    static let errorPrefix = Array("ZBX_ERROR".utf8)

    /// Decodes a ≤ 6.4 text reply: a value, `ZBX_NOTSUPPORTED`, `ZBX_NOTSUPPORTED\0<error>` or
    /// `ZBX_ERROR...`. Trailing spaces and line ends are trimmed, as the server does.
    static func textResult(_ bytes: UnsafeRawBufferPointer) -> PassiveCheckResult {
        let bytes = trimmedTrailingWhitespace(bytes)
        for prefix in [Self.notSupportedPrefix, Self.errorPrefix] where bytes.starts(with: prefix) {
            var rest = bytes[prefix.count...]
            if rest.first == 0 { rest = rest.dropFirst() }
            return .notSupported(String(decoding: rest, as: UTF8.self))
        }
        return .value(String(decoding: bytes, as: UTF8.self))
    }
}

/// `bytes` without trailing spaces, tabs, `\r` and `\n`.
func trimmedTrailingWhitespace(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer.SubSequence {
    var end = bytes.count
    while end > 0 {
        switch bytes[end - 1] {
        case 0x20, 0x09, 0x0A, 0x0D: end -= 1
        default: return bytes[0..<end]
        }
    }
    return bytes[0..<0]
}

extension PassiveCheckRequest {
    /// The keys of a 7.0 `passive checks` request's `data` array (`[{"key":...,"timeout":...}]`);
    /// keys longer than ``ZabbixLimits/maximumKeyLength`` are dropped and counted.
    static func readKeys(_ reader: inout JSONReader, dropped: inout DroppedRows) throws(JSONParseError) -> [String] {
        var keys: [String] = []
        try readObjects(&reader) { reader, name, value throws(JSONParseError) in
            guard name == .key else { return }
            if let key = try reader.text(value, maximumCharacters: ZabbixLimits.maximumKeyLength) {
                try reader.charge(MemoryLayout<String>.stride)
                keys.append(key)
            } else if value.hasText {
                dropped.keyTooLong += 1
            }
        }
        return keys
    }
}

extension PassiveCheckResponse {
    /// The results of a 7.0 passive check reply's `data` array: one per object, an `error`
    /// member making it not supported. `value` may be a string, a JSON number (`"value":1`, as
    /// the 7.4 and 8.0 documentation shows) or `null`: any scalar is read as text, as the server
    /// does.
    static func readResults(_ reader: inout JSONReader) throws(JSONParseError) -> [PassiveCheckResult] {
        var results: [PassiveCheckResult] = []
        var error: String?
        var value: String?
        try readObjects(&reader) { reader, name, scalar throws(JSONParseError) in
            switch name {
            case .key: return
            case .error: error = try reader.text(scalar)
            case .value: value = try reader.text(scalar)
            case .end:
                try reader.charge(MemoryLayout<PassiveCheckResult>.stride)
                results.append(error.map(PassiveCheckResult.notSupported) ?? .value(value))
                (error, value) = (nil, nil)
            }
        }
        return results
    }
}

/// The members of the objects in a passive checks `data` array.
private enum PassiveMember: Int {
    case key, error, value
    /// Not a member: the object ended.
    case end
}

/// Calls `body` with the first `key`, `error` and `value` member of every object of the array at
/// `reader` (other elements and members are passed over), then with `.end` after each object.
/// Anything but an array is passed over.
private func readObjects(
    _ reader: inout JSONReader,
    _ body: (inout JSONReader, PassiveMember, JSONReader.Scalar) throws(JSONParseError) -> Void
) throws(JSONParseError) {
    guard try reader.peekKind() == .array else { return try reader.skipValue() }
    try reader.beginArray()
    while try reader.nextElement() {
        guard try reader.peekKind() == .object else {
            try reader.skipValue()
            continue
        }
        var seen: UInt8 = 0
        try reader.beginObject()
        while let name = try reader.nextName() {
            let member: PassiveMember? = reader.withName(name) { bytes in
                JSONReader.equal(bytes, "key")
                    ? .key
                    : JSONReader.equal(bytes, "error")
                        ? .error
                        : JSONReader.equal(bytes, "value") ? .value : nil
            }
            guard let member, seen & (1 << member.rawValue) == 0 else {
                try reader.skipValue()
                continue
            }
            seen |= 1 << member.rawValue
            try body(&reader, member, try reader.readScalar())
        }
        try body(&reader, .end, .null)
    }
}

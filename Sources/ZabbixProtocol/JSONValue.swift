/// A parsed JSON value. Produced by ``JSONParser``; no Foundation involved.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// A number, kept as its literal text so that no precision is lost.
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The member named `key` when this is an object (first match), else `nil`.
    @inlinable
    public subscript(key: String) -> JSONValue? {
        guard case .object(let object) = self else { return nil }
        return object[key]
    }

    /// The contents when this is a string.
    @inlinable
    public var string: String? {
        guard case .string(let value) = self else { return nil }
        return value
    }

    /// The members when this is an object.
    @inlinable
    public var object: JSONObject? {
        guard case .object(let value) = self else { return nil }
        return value
    }

    /// The elements when this is an array.
    @inlinable
    public var array: [JSONValue]? {
        guard case .array(let value) = self else { return nil }
        return value
    }

    /// The text of a scalar, read the way Zabbix reads any JSON scalar as text: a string's
    /// contents, a number's literal, `true`/`false`. `nil` for `null`, arrays and objects.
    @inlinable
    public var scalarText: String? {
        switch self {
        case .string(let value): return value
        case .number(let number): return number.text
        case .bool(let value): return value ? "true" : "false"
        case .null, .array, .object: return nil
        }
    }

    /// An unsigned integer from a number or a string holding one (Zabbix accepts both).
    @inlinable
    public var uint64: UInt64? {
        switch self {
        case .number(let number): return number.uint64
        case .string(let text): return JSONNumber(validatedText: text).uint64
        default: return nil
        }
    }

    /// A signed integer from a number or a string holding one (Zabbix accepts both).
    @inlinable
    public var int64: Int64? {
        switch self {
        case .number(let number): return number.int64
        case .string(let text): return JSONNumber(validatedText: text).int64
        default: return nil
        }
    }
}

/// A JSON number as its literal text, with exact conversions.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The literal exactly as written, e.g. `18446744073709551615` or `-1.5e3`.
    public let text: String
    /// The absolute value when the literal is an integer (no fraction or exponent) below 2^64.
    @usableFromInline let magnitude: UInt64?
    @usableFromInline let isNegative: Bool

    /// Wraps a literal; callers guarantee it is a JSON number (or a plain integer).
    public init(validatedText text: String) {
        var utf8 = Substring(text).utf8
        let negative = utf8.first == UInt8(ascii: "-")
        if negative { utf8 = utf8.dropFirst() }
        self.init(text: text, magnitude: Self.parseUInt64(utf8), isNegative: negative)
    }

    @usableFromInline
    init(text: String, magnitude: UInt64?, isNegative: Bool) {
        self.text = text
        self.magnitude = magnitude
        self.isNegative = isNegative
    }

    public var description: String { self.text }

    /// The value as `UInt64` when the literal is a non-negative integer that fits (no fraction or
    /// exponent).
    @inlinable
    public var uint64: UInt64? { self.isNegative ? nil : self.magnitude }

    /// The value as `Int64` when the literal is an integer that fits (no fraction or exponent).
    @inlinable
    public var int64: Int64? { Self.signed(self.magnitude, negative: self.isNegative) }

    /// `±magnitude` as `Int64` when it fits.
    @inlinable
    static func signed(_ magnitude: UInt64?, negative: Bool) -> Int64? {
        guard let magnitude else { return nil }
        if negative {
            if magnitude == UInt64(Int64.max) + 1 { return .min }
            return magnitude <= UInt64(Int64.max) ? -Int64(magnitude) : nil
        }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    /// `-?[0-9]{1,20}` below 2^64 (the magnitude and whether it had a minus sign), as Zabbix
    /// reads integers written as strings.
    static func parseSignedInteger(_ bytes: UnsafeRawBufferPointer) -> (UInt64, Bool)? {
        let negative = bytes.first == UInt8(ascii: "-")
        guard let magnitude = self.parseUInt64(negative ? bytes.dropFirst() : bytes[...]) else { return nil }
        return (magnitude, negative)
    }

    /// The nearest `Double` (any literal; large integers lose precision).
    @inlinable
    public var double: Double? { Double(self.text) }

    /// Digits only, no sign, at most 20 of them, value below 2^64.
    @inlinable
    static func parseUInt64<Bytes: Collection<UInt8>>(_ digits: Bytes) -> UInt64? {
        guard !digits.isEmpty, digits.count <= 20 else { return nil }
        var value: UInt64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte &- UInt8(ascii: "0")))
            if overflow1 || overflow2 { return nil }
            value = sum
        }
        return value
    }
}

/// A JSON object's members in document order. Lookups are linear (Zabbix objects are small)
/// and return the first member with the name, as Zabbix's own parser does.
public struct JSONObject: Sendable, Hashable, RandomAccessCollection {
    /// One `"name": value` pair.
    public struct Member: Sendable, Hashable {
        public var key: String
        public var value: JSONValue

        @inlinable
        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    /// The members in document order, duplicates included.
    public var members: [Member]

    @inlinable
    public init(_ members: [Member] = []) {
        self.members = members
    }

    @inlinable public var startIndex: Int { self.members.startIndex }
    @inlinable public var endIndex: Int { self.members.endIndex }
    @inlinable public subscript(position: Int) -> Member { self.members[position] }

    /// The value of the first member named `key`.
    @inlinable
    public subscript(key: String) -> JSONValue? {
        for member in self.members where member.key == key {
            return member.value
        }
        return nil
    }
}

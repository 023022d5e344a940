import NIOCore

/// Why a JSON text was rejected, and where.
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kinds of problems ``JSONReader`` and ``JSONParser`` report.
    public enum Reason: Sendable, Hashable {
        /// Input ended before the value was complete (includes empty input).
        case unexpectedEnd
        /// A byte that cannot start or continue a value here.
        case unexpectedByte(UInt8)
        /// A backslash escape other than `\" \\ \/ \b \f \n \r \t \uXXXX`.
        case invalidEscape
        /// A `\u` escape without four hex digits, or an unpaired UTF-16 surrogate.
        case invalidUnicodeEscape
        /// Bytes in a string that are not well-formed UTF-8.
        case invalidUTF8
        /// An unescaped control character (below 0x20) in a string.
        case controlCharacterInString
        /// A number literal that does not follow the JSON grammar.
        case invalidNumber
        /// Arrays and objects nested deeper than ``JSONParser/maximumDepth``.
        case tooDeep
        /// Non-whitespace bytes after the top-level value.
        case trailingGarbage
        /// Keeping what was asked for would take more than the reader's budget (see
        /// ``JSONReader/budget``): the text is valid as far as it was read, but too costly.
        case budgetExceeded
    }

    public var reason: Reason
    /// Byte offset in the input where the problem was found.
    public var offset: Int

    @inlinable
    public init(_ reason: Reason, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String { "invalid JSON at byte \(self.offset): \(self.reason)" }
}

/// Builds a ``JSONValue`` tree from one JSON text, with ``JSONReader`` (same grammar, same
/// errors, same limits).
///
/// Meant for small texts whose every member is wanted: lines of the item catalog file, tests.
/// Zabbix messages are not parsed into trees: ``ZabbixConversation`` streams them and keeps only
/// the fields it uses. Every node and string a tree holds is charged to ``budget``.
public struct JSONParser: Sendable {
    /// Deepest nesting of arrays and objects accepted.
    public var maximumDepth: Int
    /// Bytes the tree may take (nodes, members and strings); larger trees fail with
    /// ``JSONParseError/Reason/budgetExceeded``.
    public var budget: Int

    /// Creates a parser; Zabbix messages nest at most about 5 levels.
    public init(maximumDepth: Int = 64, budget: Int = .max) {
        self.maximumDepth = maximumDepth
        self.budget = budget
    }

    /// Parses one JSON text.
    public func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONParseError) -> JSONValue {
        var reader = JSONReader(bytes, maximumDepth: self.maximumDepth, budget: self.budget)
        let value = try Self.value(&reader)
        try reader.finish()
        return value
    }

    /// Parses the readable bytes of `buffer`.
    public func parse(_ buffer: ByteBuffer) throws(JSONParseError) -> JSONValue {
        let result: Result<JSONValue, JSONParseError> = buffer.withUnsafeReadableBytes { bytes in
            do throws(JSONParseError) {
                return .success(try self.parse(bytes))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Parses `bytes`.
    public func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        let result: Result<JSONValue, JSONParseError> = bytes.withUnsafeBytes { raw in
            do throws(JSONParseError) {
                return .success(try self.parse(raw))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Parses the UTF-8 of `text`.
    public func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try self.parse(Array(text.utf8))
    }

    /// The value at the reader, as a tree.
    static func value(_ reader: inout JSONReader) throws(JSONParseError) -> JSONValue {
        switch try reader.peekKind() {
        case .object:
            try reader.beginObject()
            var members: [JSONObject.Member] = []
            while let name = try reader.nextName() {
                try reader.charge(MemoryLayout<JSONObject.Member>.stride)
                let key = try reader.string(name)
                members.append(JSONObject.Member(key: key, value: try self.value(&reader)))
            }
            return .object(JSONObject(members))
        case .array:
            try reader.beginArray()
            var elements: [JSONValue] = []
            while try reader.nextElement() {
                try reader.charge(MemoryLayout<JSONValue>.stride)
                elements.append(try self.value(&reader))
            }
            return .array(elements)
        case .string, .number, .bool, .null:
            switch try reader.readScalar() {
            case .string(let token): return .string(try reader.string(token))
            case .number(let number):
                let text = try reader.text(.number(number)) ?? ""
                return .number(JSONNumber(text: text, magnitude: number.magnitude, isNegative: number.isNegative))
            case .bool(let value): return .bool(value)
            case .null, .container: return .null
            }
        }
    }
}

import NIOCore

/// Why a JSON text was rejected, and where.
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kinds of problems ``JSONParser`` reports.
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

/// A strict RFC 8259 JSON parser over raw bytes, built for the side pipeline's throughput.
///
/// * Strings are validated as UTF-8; all escapes are decoded, surrogate pairs included; unpaired
///   surrogates are errors.
/// * Numbers keep their literal text (``JSONNumber``), so `18446744073709551615` survives.
/// * Leading and trailing whitespace (space, tab, `\r`, `\n`) is skipped, as Zabbix trims it;
///   anything else after the value is ``JSONParseError/Reason/trailingGarbage``.
/// * Nesting is limited by ``maximumDepth`` so hostile input cannot exhaust the stack.
public struct JSONParser: Sendable {
    /// Deepest nesting of arrays and objects accepted.
    public var maximumDepth: Int

    /// Creates a parser; Zabbix messages nest at most about 5 levels.
    public init(maximumDepth: Int = 64) {
        self.maximumDepth = maximumDepth
    }

    /// Parses one JSON text.
    public func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONParseError) -> JSONValue {
        var reader = Reader(bytes: bytes, maximumDepth: self.maximumDepth)
        reader.skipWhitespace()
        let value = try reader.parseValue(depth: 0)
        reader.skipWhitespace()
        guard reader.index == bytes.count else {
            throw JSONParseError(.trailingGarbage, at: reader.index)
        }
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
}

extension JSONParser {
    fileprivate struct Reader {
        let bytes: UnsafeRawBufferPointer
        let maximumDepth: Int
        var index = 0
        /// Reused for strings with escapes.
        var scratch: [UInt8] = []

        init(bytes: UnsafeRawBufferPointer, maximumDepth: Int) {
            self.bytes = bytes
            self.maximumDepth = maximumDepth
        }

        @inline(__always)
        func peek() -> UInt8? {
            self.index < self.bytes.count ? self.bytes[self.index] : nil
        }

        @inline(__always)
        mutating func skipWhitespace() {
            while self.index < self.bytes.count {
                switch self.bytes[self.index] {
                case 0x20, 0x09, 0x0A, 0x0D: self.index += 1
                default: return
                }
            }
        }

        func error(_ reason: JSONParseError.Reason) -> JSONParseError {
            JSONParseError(reason, at: self.index)
        }

        func unexpected() -> JSONParseError {
            if let byte = self.peek() { return self.error(.unexpectedByte(byte)) }
            return self.error(.unexpectedEnd)
        }

        mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
            guard let byte = self.peek() else { throw self.error(.unexpectedEnd) }
            switch byte {
            case UInt8(ascii: "{"): return try self.parseObject(depth: depth + 1)
            case UInt8(ascii: "["): return try self.parseArray(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try self.parseString())
            case UInt8(ascii: "t"): try self.expectLiteral("true"); return .bool(true)
            case UInt8(ascii: "f"): try self.expectLiteral("false"); return .bool(false)
            case UInt8(ascii: "n"): try self.expectLiteral("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try self.parseNumber())
            default: throw self.error(.unexpectedByte(byte))
            }
        }

        mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
            let count = literal.utf8CodeUnitCount
            let start = literal.utf8Start
            for offset in 0..<count {
                guard self.peek() == start[offset] else { throw self.unexpected() }
                self.index += 1
            }
        }

        mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
            guard depth <= self.maximumDepth else { throw self.error(.tooDeep) }
            self.index += 1  // {
            var members: [JSONObject.Member] = []
            self.skipWhitespace()
            if self.peek() != UInt8(ascii: "}") {
                // Zabbix objects have a handful of members: one allocation instead of 3-4 regrowths.
                members.reserveCapacity(8)
            }
            if self.peek() == UInt8(ascii: "}") {
                self.index += 1
                return .object(JSONObject(members))
            }
            while true {
                guard self.peek() == UInt8(ascii: "\"") else { throw self.unexpected() }
                let key = try self.parseString()
                self.skipWhitespace()
                guard self.peek() == UInt8(ascii: ":") else { throw self.unexpected() }
                self.index += 1
                self.skipWhitespace()
                let value = try self.parseValue(depth: depth)
                members.append(JSONObject.Member(key: key, value: value))
                self.skipWhitespace()
                switch self.peek() {
                case UInt8(ascii: ","):
                    self.index += 1
                    self.skipWhitespace()
                case UInt8(ascii: "}"):
                    self.index += 1
                    return .object(JSONObject(members))
                default:
                    throw self.unexpected()
                }
            }
        }

        mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
            guard depth <= self.maximumDepth else { throw self.error(.tooDeep) }
            self.index += 1  // [
            var elements: [JSONValue] = []
            self.skipWhitespace()
            if self.peek() == UInt8(ascii: "]") {
                self.index += 1
                return .array(elements)
            }
            while true {
                elements.append(try self.parseValue(depth: depth))
                self.skipWhitespace()
                switch self.peek() {
                case UInt8(ascii: ","):
                    self.index += 1
                    self.skipWhitespace()
                case UInt8(ascii: "]"):
                    self.index += 1
                    return .array(elements)
                default:
                    throw self.unexpected()
                }
            }
        }

        mutating func parseNumber() throws(JSONParseError) -> JSONNumber {
            let start = self.index
            let negative = self.peek() == UInt8(ascii: "-")
            if negative { self.index += 1 }
            // Integer part: 0 or [1-9][0-9]*, accumulated on the way when it fits 64 bits.
            var magnitude: UInt64 = 0
            var overflow = false
            switch self.peek() ?? 0 {
            case UInt8(ascii: "0"):
                self.index += 1
            case UInt8(ascii: "1")...UInt8(ascii: "9"):
                while let byte = self.peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                    let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
                    let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte &- UInt8(ascii: "0")))
                    overflow = overflow || overflow1 || overflow2
                    magnitude = sum
                    self.index += 1
                }
            default:
                throw self.error(.invalidNumber)
            }
            var isInteger = true
            if self.peek() == UInt8(ascii: ".") {
                isInteger = false
                self.index += 1
                guard self.skipDigits() else { throw self.error(.invalidNumber) }
            }
            if self.peek() == UInt8(ascii: "e") || self.peek() == UInt8(ascii: "E") {
                isInteger = false
                self.index += 1
                if self.peek() == UInt8(ascii: "+") || self.peek() == UInt8(ascii: "-") { self.index += 1 }
                guard self.skipDigits() else { throw self.error(.invalidNumber) }
            }
            // A digit right after a leading zero ("01") is not JSON.
            if let next = self.peek(), next >= UInt8(ascii: "0"), next <= UInt8(ascii: "9") {
                throw self.error(.invalidNumber)
            }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: self.bytes[start..<self.index]), as: UTF8.self)
            return JSONNumber(text: text, magnitude: isInteger && !overflow ? magnitude : nil, isNegative: negative)
        }

        /// Skips `[0-9]*`; returns whether at least one digit was skipped.
        @discardableResult
        mutating func skipDigits() -> Bool {
            let start = self.index
            while let byte = self.peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                self.index += 1
            }
            return self.index > start
        }

        mutating func parseString() throws(JSONParseError) -> String {
            self.index += 1  // opening quote
            let start = self.index
            var escaped = false
            self.scratch.removeAll(keepingCapacity: true)
            var runStart = start  // first byte not yet copied to scratch (escaped strings only)
            while self.index < self.bytes.count {
                let byte = self.bytes[self.index]
                switch byte {
                case UInt8(ascii: "\""):
                    let end = self.index
                    self.index += 1
                    if !escaped {
                        return String(decoding: UnsafeRawBufferPointer(rebasing: self.bytes[start..<end]), as: UTF8.self)
                    }
                    self.scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: self.bytes[runStart..<end]))
                    return String(decoding: self.scratch, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    escaped = true
                    self.scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: self.bytes[runStart..<self.index]))
                    try self.decodeEscape()
                    runStart = self.index
                case 0x00..<0x20:
                    throw self.error(.controlCharacterInString)
                case 0x20..<0x80:
                    self.index += 1
                default:
                    try self.skipUTF8Sequence(lead: byte)
                }
            }
            throw self.error(.unexpectedEnd)
        }

        /// Validates one multi-byte UTF-8 sequence (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF).
        @inline(__always)
        mutating func skipUTF8Sequence(lead: UInt8) throws(JSONParseError) {
            let continuation: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: continuation = 1
            case 0xE0: continuation = 2; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: continuation = 2
            case 0xED: continuation = 2; high = 0x9F
            case 0xF0: continuation = 3; low = 0x90
            case 0xF1...0xF3: continuation = 3
            case 0xF4: continuation = 3; high = 0x8F
            default: throw self.error(.invalidUTF8)
            }
            guard self.index + continuation < self.bytes.count else {
                // The closing quote is missing either way; report the UTF-8 problem if there is one.
                throw self.error(self.index + continuation == self.bytes.count ? .unexpectedEnd : .invalidUTF8)
            }
            let second = self.bytes[self.index + 1]
            guard second >= low, second <= high else { throw self.error(.invalidUTF8) }
            if continuation >= 2 {
                for offset in 2...continuation {
                    guard self.bytes[self.index + offset] & 0xC0 == 0x80 else { throw self.error(.invalidUTF8) }
                }
            }
            self.index += continuation + 1
        }

        /// Decodes the escape at `index` (a backslash) into `scratch`.
        mutating func decodeEscape() throws(JSONParseError) {
            self.index += 1
            guard let byte = self.peek() else { throw self.error(.unexpectedEnd) }
            self.index += 1
            switch byte {
            case UInt8(ascii: "\""): self.scratch.append(0x22)
            case UInt8(ascii: "\\"): self.scratch.append(0x5C)
            case UInt8(ascii: "/"): self.scratch.append(0x2F)
            case UInt8(ascii: "b"): self.scratch.append(0x08)
            case UInt8(ascii: "f"): self.scratch.append(0x0C)
            case UInt8(ascii: "n"): self.scratch.append(0x0A)
            case UInt8(ascii: "r"): self.scratch.append(0x0D)
            case UInt8(ascii: "t"): self.scratch.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = UInt32(try self.readHex4())
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    guard self.index + 1 < self.bytes.count,
                        self.bytes[self.index] == UInt8(ascii: "\\"),
                        self.bytes[self.index + 1] == UInt8(ascii: "u")
                    else { throw self.error(.invalidUnicodeEscape) }
                    self.index += 2
                    let low = UInt32(try self.readHex4())
                    guard low >= 0xDC00 && low <= 0xDFFF else { throw self.error(.invalidUnicodeEscape) }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                    throw self.error(.invalidUnicodeEscape)
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw self.error(.invalidUnicodeEscape) }
                self.scratch.append(contentsOf: unicode.utf8)
            default:
                self.index -= 1
                throw self.error(.invalidEscape)
            }
        }

        mutating func readHex4() throws(JSONParseError) -> UInt16 {
            guard self.index + 4 <= self.bytes.count else { throw self.error(.invalidUnicodeEscape) }
            var value: UInt16 = 0
            for _ in 0..<4 {
                let byte = self.bytes[self.index]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw self.error(.invalidUnicodeEscape)
                }
                value = value << 4 | UInt16(digit)
                self.index += 1
            }
            return value
        }
    }
}

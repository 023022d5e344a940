/// A strict RFC 8259 JSON reader that pulls one token at a time out of bytes in memory, so that a
/// caller keeps only what it asks for and everything else is validated and passed over without
/// being built.
///
/// This is the only JSON tokenizer of the module: ``JSONParser`` builds its trees with it, the
/// message decoders (``ZabbixConversation``) stream rows with it.
///
/// * Strings are validated as UTF-8 while they are scanned; escapes are checked then and decoded
///   only when a string is materialized (``string(_:)``); unpaired surrogates are errors.
/// * Numbers are checked against the grammar; integers below 2^64 are accumulated on the way.
/// * Leading and trailing whitespace is skipped, as Zabbix trims it; anything after the value is
///   ``JSONParseError/Reason/trailingGarbage`` (see ``finish()``).
/// * Nesting is limited by ``maximumDepth``; nothing recurses deeper than that.
/// * Every materialized string and whatever the caller charges (``charge(_:)``) is taken from a
///   ``budget`` of bytes; going over it fails with ``JSONParseError/Reason/budgetExceeded``, so
///   what one text can make a reader keep is bounded whatever its shape.
///
/// Reading an object: ``beginObject()``, then ``nextName()`` until it returns `nil`, reading or
/// skipping each member's value in between. Arrays: ``beginArray()``, then ``nextElement()``
/// until `false`. Any value can be passed over with ``skipValue()``.
public struct JSONReader {
    /// A string token: the raw bytes between the quotes, already validated.
    public struct StringToken: Sendable, Hashable {
        /// Offset of the first byte after the opening quote.
        public let start: Int
        /// Offset of the closing quote.
        public let end: Int
        /// Whether the raw bytes hold a backslash escape (then they differ from the text).
        public let hasEscapes: Bool

        /// Raw length in bytes: an upper bound of the decoded UTF-8 length (escapes only shrink).
        @inlinable public var rawCount: Int { self.end - self.start }
    }

    /// A number token: its literal's range and, for integers below 2^64, the magnitude.
    public struct NumberToken: Sendable, Hashable {
        public let start: Int
        public let end: Int
        /// The absolute value when the literal is an integer (no fraction or exponent) below 2^64.
        public let magnitude: UInt64?
        public let isNegative: Bool

        /// The value as `UInt64` when the literal is a non-negative integer that fits.
        @inlinable public var uint64: UInt64? { self.isNegative ? nil : self.magnitude }

        /// The value as `Int64` when the literal is an integer that fits.
        @inlinable public var int64: Int64? { JSONNumber.signed(self.magnitude, negative: self.isNegative) }
    }

    /// A scalar value as read by ``readScalar()``; containers are passed over.
    public enum Scalar: Sendable, Hashable {
        case string(StringToken)
        case number(NumberToken)
        case bool(Bool)
        case null
        /// An array or object, skipped (validated, nothing kept).
        case container
    }

    /// The kind of the next value, from its first byte.
    public enum Kind: Sendable, Hashable {
        case object, array, string, number, bool, null
    }

    public let bytes: UnsafeRawBufferPointer
    /// Deepest nesting of arrays and objects accepted.
    public let maximumDepth: Int
    /// Offset of the next byte to read.
    public private(set) var index: Int
    /// Containers currently open.
    public private(set) var depth = 0
    /// Bytes that materialized strings and ``charge(_:)`` may still take.
    public private(set) var budget: Int
    /// A container was just opened: the next token is its first member/element or its end.
    private var atContainerStart = false
    /// Reused to decode strings with escapes.
    private var scratch: [UInt8] = []

    /// A reader positioned at the first value of `bytes` (leading whitespace skipped).
    public init(_ bytes: UnsafeRawBufferPointer, maximumDepth: Int = 64, budget: Int = .max) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
        self.budget = budget
        self.index = 0
        self.skipWhitespace()
    }

    /// A reader over the same bytes positioned at `offset` (a value's first byte, as recorded by
    /// ``index`` before reading it), at nesting `depth`, sharing nothing but the bytes; used to
    /// come back to a value passed over earlier.
    public func rewound(to offset: Int, depth: Int, budget: Int) -> JSONReader {
        var reader = JSONReader(self.bytes, maximumDepth: self.maximumDepth, budget: budget)
        reader.index = offset
        reader.depth = depth
        return reader
    }

    // MARK: - Errors

    @inline(__always)
    func error(_ reason: JSONParseError.Reason) -> JSONParseError {
        JSONParseError(reason, at: self.index)
    }

    @inline(__always)
    func unexpected() -> JSONParseError {
        self.index < self.bytes.count ? self.error(.unexpectedByte(self.bytes[self.index])) : self.error(.unexpectedEnd)
    }

    // MARK: - Budget

    /// Takes `bytes` from the budget: callers charge what they keep besides strings (the structs
    /// a row becomes, array slots).
    @inline(__always)
    public mutating func charge(_ bytes: Int) throws(JSONParseError) {
        guard bytes <= self.budget else { throw self.error(.budgetExceeded) }
        self.budget -= bytes
    }

    // MARK: - Structure

    @inline(__always)
    mutating func skipWhitespace() {
        while self.index < self.bytes.count {
            switch self.bytes[self.index] {
            case 0x20, 0x09, 0x0A, 0x0D: self.index += 1
            default: return
            }
        }
    }

    /// The kind of the next value; throws on a byte that cannot start one.
    public func peekKind() throws(JSONParseError) -> Kind {
        guard self.index < self.bytes.count else { throw self.error(.unexpectedEnd) }
        let byte = self.bytes[self.index]
        switch byte {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        default: throw self.error(.unexpectedByte(byte))
        }
    }

    /// Consumes `{`.
    public mutating func beginObject() throws(JSONParseError) {
        guard self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "{") else {
            throw self.unexpected()
        }
        try self.open()
    }

    /// Consumes `[`.
    public mutating func beginArray() throws(JSONParseError) {
        guard self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "[") else {
            throw self.unexpected()
        }
        try self.open()
    }

    @inline(__always)
    private mutating func open() throws(JSONParseError) {
        guard self.depth < self.maximumDepth else { throw self.error(.tooDeep) }
        self.depth += 1
        self.index += 1
        self.skipWhitespace()
        self.atContainerStart = true
    }

    /// The next member's name, with its `:` consumed (the reader is then at the member's value);
    /// `nil` once the object's `}` is consumed.
    public mutating func nextName() throws(JSONParseError) -> StringToken? {
        guard self.index < self.bytes.count else { throw self.error(.unexpectedEnd) }
        var byte = self.bytes[self.index]
        if self.atContainerStart {
            self.atContainerStart = false
            if byte == UInt8(ascii: "}") { return self.close() }
        } else {
            switch byte {
            case UInt8(ascii: ","):
                self.index += 1
                self.skipWhitespace()
                guard self.index < self.bytes.count else { throw self.error(.unexpectedEnd) }
                byte = self.bytes[self.index]
            case UInt8(ascii: "}"):
                return self.close()
            default:
                throw self.error(.unexpectedByte(byte))
            }
        }
        guard byte == UInt8(ascii: "\"") else { throw self.error(.unexpectedByte(byte)) }
        let name = try self.scanString()
        self.skipWhitespace()
        guard self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: ":") else {
            throw self.unexpected()
        }
        self.index += 1
        self.skipWhitespace()
        return name
    }

    /// Whether another element follows (the reader is then at it); `false` once the array's `]`
    /// is consumed.
    public mutating func nextElement() throws(JSONParseError) -> Bool {
        guard self.index < self.bytes.count else { throw self.error(.unexpectedEnd) }
        let byte = self.bytes[self.index]
        if self.atContainerStart {
            self.atContainerStart = false
            if byte == UInt8(ascii: "]") {
                _ = self.close()
                return false
            }
            return true
        }
        switch byte {
        case UInt8(ascii: ","):
            self.index += 1
            self.skipWhitespace()
            return true
        case UInt8(ascii: "]"):
            _ = self.close()
            return false
        default:
            throw self.error(.unexpectedByte(byte))
        }
    }

    @inline(__always)
    private mutating func close() -> StringToken? {
        self.index += 1
        self.depth -= 1
        self.skipWhitespace()
        return nil
    }

    /// Checks that only whitespace follows the value read.
    public func finish() throws(JSONParseError) {
        guard self.index == self.bytes.count else { throw self.error(.trailingGarbage) }
    }

    // MARK: - Values

    /// Reads a scalar; an array or object is passed over (validated) and reported as
    /// ``Scalar/container``.
    public mutating func readScalar() throws(JSONParseError) -> Scalar {
        guard self.index < self.bytes.count else { throw self.error(.unexpectedEnd) }
        let scalar: Scalar
        switch self.bytes[self.index] {
        case UInt8(ascii: "\""): scalar = .string(try self.scanString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): scalar = .number(try self.scanNumber())
        case UInt8(ascii: "t"):
            try self.expectLiteral("true")
            scalar = .bool(true)
        case UInt8(ascii: "f"):
            try self.expectLiteral("false")
            scalar = .bool(false)
        case UInt8(ascii: "n"):
            try self.expectLiteral("null")
            scalar = .null
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            try self.skipValue()
            return .container
        case let byte: throw self.error(.unexpectedByte(byte))
        }
        self.skipWhitespace()
        return scalar
    }

    /// Passes over one value of any kind, validating it and keeping nothing.
    public mutating func skipValue() throws(JSONParseError) {
        guard self.index < self.bytes.count else { throw self.error(.unexpectedEnd) }
        switch self.bytes[self.index] {
        case UInt8(ascii: "{"):
            try self.beginObject()
            while try self.nextName() != nil { try self.skipValue() }
        case UInt8(ascii: "["):
            try self.beginArray()
            while try self.nextElement() { try self.skipValue() }
        default:
            _ = try self.readScalar()
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let start = literal.utf8Start
        for offset in 0..<literal.utf8CodeUnitCount {
            guard self.index < self.bytes.count, self.bytes[self.index] == start[offset] else {
                throw self.unexpected()
            }
            self.index += 1
        }
    }

    // MARK: - Numbers

    private mutating func scanNumber() throws(JSONParseError) -> NumberToken {
        let start = self.index
        let negative = self.bytes[self.index] == UInt8(ascii: "-")
        if negative { self.index += 1 }
        // Integer part: 0 or [1-9][0-9]*, accumulated on the way when it fits 64 bits.
        var magnitude: UInt64 = 0
        var overflow = false
        let first = self.index < self.bytes.count ? self.bytes[self.index] : 0
        switch first {
        case UInt8(ascii: "0"):
            self.index += 1
        case UInt8(ascii: "1")...UInt8(ascii: "9"):
            while self.index < self.bytes.count {
                let digit = self.bytes[self.index] &- UInt8(ascii: "0")
                guard digit < 10 else { break }
                let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
                overflow = overflow || overflow1 || overflow2
                magnitude = sum
                self.index += 1
            }
        default:
            throw self.error(.invalidNumber)
        }
        var isInteger = true
        if self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: ".") {
            isInteger = false
            self.index += 1
            guard self.skipDigits() else { throw self.error(.invalidNumber) }
        }
        if self.index < self.bytes.count, self.bytes[self.index] | 0x20 == UInt8(ascii: "e") {
            isInteger = false
            self.index += 1
            if self.index < self.bytes.count,
                self.bytes[self.index] == UInt8(ascii: "+") || self.bytes[self.index] == UInt8(ascii: "-")
            {
                self.index += 1
            }
            guard self.skipDigits() else { throw self.error(.invalidNumber) }
        }
        // A digit right after a leading zero ("01") is not JSON.
        if self.index < self.bytes.count, self.bytes[self.index] &- UInt8(ascii: "0") < 10 {
            throw self.error(.invalidNumber)
        }
        return NumberToken(
            start: start,
            end: self.index,
            magnitude: isInteger && !overflow ? magnitude : nil,
            isNegative: negative
        )
    }

    /// Skips `[0-9]*`; returns whether at least one digit was skipped.
    private mutating func skipDigits() -> Bool {
        let start = self.index
        while self.index < self.bytes.count, self.bytes[self.index] &- UInt8(ascii: "0") < 10 {
            self.index += 1
        }
        return self.index > start
    }

    // MARK: - Strings

    /// Scans the string at `index` (its opening quote), validating UTF-8 and escapes.
    private mutating func scanString() throws(JSONParseError) -> StringToken {
        self.index += 1  // opening quote
        let start = self.index
        var escaped = false
        let count = self.bytes.count
        let bytes = self.bytes
        while self.index < count {
            // The run of plain characters (printable ASCII but quote and backslash), with the
            // position in a local: most of a Zabbix payload's text is such runs.
            var plain = self.index
            // Eight bytes at a time while a whole word is plain (the byte loop below finds where
            // a word that is not stops, and decides).
            while plain &+ 8 <= count,
                !Self.holdsNonPlainByte(bytes.loadUnaligned(fromByteOffset: plain, as: UInt64.self))
            {
                plain &+= 8
            }
            while plain < count {
                let byte = bytes[plain]
                guard byte >= 0x20, byte < 0x80, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") else { break }
                plain += 1
            }
            self.index = plain
            guard plain < count else { break }
            let byte = bytes[plain]
            if byte >= 0x20 && byte < 0x80 {
                if byte == UInt8(ascii: "\"") {
                    let end = self.index
                    self.index += 1
                    return StringToken(start: start, end: end, hasEscapes: escaped)
                }
                if byte == UInt8(ascii: "\\") {
                    escaped = true
                    try self.checkEscape()
                } else {
                    self.index += 1
                }
            } else if byte < 0x20 {
                throw self.error(.controlCharacterInString)
            } else {
                try self.skipUTF8Sequence(lead: byte)
            }
        }
        throw self.error(.unexpectedEnd)
    }

    /// Whether any of the eight bytes of `word` is not plain string text: a control character
    /// (< 0x20), a non-ASCII byte (≥ 0x80), a quote or a backslash. Exact about whether there is
    /// one (no false negatives), by the classic SWAR tests ("has less than", "has zero byte").
    @inline(__always)
    static func holdsNonPlainByte(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let control = (word &- ones &* 0x20) & ~word & highs
        let quote = word ^ (ones &* UInt64(UInt8(ascii: "\"")))
        let backslash = word ^ (ones &* UInt64(UInt8(ascii: "\\")))
        let quoteOrBackslash = ((quote &- ones) & ~quote | (backslash &- ones) & ~backslash) & highs
        return (word & highs) | control | quoteOrBackslash != 0
    }

    /// Validates one multi-byte UTF-8 sequence (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF).
    @inline(__always)
    private mutating func skipUTF8Sequence(lead: UInt8) throws(JSONParseError) {
        let continuation: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: continuation = 1
        case 0xE0:
            continuation = 2
            low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: continuation = 2
        case 0xED:
            continuation = 2
            high = 0x9F
        case 0xF0:
            continuation = 3
            low = 0x90
        case 0xF1...0xF3: continuation = 3
        case 0xF4:
            continuation = 3
            high = 0x8F
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

    /// Validates the escape at `index` (a backslash) and moves past it.
    private mutating func checkEscape() throws(JSONParseError) {
        self.index += 1
        guard self.index < self.bytes.count else { throw self.error(.unexpectedEnd) }
        let byte = self.bytes[self.index]
        self.index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return
        case UInt8(ascii: "u"):
            _ = try self.readUnicodeEscape()
        default:
            self.index -= 1
            throw self.error(.invalidEscape)
        }
    }

    /// Reads the four hex digits after `\u` (and a following low surrogate) into a scalar.
    private mutating func readUnicodeEscape() throws(JSONParseError) -> Unicode.Scalar {
        var index = self.index
        let scalar = Self.unicodeEscape(self.bytes, at: &index)
        self.index = index
        guard let scalar else { throw self.error(.invalidUnicodeEscape) }
        return scalar
    }

    /// The scalar of the escape whose hex digits start at `index` (a high surrogate takes the
    /// `\uDCxx` after it too); `index` ends after what was read, at the problem when `nil`.
    private static func unicodeEscape(_ bytes: UnsafeRawBufferPointer, at index: inout Int) -> Unicode.Scalar? {
        guard var scalar = self.hex4(bytes, at: &index).map(UInt32.init) else { return nil }
        if scalar >= 0xD800 && scalar <= 0xDBFF {
            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
            else { return nil }
            index += 2
            guard let low = self.hex4(bytes, at: &index).map(UInt32.init), low >= 0xDC00 && low <= 0xDFFF else {
                return nil
            }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
            return nil
        }
        return Unicode.Scalar(scalar)
    }

    private static func hex4(_ bytes: UnsafeRawBufferPointer, at index: inout Int) -> UInt16? {
        guard index + 4 <= bytes.count else { return nil }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }

    // MARK: - Materializing

    /// The raw bytes of a token (between the quotes, or the number literal).
    @inline(__always)
    public func raw(_ start: Int, _ end: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: self.bytes[start..<end])
    }

    /// The text of a string token, escapes decoded; charged to the budget.
    public mutating func string(_ token: StringToken) throws(JSONParseError) -> String {
        try self.charge(Self.cost(ofStringBytes: token.rawCount))
        guard token.hasEscapes else {
            return String(decoding: self.raw(token.start, token.end), as: UTF8.self)
        }
        self.decodeEscapes(token)
        return String(decoding: self.scratch, as: UTF8.self)
    }

    /// The text of a string token when it has at most `maximumCharacters` Unicode scalars, else
    /// `nil` without building it (so a key of many MiB costs nothing).
    public mutating func string(_ token: StringToken, maximumCharacters: Int) throws(JSONParseError) -> String? {
        // A scalar takes at most 12 raw bytes (a surrogate pair escape) and at least one.
        if token.rawCount > 12 * maximumCharacters { return nil }
        if token.rawCount > maximumCharacters, Self.scalarCount(of: token, in: self) > maximumCharacters { return nil }
        return try self.string(token)
    }

    /// Unicode scalars in a (validated) string token.
    private static func scalarCount(of token: StringToken, in reader: JSONReader) -> Int {
        let bytes = reader.bytes
        var count = 0
        var index = token.start
        while index < token.end {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\") {
                if bytes[index + 1] == UInt8(ascii: "u") {
                    // A high surrogate (\uD800-\uDBFF) is followed by its low one: one scalar.
                    let digit = bytes[index + 3] | 0x20
                    let high =
                        bytes[index + 2] | 0x20 == UInt8(ascii: "d")
                        && (digit == UInt8(ascii: "8") || digit == UInt8(ascii: "9") || digit == UInt8(ascii: "a")
                            || digit == UInt8(ascii: "b"))
                    index += high ? 12 : 6
                } else {
                    index += 2
                }
                count += 1
            } else {
                if byte & 0xC0 != 0x80 { count += 1 }
                index += 1
            }
        }
        return count
    }

    /// A scalar as text, read the way Zabbix reads any JSON scalar as text: a string's contents,
    /// a number's literal, `true`/`false`. `nil` for `null` and containers. Charged to the budget.
    public mutating func text(_ scalar: Scalar) throws(JSONParseError) -> String? {
        switch scalar {
        case .string(let token): return try self.string(token)
        case .number(let number):
            try self.charge(Self.cost(ofStringBytes: number.end - number.start))
            return String(decoding: self.raw(number.start, number.end), as: UTF8.self)
        case .bool(let value): return value ? "true" : "false"
        case .null, .container: return nil
        }
    }

    /// ``text(_:)`` limited to `maximumCharacters` Unicode scalars: longer text gives `nil`.
    public mutating func text(_ scalar: Scalar, maximumCharacters: Int) throws(JSONParseError) -> String? {
        if case .string(let token) = scalar { return try self.string(token, maximumCharacters: maximumCharacters) }
        return try self.text(scalar)
    }

    /// An unsigned integer from a number or a string holding only digits (Zabbix accepts both).
    public mutating func uint64(_ scalar: Scalar) -> UInt64? {
        switch scalar {
        case .number(let number): return number.uint64
        case .string(let token):
            guard let (magnitude, negative) = self.integerText(token) else { return nil }
            return negative ? nil : magnitude
        default: return nil
        }
    }

    /// A signed integer from a number or a string holding one (Zabbix accepts both).
    public mutating func int64(_ scalar: Scalar) -> Int64? {
        switch scalar {
        case .number(let number): return number.int64
        case .string(let token):
            guard let (magnitude, negative) = self.integerText(token) else { return nil }
            return JSONNumber.signed(magnitude, negative: negative)
        default: return nil
        }
    }

    /// `-?[0-9]{1,20}` below 2^64 in a string token.
    private mutating func integerText(_ token: StringToken) -> (UInt64, Bool)? {
        if token.hasEscapes {
            self.decodeEscapes(token)
            return self.scratch.withUnsafeBytes { JSONNumber.parseSignedInteger($0) }
        }
        return JSONNumber.parseSignedInteger(self.raw(token.start, token.end))
    }

    /// Whether a name token spells `literal` (compared after decoding escapes).
    @inline(__always)
    public mutating func name(_ token: StringToken, is literal: StaticString) -> Bool {
        guard token.hasEscapes else {
            return token.rawCount == literal.utf8CodeUnitCount
                && Self.equal(self.raw(token.start, token.end), literal)
        }
        self.decodeEscapes(token)
        return self.scratch.withUnsafeBytes { Self.equal($0, literal) }
    }

    /// Calls `body` with a name's bytes, escapes decoded (a view of the input when it has none).
    @inline(__always)
    public mutating func withName<R>(_ token: StringToken, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        guard token.hasEscapes else { return body(self.raw(token.start, token.end)) }
        self.decodeEscapes(token)
        return self.scratch.withUnsafeBytes(body)
    }

    @inline(__always)
    static func equal(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        guard let base = bytes.baseAddress else { return true }
        return memcmp(base, literal.utf8Start, bytes.count) == 0
    }

    @inline(__always)
    static func equal(_ bytes: UnsafeRawBufferPointer, _ other: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count == other.count else { return false }
        guard let base = bytes.baseAddress, let otherBase = other.baseAddress else { return true }
        return memcmp(base, otherBase, bytes.count) == 0
    }

    /// Decodes a validated string token with escapes into `scratch`.
    private mutating func decodeEscapes(_ token: StringToken) {
        self.scratch.removeAll(keepingCapacity: true)
        var runStart = token.start
        var index = token.start
        while index < token.end {
            guard self.bytes[index] == UInt8(ascii: "\\") else {
                index += 1
                continue
            }
            self.scratch.append(contentsOf: self.raw(runStart, index))
            let kind = self.bytes[index + 1]
            index += 2
            switch kind {
            case UInt8(ascii: "b"): self.scratch.append(0x08)
            case UInt8(ascii: "f"): self.scratch.append(0x0C)
            case UInt8(ascii: "n"): self.scratch.append(0x0A)
            case UInt8(ascii: "r"): self.scratch.append(0x0D)
            case UInt8(ascii: "t"): self.scratch.append(0x09)
            case UInt8(ascii: "u"):
                // Validated when scanned: cannot fail here.
                let scalar = Self.unicodeEscape(self.bytes, at: &index) ?? "\u{FFFD}"
                self.scratch.append(contentsOf: scalar.utf8)
            default: self.scratch.append(kind)  // " \ /
            }
            runStart = index
        }
        self.scratch.append(contentsOf: self.raw(runStart, token.end))
    }

    /// What keeping a string of `count` UTF-8 bytes costs: Swift keeps up to 15 inline.
    @inline(__always)
    static func cost(ofStringBytes count: Int) -> Int { count <= 15 ? 0 : count + 32 }
}

extension JSONReader.Scalar {
    /// Whether ``JSONReader/text(_:)`` gives text for it (so a `nil` from
    /// ``JSONReader/text(_:maximumCharacters:)`` means "too long").
    public var hasText: Bool {
        switch self {
        case .string, .number, .bool: return true
        case .null, .container: return false
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

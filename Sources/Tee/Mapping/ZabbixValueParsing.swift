/// How a Zabbix value string becomes a Riemann metric.
///
/// Zabbix carries every value as text. Integers become `metric_sint64`; an unsigned value above
/// Int64.max (Zabbix allows up to 18446744073709551615) becomes `metric_d` (rounded to the
/// nearest double, documented in the README); decimals become `metric_d`; anything else is text
/// and gets no metric at all — never a fake 0.
enum ZabbixValueParsing {
    enum Numeric: Equatable {
        case integer(Int64)
        case double(Double)
    }

    /// `valueType`: the Zabbix value type when known (0 float, 1 char, 2 log, 3 unsigned,
    /// 4 text, 5 binary); character/log/text/binary items are never numbers, whatever they look like.
    static func numeric(_ text: String, valueType: Int64?) -> Numeric? {
        if let valueType, valueType != 0, valueType != 3 { return nil }
        let utf8 = text.utf8
        guard let first = utf8.first, first != UInt8(ascii: " "), utf8.count <= 64 else { return nil }
        var digitsOnly = true
        var index = utf8.startIndex
        if first == UInt8(ascii: "-") || first == UInt8(ascii: "+") { index = utf8.index(after: index) }
        if index == utf8.endIndex { return nil }
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte < UInt8(ascii: "0") || byte > UInt8(ascii: "9") {
                digitsOnly = false
                break
            }
            index = utf8.index(after: index)
        }
        if digitsOnly {
            if let value = Int64(text) { return .integer(value) }
            if let value = UInt64(text) { return .double(Double(value)) }
            return nil
        }
        // Decimals as Zabbix writes them ("0.322266", "-1.5e-3"); no "nan", "inf" or hex.
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"),
                UInt8(ascii: "+"), UInt8(ascii: "-"):
                continue
            default:
                return nil
            }
        }
        if let value = Self.shortDecimal(utf8) { return .double(value) }
        guard let value = Double(text), value.isFinite else { return nil }
        return .double(value)
    }

    /// `Double(text)` for the decimals Zabbix writes most (`0.322266`, `-12.5`): digits, a point,
    /// digits, no exponent, at most 15 significant digits; `nil` for anything else (then parsed
    /// by `Double(_:)`). Exact, not approximate: such a mantissa and a power of ten up to 10^22
    /// are both exact doubles, so their quotient, rounded once by the division, is the correctly
    /// rounded value `Double(_:)` gives (Clinger's fast path). No string parse, no C call.
    static func shortDecimal(_ utf8: String.UTF8View) -> Double? {
        utf8.withContiguousStorageIfAvailable { Self.shortDecimal(bytes: $0) } ?? nil
    }

    private static func shortDecimal(bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        guard let first = bytes.first else { return nil }
        let negative = first == UInt8(ascii: "-")
        var index = negative || first == UInt8(ascii: "+") ? 1 : 0
        var mantissa: UInt64 = 0
        var digits = 0
        var integerDigits = 0
        var fractionDigits = 0
        var sawPoint = false
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: ".") {
                guard !sawPoint else { return nil }
                sawPoint = true
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            digits += 1
            guard digits <= 15 else { return nil }
            mantissa = mantissa * 10 + UInt64(byte - UInt8(ascii: "0"))
            if sawPoint { fractionDigits += 1 } else { integerDigits += 1 }
        }
        guard sawPoint, integerDigits > 0, fractionDigits > 0 else { return nil }
        let magnitude = Double(mantissa) / Self.powersOfTen[fractionDigits]
        return negative ? -magnitude : magnitude
    }

    /// 10^0 through 10^15, each exact as a double.
    private static let powersOfTen: [Double] = (0...15).map { exponent in
        (0..<exponent).reduce(1.0) { product, _ in product * 10 }
    }

    /// `text` cut to at most `maximumBytes` bytes of UTF-8 without splitting a character (a
    /// Unicode scalar). O(1) when it fits, O(`maximumBytes`) at most otherwise.
    static func truncated(_ text: String, maximumBytes: Int) -> String {
        let utf8 = text.utf8
        guard utf8.count > maximumBytes else { return text }
        var end = utf8.index(utf8.startIndex, offsetBy: max(maximumBytes, 0))
        // Back to the first byte of the scalar that would be split (continuation bytes are 10xxxxxx).
        while end > utf8.startIndex, UTF8.isContinuation(utf8[end]) {
            end = utf8.index(before: end)
        }
        return String(decoding: utf8[..<end], as: UTF8.self)
    }

    /// `text` cut to at most `maximumCharacters` Unicode scalars, the characters Zabbix counts
    /// in a host name or an item key. O(1) when it has no more bytes than that, otherwise
    /// O(`maximumCharacters`): a many-MiB key costs no more than one of the allowed length.
    static func truncated(_ text: String, maximumCharacters: Int) -> String {
        guard text.utf8.count > maximumCharacters else { return text }  // never more scalars than bytes
        let scalars = text.unicodeScalars
        guard
            let end = scalars.index(
                scalars.startIndex,
                offsetBy: max(maximumCharacters, 0),
                limitedBy: scalars.endIndex
            )
        else { return text }
        return String(scalars[..<end])
    }
}

/// `{"request":"agent data",...}`: values of active checks, in either shape:
///
/// * host/key shape (agentd ≤ 6.4): every row carries `host` and `key`;
/// * itemid shape (agent 2, agentd 7.0+): a top-level ``host`` and an `itemid` per row.
public struct AgentData: Sendable, Hashable {
    /// Top-level host (itemid shape only).
    public var host: String?
    public var session: String?
    public var version: String?
    public var variant: Int64?
    /// The agent's transmit time (agentd adds it; Zabbix only logs the skew).
    public var clock: Int64?
    public var ns: Int64?
    public var rows: [ZabbixValueRow]

    public init(
        host: String? = nil,
        session: String? = nil,
        version: String? = nil,
        variant: Int64? = nil,
        clock: Int64? = nil,
        ns: Int64? = nil,
        rows: [ZabbixValueRow] = []
    ) {
        self.host = host
        self.session = session
        self.version = version
        self.variant = variant
        self.clock = clock
        self.ns = ns
        self.rows = rows
    }
}

/// `{"request":"sender data",...}`: trapper values from zabbix_sender and libraries; host and key
/// per row, optional clock/ns per row and at the top level.
public struct SenderData: Sendable, Hashable {
    public var clock: Int64?
    public var ns: Int64?
    public var rows: [ZabbixValueRow]

    public init(clock: Int64? = nil, ns: Int64? = nil, rows: [ZabbixValueRow] = []) {
        self.clock = clock
        self.ns = ns
        self.rows = rows
    }
}

/// `{"request":"active check heartbeat",...}` (6.2+); the server normally sends no reply, but a
/// 7.0+ server in a proxy group may answer with a ``ZabbixRedirect``.
public struct ActiveCheckHeartbeat: Sendable, Hashable {
    public var host: String?
    public var heartbeatFrequency: Int64?
    /// 7.0+ (the long version from agent 2, e.g. `7.4.3`; pre-releases carry `rc1`, `alpha2`...).
    public var version: String?
    /// 7.0+: 1 = agentd, 2 = agent 2.
    public var variant: Int64?

    public init(host: String? = nil, heartbeatFrequency: Int64? = nil, version: String? = nil, variant: Int64? = nil) {
        self.host = host
        self.heartbeatFrequency = heartbeatFrequency
        self.version = version
        self.variant = variant
    }
}

/// The statistics and flags of a trapper reply such as
/// `{"response":"success","info":"processed: 1; failed: 0; total: 1; seconds spent: 0.000050"}`.
public struct ServerResponse: Sendable, Hashable {
    /// `"success"` or `"failed"`; `nil` when absent.
    public var response: String?
    public var info: String?
    /// Parsed from `info` when it has the `processed: P; failed: F; total: T` form.
    public var processed: Int64?
    public var failed: Int64?
    public var total: Int64?
    /// `seconds spent: S` from `info`, as text.
    public var secondsSpent: String?
    /// `"enabled"`/`"disabled"` (proxy data replies; 7.0 paused collection).
    public var upload: String?
    /// 7.0: the client must reconnect elsewhere (proxy groups).
    public var redirect: ZabbixRedirect?
    /// `history.push` replies: one result per request row, in order (`nil` for other replies).
    public var rowResults: [HistoryPushRowResult]?

    public init(
        response: String? = nil,
        info: String? = nil,
        processed: Int64? = nil,
        failed: Int64? = nil,
        total: Int64? = nil,
        secondsSpent: String? = nil,
        upload: String? = nil,
        redirect: ZabbixRedirect? = nil,
        rowResults: [HistoryPushRowResult]? = nil
    ) {
        self.response = response
        self.info = info
        self.processed = processed
        self.failed = failed
        self.total = total
        self.secondsSpent = secondsSpent
        self.upload = upload
        self.redirect = redirect
        self.rowResults = rowResults
    }

    /// Whether `response` is `"success"`.
    public var isSuccess: Bool { self.response == "success" }
    /// 7.0: a `redirect` object was present (agent/sender must reconnect elsewhere).
    public var isRedirect: Bool { self.redirect != nil }

    /// A reply with `response`, `info` (its statistics parsed), `upload`, its `redirect` and, for
    /// a `history.push` reply, its per-row results.
    static func parsing(
        response: String?,
        info: String?,
        upload: String?,
        redirect: ZabbixRedirect?,
        rowResults: [HistoryPushRowResult]?
    ) -> ServerResponse {
        // Read first and built once: a reply filled in afterwards was copied field by field.
        let fields: Statistics = info.map(Self.statistics) ?? (nil, nil, nil, nil)
        return ServerResponse(
            response: response,
            info: info,
            processed: fields.processed,
            failed: fields.failed,
            total: fields.total,
            secondsSpent: fields.secondsSpent,
            upload: upload,
            redirect: redirect,
            rowResults: rowResults
        )
    }

    /// The fields of a reply's `info`.
    typealias Statistics = (processed: Int64?, failed: Int64?, total: Int64?, secondsSpent: String?)

    /// Splits `processed: 1; failed: 0; total: 1; seconds spent: 0.000050` into its fields.
    ///
    /// Every trapper reply has one, so this runs once per relayed upload: ASCII text (what Zabbix
    /// writes) is read as bytes, without substrings; anything else takes the `Character` path,
    /// whose answer the byte path gives for every ASCII text.
    static func statistics(_ info: String) -> Statistics {
        if let result = info.utf8.withContiguousStorageIfAvailable({
            Self.canonicalStatistics($0) ?? Self.asciiStatistics($0)
        }), let result {
            return result
        }
        return Self.characterStatistics(info)
    }

    /// The `Character` reading of ``statistics(_:)``.
    static func characterStatistics(_ info: String) -> Statistics {
        var result: Statistics = (nil, nil, nil, nil)
        for part in info.split(separator: ";") {
            guard let colon = part.firstIndex(of: ":") else { continue }
            let name = part[..<colon].trimmingSpaces()
            let value = part[part.index(after: colon)...].trimmingSpaces()
            switch name {
            case "processed": result.processed = Int64(value)
            case "failed": result.failed = Int64(value)
            case "total": result.total = Int64(value)
            case "seconds spent": result.secondsSpent = String(value)
            default: break
            }
        }
        return result
    }

    /// ``statistics(_:)`` over ASCII bytes; `nil` when `info` is not all ASCII.
    ///
    /// One pass over the bytes by index, each part's bounds kept as integers: a part's name and
    /// value are compared and read in place, without slices (their generic indexing cost more than
    /// the reading itself, once per upload).
    static func asciiStatistics(_ info: UnsafeBufferPointer<UInt8>) -> Statistics? {
        var result: Statistics = (nil, nil, nil, nil)
        let count = info.count
        var start = 0
        while start <= count {
            // One `name: value` part, between `start` and `end`; `colon` is its first colon.
            var end = start
            var colon = -1
            while end < count {
                let byte = info[end]
                if byte == UInt8(ascii: ";") { break }
                guard byte < 0x80 else { return nil }
                if byte == UInt8(ascii: ":"), colon < 0 { colon = end }
                end += 1
            }
            if colon >= 0 {
                let name = Self.trimmingSpaces(info, start, colon)
                let value = Self.trimmingSpaces(info, colon + 1, end)
                if Self.equals(info, name, "processed") {
                    result.processed = Self.integer(info, value)
                } else if Self.equals(info, name, "failed") {
                    result.failed = Self.integer(info, value)
                } else if Self.equals(info, name, "total") {
                    result.total = Self.integer(info, value)
                } else if Self.equals(info, name, "seconds spent") {
                    result.secondsSpent = String(
                        decoding: UnsafeBufferPointer(rebasing: info[value]),
                        as: UTF8.self
                    )
                }
            }
            start = end + 1
        }
        return result
    }

    /// ``asciiStatistics(_:)`` for the text Zabbix writes, `processed: P; failed: F; total: T;
    /// seconds spent: S`, read straight through; `nil` for any other text (the general reading then
    /// decides). The same answer where it answers: counts of 1 to 18 digits, and a time with no
    /// space at either end, no `;` and no byte past ASCII.
    static func canonicalStatistics(_ info: UnsafeBufferPointer<UInt8>) -> Statistics? {
        var index = 0
        guard Self.skip("processed: ", info, &index), let processed = Self.count(info, &index),
            Self.skip("; failed: ", info, &index), let failed = Self.count(info, &index),
            Self.skip("; total: ", info, &index), let total = Self.count(info, &index),
            Self.skip("; seconds spent: ", info, &index), index < info.count,
            info[index] != UInt8(ascii: " "), info[info.count - 1] != UInt8(ascii: " ")
        else { return nil }
        let start = index
        while index < info.count {
            guard info[index] < 0x80, info[index] != UInt8(ascii: ";") else { return nil }
            index += 1
        }
        let seconds = String(decoding: UnsafeBufferPointer(rebasing: info[start...]), as: UTF8.self)
        return (processed, failed, total, seconds)
    }

    /// Passes over `literal` at `index`; `false` when the bytes there differ.
    @inline(__always)
    private static func skip(_ literal: StaticString, _ bytes: UnsafeBufferPointer<UInt8>, _ index: inout Int) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - index >= count else { return false }
        let expected = literal.utf8Start
        for offset in 0..<count where bytes[index + offset] != expected[offset] { return false }
        index += count
        return true
    }

    /// 1 to 18 decimal digits at `index` (always in range of Int64), passed over; `nil` otherwise.
    @inline(__always)
    private static func count(_ bytes: UnsafeBufferPointer<UInt8>, _ index: inout Int) -> Int64? {
        let start = index
        var value: Int64 = 0
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            guard index - start < 18 else { return nil }
            value = value * 10 + Int64(bytes[index] &- UInt8(ascii: "0"))
            index += 1
        }
        return index > start ? value : nil
    }

    /// Whether `bytes[range]` spells `name`.
    @inline(__always)
    private static func equals(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ name: StaticString) -> Bool {
        guard range.count == name.utf8CodeUnitCount else { return false }
        var other = name.utf8Start
        for index in range {
            guard bytes[index] == other.pointee else { return false }
            other += 1
        }
        return true
    }

    /// `start..<end` without its leading and trailing spaces.
    @inline(__always)
    private static func trimmingSpaces(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Range<Int> {
        var start = start
        var end = end
        while start < end, bytes[start] == UInt8(ascii: " ") { start += 1 }
        while end > start, bytes[end - 1] == UInt8(ascii: " ") { end -= 1 }
        return start..<end
    }

    /// `Int64(text)` for the ASCII bytes in `range`: an optional sign, then one or more decimal
    /// digits, in range.
    private static func integer(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int64? {
        var index = range.lowerBound
        guard index < range.upperBound else { return nil }
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative || bytes[index] == UInt8(ascii: "+") { index += 1 }
        guard index < range.upperBound else { return nil }
        var value: Int64 = 0
        while index < range.upperBound {
            let byte = bytes[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let digit = Int64(byte &- UInt8(ascii: "0"))
            // Accumulated negatively so that Int64.min parses, as `Int64(_:)` does.
            let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) =
                negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
            guard !overflow, !overflow2 else { return nil }
            value = next
            index += 1
        }
        return value
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var result = self
        while result.first == " " { result = result.dropFirst() }
        while result.last == " " { result = result.dropLast() }
        return result
    }
}

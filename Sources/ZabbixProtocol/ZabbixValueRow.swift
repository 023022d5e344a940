/// One element of a `data` (agent/sender data) or `history data` (proxy data) array, as sent.
///
/// Every field is optional because the shapes differ by sender: agentd ≤ 6.4 and senders give
/// `host`/`key`, agent 2, agentd 7.0+ and proxies give `itemid`.
public struct ZabbixValueRow: Sendable, Hashable {
    public var host: String?
    public var key: String?
    public var itemid: UInt64?
    /// The value as text (numbers are kept as their literal); `nil` for meta-only rows.
    public var value: String?
    /// `1` means not supported (then `value` is the error text); absent means normal.
    public var state: Int64?
    /// Per-session increasing row id, for duplicate suppression.
    public var id: UInt64?
    public var clock: Int64?
    public var ns: Int64?
    public var lastlogsize: UInt64?
    public var mtime: Int64?
    public var timestamp: Int64?
    public var source: String?
    public var severity: Int64?
    public var eventid: Int64?

    public init(
        host: String? = nil,
        key: String? = nil,
        itemid: UInt64? = nil,
        value: String? = nil,
        state: Int64? = nil,
        id: UInt64? = nil,
        clock: Int64? = nil,
        ns: Int64? = nil,
        lastlogsize: UInt64? = nil,
        mtime: Int64? = nil,
        timestamp: Int64? = nil,
        source: String? = nil,
        severity: Int64? = nil,
        eventid: Int64? = nil
    ) {
        self.host = host
        self.key = key
        self.itemid = itemid
        self.value = value
        self.state = state
        self.id = id
        self.clock = clock
        self.ns = ns
        self.lastlogsize = lastlogsize
        self.mtime = mtime
        self.timestamp = timestamp
        self.source = source
        self.severity = severity
        self.eventid = eventid
    }

}

/// Reads the elements of a `data` (agent/sender data) or `history data` (proxy data) array into
/// ``ZabbixValueRow``s, one member at a time, keeping only the fields a row has and only rows
/// that carry something usable (a `value`, an `itemid` or a `key`).
///
/// A row whose host is longer than ``ZabbixLimits/maximumHostLength`` characters or whose key is
/// longer than ``ZabbixLimits/maximumKeyLength`` is dropped: the server rejects such rows too
/// (they cannot name a host or item), so no value of them is ever stored. Dropped rows are
/// counted in ``dropped``.
struct ValueRowsReader {
    private(set) var rows: [ZabbixValueRow] = []
    /// With ``keepsIndexes``: the position in the array of each of ``rows``.
    private(set) var indexes: [Int] = []
    private(set) var dropped = DroppedRows()
    /// Whether to keep each row's position (`history.push`: its reply answers row by row, rows
    /// not kept included).
    let keepsIndexes: Bool
    /// Elements read so far.
    private var position = 0
    /// The previous row's host: consecutive rows of one agent name the same host, and reusing
    /// its string saves an allocation per row.
    private var lastHost: (start: Int, end: Int, text: String)?

    /// What keeping a row costs: before its frame is done, the row also becomes an ``ItemValue``
    /// and a decoded value (an item value with a few more fields), so it is charged its struct
    /// and two item values (about 740 bytes); its strings are charged once, the copies share them.
    static let costPerRow = MemoryLayout<ZabbixValueRow>.stride + 2 * MemoryLayout<ItemValue>.stride

    init(keepsIndexes: Bool = false) {
        self.keepsIndexes = keepsIndexes
    }

    /// Reads the array at `reader`; any other value is passed over (no rows).
    mutating func read(_ reader: inout JSONReader) throws(JSONParseError) {
        guard try reader.peekKind() == .array else { return try reader.skipValue() }
        try reader.beginArray()
        while try reader.nextElement() {
            defer { self.position += 1 }
            guard try reader.peekKind() == .object else {
                try reader.skipValue()
                self.dropped.unusable += 1
                continue
            }
            try self.readRow(&reader)
        }
    }

    private enum Field {
        case id, ns, key, host, value, clock, state, mtime, itemid, source, eventid, severity, timestamp, lastlogsize,
            other

        /// Dispatches on the length first: one comparison per member instead of up to 14.
        @inline(__always)
        init(_ name: UnsafeRawBufferPointer) {
            func is_(_ literal: StaticString) -> Bool { JSONReader.equal(name, literal) }
            switch name.count {
            case 2: self = is_("id") ? .id : is_("ns") ? .ns : .other
            case 3: self = is_("key") ? .key : .other
            case 4: self = is_("host") ? .host : .other
            case 5:
                self =
                    is_("value")
                    ? .value : is_("clock") ? .clock : is_("state") ? .state : is_("mtime") ? .mtime : .other
            case 6: self = is_("itemid") ? .itemid : is_("source") ? .source : .other
            case 7: self = is_("eventid") ? .eventid : .other
            case 8: self = is_("severity") ? .severity : .other
            case 9: self = is_("timestamp") ? .timestamp : .other
            case 11: self = is_("lastlogsize") ? .lastlogsize : .other
            default: self = .other
            }
        }
    }

    /// Reads one row object and appends it, or counts it when it is not kept. The first member
    /// of a name that gives a value wins, as in Zabbix's own parser. Fields are gathered in
    /// locals: a row struct is built only for rows that are kept.
    private mutating func readRow(_ reader: inout JSONReader) throws(JSONParseError) {
        var host: String?
        var key: String?
        var itemid: UInt64?
        var value: String?
        var state: Int64?
        var id: UInt64?
        var clock: Int64?
        var ns: Int64?
        var lastlogsize: UInt64?
        var mtime: Int64?
        var timestamp: Int64?
        var source: String?
        var severity: Int64?
        var eventid: Int64?
        var hostTooLong = false
        var keyTooLong = false
        try reader.beginObject()
        while let name = try reader.nextName() {
            let field = reader.withName(name, Field.init)
            if case .other = field {
                try reader.skipValue()
                continue
            }
            let scalar = try reader.readScalar()
            switch field {
            case .id: if id == nil { id = reader.uint64(scalar) }
            case .ns: if ns == nil { ns = reader.int64(scalar) }
            case .key:
                if key == nil && !keyTooLong {
                    key = try reader.text(scalar, maximumCharacters: ZabbixLimits.maximumKeyLength)
                    keyTooLong = key == nil && scalar.hasText
                }
            case .host:
                if host == nil && !hostTooLong {
                    host = try self.host(scalar, &reader)
                    hostTooLong = host == nil && scalar.hasText
                }
            case .value: if value == nil { value = try reader.text(scalar) }
            case .clock: if clock == nil { clock = reader.int64(scalar) }
            case .state: if state == nil { state = reader.int64(scalar) }
            case .mtime: if mtime == nil { mtime = reader.int64(scalar) }
            case .itemid: if itemid == nil { itemid = reader.uint64(scalar) }
            case .source: if source == nil { source = try reader.text(scalar) }
            case .eventid: if eventid == nil { eventid = reader.int64(scalar) }
            case .severity: if severity == nil { severity = reader.int64(scalar) }
            case .timestamp: if timestamp == nil { timestamp = reader.int64(scalar) }
            case .lastlogsize: if lastlogsize == nil { lastlogsize = reader.uint64(scalar) }
            case .other: break
            }
        }
        if hostTooLong {
            self.dropped.hostTooLong += 1
        } else if keyTooLong {
            self.dropped.keyTooLong += 1
        } else if value == nil && itemid == nil && key == nil {
            self.dropped.unusable += 1
        } else {
            try reader.charge(Self.costPerRow)
            if self.keepsIndexes {
                try reader.charge(MemoryLayout<Int>.stride)
                self.indexes.append(self.position)
            }
            self.rows.append(
                ZabbixValueRow(
                    host: host,
                    key: key,
                    itemid: itemid,
                    value: value,
                    state: state,
                    id: id,
                    clock: clock,
                    ns: ns,
                    lastlogsize: lastlogsize,
                    mtime: mtime,
                    timestamp: timestamp,
                    source: source,
                    severity: severity,
                    eventid: eventid
                )
            )
        }
    }

    /// The host text, the previous row's string when the bytes are the same.
    private mutating func host(_ value: JSONReader.Scalar, _ reader: inout JSONReader) throws(JSONParseError) -> String?
    {
        guard case .string(let token) = value, !token.hasEscapes else {
            return try reader.text(value, maximumCharacters: ZabbixLimits.maximumHostLength)
        }
        if let last = self.lastHost,
            JSONReader.equal(reader.raw(last.start, last.end), reader.raw(token.start, token.end))
        {
            return last.text
        }
        guard let text = try reader.string(token, maximumCharacters: ZabbixLimits.maximumHostLength) else { return nil }
        self.lastHost = (token.start, token.end, text)
        return text
    }
}

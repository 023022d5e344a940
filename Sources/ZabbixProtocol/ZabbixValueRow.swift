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
        host: String? = nil, key: String? = nil, itemid: UInt64? = nil, value: String? = nil,
        state: Int64? = nil, id: UInt64? = nil, clock: Int64? = nil, ns: Int64? = nil,
        lastlogsize: UInt64? = nil, mtime: Int64? = nil, timestamp: Int64? = nil, source: String? = nil,
        severity: Int64? = nil, eventid: Int64? = nil
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

    init(json: JSONObject) {
        self.init()
        // One pass over the members instead of one linear lookup per field: rows are the hot path.
        // The first of duplicated members wins, as in Zabbix's own parser.
        for member in json.members {
            let value = member.value
            let key = member.key
            // Dispatch on the length first: one string comparison per member instead of up to 14.
            switch key.utf8.count {
            case 2:
                if key == "id", self.id == nil { self.id = value.uint64 }
                if key == "ns", self.ns == nil { self.ns = value.int64 }
            case 3:
                if key == "key", self.key == nil { self.key = value.scalarText }
            case 4:
                if key == "host", self.host == nil { self.host = value.scalarText }
            case 5:
                if key == "value", self.value == nil {
                    self.value = value.scalarText
                } else if key == "clock", self.clock == nil {
                    self.clock = value.int64
                } else if key == "state", self.state == nil {
                    self.state = value.int64
                } else if key == "mtime", self.mtime == nil {
                    self.mtime = value.int64
                }
            case 6:
                if key == "itemid", self.itemid == nil {
                    self.itemid = value.uint64
                } else if key == "source", self.source == nil {
                    self.source = value.scalarText
                }
            case 7:
                if key == "eventid", self.eventid == nil { self.eventid = value.int64 }
            case 8:
                if key == "severity", self.severity == nil { self.severity = value.int64 }
            case 9:
                if key == "timestamp", self.timestamp == nil { self.timestamp = value.int64 }
            case 11:
                if key == "lastlogsize", self.lastlogsize == nil { self.lastlogsize = value.uint64 }
            default:
                break
            }
        }
    }

    static func rows(_ json: JSONObject, _ key: String) -> [ZabbixValueRow] {
        guard let array = json[key]?.array else { return [] }
        var rows: [ZabbixValueRow] = []
        rows.reserveCapacity(array.count)
        for element in array {
            if case .object(let object) = element { rows.append(ZabbixValueRow(json: object)) }
        }
        return rows
    }
}

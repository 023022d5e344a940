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
            switch member.key {
            case "host" where self.host == nil: self.host = value.scalarText
            case "key" where self.key == nil: self.key = value.scalarText
            case "itemid" where self.itemid == nil: self.itemid = value.uint64
            case "value" where self.value == nil: self.value = value.scalarText
            case "state" where self.state == nil: self.state = value.int64
            case "id" where self.id == nil: self.id = value.uint64
            case "clock" where self.clock == nil: self.clock = value.int64
            case "ns" where self.ns == nil: self.ns = value.int64
            case "lastlogsize" where self.lastlogsize == nil: self.lastlogsize = value.uint64
            case "mtime" where self.mtime == nil: self.mtime = value.int64
            case "timestamp" where self.timestamp == nil: self.timestamp = value.int64
            case "source" where self.source == nil: self.source = value.scalarText
            case "severity" where self.severity == nil: self.severity = value.int64
            case "eventid" where self.eventid == nil: self.eventid = value.int64
            default: break
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

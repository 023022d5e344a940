/// One item value seen on the wire, whatever message carried it.
///
/// Which identifying fields are set depends on the sender: agentd ≤ 6.4 and senders give
/// ``host`` and ``key``; agent 2 and agentd 7.0+ give ``host`` and ``itemid`` (key from the
/// ``ItemCatalog``); proxies give ``itemid`` and ``proxy`` (host and key from the catalog);
/// passive checks give ``key`` only (the host is the connection's peer).
public struct ItemValue: Sendable, Hashable {
    /// The message type a value came from.
    public enum RequestType: String, Sendable, Hashable {
        case agentData = "agent data"
        case senderData = "sender data"
        case proxyData = "proxy data"
        case passiveCheck = "passive checks"
        case historyPush = "history.push"
    }

    /// Whether the item delivered a value or an error.
    public enum State: Sendable, Hashable {
        case normal
        /// `state:1`, `ZBX_NOTSUPPORTED`, or a 7.0 passive `error`: ``value`` is the error text.
        case notSupported
    }

    public var requestType: RequestType
    public var host: String?
    public var key: String?
    public var itemid: UInt64?
    /// The proxy name for `proxy data` rows (active proxies), the catalog namespace's host.
    public var proxy: String?
    /// The value as text (numbers kept as written), or the error text when not supported.
    public var value: String
    public var state: State
    /// Collection time, Unix seconds; `nil` when the sender left it out (passive checks always).
    public var clock: Int64?
    /// Nanoseconds within ``clock``; agent 2 omits zero.
    public var ns: Int64?
    /// Per-session row id (duplicate suppression, see ``DuplicateFilter``).
    public var id: UInt64?
    public var session: String?
    public var lastlogsize: UInt64?
    public var mtime: Int64?
    /// Log entry timestamp (log and eventlog items).
    public var timestamp: Int64?
    /// Eventlog source.
    public var source: String?
    /// Eventlog severity.
    public var severity: Int64?
    /// Eventlog event id.
    public var eventid: Int64?

    public init(
        requestType: RequestType,
        host: String? = nil,
        key: String? = nil,
        itemid: UInt64? = nil,
        proxy: String? = nil,
        value: String,
        state: State = .normal,
        clock: Int64? = nil,
        ns: Int64? = nil,
        id: UInt64? = nil,
        session: String? = nil,
        lastlogsize: UInt64? = nil,
        mtime: Int64? = nil,
        timestamp: Int64? = nil,
        source: String? = nil,
        severity: Int64? = nil,
        eventid: Int64? = nil
    ) {
        self.requestType = requestType
        self.host = host
        self.key = key
        self.itemid = itemid
        self.proxy = proxy
        self.value = value
        self.state = state
        self.clock = clock
        self.ns = ns
        self.id = id
        self.session = session
        self.lastlogsize = lastlogsize
        self.mtime = mtime
        self.timestamp = timestamp
        self.source = source
        self.severity = severity
        self.eventid = eventid
    }

    /// A value from a row; `nil` for rows without `value` (meta-only and bookkeeping rows).
    init?(row: ZabbixValueRow, requestType: RequestType, host: String?, proxy: String?, session: String?) {
        guard let value = row.value else { return nil }
        self.init(
            requestType: requestType,
            host: row.host ?? host,
            key: row.key,
            itemid: row.itemid,
            proxy: proxy,
            value: value,
            state: row.state == 1 ? .notSupported : .normal,
            clock: row.clock,
            ns: row.ns,
            id: row.id,
            session: session,
            lastlogsize: row.lastlogsize,
            mtime: row.mtime,
            timestamp: row.timestamp,
            source: row.source,
            severity: row.severity,
            eventid: row.eventid
        )
    }
}

extension ZabbixMessage {
    /// The item values this message carries, in message order. Rows without a `value` are left
    /// out; messages that carry no values give an empty array.
    public var itemValues: [ItemValue] {
        switch self {
        case .agentData(let data):
            return Self.values(data.rows, .agentData, host: data.host, proxy: nil, session: data.session)
        case .senderData(let data):
            return Self.values(data.rows, .senderData, host: nil, proxy: nil, session: nil)
        case .historyPush(let push):
            return Self.values(push.rows, .historyPush, host: nil, proxy: nil, session: nil)
        case .proxyData(let data):
            return Self.values(data.history, .proxyData, host: nil, proxy: data.host, session: data.session)
        case .passiveCheckResponse(let response):
            var values: [ItemValue] = []
            for (key, result) in zip(response.keys, response.results) {
                switch result {
                case .value(let value?):
                    values.append(ItemValue(requestType: .passiveCheck, key: key, value: value))
                case .value(nil):
                    continue
                case .notSupported(let error):
                    values.append(ItemValue(requestType: .passiveCheck, key: key, value: error, state: .notSupported))
                }
            }
            return values
        case .activeChecksRequest, .activeChecksResponse, .activeCheckHeartbeat, .proxyHeartbeat,
            .proxyDataRequest, .proxyConfigRequest, .proxyConfigStatus, .proxyConfig, .passiveCheckRequest,
            .response, .other, .unrecognized:
            return []
        }
    }

    private static func values(
        _ rows: [ZabbixValueRow],
        _ requestType: ItemValue.RequestType,
        host: String?,
        proxy: String?,
        session: String?
    ) -> [ItemValue] {
        var values: [ItemValue] = []
        values.reserveCapacity(rows.count)
        for row in rows {
            if let value = ItemValue(row: row, requestType: requestType, host: host, proxy: proxy, session: session) {
                values.append(value)
            }
        }
        return values
    }
}

extension ItemValue {
    /// `history.push` values with the index of the request row each came from: the reply's
    /// `data[]` answers row by row, rows without a value included.
    public static func values(of push: HistoryPush) -> [(row: Int, value: ItemValue)] {
        var values: [(row: Int, value: ItemValue)] = []
        values.reserveCapacity(push.rows.count)
        for (index, row) in zip(push.rowIndexes, push.rows) {
            if let value = ItemValue(row: row, requestType: .historyPush, host: nil, proxy: nil, session: nil) {
                values.append((index, value))
            }
        }
        return values
    }
}

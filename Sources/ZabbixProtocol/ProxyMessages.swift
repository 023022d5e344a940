/// `proxy data`: history and more from a proxy. Either an active proxy's request
/// (`{"request":"proxy data","host":...}`) or a passive proxy's reply to the server's poll (same
/// tags without `request` and `host`).
public struct ProxyData: Sendable, Hashable {
    /// The proxy name (active proxies only).
    public var host: String?
    public var session: String?
    public var version: String?
    public var clock: Int64?
    public var ns: Int64?
    /// `history data` rows: itemid only, no host or key.
    public var history: [ZabbixValueRow]
    /// `"more":1`: another batch follows immediately.
    public var more: Bool
    /// Whether this is a passive proxy's reply to `{"request":"proxy data"}`.
    public var isPassiveReply: Bool

    public init(
        host: String? = nil, session: String? = nil, version: String? = nil, clock: Int64? = nil,
        ns: Int64? = nil, history: [ZabbixValueRow] = [], more: Bool = false, isPassiveReply: Bool = false
    ) {
        self.host = host
        self.session = session
        self.version = version
        self.clock = clock
        self.ns = ns
        self.history = history
        self.more = more
        self.isPassiveReply = isPassiveReply
    }

    init(json: JSONObject, isPassiveReply: Bool) {
        self.init(
            host: json.string("host"), session: json.string("session"), version: json.string("version"),
            clock: json.int64("clock"), ns: json.int64("ns"), history: ZabbixValueRow.rows(json, "history data"),
            more: (json.int64("more") ?? 0) != 0, isPassiveReply: isPassiveReply)
    }
}

/// `proxy heartbeat` (≤ 6.2 active proxies).
public struct ProxyHeartbeat: Sendable, Hashable {
    public var host: String?
    public var version: String?

    public init(host: String? = nil, version: String? = nil) {
        self.host = host
        self.version = version
    }
}

/// `{"request":"proxy config",...}` from an active proxy, or a 6.4+ passive proxy's status frame
/// (`{"version":..,"session":..,"config_revision":N}`) in the server's config push.
public struct ProxyConfigRequest: Sendable, Hashable {
    public var host: String?
    public var version: String?
    /// 6.4+.
    public var session: String?
    /// 6.4+: the revision the proxy holds.
    public var configRevision: UInt64?

    public init(host: String? = nil, version: String? = nil, session: String? = nil, configRevision: UInt64? = nil) {
        self.host = host
        self.version = version
        self.session = session
        self.configRevision = configRevision
    }

    init(json: JSONObject) {
        self.init(
            host: json.string("host"), version: json.string("version"), session: json.string("session"),
            configRevision: json.uint64("config_revision"))
    }
}

/// A proxy configuration payload reduced to what labels values: items and hosts.
///
/// * ≤ 6.2: one object keyed by table name, always complete (``isFullSync`` is `true`).
/// * 6.4+: `{"full_sync":1?,"data":{<changed tables>},"del_hostids":[...],"config_revision":N}`;
///   without `full_sync` it is a delta to apply on top of what is known; `{}` means no change.
///
/// Tables are `{"fields":[names...],"data":[[row values...],...]}`; columns are found by name.
public struct ProxyConfig: Sendable, Hashable {
    /// One `items` row.
    public struct Item: Sendable, Hashable {
        public var itemid: UInt64
        public var hostid: UInt64
        /// `key_`, as configured (user macros possibly unexpanded).
        public var key: String
        /// 0 float, 1 character, 2 log, 3 unsigned, 4 text, 5 binary (7.0).
        public var valueType: Int64?

        public init(itemid: UInt64, hostid: UInt64, key: String, valueType: Int64? = nil) {
            self.itemid = itemid
            self.hostid = hostid
            self.key = key
            self.valueType = valueType
        }
    }

    /// One `hosts` row.
    public struct Host: Sendable, Hashable {
        public var hostid: UInt64
        public var host: String

        public init(hostid: UInt64, host: String) {
            self.hostid = hostid
            self.host = host
        }
    }

    /// The proxy this configuration is for, when its request was seen on the connection.
    public var proxyHost: String?
    /// Replaces everything known for the proxy (always for ≤ 6.2 payloads).
    public var isFullSync: Bool
    /// 6.4+.
    public var configRevision: UInt64?
    public var hosts: [Host]
    public var items: [Item]
    /// 6.4+: hosts removed from the proxy.
    public var deletedHostIDs: [UInt64]

    public init(
        proxyHost: String? = nil, isFullSync: Bool, configRevision: UInt64? = nil, hosts: [Host] = [],
        items: [Item] = [], deletedHostIDs: [UInt64] = []
    ) {
        self.proxyHost = proxyHost
        self.isFullSync = isFullSync
        self.configRevision = configRevision
        self.hosts = hosts
        self.items = items
        self.deletedHostIDs = deletedHostIDs
    }

    /// Whether `json` looks like a configuration payload of either generation.
    static func looksLikeConfig(_ json: JSONObject) -> Bool {
        json["full_sync"] != nil || json["config_revision"] != nil || json["del_hostids"] != nil
            || json["hosts"]?.object != nil || json["items"]?.object != nil
            || json["data"]?.object != nil || json.members.isEmpty
    }

    init(json: JSONObject, proxyHost: String?) {
        let incremental = json["data"]?.object != nil || json["config_revision"] != nil
            || json["full_sync"] != nil || json["del_hostids"] != nil || json.members.isEmpty
        let tables = incremental ? (json["data"]?.object ?? JSONObject()) : json
        self.init(
            proxyHost: proxyHost,
            isFullSync: incremental ? (json.int64("full_sync") ?? 0) != 0 : true,
            configRevision: json.uint64("config_revision"),
            hosts: Self.rows(tables["hosts"]) { row in
                guard let hostid = row("hostid")?.uint64, let host = row("host")?.scalarText else { return nil }
                return Host(hostid: hostid, host: host)
            },
            items: Self.rows(tables["items"]) { row in
                guard let itemid = row("itemid")?.uint64, let hostid = row("hostid")?.uint64,
                    let key = row("key_")?.scalarText
                else { return nil }
                return Item(itemid: itemid, hostid: hostid, key: key, valueType: row("value_type")?.int64)
            },
            deletedHostIDs: json["del_hostids"]?.array?.compactMap(\.uint64) ?? [])
    }

    /// Maps the rows of a `{"fields":[...],"data":[[...]]}` table; malformed rows are passed over.
    private static func rows<Row>(_ table: JSONValue?, _ make: ((String) -> JSONValue?) -> Row?) -> [Row] {
        guard let table = table?.object, let fields = table["fields"]?.array,
            let data = table["data"]?.array
        else { return [] }
        var columns: [String: Int] = [:]
        for (index, field) in fields.enumerated() {
            if let name = field.string, columns[name] == nil { columns[name] = index }
        }
        var result: [Row] = []
        result.reserveCapacity(data.count)
        for element in data {
            guard let values = element.array else { continue }
            let row = make { name in
                guard let column = columns[name], column < values.count else { return nil }
                return values[column]
            }
            if let row { result.append(row) }
        }
        return result
    }
}

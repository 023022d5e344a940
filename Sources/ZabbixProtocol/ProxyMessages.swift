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
        host: String? = nil,
        session: String? = nil,
        version: String? = nil,
        clock: Int64? = nil,
        ns: Int64? = nil,
        history: [ZabbixValueRow] = [],
        more: Bool = false,
        isPassiveReply: Bool = false
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
        /// `delay`, as configured (`1m`, `{$DELAY}`, `0` for trapper items, flexible intervals).
        public var delay: ZabbixUpdateInterval?

        public init(
            itemid: UInt64,
            hostid: UInt64,
            key: String,
            valueType: Int64? = nil,
            delay: ZabbixUpdateInterval? = nil
        ) {
            self.itemid = itemid
            self.hostid = hostid
            self.key = key
            self.valueType = valueType
            self.delay = delay
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
        proxyHost: String? = nil,
        isFullSync: Bool,
        configRevision: UInt64? = nil,
        hosts: [Host] = [],
        items: [Item] = [],
        deletedHostIDs: [UInt64] = []
    ) {
        self.proxyHost = proxyHost
        self.isFullSync = isFullSync
        self.configRevision = configRevision
        self.hosts = hosts
        self.items = items
        self.deletedHostIDs = deletedHostIDs
    }
}

/// Reads a proxy configuration payload member by member: of its tables only the `hosts` and
/// `items` columns that label values are kept, row by row; every other table is passed over
/// without being built.
///
/// Fed the members of the payload object (the whole message for a proxy's reply or a 6.4+ push,
/// the `data` object of a ≤ 6.2 push) with ``read(_:_:)``; ``config(proxyHost:memberCount:)``
/// then applies the same rules as Zabbix to tell the two generations apart.
struct ProxyConfigReader {
    /// The members of a configuration payload that matter.
    enum Member {
        case data, hosts, items, deletedHostIDs, fullSync, configRevision

        init?(_ name: UnsafeRawBufferPointer) {
            switch name.count {
            case 4: if JSONReader.equal(name, "data") { self = .data } else { return nil }
            case 5:
                if JSONReader.equal(name, "hosts") {
                    self = .hosts
                } else if JSONReader.equal(name, "items") {
                    self = .items
                } else {
                    return nil
                }
            case 9: if JSONReader.equal(name, "full_sync") { self = .fullSync } else { return nil }
            case 11: if JSONReader.equal(name, "del_hostids") { self = .deletedHostIDs } else { return nil }
            case 15: if JSONReader.equal(name, "config_revision") { self = .configRevision } else { return nil }
            default: return nil
            }
        }
    }

    /// `hosts` and `items` of one object of tables (the first of each name counts).
    struct Tables {
        var hosts: [ProxyConfig.Host] = []
        var items: [ProxyConfig.Item] = []
        var sawHosts = false
        var sawItems = false
    }

    private var dataIsObject = false
    private var sawData = false
    /// Tables inside `data` (6.4+), and at the top level (≤ 6.2); which ones count is known only
    /// once every member has been seen.
    private var dataTables = Tables()
    private var topTables = Tables()
    private var deletedHostIDs: [UInt64] = []
    private var sawDeletedHostIDs = false
    private var fullSync: Int64?
    private var sawFullSync = false
    private(set) var configRevision: UInt64?
    private var sawConfigRevision = false
    private(set) var dropped = DroppedRows()

    /// Reads the value of `member` (the first of each name counts; later ones are passed over).
    mutating func read(_ member: Member, _ reader: inout JSONReader) throws(JSONParseError) {
        switch member {
        case .data:
            guard !self.sawData else { return try reader.skipValue() }
            self.sawData = true
            guard try reader.peekKind() == .object else { return try reader.skipValue() }
            self.dataIsObject = true
            try reader.beginObject()
            while let name = try reader.nextName() {
                try Self.readTable(
                    reader.withName(name, Member.init),
                    into: &self.dataTables,
                    dropped: &self.dropped,
                    &reader
                )
            }
        case .hosts, .items:
            try Self.readTable(member, into: &self.topTables, dropped: &self.dropped, &reader)
        case .deletedHostIDs:
            guard !self.sawDeletedHostIDs else { return try reader.skipValue() }
            self.sawDeletedHostIDs = true
            guard try reader.peekKind() == .array else { return try reader.skipValue() }
            try reader.beginArray()
            while try reader.nextElement() {
                let value = try reader.readScalar()
                if let hostid = reader.uint64(value) {
                    try reader.charge(MemoryLayout<UInt64>.stride)
                    self.deletedHostIDs.append(hostid)
                }
            }
        case .fullSync:
            guard !self.sawFullSync else { return try reader.skipValue() }
            self.sawFullSync = true
            self.fullSync = reader.int64(try reader.readScalar())
        case .configRevision:
            guard !self.sawConfigRevision else { return try reader.skipValue() }
            self.sawConfigRevision = true
            self.configRevision = reader.uint64(try reader.readScalar())
        }
    }

    /// Reads a whole configuration object (the `data` of a ≤ 6.2 push); returns its member count.
    mutating func readObject(_ reader: inout JSONReader) throws(JSONParseError) -> Int {
        try reader.beginObject()
        var count = 0
        while let name = try reader.nextName() {
            count += 1
            if let member = reader.withName(name, Member.init) {
                try self.read(member, &reader)
            } else {
                try reader.skipValue()
            }
        }
        return count
    }

    /// The configuration, by Zabbix's rules: a payload with a `data` object, `config_revision`,
    /// `full_sync` or `del_hostids` (or no member at all) is 6.4+ and its tables are in `data`;
    /// otherwise the tables are the payload's own members (≤ 6.2, always a full sync).
    func config(proxyHost: String?, memberCount: Int) -> ProxyConfig {
        let incremental =
            self.dataIsObject || self.sawConfigRevision || self.sawFullSync || self.sawDeletedHostIDs
            || memberCount == 0
        let tables = incremental ? self.dataTables : self.topTables
        return ProxyConfig(
            proxyHost: proxyHost,
            isFullSync: incremental ? (self.fullSync ?? 0) != 0 : true,
            configRevision: self.configRevision,
            hosts: tables.hosts,
            items: tables.items,
            deletedHostIDs: self.deletedHostIDs
        )
    }

    // MARK: - Tables

    /// The columns kept from `hosts` and `items`.
    private enum Column: UInt8 {
        case none, hostid, host, itemid, key, valueType, delay
    }

    /// One table row's kept cells.
    private struct Cells {
        var hostid: JSONReader.Scalar?
        var host: JSONReader.Scalar?
        var itemid: JSONReader.Scalar?
        var key: JSONReader.Scalar?
        var valueType: JSONReader.Scalar?
        var delay: JSONReader.Scalar?
    }

    /// Reads the table `member` names (`hosts` or `items`; anything else is passed over) into
    /// `tables`, when it is the first of its name there.
    private static func readTable(
        _ member: Member?,
        into tables: inout Tables,
        dropped: inout DroppedRows,
        _ reader: inout JSONReader
    ) throws(JSONParseError) {
        switch member {
        case .hosts where !tables.sawHosts:
            tables.sawHosts = true
            try Self.readRows(&reader, columns: ["hostid": .hostid, "host": .host]) {
                cells,
                reader throws(JSONParseError) in
                guard let hostid = cells.hostid.flatMap({ reader.uint64($0) }), let value = cells.host else { return }
                guard let host = try reader.text(value, maximumCharacters: ZabbixLimits.maximumHostLength) else {
                    if value.hasText { dropped.hostTooLong += 1 }
                    return
                }
                try reader.charge(MemoryLayout<ProxyConfig.Host>.stride)
                tables.hosts.append(ProxyConfig.Host(hostid: hostid, host: host))
            }
        case .items where !tables.sawItems:
            tables.sawItems = true
            try Self.readRows(
                &reader,
                columns: [
                    "itemid": .itemid, "hostid": .hostid, "key_": .key, "value_type": .valueType, "delay": .delay,
                ]
            ) {
                cells,
                reader throws(JSONParseError) in
                guard let itemid = cells.itemid.flatMap({ reader.uint64($0) }),
                    let hostid = cells.hostid.flatMap({ reader.uint64($0) }), let value = cells.key
                else { return }
                guard let key = try reader.text(value, maximumCharacters: ZabbixLimits.maximumKeyLength) else {
                    if value.hasText { dropped.keyTooLong += 1 }
                    return
                }
                try reader.charge(MemoryLayout<ProxyConfig.Item>.stride)
                let delay = try cells.delay.flatMap { (cell) throws(JSONParseError) in
                    try reader.text(cell, maximumCharacters: ZabbixUpdateInterval.maximumTextLength).flatMap(
                        ZabbixUpdateInterval.init
                    )
                }
                tables.items.append(
                    ProxyConfig.Item(
                        itemid: itemid,
                        hostid: hostid,
                        key: key,
                        valueType: cells.valueType.flatMap { reader.int64($0) },
                        delay: delay
                    )
                )
            }
        default:
            try reader.skipValue()
        }
    }

    /// Streams the rows of a `{"fields":[names...],"data":[[values...],...]}` table, columns found
    /// by name (the first column of a name counts); malformed rows are passed over. When `data`
    /// comes before `fields` it is passed over and read again once the columns are known.
    private static func readRows(
        _ reader: inout JSONReader,
        columns wanted: KeyValuePairs<StaticString, Column>,
        _ row: (Cells, inout JSONReader) throws(JSONParseError) -> Void
    ) throws(JSONParseError) {
        guard try reader.peekKind() == .object else { return try reader.skipValue() }
        try reader.beginObject()
        var columns: [Column]?
        var sawFields = false
        var sawData = false
        var deferredData: (offset: Int, depth: Int)?
        while let name = try reader.nextName() {
            if !sawFields, reader.name(name, is: "fields") {
                sawFields = true
                guard try reader.peekKind() == .array else {
                    try reader.skipValue()
                    continue
                }
                columns = try self.readColumns(&reader, wanted)
            } else if !sawData, reader.name(name, is: "data") {
                sawData = true
                if let columns {
                    try self.readCells(&reader, columns, row)
                } else {
                    deferredData = (reader.index, reader.depth)
                    try reader.skipValue()
                }
            } else {
                try reader.skipValue()
            }
        }
        if let deferredData, let columns {
            var again = reader.rewound(to: deferredData.offset, depth: deferredData.depth, budget: reader.budget)
            try self.readCells(&again, columns, row)
            try reader.charge(reader.budget - again.budget)
        }
    }

    private static func readColumns(
        _ reader: inout JSONReader,
        _ wanted: KeyValuePairs<StaticString, Column>
    ) throws(JSONParseError) -> [Column] {
        var columns: [Column] = []
        var assigned: Set<UInt8> = []
        try reader.beginArray()
        while try reader.nextElement() {
            try reader.charge(MemoryLayout<Column>.stride)
            var column = Column.none
            if case .string(let token) = try reader.readScalar() {
                for (name, candidate) in wanted where reader.name(token, is: name) {
                    if assigned.insert(candidate.rawValue).inserted { column = candidate }
                    break
                }
            }
            columns.append(column)
        }
        return columns
    }

    private static func readCells(
        _ reader: inout JSONReader,
        _ columns: [Column],
        _ row: (Cells, inout JSONReader) throws(JSONParseError) -> Void
    ) throws(JSONParseError) {
        guard try reader.peekKind() == .array else { return try reader.skipValue() }
        try reader.beginArray()
        while try reader.nextElement() {
            guard try reader.peekKind() == .array else {
                try reader.skipValue()
                continue
            }
            try reader.beginArray()
            var cells = Cells()
            var index = 0
            while try reader.nextElement() {
                let column = index < columns.count ? columns[index] : .none
                index += 1
                switch column {
                case .none: try reader.skipValue()
                case .hostid: cells.hostid = try reader.readScalar()
                case .host: cells.host = try reader.readScalar()
                case .itemid: cells.itemid = try reader.readScalar()
                case .key: cells.key = try reader.readScalar()
                case .valueType: cells.valueType = try reader.readScalar()
                case .delay: cells.delay = try reader.readScalar()
                }
            }
            try row(cells, &reader)
        }
    }
}

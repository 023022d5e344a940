import Synchronization

/// The Zabbix database (6.0 or 7.0 schema) of a lab server, in a `ZabbixPostgres` cluster: schema
/// loading, hosts, proxies and items by SQL, history queries.
///
/// Loading: `schema.sql.gz` in full, and from `data.sql.gz` only the rows before the first
/// `INSERT INTO hosts` (roles, users, groups, media types, `config`, regexps, ...). The rest is
/// templates, the "Zabbix server" host and dashboards: loading them takes ~17 s instead of ~0.6 s
/// and makes the server's configuration cache load slowly, and no test needs them.
/// `images.sql.gz` is for the frontend only.
///
/// Where 7.0's schema differs, the inserts follow it: proxies are rows of their own `proxy` table
/// (with `proxy_rtdata`) instead of `hosts` rows with status 5/6, a host names its proxy in
/// `proxyid` with `monitored_by` 1 instead of `proxy_hostid`, and every host has a `host_rtdata` row
/// (active agent availability), as the frontend writes them.
public final class ZabbixServerDatabase: Sendable {
    public let postgres: ZabbixPostgres
    public let name: String
    /// The schema's version: the server started on it must be the same.
    public let version: ZabbixLabVersion
    /// Next hostid/itemid: far above anything in data.sql, so lab rows never collide with it.
    private let nextId = Mutex(1_000_000)

    private init(postgres: ZabbixPostgres, name: String, version: ZabbixLabVersion) {
        self.postgres = postgres
        self.name = name
        self.version = version
    }

    /// Creates database `name` in `postgres` and loads `version`'s server schema and base data.
    public static func create(
        in postgres: ZabbixPostgres,
        name: String = "zabbix",
        version: ZabbixLabVersion = .v6_0
    ) async throws -> ZabbixServerDatabase {
        guard let schema = version.programs.serverSchemaDirectory else {
            throw ZabbixLabError.missing("zabbix-server-pgsql \(version) schema (schema.sql.gz)")
        }
        try await postgres.createDatabase(name)
        try await postgres.shell(
            """
            gzip -dc '\(schema)/schema.sql.gz' | $PSQL -1 >/dev/null
            { gzip -dc '\(schema)/data.sql.gz' | sed '/^INSERT INTO hosts /,$d'; echo 'COMMIT;'; } | $PSQL >/dev/null
            """,
            database: name
        )
        return ZabbixServerDatabase(postgres: postgres, name: name, version: version)
    }

    /// Runs SQL against this database and returns the rows.
    @discardableResult
    public func query(_ sql: String) async throws -> [[String]] {
        try await postgres.query(sql, database: name)
    }

    /// Inserts a monitored host `name` with `items` plus the trapper item `lab.ready`, each with
    /// its `item_rtdata` row, in one transaction. `proxyid` (from `addProxy`) makes it monitored by that proxy.
    /// `agentPort` gives the host an agent interface at 127.0.0.1:`agentPort`, which passive
    /// (`.agent`) items need: the server (or proxy) then polls the agent there.
    ///
    /// `psk` (identity, hex key) makes the server accept the host's agents both unencrypted and
    /// with that pre-shared key (`tls_accept` 1|2; unencrypted keeps the readiness probe working).
    ///
    /// The server sees the host after its next configuration sync (`CacheUpdateFrequency`);
    /// `ZabbixServerLab.addHost` waits for that.
    public func addHost(
        _ name: String,
        items: [ZabbixItemSpec],
        proxyid: Int? = nil,
        agentPort: Int? = nil,
        psk: (identity: String, key: String)? = nil
    ) async throws -> ZabbixHostRecord {
        if agentPort == nil, items.contains(where: { $0.type == .agent }) {
            throw ZabbixLabError.missing("agentPort for passive items on host \(name)")
        }
        let all = items + [.trapper(ZabbixHostRecord.readinessKey)]
        let hostid = allocateId()
        var records: [String: (itemid: Int, valueType: ZabbixValueType)] = [:]
        var sql = "BEGIN;\n"
        let proxy = proxyid.map(String.init) ?? "NULL"
        switch version {
        case .v6_0:
            sql +=
                "INSERT INTO hosts (hostid, host, name, status, proxy_hostid) VALUES "
                + "(\(hostid), \(literal(name)), \(literal(name)), 0, \(proxy));\n"
        case .v7_0:
            sql +=
                "INSERT INTO hosts (hostid, host, name, status, proxyid, monitored_by) VALUES "
                + "(\(hostid), \(literal(name)), \(literal(name)), 0, \(proxy), \(proxyid == nil ? 0 : 1));\n"
            sql += "INSERT INTO host_rtdata (hostid) VALUES (\(hostid));\n"
        }
        if let psk {
            sql +=
                "UPDATE hosts SET tls_accept = 3, tls_psk_identity = \(literal(psk.identity)), "
                + "tls_psk = \(literal(psk.key)) WHERE hostid = \(hostid);\n"
        }
        var interfaceid = "NULL"
        if let agentPort {
            interfaceid = String(allocateId())
            sql +=
                "INSERT INTO interface (interfaceid, hostid, main, type, useip, ip, dns, port) VALUES "
                + "(\(interfaceid), \(hostid), 1, 1, 1, '127.0.0.1', '', '\(agentPort)');\n"
        }
        sql += itemInserts(all, hostid: hostid, interfaceid: interfaceid, into: &records)
        sql += "COMMIT;\n"
        try await query(sql)
        return ZabbixHostRecord(hostid: hostid, name: name, items: records)
    }

    /// Adds `items` (no passive ones: they would need the host's interface) to an existing host,
    /// in one transaction, and returns the host with all its items. The server (and a proxy, in
    /// its next incremental configuration) learns them after its next configuration sync.
    public func addItems(to host: ZabbixHostRecord, _ items: [ZabbixItemSpec]) async throws -> ZabbixHostRecord {
        if items.contains(where: { $0.type == .agent }) {
            throw ZabbixLabError.missing("an interface for passive items added to \(host.name)")
        }
        var records = host.items
        let sql =
            "BEGIN;\n" + itemInserts(items, hostid: host.hostid, interfaceid: "NULL", into: &records) + "COMMIT;\n"
        try await query(sql)
        return ZabbixHostRecord(hostid: host.hostid, name: host.name, items: records)
    }

    /// `items` and `item_rtdata` rows for `items` of `hostid`, recording each new itemid in `records`.
    private func itemInserts(
        _ items: [ZabbixItemSpec],
        hostid: Int,
        interfaceid: String,
        into records: inout [String: (itemid: Int, valueType: ZabbixValueType)]
    ) -> String {
        var sql = ""
        for item in items {
            let itemid = allocateId()
            records[item.key] = (itemid, item.valueType)
            let itemInterface = item.type == .agent ? interfaceid : "NULL"
            sql +=
                "INSERT INTO items (itemid, type, hostid, name, key_, value_type, delay, interfaceid) VALUES "
                + "(\(itemid), \(item.type.rawValue), \(hostid), \(literal(item.key)), \(literal(item.key)), "
                + "\(item.valueType.rawValue), \(literal(item.delay)), \(itemInterface));\n"
            sql += "INSERT INTO item_rtdata (itemid) VALUES (\(itemid));\n"
        }
        return sql
    }

    /// Inserts a proxy `name` and returns its id (6.0: a `hosts` row, status 5 active or 6 passive;
    /// 7.0: a `proxy` row, operating mode 0 active or 1 passive, and its `proxy_rtdata`). A passive
    /// proxy (`passivePort`) is polled by the server at `127.0.0.1:passivePort`.
    public func addProxy(_ name: String, passivePort: Int? = nil) async throws -> Int {
        let proxyid = allocateId()
        var sql = "BEGIN;\n"
        switch version {
        case .v6_0:
            sql +=
                "INSERT INTO hosts (hostid, host, name, status) VALUES "
                + "(\(proxyid), \(literal(name)), \(literal(name)), \(passivePort == nil ? 5 : 6));\n"
            if let passivePort {
                sql +=
                    "INSERT INTO interface (interfaceid, hostid, main, type, useip, ip, dns, port) VALUES "
                    + "(\(allocateId()), \(proxyid), 1, 0, 1, '127.0.0.1', '', '\(passivePort)');\n"
            }
        case .v7_0:
            sql +=
                "INSERT INTO proxy (proxyid, name, operating_mode, address, port) VALUES "
                + "(\(proxyid), \(literal(name)), \(passivePort == nil ? 0 : 1), '127.0.0.1', '\(passivePort ?? 10051)');\n"
            sql += "INSERT INTO proxy_rtdata (proxyid) VALUES (\(proxyid));\n"
        }
        sql += "COMMIT;\n"
        try await query(sql)
        return proxyid
    }

    /// Values stored for `itemid` in the history table of `valueType`, oldest first.
    /// (Values travel hex-encoded from psql, so newlines and tabs in text values survive.)
    public func history(itemid: Int, valueType: ZabbixValueType) async throws -> [ZabbixHistoryValue] {
        let rows = try await query(
            """
            SELECT clock, ns, encode(convert_to(value::text, 'UTF8'), 'hex') FROM \(valueType.historyTable)
            WHERE itemid = \(itemid) ORDER BY clock, ns;
            """
        )
        return rows.compactMap { row in
            guard row.count == 3, let clock = Int(row[0]), let ns = Int(row[1]) else { return nil }
            return ZabbixHistoryValue(clock: clock, ns: ns, value: Self.fromHex(row[2]))
        }
    }

    private static func fromHex(_ hex: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hex.utf8.count / 2)
        var high: UInt8?
        for character in hex.utf8 {
            let nibble: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = character - UInt8(ascii: "a") + 10
            default: continue
            }
            if let h = high {
                bytes.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func allocateId() -> Int {
        nextId.withLock { id in
            defer { id += 1 }
            return id
        }
    }

    /// A SQL string literal.
    private func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }
}

import Foundation

/// Where one Zabbix version's real programs live (see `scripts/install-test-deps.sh`):
///
/// - 6.0: the installed Debian bookworm packages (`/usr/sbin/zabbix_agentd`, ...) and the server
///   unpacked into `$ZABBIX_SERVER_ROOT` (default `/opt/zabbix-server`; its package conflicts with
///   the proxy's);
/// - 7.0: everything unpacked from bookworm-backports into `$ZABBIX7_ROOT` (default
///   `/opt/zabbix-7.0`), since its packages conflict with the installed 6.0 ones.
///
/// The static members name the 6.0 programs, for tests that do not take a version.
public struct ZabbixPrograms: Sendable {
    public let version: ZabbixLabVersion
    /// Prefix of the client and agent programs' paths: "" (installed) or the unpacked root.
    public let root: String
    /// Root of the unpacked `zabbix-server-pgsql` package.
    public let serverRoot: String

    public init(_ version: ZabbixLabVersion) {
        let environment = ProcessInfo.processInfo.environment
        self.version = version
        switch version {
        case .v6_0:
            root = ""
            serverRoot = environment["ZABBIX_SERVER_ROOT"] ?? "/opt/zabbix-server"
        case .v7_0:
            root = environment["ZABBIX7_ROOT"] ?? "/opt/zabbix-7.0"
            serverRoot = root
        }
    }

    public var agentd: String { "\(root)/usr/sbin/zabbix_agentd" }
    public var agent2: String { "\(root)/usr/sbin/zabbix_agent2" }
    public var proxy: String { "\(root)/usr/sbin/zabbix_proxy" }
    public var sender: String { "\(root)/usr/bin/zabbix_sender" }
    public var get: String { "\(root)/usr/bin/zabbix_get" }

    /// Installed locations a 6.0 server may have instead of the unpacked one.
    private var serverRoots: [String] { version == .v6_0 ? [serverRoot, ""] : [serverRoot] }

    /// `zabbix_server` from the unpacked package (6.0: or an installed one); nil if there is none.
    public var server: String? {
        serverRoots.map { "\($0)/usr/sbin/zabbix_server" }.first(where: Self.isExecutable)
    }

    /// Directory holding `schema.sql.gz` and `data.sql.gz` for PostgreSQL; nil if absent.
    public var serverSchemaDirectory: String? {
        serverRoots.map { "\($0)/usr/share/zabbix-server-pgsql" }.first {
            FileManager.default.fileExists(atPath: "\($0)/schema.sql.gz")
        }
    }

    /// The SQLite schema of `zabbix-proxy-sqlite3`; nil if absent.
    public var proxySchema: String? {
        let path = "\(root)/usr/share/zabbix-proxy-sqlite3/schema.sql.gz"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// Why this version's agents, proxy, sender and get cannot run here, or nil if they can.
    public var unavailableReason: String? {
        let missing = [agentd, agent2, proxy, sender, get].filter { !Self.isExecutable($0) }
        guard !missing.isEmpty else { return nil }
        return
            "Zabbix \(version) programs missing (\(missing.joined(separator: ", "))): run scripts/install-test-deps.sh"
    }

    /// Why a full Zabbix server of this version cannot be started here, or nil if it can
    /// (server binary, schema, PostgreSQL).
    public var serverUnavailableReason: String? {
        if server == nil {
            return "zabbix_server \(version) not found under \(serverRoot) (run scripts/install-test-deps.sh)"
        }
        if serverSchemaDirectory == nil { return "zabbix-server-pgsql \(version) schema not found under \(serverRoot)" }
        if Self.postgresBin == nil { return "PostgreSQL server not installed (run scripts/install-test-deps.sh)" }
        return nil
    }

    /// `bin` directory of the newest PostgreSQL server installed (`initdb`, `pg_ctl`, `psql`); nil if none.
    public static var postgresBin: String? {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return versions.compactMap(Int.init).sorted().reversed()
            .map { "\(root)/\($0)/bin" }
            .first { isExecutable("\($0)/initdb") }
    }

    public static func isExecutable(_ path: String) -> Bool {
        FileManager.default.isExecutableFile(atPath: path)
    }
}

extension ZabbixPrograms {
    /// The 6.0 programs, for tests that name no version.
    public static let v6_0 = ZabbixPrograms(.v6_0)

    public static var agentd: String { v6_0.agentd }
    public static var agent2: String { v6_0.agent2 }
    public static var proxy: String { v6_0.proxy }
    public static var sender: String { v6_0.sender }
    public static var get: String { v6_0.get }
    public static var server: String? { v6_0.server }
    public static var serverRoot: String { v6_0.serverRoot }
    public static var serverSchemaDirectory: String? { v6_0.serverSchemaDirectory }
    public static var serverUnavailableReason: String? { v6_0.serverUnavailableReason }
}

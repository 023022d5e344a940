import Foundation

/// Where the real Debian Zabbix 6.0 programs live (see `scripts/install-test-deps.sh`).
public enum ZabbixPrograms {
    public static let agentd = "/usr/sbin/zabbix_agentd"
    public static let agent2 = "/usr/sbin/zabbix_agent2"
    public static let proxy = "/usr/sbin/zabbix_proxy"
    public static let sender = "/usr/bin/zabbix_sender"
    public static let get = "/usr/bin/zabbix_get"

    /// Root of the unpacked `zabbix-server-pgsql` package: `$ZABBIX_SERVER_ROOT`, else `/opt/zabbix-server`.
    /// (The package conflicts with `zabbix-proxy-sqlite3`, so it is unpacked rather than installed.)
    public static var serverRoot: String {
        ProcessInfo.processInfo.environment["ZABBIX_SERVER_ROOT"] ?? "/opt/zabbix-server"
    }

    /// `zabbix_server` from the unpacked package, or an installed one; nil if neither exists.
    public static var server: String? {
        ["\(serverRoot)/usr/sbin/zabbix_server", "/usr/sbin/zabbix_server"].first(where: isExecutable)
    }

    /// Directory holding `schema.sql.gz` and `data.sql.gz` for PostgreSQL; nil if absent.
    public static var serverSchemaDirectory: String? {
        ["\(serverRoot)/usr/share/zabbix-server-pgsql", "/usr/share/zabbix-server-pgsql"].first {
            FileManager.default.fileExists(atPath: "\($0)/schema.sql.gz")
        }
    }

    /// `bin` directory of the newest PostgreSQL server installed (`initdb`, `pg_ctl`, `psql`); nil if none.
    public static var postgresBin: String? {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return versions.compactMap(Int.init).sorted().reversed()
            .map { "\(root)/\($0)/bin" }
            .first { isExecutable("\($0)/initdb") }
    }

    /// Why a full Zabbix server cannot be started here, or nil if it can (server binary, schema, PostgreSQL).
    public static var serverUnavailableReason: String? {
        if server == nil {
            return "zabbix_server not found under \(serverRoot) (run scripts/install-test-deps.sh)"
        }
        if serverSchemaDirectory == nil { return "zabbix-server-pgsql schema not found under \(serverRoot)" }
        if postgresBin == nil { return "PostgreSQL server not installed (run scripts/install-test-deps.sh)" }
        return nil
    }

    public static func isExecutable(_ path: String) -> Bool {
        FileManager.default.isExecutableFile(atPath: path)
    }
}

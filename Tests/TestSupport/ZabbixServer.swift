/// A real `zabbix_server` (Zabbix 6.0 or 7.0, PostgreSQL) on 127.0.0.1, from the unpacked
/// `zabbix-server-pgsql` package, with a small footprint: few workers, 16 MB cache, and a
/// configuration sync every second so hosts inserted by SQL become known quickly.
///
/// Usually started through `ZabbixServerLab`, which also provides the database (of the same version).
public final class ZabbixServer: Sendable {
    /// The running daemon: port, log, pid, stop.
    public let daemon: ZabbixDaemon

    /// Trapper port on 127.0.0.1 (senders, active agents and proxies connect here).
    public var port: Int { daemon.port }

    private init(daemon: ZabbixDaemon) { self.daemon = daemon }

    /// Starts `zabbix_server -f -c <conf>` of the database's version against `database` and returns
    /// once it accepts connections (about 0.1 s with the lab's trimmed database). `extraConfiguration`
    /// lines are appended to the configuration.
    public static func start(
        database: ZabbixServerDatabase,
        extraConfiguration: [String] = []
    ) async throws -> ZabbixServer {
        var options = ZabbixDaemon.Options(.server, version: database.version) { directory in
            [
                "SocketDir=\(directory)",
                "DBHost=127.0.0.1",
                "DBPort=\(database.postgres.port)",
                "DBName=\(database.name)",
                "DBUser=\(database.postgres.user)",
                "CacheSize=16M",
                "CacheUpdateFrequency=1",
                "StartPollers=1",
                "StartPollersUnreachable=1",
                "StartTrappers=3",
                "StartPingers=0",
                "StartDiscoverers=0",
                "StartHTTPPollers=0",
                "StartTimers=1",
                "StartEscalators=1",
                "StartAlerters=1",
                "StartPreprocessors=1",
                "StartLLDProcessors=1",
                "StartDBSyncers=1",
                "StartHistoryPollers=1",
                "StartProxyPollers=1",
                "StartReportWriters=0",
                "HousekeepingFrequency=0",
            ] + extraConfiguration
        }
        options.startTimeout = .seconds(60)
        return ZabbixServer(daemon: try await ZabbixDaemon.start(options))
    }

    /// The server's log so far.
    public func log() -> String { daemon.log() }

    /// Stops the server and all its workers (it flushes history first); throws if any survive.
    public func stop() async throws { try await daemon.stop(grace: .seconds(30)) }
}

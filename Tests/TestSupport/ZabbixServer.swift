/// A real `zabbix_server` (Zabbix 6.0, PostgreSQL) on 127.0.0.1, from the unpacked
/// `zabbix-server-pgsql` package, with a small footprint: few workers, 16 MB cache, and a
/// configuration sync every second so hosts inserted by SQL become known quickly.
///
/// Usually started through `ZabbixServerLab`, which also provides the database.
public final class ZabbixServer: Sendable {
    /// The running daemon: port, log, pid, stop.
    public let daemon: ZabbixDaemon

    /// Trapper port on 127.0.0.1 (senders, active agents and proxies connect here).
    public var port: Int { daemon.port }

    private init(daemon: ZabbixDaemon) { self.daemon = daemon }

    /// Starts `zabbix_server -f -c <conf>` against `database` and returns once it accepts
    /// connections (about 0.1 s with the lab's trimmed database). `extraConfiguration` lines
    /// are appended to the configuration.
    public static func start(database: ZabbixServerDatabase, extraConfiguration: [String] = []) async throws -> ZabbixServer {
        guard let executable = ZabbixPrograms.server else { throw ZabbixLabError.missing("zabbix_server") }
        let directory = try ZabbixLabDirectory.create("server")
        let port = try LoopbackPort.free()
        let logFile = "\(directory)/zabbix_server.log"
        let configuration = [
            "AllowRoot=1",
            "ListenIP=127.0.0.1",
            "ListenPort=\(port)",
            "LogType=file",
            "LogFile=\(logFile)",
            "LogFileSize=0",
            "PidFile=\(directory)/zabbix_server.pid",
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
            "Timeout=10",
        ] + extraConfiguration
        do {
            let daemon = try await ZabbixDaemon.launch(
                program: "zabbix_server", executable: executable,
                arguments: { ["-f", "-c", $0] }, configuration: configuration,
                port: port, directory: directory, logFile: logFile, startTimeout: .seconds(60))
            return ZabbixServer(daemon: daemon)
        } catch {
            ZabbixLabDirectory.remove(directory)
            throw error
        }
    }

    /// The server's log so far.
    public func log() -> String { daemon.log() }

    /// Stops the server and all its workers (it flushes history first); throws if any survive.
    public func stop() async throws { try await daemon.stop(grace: .seconds(30)) }
}

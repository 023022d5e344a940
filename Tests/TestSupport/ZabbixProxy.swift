import Foundation

/// A real `zabbix_proxy` (Zabbix 6.0, SQLite3 backend) on 127.0.0.1 in its own lab directory.
///
/// The proxy creates its SQLite database (`<directory>/proxy.db`) with the schema itself on first
/// start ("creating database ..."), so no schema file is needed. With no server behind it, it still
/// accepts agents and senders and answers them itself: senders get `processed: 0; failed: 1`,
/// active agents `host [x] not found`.
public final class ZabbixProxy: Sendable {
    /// What to start.
    public struct Options: Sendable {
        /// `Hostname=`: the proxy name the server must know (a `hosts` row with status 5 or 6).
        public var hostname = "lab-proxy"
        /// Active mode (`ProxyMode=0`) talking to `Server=` this `"127.0.0.1:PORT"`; nil starts a
        /// passive proxy (`ProxyMode=1`, `Server=127.0.0.1`) that waits for a server to poll it.
        public var activeServer: String? = nil
        /// `ConfigFrequency=` (active mode): seconds between configuration requests to the server.
        public var configFrequency = 10
        /// `DataSenderFrequency=` (active mode): seconds between data uploads.
        public var dataSenderFrequency = 1
        /// More `Key=Value` lines appended to the configuration.
        public var extraConfiguration: [String] = []
        /// Port to listen on; nil picks a free one.
        public var port: Int? = nil

        public init(hostname: String = "lab-proxy", activeServer: String? = nil) {
            self.hostname = hostname
            self.activeServer = activeServer
        }
    }

    /// The running daemon: port, log, pid, stop.
    public let daemon: ZabbixDaemon

    /// Trapper port on 127.0.0.1 (agents and senders connect here).
    public var port: Int { daemon.port }

    private init(daemon: ZabbixDaemon) { self.daemon = daemon }

    /// Starts `zabbix_proxy -f -c <conf>` and returns once it accepts connections (about 0.5 s,
    /// most of it creating the database).
    public static func start(_ options: Options = Options()) async throws -> ZabbixProxy {
        let directory = try ZabbixLabDirectory.create("proxy")
        let port = try options.port ?? LoopbackPort.free()
        let logFile = "\(directory)/zabbix_proxy.log"
        var configuration = [
            "AllowRoot=1",
            "ListenIP=127.0.0.1",
            "ListenPort=\(port)",
            "Hostname=\(options.hostname)",
            "LogType=file",
            "LogFile=\(logFile)",
            "LogFileSize=0",
            "PidFile=\(directory)/zabbix_proxy.pid",
            "SocketDir=\(directory)",
            "DBName=\(directory)/proxy.db",
            "CacheSize=8M",
            "StartPollers=1",
            "StartPollersUnreachable=1",
            "StartTrappers=2",
            "StartPingers=0",
            "StartDiscoverers=0",
            "StartHTTPPollers=0",
            "StartPreprocessors=1",
            "StartDBSyncers=1",
            "StartHistoryPollers=0",
            "Timeout=10",
        ]
        if let activeServer = options.activeServer {
            configuration += [
                "ProxyMode=0",
                "Server=\(activeServer)",
                "ConfigFrequency=\(options.configFrequency)",
                "DataSenderFrequency=\(options.dataSenderFrequency)",
            ]
        } else {
            configuration += ["ProxyMode=1", "Server=127.0.0.1"]
        }
        configuration += options.extraConfiguration
        do {
            let daemon = try await ZabbixDaemon.launch(
                program: "zabbix_proxy", executable: ZabbixPrograms.proxy,
                arguments: { ["-f", "-c", $0] }, configuration: configuration,
                port: port, directory: directory, logFile: logFile)
            return ZabbixProxy(daemon: daemon)
        } catch {
            ZabbixLabDirectory.remove(directory)
            throw error
        }
    }

    /// The proxy's log so far.
    public func log() -> String { daemon.log() }

    /// Starts one, runs `body` with it, and stops it whether `body` succeeded or threw.
    public static func withRunning<T: Sendable>(
        _ options: Options = Options(), _ body: (ZabbixProxy) async throws -> T
    ) async throws -> T {
        let proxy = try await start(options)
        do {
            let result = try await body(proxy)
            try await proxy.stop()
            return result
        } catch {
            try? await proxy.stop()
            throw error
        }
    }

    /// Stops the proxy and all its workers; throws if any survive.
    public func stop() async throws { try await daemon.stop() }
}

/// A real `zabbix_proxy` (Zabbix 6.0 or 7.0, SQLite3 backend) on 127.0.0.1 in its own lab directory.
///
/// Its SQLite database (`<directory>/proxy.db`) is created before it starts, from the package's
/// `schema.sql.gz` in one transaction (about 0.1 s): left to itself, a 7.0 proxy creates it
/// statement by statement, each synced to disk ("creating database ...", about 15 s). With no
/// server behind it, it still accepts agents and senders and answers them itself: senders get
/// `processed: 0; failed: 1`, active agents `host [x] not found`.
///
/// 7.0 differences the configuration absorbs: `ConfigFrequency` is `ProxyConfigFrequency` (the old
/// name is deprecated), and there is no `StartHistoryPollers`. A 7.0 proxy syncs its configuration
/// incrementally (`full_sync` once, then only changes) and sends `host data` in `proxy data`.
public final class ZabbixProxy: ZabbixLabDaemon {
    /// What to start.
    public struct Options: ZabbixLabDaemonOptions {
        /// Which Zabbix version's proxy.
        public var version: ZabbixLabVersion = .v6_0
        /// `Hostname=`: the proxy name the server must know (`ZabbixServerDatabase.addProxy`).
        public var hostname = "lab-proxy"
        /// Active mode (`ProxyMode=0`) talking to `Server=` this `"127.0.0.1:PORT"`; nil starts a
        /// passive proxy (`ProxyMode=1`, `Server=127.0.0.1`) that waits for a server to poll it.
        public var activeServer: String?
        /// Seconds between configuration requests to the server (active mode): `ConfigFrequency=`
        /// (6.0), `ProxyConfigFrequency=` (7.0).
        public var configFrequency = 10
        /// `DataSenderFrequency=` (active mode): seconds between data uploads.
        public var dataSenderFrequency = 1
        /// More `Key=Value` lines appended to the configuration.
        public var extraConfiguration: [String] = []
        /// Port to listen on; nil picks a free one.
        public var port: Int?

        public init() {}

        public init(hostname: String = "lab-proxy", activeServer: String? = nil, version: ZabbixLabVersion = .v6_0) {
            self.hostname = hostname
            self.activeServer = activeServer
            self.version = version
        }

        /// The proxy's own lines (after `ZabbixDaemonProgram.commonConfiguration`).
        func configuration(directory: String) -> [String] {
            var lines = [
                "Hostname=\(hostname)",
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
            ]
            if version == .v6_0 { lines.append("StartHistoryPollers=0") }
            if let activeServer {
                let frequency = version == .v6_0 ? "ConfigFrequency" : "ProxyConfigFrequency"
                lines += [
                    "ProxyMode=0",
                    "Server=\(activeServer)",
                    "\(frequency)=\(configFrequency)",
                    "DataSenderFrequency=\(dataSenderFrequency)",
                ]
            } else {
                lines += ["ProxyMode=1", "Server=127.0.0.1"]
            }
            return lines + extraConfiguration
        }
    }

    public let daemon: ZabbixDaemon

    private init(daemon: ZabbixDaemon) { self.daemon = daemon }

    /// Creates its database, starts `zabbix_proxy -f -c <conf>` and returns once it accepts
    /// connections (about 0.3 s).
    public static func start(_ options: Options = Options()) async throws -> ZabbixProxy {
        var daemonOptions = ZabbixDaemon.Options(.proxy, version: options.version, port: options.port) {
            options.configuration(directory: $0)
        }
        if let schema = options.version.programs.proxySchema {
            daemonOptions.prepare = { directory in
                let created = try await ProcessRunner.run(
                    "/bin/sh",
                    [
                        "-c",
                        """
                        set -e
                        { echo 'BEGIN;'; gzip -dc '\(schema)'; echo 'COMMIT;'; } | sqlite3 '\(directory)/proxy.db'
                        """,
                    ]
                )
                guard created.exitCode == 0 else {
                    throw ZabbixLabError.commandFailed(command: "sqlite3 proxy.db < \(schema)", result: created)
                }
            }
        }
        return ZabbixProxy(daemon: try await ZabbixDaemon.start(daemonOptions))
    }
}

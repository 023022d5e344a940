import Foundation

/// A real `zabbix_agentd` (Zabbix 6.0, C agent) on 127.0.0.1, in the foreground, in its own lab directory.
///
/// Passive checks are always on (`Server=127.0.0.1`, so `zabbix_get` from loopback is allowed);
/// active checks are on when `Options.activeServer` is set. It answers the `ZabbixTestItems` keys;
/// for a `log[...]` item, give the server an item on a `ZabbixTestLogFile`.
///
///     let agent = try await ZabbixAgentd.start()
///     // ... zabbix_get -p agent.port ...
///     try await agent.stop()   // always stop what you start, also on failure paths
public final class ZabbixAgentd: Sendable {
    /// What to start.
    public struct Options: Sendable {
        /// `Hostname=`: the host name sent in active checks; must match a host on the server.
        public var hostname = "lab-agentd"
        /// `ServerActive=` (`"127.0.0.1:PORT"`); nil disables active checks.
        public var activeServer: String? = nil
        /// `RefreshActiveChecks=` in seconds (agentd 6.0 refuses values below 60). The agent asks once at
        /// start-up and then only every this many seconds, so create its host on the server first.
        public var refreshActiveChecks = 60
        /// `BufferSend=` in seconds: how long active values wait before they are sent.
        public var bufferSend = 1
        /// More `Key=Value` lines appended to the configuration.
        public var extraConfiguration: [String] = []
        /// Port to listen on; nil picks a free one.
        public var port: Int? = nil

        public init(hostname: String = "lab-agentd", activeServer: String? = nil) {
            self.hostname = hostname
            self.activeServer = activeServer
        }
    }

    /// The running daemon: port, log, pid, stop.
    public let daemon: ZabbixDaemon

    /// Passive-check port on 127.0.0.1.
    public var port: Int { daemon.port }

    private init(daemon: ZabbixDaemon) { self.daemon = daemon }

    /// Starts `zabbix_agentd -f -c <conf>` and returns once it accepts connections.
    public static func start(_ options: Options = Options()) async throws -> ZabbixAgentd {
        let directory = try ZabbixLabDirectory.create("agentd")
        let port = try options.port ?? LoopbackPort.free()
        let logFile = "\(directory)/zabbix_agentd.log"
        var configuration = [
            "AllowRoot=1",
            "ListenIP=127.0.0.1",
            "ListenPort=\(port)",
            "Server=127.0.0.1",
            "Hostname=\(options.hostname)",
            "LogType=file",
            "LogFile=\(logFile)",
            "LogFileSize=0",
            "PidFile=\(directory)/zabbix_agentd.pid",
            "StartAgents=2",
            "Timeout=10",
            "RefreshActiveChecks=\(options.refreshActiveChecks)",
            "BufferSend=\(options.bufferSend)",
        ]
        if let activeServer = options.activeServer { configuration.append("ServerActive=\(activeServer)") }
        configuration += ZabbixTestItems.userParameters + options.extraConfiguration
        do {
            let daemon = try await ZabbixDaemon.launch(
                program: "zabbix_agentd", executable: ZabbixPrograms.agentd,
                arguments: { ["-f", "-c", $0] }, configuration: configuration,
                port: port, directory: directory, logFile: logFile)
            return ZabbixAgentd(daemon: daemon)
        } catch {
            ZabbixLabDirectory.remove(directory)
            throw error
        }
    }

    /// The agent's log so far.
    public func log() -> String { daemon.log() }

    /// Starts one, runs `body` with it, and stops it whether `body` succeeded or threw.
    public static func withRunning<T: Sendable>(
        _ options: Options = Options(), _ body: (ZabbixAgentd) async throws -> T
    ) async throws -> T {
        let agent = try await start(options)
        do {
            let result = try await body(agent)
            try await agent.stop()
            return result
        } catch {
            try? await agent.stop()
            throw error
        }
    }

    /// Stops the agent and all its forked workers; throws if any survive.
    public func stop() async throws { try await daemon.stop() }
}

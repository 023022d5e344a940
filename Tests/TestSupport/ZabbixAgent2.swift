import Foundation

/// A real `zabbix_agent2` (Zabbix 6.0, Go agent) on 127.0.0.1 in its own lab directory.
///
/// Same shape as `ZabbixAgentd`: passive checks always on, active checks when
/// `Options.activeServer` is set, the `ZabbixTestItems` keys answered. agent2 runs in the
/// foreground by default and needs its control and plugin sockets somewhere private.
/// Unlike agentd it sends compressed frames and, to a 6.0 server, itemid-shaped data.
public final class ZabbixAgent2: Sendable {
    /// What to start.
    public struct Options: Sendable {
        /// `Hostname=`: the host name sent in active checks.
        public var hostname = "lab-agent2"
        /// `ServerActive=` (`"127.0.0.1:PORT"`); nil disables active checks.
        public var activeServer: String? = nil
        /// `RefreshActiveChecks=` in seconds.
        public var refreshActiveChecks = 60
        /// `BufferSend=` in seconds.
        public var bufferSend = 1
        /// More `Key=Value` lines appended to the configuration.
        public var extraConfiguration: [String] = []
        /// Port to listen on; nil picks a free one.
        public var port: Int? = nil

        public init(hostname: String = "lab-agent2", activeServer: String? = nil) {
            self.hostname = hostname
            self.activeServer = activeServer
        }
    }

    /// The running daemon: port, log, pid, stop.
    public let daemon: ZabbixDaemon

    /// Passive-check port on 127.0.0.1.
    public var port: Int { daemon.port }

    private init(daemon: ZabbixDaemon) { self.daemon = daemon }

    /// Starts `zabbix_agent2 -c <conf>` and returns once it accepts connections.
    public static func start(_ options: Options = Options()) async throws -> ZabbixAgent2 {
        let directory = try ZabbixLabDirectory.create("agent2")
        let port = try options.port ?? LoopbackPort.free()
        let logFile = "\(directory)/zabbix_agent2.log"
        var configuration = [
            "ListenIP=127.0.0.1",
            "ListenPort=\(port)",
            "Server=127.0.0.1",
            "Hostname=\(options.hostname)",
            "LogType=file",
            "LogFile=\(logFile)",
            "LogFileSize=0",
            "PidFile=\(directory)/zabbix_agent2.pid",
            "ControlSocket=\(directory)/agent2.sock",
            "PluginSocket=\(directory)/agent2.plugin.sock",
            "Timeout=10",
            "RefreshActiveChecks=\(options.refreshActiveChecks)",
            "BufferSend=\(options.bufferSend)",
        ]
        if let activeServer = options.activeServer { configuration.append("ServerActive=\(activeServer)") }
        configuration += ZabbixTestItems.userParameters + options.extraConfiguration
        do {
            let daemon = try await ZabbixDaemon.launch(
                program: "zabbix_agent2", executable: ZabbixPrograms.agent2,
                arguments: { ["-c", $0] }, configuration: configuration,
                port: port, directory: directory, logFile: logFile)
            return ZabbixAgent2(daemon: daemon)
        } catch {
            ZabbixLabDirectory.remove(directory)
            throw error
        }
    }

    /// The agent's log so far.
    public func log() -> String { daemon.log() }

    /// Starts one, runs `body` with it, and stops it whether `body` succeeded or threw.
    public static func withRunning<T: Sendable>(
        _ options: Options = Options(), _ body: (ZabbixAgent2) async throws -> T
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

    /// Stops the agent; throws if any of its processes survive.
    public func stop() async throws { try await daemon.stop() }
}

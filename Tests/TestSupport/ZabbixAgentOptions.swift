/// What to start a lab agent (`ZabbixAgentd` or `ZabbixAgent2`) with.
///
/// Passive checks are always on (`Server=127.0.0.1`, so `zabbix_get` from loopback is allowed);
/// active checks are on when `activeServer` is set. The agent answers the `ZabbixTestItems` keys.
public struct ZabbixAgentOptions: ZabbixLabDaemonOptions {
    /// Which Zabbix version's agent.
    public var version: ZabbixLabVersion = .v6_0
    /// `Hostname=`: the host name sent in active checks; must match a host on the server.
    /// nil: `lab-agentd` / `lab-agent2`.
    public var hostname: String?
    /// `ServerActive=` (`"127.0.0.1:PORT"`); nil disables active checks.
    public var activeServer: String?
    /// `RefreshActiveChecks=` in seconds (agentd 6.0 refuses values below 60). The agent asks once at
    /// start-up and then only every this many seconds, so create its host on the server first.
    public var refreshActiveChecks = 60
    /// `BufferSend=` in seconds: how long active values wait before they are sent.
    public var bufferSend = 1
    /// `HeartbeatFrequency=` in seconds (6.2+: a 6.0 agent refuses the parameter); nil leaves the
    /// agent's default (60 s, when active checks are on).
    public var heartbeatFrequency: Int?
    /// More `Key=Value` lines appended to the configuration.
    public var extraConfiguration: [String] = []
    /// Port to listen on; nil picks a free one.
    public var port: Int?

    public init() {}

    public init(hostname: String? = nil, activeServer: String? = nil, version: ZabbixLabVersion = .v6_0) {
        self.hostname = hostname
        self.activeServer = activeServer
        self.version = version
    }

    /// The daemon options for `program` (agentd or agent2).
    func daemonOptions(_ program: ZabbixDaemonProgram) -> ZabbixDaemon.Options {
        let options = self
        return ZabbixDaemon.Options(program, version: version, port: port) { directory in
            var lines = [
                "Server=127.0.0.1",
                "Hostname=\(options.hostname ?? "lab-\(program.directoryName)")",
                "RefreshActiveChecks=\(options.refreshActiveChecks)",
                "BufferSend=\(options.bufferSend)",
            ]
            switch program {
            case .agent2:
                // agent2's control and plugin sockets, somewhere private.
                lines += ["ControlSocket=\(directory)/agent2.sock", "PluginSocket=\(directory)/agent2.plugin.sock"]
            default:
                lines += ["StartAgents=2"]
            }
            if let activeServer = options.activeServer { lines.append("ServerActive=\(activeServer)") }
            if let heartbeat = options.heartbeatFrequency { lines.append("HeartbeatFrequency=\(heartbeat)") }
            return lines + ZabbixTestItems.userParameters + options.extraConfiguration
        }
    }
}

/// A real `zabbix_agent2` (Go agent, Zabbix 6.0 or 7.0) on 127.0.0.1 in its own lab directory.
///
/// Same options as `ZabbixAgentd`. Unlike agentd it sends compressed frames and itemid-shaped
/// `agent data` (6.0 too).
public final class ZabbixAgent2: ZabbixLabDaemon {
    public typealias Options = ZabbixAgentOptions

    public let daemon: ZabbixDaemon

    private init(daemon: ZabbixDaemon) { self.daemon = daemon }

    /// Starts `zabbix_agent2 -c <conf>` (it stays in the foreground) and returns once it accepts connections.
    public static func start(_ options: Options = Options()) async throws -> ZabbixAgent2 {
        ZabbixAgent2(daemon: try await ZabbixDaemon.start(options.daemonOptions(.agent2)))
    }
}

/// A real `zabbix_agentd` (C agent, Zabbix 6.0 or 7.0) on 127.0.0.1, in the foreground, in its own
/// lab directory. For a `log[...]` item, give the server an item on a `ZabbixTestLogFile`.
///
///     let agent = try await ZabbixAgentd.start(ZabbixAgentd.Options(version: .v7_0))
///     // ... zabbix_get -p agent.port ...
///     try await agent.stop()   // always stop what you start, also on failure paths
///
/// 6.0 sends host/key-shaped `agent data`; 7.0 sends itemid-only rows with `variant: 1`, like agent2.
public final class ZabbixAgentd: ZabbixLabDaemon {
    public typealias Options = ZabbixAgentOptions

    public let daemon: ZabbixDaemon

    private init(daemon: ZabbixDaemon) { self.daemon = daemon }

    /// Starts `zabbix_agentd -f -c <conf>` and returns once it accepts connections.
    public static func start(_ options: Options = Options()) async throws -> ZabbixAgentd {
        ZabbixAgentd(daemon: try await ZabbixDaemon.start(options.daemonOptions(.agentd)))
    }
}

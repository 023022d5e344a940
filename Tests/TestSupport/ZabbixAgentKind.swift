/// The two Zabbix agents, for tests that run the same body against both (and both versions:
/// `@Test(arguments: ZabbixLabVersion.allCases, ZabbixAgentKind.allCases)`).
public enum ZabbixAgentKind: String, Sendable, CaseIterable, CustomStringConvertible {
    case agentd
    case agent2

    public var description: String { rawValue }

    /// The program, as logs and process lists name it.
    public var program: ZabbixDaemonProgram { self == .agentd ? .agentd : .agent2 }

    /// Starts this agent with `options`, runs `body` with its daemon, and stops it whether `body`
    /// succeeded or threw.
    public func withRunning<T: Sendable>(
        _ options: ZabbixAgentOptions,
        _ body: (ZabbixDaemon) async throws -> T
    ) async throws -> T {
        switch self {
        case .agentd: return try await ZabbixAgentd.withRunning(options) { try await body($0.daemon) }
        case .agent2: return try await ZabbixAgent2.withRunning(options) { try await body($0.daemon) }
        }
    }
}

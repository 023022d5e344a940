import Foundation
import Riemann
import TestSupport
import Testing

/// `mapping.ttl: auto` with real agents (agentd and agent 2, 6.0 and 7.0) and the real server
/// behind the tee: each event's TTL is three times the update interval the server told the agent
/// in its `active checks` reply.
@Suite(
    "zabbix-tee derives event TTLs from the real server's item intervals",
    .tags(.integration),
    .tier(.integration),
    .serialized,
    .zabbixServerInstalled,
    .timeLimit(.minutes(3))
)
struct EventTTLEndToEndTests {
    static let flexible = "3s;1s/1-7,00:00-24:00"

    @Test(arguments: ZabbixLabVersion.allCases, ZabbixAgentKind.allCases)
    func eventsLiveThreeOfTheirItemsIntervals(_ version: ZabbixLabVersion, _ agent: ZabbixAgentKind) async throws {
        let lab = try await ZabbixServerLab.sharedOrSkip(version)
        let name = "tee-ttl-\(agent)-\(UUID().uuidString.prefix(8).lowercased())"
        let host = try await lab.addHost(
            name,
            items: [
                .active(ZabbixTestItems.intKey, .unsigned, delay: "2s"),
                .active(ZabbixTestItems.floatKey, .float, delay: Self.flexible),
            ]
        )
        let riemann = try await RiemannTestServer.start()
        let port = try LoopbackPort.free()
        let configuration = """
            listeners:
            \(TeeProcess.listener(name: "agents", port: port, targets: [lab.port]))
            riemann:
              servers: ["127.0.0.1:\(riemann.port)"]
              batch: { max_events: 100, max_delay: 20ms }
            mapping:
              ttl: auto
              ttl_multiple: 3
              ttl_fallback: 5m
            """
        // agentd 6.0 is told whole seconds, and 0 for an item with flexible intervals: the fallback.
        let flexibleTTL: Float = agent == .agentd && !version.isAtLeast7 ? 300 : 9
        do {
            try await TeeProcess.withRunning(configuration: configuration, ports: [port]) { _ in
                let server = "127.0.0.1:\(port)"
                let wait: @Sendable () async throws -> Void = {
                    try await riemann.waitUntil(timeout: .seconds(60)) { riemann in
                        let services = Set(riemann.receivedEvents.filter { $0.host == name }.compactMap(\.service))
                        return services.isSuperset(of: [ZabbixTestItems.intKey, ZabbixTestItems.floatKey])
                    }
                }
                switch agent {
                case .agentd:
                    try await ZabbixAgentd.withRunning(
                        ZabbixAgentd.Options(hostname: name, activeServer: server, version: version)
                    ) { _ in try await wait() }
                case .agent2:
                    try await ZabbixAgent2.withRunning(
                        ZabbixAgent2.Options(hostname: name, activeServer: server, version: version)
                    ) { _ in try await wait() }
                }
            }
        } catch {
            await riemann.shutdown()
            throw error
        }
        let events = riemann.receivedEvents.filter { $0.host == name }
        await riemann.shutdown()
        #expect(Set(events.filter { $0.service == ZabbixTestItems.intKey }.map(\.ttl)) == [6], "2s")
        #expect(
            Set(events.filter { $0.service == ZabbixTestItems.floatKey }.map(\.ttl)) == [flexibleTTL],
            "\(Self.flexible)"
        )
    }
}

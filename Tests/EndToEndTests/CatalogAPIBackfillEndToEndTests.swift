import Foundation
import Riemann
import Testing
import TestSupport

/// Acceptance for `catalog.zabbix_api` against the real frontend API (PHP's built-in server on the
/// lab server's own PostgreSQL database), 6.0 and 7.0: a tee that never saw an agent's `active
/// checks` names its itemid-only values through the API; two tees behind a real HAProxy (round
/// robin) in front of the real server name every value of an agent 2 and a proxy whose
/// configuration and data connections alternate between them; with the API stopped the relay
/// carries on and values fall back as `catalog.unresolved` says.
@Suite("catalog backfill from the Zabbix API", .serialized, .timeLimit(.minutes(4)))
struct CatalogAPIBackfillEndToEndTests {
    static func uniqueName(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())" }

    /// A tee in front of `target` with the API backfill, an admin endpoint and Riemann.
    static func configuration(
        port: Int, target: Int, riemann: Int, admin: Int, frontend: ZabbixFrontend, tokenFile: String, wait: String
    ) -> String {
        """
        listeners:
        \(TeeProcess.listener(name: "upstream", port: port, targets: [target]))
        catalog:
          unresolved_wait: \(wait)
          unresolved: emit
          zabbix_api:
            url: \(frontend.url)
            token_file: \(tokenFile)
            timeout: 2s
            breaker_failures: 2
            breaker_open: 2s
        riemann:
          servers: ["127.0.0.1:\(riemann)"]
          batch: { max_events: 100, max_delay: 20ms }
        admin:
          listen: "127.0.0.1:\(admin)"
        """
    }

    /// The frontend of the lab's version and a fresh API token, also in a 0600 file of its own
    /// (it outlives the frontend: tees started after the API stopped read it), or a skip.
    static func frontendWithToken(_ lab: ZabbixServerLab) async throws -> (ZabbixFrontend, token: String, file: String) {
        if let reason = ZabbixFrontend.unavailableReason(lab.version) {
            try Test.cancel(Comment(rawValue: "needs \(reason)"))
        }
        let frontend = try await ZabbixFrontend.start(lab: lab)
        do {
            let token = try await frontend.createToken()
            let file = "\(try ZabbixLabDirectory.create("token"))/api-token"
            try token.write(toFile: file, atomically: false, encoding: .utf8)
            chmod(file, 0o600)
            return (frontend, token, file)
        } catch {
            await frontend.stop()
            throw error
        }
    }

    @Test(arguments: ZabbixLabVersion.allCases)
    func aTeeThatNeverSawTheActiveChecksNamesAgent2ValuesThroughTheAPIAndFallsBackWhenItIsDown(
        _ version: ZabbixLabVersion
    ) async throws {
        let lab = try await ZabbixServerLab.sharedOrSkip(version)
        let host = try await lab.addHost(Self.uniqueName("tee-api"), items: [.active(ZabbixTestItems.intKey, .unsigned)])
        let itemid = host.itemid(ZabbixTestItems.intKey)
        let (frontend, token, tokenFile) = try await Self.frontendWithToken(lab)
        defer { ZabbixLabDirectory.remove((tokenFile as NSString).deletingLastPathComponent) }
        let riemann = try await RiemannTestServer.start()
        let port = try LoopbackPort.free()
        let admin = try LoopbackPort.free()
        let configuration = Self.configuration(
            port: port, target: lab.port, riemann: riemann.port, admin: admin, frontend: frontend,
            tokenFile: tokenFile, wait: "3s")
        let name = host.name

        // First tee: relays the agent's one `active checks` (refreshed only every 10 minutes).
        let first = try await TeeProcess.start(configuration: configuration, ports: [port])
        var agentOptions = ZabbixAgentOptions(hostname: host.name, activeServer: "127.0.0.1:\(port)", version: version)
        agentOptions.refreshActiveChecks = 600
        let agent = try await ZabbixAgent2.start(agentOptions)
        do {
            _ = try await lab.waitForHistory(host, ZabbixTestItems.intKey)
            #expect(try await first.stop() == 0)

            // Second tee, empty catalog: only `agent data` (itemids) passes it; the API names them.
            let before = riemann.receivedEvents.count
            let second = try await TeeProcess.start(configuration: configuration, ports: [port])
            try await riemann.waitUntil(timeout: .seconds(30)) { server in
                server.receivedEvents.dropFirst(before).filter { $0.host == name }.count >= 3
            }
            let named = riemann.receivedEvents.dropFirst(before).filter { $0.host == name }
            #expect(named.allSatisfy { $0.service == ZabbixTestItems.intKey }, "\(named.compactMap(\.service))")
            #expect(named.first?.metric == .sint64(42), "value type 3 from the API: a metric")
            let metrics = try MetricsScrape.get(port: admin)
            #expect(metrics.value("zabbix_tee_catalog_api_items_total", [("outcome", "resolved")]) >= 1)
            #expect(metrics.value("zabbix_tee_catalog_source_entries", [("source", "zabbix_api")]) >= 1)
            #expect(metrics.value("zabbix_tee_catalog_api_requests_total", [("outcome", "error")]) == 0)
            #expect(!metrics.text.contains(token), "the token is never on /metrics")
            #expect(!second.log().contains(token), "nor in the log")
            #expect(try await second.stop() == 0)

            // The API goes away; a third tee (empty catalog again) keeps relaying, and the values it
            // cannot name leave as itemid:N after unresolved_wait (3 s).
            await frontend.stop()
            let historyBefore = try await lab.database.history(itemid: itemid, valueType: .unsigned).count
            let fallbackStart = riemann.receivedEvents.count
            let third = try await TeeProcess.start(configuration: configuration, ports: [port])
            _ = try await lab.waitForHistory(host, ZabbixTestItems.intKey, count: historyBefore + 3)
            try await riemann.waitUntil(timeout: .seconds(30)) { server in
                server.receivedEvents.dropFirst(fallbackStart).contains { $0.host == name }
            }
            let fallen = riemann.receivedEvents.dropFirst(fallbackStart).filter { $0.host == name }
            #expect(fallen.allSatisfy { $0.service == "itemid:\(itemid)" }, "\(fallen.compactMap(\.service))")
            let down = try MetricsScrape.get(port: admin)
            #expect(down.value("zabbix_tee_catalog_api_requests_total", [("outcome", "error")]) >= 1)
            #expect(down.value("zabbix_tee_item_values_unresolved_total", [("action", "emitted")]) >= 1)
            #expect(try await third.stop() == 0)
        } catch {
            try? await agent.stop()
            await frontend.stop()
            await riemann.shutdown()
            throw error
        }
        try await agent.stop()
        await riemann.shutdown()
    }
}

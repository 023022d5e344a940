import Foundation
import Riemann
import TestSupport
import Testing

/// Acceptance for `catalog.zabbix_api` against the real frontend API (PHP's built-in server on the
/// lab server's own PostgreSQL database), 6.0 and 7.0: a tee that never saw an agent's `active
/// checks` names its itemid-only values through the API; two tees behind a real HAProxy (round
/// robin) in front of the real server name every value of an agent 2 and a proxy whose
/// configuration and data connections alternate between them; with the API stopped the relay
/// carries on and values fall back as `catalog.unresolved` says.
@Suite(
    "catalog backfill from the Zabbix API",
    .tags(.integration),
    .tier(.integration),
    .serialized,
    .timeLimit(.minutes(4))
)
struct CatalogAPIBackfillEndToEndTests {
    static func uniqueName(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())" }

    /// A tee in front of `target` with the API backfill (unless `api` is false), an admin
    /// endpoint and Riemann.
    static func configuration(
        port: Int,
        target: Int,
        riemann: Int,
        admin: Int,
        frontend: ZabbixFrontend,
        tokenFile: String,
        wait: String,
        api: Bool = true
    ) -> String {
        let zabbixAPI = """
              zabbix_api:
                url: \(frontend.url)
                token_file: \(tokenFile)
                timeout: 2s
                breaker_failures: 2
                breaker_open: 2s
            """
        return """
            listeners:
            \(TeeProcess.listener(name: "upstream", port: port, targets: [target]))
            catalog:
              unresolved_wait: \(wait)
              unresolved: emit
            \(api ? zabbixAPI : "")
            riemann:
              servers: ["127.0.0.1:\(riemann)"]
              batch: { max_events: 100, max_delay: 20ms }
            admin:
              listen: "127.0.0.1:\(admin)"
            """
    }

    /// The frontend of the lab's version and a fresh API token, also in a 0600 file of its own
    /// (it outlives the frontend: tees started after the API stopped read it), or a skip.
    static func frontendWithToken(_ lab: ZabbixServerLab) async throws -> (ZabbixFrontend, token: String, file: String)
    {
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
    func aTeeThatNeverSawTheActiveChecksNamesAgent2ValuesThroughTheAPIAddedByAReloadAndFallsBackWhenItIsDown(
        _ version: ZabbixLabVersion
    ) async throws {
        let lab = try await ZabbixServerLab.sharedOrSkip(version)
        let host = try await lab.addHost(
            Self.uniqueName("tee-api"),
            items: [.active(ZabbixTestItems.intKey, .unsigned)]
        )
        let itemid = host.itemid(ZabbixTestItems.intKey)
        let (frontend, token, tokenFile) = try await Self.frontendWithToken(lab)
        defer { ZabbixLabDirectory.remove((tokenFile as NSString).deletingLastPathComponent) }
        let riemann = try await RiemannTestServer.start()
        let port = try LoopbackPort.free()
        let admin = try LoopbackPort.free()
        let configuration = Self.configuration(
            port: port,
            target: lab.port,
            riemann: riemann.port,
            admin: admin,
            frontend: frontend,
            tokenFile: tokenFile,
            wait: "3s"
        )
        let name = host.name

        // First tee: relays the agent's one `active checks` (refreshed only every 10 minutes).
        let first = try await TeeProcess.start(configuration: configuration, ports: [port])
        var agentOptions = ZabbixAgentOptions(hostname: host.name, activeServer: "127.0.0.1:\(port)", version: version)
        agentOptions.refreshActiveChecks = 600
        let agent = try await ZabbixAgent2.start(agentOptions)
        do {
            _ = try await lab.waitForHistory(host, ZabbixTestItems.intKey)
            #expect(try await first.stop() == 0)

            // Second tee, empty catalog, started without the API: only `agent data` (itemids)
            // passes it, and its values fall back to itemid:N.
            let unnamedStart = riemann.receivedEvents.count
            let second = try await TeeProcess.start(
                configuration: Self.configuration(
                    port: port,
                    target: lab.port,
                    riemann: riemann.port,
                    admin: admin,
                    frontend: frontend,
                    tokenFile: tokenFile,
                    wait: "3s",
                    api: false
                ),
                ports: [port]
            )
            try await riemann.waitUntil(timeout: .seconds(30)) { server in
                server.receivedEvents.dropFirst(unnamedStart).contains {
                    $0.host == name && $0.service == "itemid:\(itemid)"
                }
            }
            // The API added by a reload (live): the API names them from then on.
            try second.rewriteConfiguration(configuration)
            try await second.reload(expectingOutcome: 1)
            #expect(second.log().contains("catalog.zabbix_api"), "the reload names the section")
            let reloaded = riemann.receivedEvents.count
            try await riemann.waitUntil(timeout: .seconds(30)) { server in
                server.receivedEvents.dropFirst(reloaded).contains {
                    $0.host == name && $0.service == ZabbixTestItems.intKey
                }
            }
            let before = riemann.receivedEvents.count
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
    @Test(arguments: ZabbixLabVersion.allCases)
    func twoTeesBehindHAProxyNameEveryValueOfAnAgent2AndAProxyWhoseConnectionsAlternate(
        _ version: ZabbixLabVersion
    ) async throws {
        let lab = try await ZabbixServerLab.sharedOrSkip(version)
        if let reason = HAProxyProcess.unavailableReason { try Test.cancel(Comment(rawValue: "needs \(reason)")) }
        let agentHost = try await lab.addHost(
            Self.uniqueName("tee-lb-agent"),
            items: [.active(ZabbixTestItems.intKey, .unsigned)]
        )
        let proxyName = Self.uniqueName("tee-lb-proxy")
        let proxyid = try await lab.database.addProxy(proxyName)
        let proxied = try await lab.addHost(
            Self.uniqueName("tee-lb-proxied"),
            items: [.trapper("lb.int"), .trapper("lb.text", .text)],
            proxyid: proxyid
        )
        let (frontend, token, tokenFile) = try await Self.frontendWithToken(lab)
        defer { ZabbixLabDirectory.remove((tokenFile as NSString).deletingLastPathComponent) }
        let riemann = try await RiemannTestServer.start()
        let ports = (try LoopbackPort.free(), try LoopbackPort.free())
        let admins = (try LoopbackPort.free(), try LoopbackPort.free())
        var started: [TeeProcess] = []
        var haproxy: HAProxyProcess?
        var daemons: [any ZabbixLabDaemon] = []
        do {
            for (port, admin) in [(ports.0, admins.0), (ports.1, admins.1)] {
                started.append(
                    try await TeeProcess.start(
                        configuration: Self.configuration(
                            port: port,
                            target: lab.port,
                            riemann: riemann.port,
                            admin: admin,
                            frontend: frontend,
                            tokenFile: tokenFile,
                            wait: "8s"
                        ),
                        ports: [port]
                    )
                )
            }
            let balancer = try await HAProxyProcess.start(backends: [ports.0, ports.1])
            haproxy = balancer
            let through = "127.0.0.1:\(balancer.port)"
            daemons.append(
                try await ZabbixAgent2.start(
                    ZabbixAgentOptions(hostname: agentHost.name, activeServer: through, version: version)
                )
            )
            var proxyOptions = ZabbixProxy.Options(hostname: proxyName, activeServer: through, version: version)
            proxyOptions.configFrequency = 1
            let proxy = try await ZabbixProxy.start(proxyOptions)
            daemons.append(proxy)

            // Values through the proxy (`proxy data`, itemids only) and from the agent (`agent
            // data`, itemids only), each connection to whichever tee HAProxy picks next.
            var sent = 0
            func sendThroughProxy() async throws {
                sent += 1
                let value = 1000 + sent
                try await waitUntil(
                    "the proxy to accept values for \(proxied.name)",
                    timeout: .seconds(30),
                    interval: .milliseconds(200)
                ) {
                    try await ZabbixSender.send(
                        port: proxy.port,
                        values: [
                            .init(host: proxied.name, key: "lb.int", value: "\(value)"),
                            .init(host: proxied.name, key: "lb.text", value: "text \(value)"),
                        ],
                        version: version
                    ).processed == 2
                }
            }
            for _ in 0..<4 { try await sendThroughProxy() }
            _ = try await lab.waitForHistory(proxied, "lb.int", count: 4)
            _ = try await lab.waitForHistory(agentHost, ZabbixTestItems.intKey, count: 6)
            let (agentName, proxiedName) = (agentHost.name, proxied.name)
            try await riemann.waitUntil(timeout: .seconds(40)) { server in
                let events = server.receivedEvents
                return events.filter { $0.host == agentName }.count >= 6
                    && events.filter { $0.host == proxiedName && $0.service == "lb.int" }.count >= 4
                    && events.filter { $0.host == proxiedName && $0.service == "lb.text" }.count >= 4
            }
            let events = riemann.receivedEvents.filter { $0.host == agentName || $0.host == proxiedName }
            #expect(events.allSatisfy { !($0.service ?? "").hasPrefix("itemid:") }, "\(events.compactMap(\.service))")
            #expect(events.filter { $0.host == agentName }.allSatisfy { $0.service == ZabbixTestItems.intKey })
            #expect(Set(events.filter { $0.host == proxiedName }.compactMap(\.service)) == ["lb.int", "lb.text"])
            #expect(events.contains { $0.host == proxiedName && $0.service == "lb.int" && $0.metric == .sint64(1001) })
            #expect(events.filter { $0.service == "lb.text" }.allSatisfy { $0.metric == nil }, "text: never a metric")
            let scrapes = [try MetricsScrape.get(port: admins.0), try MetricsScrape.get(port: admins.1)]
            for scrape in scrapes {
                #expect(scrape.value("zabbix_tee_item_values_total") > 0, "both instances carried values")
                #expect(!scrape.text.contains(token))
            }
            #expect(
                scrapes.map { $0.value("zabbix_tee_catalog_api_items_total", [("outcome", "resolved")]) }.reduce(0, +)
                    >= 1,
                "an instance named values only the API could name"
            )
            #expect(
                scrapes.map { $0.value("zabbix_tee_item_values_unresolved_total", [("action", "emitted")]) }.reduce(
                    0,
                    +
                ) == 0
            )

            // The API stops: the relay carries on (the server stores what passes). What an
            // instance learned keeps naming values; an itemid it never learned falls back to
            // `itemid:N` after unresolved_wait (which instance gets what is HAProxy's choice).
            await frontend.stop()
            let before = riemann.receivedEvents.count
            for _ in 0..<2 { try await sendThroughProxy() }
            _ = try await lab.waitForHistory(proxied, "lb.int", count: 6)
            let stored = try await lab.database.history(
                itemid: agentHost.itemid(ZabbixTestItems.intKey),
                valueType: .unsigned
            ).count
            _ = try await lab.waitForHistory(agentHost, ZabbixTestItems.intKey, count: stored + 3)
            // A proxy's fallen-back value names no host (`proxy data` rows carry only itemids).
            let fallbacks: Set<String> = [
                "itemid:\(agentHost.itemid(ZabbixTestItems.intKey))", "itemid:\(proxied.itemid("lb.int"))",
                "itemid:\(proxied.itemid("lb.text"))",
            ]
            let ours: @Sendable (RiemannEvent) -> Bool = {
                $0.host == agentName || $0.host == proxiedName || fallbacks.contains($0.service ?? "")
            }
            try await riemann.waitUntil(timeout: .seconds(30)) { server in
                server.receivedEvents.dropFirst(before).filter { ours($0) && $0.host != agentName }.count >= 4
            }
            let after = riemann.receivedEvents.dropFirst(before).filter(ours)
            let allowed = fallbacks.union([ZabbixTestItems.intKey, "lb.int", "lb.text"])
            #expect(
                after.allSatisfy { allowed.contains($0.service ?? "") },
                "named, or fallen back: \(after.compactMap(\.service))"
            )
            #expect(
                after.filter { $0.host == proxiedName }.allSatisfy { $0.service == "lb.int" || $0.service == "lb.text" }
            )
        } catch {
            let services = riemann.receivedEvents.map { "\($0.host ?? "-")/\($0.service ?? "-")" }
            Issue.record(
                "events: \(services.suffix(60)); tee logs: \(started.map { ZabbixLabDirectory.tail($0.logFile, lines: 15) })"
            )
            for daemon in daemons { try? await daemon.stop() }
            await haproxy?.stop()
            for tee in started { _ = try? await tee.stop() }
            await frontend.stop()
            await riemann.shutdown()
            throw error
        }
        for daemon in daemons { try await daemon.stop() }
        await haproxy?.stop()
        for tee in started { #expect(try await tee.stop() == 0) }
        await riemann.shutdown()
    }
}

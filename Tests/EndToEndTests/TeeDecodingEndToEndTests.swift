import Foundation
import Riemann
import TestSupport
import Testing

/// Acceptance for decoding through a live tee: a real proxy's itemid-only history (6.0, and 7.0
/// with its incremental configuration) resolved through the configuration the tee saw, the
/// catalog surviving a restart, 7.0 heartbeats, and huge frames decoded without slowing other
/// connections.
@Suite(
    "zabbix-tee decoding live traffic",
    .tags(.integration),
    .tier(.integration),
    .serialized,
    .timeLimit(.minutes(3))
)
struct TeeDecodingEndToEndTests {
    static func uniqueName(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())" }

    static func configuration(port: Int, target: Int, riemann: Int, extra: String = "", adminPort: Int? = nil) -> String
    {
        """
        listeners:
        \(TeeProcess.listener(name: "upstream", port: port, targets: [target]))
        riemann:
          servers: ["127.0.0.1:\(riemann)"]
          batch: { max_events: 100, max_delay: 20ms }
        \(adminPort.map { "admin:\n  listen: \"127.0.0.1:\($0)\"" } ?? "")
        \(extra)
        """
    }

    @Test(arguments: ZabbixLabVersion.allCases)
    func proxyHistoryThroughTheTeeIsResolvedWithTheConfigurationTheTeeSaw(_ version: ZabbixLabVersion) async throws {
        let lab = try await ZabbixServerLab.sharedOrSkip(version)
        let proxyName = Self.uniqueName("tee-proxy")
        let proxyid = try await lab.database.addProxy(proxyName)
        let host = try await lab.addHost(
            Self.uniqueName("tee-proxied"),
            items: [.trapper("proxied.int"), .trapper("proxied.text", .text)],
            proxyid: proxyid
        )
        let riemann = try await RiemannTestServer.start()
        let port = try LoopbackPort.free()
        try await TeeProcess.withRunning(
            configuration: Self.configuration(port: port, target: lab.port, riemann: riemann.port),
            ports: [port]
        ) { _ in
            var options = ZabbixProxy.Options(hostname: proxyName, activeServer: "127.0.0.1:\(port)", version: version)
            options.configFrequency = 1
            try await ZabbixProxy.withRunning(options) { proxy in
                try await waitUntil(
                    "the proxy to accept values for \(host.name)",
                    timeout: .seconds(30),
                    interval: .milliseconds(200)
                ) {
                    try await ZabbixSender.send(
                        port: proxy.port,
                        values: [
                            .init(host: host.name, key: "proxied.int", value: "31337"),
                            .init(host: host.name, key: "proxied.text", value: "via proxy"),
                        ],
                        version: version
                    ).processed == 2
                }
                // The proxy forwards the values to the server in `proxy data` (itemids only),
                // compressed, through the tee.
                let stored = try await lab.waitForHistory(host, "proxied.int")
                #expect(stored.first?.value == "31337")
                let name = host.name
                try await riemann.waitUntil(timeout: .seconds(30)) { server in
                    Set(server.receivedEvents.filter { $0.host == name }.compactMap(\.service)).isSuperset(of: [
                        "proxied.int", "proxied.text",
                    ])
                }
                let events = riemann.receivedEvents.filter { $0.host == name }
                let int = events.first { $0.service == "proxied.int" && $0.metric == .sint64(31337) }
                #expect(int != nil)
                let attributes = Dictionary(
                    (int?.attributes ?? []).map { ($0.key, $0.value ?? "") },
                    uniquingKeysWith: { a, _ in a }
                )
                #expect(attributes["zabbix_request"] == "proxy data")
                #expect(attributes["zabbix_proxy"] == proxyName)
                #expect(attributes["zabbix_itemid"] == String(host.itemid("proxied.int")))
                #expect(int?.timeMicros == Int64(stored[0].clock) * 1_000_000 + Int64(stored[0].ns) / 1000)
                // Text item (value type 4 from the proxy configuration): never a metric.
                let text = events.first { $0.service == "proxied.text" }
                #expect(text?.metric == nil)
                #expect(text?.description == "via proxy")

                // An item added while the proxy runs reaches it in its next configuration: in full
                // (6.0), or as the only change (7.0, incremental); either way the tee learns it.
                let later = try await lab.database.addItems(to: host, [.trapper("proxied.later", .float)])
                try await waitUntil(
                    "the proxy to accept proxied.later",
                    timeout: .seconds(30),
                    interval: .milliseconds(200)
                ) {
                    try await ZabbixSender.send(
                        port: proxy.port,
                        host: host.name,
                        key: "proxied.later",
                        value: "2.5",
                        version: version
                    ).processed == 1
                }
                try await riemann.waitUntil(timeout: .seconds(30)) { server in
                    server.receivedEvents.contains { $0.host == name && $0.service == "proxied.later" }
                }
                let late = riemann.receivedEvents.first { $0.host == name && $0.service == "proxied.later" }
                #expect(late?.metric == .double(2.5))
                let lateAttributes = Dictionary(
                    (late?.attributes ?? []).map { ($0.key, $0.value ?? "") },
                    uniquingKeysWith: { a, _ in a }
                )
                #expect(lateAttributes["zabbix_itemid"] == String(later.itemid("proxied.later")))
                #expect(
                    riemann.receivedEvents.filter { $0.host == name }.allSatisfy {
                        !($0.service ?? "").hasPrefix("itemid:")
                    },
                    "every proxied value resolved"
                )
            }
        }
        await riemann.shutdown()
    }

    /// The agents that send itemid-only `agent data`: agent2 (6.0 and 7.0) and agentd 7.0.
    static let itemidOnlyAgents: [(ZabbixLabVersion, ZabbixAgentKind)] = [
        (.v6_0, .agent2), (.v7_0, .agentd), (.v7_0, .agent2),
    ]

    @Test(arguments: Self.itemidOnlyAgents)
    func teeRestartedBetweenActiveChecksAndItemidOnlyAgentDataStillResolvesTheKeys(
        _ version: ZabbixLabVersion,
        _ agentKind: ZabbixAgentKind
    ) async throws {
        let lab = try await ZabbixServerLab.sharedOrSkip(version)
        let host = try await lab.addHost(
            Self.uniqueName("tee-restart"),
            items: [.active(ZabbixTestItems.intKey, .unsigned)]
        )
        let riemann = try await RiemannTestServer.start()
        let port = try LoopbackPort.free()
        let directory = try ZabbixLabDirectory.create("catalog")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let extra = "catalog:\n  path: \(directory)/catalog.jsonl\n  unresolved_wait: 1s"
        let configuration = Self.configuration(port: port, target: lab.port, riemann: riemann.port, extra: extra)

        // First tee: sees the agent's `active checks` (itemid → key), then stops (SIGTERM saves the catalog).
        let first = try await TeeProcess.start(configuration: configuration, ports: [port])
        var agentOptions = ZabbixAgentOptions(hostname: host.name, activeServer: "127.0.0.1:\(port)", version: version)
        agentOptions.refreshActiveChecks = 600
        let agent: any ZabbixLabDaemon =
            agentKind == .agent2
            ? try await ZabbixAgent2.start(agentOptions) : try await ZabbixAgentd.start(agentOptions)
        do {
            _ = try await lab.waitForHistory(host, ZabbixTestItems.intKey)
            #expect(try await first.stop() == 0)
            #expect(FileManager.default.fileExists(atPath: "\(directory)/catalog.jsonl"))
            let before = riemann.receivedEvents.count

            // Second tee, same address: the agent only sends `agent data` now (next refresh in 10 min).
            let second = try await TeeProcess.start(configuration: configuration, ports: [port])
            let name = host.name
            try await riemann.waitUntil(timeout: .seconds(30)) { server in
                server.receivedEvents.dropFirst(before).contains { $0.host == name }
            }
            let after = riemann.receivedEvents.dropFirst(before).filter { $0.host == name }
            #expect(after.allSatisfy { $0.service == ZabbixTestItems.intKey }, "\(after.compactMap(\.service))")
            #expect(after.first?.metric == .sint64(42))
            #expect(second.log().contains("item catalog loaded"))
            #expect(try await second.stop() == 0)
        } catch {
            try? await agent.stop()
            throw error
        }
        try await agent.stop()
        await riemann.shutdown()
    }

    /// 7.0 agents' `active check heartbeat` (agentd plain, agent2 compressed) reaches the real
    /// server through the tee, which decodes it as a heartbeat and makes no event of it (it
    /// carries no value).
    @Test func heartbeatsOf70AgentsGoThroughTheTeeAndAreDecodedAsHeartbeatsWithoutEvents() async throws {
        let lab = try await ZabbixServerLab.sharedOrSkip(.v7_0)
        let agentdHost = try await lab.addHost(Self.uniqueName("tee-heartbeat-agentd"), items: [])
        let agent2Host = try await lab.addHost(Self.uniqueName("tee-heartbeat-agent2"), items: [])
        let riemann = try await RiemannTestServer.start()
        let port = try LoopbackPort.free()
        let adminPort = try LoopbackPort.free()
        try await TeeProcess.withRunning(
            configuration: Self.configuration(
                port: port,
                target: lab.port,
                riemann: riemann.port,
                adminPort: adminPort
            ),
            ports: [port, adminPort]
        ) { _ in
            func heartbeats(_ flags: String) throws -> Double {
                try MetricsScrape.get(port: adminPort).value(
                    "zabbix_tee_frames_decoded_total",
                    [("type", "active check heartbeat"), ("flags", flags)]
                )
            }
            var agentd = ZabbixAgentd.Options(
                hostname: agentdHost.name,
                activeServer: "127.0.0.1:\(port)",
                version: .v7_0
            )
            agentd.heartbeatFrequency = 1
            var agent2 = ZabbixAgent2.Options(
                hostname: agent2Host.name,
                activeServer: "127.0.0.1:\(port)",
                version: .v7_0
            )
            agent2.heartbeatFrequency = 1
            try await ZabbixAgentd.withRunning(agentd) { _ in
                try await ZabbixAgent2.withRunning(agent2) { _ in
                    try await waitUntil(
                        "heartbeats of both agents decoded",
                        timeout: .seconds(20),
                        interval: .milliseconds(200)
                    ) {
                        try heartbeats("0x1") >= 2 && heartbeats("0x3") >= 2
                    }
                    // The server heard them: both hosts' active agents become available
                    // (host_rtdata.active_available 1, written by its availability manager).
                    try await waitUntil(
                        "the server to mark both active agents available",
                        timeout: .seconds(30),
                        interval: .milliseconds(250)
                    ) {
                        try await lab.database.query(
                            "SELECT active_available FROM host_rtdata WHERE hostid IN (\(agentdHost.hostid), \(agent2Host.hostid));"
                        ) == [["1"], ["1"]]
                    }
                }
            }
            let metrics = try MetricsScrape.get(port: adminPort)
            let failures = metrics.samples.filter { $0.key.hasPrefix("zabbix_tee_decode_failures_total") }.values
                .reduce(0, +)
            #expect(failures == 0, "\(metrics.text)")
        }
        let names: Set<String> = [agentdHost.name, agent2Host.name]
        #expect(riemann.receivedEvents.filter { names.contains($0.host ?? "") }.isEmpty, "heartbeats carry no values")
        await riemann.shutdown()
    }

    @Test func hundredMegabyteFrameIsDecodedWithoutSlowingOtherConnections() async throws {
        // The target: answers every request frame with a small success frame.
        let target = try BlockingListener()
        let reply = ZabbixFrames.plain(#"{"response":"success"}"#)
        let serving = TestThreads.start {
            while let socket = try? target.accept() {
                _ = TestThreads.start {
                    var header = try socket.receive(exactly: 13)
                    guard header.count == 13 else { return }
                    let length = Int(header[5]) | Int(header[6]) << 8 | Int(header[7]) << 16 | Int(header[8]) << 24
                    var remaining = length
                    while remaining > 0 {
                        let chunk = try socket.receive(maximum: min(remaining, 1 << 20))
                        if chunk.isEmpty { break }
                        remaining -= chunk.count
                    }
                    header = []
                    try socket.send(reply)
                    socket.close()
                }
            }
        }
        let riemann = try await RiemannTestServer.start()
        let port = try LoopbackPort.free()
        let adminPort = try LoopbackPort.free()
        let extra = "decode:\n  max_frame_size: 256MiB\n  queue_bytes: 512MiB"
        try await TeeProcess.withRunning(
            configuration: Self.configuration(
                port: port,
                target: target.port,
                riemann: riemann.port,
                extra: extra,
                adminPort: adminPort
            ),
            ports: [port, adminPort]
        ) { _ in
            // 100 rows of 1 MiB each: a 100 MB `sender data` frame.
            let row = #"{"host":"big","key":"big.text","value":""# + String(repeating: "z", count: 1 << 20) + #""},"#
            var json = #"{"request":"sender data","data":["# + String(repeating: row, count: 100)
            json.removeLast()
            json += "]}"
            let big = ZabbixFrames.plain(json)
            #expect(big.count > 100_000_000)
            let small = ZabbixFrames.plain(
                #"{"request":"sender data","data":[{"host":"small","key":"k","value":"1"}]}"#
            )

            func exchange(_ frame: [UInt8]) async throws -> Duration {
                try await TestThreads.start { () throws -> Duration in
                    let started = ContinuousClock.now
                    let socket = try BlockingSocket.connect(port: port)
                    socket.setReceiveTimeout(seconds: 60)
                    try socket.send(frame)
                    let answer = try socket.receiveAll()
                    #expect(answer == reply)
                    return ContinuousClock.now - started
                }.value
            }

            #expect(try await exchange(big) < .seconds(60))
            // While the side pipeline works through 100 MB, small connections go on as usual.
            var slowest = Duration.zero
            var decodedWhileMeasuring = false
            for _ in 0..<20 {
                slowest = max(slowest, try await exchange(small))
                if riemann.receivedEvents.contains(where: { $0.host == "big" }) { break }
                decodedWhileMeasuring = true
            }
            #expect(decodedWhileMeasuring, "the small exchanges ran while the big frame was still being decoded")
            #expect(slowest < .seconds(2), "a small exchange took \(slowest)")
            try await riemann.waitUntil(timeout: .seconds(120)) {
                $0.receivedEvents.filter { $0.host == "big" }.count == 100
            }
            let big1 = riemann.receivedEvents.first { $0.host == "big" }
            #expect(big1?.description?.utf8.count == 4096, "text cut to description_max_length")
        }
        target.close()
        _ = serving
        await riemann.shutdown()
    }
}

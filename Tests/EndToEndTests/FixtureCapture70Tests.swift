import Foundation
import TestSupport
import Testing

/// Captures the 7.0-only fixtures (see `FixtureCaptureTests` for how and why): what 7.0 added on
/// the wire that the version-parametrized captures do not show.
///
/// - `agentd-7.0-heartbeat`, `agent2-7.0-heartbeat`: `active check heartbeat` with version and variant;
/// - `get-passive-7.0-to-6.0-json` and `get-passive-7.0-to-6.0-text`: zabbix_get 7.0 against a 6.0
///   agent: the JSON request the old agent answers `ZBX_NOTSUPPORTED` (a protocol refusal, not an
///   item error: Zabbix takes no value from it), then the plain-text retry on a second connection;
/// - `proxy-7.0-config` (full sync), `proxy-7.0-data` (history and `host data`),
///   `proxy-7.0-config-incremental` (only what changed: a new item) and
///   `proxy-7.0-data-incremental` (a value of that item): one proxy run, each fixture's `catalog`
///   naming the one before it, so replaying the last one decodes the whole chain.
@Suite(
    "Fixture capture: 7.0 only",
    .tags(.integration),
    .tier(.integration),
    .enabled(if: FixtureCapture.enabled, "fixture capture is off: set ZABBIX_TEE_CAPTURE=1 to re-capture Fixtures/"),
    .serialized,
    .timeLimit(.minutes(5))
)
struct FixtureCapture70Tests {
    static let version = ZabbixLabVersion.v7_0

    // MARK: Heartbeats

    @Test(arguments: ZabbixAgentKind.allCases)
    func activeCheckHeartbeat(_ agent: ZabbixAgentKind) async throws {
        let lab = try await ZabbixServerLab.sharedOrSkip(Self.version)
        let host = try await lab.addHost(
            "fixture-heartbeat-\(agent)",
            items: [.active(ZabbixTestItems.intKey, .unsigned)]
        )
        let name = FixtureCapture.name(agent.rawValue, Self.version, "heartbeat")
        let heartbeat = try await FixtureRecorder.withRecording(target: lab.port) { recorder in
            var options = ZabbixAgentOptions(hostname: host.name, activeServer: recorder.address, version: Self.version)
            options.heartbeatFrequency = 1
            return try await agent.withRunning(options) { _ in
                try await recorder.waitForConnection("active check heartbeat") {
                    $0.request == "active check heartbeat"
                }
            }
        }
        let request = try #require(heartbeat.clientFrames.first?.json)
        #expect(request["host"] as? String == host.name)
        #expect(request["heartbeat_freq"] as? Int == 1)
        let meta = FixtureCaptureTests.meta(
            name: name,
            connection: heartbeat,
            description:
                "\(agent.program.rawValue) \(Self.version) tells the real server it is alive (HeartbeatFrequency=1): `active check heartbeat` with version and variant",
            program: agent.program.rawValue,
            programVersion: try await FixtureCaptureTests.version(try #require(agent.program.executable(Self.version))),
            peer: FixtureCaptureTests.serverProgram,
            peerVersion: try await FixtureCaptureTests.serverVersion(Self.version),
            catalog: nil,
            deterministic: false,
            deterministicNote: "the reply depends on the server",
            itemsSource: "none: a heartbeat carries no item values",
            valuesHaveClock: false,
            items: [],
            notes: ["Hostname=\(host.name); one active item so that the agent has active checks to run"]
        )
        try heartbeat.save(as: name, meta: meta)
    }

    // MARK: zabbix_get 7.0 against a 6.0 agent

    @Test func passiveCheckFallsBackToPlainTextWithA60Agent() async throws {
        try ZabbixLabVersion.v6_0.requirePrograms()
        try Self.version.requirePrograms()
        let getVersion = try await FixtureCaptureTests.version(Self.version.programs.get)
        let agentVersion = try await FixtureCaptureTests.version(ZabbixLabVersion.v6_0.programs.agentd)
        try await ZabbixAgentd.withRunning(ZabbixAgentd.Options(version: .v6_0)) { agent in
            try await FixtureRecorder.withRecording(target: agent.port) { recorder in
                let int = try await ZabbixGet.get(
                    port: recorder.port,
                    key: ZabbixTestItems.intKey,
                    version: Self.version
                )
                #expect(int.value == ZabbixTestItems.intValue, "\(int)")
                let refused = try await FixtureCaptureTests.passiveCheck(ZabbixTestItems.intKey, recorder, json: true)
                let text = try await FixtureCaptureTests.passiveCheck(ZabbixTestItems.intKey, recorder, json: false)
                #expect(
                    (refused.recording.connection ?? 0) < (text.recording.connection ?? 0),
                    "the JSON attempt came first"
                )
                let reply = try #require(refused.serverFrames.first?.payload)
                #expect(
                    reply.starts(with: Array("ZBX_NOTSUPPORTED".utf8)),
                    "the 6.0 agent does not know the JSON request"
                )
                let deterministicNote = "a 6.0 lab agent answers the same request with the same bytes"
                let notes = [
                    "zabbix_get \(Self.version) (default --protocol auto) -k lab.int against zabbix_agentd 6.0; printed: \(int.value)"
                ]
                try refused.save(
                    as: "get-passive-7.0-to-6.0-json",
                    meta: FixtureCaptureTests.meta(
                        name: "get-passive-7.0-to-6.0-json",
                        connection: refused,
                        description:
                            "zabbix_get 7.0's JSON passive check against zabbix_agentd 6.0, which reads the JSON as an unknown key and answers ZBX_NOTSUPPORTED: the requester retries in plain text (next fixture), so no value comes of it",
                        program: "zabbix_get",
                        programVersion: getVersion,
                        peer: "zabbix_agentd",
                        peerVersion: agentVersion,
                        catalog: nil,
                        deterministic: true,
                        deterministicNote: deterministicNote,
                        itemsSource:
                            "none: Zabbix itself (zbx_agent_handle_response) takes a non-JSON reply to a JSON request as \"retry in plain text\", not as an item error",
                        valuesHaveClock: false,
                        items: [],
                        notes: notes
                    )
                )
                try FixtureCaptureTests.expectReplayGivesSameReply(port: agent.port, refused)
                try text.save(
                    as: "get-passive-7.0-to-6.0-text",
                    meta: FixtureCaptureTests.meta(
                        name: "get-passive-7.0-to-6.0-text",
                        connection: text,
                        description:
                            "zabbix_get 7.0's plain-text retry against zabbix_agentd 6.0 on a second connection",
                        program: "zabbix_get",
                        programVersion: getVersion,
                        peer: "zabbix_agentd",
                        peerVersion: agentVersion,
                        catalog: nil,
                        deterministic: true,
                        deterministicNote: deterministicNote,
                        itemsSource:
                            "the lab's UserParameter lab.int (`echo 42`); zabbix_get printed the same. No host, no clock.",
                        valuesHaveClock: false,
                        items: [FixtureItem(host: nil, key: ZabbixTestItems.intKey, value: ZabbixTestItems.intValue)],
                        notes: notes
                    )
                )
                try FixtureCaptureTests.expectReplayGivesSameReply(port: agent.port, text)
            }
        }
    }

    // MARK: Active proxy: full and incremental configuration

    @Test func activeProxyFullAndIncrementalConfigurationAndData() async throws {
        let lab = try await ZabbixServerLab.sharedOrSkip(Self.version)
        let proxyName = "fixture-proxy"
        let proxyid = try await lab.database.addProxy(proxyName)
        let host = try await lab.addHost(
            "fixture-proxied",
            items: [
                .trapper("trap.int"), .trapper("trap.float", .float), .trapper("trap.text", .text),
                .active(ZabbixTestItems.intKey, .unsigned),
            ],
            proxyid: proxyid
        )
        let proxyVersion = try await FixtureCaptureTests.version(Self.version.programs.proxy)
        let serverVersion = try await FixtureCaptureTests.serverVersion(Self.version)
        let lateKey = "trap.late"

        let (recorded, late) = try await FixtureRecorder.withRecording(target: lab.port) { recorder in
            var options = ZabbixProxy.Options(
                hostname: proxyName,
                activeServer: recorder.address,
                version: Self.version
            )
            options.configFrequency = 1
            return try await ZabbixProxy.withRunning(options) { proxy in
                // Accepted values mean the proxy has its configuration: the agent started next gets
                // its active checks on its first request.
                try await Self.sendThroughProxy(
                    proxy,
                    host,
                    [("trap.int", "42"), ("trap.float", "3.25"), ("trap.text", "proxied text")]
                )
                // An active agent behind the proxy: its availability travels as `host data`.
                let agentOptions = ZabbixAgentOptions(
                    hostname: host.name,
                    activeServer: "127.0.0.1:\(proxy.port)",
                    version: Self.version
                )
                return try await ZabbixAgentd.withRunning(agentOptions) { _ in
                    for key in ["trap.int", "trap.float", "trap.text", ZabbixTestItems.intKey] {
                        _ = try await lab.waitForHistory(host, key)
                    }
                    _ = try await recorder.waitForConnection("proxy data with host data") {
                        $0.clientFrames.first?.json?["host data"] != nil
                    }
                    // A new item: the server hands it to the proxy in an incremental configuration.
                    let late = try await lab.database.addItems(to: host, [.trapper(lateKey)])
                    try await Self.sendThroughProxy(proxy, late, [(lateKey, "4242")])
                    _ = try await lab.waitForHistory(late, lateKey)
                    let lateItemid = Int64(late.itemid(lateKey))
                    _ = try await recorder.waitForConnection("proxy data with \(lateKey)") { connection in
                        connection.request == "proxy data"
                            && connection.dataRows.contains { $0.int64("itemid") == lateItemid }
                    }
                    return (try recorder.connections(), late)
                }
            }
        }
        let keysByItemid = Dictionary(uniqueKeysWithValues: late.items.map { (Int64($0.value.itemid), $0.key) })
        func carries(_ connection: RecordedConnection, _ key: String) -> Bool {
            connection.dataRows.contains { keysByItemid[$0.int64("itemid") ?? -1] == key }
        }
        func configNames(_ connection: RecordedConnection, _ text: String) -> Bool {
            connection.request == "proxy config"
                && connection.serverFrames.first?.payload.map { String(decoding: $0, as: UTF8.self).contains(text) }
                    == true
        }
        let lateItemid = String(late.itemid(lateKey))
        let full = try #require(
            recorded.first { configNames($0, "\"full_sync\"") && configNames($0, host.name) },
            "a full configuration naming \(host.name)"
        )
        let incremental = try #require(
            recorded.first { configNames($0, lateKey) && !configNames($0, "\"full_sync\"") },
            "an incremental configuration with \(lateKey)"
        )
        let data = try #require(
            recorded.first { $0.request == "proxy data" && carries($0, "trap.int") },
            "proxy data with the sender's values"
        )
        let hostData = try #require(
            recorded.first { $0.request == "proxy data" && $0.clientFrames.first?.json?["host data"] != nil }
        )
        let lateData = try #require(recorded.first { $0.request == "proxy data" && carries($0, lateKey) })
        #expect(configNames(incremental, lateItemid))
        let order = [full, data, incremental, lateData].map { $0.recording.connection ?? 0 }
        #expect(order == order.sorted(), "full config, data, incremental config, late data: in that order")

        let notes = [
            "proxy \(proxyName) (active, ProxyConfigFrequency=1, DataSenderFrequency=1); host \(host.name) with trapper items and one active agent item, monitored by it; zabbix_agentd \(Self.version) active against the proxy",
            "\(lateKey) was added by SQL after the first upload; the server sent it in an incremental configuration",
        ]
        func save(
            _ name: String,
            _ connection: RecordedConnection,
            _ description: String,
            catalog: String?,
            items: [FixtureItem]
        ) throws {
            let isConfig = connection.request == "proxy config"
            try connection.save(
                as: name,
                meta: FixtureCaptureTests.meta(
                    name: name,
                    connection: connection,
                    description: description,
                    program: "zabbix_proxy",
                    programVersion: proxyVersion,
                    peer: FixtureCaptureTests.serverProgram,
                    peerVersion: serverVersion,
                    catalog: catalog,
                    deterministic: false,
                    deterministicNote: isConfig
                        ? "the reply is the server's configuration database (ids, revisions, settings)"
                        : "the server drops rows it has already seen for the session, and its reply depends on its state",
                    itemsSource: isConfig
                        ? "none: configuration carries no item values"
                        : "the real server's history tables, values and clock/ns as stored (rows matched by itemid and clock/ns)",
                    valuesHaveClock: !isConfig,
                    items: items,
                    notes: notes
                )
            )
        }
        try save(
            "proxy-7.0-config",
            full,
            "an active zabbix_proxy 7.0 gets its full configuration (`full_sync`) from the real server; the catalog proxy-7.0-data needs",
            catalog: nil,
            items: []
        )
        try save(
            "proxy-7.0-data",
            data,
            "an active zabbix_proxy 7.0 uploads history rows (itemid-shaped, compressed)\(data.clientFrames.first?.json?["host data"] != nil ? " and `host data` (active agent availability)" : "")",
            catalog: "proxy-7.0-config",
            items: try await FixtureCaptureTests.historyItems(data, late, lab)
        )
        try save(
            "proxy-7.0-config-incremental",
            incremental,
            "the proxy's next configuration after an item was added: only the change (no `full_sync`), applied on top of proxy-7.0-config",
            catalog: "proxy-7.0-config",
            items: []
        )
        try save(
            "proxy-7.0-data-incremental",
            lateData,
            "the proxy uploads a value of the item it learnt incrementally: resolved only by applying proxy-7.0-config-incremental on top of proxy-7.0-config",
            catalog: "proxy-7.0-config-incremental",
            items: try await FixtureCaptureTests.historyItems(lateData, late, lab)
        )
        if hostData.recording.connection != data.recording.connection {
            try save(
                "proxy-7.0-host-data",
                hostData,
                "an active zabbix_proxy 7.0 uploads `host data` (active agent availability)",
                catalog: "proxy-7.0-config",
                items: try await FixtureCaptureTests.historyItems(hostData, late, lab)
            )
        }
    }

    /// Sends `values` of `host` to the proxy until it accepts them (it knows the host and items
    /// once it has their configuration).
    static func sendThroughProxy(
        _ proxy: ZabbixProxy,
        _ host: ZabbixHostRecord,
        _ values: [(String, String)]
    ) async throws {
        let input = values.map { "\"\(host.name)\" \($0.0) \"\($0.1)\"" }.joined(separator: "\n") + "\n"
        try await waitUntil(
            "the proxy to accept \(values.map(\.0)) for \(host.name)",
            timeout: .seconds(60),
            interval: .milliseconds(300)
        ) {
            let sent = try await ProcessRunner.run(
                version.programs.sender,
                ["-z", "127.0.0.1", "-p", String(proxy.port), "-i", "-"],
                input: input
            )
            return sent.standardOutput.contains("processed: \(values.count); failed: 0")
        }
    }
}

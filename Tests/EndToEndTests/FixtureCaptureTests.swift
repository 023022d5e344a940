import Foundation
import TestSupport
import Testing

/// Captures the fixtures in `Fixtures/`: real Zabbix 6.0 and 7.0 programs talk through a `zabbix-tee`
/// whose listener has `record:`, and the connections the fixtures need are copied out with a
/// `meta.json` whose expected items come from an independent source — the real server's history
/// (clock/ns as stored), the exact `zabbix_sender` input, the lab's known UserParameter values —
/// never from zabbix-tee's decoder.
///
/// Writes into the source tree, so it runs only on request:
/// `ZABBIX_TEE_CAPTURE=1 swift test --no-parallel --filter FixtureCapture`.
enum FixtureCapture {
    /// `ZABBIX_TEE_CAPTURE=1`, and the lab's 6.0 server can run (a missing 7.0 skips its cases).
    static var enabled: Bool {
        ProcessInfo.processInfo.environment["ZABBIX_TEE_CAPTURE"] == "1"
            && ZabbixPrograms.serverUnavailableReason == nil
    }

    /// A fixture's name: `<program>-<what>` for 6.0 (the names the first captures had),
    /// `<program>-7.0-<what>` for 7.0.
    static func name(_ program: String, _ version: ZabbixLabVersion, _ what: String) -> String {
        version == .v6_0 ? "\(program)-\(what)" : "\(program)-\(version)-\(what)"
    }
}

@Suite(
    "Fixture capture",
    .tags(.integration),
    .tier(.integration),
    .enabled(if: FixtureCapture.enabled, "fixture capture is off: set ZABBIX_TEE_CAPTURE=1 to re-capture Fixtures/"),
    .serialized,
    .timeLimit(.minutes(5))
)
struct FixtureCaptureTests {
    static let unsupportedKey = "vfs.file.contents[/nonexistent/zabbix-tee-fixture]"
    static let serverProgram = "zabbix_server"

    // MARK: Active agents

    /// An active agent with int, float, text, log, unsupported and > 256 KiB items, all checked
    /// once at start-up: the `active checks` connection and the first `agent data` connection
    /// carrying the log lines (which also carries the other items' first values).
    @Test(arguments: ZabbixLabVersion.allCases, ZabbixAgentKind.allCases)
    func activeChecksAndAgentData(_ version: ZabbixLabVersion, _ agent: ZabbixAgentKind) async throws {
        let lab = try await ZabbixServerLab.sharedOrSkip(version)
        let agent2 = agent == .agent2
        // agent2 always, agentd from 7.0 on: the agent says its version, the server answers with
        // itemids, and agent data rows carry itemids only.
        let itemidShaped = agent2 || version.isAtLeast7
        let logFile = try ZabbixTestLogFile()
        defer { logFile.remove() }
        // Lines present before the agent starts: its first check of log[] ships them (lastlogsize 0).
        try logFile.append("fixture log line one")
        try logFile.append("fixture log line two")
        let prefix = agent.rawValue
        // An enabled action for internal events makes the server store its "not supported" events,
        // the only place it keeps the clock/ns of an unsupported value.
        try await lab.database.query(
            "INSERT INTO actions (actionid, name, eventsource, evaltype, status) VALUES (990001, 'fixture: keep internal events', 3, 0, 0) ON CONFLICT DO NOTHING;"
        )
        let host = try await lab.addHost(
            "fixture-\(prefix)",
            items: [
                .active(ZabbixTestItems.intKey, .unsigned),
                .active(ZabbixTestItems.floatKey, .float),
                .active(ZabbixTestItems.textKey, .string),
                .active(ZabbixTestItems.bigTextKey, .text),
                .active(logFile.itemKey, .log),
                .active(Self.unsupportedKey, .text),
            ]
        )
        let program = agent.program.rawValue
        let executable = try #require(agent.program.executable(version))
        let checksName = FixtureCapture.name(prefix, version, "active-checks")
        let dataName = FixtureCapture.name(prefix, version, "agent-data")
        let keysByItemid = Dictionary(uniqueKeysWithValues: host.items.map { (UInt64($0.value.itemid), $0.key) })

        let (checks, data) = try await FixtureRecorder.withRecording(target: lab.port) { recorder in
            let run: @Sendable () async throws -> (RecordedConnection, RecordedConnection) = {
                try await Self.waitForStored(lab: lab, host: host, logKey: logFile.itemKey)
                let checks = try await recorder.waitForConnection("active checks") {
                    $0.request == "active checks" && !$0.serverFrames.isEmpty
                }
                let data = try await recorder.waitForConnection("agent data with the log lines") { connection in
                    connection.request == "agent data"
                        && connection.dataRows.contains { row in
                            Self.rowKey(row, keysByItemid) == logFile.itemKey && row["value"] != nil
                        }
                }
                return (checks, data)
            }
            var options = ZabbixAgentOptions(hostname: host.name, activeServer: recorder.address, version: version)
            options.refreshActiveChecks = 600
            return try await agent.withRunning(options) { _ in try await run() }
        }

        // The agent data rows, each matched to what the server stored for it.
        var items: [FixtureItem] = []
        var notes: [String] = []
        for row in data.dataRows {
            guard let key = Self.rowKey(row, keysByItemid), row["value"] != nil else { continue }
            let itemid = host.itemid(key)
            let clock = try #require(row.int64("clock"), "row without clock: \(row)")
            let ns = row.int64("ns") ?? 0
            var item: FixtureItem
            if key == Self.unsupportedKey {
                item = try await Self.unsupportedItem(lab: lab, host: host, key: key, wireClock: clock, wireNs: ns)
            } else {
                let valueType = try #require(host.items[key]?.valueType)
                let stored = try await lab.database.history(itemid: itemid, valueType: valueType)
                let match = try #require(
                    stored.first { Int64($0.clock) == clock && Int64($0.ns) == ns },
                    "\(key): no history row with clock \(clock) ns \(ns) in \(stored.map { ($0.clock, $0.ns) })"
                )
                if key == ZabbixTestItems.bigTextKey {
                    // The server keeps the first 65 535 characters: the value itself is the UserParameter's.
                    #expect(match.value.count == 65_535 && ZabbixTestItems.bigTextValue.hasPrefix(match.value))
                    item = FixtureItem(
                        host: host.name,
                        key: key,
                        value: ZabbixTestItems.bigTextValue,
                        clock: Int64(match.clock),
                        ns: Int64(match.ns),
                        source:
                            "value: the UserParameter's output (`yes 0123456789abcde 2>/dev/null | head -n 19200`, trailing newline stripped by the agent); the server's history holds its first 65 535 characters (checked); clock/ns: server history"
                    )
                } else {
                    item = FixtureItem(
                        host: host.name,
                        key: key,
                        value: match.value,
                        clock: Int64(match.clock),
                        ns: Int64(match.ns)
                    )
                }
            }
            if itemidShaped { item.itemid = UInt64(itemid) }
            items.append(item)
        }
        let wantedKeys: Set<String> = [
            ZabbixTestItems.intKey, ZabbixTestItems.floatKey, ZabbixTestItems.textKey,
            ZabbixTestItems.bigTextKey, logFile.itemKey, Self.unsupportedKey,
        ]
        #expect(Set(items.map(\.key)) == wantedKeys, "the agent data connection carries \(items.map(\.key))")
        #expect(items.filter { $0.key == logFile.itemKey }.count == 2)
        notes.append(
            "Hostname=\(host.name); items (all delay 1s) created by SQL; the log file held two lines before the agent started"
        )
        notes.append("log item key: \(logFile.itemKey) (a lab temporary file)")

        let programVersion = try await Self.version(executable)
        let serverVersion = try await Self.serverVersion(version)
        let checksShape =
            switch (agent2, itemidShaped) {
            case (true, _): "compressed; the reply lists itemids, the catalog \(dataName) needs"
            case (false, true):
                "plain, with version and variant 1; the reply lists itemids, the catalog \(dataName) needs"
            case (false, false): "plain; agentd 6.0 sends no version, so the reply carries keys only"
            }
        let checksMeta = Self.meta(
            name: checksName,
            connection: checks,
            description: "\(program) \(version) asks the real server for its active checks (\(checksShape))",
            program: program,
            programVersion: programVersion,
            peer: Self.serverProgram,
            peerVersion: serverVersion,
            catalog: nil,
            deterministic: false,
            deterministicNote: "the reply depends on the server's configuration database (items, itemids, lastlogsize)",
            itemsSource: "none: active checks carry no item values",
            valuesHaveClock: false,
            items: [],
            notes: notes
        )
        try checks.save(as: checksMeta.name, meta: checksMeta)
        let dataShape =
            agent2 ? ", compressed and itemid-shaped" : itemidShaped ? ", itemid-shaped (plain)" : ", host/key-shaped"
        let dataMeta = Self.meta(
            name: dataName,
            connection: data,
            description:
                "\(program) \(version) sends its first values (int, float, text, two log lines, an unsupported item, a 307 199-byte text) to the real server\(dataShape)",
            program: program,
            programVersion: programVersion,
            peer: Self.serverProgram,
            peerVersion: serverVersion,
            catalog: itemidShaped ? checksName : nil,
            deterministic: false,
            deterministicNote:
                "the reply carries `seconds spent`, and the server drops rows it has already seen for the session",
            itemsSource:
                "the real server's history tables, values and clock/ns as stored (rows matched by item and clock/ns); see each item's `source` where it differs",
            valuesHaveClock: true,
            items: items,
            notes: notes
        )
        try data.save(as: dataMeta.name, meta: dataMeta)
    }

    /// The key of an agent data row: `key` (agentd) or the host's item with that `itemid` (agent2).
    private static func rowKey(_ row: [String: Any], _ keysByItemid: [UInt64: String]) -> String? {
        if let key = row.string("key") { return key }
        return row.int64("itemid").flatMap { keysByItemid[UInt64($0)] }
    }

    private static func waitForStored(lab: ZabbixServerLab, host: ZabbixHostRecord, logKey: String) async throws {
        for key in [
            ZabbixTestItems.intKey, ZabbixTestItems.floatKey, ZabbixTestItems.textKey, ZabbixTestItems.bigTextKey,
        ] {
            _ = try await lab.waitForHistory(host, key)
        }
        _ = try await lab.waitForHistory(host, logKey, count: 2)
        try await waitUntil(
            "\(unsupportedKey) to become not supported",
            timeout: .seconds(30),
            interval: .milliseconds(200)
        ) {
            try await lab.database.query("SELECT state FROM item_rtdata WHERE itemid = \(host.itemid(unsupportedKey));")
                == [["1"]]
        }
    }

    /// An unsupported value is not stored in history: the server keeps the error in
    /// `item_rtdata` (state 1). Its clock/ns come from the internal "not supported" event when
    /// the server stored one, else from the wire (as read by the capture's own frame reader).
    private static func unsupportedItem(
        lab: ZabbixServerLab,
        host: ZabbixHostRecord,
        key: String,
        wireClock: Int64,
        wireNs: Int64
    ) async throws -> FixtureItem {
        let itemid = host.itemid(key)
        let rows = try await lab.database.query(
            "SELECT state, encode(convert_to(error, 'UTF8'), 'hex') FROM item_rtdata WHERE itemid = \(itemid);"
        )
        let row = try #require(rows.first)
        #expect(row.first == "1")
        let error = Self.fromHex(row.count > 1 ? row[1] : "")
        let events = try await lab.database.query(
            "SELECT clock, ns FROM events WHERE source = 3 AND object = 4 AND objectid = \(itemid) AND value = 1 ORDER BY clock, ns;"
        )
        // The clock: the server's internal "item became not supported" event when it has one at the
        // wire's clock, else the wire row itself (the server stores no clock for such a value).
        let clockSource =
            events.contains(where: { $0 == [String(wireClock), String(wireNs)] })
            ? "the server's internal 'item became not supported' event"
            : "the wire row, read by the capture's own frame reader (the server stores no clock for an unsupported value; its internal events: \(events.map { $0.joined(separator: ".") }))"
        return FixtureItem(
            host: host.name,
            key: key,
            value: error,
            clock: wireClock,
            ns: wireNs,
            state: 1,
            source: "value and state: the server's item_rtdata (error, state 1); clock/ns: \(clockSource)"
        )
    }

    // MARK: zabbix_sender

    /// One value, batches with clocks and nanoseconds, and (6.0 only: the framing of a big value
    /// did not change) a 1 MiB value.
    @Test(arguments: ZabbixLabVersion.allCases)
    func senderFixtures(_ zabbixVersion: ZabbixLabVersion) async throws {
        let lab = try await ZabbixServerLab.sharedOrSkip(zabbixVersion)
        let host = try await lab.addHost(
            "fixture-sender",
            items: [
                .trapper("trap.int"), .trapper("trap.float", .float), .trapper("trap.text", .text),
            ]
        )
        let version = try await Self.version(zabbixVersion.programs.sender)
        let serverVersion = try await Self.serverVersion(zabbixVersion)
        let noReplay = "the reply carries `seconds spent`"
        func name(_ what: String) -> String { FixtureCapture.name("sender", zabbixVersion, what) }

        // One value, no clock.
        try await self.captureSender(
            lab: lab,
            name: name("single"),
            arguments: ["-s", host.name, "-k", "trap.int", "-o", "42"],
            input: nil,
            expectProcessed: 1
        ) { connection, output in
            Self.meta(
                name: name("single"),
                connection: connection,
                description: "zabbix_sender \(zabbixVersion) -s -k -o: one value, no clock, to the real server",
                program: "zabbix_sender",
                programVersion: version,
                peer: Self.serverProgram,
                peerVersion: serverVersion,
                catalog: nil,
                deterministic: false,
                deterministicNote: noReplay,
                itemsSource:
                    "the exact zabbix_sender input; no clock on the wire (the server stamps the value on arrival)",
                valuesHaveClock: false,
                items: [FixtureItem(host: host.name, key: "trap.int", value: "42")],
                notes: [output]
            )
        }

        // A batch with -T clocks.
        let clock = Int64(Date().timeIntervalSince1970) - 100
        let batch: [(String, Int64, String)] = [
            ("trap.int", clock + 1, "42"), ("trap.float", clock + 2, "3.25"),
            ("trap.text", clock + 3, "hello fixture"),
        ]
        let batchInput = batch.map { "\"\(host.name)\" \($0.0) \($0.1) \"\($0.2)\"" }.joined(separator: "\n") + "\n"
        try await self.captureSender(
            lab: lab,
            name: name("batch-clock"),
            arguments: ["-T", "-i", "-"],
            input: batchInput,
            expectProcessed: 3
        ) { connection, output in
            Self.meta(
                name: name("batch-clock"),
                connection: connection,
                description:
                    "zabbix_sender \(zabbixVersion) -T -i -: three values with clocks in one request, to the real server",
                program: "zabbix_sender",
                programVersion: version,
                peer: Self.serverProgram,
                peerVersion: serverVersion,
                catalog: nil,
                deterministic: false,
                deterministicNote: noReplay,
                itemsSource: "the exact zabbix_sender input (-T clocks; no ns given, so none on the wire)",
                valuesHaveClock: true,
                items: batch.map { FixtureItem(host: host.name, key: $0.0, value: $0.2, clock: $0.1) },
                notes: ["input:\n" + batchInput, output]
            )
        }

        // A batch with -T -N clocks and nanoseconds.
        let withNs: [(String, Int64, Int64, String)] = [
            ("trap.int", clock + 4, 123_456_789, "7"),
            ("trap.float", clock + 5, 999_999_999, "-0.5"),
            ("trap.text", clock + 6, 1, "ns \"quoted\" text"),
        ]
        let nsInput =
            withNs.map {
                "\"\(host.name)\" \($0.0) \($0.1) \($0.2) \"\($0.3.replacingOccurrences(of: "\"", with: "\\\""))\""
            }.joined(separator: "\n") + "\n"
        try await self.captureSender(
            lab: lab,
            name: name("batch-ns"),
            arguments: ["-T", "-N", "-i", "-"],
            input: nsInput,
            expectProcessed: 3
        ) { connection, output in
            Self.meta(
                name: name("batch-ns"),
                connection: connection,
                description:
                    "zabbix_sender \(zabbixVersion) -T -N -i -: three values with clocks and nanoseconds, to the real server",
                program: "zabbix_sender",
                programVersion: version,
                peer: Self.serverProgram,
                peerVersion: serverVersion,
                catalog: nil,
                deterministic: false,
                deterministicNote: noReplay,
                itemsSource: "the exact zabbix_sender input (-T clocks, -N nanoseconds)",
                valuesHaveClock: true,
                items: withNs.map { FixtureItem(host: host.name, key: $0.0, value: $0.3, clock: $0.1, ns: $0.2) },
                notes: ["input:\n" + nsInput, output]
            )
        }

        // One 1 MiB value (through -i: a command-line argument cannot be that long).
        guard zabbixVersion == .v6_0 else { return }
        let line = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_"  // 64 characters
        let big = String(repeating: line, count: (1 << 20) / line.count)
        let bigInput = "\"\(host.name)\" trap.text \"\(big)\"\n"
        try await self.captureSender(
            lab: lab,
            name: name("1mib"),
            arguments: ["-i", "-"],
            input: bigInput,
            expectProcessed: 1
        ) { connection, output in
            Self.meta(
                name: name("1mib"),
                connection: connection,
                description: "zabbix_sender -i -: one 1 MiB (1 048 576-byte) text value, to the real server",
                program: "zabbix_sender",
                programVersion: version,
                peer: Self.serverProgram,
                peerVersion: serverVersion,
                catalog: nil,
                deterministic: false,
                deterministicNote: noReplay,
                itemsSource: "the exact zabbix_sender input: 16 384 × \"\(line)\"; no clock",
                valuesHaveClock: false,
                items: [FixtureItem(host: host.name, key: "trap.text", value: big)],
                notes: [output]
            )
        }
    }

    private func captureSender(
        lab: ZabbixServerLab,
        name: String,
        arguments: [String],
        input: String?,
        expectProcessed: Int,
        meta: (RecordedConnection, String) -> FixtureMeta
    ) async throws {
        let (connection, output) = try await FixtureRecorder.withRecording(target: lab.port) { recorder in
            let result = try await ProcessRunner.run(
                lab.version.programs.sender,
                ["-z", "127.0.0.1", "-p", String(recorder.port)] + arguments,
                input: input
            )
            #expect(result.exitCode == 0, "\(result)")
            #expect(result.standardOutput.contains("processed: \(expectProcessed); failed: 0"), "\(result)")
            let connection = try await recorder.waitForConnection("sender data") { $0.request == "sender data" }
            let output = result.standardOutput.split(separator: "\n").filter {
                $0.hasPrefix("Response") || $0.hasPrefix("sent")
            }
            return (connection, "zabbix_sender printed: " + output.joined(separator: " | "))
        }
        let fixture = meta(connection, output)
        try connection.save(as: name, meta: fixture)
    }

    // MARK: zabbix_get (passive checks)

    /// zabbix_get against both agents of the same version: 6.0 sends the key as text, 7.0 a JSON
    /// `passive checks` request that 7.0 agents answer in JSON.
    @Test(arguments: ZabbixLabVersion.allCases)
    func passiveChecksWithZabbixGet(_ zabbixVersion: ZabbixLabVersion) async throws {
        try zabbixVersion.requirePrograms()
        let getVersion = try await Self.version(zabbixVersion.programs.get)
        let deterministicNote =
            "any lab agent of the same version answers the same key with the same bytes (deterministic UserParameters, fixed error text)"
        let json = zabbixVersion.isAtLeast7
        let form =
            json
            ? "a JSON passive check (`passive checks` request, JSON reply)"
            : "a passive check (plain-text key, plain-text value)"
        func name(_ what: String) -> String { FixtureCapture.name("get-passive", zabbixVersion, what) }
        try await ZabbixAgentd.withRunning(ZabbixAgentd.Options(version: zabbixVersion)) { agent in
            let agentVersion = try await Self.version(zabbixVersion.programs.agentd)
            try await FixtureRecorder.withRecording(target: agent.port) { recorder in
                let int = try await ZabbixGet.get(
                    port: recorder.port,
                    key: ZabbixTestItems.intKey,
                    version: zabbixVersion
                )
                #expect(int.value == ZabbixTestItems.intValue, "\(int)")
                let intConnection = try await Self.passiveCheck(ZabbixTestItems.intKey, recorder)
                try intConnection.save(
                    as: name("agentd"),
                    meta: Self.meta(
                        name: name("agentd"),
                        connection: intConnection,
                        description:
                            "zabbix_get \(zabbixVersion) -k lab.int against zabbix_agentd \(zabbixVersion): \(form)",
                        program: "zabbix_get",
                        programVersion: getVersion,
                        peer: "zabbix_agentd",
                        peerVersion: agentVersion,
                        catalog: nil,
                        deterministic: true,
                        deterministicNote: deterministicNote,
                        itemsSource:
                            "the lab's UserParameter lab.int (`echo 42`); zabbix_get printed the same. Passive checks carry no host and no clock.",
                        valuesHaveClock: false,
                        items: [FixtureItem(host: nil, key: ZabbixTestItems.intKey, value: ZabbixTestItems.intValue)],
                        notes: ["zabbix_get printed: \(int.value)"]
                    )
                )
                try Self.expectReplayGivesSameReply(port: agent.port, intConnection)

                let missing = try await ZabbixGet.get(port: recorder.port, key: "no.such.key", version: zabbixVersion)
                let prefix = "ZBX_NOTSUPPORTED: "
                #expect(missing.value.hasPrefix(prefix), "\(missing)")
                let error = String(missing.value.dropFirst(prefix.count))
                let missingConnection = try await Self.passiveCheck("no.such.key", recorder)
                try missingConnection.save(
                    as: name("notsupported"),
                    meta: Self.meta(
                        name: name("notsupported"),
                        connection: missingConnection,
                        description:
                            "zabbix_get \(zabbixVersion) -k no.such.key against zabbix_agentd \(zabbixVersion): "
                            + (json ? "the JSON reply's data[0].error" : "ZBX_NOTSUPPORTED\\0<error>"),
                        program: "zabbix_get",
                        programVersion: getVersion,
                        peer: "zabbix_agentd",
                        peerVersion: agentVersion,
                        catalog: nil,
                        deterministic: true,
                        deterministicNote: deterministicNote,
                        itemsSource:
                            "zabbix_get's output `ZBX_NOTSUPPORTED: <error>`: state 1, value the error text. No host, no clock.",
                        valuesHaveClock: false,
                        items: [FixtureItem(host: nil, key: "no.such.key", value: error, state: 1)],
                        notes: ["zabbix_get printed: \(missing.value)"]
                    )
                )
                try Self.expectReplayGivesSameReply(port: agent.port, missingConnection)
            }
        }
        try await ZabbixAgent2.withRunning(ZabbixAgent2.Options(version: zabbixVersion)) { agent in
            let agentVersion = try await Self.version(zabbixVersion.programs.agent2)
            try await FixtureRecorder.withRecording(target: agent.port) { recorder in
                let text = try await ZabbixGet.get(
                    port: recorder.port,
                    key: ZabbixTestItems.textKey,
                    version: zabbixVersion
                )
                #expect(text.value == ZabbixTestItems.textValue, "\(text)")
                let connection = try await Self.passiveCheck(ZabbixTestItems.textKey, recorder)
                try connection.save(
                    as: name("agent2"),
                    meta: Self.meta(
                        name: name("agent2"),
                        connection: connection,
                        description: "zabbix_get \(zabbixVersion) -k lab.text against zabbix_agent2 \(zabbixVersion): "
                            + (json ? form : "its plain reply fills `reserved` with the length"),
                        program: "zabbix_get",
                        programVersion: getVersion,
                        peer: "zabbix_agent2",
                        peerVersion: agentVersion,
                        catalog: nil,
                        deterministic: true,
                        deterministicNote: deterministicNote,
                        itemsSource:
                            "the lab's UserParameter lab.text; zabbix_get printed the same. No host, no clock.",
                        valuesHaveClock: false,
                        items: [FixtureItem(host: nil, key: ZabbixTestItems.textKey, value: ZabbixTestItems.textValue)],
                        notes: ["zabbix_get printed: \(text.value)"]
                    )
                )
                try Self.expectReplayGivesSameReply(port: agent.port, connection)
            }
        }
    }

    /// The recorded passive check of `key` that got a reply: the key as text (≤ 6.4), or a 7.0 JSON
    /// `passive checks` request for it.
    static func passiveCheck(
        _ key: String,
        _ recorder: FixtureRecorder,
        json: Bool? = nil
    ) async throws -> RecordedConnection {
        try await recorder.waitForConnection("passive check \(key)") { connection in
            guard let request = connection.clientFrames.first, !connection.serverFrames.isEmpty else { return false }
            let asText = request.payload == Array(key.utf8)
            let asJSON =
                request.json?["request"] as? String == "passive checks"
                && (request.json?["data"] as? [[String: Any]])?.first?["key"] as? String == key
            switch json {
            case true?: return asJSON
            case false?: return asText
            case nil: return asText || asJSON
            }
        }
    }

    /// `deterministic: true` checked: the recorded client bytes, sent straight to the agent, get
    /// the recorded reply byte for byte.
    static func expectReplayGivesSameReply(port: Int, _ connection: RecordedConnection) throws {
        let socket = try BlockingSocket.connect(port: port)
        socket.setReceiveTimeout(seconds: 10)
        try socket.send(connection.client)
        let reply = try socket.receiveAll()
        socket.close()
        #expect(
            reply == connection.server,
            "replayed client bytes got \(reply.count) bytes, recorded \(connection.server.count)"
        )
    }

    // MARK: Active proxy ↔ server

    /// 6.0: one full configuration, one upload. (7.0's incremental configuration, `host data` and
    /// the catalog chain they need: `FixtureCapture70Tests`.)
    @Test func activeProxyConfigAndData() async throws {
        let lab = try await ZabbixServerLab.shared()
        let proxyName = "fixture-proxy"
        let proxyid = try await lab.database.addProxy(proxyName)
        let host = try await lab.addHost(
            "fixture-proxied",
            items: [
                .trapper("trap.int"), .trapper("trap.float", .float), .trapper("trap.text", .text),
            ],
            proxyid: proxyid
        )
        let keysByItemid = Dictionary(uniqueKeysWithValues: host.items.map { (Int64($0.value.itemid), $0.key) })
        let proxyVersion = try await Self.version(ZabbixPrograms.proxy)
        let serverVersion = try await Self.serverVersion(.v6_0)

        let (config, data, senderOutput) = try await FixtureRecorder.withRecording(target: lab.port) { recorder in
            var options = ZabbixProxy.Options(hostname: proxyName, activeServer: recorder.address)
            options.configFrequency = 1
            return try await ZabbixProxy.withRunning(options) { proxy in
                let input =
                    [("trap.int", "42"), ("trap.float", "3.25"), ("trap.text", "proxied text")]
                    .map { "\"\(host.name)\" \($0.0) \"\($0.1)\"" }.joined(separator: "\n") + "\n"
                var sent: ProcessResult?
                try await waitUntil(
                    "the proxy to accept values for \(host.name)",
                    timeout: .seconds(60),
                    interval: .milliseconds(300)
                ) {
                    sent = try await ProcessRunner.run(
                        ZabbixPrograms.sender,
                        ["-z", "127.0.0.1", "-p", String(proxy.port), "-i", "-"],
                        input: input
                    )
                    return sent?.standardOutput.contains("processed: 3; failed: 0") == true
                }
                for key in ["trap.int", "trap.float", "trap.text"] { _ = try await lab.waitForHistory(host, key) }
                let data = try await recorder.waitForConnection("proxy data with history") { connection in
                    connection.request == "proxy data"
                        && connection.dataRows.contains { keysByItemid[$0.int64("itemid") ?? -1] != nil }
                }
                let dataID = data.recording.connection ?? 0
                let config = try #require(
                    try recorder.connections().last { connection in
                        connection.request == "proxy config" && (connection.recording.connection ?? 0) < dataID
                            && connection.serverFrames.first?.payload.map {
                                String(decoding: $0, as: UTF8.self).contains(host.name)
                            } == true
                    },
                    "a proxy config connection before the data whose reply names \(host.name)"
                )
                return (config, data, sent?.standardOutput ?? "")
            }
        }

        let items = try await Self.historyItems(data, host, lab)
        #expect(Set(items.map(\.key)) == ["trap.int", "trap.float", "trap.text"])
        let notes = [
            "proxy \(proxyName) (active, ConfigFrequency=1, DataSenderFrequency=1); host \(host.name) with trapper items monitored by it",
            "zabbix_sender sent to the proxy directly (not recorded): "
                + senderOutput.split(separator: "\n").filter { $0.hasPrefix("Response") }.joined(),
        ]
        let configMeta = Self.meta(
            name: "proxy-config",
            connection: config,
            description:
                "an active zabbix_proxy asks the real server for its configuration; both directions compressed; the reply is the catalog proxy-data needs",
            program: "zabbix_proxy",
            programVersion: proxyVersion,
            peer: Self.serverProgram,
            peerVersion: serverVersion,
            catalog: nil,
            deterministic: false,
            deterministicNote: "the reply is the server's configuration database (ids, macros, settings)",
            itemsSource: "none: configuration carries no item values",
            valuesHaveClock: false,
            items: [],
            notes: notes
        )
        try config.save(as: configMeta.name, meta: configMeta)
        let dataMeta = Self.meta(
            name: "proxy-data",
            connection: data,
            description: "an active zabbix_proxy uploads history rows (itemid-shaped, compressed) to the real server",
            program: "zabbix_proxy",
            programVersion: proxyVersion,
            peer: Self.serverProgram,
            peerVersion: serverVersion,
            catalog: "proxy-config",
            deterministic: false,
            deterministicNote:
                "the server drops rows it has already seen for the session, and its reply depends on its state",
            itemsSource:
                "the real server's history tables, values and clock/ns as stored (rows matched by itemid and clock/ns)",
            valuesHaveClock: true,
            items: items,
            notes: notes
        )
        try data.save(as: dataMeta.name, meta: dataMeta)
    }

    // MARK: TLS

    @Test func senderWithTLSPSK() async throws {
        let directory = try ZabbixLabDirectory.create("psk")
        defer { ZabbixLabDirectory.remove(directory) }
        let pskFile = "\(directory)/fixture.psk"
        let identity = "zabbix-tee-fixture"
        // A throwaway test key, in the fixture's notes too: the bytes are useless to anyone.
        let psk = "7d3e0f7c0a9c4b1e8f6a5d4c3b2a19080f1e2d3c4b5a69788796a5b4c3d2e1f0"
        try (psk + "\n").write(toFile: pskFile, atomically: true, encoding: .utf8)
        chmod(pskFile, 0o600)
        var options = ZabbixProxy.Options(hostname: "fixture-tls-proxy")
        options.extraConfiguration = ["TLSAccept=psk", "TLSPSKIdentity=\(identity)", "TLSPSKFile=\(pskFile)"]
        let senderVersion = try await Self.version(ZabbixPrograms.sender)
        let proxyVersion = try await Self.version(ZabbixPrograms.proxy)
        try await ZabbixProxy.withRunning(options) { proxy in
            try await FixtureRecorder.withRecording(target: proxy.port) { recorder in
                let result = try await ProcessRunner.run(
                    ZabbixPrograms.sender,
                    [
                        "-z", "127.0.0.1", "-p", String(recorder.port), "-s", "fixture-tls-host", "-k", "trap.int",
                        "-o", "1",
                        "--tls-connect", "psk", "--tls-psk-identity", identity, "--tls-psk-file", pskFile,
                    ]
                )
                #expect(result.standardOutput.contains("Response from"), "the TLS session completed: \(result)")
                let connection = try await recorder.waitForConnection("a TLS connection") {
                    $0.client.first == 0x16 && !$0.server.isEmpty
                }
                let output = result.standardOutput.split(separator: "\n").filter {
                    $0.hasPrefix("Response") || $0.hasPrefix("sent")
                }
                try connection.save(
                    as: "sender-tls-psk",
                    meta: Self.meta(
                        name: "sender-tls-psk",
                        connection: connection,
                        description:
                            "zabbix_sender --tls-connect psk to a zabbix_proxy with TLSAccept=psk: a TLS session the tee relays and never decodes",
                        program: "zabbix_sender",
                        programVersion: senderVersion,
                        peer: "zabbix_proxy",
                        peerVersion: proxyVersion,
                        catalog: nil,
                        deterministic: false,
                        deterministicNote: "TLS handshakes use fresh random values",
                        itemsSource:
                            "none: the frames travel inside TLS (the sender sent trap.int=1 for an unknown host)",
                        valuesHaveClock: false,
                        items: [],
                        notes: [
                            "PSK identity \(identity), key \(psk) (test key)",
                            "zabbix_sender printed: " + output.joined(separator: " | "),
                        ]
                    )
                )
            }
        }
    }

    // MARK: Helpers

    static func meta(
        name: String,
        connection: RecordedConnection,
        description: String,
        program: String,
        programVersion: String,
        peer: String,
        peerVersion: String,
        catalog: String?,
        deterministic: Bool,
        deterministicNote: String,
        itemsSource: String,
        valuesHaveClock: Bool,
        items: [FixtureItem],
        notes: [String]
    ) -> FixtureMeta {
        let formatter = ISO8601DateFormatter()
        return FixtureMeta(
            name: name,
            description: description,
            program: program,
            programVersion: programVersion,
            peer: peer,
            peerVersion: peerVersion,
            captured: formatter.string(from: Date()),
            listener: FixtureRecorder.listener,
            clientBytes: connection.client.count,
            serverBytes: connection.server.count,
            clientFlags: RecordedConnection.flagsText(connection.clientFrames),
            serverFlags: RecordedConnection.flagsText(connection.serverFrames),
            clientFrames: connection.clientFrames.count,
            serverFrames: connection.serverFrames.count,
            requestTypes: connection.requestTypes,
            tls: connection.client.first == 0x16,
            catalog: catalog,
            deterministic: deterministic,
            deterministicNote: deterministicNote,
            itemsSource: itemsSource,
            valuesHaveClock: valuesHaveClock,
            items: items,
            notes: notes,
            recording: connection.recording,
            version: FixtureMeta.version(fromProgramVersion: programVersion),
            synthesized: false
        )
    }

    /// The connection's history rows of `host`, each matched to what the server stored (itemid,
    /// clock and ns; the value as stored).
    static func historyItems(
        _ connection: RecordedConnection,
        _ host: ZabbixHostRecord,
        _ lab: ZabbixServerLab
    ) async throws -> [FixtureItem] {
        let keysByItemid = Dictionary(uniqueKeysWithValues: host.items.map { (Int64($0.value.itemid), $0.key) })
        var items: [FixtureItem] = []
        for row in connection.dataRows {
            guard let key = keysByItemid[row.int64("itemid") ?? -1], row["value"] != nil else { continue }
            let clock = try #require(row.int64("clock"))
            let ns = row.int64("ns") ?? 0
            let valueType = try #require(host.items[key]?.valueType)
            let stored = try await lab.database.history(itemid: host.itemid(key), valueType: valueType)
            let match = try #require(
                stored.first { Int64($0.clock) == clock && Int64($0.ns) == ns },
                "\(key) \(clock).\(ns) not in history"
            )
            items.append(
                FixtureItem(
                    host: host.name,
                    key: key,
                    itemid: UInt64(host.itemid(key)),
                    value: match.value,
                    clock: Int64(match.clock),
                    ns: Int64(match.ns)
                )
            )
        }
        return items
    }

    /// The first line of `program -V`.
    static func version(_ executable: String) async throws -> String {
        let result = try await ProcessRunner.run(executable, ["-V"])
        return String(result.standardOutput.split(separator: "\n").first ?? "")
    }

    static func serverVersion(_ version: ZabbixLabVersion) async throws -> String {
        try await self.version(try #require(version.programs.server))
    }

    static func fromHex(_ hex: String) -> String {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) {
            if let byte = UInt8(hex[index..<next], radix: 16) { bytes.append(byte) }
            index = next
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

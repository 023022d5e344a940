import Riemann
import Tee
import TestSupport
import Testing
import ZabbixProtocol

/// `mapping.ttl: auto`: an event lives as many update intervals of its item as configured, so
/// Riemann expires an item that stopped arriving; where the interval is unknown, the fallback.
@Suite struct EventTTLTests {
    static func event(delay: String?, _ configure: (inout MappingConfiguration) -> Void) throws -> RiemannEvent {
        var configuration = MappingConfiguration()
        configure(&configuration)
        let decoded = DecodedValue(
            value: ItemValue(
                requestType: .agentData,
                host: "web01",
                key: "agent.ping",
                itemid: 7,
                value: "1",
                clock: 1_700_000_000
            ),
            listener: "agents",
            connection: 1,
            seenAtMicros: 1_700_000_000_000_000,
            delay: delay.flatMap(ZabbixUpdateInterval.init)
        )
        return try EventMapper(configuration: configuration).event(for: decoded).get()
    }

    /// (the item's `delay` as the server told it, the TTL with `ttl: auto`, `ttl_multiple: 3`,
    /// `ttl_fallback: 5m`)
    @Test(
        arguments: [
            ("30", 90), ("30s", 90), ("1m", 180), ("1h", 10_800), ("1d", 259_200), ("1w", 1_814_400),
            ("{$DELAY}", 300),  // a macro the tee does not resolve: the fallback
            ("50s;wd1-5,9:00-18:00", 150),  // flexible: the base delay
            ("0;md1;h9", 300),  // scheduling only: the fallback
            ("0", 300),  // trapper items
            (nil, 300),  // no interval known (zabbix_sender, agentd 6.0's keyed values)
        ] as [(String?, Float)]
    )
    func autoTTLIsAMultipleOfTheItemsInterval(delay: String?, ttl: Float) throws {
        let event = try Self.event(delay: delay) { $0.ttlIntervalMultiple = 3 }
        #expect(event.ttl == ttl)
    }

    @Test func aFixedTTLIgnoresTheInterval() throws {
        #expect(try Self.event(delay: "1m") { _ in }.ttl == 300)
        #expect(try Self.event(delay: "1m") { $0.ttl = nil }.ttl == nil)
        #expect(
            try Self.event(delay: "{$DELAY}") {
                $0.ttlIntervalMultiple = 2.5
                $0.ttl = nil
            }.ttl == nil
        )
        #expect(try Self.event(delay: "10s") { $0.ttlIntervalMultiple = 2.5 }.ttl == 25)
    }

    @Test func configurationReadsAutoWithItsMultipleAndFallback() throws {
        let base = "listeners:\n  - name: a\n    listen: [\"127.0.0.1:1\"]\n    targets: [\"h:1\"]\n"
        let auto = try ConfigLoader.parse(yaml: base + "mapping:\n  ttl: auto\n", file: "c.yaml")
        #expect(auto.mapping.ttlIntervalMultiple == 3)
        #expect(auto.mapping.ttl == 300)
        let tuned = try ConfigLoader.parse(
            yaml: base + "mapping:\n  ttl: auto\n  ttl_multiple: 2.5\n  ttl_fallback: none\n",
            file: "c.yaml"
        )
        #expect(tuned.mapping.ttlIntervalMultiple == 2.5)
        #expect(tuned.mapping.ttl == nil)
        #expect(tuned.effectiveYAML.contains("  ttl: auto\n  ttl_multiple: 2.5\n  ttl_fallback: none\n"))
        let fixed = try ConfigLoader.parse(yaml: base + "mapping:\n  ttl: 300\n", file: "c.yaml")
        #expect(fixed.mapping.ttlIntervalMultiple == nil)
        #expect(fixed.mapping.ttl == 300)

        for (yaml, path, words) in [
            (
                "mapping:\n  ttl: 60s\n  ttl_multiple: 3\n", "mapping.ttl_multiple",
                "only applies with mapping.ttl: auto"
            ),
            ("mapping:\n  ttl_fallback: 60s\n", "mapping.ttl_fallback", "only applies with mapping.ttl: auto"),
            ("mapping:\n  ttl: auto\n  ttl_multiple: 0.5\n", "mapping.ttl_multiple", "between 1 and 1000"),
            ("mapping:\n  ttl: sometimes\n", "mapping.ttl", "not a duration"),
        ] {
            #expect {
                try ConfigLoader.parse(yaml: base + yaml, file: "c.yaml")
            } throws: { error in
                guard let error = error as? ConfigError else { return false }
                return error.keyPath == path && error.message.contains(words) && error.line != nil
            }
        }
    }

    /// Real 7.0 traffic: agentd's and agent 2's `active checks` and a proxy's configuration say
    /// `1s` for the lab's active items (and `0` for trapper items); the values they label get 3 s,
    /// the others the 5 min fallback.
    @Test(arguments: [
        "agentd-7.0-agent-data", "agent2-7.0-agent-data", "proxy-7.0-data", "agent2-agent-data", "proxy-data",
    ])
    func recordedTrafficCarriesTheIntervalToTheEvent(fixture: String) throws {
        let (_, result) = try FixtureReplayTests.decode(fixture, chunkSize: .max)
        var mapping = MappingConfiguration()
        mapping.ttlIntervalMultiple = 3
        let mapper = EventMapper(configuration: mapping)
        #expect(result.values.allSatisfy { $0.delay != nil }, "the catalog told every interval")
        for value in result.values {
            let event = try mapper.event(for: value).get()
            let expected: Float = value.delay?.text == "1s" ? 3 : 300
            #expect(event.ttl == expected, "\(value.value.key ?? ""): delay \(value.delay?.text ?? "unknown")")
            #expect(value.delay == nil || ["1s", "0"].contains(value.delay?.text))
        }
    }

    /// agentd 6.0 gets its items without itemid (delay in seconds) and sends values by key: the
    /// catalog keeps the intervals by key for the agent.
    @Test func agentd60ValuesGetTheirIntervalByKey() throws {
        let configuration = DecodeConfiguration()
        let store = ItemCatalogStore(configuration: configuration)
        for fixture in ["agentd-active-checks", "agentd-agent-data"] {
            let meta = try FixtureFiles.meta(fixture)
            let result = CaptureDecoder(listener: meta.listener, configuration: configuration, catalog: store).decode(
                client: FixtureFiles.bytes(fixture, "client.bin"),
                server: FixtureFiles.bytes(fixture, "server.bin"),
                chunkSize: .max
            )
            guard fixture == "agentd-agent-data" else { continue }
            #expect(!result.values.isEmpty)
            var mapping = MappingConfiguration()
            mapping.ttlIntervalMultiple = 3
            for value in result.values {
                #expect(value.delay == ZabbixUpdateInterval(seconds: 1), "\(value.value.key ?? "")")
                #expect(try EventMapper(configuration: mapping).event(for: value).get().ttl == 3)
            }
        }
    }
}

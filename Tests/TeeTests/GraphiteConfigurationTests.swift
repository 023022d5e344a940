import Riemann
import Tee
import Testing

/// The `graphite:` section: read with its defaults, printed back by check-config, refused with
/// file, line and key when wrong, and left for a restart by a reload.
@Suite struct GraphiteConfigurationTests {
    static let base = "listeners:\n  - name: a\n    listen: [\"127.0.0.1:1\"]\n    targets: [\"h:1\"]\n"

    static func parse(_ graphite: String) throws -> TeeConfiguration {
        try ConfigLoader.parse(yaml: Self.base + graphite, file: "c.yaml")
    }

    @Test func theSectionIsReadWithItsDefaults() throws {
        let graphite = try #require(
            try Self.parse("graphite:\n  servers: [\"carbon:2003\", \"carbon-b:2003\"]\n").graphite
        )
        #expect(
            graphite.client.servers == [
                RiemannServerAddress(host: "carbon", port: 2003), RiemannServerAddress(host: "carbon-b", port: 2003),
            ]
        )
        #expect(graphite.prefix == "zabbix")
        #expect(graphite.path.description == "{host|reverse}.{key|graphite}")
        #expect(graphite.client.maximumBatchEvents == 500)
        #expect(graphite.client.queueCapacity == 100_000)
        #expect(graphite.client.acknowledgementTimeout == .seconds(5))
        #expect(graphite.flushTimeout == .seconds(10))
        #expect(graphite.wireProtocol == .plaintext)
        #expect(
            try Self.parse("graphite:\n  servers: [\"c:2004\"]\n  protocol: pickle\n").graphite?.wireProtocol.wireFormat
                == .graphitePickle
        )
        #expect(try Self.parse("").graphite == nil)
    }

    @Test func everyKeyIsReadAndCheckConfigPrintsWhatLoadsAgain() throws {
        let configuration = try Self.parse(
            """
            graphite:
              servers: ["127.0.0.1:2003"]
              protocol: plaintext
              prefix: "zbx \\"x\\""
              path: "{host|graphite}.{key|graphite}"
              batch: { max_events: 50, max_bytes: 128KiB, max_delay: 1s }
              queue: { max_events: 1000, max_bytes: 1MiB, overflow: drop-newest }
              write_timeout: 2s
              connect_timeout: 1s
              reconnect: { min: 50ms, max: 5s }
              flush_timeout: 3s

            """
        )
        let graphite = try #require(configuration.graphite)
        #expect(graphite.prefix == "zbx \"x\"")
        #expect(graphite.client.maximumBatchBytes == 128 << 10)
        #expect(graphite.client.overflowPolicy == .dropNewest)
        #expect(graphite.client.acknowledgementTimeout == .seconds(2))
        #expect(graphite.client.reconnectBackoffMaximum == .seconds(5))
        let again = try ConfigLoader.parse(yaml: configuration.effectiveYAML, file: "effective.yaml")
        #expect(again.effectiveYAML == configuration.effectiveYAML)
        #expect(
            configuration.effectiveYAML.contains("graphite:\n  servers: [\"127.0.0.1:2003\"]\n  protocol: plaintext\n")
        )
    }

    @Test(arguments: [
        ("graphite:\n  prefix: x\n", "graphite", "missing key 'servers'"),
        ("graphite:\n  servers: [\"c:2003\"]\n  protocol: udp\n", "graphite.protocol", "expected plaintext, pickle"),
        (
            "graphite:\n  servers: [\"c:2003\"]\n  path: \"{key|graphit}\"\n", "graphite.path",
            "unknown placeholder {key|graphit}"
        ),
        (
            "graphite:\n  servers: [\"c:2003\"]\n  queue: { max_bytes: 64KiB }\n", "graphite.queue.max_bytes",
            "at least batch max_bytes"
        ),
        (
            "graphite:\n  servers: [\"c:2003\"]\n  reconnect: { min: 5s, max: 1s }\n", "graphite.reconnect",
            "max must not be below min"
        ),
        (
            "graphite:\n  servers: [\"c:2003\"]\n  queue: { overflow: random }\n", "graphite.queue.overflow",
            "expected drop-oldest, drop-newest"
        ),
        ("graphite:\n  servers: []\n", "graphite.servers", "at least one server"),
        ("graphite:\n  servers: [\"c:2003\"]\n  ttl: 5\n", "graphite.ttl", "unknown key"),
    ])
    func aWrongSectionFailsAtStartWithFileLineAndKey(yaml: String, path: String, words: String) {
        #expect {
            try Self.parse(yaml)
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.file == "c.yaml" && error.line != nil && error.keyPath == path && error.message.contains(words)
        }
    }

    @Test func aReloadLeavesTheGraphiteOutputForARestart() throws {
        let running = try Self.parse("graphite:\n  servers: [\"c:2003\"]\n")
        let new = try Self.parse("graphite:\n  servers: [\"d:2003\"]\n  prefix: other\n")
        let plan = ConfigurationReloadPlan(running: running, new: new, decoderRunning: true)
        #expect(plan.restartRequired.contains("graphite.servers"))
        #expect(plan.restartRequired.contains("graphite.prefix"))
        #expect(plan.applied.graphite?.client.servers == running.graphite?.client.servers)
        let added = ConfigurationReloadPlan(running: try Self.parse(""), new: new, decoderRunning: true)
        #expect(added.restartRequired.contains("graphite"))
        #expect(added.applied.graphite == nil)
    }
}

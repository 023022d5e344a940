import NIOCore
import Relay
import Riemann
import Tee
import Testing

/// Valid configurations load with their defaults; broken ones fail with a message naming the
/// file, the key path and what is wrong.
struct ConfigLoaderTests {
    @Test func minimalListenerGetsTheDocumentedDefaults() throws {
        let configuration = try ConfigLoader.parse(
            yaml: """
                listeners:
                  - name: agents
                    listen: ["127.0.0.1:10051"]
                    targets: ["zabbix-server.example.net:10051"]
                """,
            file: "config.yaml"
        )
        let listener = try #require(configuration.listeners.first)
        #expect(listener.name == "agents")
        #expect(listener.listen == [Endpoint(host: "127.0.0.1", port: 10051)])
        #expect(listener.targets == [Endpoint(host: "zabbix-server.example.net", port: 10051)])
        #expect(listener.balance == .failover)
        #expect(listener.connectTimeout == .seconds(5))
        #expect(listener.idleTimeout == .seconds(900))
        #expect(listener.targetCoolDown == .seconds(30))
        #expect(listener.drainTimeout == .seconds(30))
        #expect(listener.maxConnections == 10_000)
        #expect(listener.backlog == 1024)
        #expect(listener.socketBufferSize == nil)
        #expect(listener.allow == IPNetwork.everyone, "every client (a loopback-only listener needs no allow list)")
        #expect(listener.maxConnectionsPerSource == nil, "no per-source limit: only local clients can connect")
        #expect(listener.acceptRate == nil, "no accept rate limit")
        #expect(listener.firstByteTimeout == .seconds(30))
        #expect(listener.clientFinTimeout == .seconds(10))
        #expect(listener.serverReplyTimeout == .seconds(620))
        #expect(listener.kernel == RelayKernelOptions())
        #expect(listener.kernel.moreBeforeEndOfStream, "the FIN shares the last data segment unless turned off")
        #expect(configuration.logLevel == .info)
        #expect(configuration.shutdownTimeout == .seconds(30))
        #expect(configuration.threads == nil, "auto")
        #expect(configuration.maxConnections == 30_000)
    }

    @Test func aLoopbackOnlyListenerHasNoPerSourceLimitByDefaultAndOffSwitchesItOff() throws {
        func perSource(_ listen: String, _ extra: String = "") throws -> Int? {
            try ConfigLoader.parse(
                yaml:
                    "listeners:\n  - name: a\n    listen: [\(listen)]\n    targets: [\"h:1\"]\n    allow: any\n\(extra)",
                file: "c.yaml"
            ).listeners[0].maxConnectionsPerSource
        }
        #expect(try perSource("\"127.0.0.1:1\", \"[::1]:1\", \"127.0.0.2:2\"") == nil, "only local clients can connect")
        #expect(try perSource("\"localhost:1\"") == nil)
        #expect(
            try perSource("\"127.0.0.1:1\", \"192.0.2.1:1\"") == 256,
            "one address reachable from other hosts is enough"
        )
        #expect(try perSource("\"[::]:1\"") == 256)
        #expect(try perSource("\"tee.example.net:1\"") == 256, "a name may resolve to anything")
        #expect(try perSource("\"0.0.0.0:1\"", "    max_connections_per_source: off\n") == nil, "off opts out")
        #expect(try perSource("\"127.0.0.1:1\"", "    max_connections_per_source: 4\n") == 4)
    }

    @Test func everyListenerKeyIsRead() throws {
        let configuration = try ConfigLoader.parse(
            yaml: """
                log_level: debug
                shutdown_timeout: 45s
                threads: 3
                max_connections: 5000
                listeners:
                  - name: proxies
                    listen: ["127.0.0.1:20051", "[::1]:20051"]
                    targets: ["10.1.1.1:10051", "10.1.1.2:10051"]
                    balance: round-robin
                    connect_timeout: 250ms
                    idle_timeout: 15m
                    target_cooldown: 1m
                    drain_timeout: 10s
                    first_byte_timeout: 3s
                    client_fin_timeout: 2s
                    server_reply_timeout: 5m
                    max_connections: 2000
                    backlog: 512
                    socket_buffer: 256KiB
                    tcp_smart_connect: true
                    tcp_fin_with_data: false
                    tcp_defer_accept: 2s
                    max_connections_per_source: 20
                    accept_rate: { per_second: 2.5, burst: 10 }
                    allow: ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]
                    passive_proxy: true
                """,
            file: "config.yaml"
        )
        let listener = try #require(configuration.listeners.first)
        #expect(configuration.options(for: "proxies").passiveProxy)
        #expect(listener.maxConnectionsPerSource == 20)
        #expect(listener.acceptRate == AcceptRate(perSecond: 2.5, burst: 10))
        #expect(listener.allow.map(\.description) == ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"])
        #expect(configuration.logLevel == .debug)
        #expect(configuration.shutdownTimeout == .seconds(45))
        #expect(configuration.threads == 3)
        #expect(listener.listen.count == 2)
        #expect(listener.listen[1] == Endpoint(host: "::1", port: 20051))
        #expect(listener.balance == .roundRobin)
        #expect(listener.connectTimeout == .milliseconds(250))
        #expect(listener.idleTimeout == .seconds(900))
        #expect(listener.targetCoolDown == .seconds(60))
        #expect(listener.drainTimeout == .seconds(10))
        #expect(listener.maxConnections == 2000)
        #expect(listener.backlog == 512)
        #expect(listener.socketBufferSize == 256 * 1024)
        #expect(listener.firstByteTimeout == .seconds(3))
        #expect(listener.clientFinTimeout == .seconds(2))
        #expect(listener.serverReplyTimeout == .seconds(300))
        #expect(
            listener.kernel
                == RelayKernelOptions(
                    quickAckOffBeforeConnect: true,
                    moreBeforeEndOfStream: false,
                    deferAccept: .seconds(2)
                )
        )
        #expect(configuration.maxConnections == 5000)
    }

    @Test func effectiveConfigurationLoadsBackToTheSameValues() throws {
        let original = try ConfigLoader.parse(
            yaml: """
                listeners:
                  - name: "a b"
                    listen: ["127.0.0.1:1", "[::1]:2"]
                    targets: ["h:3"]
                    balance: random
                    connect_timeout: 1500ms
                    socket_buffer: 65536
                    first_byte_timeout: 250ms
                    client_fin_timeout: 4s
                    server_reply_timeout: 1h
                    tcp_smart_connect: yes
                    tcp_defer_accept: 1s
                  - name: limited
                    listen: ["127.0.0.1:4"]
                    targets: ["h:3"]
                    max_connections_per_source: 3
                    accept_rate: { per_second: 0.5 }
                    allow: ["127.0.0.0/8", "::1", "::ffff:10.0.0.0/104"]
                """,
            file: "config.yaml"
        )
        let reloaded = try ConfigLoader.parse(yaml: original.effectiveYAML, file: "effective")
        #expect(reloaded.listeners == original.listeners)
        #expect(reloaded.maxConnections == original.maxConnections)
        #expect(reloaded.logLevel == original.logLevel)
        #expect(reloaded.shutdownTimeout == original.shutdownTimeout)
    }

    /// (what is broken, the YAML, the key path and words the message must contain)
    static let brokenConfigurations: [(String, String, String, String)] = [
        ("unknown top-level key", "listners: []\n", "listners", "unknown key"),
        (
            "unknown listener key",
            "listeners:\n  - name: a\n    listen: [\"127.0.0.1:1\"]\n    targets: [\"h:1\"]\n    balance_mode: failover\n",
            "listeners[0].balance_mode", "unknown key"
        ),
        (
            "bad listen address", "listeners:\n  - name: a\n    listen: [\"127.0.0.1\"]\n    targets: [\"h:1\"]\n",
            "listeners[0].listen[0]", "missing ':port'"
        ),
        (
            "port out of range", "listeners:\n  - name: a\n    listen: [\"127.0.0.1:70000\"]\n    targets: [\"h:1\"]\n",
            "listeners[0].listen[0]", "invalid port"
        ),
        (
            "empty targets", "listeners:\n  - name: a\n    listen: [\"127.0.0.1:1\"]\n    targets: []\n",
            "listeners[0].targets", "at least one target"
        ),
        (
            "missing targets", "listeners:\n  - name: a\n    listen: [\"127.0.0.1:1\"]\n", "listeners[0]",
            "missing key 'targets'"
        ),
        (
            "duplicate listen address",
            "listeners:\n  - name: a\n    listen: [\"127.0.0.1:1\"]\n    targets: [\"h:1\"]\n  - name: b\n    listen: [\"127.0.0.1:1\"]\n    targets: [\"h:1\"]\n",
            "listeners[1].listen[0]", "already used by listeners[0].listen[0]"
        ),
        (
            "duplicate listener name",
            "listeners:\n  - name: a\n    listen: [\"127.0.0.1:1\"]\n    targets: [\"h:1\"]\n  - name: a\n    listen: [\"127.0.0.1:2\"]\n    targets: [\"h:1\"]\n",
            "listeners[1]", "already used"
        ),
        (
            "unknown balance",
            "listeners:\n  - name: a\n    listen: [\"127.0.0.1:1\"]\n    targets: [\"h:1\"]\n    balance: roundrobin\n",
            "listeners[0].balance", "expected failover, round-robin, random"
        ),
        (
            "bad duration",
            "listeners:\n  - name: a\n    listen: [\"127.0.0.1:1\"]\n    targets: [\"h:1\"]\n    connect_timeout: soon\n",
            "listeners[0].connect_timeout", "not a duration"
        ),
        (
            "number out of range",
            "listeners:\n  - name: a\n    listen: [\"127.0.0.1:1\"]\n    targets: [\"h:1\"]\n    max_connections: 0\n",
            "listeners[0].max_connections", "out of range"
        ),
        ("wrong type", "listeners:\n  name: a\n", "listeners", "expected a list"),
        (
            "bad first-byte timeout", Self.base + "    first_byte_timeout: never\n", "listeners[0].first_byte_timeout",
            "not a duration"
        ),
        (
            "zero client FIN timeout", Self.base + "    client_fin_timeout: 0s\n", "listeners[0].client_fin_timeout",
            "too short"
        ),
        (
            "bad server reply timeout", Self.base + "    server_reply_timeout: -1\n",
            "listeners[0].server_reply_timeout", "not a duration"
        ),
        (
            "defer accept below a second", Self.base + "    tcp_defer_accept: 200ms\n", "listeners[0].tcp_defer_accept",
            "too short"
        ),
        (
            "smart connect not a boolean", Self.base + "    tcp_smart_connect: maybe\n",
            "listeners[0].tcp_smart_connect", "not true or false"
        ),
        ("process limit out of range", "max_connections: 0\n" + Self.base, "max_connections", "out of range"),
        (
            "IPv6 without brackets", "listeners:\n  - name: a\n    listen: [\"::1:10051\"]\n    targets: [\"h:1\"]\n",
            "listeners[0].listen[0]", "brackets"
        ),
        ("bad log level", "log_level: loud\nlisteners: []\n", "log_level", "unknown log level"),
        ("no listeners", "listeners: []\n", "listeners", "at least one listener"),
        (
            "riemann without servers", Self.base + "riemann:\n  batch: { max_events: 10 }\n", "riemann",
            "missing key 'servers'"
        ),
        (
            "bad overflow policy",
            Self.base + "riemann:\n  servers: [\"r:5555\"]\n  queue: { overflow: drop-random }\n",
            "riemann.queue.overflow", "expected drop-oldest, drop-newest"
        ),
        (
            "riemann queue smaller than a batch",
            Self.base
                + "riemann:\n  servers: [\"r:5555\"]\n  batch: { max_bytes: 4MiB }\n  queue: { max_bytes: 1MiB }\n",
            "riemann.queue.max_bytes", "at least batch max_bytes"
        ),
        (
            "riemann batch bytes out of range",
            Self.base + "riemann:\n  servers: [\"r:5555\"]\n  batch: { max_bytes: 1KiB }\n", "riemann.batch.max_bytes",
            "out of range"
        ),
        (
            "riemann queue bytes not a size",
            Self.base + "riemann:\n  servers: [\"r:5555\"]\n  queue: { max_bytes: lots }\n", "riemann.queue.max_bytes",
            "not a size"
        ),
        (
            "descriptions larger than a message",
            Self.base + "riemann:\n  servers: [\"r:5555\"]\nmapping:\n  description_max_length: 2MiB\n",
            "mapping.description_max_length", "raise riemann.batch.max_bytes"
        ),
        (
            "messages smaller than descriptions",
            Self.base
                + "riemann:\n  servers: [\"r:5555\"]\n  batch: { max_bytes: 64KiB }\nmapping:\n  description_max_length: 60KiB\n",
            "mapping.description_max_length", "more than one Riemann message"
        ),
        (
            "unknown service placeholder", Self.base + "mapping:\n  service: \"{hostname}.{key}\"\n", "mapping.service",
            "unknown placeholder {hostname}"
        ),
        (
            "invalid regex", Self.base + "mapping:\n  include: { keys: [\"/([a-z/\"] }\n", "mapping.include.keys[0]",
            "not a valid regular expression"
        ),
        (
            "attribute Riemann drops", Self.base + "mapping:\n  attributes: { ttl: \"60\" }\n",
            "mapping.attributes.ttl", "Riemann drops"
        ),
        (
            "queue smaller than a frame", Self.base + "decode:\n  max_frame_size: 512MiB\n  queue_bytes: 64MiB\n",
            "decode", "at least max_frame_size"
        ),
        (
            "unknown unresolved action", Self.base + "catalog:\n  unresolved: keep\n", "catalog.unresolved",
            "expected emit, drop"
        ),
        ("unknown partial action", Self.base + "mapping:\n  partial: some\n", "mapping.partial", "expected emit, drop"),
        (
            "per-proxy quota of zero", Self.base + "catalog:\n  max_entries_per_proxy: 0\n",
            "catalog.max_entries_per_proxy", "out of range"
        ),
        (
            "passive_proxy not a boolean", Self.base + "    passive_proxy: maybe\n", "listeners[0].passive_proxy",
            "true or false"
        ),
        ("admin address", Self.base + "admin:\n  listen: \"localhost\"\n", "admin.listen", "missing ':port'"),
        (
            "bad allow network", Self.base + "    allow: [\"10.0.0.0/8\", \"10.0.0.0/33\"]\n", "listeners[0].allow[1]",
            "invalid prefix length"
        ),
        (
            "host name in allow", Self.base + "    allow: [\"zabbix.example.net\"]\n", "listeners[0].allow[0]",
            "not an IP address or network"
        ),
        ("empty allow list", Self.base + "    allow: []\n", "listeners[0].allow", "`any` to allow every client"),
        (
            "per-source limit 0", Self.base + "    max_connections_per_source: 0\n",
            "listeners[0].max_connections_per_source", "out of range"
        ),
        (
            "accept rate without rate", Self.base + "    accept_rate: { burst: 5 }\n", "listeners[0].accept_rate",
            "missing key 'per_second'"
        ),
        (
            "accept rate unknown key", Self.base + "    accept_rate: { per_minute: 5 }\n",
            "listeners[0].accept_rate.per_minute", "unknown key"
        ),
        (
            "accept rate not a number", Self.base + "    accept_rate: { per_second: lots }\n",
            "listeners[0].accept_rate.per_second", "not a rate"
        ),
        (
            "accept rate burst 0", Self.base + "    accept_rate: { per_second: 5, burst: 0 }\n",
            "listeners[0].accept_rate.burst", "out of range"
        ),
    ]

    static let base = "listeners:\n  - name: a\n    listen: [\"127.0.0.1:1\"]\n    targets: [\"h:1\"]\n"

    @Test func sectionsBeyondListenersAreRead() throws {
        let configuration = try ConfigLoader.parse(
            yaml: Self.base + """
                decode: { max_frame_size: 8MiB, workers: 2 }
                catalog: { path: /tmp/c.jsonl, unresolved: drop, unresolved_wait: 5s, max_entries_per_proxy: 1234 }
                riemann:
                  servers: ["r1:5555", "[::1]:5556"]
                  batch: { max_events: 50, max_bytes: 256KiB, max_delay: 20ms }
                  queue: { max_events: 1000, max_bytes: 2MiB, overflow: drop-newest }
                  ack_timeout: 2s
                  flush_timeout: 3s
                mapping:
                  service: "zabbix.{host}.{key}"
                  not_supported: drop
                  partial: drop
                  tags: [zabbix, prod]
                  attributes: { env: prod }
                  ttl: none
                admin: { listen: "off" }
                """,
            file: "config.yaml"
        )
        #expect(configuration.decode.maximumFrameSize == 8 << 20)
        #expect(configuration.decode.workers == 2)
        #expect(configuration.decode.catalogPath == "/tmp/c.jsonl")
        #expect(configuration.decode.unresolvedAction == .drop)
        #expect(configuration.decode.unresolvedWait == .seconds(5))
        #expect(configuration.decode.catalogMaximumEntriesPerProxy == 1234)
        #expect(configuration.mapping.partial == .drop)
        let riemann = try #require(configuration.riemann)
        #expect(riemann.servers.map(\.description) == ["r1:5555", "::1:5556"])
        #expect(riemann.maximumBatchEvents == 50)
        #expect(riemann.maximumBatchDelay == .milliseconds(20))
        #expect(riemann.queueCapacity == 1000)
        #expect(riemann.maximumBatchBytes == 256 << 10)
        #expect(riemann.queueMaximumBytes == 2 << 20)
        #expect(riemann.overflowPolicy == .dropNewest)
        #expect(riemann.acknowledgementTimeout == .seconds(2))
        #expect(configuration.riemannFlushTimeout == .seconds(3))
        #expect(configuration.mapping.service.description == "zabbix.{host}.{key}")
        #expect(configuration.mapping.tags == ["zabbix", "prod"])
        #expect(configuration.mapping.ttl == nil)
        #expect(configuration.admin == nil)
        #expect(configuration.listenerOptions["a"]?.decode == true)
    }

    @Test(arguments: Self.brokenConfigurations)
    func brokenConfigurationNamesTheKeyAndTheProblem(_ broken: (String, String, String, String)) {
        let (what, yaml, keyPath, words) = broken
        do {
            _ = try ConfigLoader.parse(yaml: yaml, file: "broken.yaml")
            Issue.record("\(what): accepted")
        } catch {
            #expect(error.keyPath == keyPath, "\(what)")
            #expect(error.message.contains(words), "\(what): \(error.message)")
            #expect(error.description.hasPrefix("broken.yaml:"), "\(what): \(error.description)")
            #expect(!error.description.contains("\n"), "one line")
            #expect(error.line != nil, "\(what): has a line number")
        }
    }

    @Test func invalidYAMLNamesTheLine() {
        #expect {
            _ = try ConfigLoader.parse(yaml: "listeners:\n  - name: [unclosed\n", file: "broken.yaml")
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.line != nil && error.message.hasPrefix("not valid YAML")
        }
    }

    @Test func missingFileSaysSo() {
        #expect {
            _ = try ConfigLoader.load(path: "/nonexistent/zabbix-tee.yaml")
        } throws: { error in
            (error as? ConfigError)?.description
                == "/nonexistent/zabbix-tee.yaml: cannot read the file: No such file or directory"
        }
    }

    @Test func badAllowNetworkNamesFileLineColumnAndKey() {
        let yaml = Self.base + "    allow:\n      - 10.0.0.0/8\n      - 10.0.0.300\n"
        #expect {
            _ = try ConfigLoader.parse(yaml: yaml, file: "tee.yaml")
        } throws: { error in
            (error as? ConfigError)?.description.hasPrefix(
                "tee.yaml:7:9: listeners[0].allow[1]: \"10.0.0.300\" is not an IP address"
            ) == true
        }
    }

    @Test func adminEndpointOnAPublicAddressIsAWarningNotAnError() throws {
        let exposed = try ConfigLoader.parse(yaml: Self.base + "admin:\n  listen: \"0.0.0.0:9810\"\n", file: "tee.yaml")
        #expect(exposed.admin?.host == "0.0.0.0")
        let warning = try #require(exposed.warnings.first)
        #expect(exposed.warnings.count == 1)
        #expect(warning.keyPath == "admin.listen")
        #expect(
            warning.description.hasPrefix("tee.yaml:6:11: admin.listen: warning: 0.0.0.0 is every address of this host")
        )
        #expect(warning.message.contains("no authentication"))
        for host in ["[::]:9810", "10.1.2.3:9810", "monitoring.example.net:9810"] {
            let configuration = try ConfigLoader.parse(
                yaml: Self.base + "admin:\n  listen: \"\(host)\"\n",
                file: "tee.yaml"
            )
            #expect(configuration.warnings.count == 1, "\(host)")
        }
        for host in ["127.0.0.1:9810", "127.0.0.2:9811", "[::1]:9810", "localhost:9810", "off"] {
            let configuration = try ConfigLoader.parse(
                yaml: Self.base + "admin:\n  listen: \"\(host)\"\n",
                file: "tee.yaml"
            )
            #expect(configuration.warnings.isEmpty, "\(host)")
        }
        #expect(try ConfigLoader.parse(yaml: Self.base, file: "tee.yaml").warnings.isEmpty, "the default is loopback")
    }

    @Test func effectiveConfigurationSpellsOutTheRiemannByteLimitsAndLoadsThemBack() throws {
        let original = try ConfigLoader.parse(yaml: Self.base + "riemann:\n  servers: [\"r:5555\"]\n", file: "tee.yaml")
        let yaml = original.effectiveYAML
        #expect(yaml.contains("  batch: { max_events: 500, max_bytes: 1MiB, max_delay: 200ms }\n"))
        #expect(yaml.contains("  queue: { max_events: 100000, max_bytes: 64MiB, overflow: drop-oldest }\n"))
        let custom = try ConfigLoader.parse(
            yaml: Self.base
                + "riemann:\n  servers: [\"r:5555\"]\n  batch: { max_bytes: 100000 }\n  queue: { max_bytes: 3GiB }\n",
            file: "tee.yaml"
        )
        let reloaded = try ConfigLoader.parse(yaml: custom.effectiveYAML, file: "effective")
        #expect(reloaded.riemann?.maximumBatchBytes == 100_000)
        #expect(reloaded.riemann?.queueMaximumBytes == 3 << 30)
    }

    @Test func effectiveConfigurationSpellsOutTheLimitDefaults() throws {
        let yaml = try ConfigLoader.parse(yaml: Self.base, file: "tee.yaml").effectiveYAML
        #expect(yaml.contains("    max_connections_per_source: off\n"))
        #expect(yaml.contains("    accept_rate: \"off\"\n"))
        #expect(yaml.contains("    allow: [\"0.0.0.0/0\", \"::/0\"]\n"))
    }

    @Test func effectiveConfigurationSpellsOutTheTruthDefaults() throws {
        let yaml = try ConfigLoader.parse(yaml: Self.base, file: "tee.yaml").effectiveYAML
        #expect(yaml.contains("    passive_proxy: false\n"))
        #expect(yaml.contains("  max_entries_per_proxy: 500000\n"))
        #expect(yaml.contains("  partial: emit\n"))
    }
}

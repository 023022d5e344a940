import Testing

@testable import Tee

/// The section tables are the one place each key is described: what they print loads back, and
/// the reload plan names and classifies changes from them.
struct ConfigTableTests {
    /// Sets every key the tables know (not to its default where it has one).
    static let everyKeySet = """
        log_level: debug
        shutdown_timeout: 20s
        threads: 3
        max_connections: 5000
        listeners:
          - name: agents
            listen: ["127.0.0.1:10051", "127.0.0.2:10051"]
            targets: ["zabbix-a:10051", "zabbix-b:10051"]
            balance: round-robin
            connect_timeout: 250ms
            idle_timeout: 1h
            target_cooldown: 1m
            drain_timeout: 5s
            first_byte_timeout: 2s
            client_fin_timeout: 3s
            server_reply_timeout: 1m
            max_connections: 100
            max_connections_per_source: 8
            accept_rate: { per_second: 2.5, burst: 7 }
            allow: ["10.0.0.0/8", "192.0.2.7"]
            backlog: 128
            socket_buffer: 64KiB
            tcp_smart_connect: true
            tcp_fin_with_data: true
            tcp_defer_accept: 2s
            decode: false
            record: { path: /var/lib/zabbix-tee/rec, max_bytes: 10MiB, max_files: 5 }
            passive_proxy: true
        decode: { max_frame_size: 8MiB, queue_frames: 50, queue_bytes: 64MiB, workers: 2, duplicate_sessions: 9 }
        catalog:
          path: /var/lib/zabbix-tee/catalog.jsonl
          max_entries: 10
          max_entries_per_proxy: 5
          save_interval: 2m
          unresolved_wait: 1s
          unresolved_max: 3
          unresolved: drop
          zabbix_api: { url: "http://zabbix-web:8080/zabbix/api_jsonrpc.php", token_env: HOME, timeout: 3s, batch: 100, rate: 2, not_found_ttl: 1m, breaker_failures: 5, breaker_open: 10s }
        riemann:
          servers: ["r1:5555", "r2:5556"]
          batch: { max_events: 10, max_bytes: 128KiB, max_delay: 50ms }
          queue: { max_events: 99, max_bytes: 8MiB, overflow: drop-newest }
          in_flight: 2
          ack_timeout: 1s
          connect_timeout: 2s
          reconnect: { min: 1s, max: 1m }
          max_delivery_attempts: 3
          flush_timeout: 3s
          self_monitoring: { interval: 5s, host: "me", service_prefix: "", ttl: none, tags: [a, b] }
        mapping:
          service: "{host} {key}"
          state: none
          not_supported: drop
          partial: drop
          tags: [x, "y\\"z"]
          attributes: { env: prod, "a b": c }
          zabbix_attributes: false
          ttl: 1m
          description_max_length: 1KiB
          include: { hosts: ["web*"], keys: ["a.*"] }
          exclude: { hosts: ["h"], keys: ["agent.ping"] }
        graphite:
          servers: ["carbon:2003", "carbon-b:2004"]
          protocol: plaintext
          prefix: "zbx"
          path: "{host|graphite}.{key|graphite}"
          batch: { max_events: 20, max_bytes: 256KiB, max_delay: 1s }
          queue: { max_events: 77, max_bytes: 4MiB, overflow: drop-newest }
          write_timeout: 2s
          connect_timeout: 3s
          reconnect: { min: 2s, max: 2m }
          flush_timeout: 4s
        admin: { listen: "127.0.0.1:9000" }
        """

    @Test func everyKeyHasOneLineOfDoc() {
        for key in TeeConfiguration.table.keys {
            #expect(!key.doc.isEmpty && !key.doc.contains("\n"), "\(key.path)")
        }
    }

    @Test func aFileThatSetsEveryKeyPrintsWhatLoadsBackToTheSameConfiguration() throws {
        let original = try ConfigLoader.parse(yaml: Self.everyKeySet, file: "every.yaml")
        let reloaded = try ConfigLoader.parse(yaml: original.effectiveYAML, file: "effective")
        #expect(reloaded.effectiveYAML == original.effectiveYAML)
        let plan = ConfigurationReloadPlan(running: original, new: reloaded, decoderRunning: true)
        #expect(plan.changesNothing && plan.restartRequired.isEmpty, "\(plan.summary) \(plan.restartRequired)")
    }

    @Test func aChangedAttributeOrFilterIsNamedByItsKey() throws {
        let running = try ConfigLoader.parse(yaml: Self.everyKeySet, file: "every.yaml")
        let new = try ConfigLoader.parse(
            yaml: Self.everyKeySet.replacingOccurrences(of: "env: prod", with: "env: dev").replacingOccurrences(
                of: "web*",
                with: "db*"
            ),
            file: "every.yaml"
        )
        let plan = ConfigurationReloadPlan(running: running, new: new, decoderRunning: true)
        #expect(plan.mappingChanged == ["mapping.attributes", "mapping.include.hosts"])
    }

    @Test func removingTheRiemannSectionKeepsAllOfItRunningUntilARestart() throws {
        let running = try ConfigLoader.parse(yaml: Self.everyKeySet, file: "every.yaml")
        let riemann =
            Self.everyKeySet.range(of: "riemann:")!.lowerBound..<Self.everyKeySet.range(of: "mapping:")!.lowerBound
        let new = try ConfigLoader.parse(
            yaml: Self.everyKeySet.replacingCharacters(in: riemann, with: ""),
            file: "every.yaml"
        )
        let plan = ConfigurationReloadPlan(running: running, new: new, decoderRunning: true)
        #expect(plan.restartRequired.contains("riemann"))
        #expect(plan.riemannChanged.isEmpty)
        #expect(plan.applied.riemann != nil)
        #expect(plan.applied.riemannFlushTimeout == .seconds(3))
        #expect(plan.applied.selfMonitoring == running.selfMonitoring)
    }
}

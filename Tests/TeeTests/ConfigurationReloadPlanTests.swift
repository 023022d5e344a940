import Relay
import Riemann
import Tee
import Testing

/// What a reload applies live and what it leaves for a restart, worked out before anything runs.
struct ConfigurationReloadPlanTests {
    static func configuration(_ text: String) throws -> TeeConfiguration {
        try ConfigLoader.parse(yaml: text, file: "config.yaml")
    }

    static let base = """
        threads: 2
        listeners:
          - name: agents
            listen: ["127.0.0.1:10051"]
            targets: ["zabbix-a:10051"]
          - name: passive
            listen: ["127.0.0.1:10050"]
            targets: ["agent:10050"]
        riemann:
          servers: ["riemann-a:5555"]
        mapping:
          service: "{key}"
        """

    static func variant(_ replacements: [(String, String)]) throws -> TeeConfiguration {
        var text = Self.base
        for (old, new) in replacements {
            precondition(text.contains(old), "the base configuration has \(old)")
            text = text.replacingOccurrences(of: old, with: new)
        }
        return try Self.configuration(text)
    }

    @Test func aNewTargetAndMappingRuleAreLiveChangesNamedByKey() throws {
        let running = try Self.configuration(Self.base)
        let new = try Self.variant([("zabbix-a:10051", "zabbix-b:10051"), ("\"{key}\"", "\"{host}.{key}\"")])
        let plan = ConfigurationReloadPlan(running: running, new: new, decoderRunning: true)
        #expect(plan.listenersChanged == ["agents": ["targets"]])
        #expect(plan.mappingChanged == ["mapping.service"])
        #expect(plan.riemannChanged.isEmpty)
        #expect(plan.restartRequired.isEmpty)
        #expect(plan.applied.listeners[0].targets == [Endpoint(host: "zabbix-b", port: 10051)])
        #expect(plan.applied.mapping.service.description == "{host}.{key}")
        #expect(plan.summary == "listener agents: targets; mapping.service")
        #expect(!plan.changesNothing)
    }

    @Test func passiveProxyAndMappingPartialAreLiveAndTheProxyQuotaNeedsARestart() throws {
        let running = try Self.configuration(Self.base)
        let new = try Self.variant(
            [
                ("targets: [\"agent:10050\"]", "targets: [\"agent:10050\"]\n    passive_proxy: true"),
                ("service: \"{key}\"", "service: \"{key}\"\n  partial: drop"),
            ] + [("threads: 2", "threads: 2\ncatalog: { max_entries_per_proxy: 10 }")]
        )
        let plan = ConfigurationReloadPlan(running: running, new: new, decoderRunning: true)
        #expect(plan.listenersChanged == ["passive": ["passive_proxy"]])
        #expect(plan.mappingChanged == ["mapping.partial"])
        #expect(plan.restartRequired == ["catalog.max_entries_per_proxy"])
        #expect(plan.applied.options(for: "passive").passiveProxy)
        #expect(plan.applied.mapping.partial == .drop)
        #expect(plan.applied.decode.catalogMaximumEntriesPerProxy == running.decode.catalogMaximumEntriesPerProxy)
    }

    @Test func theSameFileChangesNothing() throws {
        let plan = ConfigurationReloadPlan(
            running: try Self.configuration(Self.base),
            new: try Self.configuration(Self.base),
            decoderRunning: true
        )
        #expect(plan.changesNothing)
        #expect(plan.restartRequired.isEmpty)
        #expect(plan.summary == "no change")
    }

    @Test func listenersAreMatchedByNameAddedAndRemoved() throws {
        let running = try Self.configuration(Self.base)
        let new = try Self.variant([
            ("- name: passive", "- name: proxies"), ("127.0.0.1:10050", "127.0.0.1:10052"),
            ("127.0.0.1:10051", "127.0.0.1:10053"),
        ])
        let plan = ConfigurationReloadPlan(running: running, new: new, decoderRunning: true)
        #expect(plan.listenersAdded == ["proxies"])
        #expect(plan.listenersRemoved == ["passive"])
        #expect(plan.listenersChanged == ["agents": ["listen"]])
    }

    @Test func settingsThatNeedARestartAreNamedAndKeepTheirRunningValues() throws {
        let running = try Self.configuration(Self.base)
        let new = try Self.variant([
            (
                "threads: 2",
                "threads: 4\nlog_level: debug\ndecode: { workers: 3 }\ncatalog: { path: /tmp/c.jsonl }\nadmin: { listen: \"off\" }"
            )
        ])
        let plan = ConfigurationReloadPlan(running: running, new: new, decoderRunning: true)
        #expect(plan.restartRequired == ["log_level", "threads", "decode.workers", "catalog.path", "admin.listen"])
        #expect(plan.applied.threads == 2)
        #expect(plan.applied.logLevel == .info)
        #expect(plan.applied.decode.workers == 1)
        #expect(plan.applied.decode.catalogPath == nil)
        #expect(plan.applied.admin != nil)
        #expect(plan.changesNothing)
    }

    @Test func riemannSettingsChangeLiveButAddingOrRemovingTheSectionNeedsARestart() throws {
        let running = try Self.configuration(Self.base)
        let servers = ConfigurationReloadPlan(
            running: running,
            new: try Self.variant([("[\"riemann-a:5555\"]", "[\"riemann-b:5555\"]\n  batch: { max_events: 10 }")]),
            decoderRunning: true
        )
        #expect(servers.riemannChanged == ["riemann.servers", "riemann.batch"])
        #expect(servers.applied.riemann?.servers == [RiemannServerAddress(host: "riemann-b", port: 5555)])
        #expect(servers.restartRequired.isEmpty)

        let removed = ConfigurationReloadPlan(
            running: running,
            new: try Self.variant([("riemann:\n  servers: [\"riemann-a:5555\"]\n", "")]),
            decoderRunning: true
        )
        #expect(removed.restartRequired == ["riemann"])
        #expect(removed.applied.riemann?.servers == [RiemannServerAddress(host: "riemann-a", port: 5555)])
        #expect(removed.riemannChanged.isEmpty)
    }

    @Test func decodingCannotBeTurnedOnWhenNoListenerDecodedAtStart() throws {
        let running = try Self.configuration(
            Self.base.replacingOccurrences(
                of: "targets: [\"zabbix-a:10051\"]",
                with: "targets: [\"zabbix-a:10051\"]\n    decode: false"
            )
            .replacingOccurrences(
                of: "targets: [\"agent:10050\"]",
                with: "targets: [\"agent:10050\"]\n    decode: false"
            )
        )
        let new = try Self.variant([("targets: [\"agent:10050\"]", "targets: [\"agent:10050\"]\n    decode: false")])
        let plan = ConfigurationReloadPlan(running: running, new: new, decoderRunning: false)
        #expect(plan.restartRequired == ["listeners[agents].decode"])
        #expect(plan.applied.options(for: "agents").decode == false)
        #expect(plan.listenersChanged.isEmpty)
    }

    @Test func shutdownTimeoutAndListenerTimeoutsAreLive() throws {
        let running = try Self.configuration(Self.base)
        let new = try Self.variant([
            ("threads: 2", "threads: 2\nshutdown_timeout: 5s"),
            ("targets: [\"agent:10050\"]", "targets: [\"agent:10050\"]\n    idle_timeout: 1m\n    max_connections: 10"),
        ])
        let plan = ConfigurationReloadPlan(running: running, new: new, decoderRunning: true)
        #expect(plan.otherChanged == ["shutdown_timeout"])
        #expect(plan.listenersChanged == ["passive": ["idle_timeout", "max_connections"]])
        #expect(plan.restartRequired.isEmpty)
    }

    @Test func theHalfOpenDeadlinesKernelOptionsAndTheProcessLimitAreLive() throws {
        let running = try Self.configuration(Self.base)
        let new = try Self.variant([
            ("threads: 2", "threads: 2\nmax_connections: 500"),
            (
                "targets: [\"agent:10050\"]",
                "targets: [\"agent:10050\"]\n    first_byte_timeout: 5s\n    client_fin_timeout: 3s\n    server_reply_timeout: 1m\n    tcp_smart_connect: true\n    tcp_fin_with_data: false\n    tcp_defer_accept: 1s\n    max_connections_per_source: 8"
            ),
        ])
        let plan = ConfigurationReloadPlan(running: running, new: new, decoderRunning: true)
        #expect(plan.otherChanged == ["max_connections"])
        #expect(
            plan.listenersChanged == [
                "passive": [
                    "first_byte_timeout", "client_fin_timeout", "server_reply_timeout", "max_connections_per_source",
                    "tcp_smart_connect", "tcp_fin_with_data", "tcp_defer_accept",
                ]
            ]
        )
        #expect(plan.restartRequired.isEmpty)
        #expect(plan.applied.maxConnections == 500)
    }
}

extension ConfigurationReloadPlanTests {
    @Test func selfMonitoringIsALiveRiemannChange() throws {
        let running = try Self.configuration(Self.base)
        let new = try Self.variant([
            ("[\"riemann-a:5555\"]", "[\"riemann-a:5555\"]\n  self_monitoring: { interval: 5s }")
        ])
        let plan = ConfigurationReloadPlan(running: running, new: new, decoderRunning: true)
        #expect(plan.riemannChanged.first == "riemann.self_monitoring")
        #expect(plan.restartRequired.isEmpty)
        #expect(plan.applied.selfMonitoring?.interval == .seconds(5))
    }
}

extension ConfigurationReloadPlanTests {
    @Test func riemannByteLimitsAreLiveChanges() throws {
        let running = try Self.configuration(Self.base)
        let new = try Self.variant([
            (
                "[\"riemann-a:5555\"]",
                "[\"riemann-a:5555\"]\n  batch: { max_bytes: 256KiB }\n  queue: { max_bytes: 8MiB }"
            )
        ])
        let plan = ConfigurationReloadPlan(running: running, new: new, decoderRunning: true)
        #expect(plan.riemannChanged == ["riemann.batch", "riemann.queue"])
        #expect(plan.restartRequired.isEmpty)
        #expect(plan.applied.riemann?.maximumBatchBytes == 256 << 10)
        #expect(plan.applied.riemann?.queueMaximumBytes == 8 << 20)
    }
}

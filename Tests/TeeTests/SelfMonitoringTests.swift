import Riemann
import Tee
import Testing

/// The self-monitoring section and the events made of two samples.
struct SelfMonitoringTests {
    static func sample(
        at seconds: Double,
        accepted: Int,
        open: Int,
        up: Int,
        down: Int,
        values: Int,
        dropped: UInt64,
        depth: Int = 0,
        healthy: Int = 2
    ) -> SelfMonitoringSample {
        SelfMonitoringSample(
            monotonicSeconds: seconds,
            listeners: [
                .init(
                    name: "agents",
                    openConnections: open,
                    acceptedConnections: accepted,
                    bytesClientToServer: up,
                    bytesServerToClient: down,
                    healthyTargets: healthy,
                    targets: 2
                ),
                .init(
                    name: "old",
                    openConnections: 1,
                    acceptedConnections: 0,
                    bytesClientToServer: 0,
                    bytesServerToClient: 0,
                    healthyTargets: 0,
                    targets: 1,
                    accepting: false
                ),
            ],
            itemValues: values,
            catalogEntries: 42,
            eventsDropped: dropped,
            riemannQueueDepth: depth,
            riemannQueueCapacity: 100
        )
    }

    @Test func twoSamplesBecomeRatesTotalsAndStates() {
        var configuration = SelfMonitoringConfiguration()
        configuration.host = "tee-1"
        let events = SelfMonitoringReport.events(
            previous: Self.sample(at: 100, accepted: 10, open: 3, up: 1000, down: 500, values: 50, dropped: 5),
            current: Self.sample(
                at: 110,
                accepted: 30,
                open: 4,
                up: 6000,
                down: 1500,
                values: 250,
                dropped: 9,
                depth: 95,
                healthy: 0
            ),
            configuration: configuration,
            timeMicros: 1_700_000_000_123_456
        )
        let byService = Dictionary(events.map { ($0.service ?? "", $0) }, uniquingKeysWith: { first, _ in first })
        #expect(events.count == byService.count)
        #expect(
            byService["zabbix-tee connections open"]?.metric == .sint64(5),
            "the removed listener's open connection counts"
        )
        #expect(byService["zabbix-tee connections/s"]?.metric == .double(2))
        #expect(byService["zabbix-tee bytes/s client_to_server"]?.metric == .double(500))
        #expect(byService["zabbix-tee bytes/s server_to_client"]?.metric == .double(100))
        #expect(byService["zabbix-tee item values/s"]?.metric == .double(20))
        #expect(byService["zabbix-tee events dropped"]?.metric == .sint64(4))
        #expect(byService["zabbix-tee events dropped"]?.state == "warning")
        #expect(byService["zabbix-tee events dropped total"]?.metric == .sint64(9))
        #expect(byService["zabbix-tee riemann queue"]?.state == "warning")
        #expect(byService["zabbix-tee catalog entries"]?.metric == .sint64(42))
        #expect(byService["zabbix-tee listener agents healthy targets"]?.state == "warning")
        #expect(byService["zabbix-tee listener agents healthy targets"]?.description == "0 of 2 targets healthy")
        #expect(byService["zabbix-tee listener old healthy targets"] == nil, "a removed listener has no target health")
        for event in events {
            #expect(event.host == "tee-1")
            #expect(event.tags == ["zabbix-tee"])
            #expect(event.ttl == 30)
            #expect(event.time == 1_700_000_000)
            #expect(event.timeMicros == 1_700_000_000_123_456)
        }
    }

    @Test func aQuietTickIsAllOk() {
        let quiet = Self.sample(at: 0, accepted: 1, open: 0, up: 0, down: 0, values: 0, dropped: 3)
        let events = SelfMonitoringReport.events(
            previous: quiet,
            current: quiet,
            configuration: SelfMonitoringConfiguration(),
            timeMicros: 0
        )
        #expect(events.allSatisfy { $0.state == "ok" })
    }

    @Test func aQueueNearlyFullInBytesIsAWarningToo() {
        let previous = Self.sample(at: 0, accepted: 1, open: 0, up: 0, down: 0, values: 0, dropped: 0)
        var current = Self.sample(at: 10, accepted: 1, open: 0, up: 0, down: 0, values: 0, dropped: 0, depth: 3)
        current.riemannQueueBytes = 60 << 20
        current.riemannQueueMaximumBytes = 64 << 20
        let events = SelfMonitoringReport.events(
            previous: previous,
            current: current,
            configuration: SelfMonitoringConfiguration(),
            timeMicros: 0
        )
        let queue = events.first { $0.service == "zabbix-tee riemann queue" }
        #expect(queue?.state == "warning", "3 of 100 events, but 60 of 64 MiB")
        #expect(queue?.description == "3 of 100 events queued (62914560 of 67108864 bytes)")
    }

    @Test func theSectionIsReadWithItsDefaults() throws {
        let configuration = try ConfigLoader.parse(
            yaml: """
                listeners:
                  - { name: a, listen: ["127.0.0.1:1"], targets: ["127.0.0.1:2"] }
                riemann:
                  servers: ["127.0.0.1:5555"]
                  self_monitoring: { interval: 2s }
                """,
            file: "config.yaml"
        )
        let monitoring = try #require(configuration.selfMonitoring)
        #expect(monitoring.interval == .seconds(2))
        #expect(monitoring.ttl == 6, "three intervals")
        #expect(monitoring.servicePrefix == "zabbix-tee")
        #expect(monitoring.host == SelfMonitoringConfiguration.hostName)
        #expect(configuration.effectiveYAML.contains("  self_monitoring:\n    interval: 2s\n"))

        let custom = try ConfigLoader.parse(
            yaml: """
                listeners:
                  - { name: a, listen: ["127.0.0.1:1"], targets: ["127.0.0.1:2"] }
                riemann:
                  servers: ["127.0.0.1:5555"]
                  self_monitoring: { host: relay-7, service_prefix: "", ttl: none, tags: [ops, tee] }
                """,
            file: "config.yaml"
        )
        #expect(custom.selfMonitoring?.host == "relay-7")
        #expect(custom.selfMonitoring?.servicePrefix == "")
        #expect(custom.selfMonitoring?.ttl == nil)
        #expect(custom.selfMonitoring?.tags == ["ops", "tee"])
        #expect(
            try ConfigLoader.parse(yaml: custom.effectiveYAML, file: "effective").selfMonitoring
                == custom.selfMonitoring
        )
    }

    @Test func aTooShortIntervalIsRejectedWithItsKey() {
        #expect {
            _ = try ConfigLoader.parse(
                yaml: """
                    listeners:
                      - { name: a, listen: ["127.0.0.1:1"], targets: ["127.0.0.1:2"] }
                    riemann:
                      servers: ["127.0.0.1:5555"]
                      self_monitoring: { interval: 100ms }
                    """,
                file: "config.yaml"
            )
        } throws: { error in
            "\(error)".contains("riemann.self_monitoring.interval")
        }
    }
}

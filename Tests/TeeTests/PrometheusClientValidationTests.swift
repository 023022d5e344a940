import Admin
import Foundation
import Logging
import NIOCore
import NIOPosix
import Relay
import Riemann
import Tee
import TestSupport
import Testing

/// The whole `/metrics` output, parsed by the reference Python parser
/// (`prometheus_client.parser.text_string_to_metric_families`). Skipped when python3 or
/// prometheus_client is missing: `pip install prometheus_client`.
@Suite(
    .tags(.integration),
    .tier(.integration),
    .timeLimit(.minutes(1)),
    .enabled(
        if: PythonPrometheusClient.isAvailable,
        "needs python3 with prometheus_client (pip install prometheus_client); skipped"
    )
)
struct PrometheusClientValidationTests {
    @Test func referenceParserAcceptsEveryFamilyWithItsTypeAndHelp() async throws {
        var logger = Logger(label: "admin-validation-test")
        logger.logLevel = .critical
        let listener = RelayListener(
            configuration: RelayListenerConfiguration(
                name: "agents \"quoted\"\\",
                listen: [Endpoint(host: "127.0.0.1", port: 0)],
                targets: [Endpoint(host: "127.0.0.1", port: 10051), Endpoint(host: "::1", port: 10051)]
            ),
            logger: logger
        )
        try await listener.start()
        let riemann = RiemannClient(
            configuration: RiemannClientConfiguration(servers: [RiemannServerAddress(host: "127.0.0.1", port: 1)]),
            logger: logger
        )
        let exporter = MetricsExporter(sources: [
            RelayMetricsSource(listeners: [listener]),
            RiemannMetricsSource(client: riemann),
            ProcessMetricsSource(),
            ClosureMetricsSource {
                $0.gauge("zabbix_tee_test_fraction", help: "Help with\nnewline and \\.", value: 0.125)
            },
        ])
        let admin = AdminServer(configuration: .init(host: "127.0.0.1", port: 0), exporter: exporter)
        try await admin.start()
        let response = try await HTTPTestClient.get(port: try #require(admin.localAddress?.port), "/metrics")
        await admin.shutdown()
        await riemann.shutdown(deadline: .now())
        await listener.stopAccepting()

        let parsed = try await PythonPrometheusClient.parse(response.body)
        let scraped = ScrapedMetrics(response.body)
        // Every family we wrote came back with its type, help and sample count.
        for (name, type) in scraped.type {
            let family = try #require(parsed[name], "python did not return \(name)")
            #expect(family.type == type, "\(name)")
            #expect(!family.help.isEmpty, "\(name)")
        }
        #expect(parsed["zabbix_tee_test_fraction"]?.help == "Help with\nnewline and \\.")
        #expect(parsed["zabbix_tee_connections_total"]?.samples.contains("agents \"quoted\"\\") == true)
        #expect(parsed["zabbix_tee_target_healthy"]?.samples.contains("[::1]:10051") == true)
        #expect(parsed["zabbix_tee_riemann_ack_latency_seconds"]?.sampleCount == 16)  // 14 buckets, sum, count
        #expect(parsed.count == scraped.type.count)
    }
}

/// Runs the reference parser in a subprocess.
enum PythonPrometheusClient {
    struct Family {
        var type: String
        var help: String
        var sampleCount: Int
        /// All label values of all samples, joined, for `contains` checks.
        var samples: String
    }

    static let isAvailable: Bool = {
        let result = try? ProcessRunner.runBlocking(
            "/usr/bin/env",
            ["python3", "-c", "import prometheus_client.parser"],
            timeout: .seconds(20)
        )
        return result?.exitCode == 0
    }()

    /// Prints one JSON object per family; Python's `json` handles all escaping.
    static let script = """
        import sys, json
        from prometheus_client.parser import text_string_to_metric_families
        text = sys.stdin.read()
        for f in text_string_to_metric_families(text):
            labels = " ".join(v for s in f.samples for v in s.labels.values())
            print(json.dumps({"name": f.name, "type": f.type, "help": f.documentation,
                              "samples": len(f.samples), "labels": labels}))
        """

    static func parse(_ text: String) async throws -> [String: Family] {
        let result = try await ProcessRunner.run("/usr/bin/env", ["python3", "-c", script], input: text)
        #expect(result.exitCode == 0, "\(result)")
        var families: [String: Family] = [:]
        for line in result.standardOutput.split(separator: "\n") {
            let object = try JSONDecoder().decode(JSONLine.self, from: Data(line.utf8))
            // prometheus_client strips _total from counter family names.
            let name = object.type == "counter" ? object.name + "_total" : object.name
            families[name] = Family(
                type: object.type,
                help: object.help,
                sampleCount: object.samples,
                samples: object.labels
            )
        }
        return families
    }
}

/// One line of the parser script's output.
private struct JSONLine: Decodable {
    var name: String
    var type: String
    var help: String
    var samples: Int
    var labels: String
}

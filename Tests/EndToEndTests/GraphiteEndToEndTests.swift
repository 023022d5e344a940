import Foundation
import TestSupport
import Testing

/// The Graphite output against a real carbon-cache: values from the real `zabbix_sender` (6.0 and
/// 7.0), accepted by the real server behind the tee, are read back from carbon's whisper files
/// (`whisper-fetch`) at the path the mapping names, with the value and the timestamp the sender
/// gave them, over carbon's plaintext and pickle receivers. Text values make no line.
@Suite(
    "zabbix-tee writes accepted values to a real carbon-cache",
    .tags(.integration),
    .tier(.integration),
    .serialized,
    .zabbixServerInstalled,
    .enabled(if: CarbonCache.unavailableReason == nil, "graphite-carbon missing: run scripts/install-test-deps.sh"),
    .timeLimit(.minutes(3))
)
struct GraphiteEndToEndTests {
    @Test(arguments: ZabbixLabVersion.allCases, ["plaintext", "pickle"])
    func acceptedValuesLandInWhisperFilesAtTheirPathValueAndTimestamp(
        _ version: ZabbixLabVersion,
        _ wire: String
    ) async throws {
        let lab = try await ZabbixServerLab.sharedOrSkip(version)
        let unique = "tee-graphite-\(UUID().uuidString.prefix(8).lowercased())"
        let host = try await lab.addHost(
            "web01.\(unique).example",
            items: [.trapper("tee.int"), .trapper("tee.load[all,avg1]", .float), .trapper("tee.text", .text)]
        )
        let carbon = try await CarbonCache.start()
        let port = try LoopbackPort.free()
        let admin = try LoopbackPort.free()
        let configuration = """
            listeners:
            \(TeeProcess.listener(name: "trapper", port: port, targets: [lab.port]))
            graphite:
              servers: ["127.0.0.1:\(wire == "pickle" ? carbon.picklePort : carbon.port)"]
              protocol: \(wire)
              prefix: zabbix
              batch: { max_events: 100, max_delay: 20ms }
            admin:
              listen: "127.0.0.1:\(admin)"
            """
        do {
            try await TeeProcess.withRunning(configuration: configuration, ports: [port, admin]) { _ in
                // Timestamps the sender sets (-T), a little in the past and a second apart.
                let clock = Int64(Date().timeIntervalSince1970) - 30
                let sent = try await ZabbixSender.send(
                    port: port,
                    values: [
                        .init(host: host.name, key: "tee.int", value: "4242", clock: clock),
                        .init(host: host.name, key: "tee.load[all,avg1]", value: "0.75", clock: clock + 1),
                        .init(host: host.name, key: "tee.text", value: "not a number", clock: clock + 2),
                    ],
                    version: version
                )
                #expect(sent.processed == 3 && sent.failed == 0, "\(sent)")
                #expect(try await lab.waitForHistory(host, "tee.int").map(\.clock) == [Int(clock)])

                // `{host|reverse}.{key|graphite}` under the prefix.
                let base = "zabbix.example.\(unique).web01"
                for (path, time, value) in [
                    ("\(base).tee_int", clock, 4242.0), ("\(base).tee_load-5ball-2cavg1-5d", clock + 1, 0.75),
                ] {
                    var points: [(time: Int64, value: Double)] = []
                    try await waitUntil("\(path) in whisper", timeout: .seconds(30), interval: .milliseconds(200)) {
                        points = try await carbon.points(path, from: clock - 10)
                        return !points.isEmpty
                    }
                    #expect(points.map(\.time) == [time], "\(path): \(points)")
                    #expect(points.map(\.value) == [value], "\(path): \(points)")
                }
                #expect(
                    !FileManager.default.fileExists(atPath: carbon.whisperFile("\(base).tee_text")),
                    "text has no line"
                )
                let metrics = try MetricsScrape.get(port: admin)
                #expect(metrics.value("zabbix_tee_graphite_events_acked_total") == 2, "\(metrics.text)")
                #expect(
                    metrics.value(
                        "zabbix_tee_graphite_connected",
                        [("server", "127.0.0.1:\(wire == "pickle" ? carbon.picklePort : carbon.port)")]
                    ) == 1
                )
                #expect(metrics.value("zabbix_tee_graphite_events_dropped_total", [("reason", "queue_full")]) == 0)
            }
        } catch {
            await carbon.stop()
            throw error
        }
        await carbon.stop()
    }
}

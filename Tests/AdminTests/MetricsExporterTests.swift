import Admin
import Synchronization
import TestSupport
import Testing

/// Sources come and go; each scrape collects whatever is registered then.
@Suite struct MetricsExporterTests {
    /// Stands in for the decoder statistics the Tee module will provide: counters per request
    /// type, failures per reason, a gauge.
    final class DecoderStatisticsStandIn: Sendable {
        let frames = Mutex<[String: Int]>([:])
        let failures = Mutex<[String: Int]>([:])
        let catalogSize = Atomic<Int>(0)
    }

    struct DecoderMetricsSource: MetricsSource {
        let statistics: DecoderStatisticsStandIn

        func collect(into snapshot: inout MetricsSnapshot) {
            for (request, count) in self.statistics.frames.withLock({ $0 }).sorted(by: { $0.key < $1.key }) {
                snapshot.counter(
                    "zabbix_tee_decoder_frames_total",
                    help: "Zabbix frames decoded, by request type.",
                    labels: [.init("listener", "agents"), .init("request", request)],
                    value: count
                )
            }
            for (reason, count) in self.statistics.failures.withLock({ $0 }).sorted(by: { $0.key < $1.key }) {
                snapshot.counter(
                    "zabbix_tee_decode_failures_total",
                    help: "Frames that could not be decoded, by reason.",
                    labels: [.init("reason", reason)],
                    value: count
                )
            }
            snapshot.gauge(
                "zabbix_tee_item_catalog_items",
                help: "Items known to the catalog.",
                value: self.statistics.catalogSize.load(ordering: .relaxed)
            )
        }
    }

    @Test func aNewSourceAddsItsFamiliesAtTheNextScrape() {
        let exporter = MetricsExporter(sources: [ClosureMetricsSource { $0.gauge("first", help: "First.", value: 1) }])
        let decoder = DecoderStatisticsStandIn()
        #expect(ScrapedMetrics(exporter.render()).value("zabbix_tee_item_catalog_items") == nil)
        exporter.register(DecoderMetricsSource(statistics: decoder))
        decoder.frames.withLock { $0 = ["agent data": 4, "active checks": 2] }
        decoder.failures.withLock { $0 = ["bad_json": 1] }
        decoder.catalogSize.store(12, ordering: .relaxed)
        let metrics = ScrapedMetrics(exporter.render())
        #expect(metrics.value("first") == 1)
        #expect(metrics.value("zabbix_tee_decoder_frames_total", ["request": "agent data"]) == 4)
        #expect(metrics.value("zabbix_tee_decoder_frames_total", ["request": "active checks"]) == 2)
        #expect(metrics.value("zabbix_tee_decode_failures_total", ["reason": "bad_json"]) == 1)
        #expect(metrics.value("zabbix_tee_item_catalog_items") == 12)
    }

    @Test func valuesAreReadAtScrapeTimeNotAtRegistration() {
        let exporter = MetricsExporter()
        let shared = CounterBox()
        exporter.register { $0.counter("things_total", help: "Things.", value: shared.value.load(ordering: .relaxed)) }
        #expect(ScrapedMetrics(exporter.render()).value("things_total") == 0)
        shared.value.add(5, ordering: .relaxed)
        #expect(ScrapedMetrics(exporter.render()).value("things_total") == 5)
    }

    @Test func unregisteredSourcesDisappear() {
        let exporter = MetricsExporter()
        exporter.register { $0.gauge("kept", help: "Kept.", value: 1) }
        let drop = exporter.register { $0.gauge("dropped", help: "Dropped.", value: 1) }
        exporter.unregister(drop)
        exporter.unregister(drop)
        let metrics = ScrapedMetrics(exporter.render())
        #expect(metrics.value("kept") == 1)
        #expect(metrics.value("dropped") == nil)
    }

    final class CounterBox: Sendable {
        let value = Atomic<Int>(0)
    }
}

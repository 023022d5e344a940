import Admin
import TestSupport
import Testing

#if os(Linux)
/// `process_*` metrics from /proc/self.
@Suite struct ProcessMetricsTests {
    @Test func processMetricsArePlausibleForThisTestProcess() {
        var snapshot = MetricsSnapshot()
        ProcessMetricsSource().collect(into: &snapshot)
        let metrics = ScrapedMetrics(PrometheusTextWriter.render(snapshot))
        let resident = metrics.value("process_resident_memory_bytes") ?? 0
        #expect(resident > 1_000_000 && resident < 100_000_000_000)
        #expect((metrics.value("process_virtual_memory_bytes") ?? 0) >= resident)
        let fds = metrics.value("process_open_fds") ?? 0
        #expect(fds >= 3 && fds < 100_000)
        #expect((metrics.value("process_max_fds") ?? 0) >= fds)
        #expect((metrics.value("process_cpu_seconds_total") ?? -1) >= 0)
        let start = metrics.value("process_start_time_seconds") ?? 0
        let now = Double(time(nil))
        #expect(start > now - 86_400 && start <= now + 1, "started within the last day: \(start) vs \(now)")
        #expect(metrics.type["process_cpu_seconds_total"] == "counter")
        #expect(metrics.type["process_open_fds"] == "gauge")
    }
}
#endif

#if canImport(Glibc)
import Glibc
#endif

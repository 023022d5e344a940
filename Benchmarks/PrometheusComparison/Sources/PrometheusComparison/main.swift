// See Package.swift. Figures are ns per operation, three rounds each; the machine's load shows
// in the spread between rounds, so compare within a round.
import Prometheus
import Synchronization

// (a) Relay path: one counter update per write completion, as RelayStatistics does it today
// (Synchronization.Atomic<Int>.add) and as swift-prometheus' Counter would (increment(by:)).
func clock(_ label: String, _ iterations: Int, _ body: () -> Void) -> Double {
    let start = ContinuousClock.now
    body()
    let elapsed = ContinuousClock.now - start
    let ns = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
    print(label, String(ns / Double(iterations)), "ns/op")
    return ns / Double(iterations)
}
let n = 50_000_000
let atomic = Atomic<Int>(0)
let registry = PrometheusCollectorRegistry()
let counter = registry.makeCounter(
    name: "zabbix_tee_relayed_bytes_total",
    labels: [("listener", "agents"), ("direction", "client_to_server")]
)
for round in 0..<3 {
    _ = clock("round \(round) Atomic<Int>.add", n) { for i in 0..<n { atomic.add(i & 1023, ordering: .relaxed) } }
    _ = clock("round \(round) Prometheus Counter.increment(by:)", n) {
        for i in 0..<n { counter.increment(by: Int64(i & 1023)) }
    }
}

// (b) Scrape: a 50-listener snapshot written by hand vs mirrored into a registry and emitted.
func snapshot(_ tick: Int) -> MetricsSnapshot {
    var s = MetricsSnapshot()
    for l in 0..<50 {
        let listener = MetricsSnapshot.Label("listener", "site-\(l)")
        s.gauge("zabbix_tee_connections_active", help: "Open.", labels: [listener], value: l)
        s.counter("zabbix_tee_connections_total", help: "Admitted.", labels: [listener], value: 1000 + tick + l)
        for r in ["not_allowed", "source_limit", "rate_limit", "max_connections"] {
            s.counter(
                "zabbix_tee_connections_refused_total",
                help: "Refused.",
                labels: [listener, .init("reason", r)],
                value: tick
            )
        }
        for d in ["client_to_server", "server_to_client"] {
            s.counter(
                "zabbix_tee_relayed_bytes_total",
                help: "Bytes.",
                labels: [listener, .init("direction", d)],
                value: 5_000_000 + tick
            )
        }
        for t in ["127.0.0.1:10051", "[::1]:10051"] {
            for res in ["ok", "failed"] {
                s.counter(
                    "zabbix_tee_target_connects_total",
                    help: "Connects.",
                    labels: [listener, .init("target", t), .init("result", res)],
                    value: tick
                )
            }
            s.gauge("zabbix_tee_target_healthy", help: "Healthy.", labels: [listener, .init("target", t)], value: 1)
        }
    }
    s.histogram(
        "zabbix_tee_riemann_ack_latency_seconds",
        help: "Latency.",
        .init(upperBounds: [0.001, 0.01, 0.1, 1], cumulativeCounts: [1, 2, 3, 4, 5], sum: 1.5)
    )
    return s
}
/// Mirrors a snapshot into a registry: counters by reset + increment (no "set" exists), gauges by set.
/// Histograms cannot be mirrored (a Histogram takes single observations only).
final class Mirror: @unchecked Sendable {
    let registry = PrometheusCollectorRegistry()
    let lock = Mutex(())
    func render(_ s: MetricsSnapshot) -> String {
        lock.withLock { _ in
            for f in s.families {
                for sample in f.samples {
                    let labels = sample.labels.map { ($0.name, $0.value) }
                    guard case .number(let v) = sample.value else { continue }
                    switch f.type {
                    case .counter:
                        let c = registry.makeCounter(name: f.name, labels: labels, help: f.help)
                        c.reset()
                        c.increment(by: Int64(v))
                    case .gauge:
                        registry.makeGauge(name: f.name, labels: labels, help: f.help).set(to: v)
                    case .histogram: break
                    }
                }
            }
            return registry.emitToString()
        }
    }
}
let mirror = Mirror()
let scrapes = 2000
for round in 0..<3 {
    var bytes = 0
    _ = clock("round \(round) hand-written PrometheusTextWriter.render (50 listeners)", scrapes) {
        for t in 0..<scrapes { bytes &+= PrometheusTextWriter.render(snapshot(t)).utf8.count }
    }
    _ = clock("round \(round) swift-prometheus mirror + emitToString (50 listeners)", scrapes) {
        for t in 0..<scrapes { bytes &+= mirror.render(snapshot(t)).utf8.count }
    }
    _ = clock("round \(round) collecting the snapshot alone", scrapes) {
        for t in 0..<scrapes { bytes &+= snapshot(t).families.count }
    }
    if round == 2 { print("bytes", bytes) }
}
// What the exposition looks like through swift-prometheus.
var small = MetricsSnapshot()
small.gauge("b_active", help: "Open things.", labels: [.init("listener", "x")], value: 2)
small.counter("a_total", help: "Things done.", value: 7)
small.gauge("m", help: "Help with\nnewline and \\.", value: 0.125)
small.gauge("process_max_fds", help: "Max fds.", value: .infinity)
let demo = Mirror()
print("--- hand-written ---\n" + PrometheusTextWriter.render(small))
print("--- swift-prometheus ---\n" + demo.render(small))
let h = PrometheusCollectorRegistry()
h.makeValueHistogram(name: "lat_seconds", buckets: [0.1, 1, 10]).record(0.5)
print(h.emitToString())

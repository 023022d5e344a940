// swift-tools-version:6.2
import PackageDescription

// Why /metrics is not written with swift-prometheus (issue 17, item 4): the cost of a counter
// update on the relay path either way, the cost of a scrape, and what the exposition would look
// like. Run: swift run -c release (in this folder). It compiles the tee's own MetricsSnapshot and
// PrometheusTextWriter (symlinked from Sources/Admin) beside swift-prometheus 2.4.x.
let package = Package(
    name: "prometheus-comparison",
    platforms: [.macOS(.v15)],
    dependencies: [.package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1")],
    targets: [
        .executableTarget(
            name: "PrometheusComparison",
            dependencies: [.product(name: "Prometheus", package: "swift-prometheus")]
        )
    ]
)

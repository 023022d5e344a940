import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `GET /`: collects the exporter's sources once, updates the rates and renders ``StatusPage``.
///
/// Rates are kept here, fed only by page views (``RateTracker``): a `/metrics` scrape does not
/// move them, so what the page calls "per second" is always the average since the page was last
/// rendered, whatever scrapes Prometheus runs in between.
final class StatusPageEndpoint: Sendable {
    /// Headers of every page: nothing may be loaded from anywhere (the page needs nothing), it is
    /// not framed, sniffed or cached.
    static let headers: [(String, String)] = [
        ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Cache-Control", "no-store"),
    ]
    /// The longest refresh a request may ask for (`/?refresh=N`), in seconds.
    static let maximumRefreshSeconds = 3600

    private let exporter: MetricsExporter
    private let tracker = Mutex(RateTracker())

    init(exporter: MetricsExporter) {
        self.exporter = exporter
    }

    /// The page for a request to `uri`; runs the sources, so call it off the event loop.
    func render(uri: String) -> String {
        let snapshot = self.exporter.collect()
        let rates = self.tracker.withLock { $0.update(with: snapshot, now: .now) }
        return StatusPage.render(
            snapshot,
            rates: rates,
            now: Self.secondsSinceEpoch(),
            refreshSeconds: Self.refreshSeconds(uri: uri)
        )
    }

    /// `refresh=N` from the query (0 turns refreshing off), else the default; out-of-range or
    /// malformed values fall back to the default.
    static func refreshSeconds(uri: String) -> Int {
        guard let query = uri.split(separator: "?", maxSplits: 1).dropFirst().first else {
            return StatusPage.defaultRefreshSeconds
        }
        for pair in query.split(separator: "&") where pair.hasPrefix("refresh=") {
            if let seconds = Int(pair.dropFirst("refresh=".count)), (0...self.maximumRefreshSeconds).contains(seconds) {
                return seconds
            }
        }
        return StatusPage.defaultRefreshSeconds
    }

    /// Wall-clock time, for "generated at" and uptime (the rates use the monotonic clock).
    static func secondsSinceEpoch() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}

import TestSupport
import Testing

@testable import Admin

/// The status page as a pure function of a snapshot: no sockets, no clocks.
@Suite struct StatusPageTests {
    static let now = 1_796_000_000.0

    /// A snapshot shaped like the tee's, with `listeners` listeners of two targets each.
    static func snapshot(listeners: Int = 2, name: (Int) -> String = { "listener-\($0)" }) -> MetricsSnapshot {
        var snapshot = MetricsSnapshot()
        for index in 0..<listeners {
            let listener = MetricsSnapshot.Label("listener", name(index))
            snapshot.gauge(
                "zabbix_tee_listener_info",
                help: "Listen addresses.",
                labels: [listener, .init("address", "0.0.0.0:\(10051 + index)")],
                value: 1
            )
            snapshot.gauge("zabbix_tee_connections_active", help: "Open.", labels: [listener], value: index)
            snapshot.counter(
                "zabbix_tee_connections_total",
                help: "Admitted.",
                labels: [listener],
                value: 1_234_567 + index
            )
            for reason in ["not_allowed", "source_limit", "rate_limit", "max_connections"] {
                snapshot.counter(
                    "zabbix_tee_connections_refused_total",
                    help: "Refused.",
                    labels: [listener, .init("reason", reason)],
                    value: reason == "rate_limit" ? 7 : 0
                )
            }
            snapshot.counter("zabbix_tee_connections_failed_total", help: "No target.", labels: [listener], value: 0)
            snapshot.counter("zabbix_tee_connections_idle_timeout_total", help: "Idle.", labels: [listener], value: 2)
            for side in ["client", "target"] {
                snapshot.counter(
                    "zabbix_tee_connection_errors_total",
                    help: "Errors.",
                    labels: [listener, .init("side", side)],
                    value: side == "client" ? 1 : 0
                )
            }
            for direction in ["client_to_server", "server_to_client"] {
                snapshot.counter(
                    "zabbix_tee_relayed_bytes_total",
                    help: "Bytes.",
                    labels: [listener, .init("direction", direction)],
                    value: 5_000_000
                )
            }
            snapshot.gauge("zabbix_tee_relay_buffered_bytes", help: "Buffered.", labels: [listener], value: 0)
            snapshot.gauge("zabbix_tee_relay_buffered_bytes_max", help: "Peak.", labels: [listener], value: 65536)
            snapshot.counter("zabbix_tee_tap_failures_total", help: "Taps.", labels: [listener], value: 0)
            for (target, healthy) in [("127.0.0.1:10051", 1.0), ("[::1]:10051", 0.0)] {
                let labels = [listener, MetricsSnapshot.Label("target", target)]
                snapshot.counter(
                    "zabbix_tee_target_connects_total",
                    help: "Connects.",
                    labels: labels + [.init("result", "ok")],
                    value: 10
                )
                snapshot.counter(
                    "zabbix_tee_target_connects_total",
                    help: "Connects.",
                    labels: labels + [.init("result", "failed")],
                    value: 3
                )
                snapshot.gauge("zabbix_tee_target_healthy", help: "Healthy.", labels: labels, value: healthy)
            }
        }
        snapshot.counter("zabbix_tee_item_values_total", help: "Decoded.", value: 900)
        snapshot.counter("zabbix_tee_events_mapped_total", help: "Mapped.", value: 880)
        snapshot.counter(
            "zabbix_tee_item_values_rejected_total",
            help: "Rejected.",
            labels: [.init("reason", "failed")],
            value: 20
        )
        snapshot.counter(
            "zabbix_tee_decode_failures_total",
            help: "Failures.",
            labels: [.init("reason", "tls")],
            value: 0
        )
        snapshot.gauge("zabbix_tee_riemann_queue_events", help: "Queued.", value: 12)
        snapshot.gauge("zabbix_tee_riemann_queue_capacity_events", help: "Capacity.", value: 100_000)
        snapshot.gauge("zabbix_tee_riemann_in_flight_events", help: "In flight.", value: 3)
        snapshot.counter("zabbix_tee_riemann_events_acked_total", help: "Acked.", value: 860)
        snapshot.counter(
            "zabbix_tee_riemann_events_dropped_total",
            help: "Dropped.",
            labels: [.init("reason", "queue_full")],
            value: 0
        )
        snapshot.gauge(
            "zabbix_tee_riemann_connected",
            help: "Connected.",
            labels: [.init("server", "127.0.0.1:5555")],
            value: 1
        )
        snapshot.histogram(
            "zabbix_tee_riemann_ack_latency_seconds",
            help: "Latency.",
            .init(upperBounds: [0.001, 0.01, 0.1], cumulativeCounts: [50, 98, 100, 100], sum: 0.5)
        )
        snapshot.gauge("zabbix_tee_catalog_entries", help: "Entries.", value: 4321)
        snapshot.gauge(
            "zabbix_tee_catalog_source_entries",
            help: "By source.",
            labels: [.init("source", "active_checks")],
            value: 4321
        )
        snapshot.counter("process_cpu_seconds_total", help: "CPU.", value: 12.5)
        snapshot.gauge("process_start_time_seconds", help: "Start.", value: Self.now - 3 * 3600)
        snapshot.gauge("process_resident_memory_bytes", help: "RSS.", value: 48 * 1024 * 1024)
        return snapshot
    }

    static func render(_ snapshot: MetricsSnapshot, rates: RateTracker.Rates = .none) -> String {
        StatusPage.render(snapshot, rates: rates, now: Self.now, refreshSeconds: 5)
    }

    @Test func everyFigureOnThePageIsTheValueOfItsMetricsLine() throws {
        let snapshot = Self.snapshot()
        let page = StatusPageCells(html: Self.render(snapshot))
        let metrics = ScrapedMetrics(PrometheusTextWriter.render(snapshot))
        var lines: [String: Double] = [:]
        for line in PrometheusTextWriter.render(snapshot).split(separator: "\n") where !line.hasPrefix("#") {
            let space = try #require(line.lastIndex(of: " "))
            lines[String(line[..<space])] = Double(line[line.index(after: space)...])
        }
        #expect(page.cells.count > 40)
        for cell in page.cells {
            let expected: Double
            if cell.series.hasPrefix("sum(") {
                let name = String(cell.series.dropFirst(4).dropLast())
                expected = metrics.series(name).reduce(0) { $0 + $1.value }
            } else {
                expected = try #require(lines[cell.series], "no /metrics line \(cell.series)")
            }
            #expect(Double(cell.value) == expected, "\(cell.series)")
        }
        // What a person reads is the same number.
        #expect(
            page.cells("zabbix_tee_connections_total{listener=\"listener-1\"}").map(\.shown) == [
                "1\u{202F}234\u{202F}568"
            ]
        )
        #expect(page.cells("sum(zabbix_tee_connections_active)").map(\.shown) == ["1"])
        #expect(
            page.cells("zabbix_tee_target_healthy{listener=\"listener-0\",target=\"[::1]:10051\"}").map(\.shown) == [
                "down"
            ]
        )
        #expect(page.cells("zabbix_tee_riemann_ack_latency_seconds_count").map(\.shown) == ["100"])
        #expect(
            page.cells("zabbix_tee_relayed_bytes_total{listener=\"listener-0\",direction=\"client_to_server\"}").map(
                \.shown
            ) == ["4.8\u{00A0}MiB"]
        )
    }

    @Test func namesAndAddressesFromTheConfigurationAreEscaped() {
        let hostile = #"<script>alert("x")</script> & 'quoted'"#
        var snapshot = Self.snapshot(listeners: 1, name: { _ in hostile })
        snapshot.gauge("zabbix_tee_custom", help: #"help with <em> & "quotes""#, labels: [.init("k", "<u>")], value: 1)
        let html = Self.render(snapshot)
        #expect(!html.contains("<script"))
        #expect(!html.contains("<u>"))
        #expect(!html.contains("<em>"))
        #expect(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39;"))
        let cells = StatusPageCells(html: html)
        #expect(
            cells.cells.contains {
                $0.series == #"zabbix_tee_connections_active{listener="<script>alert(\"x\")</script> & 'quoted'"}"#
            }
        )
    }

    @Test func fiftyListenersAreFiftyRowsOfOneTable() throws {
        let html = Self.render(Self.snapshot(listeners: 50))
        let table = try #require(html.split(separator: "<table class=\"listeners\">").dropFirst().first)
        let body = try #require(table.split(separator: "</table>").first)
        #expect(body.components(separatedBy: "<tr>").count - 1 == 51)  // the header row and 50 listeners
        #expect(html.components(separatedBy: "<table").count - 1 <= 5)
    }

    @Test func thePageNeedsNothingFromOutsideAndRefreshesItself() {
        let html = Self.render(Self.snapshot())
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<meta http-equiv=\"refresh\" content=\"5\">"))
        for forbidden in ["<script", "<link", "<img", "<iframe", "src=", "url(", "http://", "https://", "@import"] {
            #expect(!html.contains(forbidden), "\(forbidden)")
        }
        #expect(
            !StatusPage.render(Self.snapshot(), rates: .none, now: Self.now, refreshSeconds: nil).contains("http-equiv")
        )
    }

    @Test func theRefreshIntervalComesFromTheQueryWithinBounds() {
        #expect(StatusPageEndpoint.refreshSeconds(uri: "/") == StatusPage.defaultRefreshSeconds)
        #expect(StatusPageEndpoint.refreshSeconds(uri: "/?refresh=30") == 30)
        #expect(StatusPageEndpoint.refreshSeconds(uri: "/?x=1&refresh=0") == 0)
        #expect(StatusPageEndpoint.refreshSeconds(uri: "/?refresh=-1") == StatusPage.defaultRefreshSeconds)
        #expect(
            StatusPageEndpoint.refreshSeconds(uri: "/?refresh=99999999999999999999") == StatusPage.defaultRefreshSeconds
        )
        #expect(StatusPageEndpoint.refreshSeconds(uri: "/?refresh=abc") == StatusPage.defaultRefreshSeconds)
    }

    @Test func ratesAppearFromTheSecondReadingOn() throws {
        var tracker = RateTracker()
        let start = ContinuousClock.now
        let snapshot = Self.snapshot(listeners: 1)
        let first = tracker.update(with: snapshot, now: start)
        #expect(Self.render(snapshot, rates: first).contains("rates from the next refresh on"))
        let later = Self.adding(50, to: "zabbix_tee_item_values_total", in: snapshot)
        let second = tracker.update(with: later, now: start + .seconds(5))
        let html = Self.render(later, rates: second)
        #expect(html.contains("rates over the last 5.0\u{00A0}s"))
        #expect(html.contains("<span class=\"r\">10.0/s</span>"))  // (950 - 900) / 5 s
    }

    @Test func familiesThePageDoesNotKnowAreListedAndAllZeroCountersFolded() {
        var snapshot = Self.snapshot(listeners: 1)
        snapshot.counter("zabbix_tee_brand_new_total", help: "Added after the page was written.", value: 42)
        snapshot.counter("zabbix_tee_quiet_total", help: "Nothing yet.", labels: [.init("reason", "a")], value: 0)
        let html = Self.render(snapshot)
        let cells = StatusPageCells(html: html)
        #expect(cells.cells("zabbix_tee_brand_new_total").map(\.shown) == ["42"])
        #expect(html.contains("<h2 id=\"other\">Other metrics</h2>"))
        #expect(html.contains("Zero so far: quiet"))
        #expect(html.contains("Zero so far: decode failures"))
    }

    /// `snapshot` with `amount` added to every sample of counter `name`.
    static func adding(_ amount: Double, to name: String, in snapshot: MetricsSnapshot) -> MetricsSnapshot {
        var result = MetricsSnapshot()
        for family in snapshot.families {
            for sample in family.samples {
                switch (family.type, sample.value) {
                case (.counter, .number(let value)):
                    result.counter(
                        family.name,
                        help: family.help,
                        labels: sample.labels,
                        value: family.name == name ? value + amount : value
                    )
                case (.gauge, .number(let value)):
                    result.gauge(family.name, help: family.help, labels: sample.labels, value: value)
                case (_, .histogram(let histogram)):
                    result.histogram(family.name, help: family.help, labels: sample.labels, histogram)
                default:
                    break
                }
            }
        }
        return result
    }
}

/// Rates from two readings, on a supplied clock.
@Suite struct RateTrackerTests {
    static func snapshot(_ total: Double, latencyCount: UInt64 = 0) -> MetricsSnapshot {
        var snapshot = MetricsSnapshot()
        snapshot.counter("c_total", help: "C.", labels: [.init("l", "a")], value: total)
        snapshot.gauge("g", help: "G.", value: total)
        snapshot.histogram(
            "h_seconds",
            help: "H.",
            .init(upperBounds: [1], cumulativeCounts: [latencyCount, latencyCount], sum: 0)
        )
        return snapshot
    }

    @Test func theFirstReadingHasNoRatesAndTheSecondTheIncreasePerSecond() {
        var tracker = RateTracker()
        let start = ContinuousClock.now
        #expect(tracker.update(with: Self.snapshot(100), now: start).interval == nil)
        let rates = tracker.update(with: Self.snapshot(130, latencyCount: 20), now: start + .seconds(10))
        #expect(rates.interval == .seconds(10))
        #expect(rates.perSecond["c_total{l=\"a\"}"] == 3)
        #expect(rates.perSecond["h_seconds_count"] == 2)
        #expect(rates.perSecond["g"] == nil)  // gauges have no rate
    }

    @Test func readingsCloserThanTheMinimumReuseTheLastRates() {
        var tracker = RateTracker(minimumInterval: .seconds(1))
        let start = ContinuousClock.now
        _ = tracker.update(with: Self.snapshot(0), now: start)
        _ = tracker.update(with: Self.snapshot(20), now: start + .seconds(2))
        let soon = tracker.update(with: Self.snapshot(1000), now: start + .milliseconds(2500))
        #expect(soon.perSecond["c_total{l=\"a\"}"] == 10)
        // The base stayed at the 2 s reading: 1000 - 20 over 2 s.
        let later = tracker.update(with: Self.snapshot(1000), now: start + .seconds(4))
        #expect(later.perSecond["c_total{l=\"a\"}"] == 490)
    }

    @Test func aCounterThatWentDownOrIsNewHasNoRate() {
        var tracker = RateTracker()
        let start = ContinuousClock.now
        _ = tracker.update(with: Self.snapshot(100), now: start)
        var next = Self.snapshot(50)
        next.counter("new_total", help: "N.", value: 5)
        let rates = tracker.update(with: next, now: start + .seconds(5))
        #expect(rates.perSecond["c_total{l=\"a\"}"] == nil)
        #expect(rates.perSecond["new_total"] == nil)
    }
}

/// The forms numbers take on the page.
@Suite struct StatusPageFormatTests {
    @Test func countsGroupThousandsAndKeepEveryDigit() {
        #expect(StatusPageFormat.count(0) == "0")
        #expect(StatusPageFormat.count(1234) == "1234")
        #expect(StatusPageFormat.count(12345) == "12\u{202F}345")
        #expect(StatusPageFormat.count(-1_234_567) == "-1\u{202F}234\u{202F}567")
        #expect(StatusPageFormat.count(0.125) == "0.125")
        #expect(StatusPageFormat.count(.infinity) == "+Inf")
    }

    @Test func bytesDurationsRatesAndDatesReadAsPeopleWriteThem() {
        #expect(StatusPageFormat.bytes(512) == "512\u{00A0}B")
        #expect(StatusPageFormat.bytes(1536) == "1.5\u{00A0}KiB")
        #expect(StatusPageFormat.bytes(5_000_000) == "4.8\u{00A0}MiB")
        #expect(StatusPageFormat.duration(0.0125) == "12.5\u{00A0}ms")
        #expect(StatusPageFormat.duration(3 * 3600 + 60) == "3\u{00A0}h 1\u{00A0}min")
        #expect(StatusPageFormat.duration(2 * 86400 + 7200) == "2\u{00A0}d 2\u{00A0}h")
        #expect(StatusPageFormat.rate(0.25) == "0.25/s")
        #expect(StatusPageFormat.rate(12.34) == "12.3/s")
        #expect(StatusPageFormat.rate(1234.4) == "1234/s")
        #expect(StatusPageFormat.date(0) == "1970-01-01 00:00:00Z")
        #expect(StatusPageFormat.date(1_709_251_199) == "2024-02-29 23:59:59Z")
    }

    @Test func escapingCoversTextAndBothAttributeQuotes() {
        #expect(StatusPageFormat.escape(#"a<b>&"c"'d'"#) == "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;")
        #expect(StatusPageFormat.escape("plain") == "plain")
        #expect(StatusPageCells.decode("a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;&nbsp;") == #"a<b>&"c"'d'"# + "\u{00A0}")
    }
}

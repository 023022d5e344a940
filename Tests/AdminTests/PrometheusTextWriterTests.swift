import Testing

@testable import Admin

/// The text format: HELP/TYPE lines, label escaping, number formatting, histogram expansion.
@Suite struct PrometheusTextWriterTests {
    @Test func familiesRenderHelpTypeAndSamplesInInsertionOrder() {
        var snapshot = MetricsSnapshot()
        snapshot.gauge("b_active", help: "Open things.", labels: [.init("listener", "x")], value: 2)
        snapshot.counter("a_total", help: "Things done.", value: 7)
        snapshot.gauge("b_active", help: "ignored: the first help wins", labels: [.init("listener", "y")], value: 0)
        #expect(
            PrometheusTextWriter.render(snapshot) == """
                # HELP b_active Open things.
                # TYPE b_active gauge
                b_active{listener="x"} 2
                b_active{listener="y"} 0
                # HELP a_total Things done.
                # TYPE a_total counter
                a_total 7

                """
        )
    }

    @Test func labelValuesAndHelpAreEscaped() {
        var snapshot = MetricsSnapshot()
        snapshot.gauge(
            "m",
            help: "back\\slash and\nnewline \"quotes stay\"",
            labels: [.init("l", "a\"b\\c\nd\r\ne")],
            value: 1
        )
        let text = PrometheusTextWriter.render(snapshot)
        #expect(text.contains(#"# HELP m back\\slash and\nnewline "quotes stay""#))
        #expect(text.contains(#"m{l="a\"b\\c\nd"# + "\r" + #"\ne"} 1"#))
    }

    @Test func numbersUseIntegerFormWhenWholeAndPrometheusSpellingsForSpecialValues() {
        #expect(PrometheusTextWriter.format(0) == "0")
        #expect(PrometheusTextWriter.format(18_446_744_073) == "18446744073")
        #expect(PrometheusTextWriter.format(0.25) == "0.25")
        #expect(PrometheusTextWriter.format(-3) == "-3")
        #expect(PrometheusTextWriter.format(.infinity) == "+Inf")
        #expect(PrometheusTextWriter.format(-.infinity) == "-Inf")
        #expect(PrometheusTextWriter.format(.nan) == "NaN")
        #expect(PrometheusTextWriter.format(1e20) == "1e+20")
    }

    @Test func histogramsExpandToCumulativeBucketsSumAndCount() {
        var snapshot = MetricsSnapshot()
        snapshot.histogram(
            "lat_seconds",
            help: "Latency.",
            labels: [.init("server", "r:5555")],
            .init(upperBounds: [0.1, 1], cumulativeCounts: [1, 3, 4], sum: 7.5)
        )
        #expect(
            PrometheusTextWriter.render(snapshot) == """
                # HELP lat_seconds Latency.
                # TYPE lat_seconds histogram
                lat_seconds_bucket{server="r:5555",le="0.1"} 1
                lat_seconds_bucket{server="r:5555",le="1"} 3
                lat_seconds_bucket{server="r:5555",le="+Inf"} 4
                lat_seconds_sum{server="r:5555"} 7.5
                lat_seconds_count{server="r:5555"} 4

                """
        )
    }

    @Test func aHistogramGivenTheWrongNumberOfCountsIsMadeWellFormedInsteadOfStopping() {
        let short = MetricsSnapshot.HistogramValue(upperBounds: [0.1, 1], cumulativeCounts: [2], sum: 1)
        #expect(short.cumulativeCounts == [2, 2, 2])
        #expect(short.count == 2)
        let long = MetricsSnapshot.HistogramValue(upperBounds: [0.1], cumulativeCounts: [1, 3, 9], sum: 1)
        #expect(long.cumulativeCounts == [1, 3])
        let empty = MetricsSnapshot.HistogramValue(upperBounds: [], cumulativeCounts: [], sum: 0)
        #expect(empty.cumulativeCounts == [0])
    }

    @Test func namesAreCheckedAgainstThePrometheusRules() {
        #expect(MetricName.isValid("zabbix_tee_connections_total"))
        #expect(MetricName.isValid("ns:rule_total"))
        #expect(!MetricName.isValid("1abc"))
        #expect(!MetricName.isValid("a-b"))
        #expect(!MetricName.isValid(""))
        #expect(MetricName.isValidLabel("listener"))
        #expect(!MetricName.isValidLabel("__reserved"))
        #expect(!MetricName.isValidLabel("a:b"))
    }
}

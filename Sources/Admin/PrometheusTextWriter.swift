/// Renders a ``MetricsSnapshot`` in the Prometheus text exposition format, version 0.0.4.
///
/// Every family gets `# HELP` and `# TYPE` lines followed by its samples; histograms expand to
/// cumulative `_bucket{le="…"}` series ending in `le="+Inf"`, then `_sum` and `_count`.
/// Help text escapes `\` and newline; label values escape `\`, `"` and newline.
///
/// Written by hand rather than with swift-prometheus 2.x: its registry holds metrics that are
/// updated as events happen and has no collector read at scrape time. Feeding it the statistics
/// we already keep means a lock around "reset each counter, increment it to the total, emit", and
/// pre-aggregated histograms (the Riemann ack latency) cannot be fed at all. Its exposition would
/// also change what scrapers see: families in dictionary order, gauges as `2.0`, `inf` for
/// `+Inf`, `le="1.0"` for `le="1"` (a new series for every dashboard), newlines dropped from
/// help text, and a `fatalError` on a help or type clash where a snapshot drops the sample.
public enum PrometheusTextWriter {
    /// The `Content-Type` of this format.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public static func render(_ snapshot: MetricsSnapshot) -> String {
        var output = ""
        output.reserveCapacity(snapshot.families.count * 200)
        for family in snapshot.families {
            output += "# HELP \(family.name) \(self.escapeHelp(family.help))\n"
            output += "# TYPE \(family.name) \(family.type.rawValue)\n"
            for sample in family.samples {
                switch sample.value {
                case .number(let value):
                    self.line(&output, family.name, sample.labels, self.format(value))
                case .histogram(let histogram):
                    for (bound, count) in zip(histogram.upperBounds, histogram.cumulativeCounts) {
                        self.line(
                            &output,
                            family.name + "_bucket",
                            sample.labels + [.init("le", self.format(bound))],
                            String(count)
                        )
                    }
                    self.line(
                        &output,
                        family.name + "_bucket",
                        sample.labels + [.init("le", "+Inf")],
                        String(histogram.count)
                    )
                    self.line(&output, family.name + "_sum", sample.labels, self.format(histogram.sum))
                    self.line(&output, family.name + "_count", sample.labels, String(histogram.count))
                }
            }
        }
        return output
    }

    private static func line(_ output: inout String, _ name: String, _ labels: [MetricsSnapshot.Label], _ value: String)
    {
        self.series(&output, name, labels)
        output += " "
        output += value
        output += "\n"
    }

    /// `name{label="value",…}` exactly as a sample line starts; the status page names its cells
    /// with it, so a cell and its `/metrics` line can be matched by text.
    public static func series(_ name: String, _ labels: [MetricsSnapshot.Label]) -> String {
        var output = ""
        self.series(&output, name, labels)
        return output
    }

    private static func series(_ output: inout String, _ name: String, _ labels: [MetricsSnapshot.Label]) {
        output += name
        guard !labels.isEmpty else { return }
        output += "{"
        for (index, label) in labels.enumerated() {
            if index > 0 { output += "," }
            output += label.name
            output += "=\""
            output += self.escapeLabelValue(label.value)
            output += "\""
        }
        output += "}"
    }

    /// A sample value as Prometheus (Go's `strconv.FormatFloat`) accepts it: integers without
    /// a fraction, `+Inf`, `-Inf`, `NaN`.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    static func escapeHelp(_ text: String) -> String {
        self.escape(text, quotes: false)
    }

    static func escapeLabelValue(_ text: String) -> String {
        self.escape(text, quotes: true)
    }

    /// Works on scalars, not characters: `"\r\n"` is one `Character` but holds a newline.
    private static func escape(_ text: String, quotes: Bool) -> String {
        let needsEscaping = text.unicodeScalars.contains { $0 == "\\" || $0 == "\n" || (quotes && $0 == "\"") }
        guard needsEscaping else { return text }
        var escaped = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": escaped.append(contentsOf: "\\\\".unicodeScalars)
            case "\n": escaped.append(contentsOf: "\\n".unicodeScalars)
            case "\"" where quotes: escaped.append(contentsOf: "\\\"".unicodeScalars)
            default: escaped.append(scalar)
            }
        }
        return String(escaped)
    }
}

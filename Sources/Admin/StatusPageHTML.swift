/// An HTML document being written: escaped text by default, and value cells that name their
/// `/metrics` series.
///
/// Every figure taken from the snapshot is written as
/// `<span class="v" data-series="name{labels}" data-value="raw">shown text</span>`, with the series
/// spelled as in the exposition (``PrometheusTextWriter/series(_:_:)``): a test (or a curious
/// operator) can match each number on the page with its `/metrics` line.
struct StatusPageHTML {
    /// How a value is shown.
    enum Kind {
        case count
        case bytes
        /// A duration in seconds.
        case seconds
        /// Seconds since the epoch.
        case timestamp
        /// 1 → `up`, anything else → `down`.
        case health

        /// The kind a metric's name implies (`_bytes`, `_seconds`, `_timestamp_seconds`).
        init(metric name: String) {
            if name.hasSuffix("_timestamp_seconds") || name == "process_start_time_seconds" {
                self = .timestamp
            } else if name.contains("_bytes") {
                self = .bytes
            } else if name.hasSuffix("_seconds") || name.hasSuffix("_seconds_total") {
                self = .seconds
            } else {
                self = .count
            }
        }
    }

    private(set) var text = ""

    init() {
        self.text.reserveCapacity(64 * 1024)
    }

    /// Appends markup as is; only for literals of the page itself.
    mutating func raw(_ markup: String) {
        self.text += markup
    }

    /// Appends `content` escaped.
    mutating func escaped(_ content: String) {
        self.text += StatusPageFormat.escape(content)
    }

    /// Appends `<tag class="…">escaped content</tag>`.
    mutating func element(_ tag: String, class cssClass: String? = nil, _ content: String) {
        self.raw(cssClass.map { "<\(tag) class=\"\($0)\">" } ?? "<\(tag)>")
        self.escaped(content)
        self.raw("</\(tag)>")
    }

    /// Appends a sample's value as a span naming its series.
    mutating func value(
        _ name: String,
        _ sample: MetricsSnapshot.Sample,
        as kind: Kind? = nil,
        now: Double,
        cssClass: String = "v"
    ) {
        guard case .number(let number) = sample.value else { return }
        self.value(
            PrometheusTextWriter.series(name, sample.labels),
            number,
            as: kind ?? Kind(metric: name),
            now: now,
            cssClass: cssClass
        )
    }

    /// Appends `number` as a span naming `series`.
    mutating func value(_ series: String, _ number: Double, as kind: Kind, now: Double, cssClass: String = "v") {
        let shown = Self.show(number, as: kind, now: now)
        var title = PrometheusTextWriter.format(number)
        if kind == .timestamp { title = StatusPageFormat.date(number) }
        self.raw("<span class=\"\(cssClass)\" data-series=\"")
        self.escaped(series)
        self.raw("\" data-value=\"\(PrometheusTextWriter.format(number))\" title=\"")
        self.escaped(title)
        self.raw("\">")
        self.escaped(shown)
        self.raw("</span>")
    }

    /// Appends a per-second rate (`—` when there is none yet).
    mutating func rate(_ perSecond: Double?, as kind: Kind = .count) {
        guard let perSecond else {
            self.raw(
                "<span class=\"r none\" title=\"rates need a second reading: shown from the next refresh on\">—</span>"
            )
            return
        }
        let shown = kind == .bytes ? StatusPageFormat.bytes(perSecond) + "/s" : StatusPageFormat.rate(perSecond)
        self.raw("<span class=\"r\">")
        self.escaped(shown)
        self.raw("</span>")
    }

    /// The text a value is shown as.
    static func show(_ number: Double, as kind: Kind, now: Double) -> String {
        switch kind {
        case .count: return StatusPageFormat.count(number)
        case .bytes: return StatusPageFormat.bytes(number)
        case .seconds: return StatusPageFormat.duration(number)
        case .timestamp: return number > 0 ? StatusPageFormat.duration(max(0, now - number)) + " ago" : "never"
        case .health: return number == 1 ? "up" : "down"
        }
    }
}

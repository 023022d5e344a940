/// The status page, `GET /` on the admin endpoint: what an operator looks at, in the spirit of
/// HAProxy's stats page.
///
/// One server-rendered HTML document that needs nothing from outside (inline CSS, no script, no
/// font or image), refreshed by the browser (`<meta http-equiv="refresh">`). It is rendered from
/// the same ``MetricsSnapshot`` `/metrics` collects (``MetricsExporter/collect()``), by metric
/// name, so the two cannot disagree, and every figure names its `/metrics` series
/// (``StatusPageHTML``). Families the page does not lay out are listed at the end, so metrics
/// added later show up without a change here.
///
/// A pure function of the snapshot, its rates and the wall-clock time: tested without sockets.
public enum StatusPage {
    /// The `Content-Type` of the page.
    public static let contentType = "text/html; charset=utf-8"
    /// Seconds between the browser's refreshes unless the request says otherwise (`/?refresh=N`).
    public static let defaultRefreshSeconds = 5

    /// The page for `snapshot`.
    /// - Parameters:
    ///   - rates: per-second rates of its counters (``RateTracker``).
    ///   - now: wall-clock seconds since the epoch at collection (uptime, ages).
    ///   - refreshSeconds: the browser reloads the page this often; `nil`: never.
    static func render(
        _ snapshot: MetricsSnapshot,
        rates: RateTracker.Rates,
        now: Double,
        refreshSeconds: Int? = defaultRefreshSeconds
    ) -> String {
        var data = StatusPageData(snapshot: snapshot, rates: rates, now: now)
        var html = StatusPageHTML()
        html.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        if let refreshSeconds, refreshSeconds > 0 {
            html.raw("<meta http-equiv=\"refresh\" content=\"\(refreshSeconds)\">\n")
        }
        html.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
        html.raw("<title>zabbix-tee status</title>\n<style>\(Self.style)</style>\n</head>\n<body>\n")
        self.header(&html, data: data, refreshSeconds: refreshSeconds)
        // The tiles repeat figures of the tables below: they do not take them off the tables.
        var tiles = data
        self.summary(&html, &tiles)
        self.listeners(&html, &data)
        for section in Section.all {
            self.section(&html, &data, section)
        }
        self.section(&html, &data, Section(id: "other", title: "Other metrics", prefixes: [""]))
        html.raw("</body>\n</html>\n")
        return html.text
    }

    private static func header(_ html: inout StatusPageHTML, data: StatusPageData, refreshSeconds: Int?) {
        html.raw("<header><h1>zabbix-tee</h1><p>")
        html.escaped("generated \(StatusPageFormat.date(data.now))")
        if let refreshSeconds, refreshSeconds > 0 {
            html.escaped(" · refreshed every \(refreshSeconds) s")
        }
        if let interval = data.rates.interval {
            let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
            html.escaped(" · rates over the last \(StatusPageFormat.duration(seconds))")
        } else {
            html.escaped(" · rates from the next refresh on")
        }
        html.raw(
            "</p><nav><a href=\"/metrics\">/metrics</a> <a href=\"/health\">/health</a> <a href=\"/ready\">/ready</a></nav></header>\n"
        )
    }

    /// The page's stylesheet: compact tables that stay readable with many listeners.
    static let style = """
        :root{color-scheme:light;--fg:#1d2329;--muted:#5f6b76;--line:#d9dee3;--head:#eef1f4;--ok:#1f8a3b;--bad:#c62828;--warn:#b26a00}
        *{box-sizing:border-box}
        body{margin:0;font:13px/1.35 system-ui,-apple-system,"Segoe UI","DejaVu Sans",sans-serif;color:var(--fg);background:#fafbfc}
        header{display:flex;flex-wrap:wrap;align-items:baseline;gap:.4em 1.2em;padding:.6em 1em;background:#243447;color:#fff}
        header h1{margin:0;font-size:18px}header p{margin:0;color:#c9d3dd}header nav{margin-left:auto}
        header a{color:#9fd0ff;margin-left:.8em}
        h2{font-size:14px;margin:1.2em 1rem .4em}h2 small{font-weight:normal;color:var(--muted)}
        .tiles{display:flex;flex-wrap:wrap;gap:.6em;padding:.8em 1rem 0}
        .tile{background:#fff;border:1px solid var(--line);border-radius:6px;padding:.45em .8em;min-width:10.5em}
        .tile b{display:block;font-size:11px;font-weight:600;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}
        .tile .big{font-size:20px;font-weight:600}.tile small{display:block;color:var(--muted)}
        .tile.bad{border-color:var(--bad)}.tile.bad .big{color:var(--bad)}
        .bar{height:5px;background:var(--head);border-radius:3px;margin-top:.3em}.bar i{display:block;height:100%;background:#3b82c4;border-radius:3px}
        .scroll{overflow-x:auto;margin:0 1rem}
        table{border-collapse:collapse;background:#fff;border:1px solid var(--line);width:100%}
        th,td{padding:.22em .55em;border-bottom:1px solid var(--line);text-align:left;vertical-align:top;white-space:nowrap}
        th{background:var(--head);font-size:11px;font-weight:600;color:var(--muted);position:sticky;top:0}
        tbody tr:nth-child(even){background:#f7f9fa}tbody tr:hover{background:#eaf3fb}
        td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
        td.n .r,td .r{display:block;color:var(--muted);font-size:11px}
        td.name{font-weight:600}td.name small,td small{display:block;font-weight:normal;color:var(--muted)}
        .warn{color:var(--warn);font-weight:600}.down{color:var(--bad);font-weight:600}.up{color:var(--ok)}
        .t{display:inline-block;margin-right:1em}.t::before{content:"\\25CF";margin-right:.25em}
        .t.up::before{color:var(--ok)}.t.down::before{color:var(--bad)}
        .chip{display:inline-block;background:var(--head);border-radius:3px;padding:0 .35em;margin-right:.25em;font-size:12px}
        .zero{color:var(--muted)}
        p.note{margin:.3em 1rem;color:var(--muted)}
        """
}

extension StatusPage {
    /// A part of the page that lists, generically, the families whose names start with one of
    /// its prefixes (and that no earlier part showed).
    struct Section {
        var id: String
        var title: String
        var prefixes: [String]

        /// In page order; a family goes to the first section it matches, anything left to "Other".
        static let all = [
            Section(
                id: "values",
                title: "Item values and decoding",
                prefixes: [
                    "zabbix_tee_item_values", "zabbix_tee_events_", "zabbix_tee_frames_", "zabbix_tee_decode_",
                    "zabbix_tee_tls_", "zabbix_tee_redirects",
                ]
            ),
            Section(id: "riemann", title: "Riemann", prefixes: ["zabbix_tee_riemann_"]),
            Section(id: "graphite", title: "Graphite", prefixes: ["zabbix_tee_graphite_"]),
            Section(id: "catalog", title: "Item catalog", prefixes: ["zabbix_tee_catalog_"]),
            Section(id: "process", title: "Process", prefixes: ["process_", "zabbix_tee_config_", "zabbix_tee_log_"]),
        ]
    }

    /// A table of every sample of the section's families: metric (help text on hover), labels,
    /// value, and per-second rate for counters. Counter families that are zero throughout are
    /// folded into one line, so a quiet tee shows a short page.
    static func section(_ html: inout StatusPageHTML, _ data: inout StatusPageData, _ section: Section) {
        let families = data.unshownFamilies.filter { family in
            section.prefixes.contains { family.name.hasPrefix($0) }
        }
        guard !families.isEmpty else { return }
        for family in families { data.markShown(family.name) }
        let now = data.now
        let zero = families.filter { family in
            family.type == .counter && family.samples.allSatisfy { StatusPageData.number($0) == 0 }
        }
        let shown = families.filter { family in !zero.contains { $0.name == family.name } }
        html.raw("<h2 id=\"\(section.id)\">")
        html.escaped(section.title)
        html.raw("</h2>\n")
        if !shown.isEmpty {
            html.raw("<div class=\"scroll\"><table class=\"series\">\n<thead><tr><th>Metric</th><th>Labels</th>")
            html.raw("<th class=\"n\">Value</th><th class=\"n\">Per second</th></tr></thead>\n<tbody>\n")
            for family in shown {
                for sample in family.samples {
                    html.raw("<tr><td title=\"")
                    html.escaped(family.help)
                    html.raw("\">")
                    html.escaped(self.shortName(family.name))
                    html.raw("</td><td>")
                    for label in sample.labels {
                        html.element("span", class: "chip", label.name + "=" + label.value)
                    }
                    html.raw("</td><td class=\"n\">")
                    switch sample.value {
                    case .number:
                        html.value(family.name, sample, now: now)
                    case .histogram(let histogram):
                        self.histogram(&html, family.name, sample.labels, histogram, now: now)
                    }
                    html.raw("</td><td class=\"n\">")
                    if family.type != .gauge {
                        html.rate(
                            data.rate(of: family.name, sample),
                            as: StatusPageHTML.Kind(metric: family.name) == .bytes ? .bytes : .count
                        )
                    }
                    html.raw("</td></tr>\n")
                }
            }
            html.raw("</tbody></table></div>\n")
        }
        if !zero.isEmpty {
            html.raw("<p class=\"note\">Zero so far: ")
            html.escaped(zero.map { self.shortName($0.name) }.joined(separator: ", "))
            html.raw("</p>\n")
        }
    }

    /// A histogram as count, mean and the bucket bound below which 99 % of the samples fall.
    private static func histogram(
        _ html: inout StatusPageHTML,
        _ name: String,
        _ labels: [MetricsSnapshot.Label],
        _ histogram: MetricsSnapshot.HistogramValue,
        now: Double
    ) {
        let count = Double(histogram.count)
        html.value(PrometheusTextWriter.series(name + "_count", labels), count, as: .count, now: now)
        guard count > 0 else { return }
        let kind = StatusPageHTML.Kind(metric: name)
        html.raw("<small>mean ")
        html.escaped(StatusPageHTML.show(histogram.sum / count, as: kind, now: now))
        let wanted = (count * 0.99).rounded(.up)
        let bound = zip(histogram.upperBounds, histogram.cumulativeCounts).first { Double($0.1) >= wanted }?.0
        html.raw(" · p99 ")
        html.escaped(bound.map { "≤ " + StatusPageHTML.show($0, as: kind, now: now) } ?? "above every bucket")
        html.raw("</small>")
    }

    /// `zabbix_tee_riemann_events_acked_total` → `riemann events acked`.
    static func shortName(_ name: String) -> String {
        var short = Substring(name)
        if short.hasPrefix("zabbix_tee_") { short = short.dropFirst("zabbix_tee_".count) }
        if short.hasSuffix("_total") { short = short.dropLast("_total".count) }
        return String(short).replacingUnderscores
    }
}

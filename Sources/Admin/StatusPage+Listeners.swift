extension StatusPage {
    /// The per-listener families the listener table lays out.
    static let listenerFamilies = [
        "zabbix_tee_listener_info", "zabbix_tee_connections_active", "zabbix_tee_connections_total",
        "zabbix_tee_connections_refused_total", "zabbix_tee_connections_failed_total",
        "zabbix_tee_connections_idle_timeout_total", "zabbix_tee_connection_errors_total",
        "zabbix_tee_relayed_bytes_total", "zabbix_tee_relay_buffered_bytes", "zabbix_tee_relay_buffered_bytes_max",
        "zabbix_tee_tap_failures_total", "zabbix_tee_target_healthy", "zabbix_tee_target_connects_total",
    ]

    /// One row per listener (a compact table, not a card each: readable with 50 listeners):
    /// connections open and admitted, refusals and failures by reason (only the non-zero ones),
    /// bytes each way with their rates, the relay's buffered bytes, and each target's health.
    static func listeners(_ html: inout StatusPageHTML, _ data: inout StatusPageData) {
        let names = data.labelValues("listener", in: ["zabbix_tee_listener_info", "zabbix_tee_connections_active"])
        guard !names.isEmpty else { return }
        for family in self.listenerFamilies { data.markShown(family) }
        let now = data.now
        html.raw("<h2 id=\"listeners\">Listeners <small>")
        html.escaped("\(names.count)")
        html.raw("</small></h2>\n<div class=\"scroll\"><table class=\"listeners\">\n<thead><tr>")
        html.raw("<th>Listener</th><th class=\"n\">Open</th><th class=\"n\">Admitted</th><th>Refused</th>")
        html.raw("<th>Failed</th><th class=\"n\">Client → server</th><th class=\"n\">Server → client</th>")
        html.raw("<th class=\"n\">Buffered</th><th>Targets</th></tr></thead>\n<tbody>\n")
        for name in names {
            let listener = ["listener": name]
            html.raw("<tr><td class=\"name\">")
            html.escaped(name)
            let addresses = data.samples("zabbix_tee_listener_info", where: listener).compactMap {
                StatusPageData.label("address", of: $0)
            }
            if !addresses.isEmpty {
                html.element("small", addresses.joined(separator: ", "))
            }
            html.raw("</td><td class=\"n\">")
            self.values(&html, &data, "zabbix_tee_connections_active", listener)
            html.raw("</td><td class=\"n\">")
            self.values(&html, &data, "zabbix_tee_connections_total", listener)
            html.rate(data.rate("zabbix_tee_connections_total", where: listener))
            html.raw("</td><td>")
            self.nonZero(&html, &data, [("zabbix_tee_connections_refused_total", "reason")], listener)
            html.raw("</td><td>")
            self.nonZero(
                &html,
                &data,
                [
                    ("zabbix_tee_connections_failed_total", "no target"),
                    ("zabbix_tee_connections_idle_timeout_total", "idle"),
                    ("zabbix_tee_connection_errors_total", "side"),
                    ("zabbix_tee_tap_failures_total", "tap"),
                ],
                listener
            )
            for direction in ["client_to_server", "server_to_client"] {
                let labels = listener.merging(["direction": direction]) { $1 }
                html.raw("</td><td class=\"n\">")
                self.values(&html, &data, "zabbix_tee_relayed_bytes_total", labels)
                html.rate(data.rate("zabbix_tee_relayed_bytes_total", where: labels), as: .bytes)
            }
            html.raw("</td><td class=\"n\">")
            self.values(&html, &data, "zabbix_tee_relay_buffered_bytes", listener)
            html.raw("<small>max ")
            self.values(&html, &data, "zabbix_tee_relay_buffered_bytes_max", listener)
            html.raw("</small></td><td>")
            self.targets(&html, &data, listener, now: now)
            html.raw("</td></tr>\n")
        }
        html.raw("</tbody></table></div>\n")
    }

    /// The values of `name` with `labels`, one span each.
    private static func values(
        _ html: inout StatusPageHTML,
        _ data: inout StatusPageData,
        _ name: String,
        _ labels: [String: String]
    ) {
        for sample in data.samples(name, where: labels) {
            html.value(name, sample, now: data.now)
        }
    }

    /// The non-zero samples of each `(family, label or caption)`, as `caption value`; `0` (muted)
    /// when all are zero. A caption that names a label is replaced by the sample's label value.
    private static func nonZero(
        _ html: inout StatusPageHTML,
        _ data: inout StatusPageData,
        _ families: [(name: String, caption: String)],
        _ labels: [String: String]
    ) {
        var any = false
        for (name, caption) in families {
            for sample in data.samples(name, where: labels) where (StatusPageData.number(sample) ?? 0) != 0 {
                any = true
                html.raw("<span class=\"warn\">")
                html.escaped((StatusPageData.label(caption, of: sample) ?? caption).replacingUnderscores + " ")
                html.value(name, sample, now: data.now)
                html.raw("</span> ")
            }
        }
        if !any { html.raw("<span class=\"zero\">0</span>") }
    }

    /// Each target of a listener: health dot, address, connects ok and failed.
    private static func targets(
        _ html: inout StatusPageHTML,
        _ data: inout StatusPageData,
        _ listener: [String: String],
        now: Double
    ) {
        for health in data.samples("zabbix_tee_target_healthy", where: listener) {
            let target = StatusPageData.label("target", of: health) ?? "?"
            let up = StatusPageData.number(health) == 1
            html.raw(up ? "<span class=\"t up\">" : "<span class=\"t down\">")
            html.escaped(target + " ")
            html.value("zabbix_tee_target_healthy", health, as: .health, now: now, cssClass: up ? "v up" : "v down")
            let connects = listener.merging(["target": target]) { $1 }
            for (result, caption) in [("ok", " · ok "), ("failed", " · failed ")] {
                for sample in data.samples(
                    "zabbix_tee_target_connects_total",
                    where: connects.merging(["result": result]) { $1 }
                ) {
                    html.escaped(caption)
                    html.value("zabbix_tee_target_connects_total", sample, now: now)
                }
            }
            html.raw("</span>")
        }
    }
}

extension String {
    /// `source_limit` → `source limit`.
    var replacingUnderscores: String {
        String(self.map { $0 == "_" ? " " : $0 })
    }
}

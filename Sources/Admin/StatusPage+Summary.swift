extension StatusPage {
    /// The tiles at the top: what an operator checks first. A figure summed over several series
    /// names its series `sum(name)` or `sum(name{labels})`.
    static func summary(_ html: inout StatusPageHTML, _ data: inout StatusPageData) {
        let now = data.now
        html.raw("<section class=\"tiles\" id=\"summary\">\n")

        if let open = data.total("zabbix_tee_connections_active") {
            let listeners = data.samples("zabbix_tee_connections_active").count
            self.tile(&html, "Connections open") { html in
                html.value("sum(zabbix_tee_connections_active)", open, as: .count, now: now, cssClass: "v big")
                html.raw("<small>")
                html.escaped("\(listeners) listener\(listeners == 1 ? "" : "s") · new ")
                html.rate(data.rate("zabbix_tee_connections_total"))
                html.raw("</small>")
            }
        }
        for (title, name) in [
            ("Values decoded", "zabbix_tee_item_values_total"), ("Values emitted", "zabbix_tee_events_mapped_total"),
            ("Values rejected", "zabbix_tee_item_values_rejected_total"),
        ] {
            guard let total = data.total(name) else { continue }
            let perSecond = data.rate(name)
            self.tile(&html, title) { html in
                html.raw("<span class=\"big\">")
                html.rate(perSecond)
                html.raw("</span><small>")
                html.value("sum(\(name))", total, as: .count, now: now)
                html.raw(" in all</small>")
            }
        }
        if let depth = data.total("zabbix_tee_riemann_queue_events"),
            let capacity = data.total("zabbix_tee_riemann_queue_capacity_events")
        {
            let inFlight = data.total("zabbix_tee_riemann_in_flight_events") ?? 0
            let fill = capacity > 0 ? min(100, max(0, depth / capacity * 100)) : 0
            self.tile(&html, "Riemann queue", bad: fill >= 90) { html in
                html.value("zabbix_tee_riemann_queue_events", depth, as: .count, now: now, cssClass: "v big")
                html.raw("<small>of ")
                html.value("zabbix_tee_riemann_queue_capacity_events", capacity, as: .count, now: now)
                html.raw(" · in flight ")
                html.value("zabbix_tee_riemann_in_flight_events", inFlight, as: .count, now: now)
                html.raw(
                    "</small><div class=\"bar\"><i style=\"width:\(StatusPageFormat.decimal(fill, places: 1))%\"></i></div>"
                )
            }
        }
        let servers = data.samples("zabbix_tee_riemann_connected")
        if !servers.isEmpty {
            let connected = servers.first { StatusPageData.number($0) == 1 }
            self.tile(&html, "Riemann", bad: connected == nil) { html in
                html.raw("<span class=\"big\">")
                html.escaped(connected.flatMap { StatusPageData.label("server", of: $0) } ?? "not connected")
                html.raw("</span><small>acked ")
                html.rate(data.rate("zabbix_tee_riemann_events_acked_total"))
                if let dropped = data.total("zabbix_tee_riemann_events_dropped_total") {
                    html.raw(" · dropped ")
                    html.value("sum(zabbix_tee_riemann_events_dropped_total)", dropped, as: .count, now: now)
                }
                html.raw("</small>")
            }
        }
        if let entries = data.sample("zabbix_tee_catalog_entries") {
            self.tile(&html, "Item catalog") { html in
                html.value("zabbix_tee_catalog_entries", entries, as: .count, now: now, cssClass: "v big")
                html.raw("<small>entries")
                if let waiting = data.sample("zabbix_tee_item_values_waiting") {
                    html.raw(" · waiting ")
                    html.value("zabbix_tee_item_values_waiting", waiting, now: now)
                }
                html.raw("</small>")
            }
        }
        if let start = data.sample("process_start_time_seconds"), let startValue = StatusPageData.number(start) {
            self.tile(&html, "Up") { html in
                html.raw("<span class=\"big\">")
                html.escaped(StatusPageFormat.duration(max(0, now - startValue)))
                html.raw("</span><small>")
                if let resident = data.sample("process_resident_memory_bytes") {
                    html.value("process_resident_memory_bytes", resident, now: now)
                    html.raw(" resident · ")
                }
                html.raw("CPU ")
                if let cpu = data.rate("process_cpu_seconds_total") {
                    html.escaped(StatusPageFormat.decimal(cpu * 100, places: 1) + " %")
                } else {
                    html.rate(nil)
                }
                html.raw("</small>")
            }
        }
        html.raw("</section>\n")
    }

    private static func tile(
        _ html: inout StatusPageHTML,
        _ title: String,
        bad: Bool = false,
        _ body: (inout StatusPageHTML) -> Void
    ) {
        html.raw(bad ? "<div class=\"tile bad\">" : "<div class=\"tile\">")
        html.element("b", title)
        body(&html)
        html.raw("</div>\n")
    }
}

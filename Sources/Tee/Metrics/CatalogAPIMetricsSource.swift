import Admin

/// `/metrics` samples of the Zabbix API lookups (`catalog.zabbix_api`), once it has been
/// configured. Never the token.
struct CatalogAPIMetricsSource: MetricsSource {
    let pipeline: SidePipeline

    func collect(into snapshot: inout MetricsSnapshot) {
        let statistics = self.pipeline.catalogAPIStatistics
        guard self.pipeline.looksUpCatalogAPI || statistics.requests.contains(where: { $0.count > 0 }) else { return }
        for (outcome, count) in statistics.items {
            snapshot.counter(
                "zabbix_tee_catalog_api_items_total",
                help: "Itemids the wire did not name, by what the Zabbix API lookup came to.",
                labels: [.init("outcome", outcome)],
                value: count
            )
        }
        for (outcome, count) in statistics.requests {
            snapshot.counter(
                "zabbix_tee_catalog_api_requests_total",
                help: "Zabbix API requests by outcome (rate_limited: a request the rate limit deferred).",
                labels: [.init("outcome", outcome)],
                value: count
            )
        }
        snapshot.gauge(
            "zabbix_tee_catalog_api_circuit_open",
            help: "1 while the Zabbix API circuit breaker is open (no requests) or half-open (one probe).",
            value: statistics.circuitOpen ? 1 : 0
        )
    }
}

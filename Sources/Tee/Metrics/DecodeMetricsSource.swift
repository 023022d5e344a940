import Admin
import ZabbixProtocol

/// `/metrics` samples of the side pipeline, the catalog and the mapping.
struct DecodeMetricsSource: MetricsSource {
    let statistics: DecodeStatistics
    let catalog: ItemCatalogStore
    let sink: RiemannSink

    func collect(into snapshot: inout MetricsSnapshot) {
        for (kind, count) in self.statistics.framesDecoded.sorted(by: {
            ($0.key.message, $0.key.flags) < ($1.key.message, $1.key.flags)
        }) {
            snapshot.counter(
                "zabbix_tee_frames_decoded_total",
                help: "ZBXD frames decoded, by message type and flags byte.",
                labels: [.init("type", kind.message), .init("flags", "0x" + String(kind.flags, radix: 16))],
                value: count
            )
        }
        Self.byReason(
            "zabbix_tee_decode_failures_total",
            help: "Frames or connections not decoded (relayed all the same), by reason.",
            self.statistics.failures,
            into: &snapshot
        )
        let dropped = self.statistics.droppedRows
        for (reason, count) in [
            ("unusable", dropped.unusable), ("host_too_long", dropped.hostTooLong),
            ("key_too_long", dropped.keyTooLong),
        ] {
            snapshot.counter(
                "zabbix_tee_decode_rows_dropped_total",
                help:
                    "Rows (and passive check keys) read but not kept: nothing usable, or a host or key longer than Zabbix allows.",
                labels: [.init("reason", reason)],
                value: count
            )
        }
        snapshot.counter(
            "zabbix_tee_tls_connections_total",
            help: "Connections recognised as TLS: relayed, never decoded.",
            value: self.statistics.tlsConnectionCount
        )
        snapshot.counter(
            "zabbix_tee_item_values_total",
            help: "Item values Zabbix accepted (per the reply on their connection), handed on to the mapping.",
            value: self.statistics.itemValueCount
        )
        var rejected = self.statistics.rejectedValues
        rejected[.partialBatch] = self.sink.valuesPartialDropped
        Self.byReason(
            "zabbix_tee_item_values_rejected_total",
            help: "Item values not emitted because Zabbix did not accept them (or said nothing), by reason.",
            rejected,
            into: &snapshot
        )
        snapshot.gauge(
            "zabbix_tee_item_values_held",
            help: "Item values waiting for the reply to their request.",
            value: self.statistics.heldValueCount
        )
        snapshot.gauge(
            "zabbix_tee_item_values_held_bytes",
            help: "Bytes charged to decode.queue_bytes for values waiting for their reply.",
            value: self.statistics.heldByteCount
        )
        for (key, count) in self.statistics.redirects.sorted(by: {
            ($0.key.listener, $0.key.address) < ($1.key.listener, $1.key.address)
        }) {
            snapshot.counter(
                "zabbix_tee_redirects_total",
                help:
                    "Replies redirecting a client to another proxy of its proxy group (7.0+), by listener and address.",
                labels: [.init("listener", key.listener), .init("address", key.address)],
                value: count
            )
        }
        snapshot.counter(
            "zabbix_tee_item_values_duplicate_total",
            help: "Rows dropped as duplicates (same session, id not above the last seen).",
            value: self.statistics.duplicateCount
        )
        snapshot.counter(
            "zabbix_tee_item_values_unresolved_total",
            help: "Values whose itemid stayed unknown to the catalog, by what was done with them.",
            labels: [.init("action", "emitted")],
            value: self.statistics.unresolvedEmittedCount
        )
        snapshot.counter(
            "zabbix_tee_item_values_unresolved_total",
            help: "Values whose itemid stayed unknown to the catalog, by what was done with them.",
            labels: [.init("action", "dropped")],
            value: self.statistics.unresolvedDroppedCount
        )
        snapshot.gauge(
            "zabbix_tee_item_values_waiting",
            help: "Values waiting for their itemid to be learned.",
            value: self.catalog.pendingCount
        )
        snapshot.gauge(
            "zabbix_tee_decode_queue_frames",
            help: "Frames waiting for the side pipeline.",
            value: self.statistics.queueFrames
        )
        snapshot.gauge(
            "zabbix_tee_decode_queue_bytes",
            help: "Bytes of frames waiting for the side pipeline.",
            value: self.statistics.queueBytes
        )
        snapshot.gauge(
            "zabbix_tee_catalog_entries",
            help: "Items plus hosts in the item catalog.",
            value: self.catalog.entryCount
        )
        for (source, tally) in self.catalog.tallyBySource.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            snapshot.gauge(
                "zabbix_tee_catalog_source_entries",
                help:
                    "Items plus hosts in the item catalog by what taught them (active_checks: the server's replies to agents, proxy_config: proxy configuration, zabbix_api: the Zabbix API).",
                labels: [.init("source", source.rawValue)],
                value: tally.entries
            )
            snapshot.gauge(
                "zabbix_tee_catalog_source_namespaces",
                help:
                    "Agents (source active_checks) and proxies (source proxy_config) the item catalog holds items for.",
                labels: [.init("source", source.rawValue)],
                value: tally.namespaces
            )
        }
        snapshot.counter(
            "zabbix_tee_catalog_refused_total",
            help: "Catalog inserts refused because it was full or a proxy's quota was reached.",
            value: self.catalog.refusedCount
        )
        snapshot.counter(
            "zabbix_tee_catalog_proxy_quota_refused_total",
            help: "Catalog inserts refused by catalog.max_entries_per_proxy.",
            value: self.catalog.quotaRefusedCount
        )
        Self.byReason(
            "zabbix_tee_catalog_updates_ignored_total",
            help:
                "Messages carrying items the catalog did not learn from (not from a real server or proxy), by reason.",
            self.statistics.catalogUpdatesIgnored,
            into: &snapshot
        )
        snapshot.counter(
            "zabbix_tee_catalog_save_failures_total",
            help: "Catalog saves that failed (the previous file stays whole; the catalog is saved again later).",
            value: self.catalog.saveFailureCount
        )
        snapshot.counter(
            "zabbix_tee_catalog_files_set_aside_total",
            help: "Catalog files that could not be loaded at start and were renamed to <path>.corrupt-<time>.",
            value: self.catalog.setAsideCount
        )
        snapshot.counter(
            "zabbix_tee_events_mapped_total",
            help: "Riemann events made from item values.",
            value: self.sink.eventsMapped
        )
        snapshot.counter(
            "zabbix_tee_item_values_filtered_total",
            help: "Item values left out by mapping.include/exclude or mapping.not_supported: drop.",
            labels: [.init("reason", "filter")],
            value: self.sink.valuesFiltered
        )
        snapshot.counter(
            "zabbix_tee_item_values_filtered_total",
            help: "Item values left out by mapping.include/exclude or mapping.not_supported: drop.",
            labels: [.init("reason", "not_supported")],
            value: self.sink.valuesNotSupportedDropped
        )
    }

    /// One counter per reason, label `reason`, in the order of the reasons' names.
    private static func byReason<Reason: RawRepresentable>(
        _ name: String,
        help: String,
        _ counts: [Reason: Int],
        into snapshot: inout MetricsSnapshot
    ) where Reason.RawValue == String {
        for (reason, count) in counts.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            snapshot.counter(name, help: help, labels: [.init("reason", reason.rawValue)], value: count)
        }
    }
}

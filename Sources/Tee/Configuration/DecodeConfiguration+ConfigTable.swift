/// The `decode:` and `catalog:` sections, both read into ``DecodeConfiguration``. Every key but
/// `catalog.zabbix_api` takes effect after a restart: the decoder's workers, queues and catalog
/// are built once; the API client is replaced live.
extension DecodeConfiguration {
    static var decodeTable: ConfigTable<DecodeConfiguration> {
        ConfigTable(
            [
                .bytes(
                    "max_frame_size",
                    \.maximumFrameSize,
                    in: 1024...(1 << 30),
                    .restart,
                    "larger frames are relayed but not decoded"
                ),
                .int(
                    "queue_frames",
                    \.queueFrames,
                    in: 1...10_000_000,
                    .restart,
                    "frames waiting for the decoder, over all workers"
                ),
                .bytes(
                    "queue_bytes",
                    \.queueBytes,
                    in: (64 << 10)...(16 << 30),
                    .restart,
                    "bytes of frames and held values the decoder may keep"
                ),
                .int("workers", \.workers, in: 1...64, .restart, "decoder threads"),
                .int(
                    "duplicate_sessions",
                    \.duplicateSessions,
                    in: 1...100_000_000,
                    .restart,
                    "sender sessions the duplicate filter remembers"
                ),
            ],
            validate: { (node, decode, _) throws(ConfigError) in
                guard decode.queueBytes >= decode.maximumFrameSize else {
                    throw node.error(
                        "queue_bytes (\(ByteSizeFormat.text(decode.queueBytes))) must be at least max_frame_size (\(ByteSizeFormat.text(decode.maximumFrameSize))), or the largest frames could never be decoded"
                    )
                }
            }
        )
    }

    static var catalogTable: ConfigTable<DecodeConfiguration> {
        ConfigTable(
            [
                .custom(
                    "path",
                    \.catalogPath,
                    .restart,
                    "file the item catalog is saved to and loaded from (absent: not saved)",
                    parse: { (node) throws(ConfigError) in try node.nonEmptyString() },
                    text: { $0.map { .inline(ConfigText.quoted($0)) } },
                    same: ==
                ),
                .int("max_entries", \.catalogMaximumEntries, in: 1...100_000_000, .restart, "items the catalog holds"),
                .int(
                    "max_entries_per_proxy",
                    \.catalogMaximumEntriesPerProxy,
                    in: 1...100_000_000,
                    .restart,
                    "items one proxy's configuration may add"
                ),
                .duration(
                    "save_interval",
                    \.catalogSaveInterval,
                    atLeast: .seconds(1),
                    .restart,
                    "how often a changed catalog is saved"
                ),
                .duration(
                    "unresolved_wait",
                    \.unresolvedWait,
                    .restart,
                    "how long an itemid-only value waits for the catalog"
                ),
                .int(
                    "unresolved_max",
                    \.unresolvedMaximum,
                    in: 0...100_000_000,
                    .restart,
                    "values waiting for the catalog at once"
                ),
                .choice(
                    "unresolved",
                    \.unresolvedAction,
                    .restart,
                    "what happens to a value the catalog cannot resolve: emit or drop"
                ),
                .optionalTable(
                    "zabbix_api",
                    \.zabbixAPI,
                    CatalogAPIConfiguration.table,
                    .block,
                    .live,
                    "ask the Zabbix API about itemids the wire did not name (live: the client is replaced)",
                    make: CatalogAPIConfiguration.unread,
                    absent: nil
                ),
            ],
            validate: { (node, decode, warnings) throws(ConfigError) in
                warnings += ConfigLoader.catalogWarnings(node, path: decode.catalogPath)
            }
        )
    }
}

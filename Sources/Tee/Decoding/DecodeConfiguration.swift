/// How the side pipeline decodes relayed Zabbix traffic (`decode:` and `catalog:` in config.yaml).
public struct DecodeConfiguration: Sendable, Hashable {
    /// What happens to a value whose itemid the catalog still does not know when its wait ends.
    public enum UnresolvedAction: String, Sendable, Hashable, CaseIterable {
        /// Emit it with service `itemid:N` (and the host when known).
        case emit
        /// Drop it (counted).
        case drop
    }

    /// Frames with a larger (decoded) payload are skipped and counted; relayed all the same.
    /// 128 MiB: a proxy's full configuration is about 105 bytes per item (600 000 items ≈ 63 MB),
    /// and this is agent 2's own receive limit.
    public var maximumFrameSize: Int = 128 << 20
    /// Frames waiting for the side pipeline, at most (more are dropped and counted).
    public var queueFrames: Int = 10_000
    /// Bytes the side pipeline holds, at most, all connections together: frames arriving, queued
    /// and being decoded, and values waiting for their server's reply (one ``ByteBudget``).
    public var queueBytes: Int = 256 << 20
    /// Worker threads that inflate and decode (connections are spread over them).
    public var workers: Int = 1
    /// Agent/proxy sessions remembered for duplicate suppression.
    public var duplicateSessions: Int = 100_000
    /// Where the item catalog is kept across restarts; `nil` keeps it in memory only.
    public var catalogPath: String? = nil
    /// Items plus hosts the catalog holds at most.
    public var catalogMaximumEntries: Int = 1_000_000
    /// Items plus hosts one proxy's configuration may put in the catalog at most (the largest
    /// real proxies carry a few hundred thousand items).
    public var catalogMaximumEntriesPerProxy: Int = 500_000
    /// How often a changed catalog is written to `catalogPath`.
    public var catalogSaveInterval: Duration = .seconds(30)
    /// How long a value waits for its itemid to be learned.
    public var unresolvedWait: Duration = .seconds(30)
    /// Values waiting for the catalog, at most (more are handled as expired at once).
    public var unresolvedMaximum: Int = 100_000
    public var unresolvedAction: UnresolvedAction = .emit
    /// Where itemids the wire did not name are looked up (`catalog.zabbix_api`); `nil`: nowhere.
    public var zabbixAPI: CatalogAPIConfiguration? = nil

    public init() {}
}

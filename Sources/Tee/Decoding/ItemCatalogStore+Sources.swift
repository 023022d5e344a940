import ZabbixProtocol

extension ItemCatalogStore {
    /// Namespaces and entries by what they were learned from, counted under the lock (for
    /// `/metrics` and the status page; one walk over the namespaces, not over the items).
    public var tallyBySource: [ItemCatalog.Source: ItemCatalog.SourceTally] {
        self.state.withLock { $0.catalog.tallyBySource }
    }
}

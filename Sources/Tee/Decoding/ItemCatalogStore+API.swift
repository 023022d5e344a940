import ZabbixProtocol

extension ItemCatalogStore {
    /// Learns what the Zabbix API named (see ``ItemCatalog/learn(apiEntries:)``); returns the
    /// waiting values it resolves, whatever namespace they waited in, and how many entries did
    /// not fit.
    func learn(apiEntries: [UInt64: ItemCatalogEntry]) -> (released: [DecodedValue], refused: Int) {
        guard !apiEntries.isEmpty else { return ([], 0) }
        return self.state.withLock { state in
            let refusedBefore = state.catalog.refusedCount
            state.catalog.learn(apiEntries: apiEntries)
            state.changedSinceSave = true
            let catalog = state.catalog
            let released = Self.takePending(in: &state) { pending in
                guard let itemid = pending.value.value.itemid, apiEntries[itemid] != nil else { return false }
                return catalog.apiEntry(for: pending.value.value) != nil
            }
            let named = released.map { value in
                var decoded = value
                Self.resolve(&decoded, listener: decoded.listener, in: catalog)
                return decoded
            }
            return (named, catalog.refusedCount - refusedBefore)
        }
    }

    /// The itemids values wait for (for a new API client to ask about).
    var pendingItemids: [UInt64] {
        self.state.withLock { state in Array(Set(state.pending.values.joined().compactMap(\.value.value.itemid))) }
    }

    /// The waiting values of `itemids` (which the API does not know): their wait ends now.
    func expire(itemids: [UInt64]) -> [DecodedValue] {
        guard !itemids.isEmpty else { return [] }
        let unknown = Set(itemids)
        return self.state.withLock { state in
            Self.takePending(in: &state) { unknown.contains($0.value.value.itemid ?? 0) }
        }
    }

    /// Removes and returns the waiting values `matching` picks (a walk over the wait list).
    private static func takePending(in state: inout State, matching: (Pending) -> Bool) -> [DecodedValue] {
        guard state.pendingCount > 0 else { return [] }
        var taken: [DecodedValue] = []
        for (namespace, list) in state.pending {
            var kept: [Pending] = []
            for pending in list {
                if matching(pending) { taken.append(pending.value) } else { kept.append(pending) }
            }
            guard kept.count != list.count else { continue }
            state.pending[namespace] = kept.isEmpty ? nil : kept
        }
        state.pendingCount -= taken.count
        return taken
    }
}

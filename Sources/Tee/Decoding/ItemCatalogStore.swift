import Foundation
import Logging
import Synchronization
import ZabbixProtocol

/// The item catalog shared by the side pipeline's workers, the values waiting for it, and its
/// file.
///
/// Values that carry only an itemid (agent 2, agentd 7.0+, proxies) need the catalog. When it
/// does not know the itemid yet, the value waits here, bounded in count and time, keyed by the
/// catalog namespace it needs; learning that namespace releases them. Values still unknown when
/// their wait ends are handed back as expired (emitted as `itemid:N` or dropped, by
/// configuration).
public final class ItemCatalogStore: Sendable {
    /// A value waiting for the catalog, with what the sink needs once it is resolved.
    struct Pending: Sendable {
        var value: DecodedValue
        var namespace: String
        var deadline: ContinuousClock.Instant
    }

    struct State {
        var catalog: ItemCatalog
        var pending: [String: [Pending]] = [:]
        var pendingCount = 0
        var changedSinceSave = false
    }

    public let maximumPendingValues: Int
    public let pendingTimeout: Duration
    let state: Mutex<State>
    /// Failed saves and catalog files set aside at start (see `ItemCatalogStore+File.swift`).
    let fileStatistics = CatalogFileStatistics()

    public init(
        maximumEntries: Int,
        maximumEntriesPerProxy: Int = .max,
        maximumPendingValues: Int,
        pendingTimeout: Duration
    ) {
        self.maximumPendingValues = maximumPendingValues
        self.pendingTimeout = pendingTimeout
        self.state = Mutex(
            State(catalog: ItemCatalog(maximumEntries: maximumEntries, maximumEntriesPerProxy: maximumEntriesPerProxy))
        )
    }

    /// A store sized by `configuration` (`catalog.max_entries`, `max_entries_per_proxy`,
    /// `unresolved_max`, `unresolved_wait`).
    public convenience init(configuration: DecodeConfiguration) {
        self.init(
            maximumEntries: configuration.catalogMaximumEntries,
            maximumEntriesPerProxy: configuration.catalogMaximumEntriesPerProxy,
            maximumPendingValues: configuration.unresolvedMaximum,
            pendingTimeout: configuration.unresolvedWait
        )
    }

    /// Items (plus hosts) held.
    public var entryCount: Int { self.state.withLock { $0.catalog.count } }
    /// Inserts refused because the catalog was full (or a proxy's quota reached).
    public var refusedCount: Int { self.state.withLock { $0.catalog.refusedCount } }
    /// Of ``refusedCount``: inserts refused by `catalog.max_entries_per_proxy`.
    public var quotaRefusedCount: Int { self.state.withLock { $0.catalog.quotaRefusedCount } }
    /// Values waiting for their itemid to be learned.
    public var pendingCount: Int { self.state.withLock { $0.pendingCount } }
    /// A copy of the catalog.
    public var snapshot: ItemCatalog { self.state.withLock { $0.catalog } }

    /// Learns an agent's items from an `active checks` reply (the caller checked that the server
    /// side sent it); returns the waiting values the new knowledge resolves, and how many items
    /// did not fit.
    func learn(_ response: ActiveChecksResponse, listener: String) -> (released: [DecodedValue], refused: Int) {
        guard let host = response.request?.host, response.items != nil else { return ([], 0) }
        let namespace = ItemCatalog.agentNamespace(listener: listener, host: host)
        return self.state.withLock { state in
            let refusedBefore = state.catalog.refusedCount
            state.catalog.learn(response, listener: listener)
            state.changedSinceSave = true
            return (Self.release(namespace, in: &state), state.catalog.refusedCount - refusedBefore)
        }
    }

    /// Learns a proxy's items from a configuration payload (the caller checked that a real server
    /// sent it, or that the passive proxy accepted it); returns the waiting values it resolves and
    /// how many items and hosts did not fit (catalog full or the proxy's quota reached).
    func learn(_ config: ProxyConfig, listener: String) -> (released: [DecodedValue], refused: Int) {
        let proxy = config.proxyHost ?? ""
        let namespace = ItemCatalog.proxyNamespace(listener: listener, proxy: proxy)
        return self.state.withLock { state in
            let refusedBefore = state.catalog.refusedCount
            state.catalog.learn(config, listener: listener, proxy: proxy)
            state.changedSinceSave = true
            return (Self.release(namespace, in: &state), state.catalog.refusedCount - refusedBefore)
        }
    }

    /// Fills in host and key from the catalog. Values it cannot resolve yet are kept waiting
    /// (or, when the wait list is full, returned in `expired` at once); `waiting` names their
    /// itemids, for the Zabbix API (`catalog.zabbix_api`) to be asked about.
    func resolve(
        _ values: [DecodedValue],
        listener: String,
        now: ContinuousClock.Instant
    )
        -> (resolved: [DecodedValue], expired: [DecodedValue], waiting: [UInt64])
    {
        // Senders name host and key on every row: nothing to look up, no copy, no lock. agentd
        // before 7.0 does too, but the catalog may know its items' update intervals by key.
        guard Self.any(values, { $0.value.requestType == .agentData || Self.namesOnlyItemid($0) }) else {
            return (values, [], [])
        }
        return self.state.withLock { state in
            // No update interval known by key, no itemid to resolve: the values stay as they are
            // (no copy of each one).
            if state.catalog.keyedDelayCount == 0,
                !Self.any(values, Self.namesOnlyItemid)
            {
                return (values, [], [])
            }
            var resolved: [DecodedValue] = []
            var expired: [DecodedValue] = []
            var waiting: [UInt64] = []
            resolved.reserveCapacity(values.count)
            for var decoded in values {
                if decoded.value.itemid == nil {
                    decoded.delay = decoded.delay ?? state.catalog.delay(forKeyed: decoded.value, listener: listener)
                }
                if Self.namesOnlyItemid(decoded) {
                    Self.resolve(&decoded, listener: listener, in: state.catalog)
                    if decoded.value.key == nil {
                        if state.pendingCount < self.maximumPendingValues, let namespace = Self.namespace(of: decoded) {
                            state.pending[namespace, default: []].append(
                                Pending(value: decoded, namespace: namespace, deadline: now + self.pendingTimeout)
                            )
                            state.pendingCount += 1
                            if let itemid = decoded.value.itemid { waiting.append(itemid) }
                        } else {
                            expired.append(decoded)
                        }
                        continue
                    }
                }
                resolved.append(decoded)
            }
            return (resolved, expired, waiting)
        }
    }

    /// Whether any of `values` satisfies `test`, read in place (`contains(where:)` copied each one).
    private static func any(_ values: [DecodedValue], _ test: (borrowing DecodedValue) -> Bool) -> Bool {
        values.withUnsafeBufferPointer { values in
            for index in values.indices where test(values[index]) { return true }
            return false
        }
    }

    /// Whether the catalog must name `decoded`'s host or key: it came with an itemid and without them.
    private static func namesOnlyItemid(_ decoded: borrowing DecodedValue) -> Bool {
        decoded.value.itemid != nil && (decoded.value.key == nil || decoded.value.host == nil)
    }

    /// Waiting values whose deadline passed.
    func expire(now: ContinuousClock.Instant) -> [DecodedValue] {
        self.state.withLock { state in
            guard state.pendingCount > 0 else { return [] }
            var expired: [DecodedValue] = []
            for (namespace, list) in state.pending {
                let (late, waiting) = (list.filter { $0.deadline <= now }, list.filter { $0.deadline > now })
                expired += late.map(\.value)
                state.pending[namespace] = waiting.isEmpty ? nil : waiting
            }
            state.pendingCount -= expired.count
            return expired
        }
    }

    /// Every waiting value, now (at shutdown).
    func drainPending() -> [DecodedValue] {
        self.state.withLock { state in
            let all = state.pending.values.flatMap { $0.map(\.value) }
            state.pending = [:]
            state.pendingCount = 0
            return all
        }
    }

    private static func namespace(of decoded: DecodedValue) -> String? {
        switch decoded.value.requestType {
        case .proxyData:
            return ItemCatalog.proxyNamespace(listener: decoded.listener, proxy: decoded.value.proxy ?? "")
        case .agentData:
            return decoded.value.host.map { ItemCatalog.agentNamespace(listener: decoded.listener, host: $0) }
        case .senderData, .passiveCheck, .historyPush:
            return nil
        }
    }

    private static func release(_ namespace: String, in state: inout State) -> [DecodedValue] {
        guard let waiting = state.pending.removeValue(forKey: namespace) else { return [] }
        state.pendingCount -= waiting.count
        return waiting.map { pending in
            var decoded = pending.value
            Self.resolve(&decoded, listener: decoded.listener, in: state.catalog)
            return decoded
        }
    }

    /// Fills in host and key, and the value type and update interval the catalog knows.
    static func resolve(_ decoded: inout DecodedValue, listener: String, in catalog: ItemCatalog) {
        decoded.value = catalog.resolved(decoded.value, listener: listener)
        if let entry = catalog.entry(for: decoded.value, listener: listener) {
            decoded.valueType = entry.valueType
            decoded.delay = entry.delay
        }
    }
}

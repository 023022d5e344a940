/// What an itemid stands for.
public struct ItemCatalogEntry: Sendable, Hashable {
    /// Host name (`nil` when a proxy configuration named a hostid whose host row is unknown).
    public var host: String?
    /// Item key.
    public var key: String
    /// Zabbix value type (0 float, 1 character, 2 log, 3 unsigned, 4 text, 5 binary, 6 JSON in
    /// 8.0; any other number a later version adds is kept as is), when known (proxy
    /// configuration only).
    public var valueType: Int64?
    /// The item's update interval, when the server or proxy configuration said it.
    public var delay: ZabbixUpdateInterval?

    public init(host: String?, key: String, valueType: Int64? = nil, delay: ZabbixUpdateInterval? = nil) {
        self.host = host
        self.key = key
        self.valueType = valueType
        self.delay = delay
    }
}

/// itemid → (host, key, value type), learned from the wire, for values that carry only an itemid
/// (agent 2 and agentd 7.0+ `agent data`, proxy `history data`).
///
/// An itemid is only unique within one Zabbix server, so entries live in namespaces:
/// ``agentNamespace(listener:host:)`` for items learned from an agent's `active checks` reply,
/// ``proxyNamespace(listener:proxy:)`` for items learned from a proxy's configuration.
///
/// * An `active checks` reply with `data` is the agent's complete list: it replaces its namespace.
/// * A proxy configuration with full sync (always for ≤ 6.2) replaces its namespace; a 6.4+ delta
///   upserts hosts and items and removes `del_hostids` with their items. Items are never removed
///   one by one (6.4 deltas carry changed rows only), so a stale entry may linger until the next
///   full sync; it is harmless because itemids are never reused within a server.
/// * At most ``maximumEntries`` items and hosts are held; further inserts are refused and counted
///   in ``refusedCount``.
/// * One proxy's namespace holds at most ``maximumEntriesPerProxy`` items and hosts; further
///   inserts into it are refused and counted in ``refusedCount`` and ``quotaRefusedCount``, so
///   that no single proxy configuration (a forged push on a passive-proxy listener included) can
///   take the whole catalog.
///
/// A value type: copy it to hand a snapshot to another thread.
public struct ItemCatalog: Sendable, Hashable {
    struct StoredItem: Sendable, Hashable {
        var key: String
        var valueType: Int64?
        /// Set for proxy configuration items; the host name is looked up at read time.
        var hostid: UInt64?
        /// Set for active-check items.
        var host: String?
        /// `delay`, as the active checks reply or the proxy configuration gave it.
        var delay: ZabbixUpdateInterval? = nil
    }

    struct Namespace: Sendable, Hashable {
        var items: [UInt64: StoredItem] = [:]
        var hosts: [UInt64: String] = [:]
        /// Update intervals of an agent's items told without itemid (agentd before 7.0, whose
        /// values carry keys), by key. Not saved to the catalog file: agents ask again every
        /// `RefreshActiveChecks`.
        var keyedDelays: [String: ZabbixUpdateInterval] = [:]
        var count: Int { self.items.count + self.hosts.count + self.keyedDelays.count }
    }

    /// Upper bound on items plus hosts held.
    public let maximumEntries: Int
    /// Upper bound on items plus hosts held for one proxy.
    public let maximumEntriesPerProxy: Int
    /// Items plus hosts held.
    public internal(set) var count: Int = 0
    /// Inserts refused because the catalog (or a proxy's quota) was full.
    public internal(set) var refusedCount: Int = 0
    /// Update intervals held by key (``Namespace/keyedDelays``, all namespaces): while there are
    /// none, a keyed value's delay is known to be unknown without building its namespace's name.
    public private(set) var keyedDelayCount: Int = 0
    /// Of ``refusedCount``: inserts refused because the proxy's namespace was at its quota.
    public internal(set) var quotaRefusedCount: Int = 0
    var namespaces: [String: Namespace] = [:]

    /// Creates an empty catalog holding at most `maximumEntries` items plus hosts, at most
    /// `maximumEntriesPerProxy` of them for one proxy.
    public init(maximumEntries: Int = 1_000_000, maximumEntriesPerProxy: Int = .max) {
        self.maximumEntries = max(0, maximumEntries)
        self.maximumEntriesPerProxy = max(0, maximumEntriesPerProxy)
    }

    /// The namespace of items an agent learned through `active checks` on a listener.
    public static func agentNamespace(listener: String, host: String) -> String {
        "agent:" + listener + "/" + host
    }

    /// The namespace of a proxy's configuration items on a listener. Passive proxies name
    /// themselves neither in config pushes nor in data replies: use `proxy: ""` for both.
    public static func proxyNamespace(listener: String, proxy: String) -> String {
        "proxy:" + listener + "/" + proxy
    }

    /// The namespace of items the Zabbix API named (`catalog.zabbix_api`): one for the server,
    /// whose itemids are unique. Consulted only for itemids the wire namespaces do not hold.
    public static let apiNamespace = "api:"

    /// Names of the namespaces held.
    public var namespaceNames: [String] { Array(self.namespaces.keys) }

    /// The entry for `itemid` in `namespace`.
    public func entry(namespace: String, itemid: UInt64) -> ItemCatalogEntry? {
        guard let space = self.namespaces[namespace], let item = space.items[itemid] else { return nil }
        return ItemCatalogEntry(
            host: item.host ?? item.hostid.flatMap { space.hosts[$0] },
            key: item.key,
            valueType: item.valueType,
            delay: item.delay
        )
    }

    /// The entry for an itemid-only value seen on `listener` (agent or proxy data), if known:
    /// from the agent's or proxy's own namespace, else from what the Zabbix API said (see
    /// ``apiEntry(for:)``).
    public func entry(for value: ItemValue, listener: String) -> ItemCatalogEntry? {
        guard let itemid = value.itemid else { return nil }
        let wire: ItemCatalogEntry?
        switch value.requestType {
        case .proxyData:
            wire = self.entry(
                namespace: Self.proxyNamespace(listener: listener, proxy: value.proxy ?? ""),
                itemid: itemid
            )
        case .agentData:
            guard let host = value.host else { return nil }
            wire = self.entry(namespace: Self.agentNamespace(listener: listener, host: host), itemid: itemid)
        case .senderData, .passiveCheck, .historyPush:
            return nil
        }
        return wire ?? self.apiEntry(for: value)
    }

    /// The API's entry for an agent or proxy value. Wire namespaces come first: an `active checks`
    /// key is expanded (what the agent evaluated), the API's `key_` is not (user macros such as
    /// `{$MOUNT}` and positional `$1` stay as written), so the API names only what the wire did not.
    /// An agent value whose host differs from the item's host is not named by it.
    public func apiEntry(for value: ItemValue) -> ItemCatalogEntry? {
        guard let itemid = value.itemid, let entry = self.entry(namespace: Self.apiNamespace, itemid: itemid) else {
            return nil
        }
        if value.requestType == .agentData, let host = value.host, let itemHost = entry.host, host != itemHost {
            return nil
        }
        return entry
    }

    /// The update interval of an agent's item that values name by key (agentd before 7.0), if an
    /// `active checks` reply on `listener` told it.
    public func delay(forKeyed value: ItemValue, listener: String) -> ZabbixUpdateInterval? {
        guard self.keyedDelayCount > 0, value.requestType == .agentData, let host = value.host, let key = value.key
        else { return nil }
        return self.namespaces[Self.agentNamespace(listener: listener, host: host)]?.keyedDelays[key]
    }

    /// `value` with missing host and key (and nothing else) filled in from the catalog.
    public func resolved(_ value: ItemValue, listener: String) -> ItemValue {
        guard value.key == nil || value.host == nil, let entry = self.entry(for: value, listener: listener) else {
            return value
        }
        var result = value
        if result.key == nil { result.key = entry.key }
        if result.host == nil { result.host = entry.host }
        return result
    }

    // MARK: - Learning

    /// Learns an agent's items from an `active checks` reply seen on `listener`. A reply with
    /// `data` replaces what was known for that agent; of items without `itemid` (agentd before
    /// 7.0, whose data carries keys anyway) only the update interval is kept, by key. Replies
    /// without `data`, without a paired request host, or not successful change nothing.
    public mutating func learn(_ response: ActiveChecksResponse, listener: String) {
        guard let host = response.request?.host, let items = response.items, response.response != "failed" else {
            return
        }
        let name = Self.agentNamespace(listener: listener, host: host)
        self.removeNamespace(name)
        var space = Namespace()
        for item in items {
            let interval = item.delay?.interval
            let isNew =
                item.itemid.map { space.items[$0] == nil } ?? (interval != nil && space.keyedDelays[item.key] == nil)
            guard isNew else { continue }
            guard self.count < self.maximumEntries else {
                self.refusedCount += 1
                continue
            }
            if let itemid = item.itemid {
                space.items[itemid] = StoredItem(
                    key: item.key,
                    valueType: nil,
                    hostid: nil,
                    host: host,
                    delay: interval
                )
            } else {
                space.keyedDelays[item.key] = interval
            }
            self.count += 1
        }
        if space.count > 0 {
            self.keyedDelayCount += space.keyedDelays.count
            self.namespaces[name] = space
        }
    }

    /// Learns a proxy's items from a configuration payload seen on `listener`, for the proxy named
    /// `proxy` (`""` for passive proxies; see ``proxyNamespace(listener:proxy:)``).
    public mutating func learn(_ config: ProxyConfig, listener: String, proxy: String) {
        let name = Self.proxyNamespace(listener: listener, proxy: proxy)
        if config.isFullSync { self.removeNamespace(name) }
        var space = self.namespaces.removeValue(forKey: name) ?? Namespace()
        self.count -= space.count

        if !config.deletedHostIDs.isEmpty {
            let deleted = Set(config.deletedHostIDs)
            for hostid in deleted { space.hosts[hostid] = nil }
            space.items = space.items.filter { !deleted.contains($0.value.hostid ?? 0) }
        }
        for host in config.hosts {
            if space.hosts[host.hostid] == nil, !self.admitsOneMore(into: space) { continue }
            space.hosts[host.hostid] = host.host
        }
        for item in config.items {
            if space.items[item.itemid] == nil, !self.admitsOneMore(into: space) { continue }
            space.items[item.itemid] = StoredItem(
                key: item.key,
                valueType: item.valueType,
                hostid: item.hostid,
                host: nil,
                delay: item.delay
            )
        }
        self.count += space.count
        if space.count > 0 { self.namespaces[name] = space }
    }

    /// Whether a new entry fits in the proxy namespace `space` (taken out of the catalog while it
    /// is updated); counts the refusal when not.
    private mutating func admitsOneMore(into space: Namespace) -> Bool {
        if space.count >= self.maximumEntriesPerProxy {
            self.refusedCount += 1
            self.quotaRefusedCount += 1
            return false
        }
        if self.count + space.count >= self.maximumEntries {
            self.refusedCount += 1
            return false
        }
        return true
    }

    /// Learns items the Zabbix API named (an `item.get` answer), in ``apiNamespace``; an entry
    /// already there is replaced (the item's key may have been edited since). Entries that do
    /// not fit are refused and counted.
    public mutating func learn(apiEntries: [UInt64: ItemCatalogEntry]) {
        var space = self.namespaces.removeValue(forKey: Self.apiNamespace) ?? Namespace()
        self.count -= space.count
        for (itemid, entry) in apiEntries {
            if space.items[itemid] == nil, self.count + space.count >= self.maximumEntries {
                self.refusedCount += 1
                continue
            }
            space.items[itemid] = StoredItem(
                key: entry.key,
                valueType: entry.valueType,
                hostid: nil,
                host: entry.host,
                delay: entry.delay
            )
        }
        self.count += space.count
        if space.count > 0 { self.namespaces[Self.apiNamespace] = space }
    }

    /// Forgets a namespace.
    public mutating func removeNamespace(_ name: String) {
        if let space = self.namespaces.removeValue(forKey: name) {
            self.count -= space.count
            self.keyedDelayCount -= space.keyedDelays.count
        }
    }
}

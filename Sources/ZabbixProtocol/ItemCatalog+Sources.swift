extension ItemCatalog {
    /// What the catalog learned a namespace from.
    public enum Source: String, Sendable, Hashable, CaseIterable {
        /// The server's `active checks` replies to agents (`agent:` namespaces).
        case activeChecks = "active_checks"
        /// Proxy configuration sent by the server or accepted by a passive proxy (`proxy:`).
        case proxyConfig = "proxy_config"
        /// The Zabbix API's `item.get` (`catalog.zabbix_api`; the ``apiNamespace``): a real
        /// server's database, asked about itemids the wire did not name.
        case zabbixAPI = "zabbix_api"

        /// The source of a namespace, by the prefix ``agentNamespace(listener:host:)`` and
        /// ``proxyNamespace(listener:proxy:)`` give it.
        init?(namespace: String) {
            if namespace.hasPrefix("agent:") {
                self = .activeChecks
            } else if namespace.hasPrefix("proxy:") {
                self = .proxyConfig
            } else if namespace == ItemCatalog.apiNamespace {
                self = .zabbixAPI
            } else {
                return nil
            }
        }
    }

    /// How much of the catalog came from one source.
    public struct SourceTally: Sendable, Hashable {
        /// Agents (active checks) or proxies (proxy configuration) the catalog holds items for.
        public var namespaces = 0
        /// Items plus hosts.
        public var entries = 0
    }

    /// Namespaces and entries by source, every source present (zero when it taught nothing).
    /// Walks the namespaces, not the entries.
    public var tallyBySource: [Source: SourceTally] {
        var tally = Dictionary(uniqueKeysWithValues: Source.allCases.map { ($0, SourceTally()) })
        for (name, space) in self.namespaces {
            guard let source = Source(namespace: name) else { continue }
            tally[source, default: SourceTally()].namespaces += 1
            tally[source, default: SourceTally()].entries += space.count
        }
        return tally
    }
}

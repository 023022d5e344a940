import Logging
import NIOCore
import ZabbixProtocol

/// The side pipeline's use of the Zabbix API (`catalog.zabbix_api`): values whose itemid the
/// wire did not name wait in the catalog as always (at most `catalog.unresolved_wait`); their
/// itemids are asked about meanwhile, and an answer releases them, named, or ends their wait
/// (`not_found`), whereupon `catalog.unresolved` settles them. The API's being slow or down
/// changes nothing else: the wait is the catalog's, never the API's.
extension SidePipeline {
    /// Starts asking the API `configuration` names, instead of the one asked so far (at start,
    /// after a reload); `nil` stops asking.
    public func configureCatalogAPI(_ configuration: CatalogAPIConfiguration?) {
        var client: CatalogAPIClient?
        if let configuration, let eventLoop = self.apiEventLoop {
            client = CatalogAPIClient(
                configuration: configuration,
                maximumQueued: self.configuration.unresolvedMaximum,
                eventLoop: eventLoop,
                statistics: self.catalogAPIStatistics,
                logger: self.logger,
                delegate: .init(
                    resolved: { [weak self] entries in self?.apiResolved(entries) },
                    notFound: { [weak self] itemids in self?.apiNotFound(itemids) }
                )
            )
        }
        let previous = self.catalogAPI.withLock { current in
            defer { current = client }
            return current
        }
        previous?.shutdown()
        client?.start()
        // Values already waiting are asked about anew (each still falls back at its own deadline).
        if previous != nil, let client {
            client.want(self.catalog.pendingItemids, until: .now + self.catalog.pendingTimeout)
        }
        if let configuration, client != nil {
            self.logger.info(
                "item catalog backfill from the Zabbix API",
                metadata: ["url": "\(configuration.endpoint)"]
            )
        }
    }

    /// Whether itemids are looked up in the Zabbix API.
    public var looksUpCatalogAPI: Bool { self.catalogAPI.withLock { $0 != nil } }

    /// Values wait for `itemids` from now on.
    func lookUp(_ itemids: [UInt64]) {
        guard let client = self.catalogAPI.withLock({ $0 }) else { return }
        client.want(itemids, until: .now + self.catalog.pendingTimeout)
    }

    private func apiResolved(_ entries: [UInt64: ItemCatalogEntry]) {
        let (released, refused) = self.catalog.learn(apiEntries: entries)
        self.catalogRefused(refused, listener: "zabbix_api")
        if !released.isEmpty { self.statistics.summarize(released) { $0.resolved += $1 } }
        self.emit(released)
    }

    private func apiNotFound(_ itemids: [UInt64]) {
        self.settle(self.catalog.expire(itemids: itemids))
    }
}

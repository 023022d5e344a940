import Testing
import ZabbixProtocol

@Suite struct ItemCatalogTests {
    func activeChecksReply(host: String, items: [ActiveCheckItem]?) -> ActiveChecksResponse {
        ActiveChecksResponse(
            request: ActiveChecksRequest(host: host, version: "6.0"),
            response: "success",
            items: items
        )
    }

    @Test func learnsAgentItemsFromActiveChecksAndResolvesAgent2Values() throws {
        var catalog = ItemCatalog()
        catalog.learn(
            activeChecksReply(
                host: "tee-test-agent2",
                items: [
                    ActiveCheckItem(key: "agent.ping", itemid: 1003),
                    ActiveCheckItem(key: "system.uname", itemid: 1004),
                    ActiveCheckItem(key: "no.itemid"),
                ]
            ),
            listener: "agents"
        )
        #expect(catalog.count == 2)
        let value = ItemValue(requestType: .agentData, host: "tee-test-agent2", itemid: 1004, value: "Linux")
        #expect(catalog.resolved(value, listener: "agents").key == "system.uname")
        #expect(catalog.resolved(value, listener: "other").key == nil, "namespaced per listener")
        var otherHost = value
        otherHost.host = "another"
        #expect(catalog.resolved(otherHost, listener: "agents").key == nil, "namespaced per host")
    }

    @Test func activeChecksReplyReplacesTheAgentsListButAbsentDataKeepsIt() {
        var catalog = ItemCatalog()
        catalog.learn(
            activeChecksReply(
                host: "h",
                items: [ActiveCheckItem(key: "a", itemid: 1), ActiveCheckItem(key: "b", itemid: 2)]
            ),
            listener: "l"
        )
        catalog.learn(activeChecksReply(host: "h", items: nil), listener: "l")
        #expect(catalog.count == 2)
        catalog.learn(activeChecksReply(host: "h", items: [ActiveCheckItem(key: "c", itemid: 3)]), listener: "l")
        #expect(catalog.count == 1)
        let ns = ItemCatalog.agentNamespace(listener: "l", host: "h")
        #expect(catalog.entry(namespace: ns, itemid: 1) == nil)
        #expect(catalog.entry(namespace: ns, itemid: 3) == ItemCatalogEntry(host: "h", key: "c"))
        catalog.learn(
            ActiveChecksResponse(
                request: ActiveChecksRequest(host: "h"),
                response: "failed",
                info: "host [h] not found",
                items: []
            ),
            listener: "l"
        )
        #expect(catalog.count == 1)
    }

    static let fullConfig = ProxyConfig(
        isFullSync: true,
        hosts: [.init(hostid: 10105, host: "web01"), .init(hostid: 10106, host: "db01")],
        items: [
            .init(itemid: 23662, hostid: 10105, key: "agent.ping", valueType: 3),
            .init(itemid: 23663, hostid: 10106, key: "system.cpu.load[all,avg1]", valueType: 0),
        ]
    )

    @Test func learnsProxyItemsJoinedToHostsAndResolvesHistoryRows() {
        var catalog = ItemCatalog()
        catalog.learn(Self.fullConfig, listener: "proxies", proxy: "tee-lab-proxy")
        let row = ItemValue(requestType: .proxyData, itemid: 23663, proxy: "tee-lab-proxy", value: "0.5")
        let resolved = catalog.resolved(row, listener: "proxies")
        #expect(resolved.host == "db01")
        #expect(resolved.key == "system.cpu.load[all,avg1]")
        #expect(catalog.entry(for: row, listener: "proxies")?.valueType == 0)
    }

    @Test func appliesIncrementalDeltasAndFullSyncReplaces() {
        var catalog = ItemCatalog()
        catalog.learn(Self.fullConfig, listener: "l", proxy: "p")
        let ns = ItemCatalog.proxyNamespace(listener: "l", proxy: "p")
        // Rename a host, add an item, delete the other host.
        catalog.learn(
            ProxyConfig(
                isFullSync: false,
                configRevision: 2,
                hosts: [.init(hostid: 10105, host: "web01-renamed")],
                items: [.init(itemid: 30000, hostid: 10105, key: "new.key", valueType: 4)],
                deletedHostIDs: [10106]
            ),
            listener: "l",
            proxy: "p"
        )
        #expect(
            catalog.entry(namespace: ns, itemid: 23662)
                == ItemCatalogEntry(host: "web01-renamed", key: "agent.ping", valueType: 3)
        )
        #expect(catalog.entry(namespace: ns, itemid: 30000)?.key == "new.key")
        #expect(catalog.entry(namespace: ns, itemid: 23663) == nil)
        #expect(catalog.count == 3)
        // An empty delta changes nothing.
        catalog.learn(ProxyConfig(isFullSync: false), listener: "l", proxy: "p")
        #expect(catalog.count == 3)
        // A full sync replaces everything.
        catalog.learn(
            ProxyConfig(
                isFullSync: true,
                hosts: [.init(hostid: 1, host: "x")],
                items: [.init(itemid: 2, hostid: 1, key: "k")]
            ),
            listener: "l",
            proxy: "p"
        )
        #expect(catalog.count == 2)
        #expect(catalog.entry(namespace: ns, itemid: 23662) == nil)
        #expect(catalog.entry(namespace: ns, itemid: 2) == ItemCatalogEntry(host: "x", key: "k"))
    }

    @Test func agentAndProxyNamespacesNeverCollide() {
        var catalog = ItemCatalog()
        catalog.learn(
            activeChecksReply(host: "p", items: [ActiveCheckItem(key: "agent.key", itemid: 1)]),
            listener: "l"
        )
        catalog.learn(
            ProxyConfig(
                isFullSync: true,
                hosts: [.init(hostid: 9, host: "h")],
                items: [.init(itemid: 1, hostid: 9, key: "proxy.key")]
            ),
            listener: "l",
            proxy: "p"
        )
        #expect(
            catalog.entry(namespace: ItemCatalog.agentNamespace(listener: "l", host: "p"), itemid: 1)?.key
                == "agent.key"
        )
        #expect(
            catalog.entry(namespace: ItemCatalog.proxyNamespace(listener: "l", proxy: "p"), itemid: 1)?.key
                == "proxy.key"
        )
    }

    @Test func holdsAtMostMaximumEntries() {
        var catalog = ItemCatalog(maximumEntries: 10)
        let items = (1...50).map { ActiveCheckItem(key: "k\($0)", itemid: UInt64($0)) }
        catalog.learn(activeChecksReply(host: "a", items: items), listener: "l")
        #expect(catalog.count == 10)
        #expect(catalog.refusedCount == 40)
        catalog.learn(
            ProxyConfig(
                isFullSync: true,
                hosts: [.init(hostid: 1, host: "h")],
                items: [.init(itemid: 1, hostid: 1, key: "k")]
            ),
            listener: "l",
            proxy: "p"
        )
        #expect(catalog.count == 10)
        catalog.removeNamespace(ItemCatalog.agentNamespace(listener: "l", host: "a"))
        #expect(catalog.count == 0)
    }

    @Test func serializesAndReadsBack() throws {
        var catalog = ItemCatalog()
        catalog.learn(Self.fullConfig, listener: "l", proxy: "p")
        catalog.learn(
            activeChecksReply(
                host: "agent \"quoted\"\n",
                items: [ActiveCheckItem(key: "vfs.file.contents[\"C:\\x\",é]", itemid: 18_446_744_073_709_551_615)]
            ),
            listener: "l"
        )
        let bytes = catalog.serialized()
        #expect(
            String(decoding: bytes, as: UTF8.self).hasPrefix(
                #"{"format":"zabbix-tee item catalog","version":1}"# + "\n"
            )
        )
        let copy = try ItemCatalog(serialized: bytes)
        #expect(copy == catalog)
        #expect(copy.serialized() == bytes)
        #expect(
            copy.entry(namespace: ItemCatalog.agentNamespace(listener: "l", host: "agent \"quoted\"\n"), itemid: .max)?
                .key == "vfs.file.contents[\"C:\\x\",é]"
        )
    }

    @Test func emptyCatalogRoundTrips() throws {
        #expect(try ItemCatalog(serialized: ItemCatalog().serialized()) == ItemCatalog())
    }

    @Test func readingRespectsTheLimit() throws {
        var catalog = ItemCatalog()
        catalog.learn(
            activeChecksReply(host: "a", items: (1...20).map { ActiveCheckItem(key: "k", itemid: UInt64($0)) }),
            listener: "l"
        )
        let small = try ItemCatalog(serialized: catalog.serialized(), maximumEntries: 5)
        #expect(small.count == 5)
        #expect(small.refusedCount == 15)
    }

    @Test func rejectsBadInputWithTypedErrors() {
        func reason(_ text: String) -> ItemCatalogError? {
            do {
                _ = try ItemCatalog(serialized: Array(text.utf8))
                return nil
            } catch {
                return error
            }
        }
        let header = #"{"format":"zabbix-tee item catalog","version":1}"# + "\n"
        #expect(reason("")?.reason == .notACatalog)
        #expect(reason("hello\n")?.line == 1)
        #expect(reason(#"{"format":"other"}"#)?.reason == .notACatalog)
        #expect(reason(#"{"format":"zabbix-tee item catalog","version":2}"#)?.reason == .unsupportedVersion(2))
        #expect(reason(header + "[1]\n")?.reason == .notAnObject)
        #expect(reason(header + #"{"itemid":1,"key":"k"}"#)?.reason == .missingField("ns"))
        #expect(reason(header + #"{"ns":"x","itemid":1}"#)?.reason == .missingField("key"))
        #expect(reason(header + #"{"ns":"x","hostid":1}"#)?.reason == .missingField("host"))
        #expect(reason(header + #"{"ns":"x"}"#)?.reason == .missingField("itemid"))
        let truncated = reason(header + #"{"ns":"x","itemid":1,"ke"#)
        #expect(truncated?.line == 2)
        if case .invalidJSON = truncated?.reason {} else { Issue.record("\(String(describing: truncated))") }
        #expect(reason(header + "\n\r\n") == nil)
    }
}

/// The catalog keeps each item's update interval as the server said it, in its file too.
@Suite struct ItemCatalogDelayTests {
    @Test func learnsDelaysFromActiveChecksAndProxyConfiguration() {
        var catalog = ItemCatalog()
        catalog.learn(
            ActiveChecksResponse(
                request: ActiveChecksRequest(host: "h"),
                response: "success",
                items: [
                    ActiveCheckItem(key: "a", itemid: 1, delay: .interval("30s")), ActiveCheckItem(key: "b", itemid: 2),
                ]
            ),
            listener: "l"
        )
        catalog.learn(
            ProxyConfig(
                isFullSync: true,
                hosts: [.init(hostid: 7, host: "web01")],
                items: [.init(itemid: 3, hostid: 7, key: "c", delay: ZabbixUpdateInterval("{$DELAY}"))]
            ),
            listener: "l",
            proxy: "p"
        )
        let agent = ItemCatalog.agentNamespace(listener: "l", host: "h")
        #expect(catalog.entry(namespace: agent, itemid: 1)?.delay == ZabbixUpdateInterval("30s"))
        #expect(catalog.entry(namespace: agent, itemid: 2)?.delay == nil)
        #expect(
            catalog.entry(namespace: ItemCatalog.proxyNamespace(listener: "l", proxy: "p"), itemid: 3)?.delay?.text
                == "{$DELAY}"
        )
    }

    @Test func anAgentsKeyedItemsKeepOnlyTheirIntervalAndOnlyInMemory() throws {
        var catalog = ItemCatalog(maximumEntries: 3)
        catalog.learn(
            ActiveChecksResponse(
                request: ActiveChecksRequest(host: "h"),
                response: "success",
                items: [
                    ActiveCheckItem(key: "agent.ping", delay: .seconds(30)),
                    ActiveCheckItem(key: "flexible", delay: .seconds(0)),
                    ActiveCheckItem(key: "no.delay"), ActiveCheckItem(key: "one.too.many", delay: .seconds(60)),
                ]
            ),
            listener: "l"
        )
        let value = ItemValue(requestType: .agentData, host: "h", key: "agent.ping", value: "1")
        #expect(catalog.delay(forKeyed: value, listener: "l")?.baseSeconds == 30)
        var flexible = value
        flexible.key = "flexible"
        #expect(catalog.delay(forKeyed: flexible, listener: "l") == ZabbixUpdateInterval(seconds: 0))
        #expect(catalog.delay(forKeyed: value, listener: "other") == nil)
        #expect(catalog.count == 3, "an item without itemid or delay teaches nothing")
        var sender = value
        sender.requestType = .senderData
        #expect(catalog.delay(forKeyed: sender, listener: "l") == nil, "only agents' values")
        catalog.learn(
            ActiveChecksResponse(
                request: ActiveChecksRequest(host: "h2"),
                response: "success",
                items: [ActiveCheckItem(key: "a", delay: .seconds(1)), ActiveCheckItem(key: "b", delay: .seconds(1))]
            ),
            listener: "l"
        )
        #expect(catalog.count == 3 && catalog.refusedCount == 2, "bounded with the rest")
        #expect(try ItemCatalog(serialized: catalog.serialized()).count == 0, "not saved: agents ask again")
    }

    @Test func delaysSurviveTheFileAndAnOlderFileWithoutThemStillLoads() throws {
        var catalog = ItemCatalog()
        catalog.learn(
            ActiveChecksResponse(
                request: ActiveChecksRequest(host: "h"),
                response: "success",
                items: [ActiveCheckItem(key: "a", itemid: 1, delay: .interval("1m;wd1-5,9:00-18:00"))]
            ),
            listener: "l"
        )
        let bytes = catalog.serialized()
        #expect(String(decoding: bytes, as: UTF8.self).contains(#""delay":"1m;wd1-5,9:00-18:00""#))
        #expect(try ItemCatalog(serialized: bytes) == catalog)
        let old = #"""
            {"format":"zabbix-tee item catalog","version":1}
            {"ns":"agent:l/h","itemid":1,"key":"a","host":"h"}
            """#
        let loaded = try ItemCatalog(serialized: Array(old.utf8))
        #expect(loaded.entry(namespace: "agent:l/h", itemid: 1) == ItemCatalogEntry(host: "h", key: "a"))
    }
}

import Testing

@testable import ZabbixProtocol

/// The Zabbix API calls of the catalog backfill, as bytes: what is asked and what answers mean.
struct ZabbixAPIItemGetTests {
    @Test func anItemGetAsksForKeyValueTypeDelayAndHostOfTheItemids() throws {
        let body = ZabbixAPIItemGet.request(itemids: [101, 202], id: 7, auth: nil)
        let request = try JSONParser().parse(body)
        #expect(request["method"]?.string == "item.get")
        #expect(request["params"]?["itemids"]?.array?.compactMap(\.string) == ["101", "202"])
        #expect(request["params"]?["output"]?.array?.compactMap(\.string) == ["itemid", "key_", "value_type", "delay"])
        #expect(request["params"]?["selectHosts"]?.array?.compactMap(\.string) == ["host"])
        #expect(request["auth"] == nil, "6.4 and later: the token goes in the Authorization header")
        #expect(request["id"]?.uint64 == 7)
        let old = try JSONParser().parse(ZabbixAPIItemGet.request(itemids: [1], id: 8, auth: "t\"ok"))
        #expect(old["auth"]?.string == "t\"ok", "before 6.4: in the body, escaped")
    }

    @Test func onlyAPIsBefore64WantTheTokenInTheBody() {
        #expect(ZabbixAPIItemGet.wantsAuthMember(ZabbixVersion(major: 6, minor: 0, patch: 14)))
        #expect(!ZabbixAPIItemGet.wantsAuthMember(ZabbixVersion(major: 6, minor: 4)))
        #expect(!ZabbixAPIItemGet.wantsAuthMember(ZabbixVersion(major: 7, minor: 0, patch: 9)))
    }

    @Test func anAnswerNamesEachItemByItsHostAndUnexpandedKey() throws {
        let answer =
            #"{"jsonrpc":"2.0","result":[{"itemid":"101","key_":"vfs.fs.size[{$MOUNT},free]","value_type":"3","delay":"1m","hosts":[{"hostid":"5","host":"web-1"}]},{"itemid":"102","key_":""},{"key_":"no.itemid"}],"id":7}"#
        let entries = try ZabbixAPIItemGet.entries(fromAnswer: Array(answer.utf8))
        #expect(
            entries == [
                101: ItemCatalogEntry(
                    host: "web-1",
                    key: "vfs.fs.size[{$MOUNT},free]",
                    valueType: 3,
                    delay: ZabbixUpdateInterval("1m")
                )
            ]
        )
    }

    @Test func anAPIErrorOrAnotherShapeIsAFailureNamingWhy() {
        let error =
            #"{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params.","data":"Not authorized."},"id":1}"#
        #expect(throws: ZabbixAPIItemGet.Failure.apiError(code: -32602, message: "Invalid params.: Not authorized.")) {
            try ZabbixAPIItemGet.entries(fromAnswer: Array(error.utf8))
        }
        #expect(throws: ZabbixAPIItemGet.Failure.self) {
            try ZabbixAPIItemGet.entries(fromAnswer: Array("<html>".utf8))
        }
        #expect(throws: ZabbixAPIItemGet.Failure.self) {
            try ZabbixAPIItemGet.entries(fromAnswer: Array(#"{"result":{}}"#.utf8))
        }
        #expect(throws: ZabbixAPIItemGet.Failure.self) {
            try ZabbixAPIItemGet.entries(fromAnswer: Array(#"{"id":1}"#.utf8))
        }
    }

    @Test func theVersionAnswerIsRead() throws {
        let version = try ZabbixAPIItemGet.version(
            fromAnswer: Array(#"{"jsonrpc":"2.0","result":"7.0.9","id":1}"#.utf8)
        )
        #expect(version == ZabbixVersion(major: 7, minor: 0, patch: 9))
    }

    @Test func wireKeysComeFirstAndTheAPIOnlyNamesWhatTheWireDidNot() throws {
        var catalog = ItemCatalog()
        catalog.learn(
            ActiveChecksResponse(
                request: ActiveChecksRequest(host: "web-1", version: "7.0"),
                response: "success",
                items: [ActiveCheckItem(key: "vfs.fs.size[/,free]", itemid: 7)]
            ),
            listener: "agents"
        )
        catalog.learn(apiEntries: [
            7: ItemCatalogEntry(host: "web-1", key: "vfs.fs.size[{$MOUNT},free]", valueType: 3),
            8: ItemCatalogEntry(host: "web-1", key: "system.cpu.load[all,avg1]", valueType: 0),
            9: ItemCatalogEntry(host: "db-1", key: "agent.ping", valueType: 3),
        ])
        func value(_ itemid: UInt64) -> ItemValue {
            ItemValue(requestType: .agentData, host: "web-1", itemid: itemid, value: "1")
        }
        #expect(
            catalog.entry(for: value(7), listener: "agents")?.key == "vfs.fs.size[/,free]",
            "expanded, from the wire"
        )
        #expect(catalog.entry(for: value(8), listener: "agents")?.key == "system.cpu.load[all,avg1]", "from the API")
        #expect(
            catalog.entry(for: value(8), listener: "other-listener")?.key == "system.cpu.load[all,avg1]",
            "any listener"
        )
        #expect(
            catalog.entry(for: value(9), listener: "agents") == nil,
            "an agent's value is not named by another host's item"
        )
        let proxied = ItemValue(requestType: .proxyData, itemid: 9, proxy: "proxy-1", value: "1")
        #expect(
            catalog.entry(for: proxied, listener: "proxies")?.host == "db-1",
            "a proxy's value takes the item's host"
        )
        #expect(catalog.tallyBySource[.zabbixAPI] == ItemCatalog.SourceTally(namespaces: 1, entries: 3))
        let reloaded = try ItemCatalog(serialized: catalog.serialized())
        #expect(reloaded == catalog, "saved and loaded like the other sources")
    }
}

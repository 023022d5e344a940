import NIOCore
import TestSupport
import Testing
import ZabbixProtocol

/// Issue 14: decoding costs memory in proportion to what it keeps, never to what a payload claims
/// or how it is shaped. Every shape here is decoded with a budget far below the payload's size:
/// every byte a decode keeps is charged to the budget, so a decode that succeeds within a small
/// budget built nothing of what it passed over (on main, `{"":0}` rows became an 8-member tree
/// each: about 65 bytes of memory per payload byte).
@Suite struct HostilePayloadTests {
    /// `prefix`, `count` copies of `element` separated by commas, `suffix`.
    static func payload(_ prefix: String, _ element: String, count: Int, _ suffix: String) -> [UInt8] {
        var bytes = Array(prefix.utf8)
        let element = Array(element.utf8)
        bytes.reserveCapacity(bytes.count + count * (element.count + 1) + suffix.utf8.count)
        for index in 0..<count {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes += element
        }
        bytes += Array(suffix.utf8)
        return bytes
    }

    static func decode(
        _ bytes: [UInt8],
        budget: Int,
        from peer: ZabbixPeer = .client
    ) throws(ZabbixMessageError) -> (ZabbixMessage, DroppedRows) {
        var conversation = ZabbixConversation(budget: budget)
        let message = try conversation.decode(ByteBuffer(bytes: bytes), from: peer)
        return (message, conversation.takeDroppedRows())
    }

    @Test func denseTinyObjectsKeepNothingAndAreCounted() throws {
        // The issue's shape: 1.4 MB of {"":0} rows, decoded within 4 KiB.
        let bytes = Self.payload(#"{"request":"sender data","data":["#, #"{"":0}"#, count: 200_000, "]}")
        let (message, dropped) = try Self.decode(bytes, budget: 4096)
        #expect(message == .senderData(SenderData(rows: [])))
        #expect(dropped == DroppedRows(unusable: 200_000))
    }

    @Test func denseUsableRowsBeyondTheBudgetFailAsAWhole() {
        let bytes = Self.payload(#"{"request":"sender data","data":["#, #"{"value":0}"#, count: 100_000, "]}")
        #expect(throws: ZabbixMessageError.budgetExceeded(limit: 1 << 20)) { try Self.decode(bytes, budget: 1 << 20) }
        // The same rows fit a budget that holds them: a row costs its struct, not its shape.
        let rows = (try? Self.decode(bytes, budget: 128 << 20))?.0.itemValues.count
        #expect(rows == 100_000)
    }

    @Test func deepNestingStopsAtTheDepthLimitWithoutRecursingFurther() {
        for open in ["[", #"{"a":"#] {
            var bytes = Array(#"{"request":"sender data","data":"#.utf8)
            for _ in 0..<200_000 { bytes += Array(open.utf8) }
            #expect(throws: ZabbixMessageError.self) { try Self.decode(bytes, budget: 4096) }
            do {
                _ = try Self.decode(bytes, budget: 4096)
            } catch {
                guard case .invalidJSON(let json) = error else {
                    Issue.record("\(error)")
                    continue
                }
                #expect(json.reason == .tooDeep)
            }
        }
    }

    @Test func aLongValueIsKeptAndChargedWhole() throws {
        let value = String(repeating: "x", count: 4 << 20)
        let bytes = Array(#"{"request":"sender data","data":[{"host":"h","key":"k","value":"\#(value)"}]}"#.utf8)
        let (message, _) = try Self.decode(bytes, budget: 8 << 20)
        #expect(message.itemValues.first?.value.utf8.count == 4 << 20)
        #expect(throws: ZabbixMessageError.budgetExceeded(limit: 1 << 20)) { try Self.decode(bytes, budget: 1 << 20) }
    }

    @Test func aHugeKeyDropsItsRowWithoutBeingBuilt() throws {
        // 8 MiB of key (and the same with escapes), decoded within 64 KiB: the key is measured in
        // place and never becomes a string.
        for unit in ["k", #"\u00e9"#] {
            let key = String(repeating: unit, count: (8 << 20) / unit.utf8.count)
            let bytes = Array(
                #"{"request":"sender data","data":[{"host":"h","key":"\#(key)","value":"1"},{"host":"h","key":"ok","value":"2"}]}"#
                    .utf8
            )
            let (message, dropped) = try Self.decode(bytes, budget: 64 << 10)
            #expect(message.itemValues.map(\.key) == ["ok"])
            #expect(dropped == DroppedRows(keyTooLong: 1))
        }
    }

    @Test func keysAndHostsAreHeldToZabbixsLimitsInCharacters() throws {
        let key2048 = String(repeating: "é", count: 2048)
        let host128 = String(repeating: "ж", count: 128)
        let rows = [
            #"{"host":"\#(host128)","key":"\#(key2048)","value":"kept"}"#,
            #"{"host":"\#(host128)x","key":"k","value":"host too long"}"#,
            #"{"host":"h","key":"\#(key2048)x","value":"key too long"}"#,
            #"{"host":"h","key":"\#(String(repeating: #"\ud83d\ude00"#, count: 2048))","value":"2048 escaped pairs"}"#,
            #"{"host":"h","key":"\#(String(repeating: #"\ud83d\ude00"#, count: 2049))","value":"2049 escaped pairs"}"#,
        ]
        let bytes = Array((#"{"request":"sender data","data":["# + rows.joined(separator: ",") + "]}").utf8)
        let (message, dropped) = try Self.decode(bytes, budget: 1 << 20)
        #expect(message.itemValues.map(\.value) == ["kept", "2048 escaped pairs"])
        #expect(dropped == DroppedRows(hostTooLong: 1, keyTooLong: 2))
    }

    @Test func manyHostsCostTheirRowsOnly() throws {
        let rows = (0..<20_000).map { #"{"host":"host-\#($0)-of-a-rather-long-fleet","key":"k","value":"\#($0)"}"# }
        let bytes = Array((#"{"request":"sender data","data":["# + rows.joined(separator: ",") + "]}").utf8)
        let (message, _) = try Self.decode(bytes, budget: 32 << 20)
        #expect(Set(message.itemValues.compactMap(\.host)).count == 20_000)
    }

    @Test func unknownMembersAndTablesOfAnySizeAreNotBuilt() throws {
        // 2 MB of members the messages do not use, at every level, within 4 KiB.
        let junk = String(
            decoding: Self.payload("[", #"{"a":[1,{"b":"c"}],"d":null}"#, count: 50_000, "]"),
            as: UTF8.self
        )
        let texts = [
            #"{"request":"agent data","junk":\#(junk),"data":[{"junk":\#(junk),"itemid":1,"value":"v"}],"host":"h"}"#,
            #"{"request":"zabbix.stats","junk":\#(junk)}"#,
        ]
        let (first, _) = try Self.decode(Array(texts[0].utf8), budget: 4096)
        #expect(first.itemValues.map(\.value) == ["v"])
        #expect(try Self.decode(Array(texts[1].utf8), budget: 4096).0 == .other(request: "zabbix.stats"))
    }

    @Test func aNonJSONFrameOnAPassiveListenerIsNotAKeyBeyondZabbixsLimit() throws {
        var conversation = ZabbixConversation(budget: 4096)
        let text = ByteBuffer(repeating: UInt8(ascii: "k"), count: 8 << 20)
        #expect(try conversation.decode(text, from: .client) == .unrecognized)
        #expect(conversation.takeDroppedRows() == DroppedRows(keyTooLong: 1))
        // Nothing waits for a reply: the agent's answer is not paired with it.
        #expect(try conversation.decode(ByteBuffer(string: "ZBX_NOTSUPPORTED"), from: .server) == .unrecognized)
        // A key of 2048 characters is one.
        let key = String(repeating: "é", count: 2048)
        #expect(
            try conversation.decode(ByteBuffer(string: key), from: .client)
                == .passiveCheckRequest(PassiveCheckRequest(keys: [key], isJSON: false))
        )
    }

    @Test func rowsMetBeforeTheRequestAreReadAgainAsItSays() throws {
        let messages = try converse([
            (.client, #"{"data":[{"host":"h","key":"k","value":"1"}],"request":"sender data","clock":5}"#),
            (.client, #"{"history data":[{"itemid":7,"value":"2"}],"host":"p","request":"proxy data"}"#),
        ])
        #expect(
            messages[0] == .senderData(SenderData(clock: 5, rows: [ZabbixValueRow(host: "h", key: "k", value: "1")]))
        )
        #expect(messages[1] == .proxyData(ProxyData(host: "p", history: [ZabbixValueRow(itemid: 7, value: "2")])))
    }

    @Test func proxyConfigurationKeepsOnlyHostsAndItemsColumns() throws {
        // `data` before `fields`, a huge table nobody reads, and rows beyond Zabbix's limits.
        let big = String(
            decoding: Self.payload(#"{"fields":["a","b"],"data":["#, #"[1,"x"]"#, count: 100_000, "]}"),
            as: UTF8.self
        )
        let text = #"""
            {"data":{"triggers":\#(big),"hosts":{"data":[[1,"h1"],[2,"\#(String(repeating: "h", count: 129))"]],"fields":["hostid","host"]},"items":{"fields":["itemid","hostid","key_","value_type","key_"],"data":[[10,1,"k1",3,"ignored"],[11,1,"\#(String(repeating: "k", count: 2049))",0,"x"],["bad"]]}},"config_revision":4,"full_sync":1}
            """#
        var conversation = ZabbixConversation(budget: 4096)
        _ = try conversation.decode(
            ByteBuffer(string: #"{"request":"proxy config","host":"p1","version":"7.0.9"}"#),
            from: .client
        )
        let message = try conversation.decode(ByteBuffer(string: text), from: .server)
        #expect(
            message
                == .proxyConfig(
                    ProxyConfig(
                        proxyHost: "p1",
                        isFullSync: true,
                        configRevision: 4,
                        hosts: [ProxyConfig.Host(hostid: 1, host: "h1")],
                        items: [ProxyConfig.Item(itemid: 10, hostid: 1, key: "k1", valueType: 3)]
                    )
                )
        )
        #expect(conversation.takeDroppedRows() == DroppedRows(hostTooLong: 1, keyTooLong: 1))
    }

    @Test func itemListsAndPassiveKeysAreHeldToTheKeyLimit() throws {
        let long = String(repeating: "k", count: 2049)
        let messages = try converse([
            (.client, #"{"request":"active checks","host":"h"}"#),
            (
                .server,
                #"{"response":"success","data":[{"key":"\#(long)","itemid":1},{"key":"ok","itemid":2,"key_orig":"\#(long)"},{"key":"fine","itemid":3}]}"#
            ),
            (.server, #"{"request":"passive checks","data":[{"key":"\#(long)"},{"key":"agent.ping"}]}"#),
        ])
        guard case .activeChecksResponse(let response) = messages[1],
            case .passiveCheckRequest(let request) = messages[2]
        else {
            Issue.record("\(messages)")
            return
        }
        #expect(response.items?.map(\.key) == ["fine"])
        #expect(request.keys == ["agent.ping"])
    }
}

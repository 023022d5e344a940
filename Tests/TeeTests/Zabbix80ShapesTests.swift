import Riemann
import Tee
import TestSupport
import Testing
import ZabbixProtocol

/// What changed on the wire up to Zabbix 8.0 (from its source and documentation; no 8.0 program
/// runs here — see `shared/docs/zabbix-7.2-to-8.0.md`): decoded without errors and mapped to
/// events that tell the truth.
struct Zabbix80ShapesTests {
    static let proxyConfig80 = #"""
        {"full_sync":1,"data":{"hosts":{"fields":["hostid","host","status","name","proxy_groupid"],"data":[[10501,"web80",0,"Web 80",null]]},"items":{"fields":["key_","value_type","itemid","hostid","type","time_shift","lookback_limit","granularity","query","delay"],"data":[["app.state",6,80001,10501,24,"","","","{}","1m"],["app.count",3,80002,10501,2,"","","","","0"],["app.ratio",0,80003,10501,2,"","","","","0"],["app.name",1,80004,10501,2,"","","","","0"],["app.log",2,80005,10501,2,"","","","","0"],["app.text",4,80006,10501,2,"","","","","0"],["app.future",9,80007,10501,25,"","","","","0"]]}},"config_revision":42,"proxy_group":{"proxy_groupid":1,"failover_delay":"1m","min_online":1}}
        """#

    static func proxyData(_ rows: String) -> [UInt8] {
        ZabbixFrames.compressed(
            #"{"request":"proxy data","host":"proxy80","session":"cccccccccccccccccccccccccccccccc","version":"8.0.0","history data":[\#(rows)],"clock":1800000000,"ns":1}"#
        )
    }

    static let accepted = ZabbixFrames.compressed(#"{"upload":"enabled","response":"success"}"#)

    /// A decoder whose catalog learned proxy80's 8.0 configuration (field order shuffled, new
    /// columns, a telemetry-query item type, value types 6 and 9).
    static func decoderWithCatalog() -> (CaptureDecoder, CaptureDecoder.Result) {
        let decoder = CaptureDecoder(listener: "proxies")
        let learned = decoder.decode(
            client: ZabbixFrames.compressed(
                #"{"request":"proxy config","host":"proxy80","version":"8.0.0","session":"dddddddddddddddddddddddddddddddd","config_revision":41}"#
            ),
            server: ZabbixFrames.compressed(Self.proxyConfig80)
        )
        return (decoder, learned)
    }

    @Test func newItemTypesAndColumnsInTheProxyConfigurationAreReadByFieldName() {
        let (decoder, learned) = Self.decoderWithCatalog()
        #expect(learned.statistics.failures.values.reduce(0, +) == 0)
        let space = ItemCatalog.proxyNamespace(listener: "proxies", proxy: "proxy80")
        let catalog = decoder.catalog.snapshot
        #expect(
            catalog.entry(namespace: space, itemid: 80001)
                == ItemCatalogEntry(host: "web80", key: "app.state", valueType: 6, delay: ZabbixUpdateInterval("1m"))
        )
        #expect(
            catalog.entry(namespace: space, itemid: 80007)?.valueType == 9,
            "a value type from after 8.0 is kept as is"
        )
    }

    @Test func theCatalogsValueTypeDecidesNumberOrTextForEveryItemidOnlyValue() throws {
        let (decoder, _) = Self.decoderWithCatalog()
        let rows = (1...7).map { #"{"id":\#($0),"itemid":\#(80000 + $0),"clock":1800000000,"ns":\#($0),"value":"42"}"# }
        let result = decoder.decode(client: Self.proxyData(rows.joined(separator: ",")), server: Self.accepted)
        #expect(result.values.count == 7)
        let mapper = EventMapper(configuration: MappingConfiguration())
        var metrics: [String: RiemannMetric?] = [:]
        for value in result.values {
            let event = try mapper.event(for: value).get()
            metrics[value.value.key ?? ""] = event.metric
            if event.metric == nil { #expect(event.description == "42") }
        }
        #expect(metrics["app.count"] == .sint64(42), "value type 3: unsigned")
        #expect(metrics["app.ratio"] == .sint64(42), "value type 0: float, written as an integer")
        for text in ["app.state", "app.name", "app.log", "app.text", "app.future"] {
            #expect(metrics[text] == .some(nil), "\(text): never a metric")
        }
    }

    @Test func aJSONValueTravelsAsAnEscapedStringAndStaysText() throws {
        let (decoder, _) = Self.decoderWithCatalog()
        let result = decoder.decode(
            client: Self.proxyData(
                #"{"id":1,"itemid":80001,"clock":1800000000,"ns":1,"value":"{\"state\":\"ok\",\"n\":1}"},{"id":2,"itemid":80001,"clock":1800000001,"ns":1,"value":"17"}"#
            ),
            server: Self.accepted
        )
        let events = try result.values.map {
            try EventMapper(configuration: MappingConfiguration()).event(for: $0).get()
        }
        #expect(events.map(\.description) == [#"{"state":"ok","n":1}"#, "17"])
        #expect(events.allSatisfy { $0.metric == nil })
    }

    @Test func gapsInProxyRowIdsAreNotLoss() {
        // 7.4+ proxies skip rows of items they no longer know; the ids keep counting.
        let (decoder, _) = Self.decoderWithCatalog()
        let first = decoder.decode(
            client: Self.proxyData(
                #"{"id":3,"itemid":80002,"clock":1,"ns":1,"value":"1"},{"id":9,"itemid":80002,"clock":2,"ns":1,"value":"2"}"#
            ),
            server: Self.accepted,
            connection: 2
        )
        let second = decoder.decode(
            client: Self.proxyData(
                #"{"id":10,"itemid":80002,"clock":3,"ns":1,"value":"3"},{"id":15,"itemid":80002,"clock":4,"ns":1,"value":"4"}"#
            ),
            server: Self.accepted,
            connection: 3
        )
        #expect(first.values.count + second.values.count == 4)
        #expect(first.statistics.duplicateCount + second.statistics.duplicateCount == 0)
    }

    @Test func passiveValuesMayBeJSONNumbersOrNull() {
        let request = ZabbixFrames.plain(
            #"{"request":"passive checks","data":[{"key":"agent.ping","timeout":3},{"key":"app.none","timeout":3},{"key":"app.f","timeout":3}]}"#
        )
        let reply = ZabbixFrames.plain(
            #"{"version":"8.0.0rc1","variant":2,"data":[{"value":1},{"value":null},{"value":2.5}]}"#
        )
        let result = CaptureDecoder(peerHost: "10.0.0.8").decode(client: request, server: reply)
        #expect(result.values.map(\.value.key) == ["agent.ping", "app.f"])
        #expect(result.values.map(\.value.value) == ["1", "2.5"])
        #expect(result.values.allSatisfy { $0.zabbixVersion == "8.0.0rc1" })
    }

    @Test func unknownRequestsAreRelayedAndCountedNeverAnError() {
        let request = ZabbixFrames.plain(#"{"request":"device.offboard","sid":"0123","deviceid":"x"}"#)
        let result = CaptureDecoder().decode(client: request, server: ZabbixFrames.plain(#"{"response":"success"}"#))
        #expect(result.statistics.failures.values.reduce(0, +) == 0)
        #expect(result.statistics.framesDecoded[.init(message: "unknown", flags: 1)] == 1)
        #expect(result.statistics.framesDecoded[.init(message: "response", flags: 1)] == 1)
        let known = CaptureDecoder().decode(
            client: ZabbixFrames.plain(#"{"request":"queue.get","sid":"x"}"#),
            server: []
        )
        #expect(known.statistics.framesDecoded[.init(message: "other", flags: 1)] == 1)
    }

    @Test func agentdAndAgent2VersionsOf80AreAcceptedAsSent() {
        let agentd = ZabbixFrames.plain(
            #"{"request":"agent data","session":"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee","version":"8.0.0rc1","variant":1,"host":"web80","data":[{"itemid":1,"value":"5","id":1,"clock":1,"ns":1}],"clock":2,"ns":2}"#
        )
        let agent2 = ZabbixFrames.compressed(
            #"{"request":"agent data","data":[{"id":1,"itemid":2,"value":"6","clock":1,"ns":1}],"session":"ffffffffffffffffffffffffffffffff","host":"web80","version":"8.0.3"}"#
        )
        let reply = ZabbixFrames.plain(
            #"{"response":"success","info":"processed: 1; failed: 0; total: 1; seconds spent: 0.000042"}"#
        )
        let decoder = CaptureDecoder()
        let one = decoder.decode(client: agentd, server: reply)
        let two = decoder.decode(client: agent2, server: reply)
        #expect(one.values.first?.zabbixVersion == "8.0.0rc1")
        #expect(two.values.first?.zabbixVersion == "8.0.3")
    }
}

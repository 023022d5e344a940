import Relay
import TestSupport
import Testing
import ZabbixProtocol

@testable import Tee

/// Zabbix 7.0 proxy groups answer a client with a `redirect` to the proxy its host is assigned
/// to. The tee relays the reply unchanged, emits none of the redirected request's values, and
/// counts the redirect per listener and address (a bounded label set).
struct RedirectTests {
    static func redirect(_ address: String, revision: Int = 7) -> [UInt8] {
        ZabbixFrames.plain(#"{"response":"failed","redirect":{"revision":\#(revision),"address":"\#(address)"}}"#)
    }

    @Test func aRedirectedBatchIsNotEmittedAndTheRedirectIsCountedByListenerAndAddress() {
        let request = ZabbixFrames.plain(#"{"request":"sender data","data":[{"host":"h","key":"k","value":"1"}]}"#)
        let result = CaptureDecoder(listener: "agents").decode(client: request, server: Self.redirect("10.0.0.2:10051"))
        #expect(result.values.isEmpty)
        #expect(result.statistics.rejectedValues[.redirect] == 1)
        #expect(result.statistics.redirects == [.init(listener: "agents", address: "10.0.0.2:10051"): 1])
    }

    @Test func aHeartbeatAnsweredWithARedirectIsCounted() {
        let heartbeat = ZabbixFrames.compressed(
            #"{"request":"active check heartbeat","host":"web01","heartbeat_freq":60,"version":"8.0.0","variant":2}"#
        )
        let result = CaptureDecoder(listener: "agents").decode(
            client: heartbeat,
            server: Self.redirect("proxy-b:10051")
        )
        #expect(result.statistics.redirects[.init(listener: "agents", address: "proxy-b:10051")] == 1)
        #expect(result.statistics.failures.values.reduce(0, +) == 0)
        guard case .activeCheckHeartbeat(let parsed)? = result.messages.first?.message else {
            Issue.record("\(result.messages)")
            return
        }
        #expect(parsed.version == "8.0.0" && parsed.variant == 2)
    }

    @Test func anActiveChecksRequestAnsweredWithARedirectTeachesNothing() {
        let decoder = CaptureDecoder(listener: "agents")
        let result = decoder.decode(
            client: ZabbixFrames.plain(#"{"request":"active checks","host":"web01","version":"7.0.9","variant":1}"#),
            server: ZabbixFrames.plain(
                #"{"response":"failed","redirect":{"revision":2,"address":"[2001:db8::2]:10051"}}"#
            )
        )
        #expect(decoder.catalog.entryCount == 0)
        #expect(result.statistics.redirects[.init(listener: "agents", address: "[2001:db8::2]:10051")] == 1)
    }

    @Test func aResetIsCountedUnderReset() {
        let request = ZabbixFrames.plain(#"{"request":"sender data","data":[{"host":"h","key":"k","value":"1"}]}"#)
        let result = CaptureDecoder(listener: "agents").decode(
            client: request,
            server: ZabbixFrames.plain(#"{"response":"failed","redirect":{"reset":true}}"#)
        )
        #expect(result.statistics.redirects == [.init(listener: "agents", address: "reset"): 1])
    }

    @Test func redirectAddressesFromTheWireKeepABoundedLabelSet() {
        let statistics = DecodeStatistics()
        for index in 0..<500 {
            statistics.redirected(listener: "agents", address: "10.0.\(index / 256).\(index % 256):10051")
        }
        let counted = statistics.redirects
        #expect(counted.count == DecodeStatistics.maximumRedirectAddresses + 1)
        #expect(counted[.init(listener: "agents", address: "other")] == 500 - DecodeStatistics.maximumRedirectAddresses)
    }

    static let listeners: [(name: String, listen: [Endpoint])] = [
        ("agents-a", [Endpoint(host: "10.0.0.1", port: 10051)]),
        ("agents-b", [Endpoint(host: "10.0.0.2", port: 10051), Endpoint(host: "2001:db8::2", port: 10051)]),
        ("wide", [Endpoint(host: "0.0.0.0", port: 20051)]),
    ]

    @Test func aListenerOnTheRedirectAddressCoversIt() {
        #expect(RedirectCoverage.of("10.0.0.2:10051", listeners: Self.listeners) == .listener("agents-b"))
        #expect(RedirectCoverage.of("[2001:db8::2]:10051", listeners: Self.listeners) == .listener("agents-b"))
        #expect(RedirectCoverage.of("10.0.0.1", listeners: Self.listeners) == .listener("agents-a"), "no port: 10051")
    }

    @Test func aWildcardListenerOnThePortMayCoverIt() {
        #expect(RedirectCoverage.of("192.0.2.9:20051", listeners: Self.listeners) == .wildcard("wide"))
    }

    @Test func anAddressNoListenerServesIsNotCovered() {
        #expect(RedirectCoverage.of("10.0.0.3:10051", listeners: Self.listeners) == .none)
        #expect(RedirectCoverage.of("10.0.0.2:10052", listeners: Self.listeners) == .none)
        #expect(RedirectCoverage.of("not an address", listeners: Self.listeners) == .none)
    }
}

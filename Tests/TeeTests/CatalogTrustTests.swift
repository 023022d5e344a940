import Foundation
import Tee
import TestSupport
import Testing
import ZabbixProtocol

/// The item catalog learns only what a real server or proxy said: replies only from the target
/// side, configuration a client pushes only on a listener in front of a passive proxy, only once
/// the proxy accepted it, and never more than a proxy's quota.
struct CatalogTrustTests {
    /// `{"request":"proxy config","data":{…}}` with `items` items on one host (the ≤ 6.2 push shape).
    static func configPush(items: Int, firstItemid: Int = 1_000_000) -> [UInt8] {
        var rows: [String] = []
        rows.reserveCapacity(items)
        for index in 0..<items {
            rows.append("[\(firstItemid + index),2,\"\",10100,\"forged.key[\(index)]\",\"0\",\"90d\",0,3]")
        }
        let json =
            #"{"request":"proxy config","data":{"hosts":{"fields":["hostid","host","status"],"data":[[10100,"forged-host",0]]},"#
            + #""items":{"fields":["itemid","type","snmp_oid","hostid","key_","delay","history","status","value_type"],"data":["#
            + rows.joined(separator: ",") + "]}}}"
        return ZabbixFrames.plain(json)
    }

    static let success = ZabbixFrames.plain(#"{"response":"success","version":"6.0.14"}"#)

    static func decoder(
        passiveProxy: Bool = false,
        _ configure: (inout DecodeConfiguration) -> Void = { _ in }
    ) -> CaptureDecoder {
        var configuration = DecodeConfiguration()
        configure(&configuration)
        return CaptureDecoder(listener: "agents", passiveProxy: passiveProxy, configuration: configuration)
    }

    /// The reproduction of issue 14: an ordinary client pushes 200 000 items on an ordinary
    /// listener. Before the fix every one was learned and saved to disk.
    @Test func aConfigurationPushedByAClientOnAnOrdinaryListenerIsRelayedCountedAndIgnored() throws {
        let decoder = Self.decoder()
        let result = decoder.decode(client: Self.configPush(items: 200_000), server: Self.success)
        #expect(decoder.catalog.entryCount == 0)
        #expect(result.statistics.catalogUpdatesIgnored[.untrustedListener] == 1)
        // Nothing changed, so nothing is saved: the file stays as it was (absent).
        let path = NSTemporaryDirectory() + "catalog-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try decoder.catalog.save(path: path) == false)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func aPushOnAPassiveProxyListenerIsLearnedOnceTheProxyAccepts() {
        let decoder = Self.decoder(passiveProxy: true)
        _ = decoder.decode(client: Self.configPush(items: 3), server: Self.success)
        #expect(decoder.catalog.entryCount == 4, "three items and their host")
        let entry = decoder.catalog.snapshot.entry(
            namespace: ItemCatalog.proxyNamespace(listener: "agents", proxy: ""),
            itemid: 1_000_001
        )
        #expect(entry?.key == "forged.key[1]" && entry?.host == "forged-host")
    }

    @Test func aPushThePassiveProxyRefusesOrLeavesUnansweredIsNotLearned() {
        let refused = Self.decoder(passiveProxy: true)
        let failed = refused.decode(
            client: Self.configPush(items: 3),
            server: ZabbixFrames.plain(#"{"response":"failed","info":"x"}"#)
        )
        #expect(refused.catalog.entryCount == 0)
        #expect(failed.statistics.catalogUpdatesIgnored[.notAccepted] == 1)
        let unanswered = Self.decoder(passiveProxy: true)
        _ = unanswered.decode(client: Self.configPush(items: 3), server: [])
        #expect(unanswered.catalog.entryCount == 0)
    }

    @Test func the64PushOfFourFramesIsLearnedAfterTheProxysFinalSuccess() {
        let decoder = Self.decoder(passiveProxy: true)
        let payload =
            #"{"full_sync":1,"data":{"hosts":{"fields":["hostid","host"],"data":[[7,"h7"]]},"items":{"fields":["itemid","hostid","key_","value_type"],"data":[[70,7,"k70",3]]}},"config_revision":5}"#
        let client = ZabbixFrames.compressed(#"{"request":"proxy config"}"#) + ZabbixFrames.compressed(payload)
        let server =
            ZabbixFrames.compressed(#"{"version":"6.4.0","session":"s","config_revision":4}"#)
            + ZabbixFrames.compressed(#"{"response":"success","version":"6.4.0"}"#)
        _ = decoder.decode(client: client, server: server)
        #expect(decoder.catalog.entryCount == 2)
    }

    @Test func aProxysQuotaBoundsWhatOnePushCanTeach() {
        let decoder = Self.decoder(passiveProxy: true) { $0.catalogMaximumEntriesPerProxy = 100 }
        _ = decoder.decode(client: Self.configPush(items: 1000), server: Self.success)
        #expect(decoder.catalog.entryCount == 100)
        #expect(decoder.catalog.quotaRefusedCount == 901)
    }

    @Test func anActiveProxysConfigurationReplyIsLearnedFromTheServerSideOnly() {
        let reply =
            #"{"hosts":{"fields":["hostid","host"],"data":[[7,"h7"]]},"items":{"fields":["itemid","hostid","key_","value_type"],"data":[[70,7,"k70",3]]}}"#
        let fromServer = Self.decoder()
        _ = fromServer.decode(
            client: ZabbixFrames.compressed(#"{"request":"proxy config","host":"p1","version":"6.0.14"}"#),
            server: ZabbixFrames.compressed(reply)
        )
        #expect(fromServer.catalog.entryCount == 2)
    }
}

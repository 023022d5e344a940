import Riemann
import Tee
import TestSupport
import Testing
import ZabbixProtocol

/// An event means "Zabbix stored this value": a request's values are held until the reply on
/// the same connection and emitted only as far as the reply accepts them. Pure: recorded bytes
/// through `CaptureDecoder`, which runs the side pipeline's own decode step.
struct EmitOnAcceptanceTests {
    static func sender(_ rows: [(host: String, key: String, value: String)]) -> [UInt8] {
        let data = rows.map { #"{"host":"\#($0.host)","key":"\#($0.key)","value":"\#($0.value)"}"# }.joined(
            separator: ","
        )
        return ZabbixFrames.plain(#"{"request":"sender data","data":[\#(data)]}"#)
    }

    static func reply(processed: Int, failed: Int) -> [UInt8] {
        ZabbixFrames.plain(
            #"{"response":"success","info":"processed: \#(processed); failed: \#(failed); total: \#(processed + failed); seconds spent: 0.000050"}"#
        )
    }

    static func agentData(session: String = "0123456789abcdef0123456789abcdef", ids: ClosedRange<Int>) -> [UInt8] {
        let rows = ids.map {
            #"{"host":"web01","key":"k\#($0)","value":"\#($0)","id":\#($0),"clock":1795236167,"ns":\#($0)}"#
        }
        return ZabbixFrames.plain(
            #"{"request":"agent data","session":"\#(session)","data":[\#(rows.joined(separator: ","))]}"#
        )
    }

    let three = Self.sender([("web01", "a", "1"), ("web01", "b", "2"), ("web01", "c", "3")])

    @Test func aBatchWhoseReplySaysFailedZeroIsEmittedWhole() {
        let result = CaptureDecoder().decode(client: self.three, server: Self.reply(processed: 3, failed: 0))
        #expect(result.values.map(\.value.key) == ["a", "b", "c"])
        #expect(result.values.allSatisfy { $0.batchFailed == nil })
        #expect(result.statistics.rejectedValues.values.reduce(0, +) == 0)
        #expect(result.statistics.heldValueCount == 0 && result.statistics.heldByteCount == 0)
    }

    @Test func aBareSuccessWithoutCountsAcceptsEveryRow() {
        // Active proxies' `proxy data` is answered `{"upload":"enabled","response":"success"}`.
        let result = CaptureDecoder().decode(
            client: self.three,
            server: ZabbixFrames.plain(#"{"upload":"enabled","response":"success"}"#)
        )
        #expect(result.values.count == 3)
    }

    @Test func aRejectedSingleValueIsNotEmittedAndCounted() {
        // zabbix_sender -s nobody: the server answers processed: 0; failed: 1.
        let result = CaptureDecoder().decode(
            client: Self.sender([("nobody", "trap", "42")]),
            server: Self.reply(processed: 0, failed: 1)
        )
        #expect(result.values.isEmpty)
        #expect(result.statistics.rejectedValues[.noneProcessed] == 1)
        #expect(result.statistics.summary[.init(request: "sender data", version: "-")]?.rejected == 1)
    }

    @Test func aRejectedBatchIsNotEmittedAndCounted() {
        let result = CaptureDecoder().decode(client: self.three, server: Self.reply(processed: 0, failed: 3))
        #expect(result.values.isEmpty)
        #expect(result.statistics.rejectedValues[.noneProcessed] == 3)
    }

    @Test func aFailedResponseIsNotEmitted() {
        let result = CaptureDecoder().decode(
            client: self.three,
            server: ZabbixFrames.plain(#"{"response":"failed","info":"host [x] not found"}"#)
        )
        #expect(result.values.isEmpty)
        #expect(result.statistics.rejectedValues[.failedResponse] == 3)
    }

    @Test func anUnansweredRequestIsNotEmitted() {
        // The connection ends (closed, reset, timed out) before any reply.
        let result = CaptureDecoder().decode(client: self.three, server: [])
        #expect(result.values.isEmpty)
        #expect(result.statistics.rejectedValues[.noReply] == 3)
        #expect(result.statistics.summary[.init(request: "sender data", version: "-")]?.unanswered == 3)
    }

    @Test func aReplyThatCannotBeReadLeavesTheValuesUnemitted() {
        let corrupt = ZabbixFrames.frame(flags: 3, payload: [0x78, 0x9c, 1, 2, 3], reserved: 90)
        let result = CaptureDecoder().decode(client: self.three, server: corrupt)
        #expect(result.values.isEmpty)
        #expect(result.statistics.rejectedValues[.replyUndecoded] == 3)
    }

    @Test(arguments: [MappingConfiguration.PartialBatch.emit, .drop])
    func aMixedReplyFollowsMappingPartial(_ partial: MappingConfiguration.PartialBatch) throws {
        let result = CaptureDecoder().decode(client: self.three, server: Self.reply(processed: 2, failed: 1))
        #expect(result.values.count == 3, "the decoder keeps them; the mapping decides")
        #expect(result.values.allSatisfy { $0.batchFailed == 1 })
        #expect(result.statistics.summary[.init(request: "sender data", version: "-")]?.partial == 3)
        var mapping = MappingConfiguration()
        mapping.partial = partial
        let sink = RiemannSink(mapper: EventMapper(configuration: mapping), client: nil)
        sink.consume(result.values)
        switch partial {
        case .emit:
            #expect(sink.eventsMapped == 3)
            let event = try EventMapper(configuration: mapping).event(for: result.values[0]).get()
            #expect(event.attributes.contains { $0.key == "zabbix_batch_failed" && $0.value == "1" })
        case .drop:
            #expect(sink.eventsMapped == 0)
            #expect(sink.valuesPartialDropped == 3)
        }
    }

    @Test func historyPushEmitsExactlyTheRowsTheServerAccepted() {
        let sid = "0123456789abcdef0123456789abcdef"
        let request = ZabbixFrames.plain(
            #"""
            {"request":"history.push","sid":"\#(sid)","clientip":"192.0.2.7","data":[{"itemid":10101,"value":"1","clock":1795236167,"ns":1},{"host":"web01","key":"trap.a","value":"2"},{"host":"web01","key":"trap.b","value":"hello"}]}
            """#
        )
        let reply = ZabbixFrames.plain(
            #"{"response":"success","data":[{"itemid":10101},{"itemid":10102,"error":"Item is disabled."},{"itemid":10103}]}"#
        )
        let result = CaptureDecoder().decode(client: request, server: reply)
        let values = result.values.sorted { $0.value.value < $1.value.value }
        #expect(values.map(\.value.value) == ["1", "hello"])
        #expect(values.map(\.value.requestType) == [.historyPush, .historyPush])
        #expect(values[0].value.key == "itemid:10101", "itemid-only: no catalog names server itemids")
        #expect(values[1].value.host == "web01" && values[1].value.key == "trap.b")
        #expect(result.statistics.rejectedValues[.rowError] == 1)
        // The session id is a credential: it is in no decoded message or value.
        #expect(!"\(result.messages)".contains(sid))
        #expect(!"\(result.values)".contains(sid))
    }

    @Test func historyPushRowsTheDecoderDoesNotKeepStillHaveTheirPlaceInTheReply() {
        // The streaming reader keeps no row with nothing usable (and no row whose host is longer
        // than Zabbix allows), but the reply answers every request row by position.
        let longHost = String(repeating: "h", count: 129)
        let request = ZabbixFrames.plain(
            #"""
            {"request":"history.push","sid":"s","data":[{"clock":1},{"host":"web01","key":"trap.a","value":"a"},{"host":"\#(longHost)","key":"k","value":"x"},"junk",{"host":"web01","key":"trap.b","value":"b"},{"host":"web01","key":"trap.c","value":"c"}]}
            """#
        )
        let reply = ZabbixFrames.plain(
            #"""
            {"response":"success","data":[{"error":"No value."},{"itemid":1},{"error":"Unknown host."},{"error":"Invalid."},{"error":"Item is disabled."},{"itemid":3}]}
            """#
        )
        let result = CaptureDecoder().decode(client: request, server: reply)
        #expect(result.values.map(\.value.value) == ["a", "c"])
        #expect(result.statistics.rejectedValues[.rowError] == 1, "trap.b")
    }

    @Test func historyPushRefusedWholeIsNotEmitted() {
        let request = ZabbixFrames.plain(
            #"{"request":"history.push","sid":"s","clientip":"192.0.2.7","data":[{"host":"h","key":"k","value":"1"}]}"#
        )
        let result = CaptureDecoder().decode(
            client: request,
            server: ZabbixFrames.plain(#"{"response":"failed","info":"Permission denied."}"#)
        )
        #expect(result.values.isEmpty)
        #expect(result.statistics.rejectedValues[.failedResponse] == 1)
    }

    @Test func aRetryAfterAReplyTheTeeSawButTheClientLostIsEmittedOnce() {
        // The tee relays the server's acceptance; the agent misses it and sends the batch again.
        let decoder = CaptureDecoder()
        let first = decoder.decode(
            client: Self.agentData(ids: 1...3),
            server: Self.reply(processed: 3, failed: 0),
            connection: 1
        )
        // The server drops the rows it has (processed: 0); the tee drops them before the reply.
        let retry = decoder.decode(
            client: Self.agentData(ids: 1...3),
            server: Self.reply(processed: 0, failed: 3),
            connection: 2
        )
        #expect(first.values.count == 3)
        #expect(retry.values.isEmpty)
        #expect(retry.statistics.duplicateCount == 3)
        #expect(retry.statistics.rejectedValues.values.reduce(0, +) == 0, "dropped as duplicates, never held")
    }

    @Test func aRetryWithNewRowsCountsTheServersDuplicatesOutOfItsFailures() {
        // The agent's retry carries the rows the server has (ids 1-3) and new ones (4-5): the
        // server answers processed: 2; failed: 3, the three being the duplicates the tee dropped.
        let decoder = CaptureDecoder()
        _ = decoder.decode(
            client: Self.agentData(ids: 1...3),
            server: Self.reply(processed: 3, failed: 0),
            connection: 1
        )
        let retry = decoder.decode(
            client: Self.agentData(ids: 1...5),
            server: Self.reply(processed: 2, failed: 3),
            connection: 2
        )
        #expect(retry.values.map(\.value.id) == [4, 5])
        #expect(retry.values.allSatisfy { $0.batchFailed == nil }, "every row the tee held was accepted")
        let mixed = decoder.decode(
            client: Self.agentData(ids: 4...8),
            server: Self.reply(processed: 2, failed: 3),
            connection: 3
        )
        #expect(mixed.values.map(\.value.id) == [6, 7, 8])
        #expect(
            mixed.values.allSatisfy { $0.batchFailed == 1 },
            "three failed, two of them duplicates: one of the held rows failed"
        )
    }

    @Test func aRetryAfterAReplyTheTeeNeverSawIsEmittedOnce() {
        // The first attempt ends without a reply (server restart, reset): nothing is emitted and
        // nothing remembered, so the retry the server accepts is emitted.
        let decoder = CaptureDecoder()
        let lost = decoder.decode(client: Self.agentData(ids: 1...3), server: [], connection: 1)
        let retry = decoder.decode(
            client: Self.agentData(ids: 1...3),
            server: Self.reply(processed: 3, failed: 0),
            connection: 2
        )
        #expect(lost.values.isEmpty)
        #expect(retry.values.map(\.value.id) == [1, 2, 3])
        #expect(retry.statistics.duplicateCount == 0)
        // A third copy is a duplicate now.
        let again = decoder.decode(
            client: Self.agentData(ids: 1...3),
            server: Self.reply(processed: 0, failed: 3),
            connection: 3
        )
        #expect(again.values.isEmpty && again.statistics.duplicateCount == 3)
    }

    @Test func rejectedRowsAreNotRememberedAsSeen() {
        // A batch refused (redirect) and then sent again where it is accepted must be emitted.
        let decoder = CaptureDecoder()
        let redirect = ZabbixFrames.plain(
            #"{"response":"failed","redirect":{"revision":3,"address":"10.0.0.2:10051"}}"#
        )
        let refused = decoder.decode(client: Self.agentData(ids: 1...2), server: redirect, connection: 1)
        let accepted = decoder.decode(
            client: Self.agentData(ids: 1...2),
            server: Self.reply(processed: 2, failed: 0),
            connection: 2
        )
        #expect(refused.values.isEmpty)
        #expect(refused.statistics.rejectedValues[.redirect] == 2)
        #expect(accepted.values.count == 2)
    }

    @Test func passiveChecksAreEmittedFromTheReplyAsBefore() {
        let result = CaptureDecoder(peerHost: "10.0.0.7").decode(
            client: ZabbixFrames.plain("agent.version"),
            server: ZabbixFrames.plain("6.0.14")
        )
        #expect(result.values.map(\.value.value) == ["6.0.14"])
        #expect(result.values.first?.value.host == "10.0.0.7", "the agent's address, applied by the decoder")
    }

    @Test func passiveProxyDataIsAcceptedByTheServersResponseFromTheConnectingSide() {
        // Server → passive proxy: poll, the proxy's data, the server's verdict.
        let client =
            ZabbixFrames.plain(#"{"request":"proxy data"}"#)
            + ZabbixFrames.plain(#"{"upload":"enabled","response":"success"}"#)
        let server = ZabbixFrames.compressed(
            #"{"session":"s1","version":"6.0.14","history data":[{"id":1,"itemid":5,"clock":1,"ns":0,"value":"9"}],"clock":2,"ns":3}"#
        )
        let result = CaptureDecoder().decode(client: client, server: server)
        #expect(result.values.map(\.value.value) == ["9"])
        let refused = CaptureDecoder().decode(
            client: ZabbixFrames.plain(#"{"request":"proxy data"}"#) + ZabbixFrames.plain(#"{"response":"failed"}"#),
            server: server
        )
        #expect(refused.values.isEmpty)
    }

    @Test func theSummaryCountsPerRequestTypeAndVersion() {
        let agent7 = ZabbixFrames.plain(
            #"{"request":"agent data","session":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","version":"8.0.0rc1","variant":1,"host":"web01","data":[{"itemid":1,"value":"1","id":1,"clock":1,"ns":1},{"itemid":2,"value":"2","id":2,"clock":1,"ns":2}]}"#
        )
        let result = CaptureDecoder().decode(client: agent7, server: Self.reply(processed: 2, failed: 0))
        let row = result.statistics.summary[.init(request: "agent data", version: "8.0.0rc1")]
        #expect(row?.decoded == 2 && row?.accepted == 2 && row?.unresolved == 2 && row?.resolved == 0)
    }
}

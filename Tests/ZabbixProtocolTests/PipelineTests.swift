import NIOCore
import TestSupport
import Testing
import ZabbixProtocol

/// Frames → inflate → conversation → item values, the way the tee wires the module.
@Suite struct PipelineTests {
    struct Connection {
        var client = ZabbixFrameDecoder(maximumFrameSize: 1 << 20)
        var server = ZabbixFrameDecoder(maximumFrameSize: 1 << 20)
        var conversation = ZabbixConversation()
        let inflater = ZabbixInflater(maximumSize: 1 << 20)
        var messages: [ZabbixMessage] = []
        var problems: [String] = []

        mutating func feed(_ bytes: [UInt8], from peer: ZabbixPeer) {
            var events: [ZabbixFrameEvent] = []
            if peer == .client {
                self.client.feed(ByteBuffer(bytes: bytes)) { events.append($0) }
            } else {
                self.server.feed(ByteBuffer(bytes: bytes)) { events.append($0) }
            }
            for event in events {
                switch event {
                case .frame(let frame):
                    do {
                        let payload = try self.inflater.decodedPayload(of: frame)
                        self.messages.append(try self.conversation.decode(payload, from: peer))
                    } catch {
                        self.problems.append("\(error)")
                        self.conversation.forgetFrame(from: peer)
                    }
                case .skipped:
                    self.problems.append("skipped")
                    self.conversation.forgetFrame(from: peer)
                case .tls, .notZabbix:
                    self.problems.append("\(event)")
                }
            }
        }
    }

    static let agent2Request = compressedFrame(
        #"{"request":"active checks","host":"tee-test-agent2","version":"6.0","ip":"127.0.0.1","port":31060}"#
    )
    static let agent2Reply = compressedFrame(
        #"{"response":"success","data":[{"key":"system.uname","itemid":1004,"delay":"5s","lastlogsize":0,"mtime":0}]}"#
    )
    static let agent2Data = compressedFrame(
        #"{"request":"agent data","data":[{"id":5,"itemid":1004,"value":"Linux vm 6.18.44 ... x86_64","clock":1795236199,"ns":265616}],"session":"20b262b0755945e992c381d62aaa1169","host":"tee-test-agent2","version":"6.0"}"#
    )
    static let success = compressedFrame(
        #"{"response":"success","info":"processed: 1; failed: 0; total: 1; seconds spent: 0.000042"}"#
    )

    @Test func agent2ItemidsResolveThroughTheCatalogWhateverTheSplit() {
        let exchanges: [[(ZabbixPeer, [UInt8])]] = [
            [(.client, Self.agent2Request), (.server, Self.agent2Reply)],
            [(.client, Self.agent2Data), (.server, Self.success)],
        ]
        for cut in [1, 2, 5, 13, 14, 40] {
            var catalog = ItemCatalog()
            var values: [ItemValue] = []
            for exchange in exchanges {
                var connection = Connection()
                for (peer, bytes) in exchange {
                    var index = 0
                    while index < bytes.count {
                        let end = min(bytes.count, index + cut)
                        connection.feed(Array(bytes[index..<end]), from: peer)
                        index = end
                    }
                }
                #expect(connection.problems == [])
                for message in connection.messages {
                    if case .activeChecksResponse(let response) = message { catalog.learn(response, listener: "l") }
                    values += message.itemValues.map { catalog.resolved($0, listener: "l") }
                }
            }
            #expect(
                values == [
                    ItemValue(
                        requestType: .agentData,
                        host: "tee-test-agent2",
                        key: "system.uname",
                        itemid: 1004,
                        value: "Linux vm 6.18.44 ... x86_64",
                        clock: 1_795_236_199,
                        ns: 265_616,
                        id: 5,
                        session: "20b262b0755945e992c381d62aaa1169"
                    )
                ]
            )
        }
    }

    @Test func capturedAgentdPassiveExchange() {
        var connection = Connection()
        connection.feed(hex("5a425844 01 0a000000 00000000") + Array("agent.ping".utf8), from: .client)
        connection.feed(hex("5a425844 01 01000000 00000000 31"), from: .server)
        #expect(
            connection.messages.flatMap(\.itemValues) == [
                ItemValue(requestType: .passiveCheck, key: "agent.ping", value: "1")
            ]
        )
    }

    @Test func capturedAgent2NotSupportedPassiveReply() {
        var connection = Connection()
        connection.feed(plainFrame("no.such.key"), from: .client)
        let payload = Array("ZBX_NOTSUPPORTED".utf8) + [0] + Array("Unknown metric no.such.key".utf8)
        connection.feed(plainFrame(payload, reserved: UInt64(payload.count)), from: .server)
        #expect(
            connection.messages.flatMap(\.itemValues) == [
                ItemValue(
                    requestType: .passiveCheck,
                    key: "no.such.key",
                    value: "Unknown metric no.such.key",
                    state: .notSupported
                )
            ]
        )
    }

    @Test func corruptZlibAndLyingReservedAreReportedAndDoNotPairStaleReplies() {
        var connection = Connection()
        var corrupt = compressedFrame(#"{"request":"active checks","host":"h"}"#)
        corrupt[corrupt.count - 6] ^= 0xFF
        connection.feed(corrupt, from: .client)
        connection.feed(Self.agent2Reply, from: .server)
        #expect(connection.problems.count == 1)
        #expect(
            connection.messages == [.response(ServerResponse(response: "success"))],
            "not paired as an active checks reply"
        )

        var lying = Connection()
        var frame = compressedFrame(#"{"request":"sender data","data":[]}"#)
        frame[9] &+= 1  // reserved one larger than the truth
        lying.feed(frame, from: .client)
        #expect(lying.problems.count == 1)
        #expect(lying.messages == [])
    }

    @Test func invalidJSONInsideAValidFrameIsATypedError() {
        var connection = Connection()
        connection.feed(plainFrame(#"{"request":"sender data","data":[{"host":"h""#), from: .client)
        #expect(connection.problems.count == 1)
        #expect(connection.problems.first?.contains("invalidJSON") == true)
    }
}

@Suite struct PipelineRobustnessTests {
    @Test func randomisedFramesThroughTheWholePipelineNeverCrash() {
        var rng = SeededGenerator(seed: 20_261_121)
        let fragments = [
            #"{"request":"agent data","host":"h","session":"s","data":["#, #"{"request":"proxy data","history data":["#,
            #"{"request":"active checks","host":"h"}"#, #"{"response":"success","data":["#,
            #"{"itemid":1,"value":"v","id":2}"#,
            #"{"key":"k","itemid":"3","delay":"1m"}"#, "]", "}", ",", #""\ud800""#, "\u{FF}", "ZBX_NOTSUPPORTED\u{0}x",
            "1e999",
            "18446744073709551616", "[[[[[[[[", #"{"fields":["itemid","hostid","key_"],"data":[[1,2,"k"]]}"#,
        ]
        var total = 0
        while total < 2 << 20 {
            var connection = PipelineTests.Connection()
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let text = (0..<Int.random(in: 0...40, using: &rng)).map { _ in fragments.randomElement(using: &rng)! }
                    .joined()
                var frame = Bool.random(using: &rng) ? compressedFrame(text) : plainFrame(text)
                if Int.random(in: 0..<8, using: &rng) == 0, !frame.isEmpty {
                    frame[Int.random(in: 0..<frame.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
                }
                total += frame.count
                connection.feed(frame, from: Bool.random(using: &rng) ? .client : .server)
            }
            for message in connection.messages { _ = message.itemValues }
        }
    }
}

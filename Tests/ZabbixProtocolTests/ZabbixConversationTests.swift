import NIOCore
import TestSupport
import Testing
import ZabbixProtocol

/// Decodes `frames` (peer, payload text) through one conversation.
func converse(_ frames: [(ZabbixPeer, String)]) throws -> [ZabbixMessage] {
    var conversation = ZabbixConversation()
    return try frames.map { peer, text in try conversation.decode(ByteBuffer(string: text), from: peer) }
}

@Suite struct ZabbixConversationTests {
    // Captured 6.0.14 payloads (docs/zabbix-protocol.md 2.x).
    static let agentdAgentData = #"""
        {"request":"agent data","session":"da5682c258db95735870aea3f3a13664","data":[{"host":"tee-test-agentd","key":"agent.ping","value":"1","id":1,"clock":1795236167,"ns":573317970},{"host":"tee-test-agentd","key":"system.cpu.load[all,avg1]","value":"0.322266","id":2,"clock":1795236167,"ns":573333733},{"host":"tee-test-agentd","key":"vfs.file.contents[/nonexistent/file]","value":"Cannot open file: [2] No such file or directory","state":1,"id":3,"clock":1795236167,"ns":573364019}],"clock":1795236168,"ns":573601716}
        """#
    static let agent2AgentData = #"""
        {"request":"agent data","data":[{"id":4,"itemid":1003,"state":1,"value":"Cannot obtain file ... no such file or directory","clock":1795236198,"ns":1241513},{"id":5,"itemid":1004,"value":"Linux vm 6.18.44 ... x86_64","clock":1795236199,"ns":265616}],"session":"20b262b0755945e992c381d62aaa1169","host":"tee-test-agent2","version":"6.0"}
        """#
    static let senderData = #"""
        {"request":"sender data","data":[{"host":"tee-test-sender","key":"trap.key","value":"3.14","clock":1700000000},{"host":"tee-test-sender","key":"trap.key2","value":"hello world","clock":1700000001}],"clock":1795236179,"ns":572489930}
        """#
    static let success = #"{"response":"success","info":"processed: 1; failed: 0; total: 1; seconds spent: 0.000050"}"#

    // MARK: Active checks

    @Test func pairsActiveChecksReplyWithItsRequest() throws {
        let messages = try converse([
            (
                .client,
                #"{"request":"active checks","host":"tee-test-agent2","version":"6.0","ip":"127.0.0.1","port":31060}"#
            ),
            (
                .server,
                #"{"response":"success","data":[{"key":"agent.ping","itemid":1001,"delay":"5s","lastlogsize":0,"mtime":0},{"key":"log[/var/log/x]","itemid":"1002","delay":30,"lastlogsize":12,"mtime":3}]}"#
            ),
        ])
        let request = ActiveChecksRequest(host: "tee-test-agent2", version: "6.0", ip: "127.0.0.1", port: 31060)
        #expect(messages[0] == .activeChecksRequest(request))
        #expect(
            messages[1]
                == .activeChecksResponse(
                    ActiveChecksResponse(
                        request: request,
                        response: "success",
                        items: [
                            ActiveCheckItem(
                                key: "agent.ping",
                                itemid: 1001,
                                delay: .interval("5s"),
                                lastlogsize: 0,
                                mtime: 0
                            ),
                            ActiveCheckItem(
                                key: "log[/var/log/x]",
                                itemid: 1002,
                                delay: .seconds(30),
                                lastlogsize: 12,
                                mtime: 3
                            ),
                        ]
                    )
                )
        )
    }

    @Test func activeChecksRequestCarriesSessionAndRevision() throws {
        let messages = try converse([
            (
                .client,
                #"{"request":"active checks","host":"h","version":"7.0.3","variant":1,"session":"abc","config_revision":17,"host_metadata":"linux"}"#
            ),
            (.server, #"{"response":"success","config_revision":17}"#),
        ])
        guard case .activeChecksRequest(let request) = messages[0],
            case .activeChecksResponse(let response) = messages[1]
        else {
            Issue.record("\(messages)")
            return
        }
        #expect(request.session == "abc")
        #expect(request.configRevision == 17)
        #expect(request.variant == 1)
        #expect(request.hostMetadata == "linux")
        #expect(response.items == nil, "6.4+ leaves data out when the agent is current")
        #expect(response.configRevision == 17)
        #expect(response.request?.host == "h")
    }

    @Test func agentdActiveChecksItemsHaveNoItemid() throws {
        let messages = try converse([
            (.client, #"{"request":"active checks","host":"tee-test-agentd","ip":"127.0.0.1","port":31050}"#),
            (
                .server,
                #"{"response":"success","data":[{"key":"agent.ping","key_orig":"agent.ping","delay":5,"lastlogsize":0,"mtime":0}]}"#
            ),
        ])
        guard case .activeChecksResponse(let response) = messages[1] else {
            Issue.record("\(messages)")
            return
        }
        #expect(
            response.items == [
                ActiveCheckItem(
                    key: "agent.ping",
                    originalKey: "agent.ping",
                    delay: .seconds(5),
                    lastlogsize: 0,
                    mtime: 0
                )
            ]
        )
    }

    // MARK: Value uploads

    @Test func decodesCapturedAgentdAgentDataAndItsReply() throws {
        let messages = try converse([(.client, Self.agentdAgentData), (.server, Self.success)])
        guard case .agentData(let data) = messages[0] else {
            Issue.record("\(messages)")
            return
        }
        #expect(data.session == "da5682c258db95735870aea3f3a13664")
        #expect(data.host == nil)
        #expect(data.rows.count == 3)
        #expect(data.clock == 1_795_236_168)
        #expect(
            messages[1]
                == .response(
                    ServerResponse(
                        response: "success",
                        info: "processed: 1; failed: 0; total: 1; seconds spent: 0.000050",
                        processed: 1,
                        failed: 0,
                        total: 1,
                        secondsSpent: "0.000050"
                    )
                )
        )
        let values = messages[0].itemValues
        #expect(values.count == 3)
        #expect(
            values[0]
                == ItemValue(
                    requestType: .agentData,
                    host: "tee-test-agentd",
                    key: "agent.ping",
                    value: "1",
                    clock: 1_795_236_167,
                    ns: 573_317_970,
                    id: 1,
                    session: "da5682c258db95735870aea3f3a13664"
                )
        )
        #expect(values[2].state == .notSupported)
        #expect(values[2].value == "Cannot open file: [2] No such file or directory")
    }

    @Test func decodesCapturedAgent2ItemidShapedAgentData() throws {
        let messages = try converse([(.client, Self.agent2AgentData)])
        let values = messages[0].itemValues
        #expect(values.count == 2)
        #expect(values[0].host == "tee-test-agent2")
        #expect(values[0].key == nil)
        #expect(values[0].itemid == 1003)
        #expect(values[0].state == .notSupported)
        #expect(
            values[1]
                == ItemValue(
                    requestType: .agentData,
                    host: "tee-test-agent2",
                    itemid: 1004,
                    value: "Linux vm 6.18.44 ... x86_64",
                    clock: 1_795_236_199,
                    ns: 265_616,
                    id: 5,
                    session: "20b262b0755945e992c381d62aaa1169"
                )
        )
    }

    @Test func decodesCapturedSenderData() throws {
        let messages = try converse([(.client, Self.senderData), (.server, Self.success)])
        let values = messages[0].itemValues
        #expect(
            values == [
                ItemValue(
                    requestType: .senderData,
                    host: "tee-test-sender",
                    key: "trap.key",
                    value: "3.14",
                    clock: 1_700_000_000
                ),
                ItemValue(
                    requestType: .senderData,
                    host: "tee-test-sender",
                    key: "trap.key2",
                    value: "hello world",
                    clock: 1_700_000_001
                ),
            ]
        )
        guard case .senderData(let data) = messages[0] else { return }
        #expect(data.ns == 572_489_930)
    }

    @Test func acceptsNumbersAndStringsWhereZabbixAcceptsBoth() throws {
        let text =
            #"{"request":"sender data","data":[{"host":"h","key":"k","value":42,"clock":"1700000000","ns":"5"},{"host":"h","key":"k2","value":1.5e3},{"host":"h","key":"k3","value":true}]}"#
        let values = try converse([(.client, text)])[0].itemValues
        #expect(values.map(\.value) == ["42", "1.5e3", "true"])
        #expect(values[0].clock == 1_700_000_000)
        #expect(values[0].ns == 5)
        let agent2 =
            #"{"request":"agent data","host":"h","session":"s","data":[{"itemid":"1003","id":"7","state":"1","value":"err"}]}"#
        let row = try converse([(.client, agent2)])[0].itemValues[0]
        #expect(row.itemid == 1003)
        #expect(row.id == 7)
        #expect(row.state == .notSupported)
    }

    @Test func skipsRowsWithoutValueAndKeepsLogFields() throws {
        let text =
            #"{"request":"agent data","host":"h","session":"s","data":[{"itemid":1,"lastlogsize":100,"mtime":5,"id":1},{"itemid":2,"value":"line","lastlogsize":200,"mtime":6,"timestamp":1700000000,"source":"App","severity":4,"eventid":1001,"id":2},{"itemid":3,"value":null,"id":3}]}"#
        let values = try converse([(.client, text)])[0].itemValues
        #expect(
            values == [
                ItemValue(
                    requestType: .agentData,
                    host: "h",
                    itemid: 2,
                    value: "line",
                    id: 2,
                    session: "s",
                    lastlogsize: 200,
                    mtime: 6,
                    timestamp: 1_700_000_000,
                    source: "App",
                    severity: 4,
                    eventid: 1001
                )
            ]
        )
    }

    @Test func heartbeatsExpectNoReplyButTolerateOne() throws {
        let messages = try converse([
            (.client, #"{"request":"active check heartbeat","host":"h","heartbeat_freq":60}"#)
        ])
        #expect(messages == [.activeCheckHeartbeat(ActiveCheckHeartbeat(host: "h", heartbeatFrequency: 60))])
        let proxy = try converse([
            (.client, #"{"request":"proxy heartbeat","host":"tee-lab-proxy","version":"6.0.14"}"#),
            (.server, #"{"response":"success"}"#),
        ])
        #expect(
            proxy == [
                .proxyHeartbeat(ProxyHeartbeat(host: "tee-lab-proxy", version: "6.0.14")),
                .response(ServerResponse(response: "success")),
            ]
        )
    }

    @Test func parsesFailedRepliesAndRedirects() throws {
        let messages = try converse([
            (.client, Self.senderData),
            (
                .server,
                #"{"response":"failed","info":"data collection is paused","upload":"disabled","redirect":{"revision":1,"address":"a:10051"}}"#
            ),
        ])
        #expect(
            messages[1]
                == .response(
                    ServerResponse(
                        response: "failed",
                        info: "data collection is paused",
                        upload: "disabled",
                        redirect: ZabbixRedirect(address: "a:10051", revision: 1)
                    )
                )
        )
        #expect(messages[1].isRedirectReply)
    }

    // MARK: Proxy

    @Test func activeProxyDataCarriesHistoryRowsWithItemidsOnly() throws {
        let text =
            #"{"request":"proxy data","host":"tee-lab-proxy","session":"e020992624c1bd4010a0d59805f072aa","version":"6.0.14","history data":[{"id":10,"itemid":23662,"clock":1795236260,"ns":1,"value":"1"},{"id":11,"itemid":23663,"clock":1795236261,"ns":2,"state":1,"value":"Unsupported item key."},{"id":12,"itemid":23664,"clock":1795236262,"ns":3}],"more":1,"clock":1795236264,"ns":71407569}"#
        let messages = try converse([(.client, text), (.server, #"{"upload":"enabled","response":"success"}"#)])
        guard case .proxyData(let data) = messages[0] else {
            Issue.record("\(messages)")
            return
        }
        #expect(data.more)
        #expect(!data.isPassiveReply)
        #expect(data.history.count == 3)
        let values = messages[0].itemValues
        #expect(values.count == 2)
        #expect(
            values[0]
                == ItemValue(
                    requestType: .proxyData,
                    itemid: 23662,
                    proxy: "tee-lab-proxy",
                    value: "1",
                    clock: 1_795_236_260,
                    ns: 1,
                    id: 10,
                    session: "e020992624c1bd4010a0d59805f072aa"
                )
        )
        #expect(values[1].state == .notSupported)
        #expect(messages[1] == .response(ServerResponse(response: "success", upload: "enabled")))
    }

    @Test func passiveProxyPollPairsTheDataReplyAndTheServersResponse() throws {
        let messages = try converse([
            (.client, #"{"request":"proxy data"}"#),
            (
                .server,
                #"{"session":"s1","version":"6.0.14","history data":[{"id":1,"itemid":5,"clock":1,"ns":0,"value":"9"}],"clock":2,"ns":3}"#
            ),
            (.client, #"{"upload":"enabled","response":"success"}"#),
        ])
        #expect(messages[0] == .proxyDataRequest)
        guard case .proxyData(let data) = messages[1] else {
            Issue.record("\(messages)")
            return
        }
        #expect(data.isPassiveReply)
        #expect(data.host == nil)
        #expect(messages[1].itemValues.map(\.value) == ["9"])
        #expect(messages[2] == .response(ServerResponse(response: "success", upload: "enabled")))
    }

    static let fullConfig62 = #"""
        {"globalmacro":{"fields":["globalmacroid","macro","value"],"data":[]},"hosts":{"fields":["hostid","host","status","name"],"data":[[10105,"web01",0,"Web 01"],[10106,"db01",0,"DB"]]},"items":{"fields":["itemid","type","snmp_oid","hostid","key_","delay","history","status","value_type"],"data":[[23662,0,"",10105,"agent.ping","1m","90d",0,3],[23663,0,"",10106,"system.cpu.load[all,avg1]","1m","90d",0,0],[23664,0,"",10106]]}}
        """#

    @Test func activeProxyConfigReplyExposesItemsAndHosts() throws {
        let messages = try converse([
            (.client, #"{"request":"proxy config","host":"tee-lab-proxy","version":"6.0.14"}"#),
            (.server, Self.fullConfig62),
        ])
        #expect(messages[0] == .proxyConfigRequest(ProxyConfigRequest(host: "tee-lab-proxy", version: "6.0.14")))
        #expect(
            messages[1]
                == .proxyConfig(
                    ProxyConfig(
                        proxyHost: "tee-lab-proxy",
                        isFullSync: true,
                        hosts: [.init(hostid: 10105, host: "web01"), .init(hostid: 10106, host: "db01")],
                        items: [
                            .init(
                                itemid: 23662,
                                hostid: 10105,
                                key: "agent.ping",
                                valueType: 3,
                                delay: ZabbixUpdateInterval("1m")
                            ),
                            .init(
                                itemid: 23663,
                                hostid: 10106,
                                key: "system.cpu.load[all,avg1]",
                                valueType: 0,
                                delay: ZabbixUpdateInterval("1m")
                            ),
                        ]
                    )
                )
        )
    }

    @Test func incrementalConfigPayloadCarriesDeltas() throws {
        let messages = try converse([
            (.client, #"{"request":"proxy config","host":"p","version":"6.4.0","session":"s","config_revision":5}"#),
            (
                .server,
                #"{"data":{"items":{"fields":["itemid","hostid","key_","value_type"],"data":[["7","3","k",4]]}},"del_hostids":[1,"2"],"config_revision":6}"#
            ),
        ])
        #expect(
            messages[1]
                == .proxyConfig(
                    ProxyConfig(
                        proxyHost: "p",
                        isFullSync: false,
                        configRevision: 6,
                        items: [.init(itemid: 7, hostid: 3, key: "k", valueType: 4)],
                        deletedHostIDs: [1, 2]
                    )
                )
        )
        let empty = try converse([(.client, #"{"request":"proxy config","host":"p"}"#), (.server, "{}")])
        #expect(empty[1] == .proxyConfig(ProxyConfig(proxyHost: "p", isFullSync: false)))
        let full = try converse([
            (.client, #"{"request":"proxy config","host":"p"}"#),
            (.server, #"{"full_sync":1,"data":{},"config_revision":9}"#),
        ])
        #expect(full[1] == .proxyConfig(ProxyConfig(proxyHost: "p", isFullSync: true, configRevision: 9)))
    }

    @Test func passiveProxyConfigPush62CarriesTablesInTheRequest() throws {
        let messages = try converse([
            (.client, #"{"request":"proxy config","data":"# + Self.fullConfig62 + "}"),
            (.server, #"{"response":"success","version":"6.0.14"}"#),
        ])
        guard case .proxyConfig(let config) = messages[0] else {
            Issue.record("\(messages)")
            return
        }
        #expect(config.isFullSync)
        #expect(config.items.count == 2)
        #expect(messages[1] == .response(ServerResponse(response: "success")))
    }

    @Test func passiveProxyConfigPush64IsFourFrames() throws {
        let messages = try converse([
            (.client, #"{"request":"proxy config"}"#),
            (.server, #"{"version":"6.4.0","session":"s","config_revision":3}"#),
            (
                .client,
                #"{"full_sync":1,"data":{"hosts":{"fields":["hostid","host"],"data":[[1,"h"]]}},"config_revision":4}"#
            ),
            (.server, #"{"response":"success"}"#),
        ])
        #expect(
            messages == [
                .proxyConfigRequest(ProxyConfigRequest()),
                .proxyConfigStatus(ProxyConfigRequest(version: "6.4.0", session: "s", configRevision: 3)),
                .proxyConfig(ProxyConfig(isFullSync: true, configRevision: 4, hosts: [.init(hostid: 1, host: "h")])),
                .response(ServerResponse(response: "success")),
            ]
        )
    }

    // MARK: Passive checks

    @Test func passiveTextCheckPairsKeyAndValue() throws {
        let messages = try converse([(.client, "agent.ping"), (.server, "1")])
        #expect(
            messages == [
                .passiveCheckRequest(PassiveCheckRequest(keys: ["agent.ping"], isJSON: false)),
                .passiveCheckResponse(PassiveCheckResponse(keys: ["agent.ping"], results: [.value("1")])),
            ]
        )
        #expect(messages[1].itemValues == [ItemValue(requestType: .passiveCheck, key: "agent.ping", value: "1")])
    }

    @Test func passiveTextCheckTrimsLineEndsAndNeverParsesTheValueAsJSON() throws {
        let messages = try converse([
            (.client, "system.run[cat x.json]\r\n"), (.server, #"{"not":"a message"}"# + "\n"),
        ])
        #expect(
            messages[1].itemValues == [
                ItemValue(requestType: .passiveCheck, key: "system.run[cat x.json]", value: #"{"not":"a message"}"#)
            ]
        )
    }

    @Test func passiveNotSupportedCarriesTheErrorText() throws {
        var conversation = ZabbixConversation()
        _ = try conversation.decode(ByteBuffer(string: "no.such.key"), from: .client)
        let reply = try conversation.decode(
            ByteBuffer(bytes: Array("ZBX_NOTSUPPORTED".utf8) + [0] + Array("Unknown metric no.such.key".utf8)),
            from: .server
        )
        #expect(
            reply.itemValues == [
                ItemValue(
                    requestType: .passiveCheck,
                    key: "no.such.key",
                    value: "Unknown metric no.such.key",
                    state: .notSupported
                )
            ]
        )
        let bare = try converse([(.client, "k"), (.server, "ZBX_NOTSUPPORTED")])
        #expect(
            bare[1].itemValues == [ItemValue(requestType: .passiveCheck, key: "k", value: "", state: .notSupported)]
        )
    }

    @Test func passiveJSONChecks70() throws {
        let messages = try converse([
            (.client, #"{"request":"passive checks","data":[{"key":"agent.version","timeout":3}]}"#),
            (.server, #"{"version":"7.0.0","variant":1,"data":[{"value":"7.0.0"}]}"#),
        ])
        #expect(messages[1].itemValues == [ItemValue(requestType: .passiveCheck, key: "agent.version", value: "7.0.0")])
        let error = try converse([
            (.client, #"{"request":"passive checks","data":[{"key":"x","timeout":3}]}"#),
            (.server, #"{"version":"7.0.0","variant":1,"data":[{"error":"Unsupported item key."}]}"#),
        ])
        #expect(
            error[1].itemValues == [
                ItemValue(requestType: .passiveCheck, key: "x", value: "Unsupported item key.", state: .notSupported)
            ]
        )
        let null = try converse([
            (.client, #"{"request":"passive checks","data":[{"key":"x","timeout":3}]}"#),
            (.server, #"{"version":"7.0.0","variant":1,"data":[{"value":null}]}"#),
        ])
        #expect(null[1].itemValues == [])
    }

    /// A 6.x agent reads the 7.0 JSON request as a key and answers `ZBX_NOTSUPPORTED` (as the real
    /// 6.0 agentd did in `Fixtures/get-passive-7.0-to-6.0-json`). Zabbix retries in plain text on
    /// a new connection and takes no value from this reply, so neither may the tee: the item is
    /// not unsupported, the retry carries its value.
    @Test func passiveJSONCheckAnsweredByPre70AgentWithTextYieldsNoValue() throws {
        var conversation = ZabbixConversation()
        _ = try conversation.decode(
            ByteBuffer(string: #"{"request":"passive checks","data":[{"key":"agent.ping","timeout":3}]}"#),
            from: .client
        )
        let reply = try conversation.decode(
            ByteBuffer(bytes: Array("ZBX_NOTSUPPORTED".utf8) + [0] + Array("Invalid item key format.".utf8)),
            from: .server
        )
        #expect(reply == .passiveCheckResponse(PassiveCheckResponse(keys: ["agent.ping"], results: [])))
        #expect(reply.itemValues == [])
        // Even a text answer that is a plausible value is not one: Zabbix needs JSON here.
        _ = try conversation.decode(
            ByteBuffer(string: #"{"request":"passive checks","data":[{"key":"agent.ping","timeout":3}]}"#),
            from: .client
        )
        #expect(try conversation.decode(ByteBuffer(string: "1"), from: .server).itemValues == [])
    }

    // MARK: Other traffic and bad input

    @Test func managementRequestsArePassedOver() throws {
        let messages = try converse([
            (.client, #"{"request":"queue.get","sid":"abc","type":"overview"}"#),
            (.server, #"{"response":"success","data":[]}"#),
        ])
        #expect(messages[0] == .other(request: "queue.get"))
        #expect(messages[0].itemValues == [])
        #expect(messages[1] == .response(ServerResponse(response: "success")))
    }

    @Test func replyWithoutSeenRequestIsUnrecognizedOrPlainResponse() throws {
        #expect(try converse([(.server, #"{"data":[]}"#)]) == [.unrecognized])
        #expect(try converse([(.server, "1")]) == [.unrecognized])
        #expect(
            try converse([(.server, Self.success)]) == [
                .response(
                    ServerResponse(
                        response: "success",
                        info: "processed: 1; failed: 0; total: 1; seconds spent: 0.000050",
                        processed: 1,
                        failed: 0,
                        total: 1,
                        secondsSpent: "0.000050"
                    )
                )
            ]
        )
    }

    @Test func forgottenFrameDropsThePendingRequest() throws {
        var conversation = ZabbixConversation()
        _ = try conversation.decode(ByteBuffer(string: #"{"request":"active checks","host":"h"}"#), from: .client)
        conversation.forgetFrame(from: .server)
        #expect(try conversation.decode(ByteBuffer(string: #"{"data":[]}"#), from: .server) == .unrecognized)
    }

    @Test func invalidJSONIsATypedError() {
        var conversation = ZabbixConversation()
        #expect(throws: ZabbixMessageError.self) {
            try conversation.decode(
                ByteBuffer(string: #"{"request":"agent data","data":[{"value":"1"}"#),
                from: .client
            )
        }
        #expect(throws: ZabbixMessageError.self) {
            try conversation.decode(
                ByteBuffer(
                    bytes: Array(#"{"request":"sender data","data":[{"value":""#.utf8) + [0xFF, 0x22, 0x7D, 0x5D, 0x7D]
                ),
                from: .client
            )
        }
    }

    @Test func serverResponseStatisticsParseLoosely() {
        let json = try? JSONParser().parse(
            #"{"response":"success","info":"processed: 4; failed: 1; total: 5; seconds spent: 0.000042"}"#
        )
        #expect(json != nil)
        var conversation = ZabbixConversation()
        let message = try? conversation.decode(
            ByteBuffer(string: #"{"response":"success","info":"host [x] not found"}"#),
            from: .server
        )
        #expect(message == .response(ServerResponse(response: "success", info: "host [x] not found")))
    }

    @Test func randomPayloadsNeverCrash() {
        var rng = SeededGenerator(seed: 1234)
        let fragments = [
            #"{"request":"#, #""agent data""#, #""proxy data""#, #""proxy config""#, #""passive checks""#,
            #","data":["#, #"{"itemid":"#, "1", "]", "}", ",", #""value":"#, #""x""#, "null", #""history data":["#,
            #""hosts":{"fields":["hostid","host"],"data":[[1,"h"]]}"#, "ZBX_NOTSUPPORTED\u{0}",
        ]
        for _ in 0..<5000 {
            var conversation = ZabbixConversation()
            for _ in 0..<3 {
                let text = (0..<Int.random(in: 0...12, using: &rng)).map { _ in fragments.randomElement(using: &rng)! }
                    .joined()
                let message = try? conversation.decode(
                    ByteBuffer(string: text),
                    from: Bool.random(using: &rng) ? .client : .server
                )
                _ = message?.itemValues
            }
        }
    }
}

extension ZabbixMessage {
    var isRedirectReply: Bool {
        if case .response(let response) = self { return response.isRedirect }
        return false
    }
}

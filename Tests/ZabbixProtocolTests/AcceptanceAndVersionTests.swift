import Testing
import ZabbixProtocol

/// What a reply says about its request's values, and version strings read leniently.
struct AcceptanceAndVersionTests {
    static func response(_ json: String, rowResults: Bool = false) throws -> ServerResponse {
        let request =
            rowResults
            ? #"{"request":"history.push","sid":"s","clientip":"1.2.3.4","data":[]}"#
            : #"{"request":"sender data","data":[]}"#
        let messages = try converse([(.client, request), (.server, json)])
        guard case .response(let response) = messages[1] else {
            Issue.record("\(messages)")
            return ServerResponse()
        }
        return response
    }

    @Test func countsDecideTheVerdict() throws {
        #expect(
            try Self.response(#"{"response":"success","info":"processed: 3; failed: 0; total: 3; seconds spent: 0.1"}"#)
                .acceptance == .all
        )
        #expect(
            try Self.response(#"{"response":"success","info":"processed: 0; failed: 1; total: 1; seconds spent: 0.1"}"#)
                .acceptance == .none(.noneProcessed)
        )
        #expect(
            try Self.response(#"{"response":"success","info":"processed: 6; failed: 2; total: 8; seconds spent: 0.1"}"#)
                .acceptance == .partial(failed: 2)
        )
        #expect(try Self.response(#"{"upload":"enabled","response":"success"}"#).acceptance == .all)
        #expect(
            try Self.response(#"{"response":"failed","info":"host [x] not found"}"#).acceptance
                == .none(.failedResponse)
        )
        #expect(
            try Self.response(#"{"info":"processed: 1; failed: 0"}"#).acceptance == .none(.failedResponse),
            "no response: not a success"
        )
    }

    @Test func aRedirectIsARefusalWhateverElseTheReplySays() throws {
        let reply = try Self.response(
            #"{"response":"failed","redirect":{"revision":12,"address":"proxy-b.example.net:10051"}}"#
        )
        #expect(reply.acceptance == .none(.redirect))
        #expect(reply.redirect == ZabbixRedirect(address: "proxy-b.example.net:10051", revision: 12))
        #expect(
            try Self.response(#"{"response":"failed","redirect":{"reset":true}}"#).redirect
                == ZabbixRedirect(reset: true)
        )
    }

    @Test func historyPushRepliesAnswerRowByRow() throws {
        let reply = try Self.response(
            #"{"response":"success","data":[{"itemid":1},{"itemid":2,"error":"Duplicate timestamp found."},{"error":"No permissions to referred object or it does not exist."}]}"#,
            rowResults: true
        )
        #expect(reply.acceptance == .rows([true, false, false]))
        #expect(reply.rowResults?[1] == .refused(error: "Duplicate timestamp found."))
    }

    @Test func historyPushRequestsKeepRowsAndClientAddressButNotTheSessionId() throws {
        let sid = "4a4b4c4d4e4f50515253545556575859"
        let messages = try converse([
            (
                .client,
                #"{"request":"history.push","sid":"\#(sid)","clientip":"192.0.2.7","data":[{"itemid":5,"value":"1"},{"host":"h","key":"k","value":2,"clock":1,"ns":2}]}"#
            )
        ])
        guard case .historyPush(let push) = messages[0] else {
            Issue.record("\(messages)")
            return
        }
        #expect(push.clientIP == "192.0.2.7")
        #expect(push.rows.map(\.value) == ["1", "2"])
        #expect(!"\(messages)".contains(sid))
        #expect(messages[0].itemValues.map(\.requestType) == [.historyPush, .historyPush])
    }

    @Test(
        arguments: [
            ("6.0", 6, 0, nil, ""), ("7.0.9", 7, 0, 9, ""), ("8.0.0rc1", 8, 0, 0, "rc1"),
            ("8.0.0alpha2", 8, 0, 0, "alpha2"),
            ("7.4.3 (revision 1a2b3c4d)", 7, 4, 3, "(revision 1a2b3c4d)"), ("v8.2", 8, 2, nil, ""),
        ] as [(String, Int, Int, Int?, String)]
    )
    func versionsAreReadLeniently(_ text: String, _ major: Int, _ minor: Int, _ patch: Int?, _ suffix: String) throws {
        let version = try #require(ZabbixVersion(parsing: text))
        #expect(version == ZabbixVersion(major: major, minor: minor, patch: patch, suffix: suffix))
        #expect(version.line == "\(major).\(minor)")
    }

    @Test(arguments: ["", "seven", "7", "7.", ".0", "1234.0"])
    func somethingThatIsNoVersionIsNil(_ text: String) {
        #expect(ZabbixVersion(parsing: text) == nil)
    }

    @Test func versionsCompareByNumbers() throws {
        let a = try #require(ZabbixVersion(parsing: "7.0.10"))
        let b = try #require(ZabbixVersion(parsing: "7.0.9"))
        let c = try #require(ZabbixVersion(parsing: "8.0.0rc1"))
        #expect(b < a && a < c)
    }

    @Test func unknownRequestNamesAreTold() throws {
        #expect(ZabbixRequestName.isKnown("queue.get"))
        #expect(ZabbixRequestName.isKnown("history.push"))
        #expect(!ZabbixRequestName.isKnown("device.offboard"))
        let messages = try converse([
            (.client, #"{"request":"device.offboard"}"#), (.server, #"{"response":"success"}"#),
        ])
        #expect(messages[0].kindName == "unknown")
        #expect(messages[1].kindName == "response")
    }
}

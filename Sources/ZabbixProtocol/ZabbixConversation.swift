import NIOCore

/// Which end of the TCP connection sent a frame.
public enum ZabbixPeer: Sendable, Hashable {
    /// The connecting side (agent, sender, active proxy; the server for passive checks and
    /// passive proxies).
    case client
    /// The accepting side.
    case server

    /// The other end.
    public var other: ZabbixPeer { self == .client ? .server : .client }
}

/// Decodes the frames of one connection into ``ZabbixMessage``s, pairing each reply with the
/// request that came before it on the same connection.
///
/// Feed it every frame's decoded payload (inflated when compressed) in the order the frames
/// completed, saying which peer sent it. A JSON object with a `request` member always starts a new
/// exchange; anything else is read as the reply the current exchange expects from that peer:
///
/// | exchange | frames |
/// |---|---|
/// | agent, sender, active proxy, `history.push` | request → reply |
/// | passive check (text or 7.0 JSON) | key(s) → value(s) |
/// | passive proxy data poll | `{"request":"proxy data"}` → data → response |
/// | passive proxy config push ≤ 6.2 | request with `data` → response |
/// | passive proxy config push 6.4+ | `{"request":"proxy config"}` → status → payload → response |
///
/// A client frame that is not JSON and does not answer anything is read as a passive check key.
/// Call ``forgetFrame(from:)`` for frames that could not be decoded (skipped, bad zlib) so that
/// the next frame is not paired with a stale request.
public struct ZabbixConversation: Sendable {
    private enum Expected: Sendable {
        case activeChecksReply(ActiveChecksRequest)
        case response
        case historyPushReply
        case proxyDataReply
        case proxyConfigPayload(proxyHost: String?)
        case proxyConfigStatus
        case passiveCheckReply(PassiveCheckRequest)
    }

    /// The parser used for JSON payloads.
    public var parser: JSONParser
    /// What the next non-request frame means, and which peer should send it.
    private var expectation: (peer: ZabbixPeer, expected: Expected)?

    /// Creates the state for one connection.
    public init(parser: JSONParser = JSONParser()) {
        self.parser = parser
        self.expectation = nil
    }

    /// Decodes one frame payload (already inflated) sent by `peer`.
    public mutating func decode(_ payload: ByteBuffer, from peer: ZabbixPeer) throws(ZabbixMessageError) -> ZabbixMessage {
        let result: Result<ZabbixMessage, ZabbixMessageError> = payload.withUnsafeReadableBytes { bytes in
            do throws(ZabbixMessageError) {
                return .success(try self.decode(bytes: bytes, from: peer))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Decodes one frame payload (already inflated) sent by `peer`.
    public mutating func decode(bytes: UnsafeRawBufferPointer, from peer: ZabbixPeer) throws(ZabbixMessageError) -> ZabbixMessage {
        let expectation = self.expectation
        self.expectation = nil
        let startsWithBrace = Self.firstNonWhitespace(bytes) == UInt8(ascii: "{")

        if let expectation, expectation.peer == peer, case .passiveCheckReply(let request) = expectation.expected,
            !(request.isJSON && startsWithBrace)
        {
            // A text reply may itself look like JSON (system.run output): never parse it.
            return .passiveCheckResponse(PassiveCheckResponse(
                keys: request.keys, results: [PassiveCheckResponse.textResult(bytes)]))
        }

        guard startsWithBrace else {
            if peer == .client && (expectation == nil || expectation?.peer != peer) {
                let key = String(decoding: trimmedTrailingWhitespace(bytes), as: UTF8.self)
                let request = PassiveCheckRequest(keys: [key], isJSON: false)
                self.expectation = (.server, .passiveCheckReply(request))
                return .passiveCheckRequest(request)
            }
            return .unrecognized
        }

        let json: JSONObject
        do {
            guard let object = try self.parser.parse(bytes).object else { return .unrecognized }
            json = object
        } catch {
            throw .invalidJSON(error)
        }

        if let request = json["request"]?.string {
            return self.request(request, json, from: peer)
        }
        guard let expectation, expectation.peer == peer else {
            return json["response"] != nil ? .response(ServerResponse(json: json)) : .unrecognized
        }
        return self.reply(json, expected: expectation.expected, from: peer)
    }

    /// Records that `peer` sent a frame that could not be decoded: the exchange in progress is
    /// abandoned.
    public mutating func forgetFrame(from peer: ZabbixPeer) {
        self.expectation = nil
    }

    // MARK: - Classification

    private mutating func request(_ name: String, _ json: JSONObject, from peer: ZabbixPeer) -> ZabbixMessage {
        switch name {
        case "active checks":
            let request = ActiveChecksRequest(json: json)
            self.expectation = (peer.other, .activeChecksReply(request))
            return .activeChecksRequest(request)
        case "agent data":
            self.expectation = (peer.other, .response)
            return .agentData(AgentData(json: json))
        case "sender data":
            self.expectation = (peer.other, .response)
            return .senderData(SenderData(json: json))
        case "active check heartbeat":
            // No reply, except a 7.0+ redirect.
            self.expectation = (peer.other, .response)
            return .activeCheckHeartbeat(ActiveCheckHeartbeat(json: json))
        case "proxy heartbeat":
            self.expectation = (peer.other, .response)
            return .proxyHeartbeat(ProxyHeartbeat(host: json.string("host"), version: json.string("version")))
        case "proxy data":
            if json["host"] != nil || json["history data"] != nil || json["session"] != nil {
                self.expectation = (peer.other, .response)
                return .proxyData(ProxyData(json: json, isPassiveReply: false))
            }
            self.expectation = (peer.other, .proxyDataReply)
            return .proxyDataRequest
        case "proxy config":
            if let data = json["data"]?.object {
                // ≤ 6.2 push to a passive proxy: the tables travel inside the request.
                self.expectation = (peer.other, .response)
                return .proxyConfig(ProxyConfig(json: data, proxyHost: nil))
            }
            let request = ProxyConfigRequest(json: json)
            if request.host != nil {
                self.expectation = (peer.other, .proxyConfigPayload(proxyHost: request.host))
            } else {
                self.expectation = (peer.other, .proxyConfigStatus)
            }
            return .proxyConfigRequest(request)
        case "history.push":
            self.expectation = (peer.other, .historyPushReply)
            return .historyPush(HistoryPush(json: json))
        case "passive checks":
            let keys = (json.objects("data") ?? []).compactMap { $0.string("key") }
            let request = PassiveCheckRequest(keys: keys, isJSON: true)
            self.expectation = (peer.other, .passiveCheckReply(request))
            return .passiveCheckRequest(request)
        default:
            self.expectation = (peer.other, .response)
            return .other(request: name)
        }
    }

    private mutating func reply(_ json: JSONObject, expected: Expected, from peer: ZabbixPeer) -> ZabbixMessage {
        switch expected {
        case .activeChecksReply(let request):
            return .activeChecksResponse(ActiveChecksResponse(json: json, request: request))
        case .response:
            return .response(ServerResponse(json: json))
        case .historyPushReply:
            return .response(ServerResponse(json: json, rowResults: true))
        case .proxyDataReply:
            if json["response"] != nil { return .response(ServerResponse(json: json)) }
            self.expectation = (peer.other, .response)
            return .proxyData(ProxyData(json: json, isPassiveReply: true))
        case .proxyConfigPayload(let proxyHost):
            if json["response"] != nil { return .response(ServerResponse(json: json)) }
            self.expectation = (peer.other, .response)
            return .proxyConfig(ProxyConfig(json: json, proxyHost: proxyHost))
        case .proxyConfigStatus:
            if json["response"] != nil { return .response(ServerResponse(json: json)) }
            self.expectation = (peer.other, .proxyConfigPayload(proxyHost: nil))
            return .proxyConfigStatus(ProxyConfigRequest(json: json))
        case .passiveCheckReply(let request):
            return .passiveCheckResponse(PassiveCheckResponse(json: json, keys: request.keys))
        }
    }

    private static func firstNonWhitespace(_ bytes: UnsafeRawBufferPointer) -> UInt8? {
        for byte in bytes {
            switch byte {
            case 0x20, 0x09, 0x0A, 0x0D: continue
            default: return byte
            }
        }
        return nil
    }
}

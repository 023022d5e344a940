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
///
/// Payloads are never built into trees: ``PayloadScan`` streams each one with ``JSONReader`` and
/// keeps only the fields its message has, so a payload costs memory in proportion to what it
/// keeps (its rows, item lists, configuration rows), never to how it is shaped. What it keeps is
/// charged to ``budget``; a payload that would keep more fails with
/// ``ZabbixMessageError/budgetExceeded(limit:)`` instead. Rows not kept (nothing usable, a host or
/// key longer than Zabbix allows) are counted (``takeDroppedRows()``).
public struct ZabbixConversation: Sendable {
    private enum Expected: Sendable {
        /// Indirect: the request is large and rare; inline it made every expectation (one per
        /// frame) costly to move and destroy.
        indirect case activeChecksReply(ActiveChecksRequest)
        case response
        case historyPushReply
        case proxyDataReply
        case proxyConfigPayload(proxyHost: String?)
        case proxyConfigStatus
        case passiveCheckReply(PassiveCheckRequest)

        /// What the containers of the expected reply hold.
        var role: PayloadRole {
            switch self {
            case .activeChecksReply: return .activeChecksReply
            case .proxyDataReply: return .proxyData
            case .proxyConfigPayload: return .proxyConfigPayload
            case .passiveCheckReply: return .passiveCheckReply
            case .historyPushReply: return .historyPushReply
            case .response, .proxyConfigStatus: return .none
            }
        }
    }

    /// Default ``budget``: 128 MiB, as ``ZabbixFrameDecoder/defaultMaximumFrameSize``.
    public static let defaultBudget = ZabbixFrameDecoder.defaultMaximumFrameSize

    /// Bytes one payload may keep: its rows, item lists, configuration rows and their strings
    /// (estimated as Swift lays them out).
    public var budget: Int
    /// Deepest nesting of arrays and objects accepted.
    public var maximumDepth: Int
    /// What the next non-request frame means, and which peer should send it.
    private var expectation: (peer: ZabbixPeer, expected: Expected)?
    /// Rows read and not kept since ``takeDroppedRows()`` was last called.
    private var droppedRows = DroppedRows()

    /// Creates the state for one connection.
    public init(budget: Int = ZabbixConversation.defaultBudget, maximumDepth: Int = 64) {
        self.budget = max(0, budget)
        self.maximumDepth = maximumDepth
        self.expectation = nil
    }

    /// Decodes one frame payload (already inflated) sent by `peer`.
    public mutating func decode(
        _ payload: ByteBuffer,
        from peer: ZabbixPeer
    ) throws(ZabbixMessageError) -> ZabbixMessage {
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
    public mutating func decode(
        bytes: UnsafeRawBufferPointer,
        from peer: ZabbixPeer
    ) throws(ZabbixMessageError) -> ZabbixMessage {
        let expectation = self.expectation.take()
        let startsWithBrace = Self.firstNonWhitespace(bytes) == UInt8(ascii: "{")

        if let expectation, expectation.peer == peer, case .passiveCheckReply(let request) = expectation.expected,
            !(request.isJSON && startsWithBrace)
        {
            if request.isJSON {
                // A text answer to a JSON request is an agent older than 7.0 that read the JSON as
                // an unknown key (`ZBX_NOTSUPPORTED`). Zabbix takes nothing from it and asks again
                // in plain text on a new connection (`zbx_agent_handle_response`): no value here.
                return .passiveCheckResponse(PassiveCheckResponse(keys: request.keys, results: []))
            }
            // A text reply may itself look like JSON (system.run output): never parse it.
            return .passiveCheckResponse(
                PassiveCheckResponse(
                    keys: request.keys,
                    results: [PassiveCheckResponse.textResult(bytes)]
                )
            )
        }

        guard startsWithBrace else {
            if peer == .client && (expectation == nil || expectation?.peer != peer) {
                let text = trimmedTrailingWhitespace(bytes)
                guard Self.scalarCount(text) <= ZabbixLimits.maximumKeyLength else {
                    // Not a key any agent accepts: no check, no reply to pair.
                    self.droppedRows.keyTooLong += 1
                    return .unrecognized
                }
                let request = PassiveCheckRequest(keys: [String(decoding: text, as: UTF8.self)], isJSON: false)
                self.expectation = (.server, .passiveCheckReply(request))
                return .passiveCheckRequest(request)
            }
            return .unrecognized
        }

        let role = expectation.flatMap { $0.peer == peer ? $0.expected.role : nil } ?? .none
        let scan: PayloadScan
        do {
            scan = try PayloadScan(reading: bytes, role: role, budget: self.budget, maximumDepth: self.maximumDepth)
        } catch {
            if error.reason == .budgetExceeded { throw .budgetExceeded(limit: self.budget) }
            throw .invalidJSON(error)
        }
        self.droppedRows += scan.dropped

        if let request = scan.request {
            return self.request(request, scan, from: peer)
        }
        guard let expectation, expectation.peer == peer else {
            return scan.has(.response) ? .response(scan.serverResponse) : .unrecognized
        }
        return self.reply(scan, expected: expectation.expected, from: peer)
    }

    /// The rows read and not kept since the last call (nothing usable, a host or key longer than
    /// Zabbix allows), for the caller to count.
    public mutating func takeDroppedRows() -> DroppedRows {
        defer { self.droppedRows = DroppedRows() }
        return self.droppedRows
    }

    /// Records that `peer` sent a frame that could not be decoded: the exchange in progress is
    /// abandoned.
    public mutating func forgetFrame(from peer: ZabbixPeer) {
        self.expectation = nil
    }

    // MARK: - Classification

    private mutating func request(_ name: String, _ scan: PayloadScan, from peer: ZabbixPeer) -> ZabbixMessage {
        switch name {
        case "active checks":
            let request = ActiveChecksRequest(
                host: scan.host,
                version: scan.version,
                variant: scan.variant,
                session: scan.session,
                configRevision: scan.configRevision,
                hostMetadata: scan.hostMetadata,
                interface: scan.interface,
                ip: scan.ip,
                port: scan.port
            )
            self.expectation = (peer.other, .activeChecksReply(request))
            return .activeChecksRequest(request)
        case "agent data":
            self.expectation = (peer.other, .response)
            return .agentData(
                AgentData(
                    host: scan.host,
                    session: scan.session,
                    version: scan.version,
                    variant: scan.variant,
                    clock: scan.clock,
                    ns: scan.ns,
                    rows: scan.dataRows
                )
            )
        case "sender data":
            self.expectation = (peer.other, .response)
            return .senderData(SenderData(clock: scan.clock, ns: scan.ns, rows: scan.dataRows))
        case "active check heartbeat":
            // No reply, except a 7.0+ redirect.
            self.expectation = (peer.other, .response)
            return .activeCheckHeartbeat(
                ActiveCheckHeartbeat(
                    host: scan.host,
                    heartbeatFrequency: scan.heartbeatFrequency,
                    version: scan.version,
                    variant: scan.variant
                )
            )
        case "proxy heartbeat":
            self.expectation = (peer.other, .response)
            return .proxyHeartbeat(ProxyHeartbeat(host: scan.host, version: scan.version))
        case "proxy data":
            if scan.has(.host) || scan.has(.historyData) || scan.has(.session) {
                self.expectation = (peer.other, .response)
                return .proxyData(Self.proxyData(scan, isPassiveReply: false))
            }
            self.expectation = (peer.other, .proxyDataReply)
            return .proxyDataRequest
        case "proxy config":
            if let config = scan.pushedConfig {
                // ≤ 6.2 push to a passive proxy: the tables travel inside the request.
                self.expectation = (peer.other, .response)
                return .proxyConfig(config)
            }
            let request = Self.proxyConfigRequest(scan)
            if request.host != nil {
                self.expectation = (peer.other, .proxyConfigPayload(proxyHost: request.host))
            } else {
                self.expectation = (peer.other, .proxyConfigStatus)
            }
            return .proxyConfigRequest(request)
        case "history.push":
            self.expectation = (peer.other, .historyPushReply)
            return .historyPush(
                HistoryPush(clientIP: scan.clientIP, rows: scan.dataRows, rowIndexes: scan.dataRowIndexes)
            )
        case "passive checks":
            let request = PassiveCheckRequest(keys: scan.passiveKeys, isJSON: true)
            self.expectation = (peer.other, .passiveCheckReply(request))
            return .passiveCheckRequest(request)
        default:
            self.expectation = (peer.other, .response)
            return .other(request: name)
        }
    }

    private mutating func reply(_ scan: PayloadScan, expected: Expected, from peer: ZabbixPeer) -> ZabbixMessage {
        switch expected {
        case .activeChecksReply(let request):
            return .activeChecksResponse(
                ActiveChecksResponse(
                    request: request,
                    response: scan.response,
                    info: scan.info,
                    items: scan.activeCheckItems,
                    configRevision: scan.configRevision,
                    redirect: scan.redirect
                )
            )
        case .response, .historyPushReply:
            return .response(scan.serverResponse)
        case .proxyDataReply:
            if scan.has(.response) { return .response(scan.serverResponse) }
            self.expectation = (peer.other, .response)
            return .proxyData(Self.proxyData(scan, isPassiveReply: true))
        case .proxyConfigPayload(let proxyHost):
            if scan.has(.response) { return .response(scan.serverResponse) }
            self.expectation = (peer.other, .response)
            return .proxyConfig(scan.proxyConfig(proxyHost: proxyHost))
        case .proxyConfigStatus:
            if scan.has(.response) { return .response(scan.serverResponse) }
            self.expectation = (peer.other, .proxyConfigPayload(proxyHost: nil))
            return .proxyConfigStatus(Self.proxyConfigRequest(scan))
        case .passiveCheckReply(let request):
            return .passiveCheckResponse(
                PassiveCheckResponse(
                    keys: request.keys,
                    results: scan.passiveResults,
                    error: scan.error,
                    version: scan.version
                )
            )
        }
    }

    private static func proxyData(_ scan: PayloadScan, isPassiveReply: Bool) -> ProxyData {
        ProxyData(
            host: scan.host,
            session: scan.session,
            version: scan.version,
            clock: scan.clock,
            ns: scan.ns,
            history: scan.historyRows,
            more: (scan.more ?? 0) != 0,
            isPassiveReply: isPassiveReply
        )
    }

    private static func proxyConfigRequest(_ scan: PayloadScan) -> ProxyConfigRequest {
        ProxyConfigRequest(
            host: scan.host,
            version: scan.version,
            session: scan.session,
            configRevision: scan.configRevision
        )
    }

    /// Unicode scalars in UTF-8 text (bytes that do not continue a sequence), without building it.
    private static func scalarCount(_ bytes: UnsafeRawBufferPointer.SubSequence) -> Int {
        // At most 4 bytes per scalar: only the lengths in between need counting.
        if bytes.count <= ZabbixLimits.maximumKeyLength || bytes.count > 4 * ZabbixLimits.maximumKeyLength {
            return bytes.count
        }
        return bytes.reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) }
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

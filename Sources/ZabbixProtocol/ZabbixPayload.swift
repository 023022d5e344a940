/// What the containers of a payload mean, as far as is known when they are met: from the
/// `request` member once it has been read, before that from the reply the conversation expects.
enum PayloadRole: Sendable, Equatable {
    /// Only scalars matter (replies, heartbeats, anything unknown).
    case none
    /// `agent data`, `sender data`: `data` is rows.
    case valueUpload
    /// `history.push`: `data` is rows, each kept with its position (the reply answers by position).
    case historyPush
    /// The reply to `history.push`: `data` is one result per request row.
    case historyPushReply
    /// `proxy data` (request or a passive proxy's reply): `history data` is rows.
    case proxyData
    /// `{"request":"proxy config","data":{...}}`: `data` is a ≤ 6.2 configuration pushed.
    case proxyConfigPush
    /// `passive checks` (7.0): `data` is the keys.
    case passiveChecks
    /// The reply to `active checks`: `data` is the item list.
    case activeChecksReply
    /// A 7.0 passive check reply: `data` is the results.
    case passiveCheckReply
    /// A configuration payload: the object itself holds the tables.
    case proxyConfigPayload
}

/// The members of a message's top-level object that the decoders read.
enum TopLevelMember: Int, CaseIterable {
    case request, data, historyData, host, session, version, variant, clock, ns, response, info, upload, more
    case heartbeatFrequency, hostMetadata, interface, ip, port, redirect, error, configRevision
    case hosts, items, deletedHostIDs, fullSync, clientIP

    init?(_ name: UnsafeRawBufferPointer) {
        func is_(_ literal: StaticString) -> Bool { JSONReader.equal(name, literal) }
        switch name.count {
        case 2: if is_("ns") { self = .ns } else if is_("ip") { self = .ip } else { return nil }
        case 4:
            if is_("data") {
                self = .data
            } else if is_("host") {
                self = .host
            } else if is_("info") {
                self = .info
            } else if is_("more") {
                self = .more
            } else if is_("port") {
                self = .port
            } else {
                return nil
            }
        case 5:
            if is_("clock") {
                self = .clock
            } else if is_("error") {
                self = .error
            } else if is_("hosts") {
                self = .hosts
            } else if is_("items") {
                self = .items
            } else {
                return nil
            }
        case 6: if is_("upload") { self = .upload } else { return nil }
        case 7:
            if is_("request") {
                self = .request
            } else if is_("session") {
                self = .session
            } else if is_("version") {
                self = .version
            } else if is_("variant") {
                self = .variant
            } else {
                return nil
            }
        case 8:
            if is_("response") {
                self = .response
            } else if is_("redirect") {
                self = .redirect
            } else if is_("clientip") {
                self = .clientIP
            } else {
                return nil
            }
        case 9:
            if is_("interface") { self = .interface } else if is_("full_sync") { self = .fullSync } else { return nil }
        case 11: if is_("del_hostids") { self = .deletedHostIDs } else { return nil }
        case 12: if is_("history data") { self = .historyData } else { return nil }
        case 13: if is_("host_metadata") { self = .hostMetadata } else { return nil }
        case 14: if is_("heartbeat_freq") { self = .heartbeatFrequency } else { return nil }
        case 15: if is_("config_revision") { self = .configRevision } else { return nil }
        default: return nil
        }
    }
}

/// One payload read in a single pass with ``JSONReader``: the top-level scalars every message
/// type takes its fields from, and the containers (rows, item lists, keys, configuration tables)
/// streamed into what the message keeps. Nothing else is built.
///
/// A container is read when it is met, as the role known at that point says; Zabbix programs
/// send `request` first, so that is the role. A container met before a `request` that gives it
/// another meaning is read again from where it started once the whole object is known. The first
/// member of each name counts, as in Zabbix's own parser.
struct PayloadScan {
    private(set) var role: PayloadRole
    private(set) var request: String?
    /// Members of the object, any name.
    private(set) var memberCount = 0
    private var seen: UInt32 = 0

    private(set) var host: String?
    private(set) var session: String?
    private(set) var version: String?
    private(set) var response: String?
    private(set) var info: String?
    private(set) var upload: String?
    private(set) var error: String?
    private(set) var hostMetadata: String?
    private(set) var interface: String?
    private(set) var ip: String?
    private(set) var variant: Int64?
    private(set) var clock: Int64?
    private(set) var ns: Int64?
    private(set) var more: Int64?
    private(set) var heartbeatFrequency: Int64?
    private var topLevelConfigRevision: UInt64?
    private(set) var port: UInt64?
    /// `history.push`: the API caller's address.
    private(set) var clientIP: String?
    /// A 7.0+ reply's `redirect` object.
    private(set) var redirect: ZabbixRedirect?

    /// `data` rows (agent and sender data, `history.push`) and `history data` rows (proxy data).
    private(set) var dataRows: [ZabbixValueRow] = []
    /// `history.push`: the position in `data` of each of ``dataRows`` (rows not kept leave gaps).
    private(set) var dataRowIndexes: [Int] = []
    /// The `data` of a `history.push` reply; `nil` when absent or not an array.
    private(set) var rowResults: [HistoryPushRowResult]?
    private(set) var historyRows: [ZabbixValueRow] = []
    /// The `data` of an `active checks` reply; `nil` when absent or not an array.
    private(set) var activeCheckItems: [ActiveCheckItem]?
    private(set) var passiveKeys: [String] = []
    private(set) var passiveResults: [PassiveCheckResult] = []
    /// The configuration readers, made only for a payload that holds a configuration.
    private var configReaders: ConfigReaders?
    private(set) var dropped = DroppedRows()

    private init(role: PayloadRole) {
        self.role = role
    }

    /// What a configuration payload or push is read into. Kept apart, behind one reference: every
    /// scan is built, moved and destroyed whole, and item values and replies, by far the most
    /// frequent payloads, have no configuration. Only the scan being read mutates it, so the
    /// reference is never shared while it changes.
    private final class ConfigReaders {
        /// The payload as a configuration (``PayloadRole/proxyConfigPayload``).
        var config = ProxyConfigReader()
        /// The `data` object of a ≤ 6.2 push, and its member count.
        var pushed: (reader: ProxyConfigReader, memberCount: Int)?
    }

    /// The configuration readers, made on first use.
    private mutating func readers() -> ConfigReaders {
        if let readers = self.configReaders { return readers }
        let readers = ConfigReaders()
        self.configReaders = readers
        return readers
    }

    /// Whether a member of this name was present (any value, `null` included).
    func has(_ member: TopLevelMember) -> Bool { self.seen & (1 << member.rawValue) != 0 }

    /// `config_revision`, wherever the configuration reader took it.
    var configRevision: UInt64? { self.topLevelConfigRevision ?? self.configReaders?.config.configRevision }

    /// The payload as a configuration payload.
    func proxyConfig(proxyHost: String?) -> ProxyConfig {
        (self.configReaders?.config ?? ProxyConfigReader()).config(proxyHost: proxyHost, memberCount: self.memberCount)
    }

    /// The configuration pushed in a ≤ 6.2 `proxy config` request's `data` object.
    var pushedConfig: ProxyConfig? {
        self.configReaders?.pushed.map { $0.reader.config(proxyHost: nil, memberCount: $0.memberCount) }
    }

    /// The payload as a trapper reply.
    var serverResponse: ServerResponse {
        .parsing(
            response: self.response,
            info: self.info,
            upload: self.upload,
            redirect: self.redirect,
            rowResults: self.rowResults
        )
    }

    /// Reads the object in `bytes` (the caller checked that it starts with `{`).
    ///
    /// An initializer, not a function returning a scan: the scan is built where the caller keeps
    /// it, where a returned one was copied whole (hundreds of bytes, its strings retained) once
    /// per payload.
    init(
        reading bytes: UnsafeRawBufferPointer,
        role: PayloadRole,
        budget: Int,
        maximumDepth: Int
    ) throws(JSONParseError) {
        var reader = JSONReader(bytes, maximumDepth: maximumDepth, budget: budget)
        self.init(role: role)
        // Where `data` and `history data` start, and the role they were read for (nil: passed over).
        var data: (offset: Int, readAs: PayloadRole?)?
        var history: (offset: Int, readAs: PayloadRole?)?
        try reader.beginObject()
        while let name = try reader.nextName() {
            self.memberCount += 1
            guard let member = reader.withName(name, TopLevelMember.init) else {
                try reader.skipValue()
                continue
            }
            let first = !self.has(member)
            self.seen |= 1 << member.rawValue
            if self.role == .proxyConfigPayload, let configMember = member.configMember {
                if member == .data, first { data = (reader.index, .proxyConfigPayload) }
                try self.readers().config.read(configMember, &reader)
                continue
            }
            guard first else {
                try reader.skipValue()
                continue
            }
            switch member {
            case .data:
                let offset = reader.index
                data = (offset, try self.readData(&reader) ? self.role : nil)
            case .historyData:
                let offset = reader.index
                history = (offset, try self.readHistory(&reader) ? self.role : nil)
            default:
                try self.readScalar(member, &reader)
            }
        }
        try reader.finish()

        // Containers met before the `request` that says what they are.
        if let offset = data?.offset, data?.readAs != self.role, self.role.readsData {
            var again = reader.rewound(to: offset, depth: 1, budget: reader.budget)
            _ = try self.readData(&again)
            try reader.charge(reader.budget - again.budget)
        }
        if let offset = history?.offset, history?.readAs != self.role, self.role == .proxyData {
            var again = reader.rewound(to: offset, depth: 1, budget: reader.budget)
            _ = try self.readHistory(&again)
            try reader.charge(reader.budget - again.budget)
        }
        if let readers = self.configReaders {
            self.dropped += readers.config.dropped
            if let pushed = readers.pushed { self.dropped += pushed.reader.dropped }
        }
    }

    /// Reads `data` as the current role says; `false` when it was passed over.
    private mutating func readData(_ reader: inout JSONReader) throws(JSONParseError) -> Bool {
        switch self.role {
        case .valueUpload, .historyPush:
            var rows = ValueRowsReader(keepsIndexes: self.role == .historyPush)
            try rows.read(&reader)
            self.dataRows = rows.rows
            self.dataRowIndexes = rows.indexes
            self.dropped += rows.dropped
        case .historyPushReply:
            self.rowResults = try HistoryPushRowResult.readList(&reader)
        case .proxyConfigPush:
            guard try reader.peekKind() == .object else {
                try reader.skipValue()
                return true
            }
            var config = ProxyConfigReader()
            let count = try config.readObject(&reader)
            self.readers().pushed = (config, count)
        case .passiveChecks:
            self.passiveKeys = try PassiveCheckRequest.readKeys(&reader, dropped: &self.dropped)
        case .activeChecksReply:
            self.activeCheckItems = try ActiveCheckItem.readList(&reader, dropped: &self.dropped)
        case .passiveCheckReply:
            self.passiveResults = try PassiveCheckResponse.readResults(&reader)
        case .proxyConfigPayload:
            try self.readers().config.read(.data, &reader)
        case .none, .proxyData:
            try reader.skipValue()
            return false
        }
        return true
    }

    /// Reads `history data` when the role is proxy data; `false` when it was passed over.
    private mutating func readHistory(_ reader: inout JSONReader) throws(JSONParseError) -> Bool {
        guard self.role == .proxyData else {
            try reader.skipValue()
            return false
        }
        var rows = ValueRowsReader()
        try rows.read(&reader)
        self.historyRows = rows.rows
        self.dropped += rows.dropped
        return true
    }

    private mutating func readScalar(_ member: TopLevelMember, _ reader: inout JSONReader) throws(JSONParseError) {
        if member == .redirect {
            self.redirect = try ZabbixRedirect.read(&reader)
            return
        }
        let value = try reader.readScalar()
        switch member {
        case .request:
            // A `request` that is not a string is no request (the payload is read as a reply).
            guard case .string(let token) = value else { return }
            if let known = KnownRequest(token, in: &reader) {
                try reader.charge(JSONReader.cost(ofStringBytes: token.rawCount))
                self.request = known.name
                self.role = known.role
                return
            }
            // Any other request: its containers mean nothing to the tee.
            self.request = try reader.string(token)
            self.role = .none
        case .host:
            if let shared = try self.rowHost(equalTo: value, &reader) {
                self.host = shared
            } else {
                self.host = try reader.text(value, maximumCharacters: ZabbixLimits.maximumHostLength)
            }
        case .session: self.session = try reader.text(value, maximumCharacters: ZabbixLimits.maximumSessionLength)
        case .version: self.version = try reader.text(value)
        case .response:
            if let known = try Self.knownResponse(value, &reader) {
                self.response = known
            } else {
                self.response = try reader.text(value)
            }
        case .info: self.info = try reader.text(value)
        case .upload: self.upload = try reader.text(value)
        case .error: self.error = try reader.text(value)
        case .hostMetadata: self.hostMetadata = try reader.text(value)
        case .interface: self.interface = try reader.text(value)
        case .ip: self.ip = try reader.text(value)
        case .clientIP: self.clientIP = try reader.text(value)
        case .variant: self.variant = reader.int64(value)
        case .clock: self.clock = reader.int64(value)
        case .ns: self.ns = reader.int64(value)
        case .more: self.more = reader.int64(value)
        case .heartbeatFrequency: self.heartbeatFrequency = reader.int64(value)
        case .port: self.port = reader.uint64(value)
        case .configRevision: self.topLevelConfigRevision = reader.uint64(value)
        case .data, .historyData, .redirect, .hosts, .items, .deletedHostIDs, .fullSync: break
        }
    }
}

extension PayloadScan {
    /// The last row's host when `value` spells it (an agent names its host in its rows and again
    /// at the top level, after them): the string is shared, not built again. Charged as a new one
    /// would be, so that the budget reads the payload the same either way.
    fileprivate func rowHost(
        equalTo value: JSONReader.Scalar,
        _ reader: inout JSONReader
    ) throws(JSONParseError) -> String? {
        guard case .string(let token) = value, !token.hasEscapes, var host = self.dataRows.last?.host,
            host.utf8.count == token.rawCount
        else { return nil }
        let same = host.withUTF8 { JSONReader.equal(UnsafeRawBufferPointer($0), reader.raw(token.start, token.end)) }
        guard same else { return nil }
        try reader.charge(JSONReader.cost(ofStringBytes: token.rawCount))
        return host
    }

    /// `success` or `failed`, the `response` of nearly every reply, as a literal (charged as the
    /// string would be); `nil` for anything else, read as text.
    fileprivate static func knownResponse(
        _ value: JSONReader.Scalar,
        _ reader: inout JSONReader
    ) throws(JSONParseError) -> String? {
        guard case .string(let token) = value else { return nil }
        let known: String? = reader.withName(token) { bytes in
            if JSONReader.equal(bytes, "success") { return "success" }
            if JSONReader.equal(bytes, "failed") { return "failed" }
            return nil
        }
        guard let known else { return nil }
        try reader.charge(JSONReader.cost(ofStringBytes: token.rawCount))
        return known
    }
}

/// The requests whose containers the tee reads, with the role that gives them (any other request
/// has role ``PayloadRole/none``). Recognized from the raw bytes: the name is then a literal, not a
/// string built and validated for each frame.
struct KnownRequest {
    let name: String
    let role: PayloadRole

    init?(_ token: JSONReader.StringToken, in reader: inout JSONReader) {
        let known: (String, PayloadRole)? = reader.withName(token) { bytes in
            func is_(_ literal: StaticString) -> Bool { JSONReader.equal(bytes, literal) }
            switch bytes.count {
            case 10:
                if is_("agent data") { return ("agent data", .valueUpload) }
                if is_("proxy data") { return ("proxy data", .proxyData) }
            case 11: if is_("sender data") { return ("sender data", .valueUpload) }
            case 12:
                if is_("history.push") { return ("history.push", .historyPush) }
                if is_("proxy config") { return ("proxy config", .proxyConfigPush) }
            case 13: if is_("active checks") { return ("active checks", .none) }
            case 14: if is_("passive checks") { return ("passive checks", .passiveChecks) }
            default: break
            }
            return nil
        }
        guard let (name, role) = known else { return nil }
        self.name = name
        self.role = role
    }
}

extension PayloadRole {
    /// Whether `data` means something in this role.
    var readsData: Bool {
        switch self {
        case .valueUpload, .historyPush, .historyPushReply, .proxyConfigPush, .passiveChecks, .activeChecksReply,
            .passiveCheckReply, .proxyConfigPayload:
            return true
        case .none, .proxyData:
            return false
        }
    }
}

extension TopLevelMember {
    /// The configuration member of the same name, for payloads that are configurations.
    var configMember: ProxyConfigReader.Member? {
        switch self {
        case .data: return .data
        case .hosts: return .hosts
        case .items: return .items
        case .deletedHostIDs: return .deletedHostIDs
        case .fullSync: return .fullSync
        case .configRevision: return .configRevision
        default: return nil
        }
    }
}

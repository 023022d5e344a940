/// `{"request":"active checks",...}`: an agent asks the server or proxy for its item list.
public struct ActiveChecksRequest: Sendable, Hashable {
    /// The agent's `Hostname`.
    public var host: String?
    /// `"6.0"` (agent 2) or `"7.0.x"` (agentd 7.0+); absent from agentd before 7.0.
    public var version: String?
    /// 7.0+: 1 = agentd, 2 = agent 2.
    public var variant: Int64?
    /// 6.4+: 32 hex characters, new at every agent start.
    public var session: String?
    /// 6.4+: the configuration revision the agent already holds.
    public var configRevision: UInt64?
    public var hostMetadata: String?
    public var interface: String?
    public var ip: String?
    public var port: UInt64?

    public init(
        host: String? = nil, version: String? = nil, variant: Int64? = nil, session: String? = nil,
        configRevision: UInt64? = nil, hostMetadata: String? = nil, interface: String? = nil,
        ip: String? = nil, port: UInt64? = nil
    ) {
        self.host = host
        self.version = version
        self.variant = variant
        self.session = session
        self.configRevision = configRevision
        self.hostMetadata = hostMetadata
        self.interface = interface
        self.ip = ip
        self.port = port
    }

    init(json: JSONObject) {
        self.init(
            host: json.string("host"), version: json.string("version"), variant: json.int64("variant"),
            session: json.string("session"), configRevision: json.uint64("config_revision"),
            hostMetadata: json.string("host_metadata"), interface: json.string("interface"),
            ip: json.string("ip"), port: json.uint64("port"))
    }
}

/// The `delay` of an active check: integer seconds for agents the server believes older than
/// 4.4, the raw interval text (`"1m"`, may hold `;` schedules) for newer ones.
public enum ActiveCheckDelay: Sendable, Hashable {
    case seconds(Int64)
    case interval(String)
}

/// One element of the `data` array of an `active checks` reply.
public struct ActiveCheckItem: Sendable, Hashable {
    /// The item key, macros expanded.
    public var key: String
    /// `key_orig`, when sent.
    public var originalKey: String?
    /// Present for agents the server believes at version 4.4 or later (agent 2, agentd 7.0+).
    public var itemid: UInt64?
    public var delay: ActiveCheckDelay?
    public var lastlogsize: UInt64?
    public var mtime: Int64?
    /// 7.0+: per-item timeout text such as `"3s"`.
    public var timeout: String?

    public init(
        key: String, originalKey: String? = nil, itemid: UInt64? = nil, delay: ActiveCheckDelay? = nil,
        lastlogsize: UInt64? = nil, mtime: Int64? = nil, timeout: String? = nil
    ) {
        self.key = key
        self.originalKey = originalKey
        self.itemid = itemid
        self.delay = delay
        self.lastlogsize = lastlogsize
        self.mtime = mtime
        self.timeout = timeout
    }

    init?(json: JSONObject) {
        guard let key = json.string("key") else { return nil }
        let delay: ActiveCheckDelay?
        switch json["delay"] {
        case .number(let number):
            delay = number.int64.map(ActiveCheckDelay.seconds) ?? .interval(number.text)
        case .string(let text):
            delay = .interval(text)
        default:
            delay = nil
        }
        self.init(
            key: key, originalKey: json.string("key_orig"), itemid: json.uint64("itemid"), delay: delay,
            lastlogsize: json.uint64("lastlogsize"), mtime: json.int64("mtime"), timeout: json.string("timeout"))
    }
}

/// The server's (or proxy's) reply to `active checks`.
public struct ActiveChecksResponse: Sendable, Hashable {
    /// The request this replies to, when it was seen on the same connection.
    public var request: ActiveChecksRequest?
    /// `"success"` or `"failed"`.
    public var response: String?
    /// Failure reason, e.g. `host [x] not found`.
    public var info: String?
    /// The item list; `nil` when `data` is absent (6.4+ sends none when the agent is up to date).
    /// When present it is the agent's complete list.
    public var items: [ActiveCheckItem]?
    /// 6.4+.
    public var configRevision: UInt64?
    /// 7.0+: the agent is sent to another proxy of its proxy group (the reply is then `failed`).
    public var redirect: ZabbixRedirect?

    public init(
        request: ActiveChecksRequest? = nil, response: String? = nil, info: String? = nil,
        items: [ActiveCheckItem]? = nil, configRevision: UInt64? = nil, redirect: ZabbixRedirect? = nil
    ) {
        self.request = request
        self.response = response
        self.info = info
        self.items = items
        self.configRevision = configRevision
        self.redirect = redirect
    }

    init(json: JSONObject, request: ActiveChecksRequest?) {
        self.init(
            request: request, response: json.string("response"), info: json.string("info"),
            items: json.objects("data")?.compactMap(ActiveCheckItem.init(json:)),
            configRevision: json.uint64("config_revision"), redirect: ZabbixRedirect(reply: json))
    }
}

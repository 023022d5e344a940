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
        host: String? = nil,
        version: String? = nil,
        variant: Int64? = nil,
        session: String? = nil,
        configRevision: UInt64? = nil,
        hostMetadata: String? = nil,
        interface: String? = nil,
        ip: String? = nil,
        port: UInt64? = nil
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
}

/// The `delay` of an active check: integer seconds for agents the server believes older than
/// 4.4, the raw interval text (`"1m"`, may hold `;` schedules) for newer ones.
public enum ActiveCheckDelay: Sendable, Hashable {
    case seconds(Int64)
    case interval(String)

    /// The delay as an update interval (`nil` when its text is longer than Zabbix allows).
    public var interval: ZabbixUpdateInterval? {
        switch self {
        case .seconds(let seconds): ZabbixUpdateInterval(seconds: seconds)
        case .interval(let text): ZabbixUpdateInterval(text)
        }
    }
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
        key: String,
        originalKey: String? = nil,
        itemid: UInt64? = nil,
        delay: ActiveCheckDelay? = nil,
        lastlogsize: UInt64? = nil,
        mtime: Int64? = nil,
        timeout: String? = nil
    ) {
        self.key = key
        self.originalKey = originalKey
        self.itemid = itemid
        self.delay = delay
        self.lastlogsize = lastlogsize
        self.mtime = mtime
        self.timeout = timeout
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
        request: ActiveChecksRequest? = nil,
        response: String? = nil,
        info: String? = nil,
        items: [ActiveCheckItem]? = nil,
        configRevision: UInt64? = nil,
        redirect: ZabbixRedirect? = nil
    ) {
        self.request = request
        self.response = response
        self.info = info
        self.items = items
        self.configRevision = configRevision
        self.redirect = redirect
    }
}

extension ActiveCheckItem {
    /// The members of an item object that are kept.
    private enum Member: Int {
        case key, originalKey, itemid, delay, lastlogsize, mtime, timeout

        init?(_ name: UnsafeRawBufferPointer) {
            switch name.count {
            case 3: if JSONReader.equal(name, "key") { self = .key } else { return nil }
            case 5:
                if JSONReader.equal(name, "delay") {
                    self = .delay
                } else if JSONReader.equal(name, "mtime") {
                    self = .mtime
                } else {
                    return nil
                }
            case 6: if JSONReader.equal(name, "itemid") { self = .itemid } else { return nil }
            case 7: if JSONReader.equal(name, "timeout") { self = .timeout } else { return nil }
            case 8: if JSONReader.equal(name, "key_orig") { self = .originalKey } else { return nil }
            case 11: if JSONReader.equal(name, "lastlogsize") { self = .lastlogsize } else { return nil }
            default: return nil
            }
        }
    }

    /// Reads the `data` array of an `active checks` reply: `nil` when it is not an array; items
    /// without a `key` are passed over, items whose key (or original key) is longer than
    /// ``ZabbixLimits/maximumKeyLength`` are dropped and counted.
    static func readList(
        _ reader: inout JSONReader,
        dropped: inout DroppedRows
    ) throws(JSONParseError) -> [ActiveCheckItem]? {
        guard try reader.peekKind() == .array else {
            try reader.skipValue()
            return nil
        }
        var items: [ActiveCheckItem] = []
        try reader.beginArray()
        while try reader.nextElement() {
            guard try reader.peekKind() == .object else {
                try reader.skipValue()
                continue
            }
            if let item = try self.read(&reader, dropped: &dropped) {
                try reader.charge(MemoryLayout<ActiveCheckItem>.stride)
                items.append(item)
            }
        }
        return items
    }

    /// One item object; the first member of each name counts.
    private static func read(
        _ reader: inout JSONReader,
        dropped: inout DroppedRows
    ) throws(JSONParseError) -> ActiveCheckItem? {
        var seen: UInt8 = 0
        var key: String?
        var item = ActiveCheckItem(key: "")
        var keyTooLong = false
        try reader.beginObject()
        while let name = try reader.nextName() {
            guard let member = reader.withName(name, Member.init), seen & (1 << member.rawValue) == 0 else {
                try reader.skipValue()
                continue
            }
            seen |= 1 << member.rawValue
            let value = try reader.readScalar()
            switch member {
            case .key:
                key = try reader.text(value, maximumCharacters: ZabbixLimits.maximumKeyLength)
                keyTooLong = keyTooLong || (key == nil && value.hasText)
            case .originalKey:
                item.originalKey = try reader.text(value, maximumCharacters: ZabbixLimits.maximumKeyLength)
                keyTooLong = keyTooLong || (item.originalKey == nil && value.hasText)
            case .itemid: item.itemid = reader.uint64(value)
            case .delay:
                switch value {
                case .number(let number):
                    if let seconds = number.int64 {
                        item.delay = .seconds(seconds)
                    } else {
                        item.delay = try reader.text(value).map(ActiveCheckDelay.interval)
                    }
                case .string: item.delay = try reader.text(value).map(ActiveCheckDelay.interval)
                default: item.delay = nil
                }
            case .lastlogsize: item.lastlogsize = reader.uint64(value)
            case .mtime: item.mtime = reader.int64(value)
            case .timeout: item.timeout = try reader.text(value)
            }
        }
        if keyTooLong {
            dropped.keyTooLong += 1
            return nil
        }
        guard let key else { return nil }
        item.key = key
        return item
    }
}

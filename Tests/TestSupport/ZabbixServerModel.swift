/// Zabbix 6.0 item types the lab creates (`items.type`).
public enum ZabbixItemType: Int, Sendable {
    /// Zabbix agent (passive): the server or proxy polls the agent (needs the host's `agentPort`).
    case agent = 0
    /// Zabbix trapper: values pushed by `zabbix_sender`.
    case trapper = 2
    /// Zabbix agent (active): values pushed by agentd/agent2 after an `active checks` request.
    case agentActive = 7
}

/// Zabbix value types (`items.value_type`) and the history table each lands in.
public enum ZabbixValueType: Int, Sendable {
    case float = 0
    case string = 1
    case log = 2
    case unsigned = 3
    case text = 4

    /// `history`, `history_str`, `history_log`, `history_uint` or `history_text`.
    public var historyTable: String {
        switch self {
        case .float: return "history"
        case .string: return "history_str"
        case .log: return "history_log"
        case .unsigned: return "history_uint"
        case .text: return "history_text"
        }
    }
}

/// An item to create on a lab host.
public struct ZabbixItemSpec: Sendable {
    public var key: String
    public var type: ZabbixItemType
    public var valueType: ZabbixValueType
    /// Update interval for agent items (`"1s"`); trapper items use `"0"`.
    public var delay: String

    public init(key: String, type: ZabbixItemType, valueType: ZabbixValueType, delay: String? = nil) {
        self.key = key
        self.type = type
        self.valueType = valueType
        self.delay = delay ?? (type == .trapper ? "0" : "1s")
    }

    /// A trapper item, for `zabbix_sender`.
    public static func trapper(_ key: String, _ valueType: ZabbixValueType = .unsigned) -> ZabbixItemSpec {
        ZabbixItemSpec(key: key, type: .trapper, valueType: valueType)
    }

    /// A "Zabbix agent" (passive) item: the server polls the host's agent interface every `delay`.
    public static func passive(_ key: String, _ valueType: ZabbixValueType, delay: String = "1s") -> ZabbixItemSpec {
        ZabbixItemSpec(key: key, type: .agent, valueType: valueType, delay: delay)
    }

    /// A "Zabbix agent (active)" item the agent checks every `delay`.
    public static func active(_ key: String, _ valueType: ZabbixValueType, delay: String = "1s") -> ZabbixItemSpec {
        ZabbixItemSpec(key: key, type: .agentActive, valueType: valueType, delay: delay)
    }
}

/// A host created in the lab server's database, with the ids of its items.
public struct ZabbixHostRecord: Sendable {
    public let hostid: Int
    public let name: String
    /// Item key → (itemid, value type).
    public let items: [String: (itemid: Int, valueType: ZabbixValueType)]

    /// The itemid of `key`; traps if the host has no such item.
    public func itemid(_ key: String) -> Int {
        guard let item = items[key] else { preconditionFailure("host \(name) has no item \(key)") }
        return item.itemid
    }

    /// Key of the trapper item every lab host has, used to probe whether the server knows the host.
    public static let readinessKey = "lab.ready"
}

/// One stored value from a history table.
public struct ZabbixHistoryValue: Sendable, Equatable {
    public let clock: Int
    public let ns: Int
    public let value: String
}

/// The `request` names Zabbix 6.0–8.0 components send on 10050/10051 (`include/zbxjson.h`).
/// Names outside this list (a newer version's trapper requests, a third-party tool's) are
/// relayed like any other and counted as `unknown`, never treated as an error.
public enum ZabbixRequestName {
    /// Requests the decoder reads values or catalog entries from.
    public static let decoded: Set<String> = [
        "active checks", "agent data", "sender data", "active check heartbeat", "proxy heartbeat", "proxy data",
        "proxy config", "passive checks", "history.push",
    ]
    /// Management and other requests that carry no item values (passed over).
    public static let management: Set<String> = [
        "proxy tasks", "queue.get", "status.get", "zabbix.stats", "item.test", "preprocessing.test",
        "expressions.evaluate", "alert.send", "report.test", "command", "java gateway jmx", "java gateway internal",
    ]

    /// Whether `name` is a request Zabbix 6.0–8.0 is known to send.
    public static func isKnown(_ name: String) -> Bool {
        self.decoded.contains(name) || self.management.contains(name)
    }
}

extension ZabbixMessage {
    /// A short name for metrics and the `decode` command: the request type, or what the reply
    /// answers. Requests of an unknown name are `unknown` (bounded: the name itself is not a label).
    public var kindName: String {
        switch self {
        case .activeChecksRequest: return "active checks"
        case .activeChecksResponse: return "active checks reply"
        case .agentData: return "agent data"
        case .senderData: return "sender data"
        case .historyPush: return "history.push"
        case .activeCheckHeartbeat: return "active check heartbeat"
        case .proxyHeartbeat: return "proxy heartbeat"
        case .proxyDataRequest: return "proxy data request"
        case .proxyData: return "proxy data"
        case .proxyConfigRequest: return "proxy config"
        case .proxyConfigStatus: return "proxy config status"
        case .proxyConfig: return "proxy config reply"
        case .passiveCheckRequest: return "passive check"
        case .passiveCheckResponse: return "passive check reply"
        case .response: return "response"
        case .other(let request): return ZabbixRequestName.isKnown(request) ? "other" : "unknown"
        case .unrecognized: return "unrecognized"
        }
    }
}

import ZabbixProtocol

extension ZabbixMessage {
    /// A short name for metrics and the `decode` command: the request type, or what the reply answers.
    public var kindName: String {
        switch self {
        case .activeChecksRequest: return "active checks"
        case .activeChecksResponse: return "active checks reply"
        case .agentData: return "agent data"
        case .senderData: return "sender data"
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
        case .other: return "other"
        case .unrecognized: return "unrecognized"
        }
    }
}

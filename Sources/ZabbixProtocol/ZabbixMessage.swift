/// One decoded Zabbix message (a frame's payload after inflating), classified by its `request`
/// and, for replies, by the request it answers on the same connection (see
/// ``ZabbixConversation``).
public enum ZabbixMessage: Sendable, Hashable {
    /// `active checks` request (agent → server/proxy).
    case activeChecksRequest(ActiveChecksRequest)
    /// Reply to `active checks`: the item list (itemid → key for agent 2 / agentd 7.0+).
    case activeChecksResponse(ActiveChecksResponse)
    /// `agent data`, either shape.
    case agentData(AgentData)
    /// `sender data`.
    case senderData(SenderData)
    /// `history.push` (7.0+, frontend → server): values of the API call; the reply says per row
    /// whether it was stored.
    case historyPush(HistoryPush)
    /// `active check heartbeat` (6.2+).
    case activeCheckHeartbeat(ActiveCheckHeartbeat)
    /// `proxy heartbeat` (≤ 6.2).
    case proxyHeartbeat(ProxyHeartbeat)
    /// The server polling a passive proxy: `{"request":"proxy data"}` without data.
    case proxyDataRequest
    /// `proxy data` from an active proxy, or a passive proxy's data reply.
    case proxyData(ProxyData)
    /// `proxy config` from an active proxy, or the start of a 6.4+ push to a passive proxy.
    case proxyConfigRequest(ProxyConfigRequest)
    /// 6.4+ passive push: the proxy states its `version`, `session` and `config_revision`.
    case proxyConfigStatus(ProxyConfigRequest)
    /// A configuration payload (active proxy's reply, ≤ 6.2 push, 6.4+ push payload).
    case proxyConfig(ProxyConfig)
    /// A passive check request, text (≤ 6.4) or JSON (7.0+).
    case passiveCheckRequest(PassiveCheckRequest)
    /// An agent's passive check reply, paired with the request's keys.
    case passiveCheckResponse(PassiveCheckResponse)
    /// A trapper reply: `response`, `info` and statistics.
    case response(ServerResponse)
    /// Any other request (`queue.get`, `status.get`, `zabbix.stats`, or a name this decoder does
    /// not know, such as a newer version's); relayed, not decoded. See ``ZabbixRequestName``.
    case other(request: String)
    /// A frame that is valid JSON (or text) but fits no known exchange, e.g. a reply whose request
    /// was not seen.
    case unrecognized
}

/// Why a frame payload could not be decoded into a ``ZabbixMessage``.
public enum ZabbixMessageError: Error, Sendable, Hashable {
    /// The payload starts like JSON but is not valid JSON.
    case invalidJSON(JSONParseError)
    /// The payload would keep more than the conversation's budget (rows, item lists,
    /// configuration rows): it is not decoded at all.
    case budgetExceeded(limit: Int)
}

/// `{"request":"history.push","sid":"…","clientip":"…","data":[…]}` (7.0+): the frontend hands
/// the values of an API `history.push` call to the server's trapper.
///
/// Each row names its item either by `itemid` or by `host` + `key`, with `value` and optional
/// `clock`/`ns` — the same row shape as `sender data`. The `sid` (a frontend session id or API
/// token) is a credential travelling in clear: it is deliberately not kept here, so nothing
/// downstream can log or emit it.
public struct HistoryPush: Sendable, Hashable {
    /// The address of the API caller, as the frontend reports it.
    public var clientIP: String?
    public var rows: [ZabbixValueRow]

    public init(clientIP: String? = nil, rows: [ZabbixValueRow] = []) {
        self.clientIP = clientIP
        self.rows = rows
    }

    init(json: JSONObject) {
        self.init(clientIP: json.string("clientip"), rows: ZabbixValueRow.rows(json, "data"))
    }
}

/// One element of a `history.push` reply's `data`, in the order of the request's rows:
/// `{"itemid":N}` when the server stored the value, `{…,"error":"…"}` when it refused it.
public enum HistoryPushRowResult: Sendable, Hashable {
    case accepted(itemid: UInt64?)
    case refused(error: String)

    init(json: JSONObject) {
        if let error = json.text("error") {
            self = .refused(error: error)
        } else {
            self = .accepted(itemid: json.uint64("itemid"))
        }
    }

    public var isAccepted: Bool {
        if case .accepted = self { return true }
        return false
    }
}

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
    /// The rows kept (see ``ValueRowsReader``: rows with nothing usable are not).
    public var rows: [ZabbixValueRow]
    /// The position in the request's `data` of each of ``rows``: the reply answers by position.
    public var rowIndexes: [Int]

    /// - Parameter rowIndexes: `nil` when `rows` are the request's rows, all of them in order.
    public init(clientIP: String? = nil, rows: [ZabbixValueRow] = [], rowIndexes: [Int]? = nil) {
        self.clientIP = clientIP
        self.rows = rows
        self.rowIndexes = rowIndexes ?? Array(rows.indices)
    }
}

/// One element of a `history.push` reply's `data`, in the order of the request's rows:
/// `{"itemid":N}` when the server stored the value, `{…,"error":"…"}` when it refused it.
public enum HistoryPushRowResult: Sendable, Hashable {
    case accepted(itemid: UInt64?)
    case refused(error: String)

    /// Reads the `data` array of a `history.push` reply: `nil` when it is not an array. An
    /// element that is not an object says nothing was stored: it is a refusal (with an empty
    /// error), so that the results after it keep their positions.
    static func readList(_ reader: inout JSONReader) throws(JSONParseError) -> [HistoryPushRowResult]? {
        guard try reader.peekKind() == .array else {
            try reader.skipValue()
            return nil
        }
        var results: [HistoryPushRowResult] = []
        try reader.beginArray()
        while try reader.nextElement() {
            try reader.charge(MemoryLayout<HistoryPushRowResult>.stride)
            guard try reader.peekKind() == .object else {
                try reader.skipValue()
                results.append(.refused(error: ""))
                continue
            }
            results.append(try self.read(&reader))
        }
        return results
    }

    /// One result object; the first `itemid` and `error` count.
    private static func read(_ reader: inout JSONReader) throws(JSONParseError) -> HistoryPushRowResult {
        var itemid: UInt64?
        var error: String?
        var seen = (itemid: false, error: false)
        try reader.beginObject()
        while let name = try reader.nextName() {
            if !seen.itemid, reader.name(name, is: "itemid") {
                seen.itemid = true
                itemid = reader.uint64(try reader.readScalar())
            } else if !seen.error, reader.name(name, is: "error") {
                seen.error = true
                error = try reader.text(try reader.readScalar())
            } else {
                try reader.skipValue()
            }
        }
        return error.map { .refused(error: $0) } ?? .accepted(itemid: itemid)
    }

    public var isAccepted: Bool {
        if case .accepted = self { return true }
        return false
    }
}

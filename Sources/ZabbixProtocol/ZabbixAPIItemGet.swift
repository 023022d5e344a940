/// The two Zabbix API (JSON-RPC 2.0 over HTTP) calls the catalog backfill makes, and what their
/// answers mean: `apiinfo.version` (which needs no token, and tells how to present one) and
/// `item.get` for a batch of itemids.
///
/// Pure: bytes in, values out. The HTTP exchange is the caller's.
public enum ZabbixAPIItemGet {
    /// Why an answer taught nothing.
    public enum Failure: Error, Sendable, Hashable, CustomStringConvertible {
        /// Not JSON, or JSON of another shape than a JSON-RPC answer.
        case malformed(String)
        /// The API's own `error` member (bad token, no permission, bad parameters).
        case apiError(code: Int64, message: String)

        public var description: String {
            switch self {
            case .malformed(let why): return "malformed API answer: \(why)"
            case .apiError(let code, let message): return "API error \(code): \(message)"
            }
        }
    }

    /// The body of an `apiinfo.version` request (it takes no token: sending one is an error).
    public static func versionRequest(id: UInt64) -> [UInt8] {
        Array(#"{"jsonrpc":"2.0","method":"apiinfo.version","params":{},"id":\#(id)}"#.utf8)
    }

    /// The body of an `item.get` for `itemids`: key, value type and delay of each, with its
    /// host's technical name. `auth`: the token in the body, for APIs older than 6.4, which do not
    /// read the `Authorization` header (7.2 and later refuse the member).
    public static func request(itemids: [UInt64], id: UInt64, auth: String?) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(160 + itemids.count * 12)
        output += Array(#"{"jsonrpc":"2.0","method":"item.get","params":{"itemids":["#.utf8)
        for (index, itemid) in itemids.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            output.append(UInt8(ascii: "\""))
            JSONWriter.appendInteger(itemid, to: &output)
            output.append(UInt8(ascii: "\""))
        }
        output += Array(
            #"],"output":["itemid","key_","value_type","delay"],"selectHosts":["host"],"webitems":true},"#.utf8
        )
        if let auth {
            JSONWriter.appendKey("auth", to: &output)
            JSONWriter.appendString(auth, to: &output)
            output.append(UInt8(ascii: ","))
        }
        output += Array(#""id":"#.utf8)
        JSONWriter.appendInteger(id, to: &output)
        output.append(UInt8(ascii: "}"))
        return output
    }

    /// The version an `apiinfo.version` answer names (`"7.0.9"`).
    public static func version(fromAnswer body: [UInt8]) throws(Failure) -> ZabbixVersion {
        let result = try Self.result(of: body)
        guard let text = result.string, let version = ZabbixVersion(parsing: text) else {
            throw .malformed("apiinfo.version result is not a version")
        }
        return version
    }

    /// Whether an API of `version` reads the token from the body's `auth` member (before 6.4)
    /// rather than from `Authorization: Bearer`.
    public static func wantsAuthMember(_ version: ZabbixVersion) -> Bool {
        version < ZabbixVersion(major: 6, minor: 4)
    }

    /// The items an `item.get` answer names, by itemid, with host, key, value type and update
    /// interval (`delay` as configured: a macro there leaves it unknown). Rows without an itemid or
    /// key are left out; an item with several hosts (never the case for a real item) takes the first.
    public static func entries(fromAnswer body: [UInt8]) throws(Failure) -> [UInt64: ItemCatalogEntry] {
        let result = try Self.result(of: body)
        guard let rows = result.array else { throw .malformed("item.get result is not an array") }
        var entries: [UInt64: ItemCatalogEntry] = [:]
        entries.reserveCapacity(rows.count)
        for row in rows {
            guard let itemid = row["itemid"]?.uint64, let key = row["key_"]?.string, !key.isEmpty else { continue }
            let host = row["hosts"]?.array?.first?["host"]?.string
            let delay = row["delay"]?.string.map { String($0.prefix(ZabbixUpdateInterval.maximumTextLength)) }
            entries[itemid] = ItemCatalogEntry(
                host: host,
                key: key,
                valueType: row["value_type"]?.int64,
                delay: delay.flatMap(ZabbixUpdateInterval.init)
            )
        }
        return entries
    }

    /// The `result` member of a JSON-RPC answer, or its `error` as a failure.
    private static func result(of body: [UInt8]) throws(Failure) -> JSONValue {
        let answer: JSONValue
        do {
            answer = try JSONParser(maximumDepth: 16).parse(body)
        } catch {
            throw .malformed(error.description)
        }
        if let error = answer["error"] {
            let detail = [error["message"]?.string, error["data"]?.string].compactMap { $0 }.joined(separator: ": ")
            throw .apiError(code: error["code"]?.int64 ?? 0, message: String(detail.prefix(512)))
        }
        guard let result = answer["result"] else { throw .malformed("neither result nor error") }
        return result
    }
}

/// A passive check request (server/proxy → agent): a plain key text (≤ 6.4 protocol) or
/// `{"request":"passive checks","data":[{"key":...,"timeout":...}]}` (7.0+).
public struct PassiveCheckRequest: Sendable, Hashable {
    /// The requested item keys (one for the text form).
    public var keys: [String]
    /// Whether the request was the 7.0 JSON form.
    public var isJSON: Bool

    public init(keys: [String], isJSON: Bool) {
        self.keys = keys
        self.isJSON = isJSON
    }
}

/// The outcome of one passive check.
public enum PassiveCheckResult: Sendable, Hashable {
    /// A value (`nil` for the 7.0 `"value":null`).
    case value(String?)
    /// `ZBX_NOTSUPPORTED\0<error>`, `ZBX_ERROR`, or a 7.0 `{"error":...}` element.
    case notSupported(String)
}

/// An agent's passive check reply, paired with its request's keys.
public struct PassiveCheckResponse: Sendable, Hashable {
    /// The keys of the request on the same connection, when seen.
    public var keys: [String]
    /// One result per key (7.0), or one for the text form.
    public var results: [PassiveCheckResult]
    /// 7.0 request-level error (`{"error":...}` at top level).
    public var error: String?
    /// 7.0+ JSON replies: the agent's version (`7.0.9`, `8.0.0rc1`).
    public var version: String?

    public init(keys: [String], results: [PassiveCheckResult], error: String? = nil, version: String? = nil) {
        self.keys = keys
        self.results = results
        self.error = error
        self.version = version
    }

    static let notSupportedPrefix = Array("ZBX_NOTSUPPORTED".utf8)
    static let errorPrefix = Array("ZBX_ERROR".utf8)

    /// Decodes a ≤ 6.4 text reply: a value, `ZBX_NOTSUPPORTED`, `ZBX_NOTSUPPORTED\0<error>` or
    /// `ZBX_ERROR...`. Trailing spaces and line ends are trimmed, as the server does.
    static func textResult(_ bytes: UnsafeRawBufferPointer) -> PassiveCheckResult {
        let bytes = trimmedTrailingWhitespace(bytes)
        for prefix in [Self.notSupportedPrefix, Self.errorPrefix] where bytes.starts(with: prefix) {
            var rest = bytes[prefix.count...]
            if rest.first == 0 { rest = rest.dropFirst() }
            return .notSupported(String(decoding: rest, as: UTF8.self))
        }
        return .value(String(decoding: bytes, as: UTF8.self))
    }

    /// A 7.0+ JSON reply. `value` may be a string, a JSON number (`"value":1`, as the 7.4 and 8.0
    /// documentation shows) or `null`: any scalar is read as text, as the server does.
    init(json: JSONObject, keys: [String]) {
        var results: [PassiveCheckResult] = []
        for element in json.objects("data") ?? [] {
            if let error = element.text("error") {
                results.append(.notSupported(error))
            } else {
                results.append(.value(element.text("value")))
            }
        }
        self.init(keys: keys, results: results, error: json.text("error"), version: json.string("version"))
    }
}

/// `bytes` without trailing spaces, tabs, `\r` and `\n`.
func trimmedTrailingWhitespace(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer.SubSequence {
    var end = bytes.count
    while end > 0 {
        switch bytes[end - 1] {
        case 0x20, 0x09, 0x0A, 0x0D: end -= 1
        default: return bytes[0..<end]
        }
    }
    return bytes[0..<0]
}

/// A text with placeholders, e.g. `zabbix {host} {key}`: `{key}`, `{host}`, `{itemid}`,
/// `{listener}`, `{request}` are replaced; anything else is kept as written.
public struct ServiceTemplate: Sendable, Hashable, CustomStringConvertible {
    enum Part: Sendable, Hashable {
        case text(String)
        case key, host, itemid, listener, request
    }

    let parts: [Part]
    public let description: String

    public static let placeholders = ["{key}", "{host}", "{itemid}", "{listener}", "{request}"]

    public init(_ text: String) {
        self.description = text
        var parts: [Part] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            if open > rest.startIndex { parts.append(.text(String(rest[..<open]))) }
            guard let close = rest[open...].firstIndex(of: "}") else { break }
            let name = rest[rest.index(after: open)..<close]
            switch name {
            case "key": parts.append(.key)
            case "host": parts.append(.host)
            case "itemid": parts.append(.itemid)
            case "listener": parts.append(.listener)
            case "request": parts.append(.request)
            default: parts.append(.text(String(rest[open...close])))
            }
            rest = rest[rest.index(after: close)...]
        }
        if !rest.isEmpty { parts.append(.text(String(rest))) }
        self.parts = parts
    }

    /// Placeholders in `text` that are not known (for configuration errors).
    public static func unknownPlaceholders(in text: String) -> [String] {
        var unknown: [String] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            let placeholder = String(rest[open...close])
            if !Self.placeholders.contains(placeholder) { unknown.append(placeholder) }
            rest = rest[rest.index(after: close)...]
        }
        return unknown
    }

    func render(key: String, host: String, itemid: UInt64?, listener: String, request: String) -> String {
        if self.parts.count == 1, case .key = self.parts[0] { return key }
        var result = ""
        for part in self.parts {
            switch part {
            case .text(let text): result += text
            case .key: result += key
            case .host: result += host
            case .itemid: result += itemid.map { String($0) } ?? ""
            case .listener: result += listener
            case .request: result += request
            }
        }
        return result
    }
}

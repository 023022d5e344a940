/// A text with placeholders, e.g. `zabbix {host} {key}`: `{key}`, `{host}`, `{itemid}`,
/// `{listener}`, `{request}` are replaced; anything else is kept as written.
///
/// A placeholder may name filters after `|`, applied left to right: `{key|graphite}` (see
/// ``GraphiteName``), `{host|reverse}` (dot-separated labels in reverse order:
/// `web01.example.com` → `com.example.web01`, as Riemann's `graphite-path-basic` orders hosts).
public struct ServiceTemplate: Sendable, Hashable, CustomStringConvertible {
    enum Field: String, Sendable, Hashable, CaseIterable {
        case key, host, itemid, listener, request
    }

    /// What a placeholder's `|name` does to the text it stands for.
    enum Filter: String, Sendable, Hashable, CaseIterable {
        /// ``GraphiteName/escaped(_:)``: one Graphite path segment, reversibly.
        case graphite
        /// Dot-separated labels in reverse order.
        case reverse

        func apply(_ text: String) -> String {
            switch self {
            case .graphite: GraphiteName.escaped(text)
            case .reverse:
                text.split(separator: ".", omittingEmptySubsequences: false).reversed().joined(separator: ".")
            }
        }
    }

    enum Part: Sendable, Hashable {
        case text(String)
        case field(Field, [Filter])
    }

    let parts: [Part]
    public let description: String

    public static let placeholders = Field.allCases.map { "{\($0.rawValue)}" }
    /// The filters a placeholder may name, as `|name`.
    public static let filters = Filter.allCases.map(\.rawValue)

    public init(_ text: String) {
        self.description = text
        self.parts = Self.parse(text).parts
    }

    /// Placeholders in `text` that are not known, or name a filter that is not (for configuration
    /// errors).
    public static func unknownPlaceholders(in text: String) -> [String] {
        Self.parse(text).unknown
    }

    /// The one reading of a template: its parts, and the placeholders it keeps as text because
    /// their field or a filter is unknown.
    private static func parse(_ text: String) -> (parts: [Part], unknown: [String]) {
        var parts: [Part] = []
        var unknown: [String] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            if open > rest.startIndex { parts.append(.text(String(rest[..<open]))) }
            guard let close = rest[open...].firstIndex(of: "}") else {
                rest = rest[open...]
                break
            }
            let placeholder = String(rest[open...close])
            let names = rest[rest.index(after: open)..<close].split(separator: "|", omittingEmptySubsequences: false)
            let filters = names.dropFirst().compactMap { Filter(rawValue: String($0)) }
            if let field = Field(rawValue: String(names[0])), filters.count == names.count - 1 {
                parts.append(.field(field, filters))
            } else {
                parts.append(.text(placeholder))
                unknown.append(placeholder)
            }
            rest = rest[rest.index(after: close)...]
        }
        if !rest.isEmpty { parts.append(.text(String(rest))) }
        return (parts, unknown)
    }

    func render(key: String, host: String, itemid: UInt64?, listener: String, request: String) -> String {
        if self.parts.count == 1, case .field(.key, let filters) = self.parts[0], filters.isEmpty { return key }
        var result = ""
        for part in self.parts {
            switch part {
            case .text(let text): result += text
            case .field(let field, let filters):
                var text: String
                switch field {
                case .key: text = key
                case .host: text = host
                case .itemid: text = itemid.map { String($0) } ?? ""
                case .listener: text = listener
                case .request: text = request
                }
                for filter in filters { text = filter.apply(text) }
                result += text
            }
        }
        return result
    }
}

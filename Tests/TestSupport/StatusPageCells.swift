/// The figures of a status page (`GET /` of the admin endpoint), read from its HTML: every
/// `<span … data-series="name{labels}" data-value="raw">shown</span>`. Works on the page as
/// served and on the DOM a browser dumps (`chromium --dump-dom`), which re-serialises attributes
/// and entities.
public struct StatusPageCells: Sendable {
    public struct Cell: Sendable, Equatable {
        /// The `/metrics` series, `name{labels}` as written there, or `sum(name…)`.
        public var series: String
        /// The raw value, as `/metrics` spells it.
        public var value: String
        /// The text a person sees (entities decoded).
        public var shown: String
    }

    public let cells: [Cell]

    public init(html: String) {
        var cells: [Cell] = []
        let span = /<span ([^>]*)>([^<]*)<\/span>/
        let attribute = /([a-zA-Z][a-zA-Z0-9-]*)="([^"]*)"/
        for match in html.matches(of: span) {
            var attributes: [String: String] = [:]
            for pair in match.output.1.matches(of: attribute) {
                attributes[String(pair.output.1)] = Self.decode(String(pair.output.2))
            }
            guard let series = attributes["data-series"], let value = attributes["data-value"] else { continue }
            cells.append(Cell(series: series, value: value, shown: Self.decode(String(match.output.2))))
        }
        self.cells = cells
    }

    /// The cells of `series`.
    public func cells(_ series: String) -> [Cell] {
        self.cells.filter { $0.series == series }
    }

    /// Decodes the entities HTML serialisers write (`&amp; &lt; &gt; &quot; &#39; &nbsp;` and numeric ones).
    public static func decode(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var result = ""
        var rest = Substring(text)
        while let ampersand = rest.firstIndex(of: "&") {
            result += rest[..<ampersand]
            rest = rest[ampersand...]
            guard let semicolon = rest.firstIndex(of: ";"), rest.distance(from: rest.startIndex, to: semicolon) <= 8
            else {
                result += "&"
                rest = rest.dropFirst()
                continue
            }
            let name = rest[rest.index(after: rest.startIndex)..<semicolon]
            let named = ["amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{00A0}"]
            if let character = named[String(name)] {
                result += character
            } else if name.hasPrefix("#x"), let code = UInt32(name.dropFirst(2), radix: 16),
                let scalar = Unicode.Scalar(code)
            {
                result.unicodeScalars.append(scalar)
            } else if name.hasPrefix("#"), let code = UInt32(name.dropFirst()), let scalar = Unicode.Scalar(code) {
                result.unicodeScalars.append(scalar)
            } else {
                result += rest[...semicolon]
            }
            rest = rest[rest.index(after: semicolon)...]
        }
        return result + rest
    }
}

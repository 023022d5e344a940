/// The samples of a `/metrics` response, parsed just enough for assertions on our own output.
public struct ScrapedMetrics {
    public struct Sample {
        public var name: String
        public var labels: [String: String]
        public var value: Double
    }

    public var samples: [Sample] = []
    /// `# HELP` and `# TYPE` lines by metric name.
    public var help: [String: String] = [:]
    public var type: [String: String] = [:]

    public init(_ text: String) {
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# HELP ") {
                let rest = line.dropFirst("# HELP ".count)
                let name = rest.prefix { $0 != " " }
                self.help[String(name)] = String(rest.dropFirst(name.count + 1))
            } else if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                self.type[String(parts[2])] = String(parts[3])
            } else if let space = line.lastIndex(of: " ") {
                let series = line[..<space]
                let value = Self.parseValue(line[line.index(after: space)...])
                var name = series
                var labels: [String: String] = [:]
                if let brace = series.firstIndex(of: "{") {
                    name = series[..<brace]
                    let inner = series[series.index(after: brace)..<series.index(before: series.endIndex)]
                    for pair in inner.split(separator: "\",") {
                        let equals = pair.firstIndex(of: "=")!
                        var value = pair[pair.index(equals, offsetBy: 2)...]
                        if value.hasSuffix("\"") { value = value.dropLast() }
                        labels[String(pair[..<equals])] = String(value)
                    }
                }
                self.samples.append(Sample(name: String(name), labels: labels, value: value))
            }
        }
    }

    private static func parseValue(_ text: Substring) -> Double {
        switch text {
        case "+Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default: return Double(text) ?? .nan
        }
    }

    /// The value of the one sample called `name` whose labels include `labels`.
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = self.samples.filter { sample in
            sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
        }
        return matching.count == 1 ? matching[0].value : nil
    }

    public func series(_ name: String) -> [Sample] {
        self.samples.filter { $0.name == name }
    }
}

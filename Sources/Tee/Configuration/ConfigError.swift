/// A configuration problem, located precisely enough for a person to fix it:
/// `config.yaml:12:5: listeners[0].balance: unknown value "roundrobin" (expected failover, round-robin, random)`.
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The configuration file as given on the command line.
    public var file: String
    /// 1-based line and column of the offending node, when known.
    public var line: Int?
    public var column: Int?
    /// Where in the document: `listeners[0].targets[1]`; empty for the document itself.
    public var keyPath: String
    /// What is wrong, and what would be right.
    public var message: String

    public init(file: String, line: Int? = nil, column: Int? = nil, keyPath: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.message = message
    }

    public var description: String {
        let location = Self.location(file: self.file, line: self.line, column: self.column)
        return self.keyPath.isEmpty ? "\(location): \(self.message)" : "\(location): \(self.keyPath): \(self.message)"
    }

    /// `file:line:column`, as far as line and column are known.
    static func location(file: String, line: Int?, column: Int?) -> String {
        var location = file
        if let line {
            location += ":\(line)"
            if let column { location += ":\(column)" }
        }
        return location
    }
}

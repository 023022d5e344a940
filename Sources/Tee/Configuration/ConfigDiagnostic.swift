/// A configuration problem or doubt, located precisely enough for a person to fix it:
/// `config.yaml:12:5: listeners[0].balance: unknown value "roundrobin" (expected failover, round-robin, random)`
/// (an error: the file is refused) or `config.yaml:40:11: admin.listen: warning: ...` (valid but
/// probably unwise: `check-config` prints it on standard error with exit status 0, `run` logs it).
public struct ConfigDiagnostic: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Severity: Sendable, Hashable {
        case error
        case warning
    }

    /// The configuration file as given on the command line.
    public var file: String
    /// 1-based line and column of the offending node, when known.
    public var line: Int?
    public var column: Int?
    /// Where in the document: `listeners[0].targets[1]`; empty for the document itself.
    public var keyPath: String
    /// What is wrong, and what would be right.
    public var message: String
    public var severity: Severity

    public init(
        file: String,
        line: Int? = nil,
        column: Int? = nil,
        keyPath: String,
        message: String,
        severity: Severity = .error
    ) {
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.message = message
        self.severity = severity
    }

    public var description: String {
        let location = Self.location(file: self.file, line: self.line, column: self.column)
        switch self.severity {
        case .error:
            return self.keyPath.isEmpty
                ? "\(location): \(self.message)" : "\(location): \(self.keyPath): \(self.message)"
        case .warning:
            return "\(location): \(self.keyPath): warning: \(self.message)"
        }
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

/// What the loader throws: a ``ConfigDiagnostic`` of severity `.error`.
public typealias ConfigError = ConfigDiagnostic
/// What the loader collects in ``TeeConfiguration/warnings``: a ``ConfigDiagnostic`` of severity `.warning`.
public typealias ConfigWarning = ConfigDiagnostic

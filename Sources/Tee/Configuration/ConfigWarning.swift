import Relay

/// Something valid but probably unwise in the configuration, located like a ``ConfigError``:
/// `config.yaml:40:11: admin.listen: warning: ...`. `check-config` prints warnings on standard
/// error (the exit status stays 0); `run` logs them at start-up.
public struct ConfigWarning: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?
    public var keyPath: String
    public var message: String

    public init(file: String, line: Int? = nil, column: Int? = nil, keyPath: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.message = message
    }

    public var description: String {
        "\(ConfigError.location(file: self.file, line: self.line, column: self.column)): \(self.keyPath): warning: \(self.message)"
    }
}

extension ConfigLoader {
    /// Why binding the admin endpoint to `host` may expose it, or `nil` for a loopback address.
    static func adminExposure(host: String) -> String? {
        if host == "localhost" { return nil }
        guard let address = IPAddress(parsing: host) else {
            return "\(host) is a host name, which may resolve to a public address; /metrics, /health and /ready have no authentication: bind the admin endpoint to 127.0.0.1 (or ::1), or protect the port with a firewall"
        }
        if address.isLoopback { return nil }
        let which = address.isUnspecified ? "every address of this host" : "a non-loopback address"
        return "\(host) is \(which); /metrics, /health and /ready have no authentication and anyone who can reach the port can read them: bind the admin endpoint to 127.0.0.1 (or ::1), or protect the port with a firewall"
    }
}

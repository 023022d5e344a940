import NIOCore

/// A `host:port` pair as written in the configuration: `127.0.0.1:10051`, `[::1]:10051`,
/// `zabbix.example.net:10051`.
public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
    /// Host name or IP literal, without IPv6 brackets.
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Why a `host:port` string could not be parsed.
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
    }

    /// Parses `host:port`; IPv6 literals must be bracketed (`[::1]:10051`).
    public init(parsing text: String) throws(ParseError) {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw ParseError(description: "\"\(text)\" is not host:port (missing ']' after an IPv6 address)")
            }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else {
                throw ParseError(description: "\"\(text)\" is not host:port (missing ':port' after ']')")
            }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw ParseError(description: "\"\(text)\" is not host:port (missing ':port')")
            }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") {
                throw ParseError(
                    description: "\"\(text)\" is not host:port (put IPv6 addresses in brackets: [::1]:10051)"
                )
            }
        }
        guard !hostPart.isEmpty else {
            throw ParseError(description: "\"\(text)\" has an empty host")
        }
        guard let port = StrictDecimal.parse(portPart), (0...65535).contains(port) else {
            throw ParseError(description: "\"\(text)\" has an invalid port \"\(portPart)\" (expected 0-65535)")
        }
        self.host = String(hostPart)
        self.port = port
    }

    /// The address when `host` is an IP literal; `nil` for a name that needs resolving.
    public var literalAddress: SocketAddress? {
        try? SocketAddress(ipAddress: self.host, port: self.port)
    }

    public var description: String {
        self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)"
    }
}
